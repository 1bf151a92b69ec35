"""Benchmark data and anchors shared by ``mmfeat bench``, ``benchmarks/`` and the GPU script.

Three parts:

- :func:`make_batch`: a deterministic ``(N, size, size, 3)`` uint8 RGB batch of
  photographs (scikit-image's bundled samples, resized and varied per index),
  or synthetic images when scikit-image is not installed.
- ``ANCHORS``: for each op, the CPU libraries users would otherwise call
  (OpenCV, scikit-image, NumPy), as functions of a batch that loop over images.
- :func:`run_image_bench`: the ``mmfeat bench image`` table and its JSON.

Nothing here is imported by ``import mmfeat``; OpenCV and scikit-image load on
first use.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

#: the ops of the image benchmark, in table order
OPS = (
    "sobel",
    "canny",
    "color_histogram_hsv",
    "gradient_histogram",
    "rgb_to_gray",
    "rgb_to_hsv",
    "rgb_to_gray_u8",
    "rgb_to_hsv_u8",
    "sobel_out",
    "canny_out",
)

#: sensor noise added to the sample photographs (sigma on 0..255): real photographs
#: have it, and smooth resized samples flatter histogram and edge kernels
NOISE_SIGMA = 3.0

#: scikit-image's bundled samples (in the wheel, no download)
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")

#: the ``mmfeat bench`` defaults (the pytest suite uses 16 x 1024 too)
DEFAULT_N = 16
DEFAULT_SIZE = 1024
#: scikit-image is slow: it runs on this many images and is scaled per image
DEFAULT_SKIMAGE_N = 2


# --- data -----------------------------------------------------------------------


def _optional(name: str):
    """The module ``name``, or None when it does not import."""
    try:
        return importlib.import_module(name)
    except Exception:
        return None


def _resize_uint8(img: np.ndarray, size: int) -> np.ndarray:
    """``img`` (H, W, 3) uint8 resized to (size, size, 3) uint8, bilinear."""
    from skimage.transform import resize

    down = size < max(img.shape[:2])
    out = resize(img, (size, size), order=1, anti_aliasing=down, preserve_range=True)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


@functools.lru_cache(maxsize=4)
def _base_photos(size: int) -> tuple[np.ndarray, ...] | None:
    """The four sample photographs at size x size, or None without scikit-image."""
    data = _optional("skimage.data")
    if data is None or _optional("skimage.transform") is None:
        return None
    try:
        photos = tuple(_resize_uint8(getattr(data, name)(), size) for name in PHOTOS)
    except Exception:  # a broken install: fall back to synthetic images
        return None
    for p in photos:
        p.setflags(write=False)
    return photos


def synthetic_image(size: int, seed: int = 0) -> np.ndarray:
    """A deterministic photograph-like (size, size, 3) uint8 image from NumPy alone.

    Smooth colour gradients, a few filled discs and rectangles (edges for Sobel
    and Canny) and mild Gaussian noise (texture), all drawn from ``seed``.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / max(size - 1, 1)
    img = np.empty((size, size, 3), np.float32)
    for c in range(3):
        a, b, p = rng.uniform(-1, 1, 3)
        img[..., c] = 0.5 + 0.25 * (a * xx + b * yy) + 0.15 * np.sin(6.0 * (xx + p * yy) + c)
    for _ in range(8):
        color = rng.uniform(0, 1, 3).astype(np.float32)
        cy, cx = rng.uniform(0, 1, 2)
        r = rng.uniform(0.05, 0.25)
        if rng.random() < 0.5:
            mask = (yy - cy) ** 2 + (xx - cx) ** 2 < r * r
        else:
            mask = (np.abs(yy - cy) < r) & (np.abs(xx - cx) < 0.6 * r)
        img[mask] = 0.3 * img[mask] + 0.7 * color
    img += rng.normal(0.0, 0.03, img.shape).astype(np.float32)
    return np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)


def batch_source() -> str:
    """Where :func:`make_batch` takes its images from on this machine."""
    if _base_photos(8) is not None:
        return ("scikit-image sample photographs (" + ", ".join(PHOTOS) + f") with sensor "
                f"noise sigma {NOISE_SIGMA:g}")
    return "synthetic images (scikit-image not installed)"


def make_batch(n: int = DEFAULT_N, size: int = DEFAULT_SIZE,
               noise_sigma: float = NOISE_SIGMA) -> np.ndarray:
    """A deterministic batch of ``n`` RGB photographs, ``(n, size, size, 3)`` uint8.

    Image ``i`` is sample photograph ``i % 4`` (astronaut, coffee, chelsea,
    rocket) resized to size x size; images past the first four are rolled by an
    index-dependent offset and flipped, so no two images of a batch are equal.
    Gaussian sensor noise of ``noise_sigma`` (on 0..255, seeded) is added.
    Without scikit-image the photographs are replaced by :func:`synthetic_image`.
    The result is C-contiguous.
    """
    n, size = int(n), int(size)
    if n < 1 or size < 1:
        raise ValueError(f"n and size must be >= 1, got n={n}, size={size}")
    base = _base_photos(size)
    if base is None:
        base = tuple(synthetic_image(size, seed) for seed in range(len(PHOTOS)))
    out = np.empty((n, size, size, 3), np.uint8)
    for i in range(n):
        img = base[i % len(base)]
        v = i // len(base)
        if v:
            img = np.roll(img, ((97 * v) % size, (193 * v) % size), axis=(0, 1))
            if v % 2:
                img = img[:, ::-1]
            if v % 4 >= 2:
                img = img[::-1]
        out[i] = img
    if noise_sigma:
        rng = np.random.default_rng(1234)
        for i in range(n):  # per image: no float copy of the whole batch
            noisy = out[i] + rng.normal(0.0, noise_sigma, out[i].shape).astype(np.float32)
            out[i] = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
    return out


# --- anchors (CPU) ----------------------------------------------------------------
# Each anchor takes the (N, H, W, 3) uint8 batch and loops over the images, as a
# user of the library would. The result is returned so that nothing is optimised
# away and shapes can be checked.


def _cv2():
    import cv2

    return cv2


def _cv_gray(cv2, img):
    return cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)


def cv_sobel(batch):
    cv2 = _cv2()
    out = []
    for img in batch:
        g = _cv_gray(cv2, img)
        gx = cv2.Sobel(g, cv2.CV_32F, 1, 0)
        gy = cv2.Sobel(g, cv2.CV_32F, 0, 1)
        out.append(cv2.magnitude(gx, gy))
    return out


def sk_sobel(batch):
    from skimage.color import rgb2gray
    from skimage.filters import sobel

    return [sobel(rgb2gray(img)) for img in batch]


def cv_color_histogram_hsv(batch):
    cv2 = _cv2()
    out = []
    for img in batch:
        hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
        h = cv2.calcHist([hsv], [0, 1, 2], None, [8, 8, 8], [0, 180, 0, 256, 0, 256])
        out.append(h.ravel() / (img.shape[0] * img.shape[1]))
    return out


def sk_color_histogram_hsv(batch):
    from skimage.color import rgb2hsv

    out = []
    for img in batch:
        hsv = rgb2hsv(img).reshape(-1, 3)
        h, _ = np.histogramdd(hsv, bins=(8, 8, 8), range=[(0.0, 1.0)] * 3)
        out.append(h.ravel() / hsv.shape[0])
    return out


def sk_canny(batch):
    from skimage.color import rgb2gray
    from skimage.feature import canny

    return [canny(rgb2gray(img), sigma=1.0) for img in batch]


def cv_canny(batch):
    # skimage's defaults (0.1, 0.2 of the [0, 1] scale, L2 magnitude of the
    # unnormalised Sobel) are 25.5 and 51 on uint8 gray
    cv2 = _cv2()
    out = []
    for img in batch:
        g = cv2.GaussianBlur(_cv_gray(cv2, img), (0, 0), 1.0)
        out.append(cv2.Canny(g, 25.5, 51.0, L2gradient=True))
    return out


def cv_gradient_histogram(batch, orientations: int = 9):
    cv2 = _cv2()
    out = []
    for img in batch:
        g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32) * np.float32(1 / 255)
        gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, borderType=cv2.BORDER_REFLECT)
        gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, borderType=cv2.BORDER_REFLECT)
        mag, ang = cv2.cartToPolar(gx, gy)
        ang = np.mod(ang, np.pi)
        idx = np.minimum((ang * (orientations / np.pi)).astype(np.intp), orientations - 1)
        h = np.bincount(idx.ravel(), weights=mag.ravel(), minlength=orientations)
        s = h.sum()
        out.append(h / s if s > 0 else h)
    return out


def cv_rgb_to_gray(batch):
    cv2 = _cv2()
    return [cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) for img in batch]


def sk_rgb_to_gray(batch):
    from skimage.color import rgb2gray

    return [rgb2gray(img) for img in batch]


def cv_rgb_to_hsv(batch):
    cv2 = _cv2()
    return [cv2.cvtColor(img, cv2.COLOR_RGB2HSV) for img in batch]


def sk_rgb_to_hsv(batch):
    from skimage.color import rgb2hsv

    return [rgb2hsv(img) for img in batch]


def sk_rgb_to_gray_u8(batch):
    from skimage.color import rgb2gray
    from skimage.util import img_as_ubyte

    return [img_as_ubyte(rgb2gray(img)) for img in batch]


def sk_rgb_to_hsv_u8(batch):
    from skimage.color import rgb2hsv
    from skimage.util import img_as_ubyte

    return [img_as_ubyte(rgb2hsv(img)) for img in batch]


#: op -> anchor name -> (required module, function of the uint8 RGB batch)
ANCHORS: dict[str, dict[str, tuple[str, Callable]]] = {
    "sobel": {"opencv": ("cv2", cv_sobel), "skimage": ("skimage", sk_sobel)},
    "canny": {"skimage": ("skimage", sk_canny), "opencv": ("cv2", cv_canny)},
    "color_histogram_hsv": {
        "opencv": ("cv2", cv_color_histogram_hsv),
        "skimage+numpy": ("skimage", sk_color_histogram_hsv),
    },
    "gradient_histogram": {"opencv+numpy": ("cv2", cv_gradient_histogram)},
    "rgb_to_gray": {"opencv": ("cv2", cv_rgb_to_gray), "skimage": ("skimage", sk_rgb_to_gray)},
    "rgb_to_hsv": {"opencv": ("cv2", cv_rgb_to_hsv), "skimage": ("skimage", sk_rgb_to_hsv)},
    "rgb_to_gray_u8": {"opencv": ("cv2", cv_rgb_to_gray),
                       "skimage": ("skimage", sk_rgb_to_gray_u8)},
    "rgb_to_hsv_u8": {"opencv": ("cv2", cv_rgb_to_hsv),
                      "skimage": ("skimage", sk_rgb_to_hsv_u8)},
}
ANCHORS["sobel_out"] = ANCHORS["sobel"]
ANCHORS["canny_out"] = ANCHORS["canny"]


def is_slow_anchor(name: str) -> bool:
    """scikit-image anchors run on a few images and are scaled per image."""
    return name.startswith("skimage")


def mmfeat_op(op: str, backend: str) -> Callable:
    """The mmfeat call of benchmark op ``op`` on ``backend``, a function of the batch."""
    from . import image

    if op == "color_histogram_hsv":
        return functools.partial(image.color_histogram, space="hsv", backend=backend)
    if op.endswith(("_u8", "_out")) and op in OPS:
        # into one buffer reused call after call, as a loop over batches would (no page
        # faults of a fresh output); the colour conversions in uint8, as OpenCV returns
        fn = getattr(image, op.rsplit("_", 1)[0])
        kw = {"dtype": np.uint8} if op.endswith("_u8") else {}
        buffers: dict = {}

        def run(batch):
            key = (batch.shape, type(batch))
            if key not in buffers:
                buffers[key] = fn(batch, **kw, backend=backend)
            return fn(batch, **kw, out=buffers[key], backend=backend)

        return run
    if op not in OPS:
        raise ValueError(f"op must be one of {OPS}, got {op!r}")
    return functools.partial(getattr(image, op), backend=backend)


# --- timing -----------------------------------------------------------------------


def time_call(
    fn: Callable[[], Any],
    repeat: int,
    sync: Callable[[], None] | None = None,
    warmup: bool = True,
) -> list[float]:
    """Wall-clock seconds of ``repeat`` calls of ``fn`` (after one warm-up call).

    ``sync`` (e.g. a device synchronize) runs before each clock read, so GPU work
    queued by ``fn`` is inside the measured interval.
    """
    sync = sync or (lambda: None)
    if warmup:
        fn()
        sync()
    times = []
    for _ in range(max(int(repeat), 1)):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return times


def versions() -> dict[str, str | None]:
    """Versions of the libraries the benchmarks touch (None: not importable)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in ("numpy", "numba", "cv2", "skimage", "scipy", "cupy", "cucim", "mmfeat"):
        mod = sys.modules.get(name) or _optional(name)
        out[name] = getattr(mod, "__version__", None) if mod is not None else None
    return out


def machine_info() -> dict[str, Any]:
    """Host, CPU and library versions for a results file."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpu_count": os.cpu_count(),
        "versions": versions(),
    }
    try:
        import numba

        info["numba_threads"] = int(numba.config.NUMBA_NUM_THREADS)
    except Exception:
        pass
    return info


# --- mmfeat bench image -------------------------------------------------------------


def device_sync(backend: str) -> Callable[[], None] | None:
    """A device synchronize for ``backend="cuda"`` on CuPy (None elsewhere)."""
    if backend != "cuda":
        return None
    from .backend import cudasim_enabled

    if cudasim_enabled():
        return None
    import cupy

    dev = cupy.cuda.Device()
    return dev.synchronize


def on_backend(batch: np.ndarray, backend: str):
    """The batch where ``backend`` computes (device-resident for cuda)."""
    if backend != "cuda":
        return batch
    from .backend import device_xp

    xp = device_xp()
    out = xp.ascontiguousarray(xp.asarray(batch))
    sync = device_sync(backend)
    if sync:
        sync()
    return out


def _time_interleaved(calls, repeat, skipped, log, op) -> dict[str, list[float]]:
    """Seconds of each call in ``calls`` ({name: (fn, sync, n_images)}), ``repeat``
    rounds after one warm-up each; every round times every call once.

    Interleaving puts mmfeat and its anchors in the same minutes: on a shared
    machine the load comes and goes, and timing one side after the other let a
    quiet or a busy spell land on one side only. An anchor that raises is
    dropped and recorded in ``skipped``; mmfeat raising is an error.
    """
    for name, (fn, sync, k) in list(calls.items()):
        log(f"{op}: {name} on {k} image(s) ...")
        try:
            fn()  # warm-up: compilation, caches, first-touch pages
            if sync is not None:
                sync()
        except Exception as exc:
            if name == "mmfeat":
                raise
            skipped[name] = f"{type(exc).__name__}: {exc}"  # an anchor never aborts the run
            del calls[name]
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(max(int(repeat), 1)):
        for name, (fn, sync, _k) in calls.items():
            times[name] += time_call(fn, 1, sync, warmup=False)
    return times


def run_image_bench(
    n: int = DEFAULT_N,
    size: int = DEFAULT_SIZE,
    repeat: int = 3,
    backend: str = "cpu",
    ops: Sequence[str] = OPS,
    skimage_n: int = DEFAULT_SKIMAGE_N,
    anchors: bool = True,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Time each op of ``ops`` with mmfeat and its CPU anchors on one batch.

    mmfeat runs on the whole batch (``n`` images; on the device for cuda), as
    do the OpenCV anchors; scikit-image anchors run on ``min(n, skimage_n)``
    images and their time is scaled to ``n`` images. Every call is warmed up
    once; then ``repeat`` rounds each time mmfeat and every anchor once, and the
    best round of each is kept.

    Returns
    -------
    dict
        ``{"machine": ..., "config": ..., "results": [per op: op, backend, n,
        size, seconds, mpix_per_s, anchors {name: seconds for n images},
        ratios {name: anchor seconds / mmfeat seconds}, skipped {name: why}]}``.
        A ratio above 1 means mmfeat is that many times faster.
    """
    log = log or (lambda s: None)
    batch = make_batch(n, size)
    dev_batch = on_backend(batch, backend)
    sync = device_sync(backend)
    mpix = n * size * size / 1e6
    sk_n = max(1, min(n, int(skimage_n)))
    results = []
    for op in ops:
        fn = mmfeat_op(op, backend)
        row: dict[str, Any] = {
            "op": op, "backend": backend, "n": n, "size": size,
            "anchors": {}, "anchor_n": {}, "ratios": {}, "skipped": {},
        }
        # name -> (call, sync, images it runs on); mmfeat first
        calls: dict[str, tuple[Callable[[], Any], Any, int]] = {
            "mmfeat": (lambda fn=fn: fn(dev_batch), sync, n)
        }
        for name, (module, afn) in ANCHORS[op].items() if anchors else ():
            if _optional(module) is None:
                row["skipped"][name] = f"{module} is not importable"
                continue
            sub = batch[:sk_n] if is_slow_anchor(name) else batch
            calls[name] = (lambda afn=afn, sub=sub: afn(sub), None, len(sub))
        times = _time_interleaved(calls, repeat, row["skipped"], log, op)
        own = times.pop("mmfeat")
        best = min(own)
        row.update(seconds=best, seconds_all=own, mpix_per_s=mpix / best)
        for name, ts in times.items():
            t_n = min(ts) * n / calls[name][2]
            row["anchors"][name] = t_n
            row["anchor_n"][name] = calls[name][2]
            row["ratios"][name] = t_n / best
        results.append(row)
    machine = machine_info()
    if backend == "cuda":
        from .backend import backends

        machine["cuda"] = backends()["cuda"]["detail"]
    return {
        "machine": machine,
        "config": {
            "n": n,
            "size": size,
            "repeat": repeat,
            "backend": backend,
            "skimage_n": sk_n,
            "data": batch_source(),
            "timer": "time.perf_counter; after one warm-up call each, repeat rounds that "
            "time mmfeat and every anchor once (interleaved); best round of each",
            "ratio": "anchor seconds / mmfeat seconds (> 1: mmfeat is faster)",
        },
        "results": results,
    }


def write_json(report: dict[str, Any], path: str) -> None:
    """Write ``report`` to ``path`` (parent folders created)."""
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2, sort_keys=False)
        f.write("\n")
