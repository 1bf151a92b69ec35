"""The ``cpu`` backend: allocation and launch of the Numba kernels in ``mmfeat.kernels.image``.

Inputs arrive validated and C-contiguous (``_checks.as_images``); parameters
arrive normalised by the public layer.
"""

from __future__ import annotations

import functools

import numba
import numpy as np

from .. import config
from .._workers import parallel_for, run_workers
from ..kernels import image as K
from . import _reference as ref
from ._checks import (
    as_kernel_layout,
    check_mode,
    dtype_max,
    float_dtype,
    gray_calc_type,
    scale_for,
)


def _gray_scale(images):
    """Scale to [0, 1] in the gray conversion's type (float64 for integer input)."""
    return scale_for(images.dtype, gray_calc_type(images.dtype))


def _coeffs(work):
    return np.asarray(ref.GRAY_COEFFS, dtype=work)


def _rows(kernel, n_rows, *args):
    """A kernel over image rows on the worker threads (ranges of >= 8 rows)."""
    parallel_for(kernel, n_rows, *args, min_step=8, serial_below=16)


def _tasks(kernel, n_tasks, *args):
    """A kernel over coarse tasks (row blocks, pixel ranges, channels) on the threads."""
    parallel_for(kernel, n_tasks, *args, min_step=1, serial_below=2)


def rgb_to_gray(images, dtype, out=None):
    calc = gray_calc_type(images.dtype)
    src = as_kernel_layout(images)
    if out is None:
        out = np.empty(images.shape[:3], dtype=dtype)
    rows = out.shape[0] * out.shape[1]  # jobs: image rows
    if out.dtype == np.uint8:
        # uint8 RGB -> uint8: the exact float32 integer-weight kernel (2.5x faster)
        fast = src.dtype == np.uint8 and src.shape[3] == 3
        kernel = K.rgb_to_gray_u8_from_u8 if fast else K.rgb_to_gray_u8
        _rows(kernel, rows, src, out, _coeffs(calc), _gray_scale(images), calc.type(255.0))
    else:  # the kernel stores the calc-type value in out's float type
        _rows(K.rgb_to_gray, rows, src, out, _coeffs(calc), _gray_scale(images))
    return out


def _hsv_calc_type(dtype):
    return ref._hsv_calc_type(dtype)


def rgb_to_hsv(images, dtype, out=None):
    calc = _hsv_calc_type(images.dtype)
    if out is None:
        out = np.empty(images.shape, dtype=dtype)
    scale = scale_for(images.dtype, calc)
    rows = out.shape[0] * out.shape[1]
    if out.dtype == np.uint8:
        _rows(K.rgb_to_hsv_u8, rows, images, out, scale, calc.type(1.0), calc.type(255.0))
    else:
        _rows(K.rgb_to_hsv, rows, images, out, scale, calc.type(1.0))
    return out


@functools.lru_cache(maxsize=64)
def histogram_edges(bins) -> np.ndarray:
    """(3, max(bins) + 1) float64: np.histogramdd's np.linspace edges over [0, 1]."""
    edges = np.full((3, max(bins) + 1), np.inf)
    for c, b in enumerate(bins):
        edges[c, : b + 1] = np.linspace(0.0, 1.0, b + 1)
    return edges


@functools.lru_cache(maxsize=64)
def uint8_luts(bins) -> np.ndarray:
    """(3, 256) int64: the exact histogramdd bin of each uint8 value v * (1/255)."""
    vals = np.arange(256, dtype=np.float64) * (1.0 / 255)
    luts = np.empty((3, 256), dtype=np.int64)
    for c, b in enumerate(bins):
        e = np.linspace(0.0, 1.0, b + 1)
        luts[c] = np.clip(np.searchsorted(e, vals, side="right") - 1, 0, b - 1)
    return luts


@functools.lru_cache(maxsize=64)
def hsv_u8_tables(bins):
    """Exact tables for uint8 HSV binning: fvals (256,), sv_lut (256, 256), hue_lut.

    ``sv_lut[max, min]`` = s_bin * bins[2] + v_bin, built with scikit-image's
    float64 operations (v * (1/255), delta / max), so a look-up equals binning the
    value rgb2hsv computes; ``hue_lut`` is :func:`hue_table`.
    """
    f = np.arange(256, dtype=np.float64) * (1.0 / 255)
    e_s = np.linspace(0.0, 1.0, bins[1] + 1)
    e_v = np.linspace(0.0, 1.0, bins[2] + 1)
    mx, mn = np.meshgrid(f, f, indexing="ij")
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where(mx == mn, 0.0, (mx - mn) / mx)
    s_bin = np.clip(np.searchsorted(e_s, s, side="right") - 1, 0, bins[1] - 1)
    v_bin = np.clip(np.searchsorted(e_v, mx, side="right") - 1, 0, bins[2] - 1)
    sv_type = np.int16 if bins[1] * bins[2] <= np.iinfo(np.int16).max else np.int32
    return f, (s_bin * bins[2] + v_bin).astype(sv_type), hue_table(bins[0])


@functools.lru_cache(maxsize=64)
def hue_table(n_hue: int) -> np.ndarray:
    """Packed int8 table: hue bin at ``c * 65536 + d * d + (x + d)`` for max channel c,
    d = max - min and x in [-d, d] the difference of the other two; -1 on ties.

    Hue = (2 c d + x) / (6 d), wrapped into [0, 1), as an exact rational. Off an
    edge it is at least 1 / (6 * 255 * n_hue) away from every edge, far beyond
    the few ulps of float64 rounding, so floor(hue * n_hue) is the bin
    np.histogramdd gives; exactly on an edge (-1) the kernel redoes scikit-image's
    float arithmetic. d = 0 (gray pixels, hue 0) maps to bin 0.
    """
    c = np.arange(3)[:, None, None]
    d = np.arange(256)[None, :, None]
    x = np.arange(-255, 256)[None, None, :]
    num = 2 * c * d + x
    num = np.where(num < 0, num + 6 * d, num)
    den = np.maximum(6 * d, 1)
    scaled = num * n_hue
    table = np.where(scaled % den == 0, -1, scaled // den)
    table = np.clip(table, -1, n_hue - 1)
    table[:, 0, :] = 0
    table[0, :, 255] = 0  # red max, g == b: hue is exactly 0.0 in float too
    # pack: for each d only x in [-d, d] occurs; row d starts at d*d (3 x 64 KiB,
    # small enough to stay in a core's L2 beside the S/V table)
    packed = np.zeros((3, 256 * 256), dtype=np.int8)
    for dd in range(256):
        packed[:, dd * dd : dd * dd + 2 * dd + 1] = table[:, dd, 255 - dd : 256 + dd]
    return packed.reshape(-1)


def _normalise(counts, normalize, n_pixels):
    if not normalize:
        return counts
    return (counts / np.float64(n_pixels)).astype(np.float32)


def color_histogram(images, bins, space, normalize):
    n, H, W = images.shape[:3]
    P = H * W
    per_task = max(1, int(config.CPU_PIXELS_PER_TASK))
    T = (P + per_task - 1) // per_task
    counts = np.zeros((n, T, int(np.prod(bins))), dtype=np.int64)
    nb = np.asarray(bins, dtype=np.int64)
    jobs = n * T  # pixel ranges, T per image
    if space == "rgb" and images.dtype == np.uint8:
        _tasks(K.color_histogram_lut, jobs, images, counts, uint8_luts(bins), nb, per_task)
    elif space == "rgb":
        work = float_dtype(images.dtype) if images.dtype.kind == "f" else np.dtype(np.float64)
        _tasks(K.color_histogram_rgb, jobs, images, counts, nb, histogram_edges(bins),
               scale_for(images.dtype, work), per_task)
    elif images.dtype == np.uint8 and bins[0] <= 127:
        f, sv_lut, hue_lut = hsv_u8_tables(bins)
        _tasks(K.color_histogram_hsv_u8, jobs, images, counts, nb, histogram_edges(bins), f,
               sv_lut, hue_lut, per_task)
    else:
        calc = _hsv_calc_type(images.dtype)
        _tasks(K.color_histogram_hsv, jobs, images, counts, nb, histogram_edges(bins),
               scale_for(images.dtype, calc), calc.type(1.0), per_task)
    return _normalise(counts.sum(axis=1), normalize, P)


def sobel(images, mode, cval, out=None):
    work = float_dtype(images.dtype)
    if out is None:
        out = np.empty(images.shape[:3], dtype=work)
    norm = work.type(0.25) / np.sqrt(work.type(2.0))
    rows = max(1, int(config.CPU_ROWS_PER_TASK))
    jobs = out.shape[0] * -(-out.shape[1] // rows)  # blocks of rows, as the kernel counts
    _tasks(K.sobel, jobs, as_kernel_layout(images), out, _coeffs(gray_calc_type(images.dtype)),
           _gray_scale(images), check_mode(mode), work.type(cval), norm, rows)
    return out


def gradient_histogram(images, orientations):
    src = as_kernel_layout(images)
    n, H = src.shape[:2]
    rows = max(1, int(config.CPU_ROWS_PER_TASK))
    nblk = (H + rows - 1) // rows
    sums = np.zeros((n, nblk, orientations), dtype=np.float64)
    _tasks(K.gradient_histogram, n * nblk, src, sums, _coeffs(gray_calc_type(images.dtype)),
           _gray_scale(images), orientations, rows)
    out = sums.sum(axis=1)
    total = out.sum(axis=1, keepdims=True)
    np.divide(out, total, out=out, where=total > 0)
    return out.astype(np.float32)


def canny(images, sigma, low, high, use_quantiles, mode, cval):
    src = as_kernel_layout(images)
    n, H, W = src.shape[:3]
    # the kernel writes every pixel (0/1 bytes) of the bool output through a uint8 view
    out = np.empty((n, H, W), dtype=bool)
    lo, hi = canny_compare_values(low, high, use_quantiles)
    weights = ref.gaussian_weights(sigma)
    use_bleed = mode == "constant"
    btab = K.canny_bleed_rows(H, W, weights, float(cval), use_bleed)
    # one worker per thread (at most one per image), each claiming images in turn
    run_workers(
        K.canny_worker, min(n, numba.get_num_threads()),
        src, out.view(np.uint8), _coeffs(gray_calc_type(images.dtype)), _gray_scale(images),
        weights, check_mode(mode), float(cval), btab, use_bleed, np.full(n, lo),
        np.full(n, hi), bool(use_quantiles), float(low), float(high), np.zeros(1, np.int64),
    )
    return out


def canny_compare_values(low, high, use_quantiles):
    """The float64 values the kernels compare against (scikit-image's roundings).

    low: rounded to float32 (the Cython signature takes a C float), 0 -> 1e-14;
    high: compared in float32 when given as a Python float.
    """
    if use_quantiles:
        return 0.0, 0.0  # computed per image in the kernel
    lo = np.float32(low)
    if lo == 0:
        lo = np.float32(1e-14)
    return float(lo), float(np.float32(high))


def color_moments(images):
    out = np.empty((images.shape[0], 9), dtype=np.float64)
    _tasks(K.color_moments, images.shape[0] * 3, as_kernel_layout(images), out,
           np.float64(1.0 / dtype_max(images.dtype)))
    return out.astype(np.float32)
