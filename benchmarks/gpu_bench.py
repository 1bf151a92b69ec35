"""GPU benchmark of mmfeat's image ops (backend="cuda") against GPU and CPU anchors.

Run on a machine with a GPU (``benchmarks/run_gpu.sh`` does it)::

    python3 benchmarks/gpu_bench.py --n 64 --size 1024 --json results/gpu_image.json

The batch (``mmfeat._bench.make_batch``: photographs, uint8 RGB) is copied to
the device once; every op then runs on the device-resident batch. For each op:

- mmfeat ``backend="cuda"``: best and median of ``--repeat`` runs after a
  warm-up call (the warm-up includes Numba's CUDA JIT), timed with
  ``time.perf_counter`` around a device synchronize;
- Gpixel/s, and bytes moved (input read + output written, the minimum traffic of
  a fused kernel) per second as GB/s and as a fraction of the device's peak
  memory bandwidth;
- GPU anchors on the same device batch: plain CuPy / ``cupyx.scipy.ndimage``
  (vectorised over the batch) and cuCIM (``cucim.skimage``, per image where its
  semantics are per image), each as ``anchor time / mmfeat time``;
- parity of the cuda result against the numpy reference on ``--parity-n``
  images (max abs difference; edge agreement for canny);
- CPU baselines on the same machine for scale: mmfeat ``backend="cpu"``,
  OpenCV and scikit-image on ``--cpu-n`` images, scaled per image to ``--n``.

Issue 18's texture descriptors (``--texture``, after everything above, in their own
``--texture-budget-s``): ``hog``, ``local_binary_pattern`` (P=8, R=1, uniform) and
``graycomatrix`` + ``graycoprops`` on the gray (uint8) batch, each against
scikit-image per image on ``--texture-cpu-n`` images (scaled to the batch) and
parity against scikit-image on one image. cuCIM has none of the three
(``cucim.skimage.feature`` has no ``hog``, ``local_binary_pattern`` or
``graycomatrix``): the report says so, or times cuCIM's where a future version has
it. The JSON is written before this section and again after each of its ops, so
a run stopped inside it keeps everything before.

An anchor that fails to import or raises is reported as skipped with the reason;
it never stops the run. ``--budget-s`` bounds the run: once it is spent the
remaining anchors and CPU baselines are skipped (mmfeat itself always runs).

Under ``NUMBA_ENABLE_CUDASIM=1`` (no GPU) the cuda backend runs in Numba's
simulator on NumPy arrays: the script then times that and skips the GPU anchors,
which makes a smoke test of this script possible anywhere
(``--n 2 --size 32``).
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from mmfeat import _bench
from mmfeat import config as mm_config
from mmfeat.backend import BackendUnavailableError, cudasim_enabled, require_cuda, to_host
from mmfeat.cli import tables
from mmfeat.cli.args import int_at_least

#: (op, config overrides) timed beside the defaults: the launch-shape choices
VARIANTS = (
    # staged 32-bit loads of uint8 pixels (the default) against byte loads, and the
    # pixels each thread stages per chunk
    ("rgb_to_gray", {"STAGED_U8_LOADS": False}),
    ("rgb_to_gray", {"STAGED_PIXELS_PER_THREAD": 4}),
    ("rgb_to_gray", {"STAGED_PIXELS_PER_THREAD": 16}),
    ("sobel", {"STAGED_U8_LOADS": False}),
    ("sobel", {"TILE_ROWS_PER_THREAD": 8}),
    ("sobel", {"TILE_X": 64, "TILE_Y": 4, "TILE_ROWS_PER_THREAD": 8}),
    ("sobel", {"TILE_X": 128, "TILE_Y": 2, "TILE_ROWS_PER_THREAD": 8}),
    ("color_histogram_hsv", {"STAGED_U8_LOADS": False}),
    ("color_histogram_hsv", {"STAGED_PIXELS_PER_THREAD": 16}),
    ("color_histogram_hsv", {"HIST_BLOCKS_PER_IMAGE": 16}),
    ("color_histogram_hsv", {"HIST_BLOCKS_PER_IMAGE": 256}),
    ("gradient_histogram", {"STAGED_U8_LOADS": False}),
)

#: peak memory bandwidth in B/s by device name, when the device does not report
#: its memory clock and bus width (CUDA 13 dropped them from cudaDeviceProp)
PEAK_BANDWIDTH_TABLE = (
    ("H200", 4.8e12),
    ("H100 NVL", 3.9e12),
    ("H100 PCIe", 2.0e12),
    ("H100", 3.35e12),  # SXM5
    ("A100-SXM4-80GB", 2.039e12),
    ("A100 80GB PCIe", 1.935e12),
    ("A100", 1.555e12),
    ("L40S", 0.864e12),
    ("L4", 0.3e12),
)


# --- device ---------------------------------------------------------------------


class Device:
    """The array module, synchronize and description of where the cuda backend runs."""

    def __init__(self) -> None:
        self.simulator = cudasim_enabled()
        self.cupy = None
        self.cupy_reason = None
        try:
            import cupy

            self.cupy = cupy
        except Exception as exc:
            self.cupy_reason = f"CuPy is not importable ({type(exc).__name__}: {exc})"
        if self.simulator:
            self.xp = np
            self.anchor_reason = "Numba CUDA simulator: the cuda backend works on NumPy arrays"
        else:
            self.xp = self.cupy
            self.anchor_reason = self.cupy_reason
        self.info: dict[str, Any] = {"simulator": self.simulator}
        if self.cupy is not None and not self.simulator:
            self.info.update(_device_info(self.cupy))

    @property
    def gpu(self) -> bool:
        return self.cupy is not None and not self.simulator

    def sync(self) -> None:
        if self.gpu:
            self.cupy.cuda.Device().synchronize()

    def free(self) -> None:
        """Give cached blocks back so that one op's temporaries do not crowd the next."""
        if self.gpu:
            self.cupy.get_default_memory_pool().free_all_blocks()

    @property
    def peak(self) -> float | None:
        return self.info.get("peak_bandwidth_Bps")


def _device_info(cupy) -> dict[str, Any]:
    dev = cupy.cuda.Device()
    props = cupy.cuda.runtime.getDeviceProperties(dev.id)
    name = props.get("name", b"?")
    name = name.decode() if isinstance(name, bytes) else str(name)
    free, total = cupy.cuda.runtime.memGetInfo()
    info: dict[str, Any] = {
        "name": name,
        "compute_capability": dev.compute_capability,
        "memory_total_GiB": total / 2**30,
        "memory_free_GiB": free / 2**30,
        "multiprocessors": props.get("multiProcessorCount"),
        "cuda_runtime": cupy.cuda.runtime.runtimeGetVersion(),
        "cuda_driver": cupy.cuda.runtime.driverGetVersion(),
    }
    peak, source = _peak_bandwidth(cupy, props, name, dev.id)
    info["peak_bandwidth_Bps"] = peak
    info["peak_bandwidth_source"] = source
    return info


def _peak_bandwidth(cupy, props: dict, name: str, dev_id: int) -> tuple[float | None, str]:
    """2 * memory clock (Hz) * bus width (bytes), from the device, else a table."""
    clock_khz = props.get("memoryClockRate")
    bus_bits = props.get("memoryBusWidth")
    source = "cudaDeviceProp memoryClockRate/memoryBusWidth"
    if not clock_khz or not bus_bits:
        try:  # cudaDevAttrMemoryClockRate = 36, cudaDevAttrGlobalMemoryBusWidth = 37
            clock_khz = cupy.cuda.runtime.deviceGetAttribute(36, dev_id)
            bus_bits = cupy.cuda.runtime.deviceGetAttribute(37, dev_id)
            source = "cudaDeviceGetAttribute(MemoryClockRate, GlobalMemoryBusWidth)"
        except Exception:
            clock_khz = bus_bits = None
    if not clock_khz or not bus_bits:
        try:
            from numba import cuda

            d = cuda.get_current_device()
            clock_khz, bus_bits = d.MEMORY_CLOCK_RATE, d.GLOBAL_MEMORY_BUS_WIDTH
            source = "numba.cuda device attributes"
        except Exception:
            clock_khz = bus_bits = None
    if clock_khz and bus_bits:
        return 2.0 * float(clock_khz) * 1e3 * float(bus_bits) / 8.0, source
    for key, bw in PEAK_BANDWIDTH_TABLE:
        if key.lower() in name.lower():
            return bw, f"table ({key})"
    return None, "unknown device: no peak bandwidth"


# --- GPU anchors ------------------------------------------------------------------
# Each builder returns a function of the device batch (N, H, W, 3) uint8; the
# builders import what they need, so a missing library shows up as a skip.

_GRAY_W = (0.2125, 0.7154, 0.0721)  # skimage.color.rgb2gray


def _cp_gray(cp, x):
    """(N, H, W) float32 gray in [0, 1], a weighted sum in plain CuPy."""
    w = cp.asarray(_GRAY_W, dtype=cp.float32) / cp.float32(255)
    return x[..., 0] * w[0] + x[..., 1] * w[1] + x[..., 2] * w[2]


def _cp_sobel_xy(cp, g):
    """Sobel responses of each image of (N, H, W) ``g``: axes 1 and 2 only.

    ``cupyx.scipy.ndimage.sobel`` on a 3-D array would also smooth across the
    batch axis, so the two separable passes are spelled out with ``correlate1d``
    (which is how ``ndimage.sobel`` is built).
    """
    from cupyx.scipy import ndimage as ndi

    d = cp.asarray([-1.0, 0.0, 1.0], dtype=g.dtype)
    s = cp.asarray([1.0, 2.0, 1.0], dtype=g.dtype)
    gx = ndi.correlate1d(ndi.correlate1d(g, d, axis=2, mode="reflect"), s, axis=1, mode="reflect")
    gy = ndi.correlate1d(ndi.correlate1d(g, d, axis=1, mode="reflect"), s, axis=2, mode="reflect")
    return gx, gy


def _cp_rgb2hsv(cp, x):
    """(N, H, W, 3) float32 HSV in [0, 1] from uint8 RGB, skimage's formula in CuPy ops."""
    f = x.astype(cp.float32) * cp.float32(1 / 255)
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    v = f.max(axis=-1)
    delta = v - f.min(axis=-1)
    s = cp.where(v > 0, delta / cp.where(v > 0, v, 1), 0).astype(cp.float32)
    dz = cp.where(delta > 0, delta, 1)
    h = cp.where(r == v, (g - b) / dz, cp.where(g == v, 2 + (b - r) / dz, 4 + (r - g) / dz))
    h = cp.where(delta > 0, (h / 6) % 1, 0).astype(cp.float32)
    return cp.stack([h, s, v], axis=-1)


def _cp_hist_bincount(cp, hsv, bins=(8, 8, 8)):
    n = hsv.shape[0]
    nb = int(np.prod(bins))
    idx = cp.zeros(hsv.shape[:3], dtype=cp.int32)
    for c, k in enumerate(bins):
        ic = cp.minimum((hsv[..., c] * k).astype(cp.int32), k - 1)
        idx = idx * k + ic
    idx += (cp.arange(n, dtype=cp.int32) * nb)[:, None, None]
    counts = cp.bincount(idx.ravel(), minlength=n * nb).reshape(n, nb)
    return counts.astype(cp.float32) / cp.float32(hsv.shape[1] * hsv.shape[2])


def _cucim():
    import cucim.skimage.color as color
    import cucim.skimage.feature as feature
    import cucim.skimage.filters as filters

    return color, filters, feature


def gpu_anchors(op: str, cp) -> dict[str, Callable[[], Callable]]:
    """op -> anchor name -> builder of a function of the device batch."""

    def cupyx_sobel():
        def run(x):
            gx, gy = _cp_sobel_xy(cp, _cp_gray(cp, x))
            return cp.hypot(gx, gy)

        return run

    def cupyx_sobel_per_image():
        from cupyx.scipy import ndimage as ndi

        def run(x):
            out = []
            for img in x:
                g = _cp_gray(cp, img)
                out.append(cp.hypot(ndi.sobel(g, axis=0), ndi.sobel(g, axis=1)))
            return out

        return run

    def cucim_sobel():
        color, filters, _ = _cucim()
        return lambda x: [filters.sobel(color.rgb2gray(img)) for img in x]

    def cucim_canny():
        color, _, feature = _cucim()
        return lambda x: [feature.canny(color.rgb2gray(img), sigma=1.0) for img in x]

    def cupy_hist():
        return lambda x: _cp_hist_bincount(cp, _cp_rgb2hsv(cp, x))

    def cucim_histogramdd():
        color, _, _ = _cucim()
        rng = [(0.0, 1.0)] * 3

        def run(x):
            out = []
            for img in x:
                hsv = color.rgb2hsv(img).reshape(-1, 3)
                h, _ = cp.histogramdd(hsv, bins=(8, 8, 8), range=rng)
                out.append(h.ravel() / hsv.shape[0])
            return out

        return run

    def cupyx_gradient_histogram(orientations=9):
        def run(x):
            gx, gy = _cp_sobel_xy(cp, _cp_gray(cp, x))
            mag = cp.hypot(gx, gy) * cp.float32(0.25)
            ang = cp.arctan2(gy, gx) % cp.float32(math.pi)
            idx = cp.minimum(
                (ang * cp.float32(orientations / math.pi)).astype(cp.int32), orientations - 1
            )
            n = x.shape[0]
            idx += (cp.arange(n, dtype=cp.int32) * orientations)[:, None, None]
            h = cp.bincount(idx.ravel(), weights=mag.ravel(), minlength=n * orientations)
            h = h.reshape(n, orientations)
            s = h.sum(axis=1, keepdims=True)
            return (h / cp.where(s > 0, s, 1)).astype(cp.float32)

        return run

    def cupy_gray():
        return lambda x: _cp_gray(cp, x)

    def cucim_gray():
        color, _, _ = _cucim()
        return lambda x: color.rgb2gray(x)

    def cupy_hsv():
        return lambda x: _cp_rgb2hsv(cp, x)

    def cucim_hsv():
        color, _, _ = _cucim()
        return lambda x: color.rgb2hsv(x)

    table = {
        "sobel": {
            "cupyx": cupyx_sobel,
            "cupyx_per_image": cupyx_sobel_per_image,
            "cucim": cucim_sobel,
        },
        "canny": {"cucim": cucim_canny},
        "color_histogram_hsv": {"cupy_bincount": cupy_hist, "cucim+histogramdd": cucim_histogramdd},
        "gradient_histogram": {"cupyx+bincount": cupyx_gradient_histogram},
        "rgb_to_gray": {"cupy": cupy_gray, "cucim": cucim_gray},
        "rgb_to_hsv": {"cupy": cupy_hsv, "cucim": cucim_hsv},
    }
    return table[op]


#: anchor names per op, for skip reports when CuPy is missing
GPU_ANCHOR_NAMES = {
    "sobel": ("cupyx", "cupyx_per_image", "cucim"),
    "canny": ("cucim",),
    "color_histogram_hsv": ("cupy_bincount", "cucim+histogramdd"),
    "gradient_histogram": ("cupyx+bincount",),
    "rgb_to_gray": ("cupy", "cucim"),
    "rgb_to_hsv": ("cupy", "cucim"),
}


# --- measuring --------------------------------------------------------------------


def _nbytes(out) -> int:
    if isinstance(out, (list, tuple)):
        return sum(_nbytes(o) for o in out)
    return int(getattr(out, "nbytes", 0))


def _timed(fn: Callable[[], Any], repeat: int, sync: Callable[[], None]):
    """(output nbytes of the warm-up call, list of seconds)."""
    out = fn()
    sync()
    nbytes = _nbytes(out)
    del out
    times = _bench.time_call(fn, repeat, sync, warmup=False)
    return nbytes, times


def _parity(op: str, dev_batch, host_batch, k: int) -> dict[str, Any]:
    cuda = to_host(_bench.mmfeat_op(op, "cuda")(dev_batch[:k]))
    ref = np.asarray(_bench.mmfeat_op(op, "numpy")(host_batch[:k]))
    if cuda.shape != ref.shape:
        return {"ok": False, "error": f"shape {cuda.shape} != reference {ref.shape}"}
    if op == "canny":
        union = int((cuda | ref).sum())
        both = int((cuda & ref).sum())
        return {
            "images": k,
            "edge_agreement": both / union if union else 1.0,
            "pixel_agreement": float((cuda == ref).mean()),
            "edges_cuda": int(cuda.sum()),
            "edges_numpy": int(ref.sum()),
        }
    diff = np.abs(cuda.astype(np.float64) - ref.astype(np.float64))
    return {"images": k, "max_abs_diff": float(diff.max()) if diff.size else 0.0}


class Budget:
    def __init__(self, seconds: float) -> None:
        self.t0 = time.perf_counter()
        self.seconds = seconds

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def spent(self) -> bool:
        return self.elapsed > self.seconds


def bench_op(op, args, dev, dev_batch, host_batch, budget, log) -> dict[str, Any]:
    n, size = host_batch.shape[0], host_batch.shape[1]
    fn = _bench.mmfeat_op(op, "cuda")
    log(f"[{budget.elapsed:6.1f}s] {op}: mmfeat cuda (first call compiles) ...")
    out_nbytes, times = _timed(lambda: fn(dev_batch), args.repeat, dev.sync)
    best, med = min(times), float(np.median(times))
    moved = int(host_batch.nbytes) + out_nbytes
    row: dict[str, Any] = {
        "op": op,
        "backend": "cuda",
        "n": n,
        "size": size,
        "seconds": best,
        "median_seconds": med,
        "seconds_all": times,
        "gpix_per_s": n * size * size / best / 1e9,
        "bytes_read": int(host_batch.nbytes),
        "bytes_written": out_nbytes,
        "gb_per_s": moved / best / 1e9,
        "bandwidth_fraction": moved / best / dev.peak if dev.peak else None,
        "anchors": {},
        "ratios": {},
        "skipped": {},
        "cpu": {},
        "speedup_vs_cpu": {},
    }
    dev.free()

    # GPU anchors
    if dev.anchor_reason is not None:
        for name in GPU_ANCHOR_NAMES[op]:
            row["skipped"][name] = dev.anchor_reason
    else:
        for name, build in gpu_anchors(op, dev.cupy).items():
            if budget.spent():
                row["skipped"][name] = f"time budget of {budget.seconds:.0f} s spent"
                continue
            log(f"[{budget.elapsed:6.1f}s] {op}: {name} ...")
            try:
                afn = build()
                _, atimes = _timed(lambda afn=afn: afn(dev_batch), args.repeat, dev.sync)
            except Exception as exc:  # an anchor never aborts the run
                row["skipped"][name] = f"{type(exc).__name__}: {str(exc)[:300]}"
                continue
            finally:
                dev.free()
            row["anchors"][name] = {
                "seconds": min(atimes),
                "median_seconds": float(np.median(atimes)),
            }
            row["ratios"][name] = min(atimes) / best

    # parity against the numpy reference
    try:
        row["parity"] = _parity(op, dev_batch, host_batch, min(args.parity_n, n))
    except Exception as exc:
        row["parity"] = {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
    dev.free()
    return row


def cpu_baselines(row, args, host_batch, budget, log) -> None:
    """mmfeat cpu, OpenCV and scikit-image on ``--cpu-n`` images, scaled to the batch."""
    op, n, best = row["op"], host_batch.shape[0], row["seconds"]
    sub = host_batch[: min(args.cpu_n, n)]
    cpu_fns = {"mmfeat_cpu": ("numba", _bench.mmfeat_op(op, "cpu"))}
    cpu_fns.update(_bench.ANCHORS[op])
    for name, (module, cfn) in cpu_fns.items():
        if budget.spent():
            row["cpu"][name] = {"skipped": f"time budget of {budget.seconds:.0f} s spent"}
            continue
        try:
            importlib.import_module(module)
        except Exception as exc:
            row["cpu"][name] = {"skipped": f"{module} is not importable: {exc}"}
            continue
        log(f"[{budget.elapsed:6.1f}s] {op}: CPU {name} on {len(sub)} image(s) ...")
        try:
            ctimes = _bench.time_call(lambda cfn=cfn: cfn(sub), args.cpu_repeat)
        except Exception as exc:
            row["cpu"][name] = {"skipped": f"{type(exc).__name__}: {str(exc)[:300]}"}
            continue
        per_image = min(ctimes) / len(sub)
        row["cpu"][name] = {
            "images": len(sub),
            "seconds_per_image": per_image,
            "seconds_scaled": per_image * n,
        }
        row["speedup_vs_cpu"][name] = per_image * n / best


# --- texture descriptors (issue 18): a low-priority section with its own allowance ----

#: op -> (what runs, the scikit-image function, the cuCIM function that would match)
TEXTURE_OPS = {
    "hog": "hog(orientations=9, pixels_per_cell=(8, 8), cells_per_block=(3, 3), L2-Hys)",
    "local_binary_pattern": "local_binary_pattern(P=8, R=1, method='uniform')",
    "glcm": "graycomatrix(distances=[1], 4 angles, symmetric, normed) + graycoprops("
            "contrast, homogeneity, energy, correlation)",
}
_GLCM_ANGLES = (0.0, np.pi / 4, np.pi / 2, 3 * np.pi / 4)
_GLCM_PROPS = ("contrast", "homogeneity", "energy", "correlation")


def texture_fns(op: str, levels: int):
    """(mmfeat batch fn(x, backend), scikit-image per-image fn, cuCIM function name)."""
    from mmfeat import image as I

    if op == "hog":
        return ((lambda x, be: I.hog(x, backend=be)),
                (lambda im, f: f.hog(im)), "hog")
    if op == "local_binary_pattern":
        return ((lambda x, be: I.local_binary_pattern(x, 8, 1, "uniform", backend=be)),
                (lambda im, f: f.local_binary_pattern(im, 8, 1, "uniform")),
                "local_binary_pattern")

    def glcm(x, be):
        P = I.graycomatrix(x, [1], _GLCM_ANGLES, levels=levels, symmetric=True, normed=True,
                           backend=be)
        return [I.graycoprops(P, p, backend=be) for p in _GLCM_PROPS]

    def glcm_sk(im, f):
        P = f.graycomatrix(im, [1], _GLCM_ANGLES, levels=levels, symmetric=True, normed=True)
        return [f.graycoprops(P, p) for p in _GLCM_PROPS]

    return glcm, glcm_sk, "graycomatrix"


def _stack_host(out) -> np.ndarray:
    if isinstance(out, (list, tuple)):
        return np.stack([np.asarray(to_host(o), dtype=np.float64) for o in out])
    return np.asarray(to_host(out), dtype=np.float64)


def bench_texture(args, dev, host_batch, log, save) -> list[dict[str, Any]]:
    """The texture ops on the gray batch, in order, until ``--texture-budget-s`` is
    spent (an op once started runs to its end); ``save()`` after each op."""
    budget = Budget(args.texture_budget_s)
    rows: list[dict[str, Any]] = []
    levels = int(args.glcm_levels)
    gray = np.ascontiguousarray(
        (host_batch[..., :3].astype(np.float32) @ np.float32([0.2125, 0.7154, 0.0721]))
        .round().astype(np.uint8))
    if levels < 256:
        gray = (gray.astype(np.uint32) * levels // 256).astype(np.uint8)
    n, size = gray.shape[0], gray.shape[1]
    dev_gray = dev.xp.ascontiguousarray(dev.xp.asarray(gray))
    try:
        import skimage.feature as skf
    except Exception as exc:
        skf, sk_why = None, f"scikit-image is not importable ({type(exc).__name__}: {exc})"
    try:
        cucim_feature = _cucim()[2]
        cu_why = None
    except Exception as exc:
        cucim_feature, cu_why = None, f"{type(exc).__name__}: {str(exc)[:200]}"
    for op in args.texture:
        if budget.spent():
            rows.append({"op": op, "skipped": f"texture budget of {budget.seconds:.0f} s "
                                              "spent"})
            save()
            continue
        fn, sk_fn, cu_name = texture_fns(op, levels)
        row: dict[str, Any] = {"op": op, "what": TEXTURE_OPS[op], "backend": "cuda",
                               "n": n, "size": size, "levels": levels, "anchors": {},
                               "ratios": {}, "skipped": {}, "cpu": {},
                               "speedup_vs_cpu": {}}
        try:
            log(f"[{budget.elapsed:6.1f}s] texture {op}: mmfeat cuda (first call compiles) "
                "...")
            out_nbytes, times = _timed(lambda fn=fn: fn(dev_gray, "cuda"), args.repeat,
                                       dev.sync)
        except Exception as exc:
            row["error"] = f"{type(exc).__name__}: {str(exc)[:500]}"
            rows.append(row)
            save()
            continue
        best = min(times)
        row.update(seconds=best, median_seconds=float(np.median(times)), seconds_all=times,
                   gpix_per_s=n * size * size / best / 1e9, bytes_read=int(gray.nbytes),
                   bytes_written=out_nbytes)
        dev.free()
        # cuCIM: no equivalent today; timed per image if a version has one
        if cucim_feature is None:
            row["skipped"]["cucim"] = (f"cuCIM has no {cu_name} (cucim.skimage.feature has "
                                       f"no texture descriptors), and is not importable "
                                       f"here: {cu_why}")
        elif not hasattr(cucim_feature, cu_name):
            row["skipped"]["cucim"] = (f"cuCIM has no equivalent: cucim.skimage.feature "
                                       f"has no {cu_name}")
        elif not dev.gpu:
            row["skipped"]["cucim"] = dev.anchor_reason
        else:
            try:
                _, ct = _timed(lambda f=sk_fn: [f(im, cucim_feature) for im in dev_gray],
                               args.repeat, dev.sync)
                row["anchors"]["cucim"] = {"seconds": min(ct)}
                row["ratios"]["cucim"] = min(ct) / best
            except Exception as exc:
                row["skipped"]["cucim"] = f"{type(exc).__name__}: {str(exc)[:300]}"
            dev.free()
        # scikit-image on the CPU, per image, scaled to the batch; parity on image 0
        if skf is None:
            row["cpu"]["skimage"] = {"skipped": sk_why}
        else:
            k = max(1, min(args.texture_cpu_n, n))
            try:
                log(f"[{budget.elapsed:6.1f}s] texture {op}: scikit-image on {k} image(s) "
                    "...")
                ct = _bench.time_call(lambda f=sk_fn, k=k: [f(im, skf) for im in gray[:k]],
                                      args.cpu_repeat)
                per_image = min(ct) / k
                row["cpu"]["skimage"] = {"images": k, "seconds_per_image": per_image,
                                         "seconds_scaled": per_image * n}
                row["speedup_vs_cpu"]["skimage"] = per_image * n / best
                got = _stack_host(fn(dev_gray[:1], "cuda"))
                want = _stack_host(sk_fn(gray[0], skf))
                got = got.reshape(want.shape) if got.size == want.size else got
                if got.shape != want.shape:
                    row["parity"] = {"error": f"shape {got.shape} != scikit-image "
                                              f"{want.shape}"}
                else:
                    both = np.isnan(got) & np.isnan(want)
                    diff = np.where(both, 0.0, np.abs(got - want))
                    row["parity"] = {"images": 1, "anchor": "skimage",
                                     "max_abs_diff": float(np.nanmax(diff, initial=0.0))}
            except Exception as exc:
                row["cpu"]["skimage"] = {"skipped": f"{type(exc).__name__}: {str(exc)[:300]}"}
        rows.append(row)
        dev.free()
        save()
    return rows


# --- report -----------------------------------------------------------------------


def format_report(report: dict[str, Any]) -> str:
    cfg, dev = report["config"], report["device"]
    peak = dev.get("peak_bandwidth_Bps")
    lines = [
        f"device: {dev.get('name', 'Numba CUDA simulator' if dev.get('simulator') else '?')}"
        + (f", peak {peak / 1e12:.2f} TB/s ({dev.get('peak_bandwidth_source')})" if peak else ""),
        f"batch: {cfg['n']} x {cfg['size']}x{cfg['size']} RGB uint8 on the device "
        f"({cfg['data']}); best of {cfg['repeat']} after a warm-up",
    ]
    if report.get("h2d"):
        h = report["h2d"]
        lines.append(
            f"host->device copy of the batch: {tables.fmt_seconds(h['seconds'])} "
            f"({h['gb_per_s']:.1f} GB/s)"
        )
    lines += ["", "mmfeat cuda (ratio = anchor time / mmfeat time, > 1: mmfeat is faster)", ""]
    rows = [("op", "best", "median", "Gpix/s", "GB/s", "% peak BW", "parity")]
    for r in report["results"]:
        p = r.get("parity", {})
        if "edge_agreement" in p:
            par = f"edges {100 * p['edge_agreement']:.2f}% agree"
        elif "max_abs_diff" in p:
            par = f"max|diff| {p['max_abs_diff']:.2e}"
        else:
            par = "error"
        frac = r["bandwidth_fraction"]
        rows.append(
            (
                r["op"],
                tables.fmt_seconds(r["seconds"]),
                tables.fmt_seconds(r["median_seconds"]),
                f"{r['gpix_per_s']:.3g}",
                f"{r['gb_per_s']:.4g}",
                f"{100 * frac:.1f}%" if frac is not None else "-",
                par,
            )
        )
    lines += tables.text_table(rows)
    rows = [("op", "anchor", "where", "best", "ratio")]
    for r in report["results"]:
        for name, a in r["anchors"].items():
            rows.append(
                (
                    r["op"],
                    name,
                    "gpu",
                    tables.fmt_seconds(a["seconds"]),
                    tables.fmt_ratio(r["ratios"][name]),
                )
            )
        for name, c in r["cpu"].items():
            if "seconds_scaled" in c:
                rows.append(
                    (
                        r["op"],
                        name,
                        f"cpu ({c['images']} img, scaled)",
                        tables.fmt_seconds(c["seconds_scaled"]),
                        tables.fmt_ratio(r["speedup_vs_cpu"][name]),
                    )
                )
    if len(rows) > 1:
        lines += [
            "",
            "anchors (same batch; CPU ones timed on a few images and scaled to the batch)",
            "",
        ]
        lines += tables.text_table(rows)
    skipped = [
        f"  {r['op']} / {k}: {v}" for r in report["results"] for k, v in r["skipped"].items()
    ]
    skipped += [
        f"  {r['op']} / cpu {k}: {v['skipped']}"
        for r in report["results"]
        for k, v in r["cpu"].items()
        if "skipped" in v
    ]
    skipped += [
        f"  {r['op']} / parity: {r['parity']['error']}"
        for r in report["results"]
        if "error" in r.get("parity", {})
    ]
    if skipped:
        lines += ["", "skipped:", *skipped]
    lines += ["", f"total {report['elapsed_s']:.1f} s"]
    return "\n".join(lines)


# --- main -------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gpu_bench.py",
        description="Benchmark mmfeat's image ops on the GPU against cupyx, cuCIM and the CPU.",
    )
    p.add_argument(
        "--n", type=int_at_least(1), default=64, help="images (default: %(default)s)"
    )
    p.add_argument(
        "--size",
        type=int_at_least(1),
        default=1024,
        help="image height and width (default: %(default)s)",
    )
    p.add_argument(
        "--repeat",
        type=int_at_least(1),
        default=5,
        help="timed runs per call after a warm-up (default: %(default)s)",
    )
    p.add_argument(
        "--ops",
        default=None,
        help="comma-separated subset of: " + ", ".join(_bench.OPS) + " (default: all)",
    )
    p.add_argument(
        "--parity-n",
        type=int_at_least(1),
        default=2,
        help="images checked against the numpy reference (default: %(default)s)",
    )
    p.add_argument(
        "--cpu-n",
        type=int_at_least(0),
        default=2,
        help="images for the CPU baselines, 0 to skip them (default: %(default)s)",
    )
    p.add_argument(
        "--cpu-repeat",
        type=int_at_least(1),
        default=2,
        help="timed runs of each CPU baseline (default: %(default)s)",
    )
    p.add_argument(
        "--budget-s",
        type=float,
        default=200.0,
        help="after this many seconds skip the remaining anchors and CPU "
        "baselines (default: %(default)s)",
    )
    p.add_argument(
        "--texture",
        default=",".join(TEXTURE_OPS),
        help="comma-separated texture ops timed last, on the gray batch: "
        + ", ".join(TEXTURE_OPS) + " ('' for none; default: all)",
    )
    p.add_argument(
        "--texture-budget-s",
        type=float,
        default=15.0,
        help="seconds for the texture section: once spent, its remaining ops are "
        "skipped (default: %(default)s)",
    )
    p.add_argument(
        "--texture-cpu-n",
        type=int_at_least(1),
        default=1,
        help="images for scikit-image's texture ops (default: %(default)s)",
    )
    p.add_argument(
        "--glcm-levels",
        type=int_at_least(2),
        default=256,
        help="gray levels of the GLCM (the batch is quantised to them; default: "
        "%(default)s)",
    )
    p.add_argument("--json", metavar="PATH", help="write the results as JSON to PATH")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.ops is None:
        ops = list(_bench.OPS)
    else:
        ops = [o.strip() for o in args.ops.split(",") if o.strip()]
        bad = [o for o in ops if o not in _bench.OPS]
        if not ops or bad:
            what = f"unknown op(s) {', '.join(map(repr, bad))}" if bad else "no op given"
            parser.error(f"--ops: {what}; choose from {', '.join(_bench.OPS)}")
    if not args.budget_s > 0:
        parser.error(f"--budget-s must be > 0, got {args.budget_s}")
    args.texture = [o.strip() for o in args.texture.split(",") if o.strip()]
    bad = [o for o in args.texture if o not in TEXTURE_OPS]
    if bad:
        parser.error(f"--texture: unknown op(s) {', '.join(map(repr, bad))}; choose from "
                     f"{', '.join(TEXTURE_OPS)}")
    log = (lambda s: None) if args.quiet else (lambda s: print(s, file=sys.stderr, flush=True))
    budget = Budget(args.budget_s)

    report: dict[str, Any] = {
        "config": {
            "n": args.n,
            "size": args.size,
            "repeat": args.repeat,
            "parity_n": args.parity_n,
            "cpu_n": args.cpu_n,
            "data": _bench.batch_source(),
            "timer": "time.perf_counter around a device synchronize; best and median "
            "of repeat after one warm-up call",
            "ratio": "anchor seconds / mmfeat seconds (> 1: mmfeat is faster)",
            "bytes_moved": "input bytes read + output bytes written (one pass each)",
        },
        "machine": _bench.machine_info(),
        "device": {},
        "results": [],
    }
    try:
        require_cuda()
    except BackendUnavailableError as exc:
        report["error"] = str(exc)
        report["elapsed_s"] = budget.elapsed
        print(
            f"gpu_bench: {exc}\n(set NUMBA_ENABLE_CUDASIM=1 for a smoke run without a GPU)",
            file=sys.stderr,
        )
        if args.json:
            _bench.write_json(report, args.json)
        return 1
    dev = Device()
    report["device"] = dev.info
    report["machine"]["versions"]["numba_cuda"] = _version("numba_cuda")

    log(f"[{budget.elapsed:6.1f}s] batch {args.n} x {args.size}x{args.size} ...")
    host_batch = _bench.make_batch(args.n, args.size)
    dev.sync()
    t0 = time.perf_counter()
    dev_batch = dev.xp.ascontiguousarray(dev.xp.asarray(host_batch))
    dev.sync()
    h2d = time.perf_counter() - t0
    if dev.gpu:
        report["h2d"] = {"seconds": h2d, "gb_per_s": host_batch.nbytes / h2d / 1e9}

    for op in ops:
        try:
            row = bench_op(op, args, dev, dev_batch, host_batch, budget, log)
        except Exception as exc:  # mmfeat itself failed: report, go on with the next op
            row = {"op": op, "error": f"{type(exc).__name__}: {str(exc)[:500]}"}
            log(f"{op}: mmfeat cuda failed: {row['error']}")
        report["results"].append(row)
        dev.free()
    # launch-shape variants of the tunables, timed on the same batch
    report["variants"] = []
    for op, overrides in VARIANTS:
        if op not in ops:
            continue
        saved = {k: getattr(mm_config, k) for k in overrides}
        try:
            for k, v in overrides.items():
                setattr(mm_config, k, v)
            log(f"[{budget.elapsed:6.1f}s] {op}: variant {overrides} ...")
            fn = _bench.mmfeat_op(op, "cuda")
            out_nbytes, times = _timed(lambda fn=fn: fn(dev_batch), args.repeat, dev.sync)
            best = min(times)
            moved = int(host_batch.nbytes) + out_nbytes
            report["variants"].append(
                {
                    "op": op,
                    "config": overrides,
                    "seconds": best,
                    "bandwidth_fraction": moved / best / dev.peak if dev.peak else None,
                }
            )
        except Exception as exc:
            report["variants"].append(
                {"op": op, "config": overrides, "error": f"{type(exc).__name__}: {str(exc)[:300]}"}
            )
        finally:
            for k, v in saved.items():
                setattr(mm_config, k, v)
            dev.free()
    for v in report["variants"]:
        frac = v.get("bandwidth_fraction")
        if "error" in v:
            what = v["error"]
        else:
            what = f"{v['seconds'] * 1e3:.3f} ms"
            what += f", {100 * frac:.1f}% of peak BW" if frac else ""
        print(f"variant {v['op']} {v['config']}: {what}")
    # CPU baselines last: they only give scale, so they are what a spent budget drops
    if args.cpu_n > 0:
        for row in report["results"]:
            if "error" not in row:
                cpu_baselines(row, args, host_batch, budget, log)
    report["elapsed_s"] = budget.elapsed

    def save():
        if args.json:
            report["elapsed_s"] = budget.elapsed
            tmp = args.json + ".tmp"
            _bench.write_json(report, tmp)
            os.replace(tmp, args.json)

    # texture descriptors last, in their own allowance; the results so far are saved
    # first, so that a step stopped in this section keeps them
    report["texture"] = []
    save()
    if args.texture and args.texture_budget_s > 0:
        report["texture"] = bench_texture(args, dev, host_batch, log, save)
    report["elapsed_s"] = budget.elapsed

    ok_rows = [r for r in report["results"] if "error" not in r]
    failed = [r for r in report["results"] if "error" in r]
    failed += [r for r in report["texture"] if "error" in r]
    print(format_report({**report, "results": ok_rows}))
    print(format_texture(report["texture"]))
    for r in failed:
        print(f"FAILED {r['op']}: {r['error']}")
    if args.json:
        save()
        print(f"wrote {args.json}")
    return 1 if failed else 0


def format_texture(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "texture: not run"
    lines = ["texture descriptors (gray uint8 batch): mmfeat cuda vs scikit-image (CPU, "
             "per image, scaled) and cuCIM"]
    for r in rows:
        if "skipped" in r and "seconds" not in r and "error" not in r:
            lines.append(f"  {r['op']:22s} skipped: {r['skipped']}")
            continue
        if "error" in r:
            lines.append(f"  {r['op']:22s} FAILED: {r['error']}")
            continue
        sk = r["speedup_vs_cpu"].get("skimage")
        par = r.get("parity", {})
        lines.append(
            f"  {r['op']:22s} {r['seconds'] * 1e3:9.3f} ms  {r['gpix_per_s']:7.3f} Gpix/s  "
            + (f"{sk:8.2f}x scikit-image" if sk else "scikit-image: "
               + str(r["cpu"].get("skimage", {}).get("skipped")))
            + (f"  max|diff| {par['max_abs_diff']:.2e}" if "max_abs_diff" in par else "")
            + "".join(f"  {k}: {v}" for k, v in r["skipped"].items()))
    return "\n".join(lines)


def _version(name: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(name.replace("_", "-"))
    except Exception:
        return None


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
