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
    erode_mask,
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


def flat_rows(src):
    """(rows (N, H, W * C), C): the kernel-layout batch ``src`` (N, H, W, C) with each
    image row flat, as the gray-reading kernels take it (a view: no copy)."""
    n, H, W, C = src.shape
    return src.reshape(n, H, W * C), np.int64(C)


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
        _rows(K.rgb_to_gray, rows, *flat_rows(src), out, _coeffs(calc), _gray_scale(images))
    return out


def _hsv_calc_type(dtype):
    return ref._hsv_calc_type(dtype)


def rgb_to_hsv(images, dtype, out=None):
    calc = _hsv_calc_type(images.dtype)
    if out is None:
        out = np.empty(images.shape, dtype=dtype)
    scale = scale_for(images.dtype, calc)
    rows = out.shape[0] * out.shape[1]
    if out.dtype == np.uint8 and images.dtype == np.uint8:
        # uint8 -> uint8: exact tables, no float division per pixel (1.6x faster)
        _rows(K.rgb_to_hsv_u8_from_u8, rows, images, out, *hsv_u8_conversion_tables())
    elif out.dtype == np.uint8:
        _rows(K.rgb_to_hsv_u8, rows, images, out, scale, calc.type(1.0), calc.type(255.0))
    else:
        _rows(K.rgb_to_hsv, rows, images, out, scale, calc.type(1.0))
    return out


@functools.lru_cache(maxsize=1)
def hsv_u8_conversion_tables():
    """Tables of :func:`mmfeat.kernels.image.rgb_to_hsv_u8_from_u8`: hue (int16, packed
    as :func:`hue_table`: row d holds x in [-d, d]; round(255 hue) or -1 on a tie),
    S (uint8, [max * 256 + min]), V (uint8, [max]) and the float64 values v / 255.

    S and V are scikit-image's float64 operations on (max, min), rounded as
    ``img_as_ubyte``; hue is the exact rational 255 (2 c d + x) / (6 d), wrapped into
    [0, 255), rounded half to even, -1 exactly on a half (checked against the
    float64 arithmetic for all 2**24 colours in the tests)."""
    c = np.arange(3)[:, None, None]
    d = np.arange(256)[None, :, None]
    x = np.arange(-255, 256)[None, None, :]
    num = 2 * c * d + x
    num = np.where(num < 0, num + 6 * d, num)
    den = np.maximum(6 * d, 1)
    twice = 2 * 255 * num  # 2 * 255 * hue * den: a tie when it is an odd multiple of den
    q, rest = np.divmod(twice + den, 2 * den)  # round half up ...
    tie = rest == 0
    hue = np.where(tie, -1, np.minimum(q, 255)).astype(np.int16)
    hue[:, 0, :] = 0  # d = 0: gray, hue 0
    packed = np.zeros((3, 256 * 256), dtype=np.int16)
    for dd in range(256):
        packed[:, dd * dd : dd * dd + 2 * dd + 1] = hue[:, dd, 255 - dd : 256 + dd]
    f = np.arange(256, dtype=np.float64) * (1.0 / 255)
    mx, mn = np.meshgrid(f, f, indexing="ij")
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where(mx == mn, 0.0, (mx - mn) / mx)
    s8 = np.clip(np.rint(s * 255.0), 0, 255).astype(np.uint8)
    v8 = np.clip(np.rint(f * 255.0), 0, 255).astype(np.uint8)
    return packed.reshape(-1), s8.reshape(-1), v8, f


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


def sobel(images, mode, cval, out=None, axis=-1):
    work = float_dtype(images.dtype)
    if out is None:
        out = np.empty(images.shape[:3], dtype=work)
    norm = work.type(0.25) / np.sqrt(work.type(2.0)) if axis < 0 else work.type(0.25)
    rows = max(1, int(config.CPU_ROWS_PER_TASK))
    jobs = out.shape[0] * -(-out.shape[1] // rows)  # blocks of rows, as the kernel counts
    _tasks(K.sobel, jobs, *flat_rows(as_kernel_layout(images)), out,
           _coeffs(gray_calc_type(images.dtype)),
           _gray_scale(images), check_mode(mode), work.type(cval), norm, rows,
           None if axis < 0 else int(axis))
    return out


def gradient_histogram(images, orientations):
    src = as_kernel_layout(images)
    n, H = src.shape[:2]
    rows = max(1, int(config.CPU_ROWS_PER_TASK))
    nblk = (H + rows - 1) // rows
    sums = np.zeros((n, nblk, orientations), dtype=np.float64)
    _tasks(K.gradient_histogram, n * nblk, *flat_rows(src), sums,
           _coeffs(gray_calc_type(images.dtype)),
           _gray_scale(images), orientations, rows)
    out = sums.sum(axis=1)
    total = out.sum(axis=1, keepdims=True)
    np.divide(out, total, out=out, where=total > 0)
    return out.astype(np.float32)


def canny(images, sigma, low, high, use_quantiles, mode, cval, mask=None, out=None):
    src = as_kernel_layout(images)
    n, H, W = src.shape[:3]
    # the kernel writes every pixel (0/1 bytes) of the bool output through a uint8 view
    if out is None:
        out = np.empty((n, H, W), dtype=bool)
    lo, hi = canny_compare_values(low, high, use_quantiles)
    weights = ref.gaussian_weights(sigma)
    coeffs, scale = _coeffs(gray_calc_type(images.dtype)), _gray_scale(images)
    if mask is None:
        use_bleed = mode == "constant"
        btab = (bleed_rows(H, W, weights, float(cval)) if use_bleed
                else np.empty((1, W), np.float32))[None]
        emask = None
    else:
        # the gray image zeroed outside the mask (as scikit-image's masked_image),
        # then read by the kernel as a float32 gray batch
        gray = rgb_to_gray(images, np.dtype(np.float32))
        np.copyto(gray, np.float32(0), where=~mask)
        src = gray[..., None]
        coeffs, scale = _coeffs(np.float32), np.float32(1.0)
        use_bleed = True
        btab = ref.mask_bleed_over(mask, sigma, mode, cval)
        emask = erode_mask(mask, np).view(np.uint8)
    # None, not a flag: the kernel compiles the quantile and mask code only for calls
    # that use them
    quantiles = np.array([low, high], dtype=np.float64) if use_quantiles else None
    # one worker per thread (at most one per image), each claiming images in turn
    run_workers(
        K.canny_worker, min(n, numba.get_num_threads()),
        *flat_rows(src), out.view(np.uint8), coeffs, scale,
        weights, check_mode(mode), float(cval), btab, use_bleed, np.full(n, lo),
        np.full(n, hi), quantiles, np.zeros(1, np.int64), emask,
    )
    return out


def bleed_rows(H: int, W: int, weights: np.ndarray, cval: float) -> np.ndarray:
    """(D, W) float32: the distinct rows of scikit-image's constant-mode bleed-over
    image, Gaussian(ones, mode="constant", cval) + float32 eps, of an H x W image.

    Row i of it depends only on d = min(i, H - 1 - i, r) (r the radius of
    ``weights``), so only D = min(r, (H - 1) // 2) + 1 rows are computed. The sums
    are scipy's, in its order (w[r] x + sum_k w[r + k] (x[+k] + x[-k]), outer taps
    first, float64, rounded to float32 after each pass) and elementwise NumPy
    keeps each operation's IEEE rounding, so the rows are bit-identical to the full
    smoothing (tested). Plain NumPy on a few rows: a Numba kernel cost ~1 s of
    compilation on ``canny``'s first call for microseconds of work.
    """
    r = (len(weights) - 1) // 2
    w = [float(v) for v in weights]
    c = float(cval)
    j = np.arange(W)
    table = np.empty((min(r, (H - 1) // 2) + 1, W), dtype=np.float32)
    for d in range(table.shape[0]):
        # vertical pass at row d of a column of ones (rows < 0 or >= H read cval)
        acc = w[r] * 1.0
        for k in range(r, 0, -1):
            acc += w[r + k] * ((1.0 if d + k < H else c) + (1.0 if d - k >= 0 else c))
        a = float(np.float32(acc))
        # horizontal pass of a row of a's (columns < 0 or >= W read cval)
        row = np.full(W, w[r] * a)
        for k in range(r, 0, -1):
            row += w[r + k] * (np.where(j + k < W, a, c) + np.where(j - k >= 0, a, c))
        table[d] = row.astype(np.float32) + np.finfo(np.float32).eps
    return table


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


# --- texture descriptors: HOG, LBP, GLCM (issue 18) --------------------------------------


def _texture_kernels():
    """mmfeat.kernels.image_texture, imported on first use (its compile cache loads then)."""
    from ..kernels import image_texture

    return image_texture


@functools.lru_cache(maxsize=1)
def hog_hypot_table() -> np.ndarray:
    """(256, 256) float64: NumPy's ``np.hypot`` of the integer gradients of uint8
    images (|g| <= 255), which decides exact ties between colour channels."""
    g = np.arange(256, dtype=np.float64)
    return np.hypot(g[:, None], g[None, :])


_NO_TABLE = np.zeros((0, 0), dtype=np.float64)


def hog_fix_channels(src, chan, transform_sqrt):
    """Fill the -1 entries of ``chan`` (float64 near-ties) with NumPy's own choice:
    ``argmax(np.hypot(g_row, g_col))`` over the channels of those pixels."""
    n_i, y_i, x_i = np.nonzero(chan < 0)
    if n_i.size == 0:
        return
    H, W = src.shape[1:3]

    def val(yy, xx):
        v = src[n_i, np.clip(yy, 0, H - 1), np.clip(xx, 0, W - 1)].astype(np.float64)
        return np.sqrt(v) if transform_sqrt else v

    row_ok = ((y_i > 0) & (y_i < H - 1))[:, None]
    col_ok = ((x_i > 0) & (x_i < W - 1))[:, None]
    g_row = np.where(row_ok, val(y_i + 1, x_i) - val(y_i - 1, x_i), 0.0)
    g_col = np.where(col_ok, val(y_i, x_i + 1) - val(y_i, x_i - 1), 0.0)
    chan[n_i, y_i, x_i] = np.hypot(g_row, g_col).argmax(axis=1)


def defer_bins(src, transform_sqrt) -> bool:
    """Whether near-edge orientation bins go to NumPy's arctan2 (float gradients):
    integer-valued input keeps integer gradients, where C's atan2 bins as NumPy's."""
    if transform_sqrt or src.dtype == np.float32:
        return True
    if src.dtype == np.uint8:
        return False
    return not bool(np.all(np.floor(src) == src))


def hog_add_deferred(src, hist, chan, deferred, n_deferred, pixels_per_cell, sq, work):
    """Add the pixels ``hog_cells`` deferred to ``hist`` (float32 totals), binned by
    ``np.arctan2`` exactly as scikit-image bins them. They are added after the
    others (one float32 rounding per cell and bin), which moves a total by at most
    an ulp or two of float32 from scikit-image's sequential sum."""
    jobs = np.nonzero(n_deferred)[0]
    if jobs.size == 0:
        return
    ncr, ncc, n_or = hist.shape[1:]
    c_row, c_col = pixels_per_cell
    Wc = ncc * c_col
    flat = np.concatenate([deferred[j, : n_deferred[j]] for j in jobs])
    n_i = np.repeat(jobs // ncr, n_deferred[jobs])
    y_i, x_i = flat // Wc, flat % Wc
    H, W = src.shape[1:3]
    ch = chan[n_i, y_i, x_i] if chan.shape[0] else np.zeros(n_i.size, dtype=np.int64)

    def val(yy, xx):
        v = src[n_i, np.clip(yy, 0, H - 1), np.clip(xx, 0, W - 1), ch].astype(work)
        return np.sqrt(v) if sq else v

    g_row = np.where((y_i > 0) & (y_i < H - 1), val(y_i + 1, x_i) - val(y_i - 1, x_i), 0)
    g_col = np.where((x_i > 0) & (x_i < W - 1), val(y_i, x_i + 1) - val(y_i, x_i - 1), 0)
    g_row = g_row.astype(work).astype(np.float64)
    g_col = g_col.astype(work).astype(np.float64)
    ori = np.rad2deg(np.arctan2(g_row, g_col)) % 180
    per = 180.0 / n_or
    k = np.minimum((ori / per).astype(np.int64), n_or - 1)
    k = np.where(ori < per * k, k - 1, np.where(ori >= per * (k + 1), k + 1, k))
    ok = (k >= 0) & (k < n_or) & (ori >= per * k) & (ori < per * (k + 1))
    extra = np.zeros(hist.shape, dtype=np.float64)
    np.add.at(extra, (n_i[ok], y_i[ok] // c_row, x_i[ok] // c_col, k[ok]),
              np.sqrt(g_row * g_row + g_col * g_col)[ok])
    hist[...] = (hist.astype(np.float64) + extra).astype(np.float32)


def hog(src, orientations, pixels_per_cell, cells_per_block, block_norm, transform_sqrt, work):
    KT = _texture_kernels()
    n, H, W, C = src.shape
    c_row, c_col = pixels_per_cell
    b_row, b_col = cells_per_block
    ncr, ncc = H // c_row, W // c_col
    f32 = bool(work == np.float32)
    sq = bool(transform_sqrt)
    if C > 1:  # the channel each pixel votes with, then the cells
        chan = np.empty((n, ncr * c_row, ncc * c_col), dtype=np.int8)
        hyp = hog_hypot_table() if (src.dtype == np.uint8 and not sq) else _NO_TABLE
        _rows(KT.hog_channels, n * chan.shape[1], src, sq, f32, hyp, chan)
        hog_fix_channels(src, chan, sq)
    else:
        chan = np.zeros((0, 0, 0), dtype=np.int8)
    hist = np.zeros((n, ncr, ncc, orientations), dtype=np.float32)
    Wc = ncc * c_col
    # untouched pages of this buffer are never faulted in: a few pixels per job use it
    deferred = np.empty((n * ncr, c_row * Wc), dtype=np.int32)
    n_deferred = np.zeros(n * ncr, dtype=np.int64)
    _tasks(KT.hog_cells, n * ncr, src, hist, c_row, c_col, sq, f32, chan, defer_bins(src, sq),
           deferred, n_deferred)
    hog_add_deferred(src, hist, chan, deferred, n_deferred, pixels_per_cell, sq, work)
    hist /= np.float32(c_row * c_col)
    out = np.empty((n, ncr - b_row + 1, ncc - b_col + 1, b_row, b_col, orientations),
                   dtype=work)
    _tasks(KT.hog_blocks, n * out.shape[1], hist.reshape(n, ncr, ncc * orientations),
           out.reshape(n, out.shape[1], out.shape[2], -1), b_row, b_col, orientations,
           ref.HOG_NORMS.index(block_norm), ref.HOG_EPS)
    return out


@functools.lru_cache(maxsize=64)
def lbp_tables(P, R, H, W):
    """Corner offsets and bilinear weights of the LBP circle, as scikit-image rounds them.

    Returns r_lo, r_hi, c_lo, c_hi (P,) int64 and dr (P, H), dc (P, W) float64, with
    ``dr[i, y] = (y + rp[i]) - floor(y + rp[i])`` in float64 as the Cython code
    computes it. The corners of pixel (y, x) are rows y + r_lo[i], y + r_hi[i] and
    columns x + c_lo[i], x + c_hi[i]: floor(y + rp) = y + floor(rp) because rp has
    5 decimals, far from the last bit of y + rp (asserted here).
    """
    rp, cp = ref.lbp_points(P, R)

    def axis(off, size):
        pos = np.arange(size)[None, :] + off[:, None]
        lo, hi = np.floor(pos), np.ceil(pos)
        d = pos - lo
        lo_off = np.floor(off).astype(np.int64)
        hi_off = np.ceil(off).astype(np.int64)
        assert np.array_equal(lo - np.arange(size), np.broadcast_to(lo_off[:, None], lo.shape))
        assert np.array_equal(hi - np.arange(size), np.broadcast_to(hi_off[:, None], hi.shape))
        return lo_off, hi_off, np.ascontiguousarray(d)

    r_lo, r_hi, dr = axis(rp, H)
    c_lo, c_hi, dc = axis(cp, W)
    return r_lo, r_hi, c_lo, c_hi, dr, dc


_LBP_CODES = {"default": 0, "ror": 1, "uniform": 2, "nri_uniform": 3, "var": 4}


@functools.lru_cache(maxsize=64)
def _lbp_one_minus_dc(P, R, W):
    """(P, W) float64 ``1 - dc`` of :func:`lbp_tables` (the same double as in the
    interpolation: IEEE subtraction is exact-rounded either way)."""
    return np.ascontiguousarray(1.0 - lbp_tables(P, R, 1, W)[5])


def _lbp_run(images, P, R, method, out, counts, rows):
    KT = _texture_kernels()
    n, H, W = images.shape
    r_lo, r_hi, c_lo, c_hi, dr, dc = lbp_tables(P, R, H, W)
    nblk = -(-H // rows)
    _tasks(KT.lbp_rows, n * nblk, images, P, _LBP_CODES[method], r_lo, r_hi, c_lo, c_hi, dr, dc,
           _lbp_one_minus_dc(P, R, W), rows, lbp_value_table(P, method), out, counts)


_EMPTY_TABLE = np.zeros(0, dtype=np.int64)


@functools.lru_cache(maxsize=32)
def lbp_value_table(P, method):
    """(2**P,) int64 LBP value of every code for 'ror' with P <= 16 (a look-up per
    pixel instead of a loop over the rotations); empty otherwise (the kernel builds
    default, uniform and nri_uniform values from bit counts, 'var' has none)."""
    if P > 16 or method != "ror":
        return _EMPTY_TABLE
    codes = np.arange(2**P, dtype=np.int64)
    best = codes.copy()
    v = codes.copy()
    for _ in range(1, P):  # the smallest right rotation, as texture_math.lbp_value
        v = (v >> 1) | ((v & 1) << (P - 1))
        np.minimum(best, v, out=best)
    return best


def _lbp_rows_per_task():
    return max(1, int(config.CPU_ROWS_PER_TASK))


def local_binary_pattern(images, P, R, method):
    out = np.empty(images.shape, dtype=np.float64)
    _lbp_run(images, P, R, method, out, np.zeros((0, 0, 0), np.int64), _lbp_rows_per_task())
    return out


def lbp_histogram(images, P, R, method, normalize):
    n, H, _ = images.shape
    rows = _lbp_rows_per_task()
    counts = np.zeros((n, -(-H // rows), ref.lbp_n_bins(P, method)), dtype=np.int64)
    _lbp_run(images, P, R, method, np.empty((0, 0, 0)), counts, rows)
    counts = counts.sum(axis=1)
    if not normalize:
        return counts
    return counts / np.float64(images.shape[1] * images.shape[2])


#: count tables up to this size get a second one for the odd columns (two stay in L1)
_GLCM_SPLIT_BYTES = 16 << 10


def graycomatrix(images, offsets, n_dist, n_angle, levels, symmetric, normed):
    KT = _texture_kernels()
    n = images.shape[0]
    K = n_dist * n_angle
    # counts, transposition and (for normed) division in one kernel: one pass over P
    P = np.empty((n, levels * levels * K), dtype=np.float64 if normed else np.uint32)
    counts = np.zeros((0, 0), np.uint32) if normed else P
    fractions = P if normed else np.zeros((0, 0), np.float64)
    _tasks(KT.glcm_counts, n, images, offsets, levels, bool(symmetric),
           levels * levels * K * 4 <= _GLCM_SPLIT_BYTES, counts, fractions)
    return P.reshape(n, levels, levels, n_dist, n_angle)


@functools.lru_cache(maxsize=16)
def glcm_weights(levels, prop):
    """(w, wi, wj) (levels**2,) float64 over (i, j) in C order: the property's weights
    as scikit-image builds them, and i, j."""
    I, J = np.ogrid[0:levels, 0:levels]  # noqa: E741
    wi = np.broadcast_to(I, (levels, levels)).astype(np.float64).ravel()
    wj = np.broadcast_to(J, (levels, levels)).astype(np.float64).ravel()
    if prop == "contrast":
        w = (I - J) ** 2
    elif prop == "dissimilarity":
        w = np.abs(I - J)
    elif prop == "homogeneity":
        w = 1.0 / (1.0 + (I - J) ** 2)
    elif prop == "mean":
        w = np.broadcast_to(I, (levels, levels))
    else:
        w = np.zeros((levels, levels))
    return np.ascontiguousarray(w, dtype=np.float64).ravel(), wi, wj


GLCM_MODES = {"contrast": 0, "dissimilarity": 0, "homogeneity": 0, "mean": 0, "ASM": 1,
              "energy": 1, "variance": 2, "std": 2, "entropy": 3, "correlation": 4}


#: below this many matrix entries graycoprops runs on the calling thread: waking a
#: worker costs more than the pass (and waits on a busy core)
_GLCM_SERIAL_ENTRIES = 1 << 20


def _glcm_props_run(kernel, P, *args):
    n = P.shape[0]
    if P.size <= _GLCM_SERIAL_ENTRIES:
        kernel(0, n, P, *args)
    else:
        _tasks(kernel, n, P, *args)


def graycoprops(P, prop):
    """One kernel call: a pass per image for the marginals (row and column sums, the
    weighted sum or the sum of squares), then in the same job the property as
    scikit-image defines it on p = P / S: means, variances and covariance from the
    marginals, cov = sum_i (i - mean_i)(sum_j p_ij j - mean_j R_i), which is
    sum_ij p (i - mean_i)(j - mean_j) regrouped. Equal to scikit-image's sums within
    a few ulps."""
    KT = _texture_kernels()
    n, L, _, nd, na = P.shape
    K = nd * na
    flat = P.reshape(n, L, L * K)
    if prop == "entropy":
        out = np.empty((n, K), dtype=np.float64)
        _glcm_props_run(KT.glcm_entropy, flat, out)
        return out.reshape(n, nd, na)
    w, _, wj = glcm_weights(L, prop)
    mode = GLCM_MODES[prop]
    out = np.empty((n, K), dtype=np.float64)
    # correlation weighs p by j: A_i = T_i = sum_j p_ij j
    _glcm_props_run(KT.glcm_props, flat, mode, wj if mode == 4 else w, out)
    if prop in ("energy", "std"):
        out = np.sqrt(out)
    return np.ascontiguousarray(out).reshape(n, nd, na)
