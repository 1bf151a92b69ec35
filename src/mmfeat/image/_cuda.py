"""The ``cuda`` backend: allocation, chunking and launch of ``mmfeat.kernels.image_cuda``.

Arrays are CuPy (NumPy under ``NUMBA_ENABLE_CUDASIM=1``). Inputs arrive
validated, C-contiguous and already on the device. Batches are processed in
chunks sized to free device memory; an out-of-memory error halves the chunk and
retries (``backend.map_chunks``).
"""

from __future__ import annotations

import math

import numpy as np

from .. import config
from .._gpu import MAX_BLOCKS_1D, MAX_GRID_Z, device_tables, kernel_arg, launch_1d
from ..backend import device_xp, map_chunks
from ..kernels import image_cuda as K
from . import _cpu as host
from . import _reference as ref
from ._checks import (
    as_kernel_layout,
    check_mode,
    erode_mask,
    float_dtype,
    gray_calc_type,
    scale_for,
)


def _launch_pixels(kernel, per_image, *shared):
    """One thread per pixel of ``per_image[0]`` (N, H, W) on a (W/tx, H/ty, N) grid.

    ``per_image`` arrays (leading axis N) are sliced with the grid's z axis (at most
    65535 images a launch); ``shared`` arguments follow them unchanged.
    """
    tx, ty = int(config.TILE_X), int(config.TILE_Y)
    n, H, W = per_image[0].shape
    gx, gy = math.ceil(W / tx), math.ceil(H / ty)
    for s in range(0, n, MAX_GRID_Z):
        e = min(n, s + MAX_GRID_Z)
        args = [kernel_arg(a[s:e]) for a in per_image] + [kernel_arg(a) for a in shared]
        kernel[(gx, gy, e - s), (tx, ty)](*args)


def _data_ptr(a) -> int:
    if hasattr(a, "data") and hasattr(a.data, "ptr"):
        return int(a.data.ptr)  # CuPy
    return int(a.__array_interface__["data"][0])  # NumPy (simulator)


def _word_view(a):
    """The bytes of C-contiguous ``a`` as a flat uint32 array, or None when its
    address or size is not a multiple of 4 (or staging is switched off)."""
    if not config.STAGED_U8_LOADS or a.dtype != np.uint8 or a.nbytes % 4:
        return None
    if _data_ptr(a) % 4:
        return None
    return a.reshape(-1).view(np.uint32)


def _words_or_empty(a):
    """:func:`_word_view` of ``a``, or an empty uint32 array (the kernels' cue to
    read bytes)."""
    words = _word_view(a)
    return _no_words() if words is None else words


def _no_words():
    (empty,) = device_tables("no words", lambda: (np.zeros(0, np.uint32),))
    return empty


def _staged_blocks(total, chunk):
    """Blocks for a grid-stride loop over whole chunks (at least one, for the tail)."""
    return max(1, min(total // chunk, int(config.STAGED_MAX_BLOCKS)))


def _to_dev(x):
    return device_xp().asarray(x)


def _chunked(fn, images, bytes_per_item):
    return map_chunks(fn, images, bytes_per_item, device_xp())


def _gray_scale(images):
    """Scale to [0, 1] in the gray conversion's type (float64 for integer input)."""
    return scale_for(images.dtype, gray_calc_type(images.dtype))


def _coeffs(work):
    """The gray coefficients on the device, copied once per type and device."""
    work = np.dtype(work)
    (c,) = device_tables(("gray", work.str), lambda: (np.asarray(ref.GRAY_COEFFS, dtype=work),))
    return c


def _pixels(images):
    return int(images.shape[1]) * int(images.shape[2])


def _item_bytes(images):
    """Bytes of one image of the batch."""
    return int(images.nbytes) // max(int(images.shape[0]), 1)


# --- colour -------------------------------------------------------------------------


def _store(x, dtype, out):
    """A float result in [0, 1] as ``dtype`` (uint8: ``img_as_ubyte``), into ``out``."""
    xp = device_xp()
    if np.dtype(dtype) == np.uint8:
        x = xp.clip(xp.rint(xp.multiply(x, 255, dtype=x.dtype)), 0, 255)
    if out is None:
        return x.astype(dtype, copy=False)
    out[...] = x
    return out


def rgb_to_gray(images, dtype, out=None):
    # uint8 output rounds the value in the arithmetic type (float64 for integer
    # input), as img_as_ubyte(rgb2gray(img)) does; floats are stored as asked
    work = gray_calc_type(images.dtype) if np.dtype(dtype) == np.uint8 else np.dtype(dtype)
    if out is not None or work != dtype:
        return _store(rgb_to_gray(images, work), dtype, out)
    xp = device_xp()
    coeffs = _coeffs(gray_calc_type(images.dtype))
    scale = _gray_scale(images)

    def run(x):
        out = xp.empty(x.shape[:3], dtype=work)
        src = as_kernel_layout(x)
        flat = src.reshape(-1, src.shape[3])
        words = _word_view(src)
        if words is None:
            launch_1d(K.rgb_to_gray, out.size, flat, out.reshape(-1), coeffs, scale)
            return out
        threads, pix = int(config.THREADS_PER_BLOCK), int(config.STAGED_PIXELS_PER_THREAD)
        kernel = K.gray_u8_staged_kernel(threads, pix, int(src.shape[3]))
        kernel[_staged_blocks(out.size, threads * pix), threads](
            *map(kernel_arg, (words, flat, out.reshape(-1), coeffs)), scale
        )
        return out

    return _chunked(run, images, _item_bytes(images) + _pixels(images) * work.itemsize)


def rgb_to_hsv(images, dtype, out=None):
    calc = host._hsv_calc_type(images.dtype)
    out_t = calc if np.dtype(dtype) == np.uint8 else np.dtype(dtype)
    if out is not None or out_t != dtype:
        return _store(rgb_to_hsv(images, out_t), dtype, out)
    xp = device_xp()
    scale = scale_for(images.dtype, calc)

    def run(x):
        out = xp.empty(x.shape, dtype=out_t)
        launch_1d(
            K.rgb_to_hsv, _pixels(x) * x.shape[0], x.reshape(-1, 3), out.reshape(-1, 3), scale,
            calc.type(1.0),
        )
        return out

    return _chunked(run, images, _pixels(images) * 3 * (images.itemsize + out_t.itemsize))


def _hist_kernels():
    from ..kernels import image_hist_cuda

    return image_hist_cuda


def _histogramdd_bin(v, nb):
    """np.histogramdd's bin of values ``v`` in [0, 1] on ``nb`` linspace bins."""
    e = np.linspace(0.0, 1.0, nb + 1)
    k = np.searchsorted(e, v, side="right") - 1
    return np.minimum(k, nb - 1)  # the right edge belongs to the last bin


def _reciprocals(den):
    """ceil(2**31 / den) as uint32 (0 where den is 0): see ``image_hist_cuda._mulhi31``."""
    den = np.asarray(den, dtype=np.int64)
    return np.where(den > 0, -(-(1 << 31) // np.maximum(den, 1)), 0).astype(np.uint32)


def _hsv_u8_pixels(c, d, x, mn):
    """uint8 RGB pixels (M, 3) with max channel c, max - min = d, other-two difference x
    and min mn (as ``image_hist_cuda._hsv_u8_bin`` takes a pixel apart)."""
    mx = mn + d
    hi, lo = np.where(x >= 0, mn + x, mn), np.where(x >= 0, mn, mn - x)
    rgb = np.empty((len(c), 3), np.int64)
    # c 0: x = g - b; c 1: x = b - r; c 2: x = r - g
    for cc, (m, p, q) in enumerate(((0, 1, 2), (1, 2, 0), (2, 0, 1))):
        s = c == cc
        rgb[s, m], rgb[s, p], rgb[s, q] = mx[s], hi[s], lo[s]
    return rgb


def hsv_u8_hist_tables(bins):
    """Host tables of the exact uint8 HSV histogram (``image_hist_cuda._hsv_u8_bin``).

    ``small`` (768,) uint32: ceil(2**31 / 6d) for d < 256, ceil(2**31 / max), V bin
    of max. The bins off an edge are floors of exact rationals; exactly on an interior
    edge k, scikit-image's float64 value (``_reference.hsv_for_binning``) falls on
    one side, found here for every such pixel: ``sdown`` (256, ceil(b1 / 32)) bit k
    of row max: S rounds below edge k (one pixel per (max, k)); ``hslot`` (3, 256, b0)
    int32: for max channel c, d and hue edge k, -1 (every such pixel's hue is >= the
    edge) or a row of ``hbits`` (rows, 8) uint32, whose bit mn says that the pixel
    with min mn rounds below.
    """
    b0, b1, b2 = bins
    f = ref.to_float(np.arange(256, dtype=np.uint8), np.float64)
    small = np.concatenate([_reciprocals(6 * np.arange(256)), _reciprocals(np.arange(256)),
                            _histogramdd_bin(f, b2).astype(np.uint32)])
    # S: d = k * max / b1 for 1 <= k < b1 (an integer d only)
    mx, k = np.meshgrid(np.arange(1, 256), np.arange(1, b1), indexing="ij")
    mx, k = mx.ravel(), k.ravel()
    on = (k * mx) % b1 == 0
    mx, k = mx[on], k[on]
    px = np.stack([mx, mx - k * mx // b1, mx - k * mx // b1], -1).astype(np.uint8)
    s = ref.hsv_for_binning(px[None, :, None, :])[0, :, 0, 1]
    s_words = (b1 + 31) // 32
    sdown = np.zeros((256, s_words), np.uint32)
    down = _histogramdd_bin(s, b1) < k
    np.bitwise_or.at(sdown, (mx[down], k[down] >> 5), (1 << (k[down] & 31)).astype(np.uint32))
    # hue: num = 2 c d + x (wrapped by + 6d) on edge k: num * b0 = k * 6d, 1 <= k < b0
    c, d, x = np.meshgrid(np.arange(3), np.arange(1, 256), np.arange(-255, 256), indexing="ij")
    c, d, x = c.ravel(), d.ravel(), x.ravel()
    keep = np.abs(x) <= d
    c, d, x = c[keep], d[keep], x[keep]
    num = 2 * c * d + x
    num = np.where(num < 0, num + 6 * d, num)
    on = (num * b0) % (6 * d) == 0
    c, d, x, num = c[on], d[on], x[on], num[on]
    kh = num * b0 // (6 * d)
    inner = kh >= 1
    c, d, x, kh = c[inner], d[inner], x[inner], kh[inner]
    # every min the pixel can have
    reps = 256 - d
    idx = np.repeat(np.arange(len(c)), reps)
    mn = np.arange(len(idx)) - np.repeat(np.cumsum(reps) - reps, reps)
    rgb = _hsv_u8_pixels(c[idx], d[idx], x[idx], mn)
    # keep the (c, x) the kernel reads off the pixel (some combinations cannot occur)
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    top = np.maximum(r, np.maximum(g, b))
    cc = np.where(b == top, 2, np.where(g == top, 1, 0))
    xx = np.where(b == top, r - g, np.where(g == top, b - r, g - b))
    real = (cc == c[idx]) & (xx == x[idx])
    idx, mn, rgb = idx[real], mn[real], rgb[real]
    h = ref.hsv_for_binning(rgb.astype(np.uint8)[None, :, None, :])[0, :, 0, 0]
    got = _histogramdd_bin(h, b0)
    if not np.all((got == kh[idx]) | (got == kh[idx] - 1)):  # pragma: no cover
        raise AssertionError("a uint8 hue on a bin edge rounded by more than one bin")
    below = got < kh[idx]
    key = (c[idx] * 256 + d[idx]) * b0 + kh[idx]
    keys = np.unique(key[below])
    hslot = np.full(3 * 256 * b0, -1, np.int32)
    hslot[keys] = np.arange(len(keys), dtype=np.int32)
    hbits = np.zeros((max(len(keys), 1), 8), np.uint32)
    rows = hslot[key[below]]
    m = mn[below]
    np.bitwise_or.at(hbits, (rows, m >> 5), (1 << (m & 31)).astype(np.uint32))
    return small, sdown.reshape(-1), hslot, hbits.reshape(-1)


def uint8_rgb_hist_table(bins):
    """(768,) uint32: each channel's uint8 bin times its stride in the joint index."""
    luts = host.uint8_luts(bins)
    strides = (bins[1] * bins[2], bins[2], 1)
    return np.concatenate([luts[c] * strides[c] for c in range(3)]).astype(np.uint32)


def color_histogram(images, bins, space, normalize):
    KH = _hist_kernels()
    xp = device_xp()
    bins = tuple(int(b) for b in bins)
    B = int(np.prod(bins))
    (edges,) = device_tables(("edges", bins), lambda: (host.histogram_edges(bins),))
    u32, i32 = device_tables("hist dummies", lambda: (np.zeros(1, np.uint32),
                                                       np.zeros(1, np.int32)))
    small, sdown, hslot, hbits = u32, u32, i32, u32
    calc = np.dtype(np.float64)
    if space == "rgb" and images.dtype == np.uint8:
        kind = KH.HIST_LUT
        (small,) = device_tables(("hist rgb u8", bins), lambda: (uint8_rgb_hist_table(bins),))
    elif space == "rgb":
        kind = KH.HIST_RGB
        calc = float_dtype(images.dtype) if images.dtype.kind == "f" else calc
    elif images.dtype == np.uint8 and bins[0] <= 127:
        kind = KH.HIST_HSV_U8
        small, sdown, hslot, hbits = device_tables(("hist hsv u8", bins),
                                                   lambda: hsv_u8_hist_tables(bins))
    else:
        kind = KH.HIST_HSV
        calc = host._hsv_calc_type(images.dtype)
    scale = scale_for(images.dtype, calc)
    threads = int(config.THREADS_PER_BLOCK)
    shared_max = int(config.SHARED_HIST_MAX_BINS)
    # per-warp private copies, as many as fit (B > shared_max: global atomics)
    copies = max(1, min(max(1, threads // 32), shared_max // max(B, 1)))
    # the shared array holds what this B needs (a power of two, so few variants
    # compile): a 48 KiB array for 512 bins would halve the resident blocks
    # (never above shared_max: static shared memory is capped at 48 KiB a block)
    need = B * copies
    shared = min(1 << max(5, (need - 1).bit_length()), shared_max) if need <= shared_max else 1
    P = _pixels(images)
    u8 = kind in (KH.HIST_LUT, KH.HIST_HSV_U8)

    def run(x):
        counts = xp.zeros((x.shape[0], B), dtype=np.int64)
        flat = x.reshape(x.shape[0], P, 3)
        for s in range(0, x.shape[0], MAX_GRID_Z):
            xs, cs = flat[s : s + MAX_GRID_Z], counts[s : s + MAX_GRID_Z]
            # staged word loads need each image to start on a word: P a multiple of 4
            words = _word_view(xs) if u8 and P % 4 == 0 else None
            staged = words is not None
            # a staged pass of a block takes 8 pixels a thread, else 1
            per_pass = threads * (8 if staged else 1)
            blocks_x = max(1, min(int(config.HIST_BLOCKS_PER_IMAGE), math.ceil(P / per_pass)))
            kernel = KH.color_histogram_kernel(threads, kind, bins, copies, shared, staged)
            kernel[(blocks_x, xs.shape[0]), threads](
                *map(kernel_arg, (words if staged else _no_words(), xs, cs, small, sdown,
                                  hslot, hbits, edges)), scale, calc.type(1.0),
            )
        return counts

    counts = _chunked(run, images, _item_bytes(images) + B * 8)
    if not normalize:
        return counts
    return (counts / np.float64(P)).astype(np.float32)


def color_moments(images):
    """Moments with CuPy reductions (float64 sums; one pass for the three powers)."""
    xp = device_xp()

    def run(x):
        f = x.astype(np.float64) * (1.0 / (255.0 if x.dtype == np.uint8 else
                                           65535.0 if x.dtype == np.uint16 else 1.0))
        if f.ndim == 3:
            f = xp.repeat(f[..., None], 3, axis=-1)
        f = f.reshape(f.shape[0], -1, 3)
        mean = f.mean(axis=1)
        const = f.max(axis=1) == f.min(axis=1)  # std and skew exactly 0 (see reference)
        d = xp.where(const[:, None, :], 0.0, f - mean[:, None, :])
        var = (d * d).mean(axis=1)
        m3 = (d * d * d).mean(axis=1)
        std = xp.sqrt(var)
        safe = xp.where(std > 0, std, 1.0)
        skew = xp.where(std > 0, m3 / safe**3, 0.0)
        return xp.concatenate([mean, std, skew], axis=1).astype(np.float32)

    return _chunked(run, images, _pixels(images) * 3 * (images.itemsize + 24))


# --- stencils -------------------------------------------------------------------------


def _tile_grid(x):
    """(tx, ty, rows, (grid x, grid y)) of the shared-memory stencil kernels."""
    tx, ty = int(config.TILE_X), int(config.TILE_Y)
    rows = max(1, int(config.TILE_ROWS_PER_THREAD))
    return tx, ty, rows, (math.ceil(x.shape[2] / tx), math.ceil(x.shape[1] / (ty * rows)))


def _sobel_window_shape():
    """(threads a block, rows a strip) of :func:`K.sobel_window_kernel`: 4 x TILE_X
    threads (4 columns each), strips of 2 x TILE_Y x TILE_ROWS_PER_THREAD rows (128
    threads and 64 rows by default: 2 halo rows in 66 read)."""
    threads = 4 * int(config.TILE_X)
    strip = 2 * int(config.TILE_Y) * max(1, int(config.TILE_ROWS_PER_THREAD))
    return threads, strip


def sobel(images, mode, cval, out=None, axis=-1, dtype=None):
    """Sobel of the gray image; ``dtype`` (default the work type) may be float16:
    a float32 result is then rounded to it in the kernel's store."""
    work = float_dtype(images.dtype)
    res_t = work if dtype is None else np.dtype(dtype)
    if out is not None:
        out[...] = sobel(images, mode, cval, axis=axis, dtype=res_t)
        return out
    if res_t != work and not (res_t == np.float16 and work == np.float32
                              and config.SOBEL_WINDOW):
        return sobel(images, mode, cval, axis=axis).astype(res_t)
    xp = device_xp()
    coeffs = _coeffs(gray_calc_type(images.dtype))
    scale = _gray_scale(images)
    norm = work.type(0.25) / np.sqrt(work.type(2.0)) if axis < 0 else work.type(0.25)
    code = check_mode(mode)
    if config.SOBEL_WINDOW:
        return _sobel_window(images, code, work.type(cval), norm, coeffs, scale, axis, res_t)

    def run(x):
        src = as_kernel_layout(x)
        out = xp.empty(x.shape[:3], dtype=work)
        tx, ty, rows, (gx, gy) = _tile_grid(x)
        kernel = K.sobel_kernel(tx, ty, rows, work, int(src.shape[3]), int(axis))
        for s in range(0, x.shape[0], MAX_GRID_Z):
            ss, os_ = src[s : s + MAX_GRID_Z], out[s : s + MAX_GRID_Z]
            kernel[(gx, gy, ss.shape[0]), (tx, ty)](
                *map(kernel_arg, (_words_or_empty(ss), ss, os_, coeffs)), scale, code,
                work.type(cval), norm,
            )
        return out

    return _chunked(run, images, _item_bytes(images) + _pixels(images) * work.itemsize)


def _sobel_window(images, code, cval, norm, coeffs, scale, axis, res_t):
    """:func:`sobel` by the register sliding window (``config.SOBEL_WINDOW``)."""
    xp = device_xp()
    work = np.dtype(type(norm))
    u8 = images.dtype == np.uint8
    threads, strip = _sobel_window_shape()
    span = threads * K.SOBEL_PIX

    def run(x):
        src = as_kernel_layout(x)
        C = int(src.shape[3])
        H, W = int(x.shape[1]), int(x.shape[2])
        if u8:
            (tables,) = device_tables(("sobel tables", C, float(scale)), lambda: (
                K.sobel_window_tables(scale, ref.GRAY_COEFFS, C),))
        else:
            (tables,) = device_tables("sobel no tables", lambda: (np.zeros((1, 1)),))
        out = xp.empty(x.shape[:3], dtype=res_t)
        kernel = K.sobel_window_kernel(threads, strip, C, work, res_t, int(axis), bool(u8))
        grid = (math.ceil(W / span), math.ceil(H / strip))
        for s in range(0, x.shape[0], MAX_GRID_Z):
            ss, os_ = src[s : s + MAX_GRID_Z], out[s : s + MAX_GRID_Z]
            # word loads need every row to start on a word: W % 4 == 0 (and the base)
            words = _words_or_empty(ss) if u8 and W % 4 == 0 else _no_words()
            kernel[(*grid, ss.shape[0]), threads](
                *map(kernel_arg, (words, ss, os_, tables, coeffs)), scale, code, cval, norm,
            )
        return out

    return _chunked(run, images, _item_bytes(images) + _pixels(images) * res_t.itemsize)


def gradient_histogram(images, orientations):
    xp = device_xp()
    coeffs = _coeffs(gray_calc_type(images.dtype))
    scale = _gray_scale(images)

    def run(x):
        src = as_kernel_layout(x)
        sums = xp.zeros((x.shape[0], orientations), dtype=np.float64)
        tx, ty, rows, (gx, gy) = _tile_grid(x)
        # up to GRAD_HIST_SHARED_BINS bins (and 32 KiB) are summed per thread, then per
        # warp; more go straight to float64 global atomics
        per_thread = (int(orientations) <= int(config.GRAD_HIST_SHARED_BINS)
                      and orientations * tx * ty * 8 <= 32768)
        kernel = _hist_kernels().gradient_histogram_kernel(
            tx, ty, rows, int(orientations), int(src.shape[3]), per_thread)
        for s in range(0, x.shape[0], MAX_GRID_Z):
            ss = src[s : s + MAX_GRID_Z]
            kernel[(gx, gy, ss.shape[0]), (tx, ty)](
                *map(kernel_arg, (_words_or_empty(ss), ss, sums[s : s + MAX_GRID_Z], coeffs)),
                scale,
            )
        return sums

    sums = _chunked(run, images, _item_bytes(images) + orientations * 8)
    total = sums.sum(axis=1, keepdims=True)
    out = xp.where(total > 0, sums / xp.where(total > 0, total, 1.0), 0.0)
    return out.astype(np.float32)


def _pad_value(cval):
    """The constant-mode border value of the Gaussian passes: a float64, as scipy's
    correlate1d receives it (float32(cval) puts border pixels 1 ulp off when float32
    cannot hold cval, e.g. 0.3)."""
    return np.float64(cval)


def _mask_bleed(mask, weights, code, cv):
    """(M, H, W) float32 on the device: scikit-image's bleed-over of each mask plane,
    Gaussian of the mask as floats (the Canny passes) + eps."""
    xp = device_xp()
    mf = mask.astype(np.float32)
    tmp = xp.empty_like(mf)
    no_bleed = _to_dev(np.empty((0, 0), np.float32))
    _launch_pixels(K.gaussian_rows, (mf, tmp), weights, code, cv)
    _launch_pixels(K.gaussian_cols, (tmp, mf), weights, code, cv, no_bleed)
    mf += np.float32(np.finfo(np.float32).eps)
    return mf


#: static shared memory the fused Canny front end may use (sm_90 allows 48 KiB static)
CANNY_FRONT_SMEM = 40 * 1024


def canny_front(taps, mode, fused_ok=True):
    """The fused Canny front end (gaussian_rows, gaussian_cols, gradient_magnitude,
    nonmax_suppression and cc_init in one launch, bit for bit theirs) for ``taps`` taps,
    the border ``mode`` code (compiled in: one kernel a mode) and the configured tile,
    or None where it does not apply: a mask or quantile thresholds (they need the whole
    magnitude plane), or a radius whose windows pass :data:`CANNY_FRONT_SMEM`."""
    tx, ty, r = int(config.TILE_X), int(config.TILE_Y), (int(taps) - 1) // 2
    if not fused_ok or K.canny_front_smem(tx, ty, r) > CANNY_FRONT_SMEM:
        return None
    if not K.front_tile_packs(tx):  # its tile rows would straddle mask words
        return None
    return K.canny_front_kernel(tx, ty, r, int(mode))


#: rows of a hysteresis tile (32 columns: one uint32 mask word a row); at most 32, one
#: row a thread of its 32-thread block
HYST_TILE_ROWS = 32


def _hyst_grid(n, H, W):
    """(tile rows th, padded rows Hp, mask words a row, the launch grid) of n H x W planes."""
    th = int(HYST_TILE_ROWS)
    if not 1 <= th <= 32:  # one row a thread of a 32-thread block, one mask word a row
        raise ValueError(f"HYST_TILE_ROWS must be in [1, 32], got {th}")
    ty, tx = -(-H // th), -(-W // 32)
    if 1 + ty * th * tx * 32 >= 2**31:  # node ids are int32
        raise ValueError(f"canny (cuda): an image of {H} x {W} pixels is too large for "
                         "the hysteresis labels (int32); split it into tiles")
    return th, ty * th, tx, (tx, ty, n)


def hysteresis_masks(n, H, W):
    """Zeroed (cmask, smask) row masks (n, Hp, ceil(W / 32)) uint32 for
    :func:`hysteresis` (the front ends OR their bits in)."""
    xp = device_xp()
    _, Hp, words, _ = _hyst_grid(n, H, W)
    return xp.zeros((2, n, Hp, words), dtype=np.uint32)


def hysteresis(masks, H, W):
    """Canny's hysteresis: (N, H, W) bool, the candidates (bits of cmask) 8-connected
    to a strong pixel (bits of smask), ``masks`` as :func:`hysteresis_masks` gives them
    (smask is overwritten). Bitmask growth within 32 x HYST_TILE_ROWS tiles, union-find
    over the tiles' edge pixels only (kernels/image_cuda.py: hyst_tile, hyst_border,
    hyst_output)."""
    xp = device_xp()
    n = masks.shape[1]
    th, Hp, words, (gx, gy, _) = _hyst_grid(n, H, W)
    out = xp.empty((n, H, W), dtype=bool)
    labels = xp.empty((n, 1 + Hp * words * 32), dtype=np.int32)  # edge pixels' entries
    kernels = (K.hyst_tile_kernel(th), K.hyst_border_kernel(th), K.hyst_output_kernel(th))
    for s in range(0, n, MAX_GRID_Z):
        e = min(n, s + MAX_GRID_Z)
        cm, sm, lab = (kernel_arg(a[s:e]) for a in (masks[0], masks[1], labels))
        grid = (gx, gy, e - s)
        kernels[0][grid, 32](cm, sm, lab)
        kernels[1][grid, 32](cm, sm, lab)
        kernels[2][grid, 32](cm, sm, lab, kernel_arg(out[s:e]))
    return out


def canny(images, sigma, low, high, use_quantiles, mode, cval, mask=None, out=None):
    xp = device_xp()
    H, W = int(images.shape[1]), int(images.shape[2])
    coeffs = _coeffs(gray_calc_type(images.dtype))
    scale = _gray_scale(images)
    weights = _to_dev(ref.gaussian_weights(sigma))
    code = check_mode(mode)
    lo, hi = host.canny_compare_values(low, high, use_quantiles)
    cv = _pad_value(cval)
    no_bleed = _to_dev(np.empty((0, 0), np.float32))
    if mask is None:
        bleed = _to_dev(ref.bleed_over((H, W), sigma, cval)) if mode == "constant" else no_bleed
        mask_bleed = eroded = None
    else:
        # with a mask scikit-image divides by the smoothed mask in every mode; the
        # division is done after the (undivided) column pass: same float32 quotient
        bleed = no_bleed
        mask_bleed = _mask_bleed(mask, weights, code, cv)
        eroded = erode_mask(mask, xp).view(np.uint8)
    per_image = mask is not None and mask.shape[0] > 1
    fused = canny_front(weights.shape[0], code,
                        fused_ok=mask is None and not use_quantiles)

    def planes(a, s0, s1):
        """The mask planes of images s0 .. s1 - 1 (all of them: one plane)."""
        return a[s0:s1] if per_image else a

    def run(idx):
        s0, s1 = int(idx[0]), int(idx[-1]) + 1
        x = images[s0:s1]
        n = x.shape[0]
        gray = xp.empty((n, H, W), dtype=np.float32)
        src = as_kernel_layout(x)
        launch_1d(K.rgb_to_gray, n * H * W, src.reshape(-1, src.shape[3]), gray.reshape(-1),
                   coeffs, scale)
        if fused is not None:  # gaussian, sobel, suppression, packing: one launch
            masks = hysteresis_masks(n, H, W)
            _launch_pixels(fused, (gray, masks[0], masks[1], xp.full(n, lo, dtype=np.float64),
                                   xp.full(n, hi, dtype=np.float64)), weights, cv, bleed)
            del gray
            return hysteresis(masks, H, W)
        if mask is not None:  # as scikit-image's masked_image
            gray = xp.ascontiguousarray(xp.where(planes(mask, s0, s1), gray, np.float32(0)))
        tmp = xp.empty_like(gray)
        _launch_pixels(K.gaussian_rows, (gray, tmp), weights, code, cv)
        _launch_pixels(K.gaussian_cols, (tmp, gray), weights, code, cv, bleed)
        if mask is not None:
            gray /= planes(mask_bleed, s0, s1)
        sm, mag = gray, tmp
        _launch_pixels(K.gradient_magnitude, (sm, mag))
        if use_quantiles:
            q = xp.percentile(mag.reshape(n, -1), [100.0 * low, 100.0 * high], axis=1)
            lo_n = q[0].astype(np.float32).astype(np.float64)
            lo_n = xp.where(lo_n == 0, float(np.float32(1e-14)), lo_n)
            hi_n = xp.ascontiguousarray(q[1].astype(np.float64))
        else:
            lo_n = xp.full(n, lo, dtype=np.float64)
            hi_n = xp.full(n, hi, dtype=np.float64)
        state = xp.empty((n, H, W), dtype=np.uint8)
        _launch_pixels(K.nonmax_suppression, (sm, mag, state, lo_n, hi_n))
        if mask is not None:
            state *= planes(eroded, s0, s1)  # suppression restricted to the eroded mask
        del gray, tmp, sm, mag
        masks = hysteresis_masks(n, H, W)
        _launch_pixels(K.hyst_pack, (state, masks[0], masks[1]))
        del state
        return hysteresis(masks, H, W)

    # chunks of image indices (so that per-image mask planes follow their images); an
    # image's bytes: per pixel gray 4, the staged planes 4 + 4 + 1 and the output 1;
    # per padded pixel (whole 32-wide tiles, which dominate for narrow images) the
    # labels 4 and the two row masks 2 / 8
    _, Hp, words, _ = _hyst_grid(1, H, W)
    per_image = _item_bytes(images) + H * W * (4 + 4 + 1 + 1) + 4 * (1 + Hp * words * 32) \
        + 8 * Hp * words
    res = _chunked(run, np.arange(images.shape[0]), per_image)
    if out is None:
        return res
    out[...] = res
    return out


# --- texture descriptors: HOG, LBP, GLCM (issue 18) --------------------------------------


def _texture_kernels():
    from ..kernels import image_texture_cuda

    return image_texture_cuda


def _table(key, build):
    (t,) = device_tables(key, lambda: (build(),))
    return t


def _launch_grid3(kernel, X, Y, Z, *args):
    """``kernel`` over an (Z, Y, X) index space (image, row, column) on a 3-D grid:
    blocks of ``config.THREADS_PER_BLOCK`` threads shaped (min(X, tpb), tpb // that),
    the grid capped at :data:`MAX_BLOCKS_1D` x-blocks and 65535 y- and z-blocks (the
    kernels loop grid-stride on every axis, so any batch runs in one launch)."""
    tpb = int(config.THREADS_PER_BLOCK)
    X, Y, Z = max(int(X), 1), max(int(Y), 1), max(int(Z), 1)
    bx = min(X, tpb)
    by = max(1, min(tpb // bx, Y))
    gx = min(-(-X // bx), MAX_BLOCKS_1D)
    gy = min(-(-Y // by), MAX_GRID_Z)
    gz = min(Z, MAX_GRID_Z)
    kernel[(gx, gy, gz), (bx, by, 1)](*[kernel_arg(a) for a in args])


def hog(src, orientations, pixels_per_cell, cells_per_block, block_norm, transform_sqrt, work):
    KT = _texture_kernels()
    xp = device_xp()
    n, H, W, C = src.shape
    c_row, c_col = pixels_per_cell
    b_row, b_col = cells_per_block
    ncr, ncc = H // c_row, W // c_col
    f32 = bool(work == np.float32)
    sq = bool(transform_sqrt)
    if C > 1:
        chan = xp.empty((n, ncr * c_row, ncc * c_col), dtype=np.int8)
        if src.dtype == np.uint8 and not sq:
            hyp = _table("hog hypot", host.hog_hypot_table)
        else:
            hyp = _table("hog no table", lambda: np.zeros((0, 0), np.float64))
        _launch_grid3(KT.hog_channels, chan.shape[2], chan.shape[1], n, src, sq, f32, hyp,
                      chan)
    else:
        chan = xp.zeros((0, 0, 0), dtype=np.int8)
    hist = xp.zeros((n, ncr, ncc, orientations), dtype=np.float32)
    launch_1d(KT.hog_cells, n * ncr * ncc, src, hist, c_row, c_col, sq, f32, chan)
    out = xp.empty((n, ncr - b_row + 1, ncc - b_col + 1, b_row, b_col, orientations),
                   dtype=work)
    launch_1d(KT.hog_blocks, n * out.shape[1] * out.shape[2], hist, out,
              ref.HOG_NORMS.index(block_norm), ref.HOG_EPS)
    return out


def _lbp_launch(images, P, R, method, out, counts):
    KT = _texture_kernels()
    n, H, W = images.shape
    tables = device_tables(("lbp", P, R, H, W), lambda: host.lbp_tables(P, R, H, W))
    _launch_grid3(KT.lbp_pixels, W, H, n, images, P, host._LBP_CODES[method], *tables, out,
                  counts)


def local_binary_pattern(images, P, R, method):
    xp = device_xp()
    out = xp.empty(images.shape, dtype=np.float64)
    _lbp_launch(images, P, R, method, out, xp.zeros((0, 0), dtype=np.int64))
    return out


def lbp_histogram(images, P, R, method, normalize):
    xp = device_xp()
    counts = xp.zeros((images.shape[0], ref.lbp_n_bins(P, method)), dtype=np.int64)
    _lbp_launch(images, P, R, method, xp.zeros((0, 0, 0), dtype=np.float64), counts)
    if not normalize:
        return counts
    return counts / np.float64(images.shape[1] * images.shape[2])


def graycomatrix(images, offsets, n_dist, n_angle, levels, symmetric, normed):
    KT = _texture_kernels()
    xp = device_xp()
    n = images.shape[0]
    P = xp.zeros((n, levels, levels, n_dist * n_angle), dtype=np.uint32)
    _launch_grid3(KT.glcm_counts, images.shape[2], images.shape[1], n, images,
                  _to_dev(offsets), P, bool(symmetric))
    P = P.reshape(n, levels, levels, n_dist, n_angle)
    if not normed:
        return P
    sums = P.sum(axis=(1, 2), keepdims=True, dtype=np.float64)
    sums[sums == 0] = 1
    return P / sums


def graycoprops(P, prop):
    KT = _texture_kernels()
    xp = device_xp()
    n, L, _, nd, na = P.shape
    flat = P.reshape(n, L * L, nd * na)
    out = xp.empty((n, nd * na), dtype=np.float64)
    w, wi, wj = device_tables(("glcm", L, prop), lambda: host.glcm_weights(L, prop))
    launch_1d(KT.glcm_props, n * nd * na, flat, host.GLCM_MODES[prop], w, wi, wj, out)
    if prop in ("energy", "std"):
        out = xp.sqrt(out)
    return out.reshape(n, nd, na)
