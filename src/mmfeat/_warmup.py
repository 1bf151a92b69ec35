"""Compile (and cache) the CPU kernels ahead of the first real call: ``mmfeat compile``.

Numba compiles a kernel on its first call for each combination of argument types
and writes the machine code to its cache (next to the installed kernels, or
``NUMBA_CACHE_DIR``; a user cache folder where that is read-only). Every later
process loads it instead of compiling. This calls each public CPU op once on tiny
inputs of the types users and the pipeline pass (uint8, float32 and float64 RGB
images, float32 and float64 clips, str documents), so a deployment can pay the
compilation at install or image-build time instead of on its first batch. A wheel
install ships these kernels compiled (``kernels/_prebuilt.py``,
:func:`record_signatures`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable

import numpy as np

MODALITIES = ("image", "text", "audio", "pipeline")


def _image() -> None:
    from . import image as im

    rng = np.random.default_rng(0)
    # uint8 as decoded, float32 as mmfeat converts, float64 as scikit-image's img_as_float
    for x in (rng.integers(0, 256, (2, 24, 20, 3), dtype=np.uint8),
              rng.random((2, 24, 20, 3), dtype=np.float32), rng.random((2, 24, 20, 3))):
        im.rgb_to_gray(x)
        im.rgb_to_hsv(x)
        im.sobel(x)
        im.canny(x)
        im.color_histogram(x)
        im.color_histogram(x, space="rgb")
        im.gradient_histogram(x)
        im.color_moments(x)
    im.ImageFeatures().fit_transform(rng.integers(0, 256, (2, 24, 20, 3), dtype=np.uint8))
    # the texture descriptors, on gray batches as scikit-image users pass them
    rgb = rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    gray = im.rgb_to_gray(rgb, dtype=np.uint8)
    for g in (gray, gray / 255.0):
        im.hog(g)
    im.hog(rgb, channel_axis=-1)
    im.local_binary_pattern(gray, 8, 1)
    im.lbp_histogram(gray, 8, 1)
    glcm = im.graycomatrix(gray, [1], [0, np.pi / 2], symmetric=True, normed=True)
    for prop in ("contrast", "correlation", "energy"):
        im.graycoprops(glcm, prop)


def _text() -> None:
    from .text import CountVectorizer, HashingVectorizer, TextFeatures, TfidfVectorizer

    docs = ["a first small document", "and a second one, ünïcode tôo", "third: 中文 text"] * 4
    TfidfVectorizer().fit_transform(docs)
    TfidfVectorizer(ngram_range=(1, 2)).fit_transform(docs)
    CountVectorizer(analyzer="char_wb", ngram_range=(2, 4)).fit_transform(docs)
    HashingVectorizer().transform(docs)
    TextFeatures(n_components=2).fit_transform(docs)


def _audio() -> None:
    from . import audio as au

    rng = np.random.default_rng(0)
    y64 = 0.1 * rng.standard_normal((2, 4000))
    # float32 as librosa.load returns clips, float64 as soundfile.read does
    for y in (y64.astype(np.float32), y64):
        au.stft(y)
        au.melspectrogram(y=y, sr=16000)
        au.mfcc(y=y, sr=16000)
        for f in (au.spectral_centroid, au.spectral_bandwidth, au.spectral_rolloff):
            f(y=y, sr=16000)
        au.spectral_flatness(y=y)
        au.rms(y=y)
        au.zero_crossing_rate(y)
        au.AudioFeatures(sr=16000).fit_transform([y[0], y[1, :2500]])
        au.spectrogram(y)
        au.chroma_stft(y=y, sr=16000)
        au.spectral_contrast(y=y, sr=16000)
        au.waveform_stats(y)
        au.delta(au.mfcc(y=y, sr=16000), width=3)


def _pipeline() -> None:
    from .data import demo_dataset
    from .pipeline import FeaturePipeline, default_extractors

    d = demo_dataset(24)
    pipe = FeaturePipeline(default_extractors(sr=d.sr, text_components=4))
    pipe.fit_transform({**d.modalities, "id": d.ids, "label": d.labels})


def _pipeline_modality(modality: str) -> None:
    """The default pipeline's kernels of one modality (what ``demo``/``extract`` call)."""
    from .data import demo_dataset
    from .pipeline import FeaturePipeline, default_extractors

    d = demo_dataset(24)
    pipe = FeaturePipeline(default_extractors((modality,), sr=d.sr, text_components=4))
    pipe.fit_transform({modality: d.modalities[modality], "id": d.ids, "label": d.labels})


_STEPS: dict[str, Callable[[], None]] = {
    "image": _image, "text": _text, "audio": _audio, "pipeline": _pipeline,
    # one modality of the default pipeline each: the background compile's units
    **{f"pipeline-{m}": (lambda m=m: _pipeline_modality(m)) for m in ("image", "text", "audio")},
}


# --- compiling on the idle core while the first batch compiles ----------------------
# Numba compiles one kernel at a time per process (a global compiler lock), on one
# core. A first run of the pipeline compiles text, then image, then audio kernels in
# turn while the other core idles; a second process compiling the kernels the main
# one reaches last fills the shared on-disk cache, and the main process then loads
# them (a cache load is ~0.1 s a kernel, a compile 0.5-10 s).

#: set to "0" to never start the background compile
BACKGROUND_ENV = "MMFEAT_BACKGROUND_COMPILE"

# the entry kernels each pipeline step compiles: their cache indexes tell whether
# the step ran before on this cache
_STEP_KERNELS = {
    "pipeline-image": ("image", ("canny_worker", "color_histogram_hsv_u8", "color_moments",
                                 "gradient_histogram")),
    "pipeline-audio": ("audio", ("frame_window", "power_spectrum", "spectral_stats",
                                 "floor_dct", "zcr_rms", "delta_fix_edges")),
    "pipeline-text": ("text", ("preprocess_word", "word_terms", "local_vocabulary",
                               "merge_vocabulary", "fill_csr", "tfidf_rows",
                               "csr_times_dense", "lookup_terms")),
}


def _looks_cached(step: str) -> bool:
    """True when every entry kernel of ``step`` was shipped in the wheel
    (``kernels/_prebuilt.py``) or has a cache index (it ran before)."""
    module, names = _STEP_KERNELS[step]
    try:
        import importlib

        from numba.core.caching import FunctionCache

        from .kernels import prebuilt_is_shipped

        kernels = importlib.import_module(f"mmfeat.kernels.{module}")
        return all(
            prebuilt_is_shipped(getattr(kernels, n).py_func)
            or os.path.exists(FunctionCache(getattr(kernels, n).py_func)._cache_file._index_path)
            for n in names)
    except Exception:  # noqa: BLE001 - a Numba without these internals: assume cold
        return False


def compile_in_background(steps: Iterable[str]) -> subprocess.Popen | None:
    """Compile (and cache) ``steps`` of :data:`_STEPS` in a niced sibling process.

    Returns the process, or None when nothing was started: disabled
    (``MMFEAT_BACKGROUND_COMPILE=0``), a single CPU, or every step already cached.
    The caller may ignore it (it exits when done) or :func:`stop_background` it;
    its compiled kernels reach the cache atomically, so stopping it part-way, or
    both processes compiling the same kernel, leaves a valid cache.
    """
    if os.environ.get(BACKGROUND_ENV, "1") == "0" or (os.cpu_count() or 1) < 2:
        return None
    todo = [s for s in steps if s in _STEPS and not _looks_cached(s)]
    if not todo:
        return None
    code = "import sys\nfrom mmfeat._warmup import compile_kernels\ncompile_kernels(sys.argv[1:])"
    # niced: it only takes cycles the main process leaves (it runs two kernel threads
    # once compiled); no output, no input, not the terminal's foreground job
    return subprocess.Popen(
        [sys.executable, "-c", code, *todo], stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, BACKGROUND_ENV: "0"},
        preexec_fn=(lambda: os.nice(10)) if hasattr(os, "nice") else None,
    )


def background_steps(modalities: Iterable[str], *, fitted: bool = False) -> list[str]:
    """The pipeline steps to compile in the background: every modality of
    ``modalities`` but the one the main process compiles first (text, fitted on
    the whole column before the first batch, unless the pipeline is ``fitted``;
    then image, text, audio in the batch loop's order)."""
    order = ("image", "text", "audio") if fitted else ("text", "image", "audio")
    present = [m for m in order if m in set(modalities)]
    return [f"pipeline-{m}" for m in present[1:]]


def stop_background(proc: subprocess.Popen | None) -> None:
    """End a background compile if it still runs (its finished kernels stay cached)."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def compile_kernels(modalities=MODALITIES, log: Callable[[str], None] | None = None
                    ) -> dict[str, float]:
    """Compile and cache the CPU kernels of ``modalities``; seconds per modality.

    Parameters
    ----------
    modalities : iterable of {"image", "text", "audio", "pipeline"}
        "pipeline" runs the default :class:`~mmfeat.FeaturePipeline` on a tiny
        demo dataset (the types ``mmfeat demo`` and ``mmfeat extract`` use).
    log : callable, optional
        Called with one line per modality as it finishes.
    """
    modalities = list(modalities)
    bad = [m for m in modalities if m not in _STEPS]
    if bad:
        raise ValueError(f"modalities must be among {MODALITIES}, got {bad}")
    out = {}
    for m in modalities:
        t = time.perf_counter()
        _STEPS[m]()
        out[m] = time.perf_counter() - t
        if log is not None:
            log(f"{m:9s} {out[m]:6.1f} s")
    return out


# the child of record_signatures: runs the workload; with "record", writes the
# signatures it reached to the path given
_RECORD_CHILD = """
import sys
from mmfeat import _warmup
_warmup.compile_kernels(_warmup.MODALITIES)
if sys.argv[1] == "record":
    from mmfeat.kernels import prebuilt_signature_lines, prebuilt_write_signatures
    prebuilt_write_signatures(sys.argv[2], prebuilt_signature_lines())
"""


def record_signatures(path: str) -> int:
    """Run the whole workload, then write every kernel signature it reached from
    Python to ``path`` (the list ``setup.py`` compiles into the wheel); the number
    written.

    Two fresh processes run it on the same Numba cache (the caller's): the first
    compiles and caches whatever kernel is not cached yet, the second loads them all
    and records. In a process that compiles a kernel, the helper kernels it calls
    are compiled too and would be listed with it; after a load they are not. So the
    list does not depend on what the cache held (recorded in one process, it held
    ~75 helper signatures more whenever the cache was cold).

    ``mmfeat compile --record-signatures kernels/prebuilt_signatures.txt`` after
    changing a kernel's arguments (tests/test_prebuilt.py fails until then).
    """
    from .kernels import prebuilt_read_signatures

    path = os.path.abspath(path)
    for stage in ("fill", "record"):
        r = subprocess.run([sys.executable, "-c", _RECORD_CHILD, stage, path])
        if r.returncode != 0:
            raise RuntimeError(f"recording the kernel signatures failed in its {stage} "
                               f"process (exit status {r.returncode})")
    return len(prebuilt_read_signatures(path))
