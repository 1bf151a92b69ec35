"""Compile (and cache) the CPU kernels ahead of the first real call: ``mmfeat compile``.

Numba compiles a kernel on its first call for each combination of argument types
and writes the machine code to its cache (next to the installed kernels, or
``NUMBA_CACHE_DIR``; a user cache folder where that is read-only). Every later
process loads it instead of compiling. This calls each public CPU op once on tiny
inputs of the types users and the pipeline pass (uint8 RGB and float32 images,
float32 clips, str documents), so a deployment can pay the compilation at install
or image-build time instead of on its first batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

MODALITIES = ("image", "text", "audio", "pipeline")


def _image() -> None:
    from . import image as im

    rng = np.random.default_rng(0)
    for x in (rng.integers(0, 256, (2, 24, 20, 3), dtype=np.uint8),
              rng.random((2, 24, 20, 3), dtype=np.float32)):
        im.rgb_to_gray(x)
        im.rgb_to_hsv(x)
        im.sobel(x)
        im.canny(x)
        im.color_histogram(x)
        im.color_histogram(x, space="rgb")
        im.gradient_histogram(x)
        im.color_moments(x)
    im.ImageFeatures().fit_transform(rng.integers(0, 256, (2, 24, 20, 3), dtype=np.uint8))


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
    y = (0.1 * rng.standard_normal((2, 4000))).astype(np.float32)
    au.stft(y)
    au.melspectrogram(y=y, sr=16000)
    au.mfcc(y=y, sr=16000)
    for f in (au.spectral_centroid, au.spectral_bandwidth, au.spectral_rolloff):
        f(y=y, sr=16000)
    au.spectral_flatness(y=y)
    au.rms(y=y)
    au.zero_crossing_rate(y)
    au.AudioFeatures(sr=16000).fit_transform([y[0], y[1, :2500]])


def _pipeline() -> None:
    from .data import demo_dataset
    from .pipeline import FeaturePipeline, default_extractors

    d = demo_dataset(24)
    pipe = FeaturePipeline(default_extractors(sr=d.sr, text_components=4))
    pipe.fit_transform({**d.modalities, "id": d.ids, "label": d.labels})


_STEPS: dict[str, Callable[[], None]] = {
    "image": _image, "text": _text, "audio": _audio, "pipeline": _pipeline,
}


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
