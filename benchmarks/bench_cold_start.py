"""What a new user waits for: each public op's first call in a fresh process.

    python benchmarks/bench_cold_start.py --json benchmarks/results/cpu_cold_start.json

Every op runs in its own fresh interpreter with an empty ``NUMBA_CACHE_DIR``
(nothing compiled yet: a new install), first call and second call timed; then
once more in another fresh interpreter on the now filled cache (a later run: the
compiled code is loaded, not compiled). ``mmfeat demo --n 1000`` is timed the same
way, as a user meets it (``--demo-n 0`` skips it). ``--ops`` picks a subset.

A wheel install ships the kernels compiled at build time
(``mmfeat/kernels/_prebuilt.py``): its first calls load them. ``--jit`` ignores
them (``MMFEAT_PREBUILT=0``), to time what an editable install or a wheel built on
another CPU model meets: every kernel compiled from nothing.

``--baseline REV`` compares against another commit instead: REV's ``src/mmfeat``
and ``kernels`` are extracted (``git archive``) and put first on ``PYTHONPATH`` for
its runs, and each op's cold first call runs ``--rounds`` times for each side,
alternating, so that both meet the same machine load (first calls on these shared
machines drift by 1.5x between hours; only such an interleaved A/B tells a change
from the machine).

Inputs are small and realistic (uint8 photographs with noise, speech-like clips,
prose), so that the first call is mostly compilation.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

# each op: the code that builds its input (``x``) and the call to time
_SETUP = {
    # scikit-image's photographs with sensor noise (sigma 3 on 0-255)
    "image": "import numpy as np\nfrom mmfeat._bench import make_batch\n"
             "x = make_batch(4, 256)\n",
    "text": "import inspect, json\n"
            "x = [l for l in inspect.getsource(json).splitlines() * 20 if l.strip()][:2000]\n",
    "audio": "import numpy as np\n"
             "rng = np.random.default_rng(0)\n"
             "t = np.arange(16000) / 16000\n"
             "x = (0.3 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t))"
             " + 0.01 * rng.standard_normal((8, t.size))).astype(np.float32)\n",
}

OPS = {
    # name: (input kind, call)
    "rgb_to_gray": ("image", "mmfeat.image.rgb_to_gray(x)"),
    "rgb_to_hsv": ("image", "mmfeat.image.rgb_to_hsv(x)"),
    "sobel": ("image", "mmfeat.image.sobel(x)"),
    "canny": ("image", "mmfeat.image.canny(x)"),
    "color_histogram": ("image", "mmfeat.image.color_histogram(x)"),
    "gradient_histogram": ("image", "mmfeat.image.gradient_histogram(x)"),
    "color_moments": ("image", "mmfeat.image.color_moments(x)"),
    "ImageFeatures": ("image", "mmfeat.image.ImageFeatures().fit_transform(x)"),
    "hog": ("image", "mmfeat.image.hog(x, channel_axis=-1)"),
    "local_binary_pattern": ("image", "mmfeat.image.local_binary_pattern("
                             "mmfeat.image.rgb_to_gray(x, dtype=np.uint8), 8, 1)"),
    "graycomatrix": ("image", "mmfeat.image.graycoprops(mmfeat.image.graycomatrix("
                     "mmfeat.image.rgb_to_gray(x, dtype=np.uint8), [1], [0, np.pi / 2], "
                     "symmetric=True, normed=True))"),
    "TfidfVectorizer": ("text", "mmfeat.text.TfidfVectorizer().fit_transform(x)"),
    "HashingVectorizer": ("text", "mmfeat.text.HashingVectorizer().transform(x)"),
    "TextFeatures": ("text", "mmfeat.text.TextFeatures(n_components=16).fit_transform(x)"),
    "stft": ("audio", "mmfeat.audio.stft(x)"),
    "melspectrogram": ("audio", "mmfeat.audio.melspectrogram(y=x, sr=16000)"),
    "mfcc": ("audio", "mmfeat.audio.mfcc(y=x, sr=16000)"),
    "spectral_centroid": ("audio", "mmfeat.audio.spectral_centroid(y=x, sr=16000)"),
    "rms": ("audio", "mmfeat.audio.rms(y=x)"),
    "zero_crossing_rate": ("audio", "mmfeat.audio.zero_crossing_rate(x)"),
    "chroma_stft": ("audio", "mmfeat.audio.chroma_stft(y=x, sr=16000)"),
    "spectral_contrast": ("audio", "mmfeat.audio.spectral_contrast(y=x, sr=16000)"),
    "AudioFeatures": ("audio", "mmfeat.audio.AudioFeatures(sr=16000).fit_transform(list(x))"),
}
#: the eight calls of issue 14's first-call budget (15 s in all)
BUDGET_EIGHT = ("canny", "TfidfVectorizer", "AudioFeatures", "mfcc", "ImageFeatures",
                "color_histogram", "sobel", "rgb_to_gray")

_CHILD = """
import json, time
t0 = time.perf_counter()
import mmfeat, mmfeat.text, mmfeat.audio
t_import = time.perf_counter() - t0
{setup}
t = time.perf_counter(); {call}; first = time.perf_counter() - t
t = time.perf_counter(); {call}; second = time.perf_counter() - t
print(json.dumps({{"import_s": t_import, "first_s": first, "second_s": second}}))
"""


#: the children's environment beyond the empty cache (``--jit``: no shipped kernels)
_EXTRA_ENV: dict = {}


def _env(cache: str, path: str | None = None) -> dict:
    env = {**os.environ, **_EXTRA_ENV}
    env["NUMBA_CACHE_DIR"] = cache
    if path is not None:  # another commit's mmfeat, ahead of the installed one
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [path, env.get("PYTHONPATH")]))
    return env


def time_op(name: str, cache: str, path: str | None = None) -> dict:
    kind, call = OPS[name]
    code = _CHILD.format(setup=_SETUP[kind], call=call)
    r = subprocess.run([sys.executable, "-c", code], env=_env(cache, path),
                       capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def time_demo(n: int, cache: str, path: str | None = None) -> float:
    t = time.perf_counter()
    code = f"import sys; from mmfeat.cli import main; sys.exit(main(['demo', '--n', '{n}']))"
    r = subprocess.run([sys.executable, "-c", code],
                       env=_env(cache, path), capture_output=True, text=True, timeout=1800)
    if r.returncode != 0:
        raise RuntimeError(f"demo failed:\n{r.stderr[-3000:]}")
    return time.perf_counter() - t


def baseline_tree(rev: str) -> str:
    """A temporary folder holding commit ``rev``'s ``mmfeat`` package (its
    ``src/mmfeat`` with ``kernels`` inside, as installed), for ``PYTHONPATH``."""
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    blob = subprocess.run(["git", "-C", repo, "archive", rev, "src/mmfeat", "kernels"],
                          capture_output=True, check=True).stdout
    root = tempfile.mkdtemp(prefix="mmfeat-baseline-")
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        tar.extractall(root, filter="data")
    shutil.move(os.path.join(root, "kernels"), os.path.join(root, "src", "mmfeat", "kernels"))
    return os.path.join(root, "src")


def _cold_first(name: str, path: str | None) -> float:
    cache = tempfile.mkdtemp(prefix="mmfeat-cold-")
    try:
        if name == "demo":
            return time_demo(_DEMO_N[0], cache, path)
        return time_op(name, cache, path)["first_s"]
    finally:
        shutil.rmtree(cache, ignore_errors=True)


_DEMO_N = [1000]


def compare(rev: str, ops, rounds: int, demo_n: int) -> dict:
    """Cold first calls of this tree and of commit ``rev``, interleaved."""
    path = baseline_tree(rev)
    _DEMO_N[0] = demo_n
    names = list(ops) + (["demo"] if demo_n else [])
    out: dict = {"baseline": rev, "rounds": rounds, "ops": {}}
    print(f"{'op':20s} {'baseline (s)':>24s} {'this tree (s)':>24s}")
    try:
        for name in names:
            runs: dict = {"baseline": [], "this": []}
            for k in range(rounds):
                order = ("baseline", "this") if k % 2 == 0 else ("this", "baseline")
                for side in order:
                    runs[side].append(_cold_first(name, path if side == "baseline" else None))
            out["ops"][name] = runs
            print(f"{name:20s} {' '.join(f'{t:5.2f}' for t in runs['baseline']):>24s} "
                  f"{' '.join(f'{t:5.2f}' for t in runs['this']):>24s}", flush=True)
    finally:
        shutil.rmtree(os.path.dirname(path), ignore_errors=True)
    eight = [n for n in BUDGET_EIGHT if n in out["ops"]]
    if eight:
        for side in ("baseline", "this"):
            best = sum(min(out["ops"][n][side]) for n in eight)
            out[f"budget_eight_best_{side}_s"] = best
            print(f"the {len(eight)} budget calls, best first call each, {side}: {best:.1f} s")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ops", nargs="*", default=list(OPS), choices=list(OPS))
    ap.add_argument("--demo-n", type=int, default=1000)
    ap.add_argument("--json", default=None)
    ap.add_argument("--baseline", default=None, metavar="REV",
                    help="compare cold first calls with commit REV (interleaved A/B)")
    ap.add_argument("--rounds", type=int, default=2, help="runs per side with --baseline")
    ap.add_argument("--jit", action="store_true",
                    help="ignore the kernels compiled at install (MMFEAT_PREBUILT=0): "
                         "first calls compile from nothing, as on an editable install")
    a = ap.parse_args(argv)
    if a.jit:
        _EXTRA_ENV["MMFEAT_PREBUILT"] = "0"

    import mmfeat.kernels.image  # noqa: F401 - settles whether shipped kernels load
    import numba
    import numpy
    from mmfeat.kernels import prebuilt_describe, prebuilt_state

    import mmfeat

    shipped = prebuilt_state()
    report = {"python": platform.python_version(), "numba": numba.__version__,
              "numpy": numpy.__version__, "mmfeat": mmfeat.__version__,
              "cpus": os.cpu_count(),
              "shipped_kernels": None if a.jit else {k: shipped[k] for k in (
                  "active", "reason", "signatures") if k in shipped},
              "ops": {}}
    print(f"python {report['python']}, numba {report['numba']}, numpy {report['numpy']}, "
          f"{report['cpus']} CPUs; "
          + ("--jit: shipped kernels ignored" if a.jit else prebuilt_describe()))
    if a.baseline:
        report["compare"] = compare(a.baseline, a.ops, a.rounds, a.demo_n)
        if a.json:
            with open(a.json, "w") as f:
                json.dump(report, f, indent=2)
            print(f"wrote {a.json}")
        return 0
    print(f"{'op':20s} {'import':>7s} {'1st cold':>9s} {'2nd':>8s} {'1st cached':>11s}")
    for name in a.ops:
        cache = tempfile.mkdtemp(prefix="mmfeat-cold-")
        try:
            cold = time_op(name, cache)
            cached = time_op(name, cache)
        finally:
            shutil.rmtree(cache, ignore_errors=True)
        report["ops"][name] = {"cold": cold, "cached": cached}
        print(f"{name:20s} {cold['import_s']:6.2f}s {cold['first_s']:8.2f}s "
              f"{cold['second_s'] * 1e3:6.1f}ms {cached['first_s']:10.2f}s", flush=True)
    eight = [n for n in BUDGET_EIGHT if n in report["ops"]]
    if eight:
        total = sum(report["ops"][n]["cold"]["first_s"] for n in eight)
        report["budget_eight_first_s"] = total
        print(f"the {len(eight)} budget calls, first call cold: {total:.1f} s in all")
    if a.demo_n:
        cache = tempfile.mkdtemp(prefix="mmfeat-cold-")
        try:
            cold = time_demo(a.demo_n, cache)
            warm = time_demo(a.demo_n, cache)
        finally:
            shutil.rmtree(cache, ignore_errors=True)
        report["demo"] = {"n": a.demo_n, "cold_s": cold, "cached_s": warm}
        print(f"mmfeat demo --n {a.demo_n}: {cold:.1f} s cold, {warm:.1f} s with the cache")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=2)
        print(f"wrote {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
