"""HOG, LBP and GLCM (+ properties) on noisy photographs, beside scikit-image per image.

    python benchmarks/bench_image_descriptors.py --n 32 \
        --json benchmarks/results/cpu_image_descriptors.json

Images: scikit-image's astronaut, coffee, chelsea, camera, rocket, resized to 256x256,
with Gaussian noise (sigma 3 gray levels), uint8. Entries, timed in interleaved
rounds (best kept), each beside scikit-image called once per image on the same data:

- ``hog``: gray (N, 256, 256) uint8, default parameters (9 orientations, 8x8 cells,
  3x3 blocks, L2-Hys); ``hog_rgb``: (N, 256, 256, 3) with ``channel_axis=-1``;
- ``lbp``: ``local_binary_pattern(x, 8, 1, "uniform")`` and ``(24, 3, "uniform")``;
- ``glcm``: ``graycomatrix(x, [1], 4 angles, symmetric, normed)`` then six
  ``graycoprops`` (contrast, dissimilarity, homogeneity, ASM, energy, correlation), at
  256 levels and quantised to 32 levels.

The first call of each op in a fresh process with an empty ``NUMBA_CACHE_DIR``
(compilation included) is reported beside the warm time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

ANGLES = [0.0, np.pi / 4, np.pi / 2, 3 * np.pi / 4]
PROPS = ("contrast", "dissimilarity", "homogeneity", "ASM", "energy", "correlation")
NAMES = ("astronaut", "coffee", "chelsea", "camera", "rocket")


def photographs(n: int, size: int = 256, seed: int = 0) -> np.ndarray:
    """(n, size, size, 3) uint8 noisy photographs (the five cycled)."""
    from skimage import data, transform

    rng = np.random.default_rng(seed)
    base = []
    for name in NAMES:
        img = getattr(data, name)()
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        img = transform.resize(img[..., :3], (size, size, 3), anti_aliasing=True,
                               preserve_range=True)
        base.append(img)
    out = np.empty((n, size, size, 3), np.uint8)
    for i in range(n):
        x = base[i % len(base)] + rng.normal(0, 3, (size, size, 3))
        out[i] = np.clip(np.rint(x), 0, 255).astype(np.uint8)
    return out


def entries(rgb: np.ndarray) -> dict:
    """name -> (mmfeat callable, scikit-image callable) on the same data."""
    from skimage import feature

    import mmfeat.image as mi

    gray = np.rint(rgb @ [0.2125, 0.7154, 0.0721]).astype(np.uint8)
    q32 = gray // 8

    def glcm_ours(x, levels):
        P = mi.graycomatrix(x, [1], ANGLES, levels=levels, symmetric=True, normed=True)
        return [mi.graycoprops(P, p) for p in PROPS]

    def glcm_theirs(x, levels):
        for im in x:
            P = feature.graycomatrix(im, [1], ANGLES, levels=levels, symmetric=True, normed=True)
            [feature.graycoprops(P, p) for p in PROPS]

    return {
        "hog": (lambda: mi.hog(gray), lambda: [feature.hog(im) for im in gray]),
        "hog_rgb": (lambda: mi.hog(rgb, channel_axis=-1),
                    lambda: [feature.hog(im, channel_axis=-1) for im in rgb]),
        "lbp_8_1_uniform": (lambda: mi.local_binary_pattern(gray, 8, 1, "uniform"),
                            lambda: [feature.local_binary_pattern(im, 8, 1, "uniform")
                                     for im in gray]),
        "lbp_24_3_uniform": (lambda: mi.local_binary_pattern(gray, 24, 3, "uniform"),
                             lambda: [feature.local_binary_pattern(im, 24, 3, "uniform")
                                      for im in gray]),
        "glcm_props_256": (lambda: glcm_ours(gray, 256), lambda: glcm_theirs(gray, 256)),
        "glcm_props_32": (lambda: glcm_ours(q32, 32), lambda: glcm_theirs(q32, 32)),
    }


def first_calls(n: int) -> dict:
    """Seconds of each op's first call in this process (run it with an empty cache)."""
    rgb = photographs(n)
    out = {}
    for name, (ours, _) in entries(rgb).items():
        t = time.perf_counter()
        ours()
        out[name] = time.perf_counter() - t
    return out


def cold_first_calls(n: int) -> dict:
    """:func:`first_calls` in a child process with an empty NUMBA_CACHE_DIR."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        here = os.path.dirname(os.path.abspath(__file__))
        code = (f"import json, sys; sys.path.insert(0, {here!r}); "
                f"import bench_image_descriptors as b; print(json.dumps(b.first_calls({n})))")
        proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                              text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(n: int, repeat: int) -> dict:
    import numba
    import skimage

    import mmfeat

    first = cold_first_calls(min(n, 4))
    rgb = photographs(n)
    ops = entries(rgb)
    for ours, theirs in ops.values():  # warm-up: compile/cache load, pages
        ours()
        theirs()
    best = {name: [float("inf"), float("inf")] for name in ops}
    for _ in range(repeat):  # interleaved rounds: both sides meet the same load
        for name, (ours, theirs) in ops.items():
            for k, fn in enumerate((ours, theirs)):
                t = time.perf_counter()
                fn()
                best[name][k] = min(best[name][k], time.perf_counter() - t)
    results = {
        name: {"mmfeat_s": b[0], "skimage_s": b[1], "ratio": b[1] / b[0],
               "first_call_cold_cache_s": first[name]}
        for name, b in best.items()
    }
    return {
        "n_images": n, "size": [256, 256], "repeat": repeat,
        "versions": {"mmfeat": getattr(mmfeat, "__version__", "dev"),
                     "scikit-image": skimage.__version__, "numba": numba.__version__,
                     "numpy": np.__version__, "python": platform.python_version()},
        "machine": {"cpu_count": os.cpu_count(), "numba_threads": numba.get_num_threads(),
                    "platform": platform.platform()},
        "results": results,
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=32, help="images per batch (16-64)")
    ap.add_argument("--repeat", type=int, default=3, help="interleaved rounds")
    ap.add_argument("--json", default=None, help="write the results here")
    args = ap.parse_args(argv)
    import numba
    import skimage

    print(f"anchors: scikit-image {skimage.__version__}, numpy {np.__version__}, "
          f"numba {numba.__version__}, threads {numba.get_num_threads()}")
    out = run(args.n, args.repeat)
    print(f"{'op':<20}{'mmfeat ms':>11}{'skimage ms':>12}{'ratio':>8}{'first call s':>14}")
    for name, r in out["results"].items():
        print(f"{name:<20}{r['mmfeat_s'] * 1e3:>11.1f}{r['skimage_s'] * 1e3:>12.1f}"
              f"{r['ratio']:>8.1f}{r['first_call_cold_cache_s']:>14.2f}")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    return out


if __name__ == "__main__":
    main()
