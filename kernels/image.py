"""Numba CPU kernels for the image ops (``@njit(nogil=True, cache=True)`` over job ranges).

Layout contract (the public layer guarantees it, kernels trust it):

* ``src`` is C-contiguous ``(N, H, W, C)`` with C = 3 (RGB) or 1 (gray), dtype
  uint8, uint16, float32 or float64; ``scale`` (work float type) maps a stored
  value to [0, 1] (1/255 for uint8, 1 for floats) and fixes the arithmetic type.
* outputs are preallocated by the caller.
* ``mode`` is one of the ``MODE_*`` codes of :mod:`image_math`.

The per-element arithmetic lives in :mod:`image_math` and is shared with the
CUDA kernels.
"""

import math
import sys

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

from . import _threading
from . import image_math as _m
from . import order_math as _om

# TBB (fork- and thread-safe) before any parallel kernel launches; see _threading
_threading.ensure_safe_layer()

_jit = dict(cache=True, error_model="numpy", fastmath=False)
# kernels over a range [j0, j1) of their jobs (image rows, row blocks or pixel
# ranges), GIL released: mmfeat._workers.parallel_for runs ranges on threads. A
# parallel=True prange cost 1-2 s more compilation per kernel for the same speed.
_pjit = dict(nogil=True, **_jit)
# helpers called only from other kernels: no CPython or C-callable wrapper to
# build, optimise and emit for each (Python never calls them)
_hjit = dict(no_cpython_wrapper=True, no_cfunc_wrapper=True, **_jit)
_inline = numba.njit(inline="always", **_jit)

boundary_index = _inline(_m.boundary_index)
gray_value = _inline(_m.gray_value)
hsv_value = _inline(_m.hsv_value)
to_ubyte = _inline(_m.to_ubyte)
bin_index = _inline(_m.bin_index)
orientation_bin = _inline(_m.orientation_bin)
orientation_bin_estimate = _inline(_m.orientation_bin_estimate)

MODE_CONSTANT = _m.MODE_CONSTANT
# offsets passed as int64, not literals: a literal argument compiles its own variant
_ZERO = np.int64(0)
_ONE = np.int64(1)


# --- colour conversion ------------------------------------------------------


@numba.njit(**_hjit)
def _gray_row(rows, C, n, i, coeffs, scale, dst, off):
    """dst[off:off+W] = gray of row i of image n; ``rows`` (N, H, W * C) is the image
    batch with each row flat (C = 3 or 1 channels interleaved).

    Flat rows because with the 4-D index src[n, i, j, c], whose strides the
    compiler does not know, the loop ran 1.3-1.9x slower (same arithmetic, so the
    same values); the callers reshape on the Python side, where it is free (a
    reshape in the kernel cost ~0.3 s of compilation on the first call).
    """
    W = rows.shape[2] // C
    d = dst[off : off + W]
    s = rows[n, i]
    if C == 3:
        _gray_rgb_row(s, d, coeffs, scale)
    else:
        for j in range(W):
            d[j] = s[j] * scale


def _gray_rgb_row(s, d, coeffs, scale):
    """d (W,) = gray of the interleaved RGB row ``s`` (3W,), as :func:`gray_value` with
    ``coeffs`` and ``scale``; jitted code only (see the overload below)."""
    raise NotImplementedError("called from jitted code only")


@overload(_gray_rgb_row, jit_options=dict(error_model="numpy"))
def _gray_rgb_row_impl(s, d, coeffs, scale):
    # chosen by type when the caller compiles: only the chosen loop is compiled
    if s.dtype == types.uint8 and s.layout == "C" and d.dtype == types.float32:
        def fast(s, d, coeffs, scale):
            _gray_u8_row_f32(s, d, coeffs, scale)
        return fast

    def generic(s, d, coeffs, scale):
        _gray_rgb_row_generic(s, d, coeffs, scale)
    return generic


@numba.njit(**_hjit)
def _gray_rgb_row_generic(s, d, coeffs, scale):
    cr = coeffs[0]
    cg = coeffs[1]
    cb = coeffs[2]
    for j in range(d.shape[0]):
        d[j] = gray_value(s[3 * j] * scale, s[3 * j + 1] * scale, s[3 * j + 2] * scale,
                          cr, cg, cb)


# 1 / (255 * 10000): float32(n * _GRAY_U8_F64_SCALE) is float32(rgb2gray) (_gray_u8_row_f32)
_GRAY_U8_F64_SCALE = 1.0 / 2550000.0


@numba.njit(**_hjit)
def _gray_u8_row_f32(s, d, coeffs, scale):
    """d (W,) float32 = float32(rgb2gray) of the interleaved uint8 RGB row ``s``, for the
    standard weights and scale 1/255 (what every caller passes for uint8 images).

    scikit-image's float64 gray of uint8 (r, g, b) is within a few float64 ulps of
    n / 2550000, n = 2125 r + 7154 g + 721 b; that rational is never closer than
    2**-24 / 2550000 (relative, ~2e-14) to a float32 rounding midpoint (its
    denominator is 2**4 * 159375), so float32 of the float64 product n * (1 /
    2550000) (within 2 ulps) rounds as float32 of scikit-image's value does (checked
    for all 2**24 colours in the tests). n comes from three words per four pixels
    (:func:`_gray_u8_sums`): ~1.7 cycles a pixel against ~2.3 for the float64 weighted
    sum. The last W % 4 pixels take the float64 sum."""
    W = d.shape[0]
    G = W // 4
    for k in range(G):
        n0, n1, n2, n3 = _gray_u8_sums(s, k)
        d[4 * k] = np.float32(np.float64(n0) * _GRAY_U8_F64_SCALE)
        d[4 * k + 1] = np.float32(np.float64(n1) * _GRAY_U8_F64_SCALE)
        d[4 * k + 2] = np.float32(np.float64(n2) * _GRAY_U8_F64_SCALE)
        d[4 * k + 3] = np.float32(np.float64(n3) * _GRAY_U8_F64_SCALE)
    for j in range(4 * G, W):
        d[j] = gray_value(s[3 * j] * scale, s[3 * j + 1] * scale, s[3 * j + 2] * scale,
                          coeffs[0], coeffs[1], coeffs[2])


@numba.njit(**_pjit)
def rgb_to_gray(j0, j1, rows, C, out, coeffs, scale):
    """out (N, H, W) = gray of the images ``rows`` (N, H, W * C) (see :func:`_gray_row`)."""
    H = out.shape[1]
    for t in range(j0, j1):
        n = t // H
        i = t - n * H
        _gray_row(rows, C, n, i, coeffs, scale, out[n, i], _ZERO)


@numba.njit(**_pjit)
def rgb_to_gray_u8(j0, j1, src, out, coeffs, scale, full):
    """out (N, H, W) uint8 = ``img_as_ubyte`` of the gray of src (N, H, W, C): the gray
    value in the arithmetic type, times ``full`` (255 in that type), rounded."""
    H, W = out.shape[1], out.shape[2]
    cr = coeffs[0]
    cg = coeffs[1]
    cb = coeffs[2]
    rgb = src.shape[3] == 3
    for t in range(j0, j1):
        n = t // H
        i = t - n * H
        o = out[n, i]
        # the 4-D index, not _gray_row's flat rows: as fast here, and the reshape
        # costs ~0.3 s of compilation on the first call
        if rgb:
            for j in range(W):
                g = gray_value(src[n, i, j, 0] * scale, src[n, i, j, 1] * scale,
                               src[n, i, j, 2] * scale, cr, cg, cb)
                o[j] = to_ubyte(g * full)
        else:
            for j in range(W):
                o[j] = to_ubyte(src[n, i, j, 0] * scale * full)


@numba.njit(inline="always", **_jit)
def _hue_key(r, g, b):
    """(key, max, min) of one uint8 RGB pixel (int32 channels): ``key`` indexes the
    packed hue tables (:func:`mmfeat.image._cpu.hue_table` and
    ``hsv_u8_conversion_tables``) at ``c * 65536 + d * d + x + d`` for the max
    channel c (blue wins ties over green, green over red, as scikit-image), d =
    max - min and x the difference of the other two. Branch-free selects: the
    max channel is random per pixel."""
    mx = max(r, max(g, b))
    mn = min(r, min(g, b))
    is_b = b == mx
    is_g = (g == mx) & (not is_b)
    c = 2 * np.int32(is_b) + np.int32(is_g)
    x = (r - g) if is_b else ((b - r) if is_g else (g - b))
    d = mx - mn
    return np.uint32(c * 65536 + d * d + (x + d)), mx, mn


# rgb2gray's weights as integers over 10000: 255 * gray of uint8 (r, g, b) is
# exactly (2125 r + 7154 g + 721 b) / 10000
GRAY_U8_WEIGHTS = (2125, 7154, 721)


# the float32 nearest to 1e-4 from above: (n + 5000) times it truncates to
# round(n / 10000) with halves up, exact multiples of 10000 included (see below)
_INV_10K = np.float32(1e-4)
if float(_INV_10K) < 1e-4:
    _INV_10K = np.nextafter(_INV_10K, np.float32(1.0))


# bit offsets of the bytes k = 0..3 of a uint32 word read from memory
_BYTE_SHIFT = tuple(np.uint32(8 * k if sys.byteorder == "little" else 24 - 8 * k)
                    for k in range(4))
_BYTE = np.uint32(255)


def _word_pointer(context, builder, arr_type, arr, offset, bits):
    """An i<bits>* to byte ``offset`` of the C-contiguous 1-D uint8 array ``arr``."""
    ary = context.make_array(arr_type)(context, builder, arr)
    return builder.bitcast(builder.gep(ary.data, [offset]), ir.IntType(bits).as_pointer())


def _is_byte_row(arr, offset):
    return (isinstance(arr, types.Array) and arr.dtype == types.uint8 and arr.ndim == 1
            and arr.layout == "C" and isinstance(offset, types.Integer))


@intrinsic
def _load_u32(typingctx, arr, offset):
    """The uint32 in bytes offset .. offset + 3 of a C-contiguous uint8 row (native byte
    order, any alignment; no bounds check). ``arr[a:b].view(np.uint32)`` does the same
    but cost ~0.5 s of compilation at the first call; this is one load instruction."""
    if not _is_byte_row(arr, offset):
        return None

    def codegen(context, builder, sig, args):
        ptr = _word_pointer(context, builder, sig.args[0], args[0], args[1], 32)
        return builder.load(ptr, align=1)

    return types.uint32(arr, offset), codegen


@intrinsic
def _store_u32(typingctx, arr, offset, value):
    """Bytes offset .. offset + 3 of a C-contiguous uint8 row = the low 32 bits of the
    integer ``value`` (Numba widens uint32 arithmetic to 64 bits)."""
    if not (_is_byte_row(arr, offset) and isinstance(value, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        ptr = _word_pointer(context, builder, sig.args[0], args[0], args[1], 32)
        word = args[2]
        if word.type.width > 32:
            word = builder.trunc(word, ir.IntType(32))
        builder.store(word, ptr, align=1)
        return context.get_dummy_value()

    return types.none(arr, offset, value), codegen


# FMA contraction changes nothing here (every product and sum is an exact integer
# below 2**24) and saves three adds per pixel; the flag is per instruction, so the
# callers' float64 arithmetic stays uncontracted after inlining
@numba.njit(forceinline=True, **{**_hjit, "fastmath": {"contract"}})
def _gray_u8_sums(s, k):
    """(n0, n1, n2, n3) float32: n = 2125 r + 7154 g + 721 b (exact, < 2**22) of the four
    pixels 4k .. 4k + 3 of the interleaved uint8 RGB row ``s``.

    The 12 bytes are read as three uint32 words and split by shifts and masks:
    with byte loads at stride 3 the vectoriser spent ~60 byte shuffles per 32
    pixels on the de-interleave (the shuffle ports bounded the loop at ~1.7 cycles
    a pixel); on words LLVM sees the exact integer sums and forms them with
    ``vpmaddwd``. (The arithmetic is written out here: helpers for the bytes of a
    word cost 0.15-0.5 s more compilation each.)
    """
    w0 = _load_u32(s, 12 * k)
    w1 = _load_u32(s, 12 * k + 4)
    w2 = _load_u32(s, 12 * k + 8)
    s0, s1, s2, s3 = _BYTE_SHIFT
    wr = np.float32(GRAY_U8_WEIGHTS[0])
    wg = np.float32(GRAY_U8_WEIGHTS[1])
    wb = np.float32(GRAY_U8_WEIGHTS[2])
    # byte i of the group is byte i % 4 of word i // 4
    n0 = (wr * np.float32(np.int32((w0 >> s0) & _BYTE))
          + wg * np.float32(np.int32((w0 >> s1) & _BYTE))
          + wb * np.float32(np.int32((w0 >> s2) & _BYTE)))
    n1 = (wr * np.float32(np.int32((w0 >> s3) & _BYTE))
          + wg * np.float32(np.int32((w1 >> s0) & _BYTE))
          + wb * np.float32(np.int32((w1 >> s1) & _BYTE)))
    n2 = (wr * np.float32(np.int32((w1 >> s2) & _BYTE))
          + wg * np.float32(np.int32((w1 >> s3) & _BYTE))
          + wb * np.float32(np.int32((w2 >> s0) & _BYTE)))
    n3 = (wr * np.float32(np.int32((w2 >> s1) & _BYTE))
          + wg * np.float32(np.int32((w2 >> s2) & _BYTE))
          + wb * np.float32(np.int32((w2 >> s3) & _BYTE)))
    return n0, n1, n2, n3


@numba.njit(forceinline=True, **{**_hjit, "fastmath": {"contract"}})
def _gray_u8_group(s, k):
    """(word, tie) for the four pixels 4k .. 4k + 3 of the interleaved uint8 RGB row
    ``s``: their rounded 255 * gray packed in a uint32 (in memory order), and whether
    any of them sits exactly on a rounding tie.

    The numerator n (:func:`_gray_u8_sums`) and n + 5000 are exact in float32.
    ``_INV_10K`` is at most 5e-8 relative above 1e-4, so (n + 5000) times it,
    rounded, is never below the true quotient's integer part k when n + 5000 =
    10000 k, and off a multiple it stays below k + 1 (the quotient is at most
    k + 0.9999, the errors ~3e-5): its truncation is round(n / 10000), halves up,
    as scikit-image's float64 arithmetic rounds it off a tie (checked over all
    2**24 colours in the tests). A tie (n = 5000 mod 10000) is rounded by float64
    error in scikit-image, so it is flagged, not guessed. On words the loop runs
    ~1.1 cycles a pixel.
    """
    half = np.float32(5000.0)
    n0, n1, n2, n3 = _gray_u8_sums(s, k)
    n0 = n0 + half
    n1 = n1 + half
    n2 = n2 + half
    n3 = n3 + half
    s0, s1, s2, s3 = _BYTE_SHIFT
    inv = _INV_10K
    q0 = np.int32(n0 * inv)
    q1 = np.int32(n1 * inv)
    q2 = np.int32(n2 * inv)
    q3 = np.int32(n3 * inv)
    ten_k = np.float32(10000.0)
    tie = ((n0 == np.float32(q0) * ten_k) | (n1 == np.float32(q1) * ten_k)
           | (n2 == np.float32(q2) * ten_k) | (n3 == np.float32(q3) * ten_k))
    word = ((np.uint32(q0) << s0) | (np.uint32(q1) << s1)
            | (np.uint32(q2) << s2) | (np.uint32(q3) << s3))
    return word, tie


@numba.njit(**_hjit)
def _gray_u8_row_fast(s, o, G):
    """o[:4G] = rounded 255 * gray of the first 4G pixels of the interleaved uint8 RGB
    row ``s`` (see :func:`_gray_u8_group`); True when one of them sits on a rounding
    tie (the caller then redoes its group). Only a row-wide flag is kept here:
    storing a flag per group cost ~10% on two threads."""
    tie = False
    for k in range(G):
        word, t = _gray_u8_group(s, k)
        _store_u32(o, 4 * k, word)
        tie |= t
    return tie


# no contraction here: the float64 redo must round as scikit-image does
@numba.njit(**_hjit)
def _gray_u8_redo(s, o, W, tie, flags, coeffs, scale, full):
    """Redo with scikit-image's float64 arithmetic, as :func:`rgb_to_gray_u8` (exact
    for every pixel), the pixels of the uint8 RGB row ``s`` that the fast loop leaves:
    with ``tie``, its groups of four holding a rounding tie; always, the last W % 4.
    Ties are ~1 pixel in 10,000, in ~7% of a noisy photograph's rows; re-testing
    every pixel of those rows (~11 cycles a pixel, branchy) took a third of the
    kernel's time, so the groups holding one are found first, vectorised
    (``flags``: (>= W // 4 + 1,) uint8 scratch)."""
    G = W // 4
    first = G  # without a tie, only the tail
    if tie:
        for k in range(G):
            _word, t = _gray_u8_group(s, k)
            flags[k] = np.uint8(t)
        first = 0
    flags[G] = 1  # the tail (empty when W % 4 == 0)
    for k in range(first, G + 1):
        if flags[k]:
            for j in range(4 * k, min(4 * k + 4, W)):
                v = gray_value(s[3 * j] * scale, s[3 * j + 1] * scale, s[3 * j + 2] * scale,
                               coeffs[0], coeffs[1], coeffs[2])
                o[j] = to_ubyte(v * full)


@numba.njit(**_pjit)
def rgb_to_gray_u8_from_u8(j0, j1, src, out, coeffs, scale, full):
    """out (N, H, W) uint8 = ``img_as_ubyte(rgb2gray(src))`` for uint8 RGB src: groups
    of four pixels by :func:`_gray_u8_row_fast`, those holding a rounding tie (in ~7%
    of a noisy photograph's rows) and the last W % 4 pixels of each row by
    :func:`_gray_u8_redo` (same ``coeffs``, ``scale``, ``full``)."""
    H, W = out.shape[1], out.shape[2]
    flat = src.reshape(src.shape[0], H, W * 3)
    flags = np.empty(W // 4 + 1, dtype=np.uint8)
    for t in range(j0, j1):
        n = t // H
        i = t - n * H
        tie = _gray_u8_row_fast(flat[n, i], out[n, i], W // 4)
        if tie or W % 4:
            _gray_u8_redo(flat[n, i], out[n, i], W, tie, flags, coeffs, scale, full)


@numba.njit(**_pjit)
def rgb_to_hsv_u8(j0, j1, src, out, scale, one, full):
    """out (N, H, W, 3) uint8 = ``img_as_ubyte`` of the HSV of src (each channel in
    [0, 1] times ``full``, rounded)."""
    H, W = out.shape[1], out.shape[2]
    for t in range(j0, j1):
        n = t // H
        i = t - n * H
        x = src[n, i].reshape(3 * W)  # flat rows: see _gray_row
        o = out[n, i].reshape(3 * W)
        for j in range(W):
            h, s, v = hsv_value(x[3 * j] * scale, x[3 * j + 1] * scale, x[3 * j + 2] * scale,
                                one)
            o[3 * j] = to_ubyte(h * full)
            o[3 * j + 1] = to_ubyte(s * full)
            o[3 * j + 2] = to_ubyte(v * full)


@numba.njit(**_pjit)
def rgb_to_hsv_u8_from_u8(j0, j1, src, out, hue_lut, s_lut, v_lut, fvals):
    """out (N, H, W, 3) uint8 = ``img_as_ubyte(rgb2hsv(src))`` for uint8 RGB src by
    exact tables: V = v_lut[max], S = s_lut[max * 256 + min] (both
    functions of (max, min) alone, built with scikit-image's float64 operations),
    H = hue_lut[c * 65536 + d * d + x + d] for the max channel c, d = max - min and
    x the difference of the other two: 255 * hue is the rational
    255 (2 c d + x) / (6 d), so its rounding is exact off a tie; on a tie (-1 in the
    table) the pixel repeats scikit-image's float64 arithmetic (fvals[v] = v / 255).
    Blocks of :data:`HSV_U8_BLOCK` pixels in two phases, as the uint8 HSV histogram:
    the keys (vectorised), then the look-ups.
    """
    H = out.shape[1]
    W = out.shape[2]
    flat_in = src.reshape(src.shape[0], H, W * 3)
    flat_out = out.reshape(out.shape[0], H, W * 3)
    keys = np.empty(HSV_U8_BLOCK, dtype=np.uint32)
    sv_keys = np.empty(HSV_U8_BLOCK, dtype=np.uint32)
    for t in range(j0, j1):
        n = t // H
        i = t - n * H
        for s0 in range(0, W, HSV_U8_BLOCK):
            m = min(HSV_U8_BLOCK, W - s0)
            row = flat_in[n, i, 3 * s0 : 3 * (s0 + m)]
            o = flat_out[n, i, 3 * s0 : 3 * (s0 + m)]
            _hsv_u8_keys(row, m, keys, sv_keys)
            for q in range(m):
                h = np.int32(hue_lut[keys[q]])
                if h < 0:
                    hh, _s, _v = hsv_value(fvals[row[3 * q]], fvals[row[3 * q + 1]],
                                           fvals[row[3 * q + 2]], np.float64(1.0))
                    h = to_ubyte(hh * np.float64(255.0))
                svk = sv_keys[q]
                o[3 * q] = np.uint8(h)
                o[3 * q + 1] = s_lut[svk]
                o[3 * q + 2] = v_lut[svk >> np.uint32(8)]


@numba.njit(**_pjit)
def rgb_to_hsv(j0, j1, src, out, scale, one):
    """out (N, H, W, 3) = HSV of src (N, H, W, 3); arithmetic in ``one``'s type."""
    H, W = out.shape[1], out.shape[2]
    for t in range(j0, j1):
        n = t // H
        i = t - n * H
        # the 4-D index, not flat rows as rgb_to_hsv_u8: as fast here (the branchy HSV
        # arithmetic bounds it), and the reshape costs ~0.3 s of compilation
        for j in range(W):
            h, s, v = hsv_value(
                src[n, i, j, 0] * scale, src[n, i, j, 1] * scale, src[n, i, j, 2] * scale, one
            )
            out[n, i, j, 0] = h
            out[n, i, j, 1] = s
            out[n, i, j, 2] = v


# --- histograms ---------------------------------------------------------------


@numba.njit(**_pjit)
def color_histogram_hsv(j0, j1, src, counts, nbins, edges, scale, one, pixels_per_task):
    """counts (N, T, B) += joint HSV histogram of each task's pixel range.

    ``nbins`` (3,) int64, ``edges`` (3, max(nbins) + 1) float64 (np.linspace),
    T tasks per image of ``pixels_per_task`` pixels; the caller sums over T.
    """
    N = src.shape[0]
    P = src.shape[1] * src.shape[2]
    T = counts.shape[1]
    flat = src.reshape(N, P, src.shape[3])
    b0, b1, b2 = nbins[0], nbins[1], nbins[2]
    for t in range(j0, j1):
        n = t // T
        k = t - n * T
        start = k * pixels_per_task
        stop = min(P, start + pixels_per_task)
        hist = counts[n, k]
        seg = flat[n, start:stop]  # loop from 0: no wraparound checks
        for p in range(stop - start):
            h, s, v = hsv_value(
                seg[p, 0] * scale, seg[p, 1] * scale, seg[p, 2] * scale, one
            )
            ih = bin_index(h, b0, edges, 0)
            is_ = bin_index(s, b1, edges, 1)
            iv = bin_index(v, b2, edges, 2)
            hist[(ih * b1 + is_) * b2 + iv] += 1


@numba.njit(**_pjit)
def color_histogram_hsv_u8(j0, j1, src, counts, nbins, edges, fvals, sv_lut, hue_lut,
                           pixels_per_task):
    """counts (N, T, B) += joint HSV histogram of uint8 RGB, exact and integer-only.

    S and V depend only on (max, min): ``sv_lut[max, min]`` = s_bin * b2 + v_bin,
    exact. Hue is (2 c d + x) / (6 d) for the max channel c, d = max - min and x
    the difference of the other two, so the packed ``hue_lut[c * 65536 + d * d + x + d]``
    holds its bin
    (d = 0 rows hold the bin of hue 0), or -1 where the hue falls exactly on a bin
    edge: only there does the rounding of scikit-image's float64 arithmetic decide
    the bin, and the kernel repeats that arithmetic. The channel choice is
    branch-free (random per pixel, so branches would mispredict); four
    interleaved sub-histograms break the store-to-load chains of runs of
    same-coloured pixels.
    """
    N = src.shape[0]
    P = src.shape[1] * src.shape[2]
    T = counts.shape[1]
    B = counts.shape[2]
    # flat 1-D views with non-negative indices: no wraparound checks in the loop
    flat = src.reshape(N, P * 3)
    hue_flat = hue_lut.reshape(-1)
    sv_flat = sv_lut.reshape(-1)
    b0 = nbins[0]
    sv_cells = nbins[1] * nbins[2]
    for t in range(j0, j1):
        n = t // T
        k = t - n * T
        start = k * pixels_per_task
        stop = min(P, start + pixels_per_task)
        sub = np.zeros(4 * B, dtype=np.int32)  # cell c, lane l at 4 * c + l
        _hsv_u8_count(flat[n], start, stop, hue_flat, sv_flat, sv_cells, fvals, b0, edges, sub)
        hist = counts[n, k]
        for q in range(B):
            hist[q] += (sub[4 * q] + sub[4 * q + 1]) + (sub[4 * q + 2] + sub[4 * q + 3])


# pixels per block of the two-phase uint8 HSV loops: their keys stay in L1
HSV_U8_BLOCK = 256


@numba.njit(**_hjit)
def _hsv_u8_keys(seg, m, keys, sv_keys):
    """keys[:m], sv_keys[:m] = packed hue-table key and ``max * 256 + min`` of the
    first m interleaved uint8 RGB pixels of ``seg``. No table look-up here, so the
    loop vectorises (8 pixels a step); with the look-ups in the same loop it ran
    scalar, and ~3x slower than both loops together."""
    for q in range(m):
        key, mx, mn = _hue_key(np.int32(seg[3 * q]), np.int32(seg[3 * q + 1]),
                               np.int32(seg[3 * q + 2]))
        keys[q] = key
        sv_keys[q] = np.uint32(mx * 256 + mn)


@numba.njit(**_hjit)
def _hsv_u8_count(img, start, stop, hue_flat, sv_flat, sv_cells, fvals, b0, edges, sub):
    """The serial inner loop of :func:`color_histogram_hsv_u8` over pixels [start, stop).

    Blocks of :data:`HSV_U8_BLOCK` pixels in two phases: the keys of the block
    (vectorised, :func:`_hsv_u8_keys`), then the table look-ups and counts.
    Loops from 0 over sliced views, and indexes with unsigned values: indices
    the compiler can prove non-negative skip Numba's wraparound checks (twice as
    fast here); ``sub`` is flat so that a count needs no stride multiply.
    """
    keys = np.empty(HSV_U8_BLOCK, dtype=np.uint32)
    sv_keys = np.empty(HSV_U8_BLOCK, dtype=np.uint32)
    for s0 in range(start, stop, HSV_U8_BLOCK):
        m = min(HSV_U8_BLOCK, stop - s0)
        seg = img[3 * s0 : 3 * (s0 + m)]
        _hsv_u8_keys(seg, m, keys, sv_keys)
        for q in range(m):
            ih = np.int32(hue_flat[keys[q]])
            if ih < 0:
                ih = _hue_bin_exact(fvals[seg[3 * q]], fvals[seg[3 * q + 1]],
                                    fvals[seg[3 * q + 2]], b0, edges)
            cell = np.uint32(ih * sv_cells + sv_flat[sv_keys[q]])
            sub[(cell << np.uint32(2)) | np.uint32(q & 3)] += 1


@numba.njit(**_hjit)
def _hue_bin_exact(r, g, b, nbins, edges):
    """Bin of scikit-image's float64 hue (the rare pixels on a bin edge)."""
    h, _s, _v = hsv_value(r, g, b, np.float64(1.0))
    return np.int32(bin_index(h, nbins, edges, 0))


@numba.njit(**_pjit)
def color_histogram_lut(j0, j1, src, counts, luts, nbins, pixels_per_task):
    """counts (N, T, B) += joint histogram with per-channel bin tables ``luts`` (3, 256).

    For uint8 RGB the bin of each channel value is precomputed exactly, so the
    kernel is integer-only.
    """
    N = src.shape[0]
    P = src.shape[1] * src.shape[2]
    T = counts.shape[1]
    flat = src.reshape(N, P, src.shape[3])
    b1, b2 = nbins[1], nbins[2]
    for t in range(j0, j1):
        n = t // T
        k = t - n * T
        start = k * pixels_per_task
        stop = min(P, start + pixels_per_task)
        hist = counts[n, k]
        seg = flat[n, start:stop]  # loop from 0: no wraparound checks
        for p in range(stop - start):
            i0 = luts[0, seg[p, 0]]
            i1 = luts[1, seg[p, 1]]
            i2 = luts[2, seg[p, 2]]
            hist[(i0 * b1 + i1) * b2 + i2] += 1


@numba.njit(**_pjit)
def color_histogram_rgb(j0, j1, src, counts, nbins, edges, scale, pixels_per_task):
    """counts (N, T, B) += joint RGB histogram for float (or uint16) images."""
    N = src.shape[0]
    P = src.shape[1] * src.shape[2]
    T = counts.shape[1]
    flat = src.reshape(N, P, src.shape[3])
    b0, b1, b2 = nbins[0], nbins[1], nbins[2]
    for t in range(j0, j1):
        n = t // T
        k = t - n * T
        start = k * pixels_per_task
        stop = min(P, start + pixels_per_task)
        hist = counts[n, k]
        seg = flat[n, start:stop]  # loop from 0: no wraparound checks
        for p in range(stop - start):
            i0 = bin_index(seg[p, 0] * scale, b0, edges, 0)
            i1 = bin_index(seg[p, 1] * scale, b1, edges, 1)
            i2 = bin_index(seg[p, 2] * scale, b2, edges, 2)
            hist[(i0 * b1 + i1) * b2 + i2] += 1


# --- colour moments -----------------------------------------------------------------


@numba.njit(**_pjit)
def color_moments(j0, j1, src, out, scale):
    """out (N, 9) float64 = mean, std, skewness of each channel, two passes in float64.

    ``src`` (N, H, W, C), C = 3 or 1 (a gray image repeats its channel). A
    constant channel (max == min) has std and skewness exactly 0.
    """
    N = src.shape[0]
    P = src.shape[1] * src.shape[2]
    C = src.shape[3]
    flat = src.reshape(N, P, C)
    for t in range(j0, j1):
        n = t // 3
        c = t - n * 3
        cc = c if C == 3 else 0
        x = flat[n, :, cc]
        total = 0.0
        lo = np.float64(x[0]) * scale
        hi = lo
        for p in range(P):
            v = np.float64(x[p]) * scale
            total += v
            lo = min(lo, v)
            hi = max(hi, v)
        mean = total / P
        std = 0.0
        skew = 0.0
        if hi != lo:
            s2 = 0.0
            s3 = 0.0
            for p in range(P):
                d = np.float64(x[p]) * scale - mean
                s2 += d * d
                s3 += d * d * d
            std = math.sqrt(s2 / P)
            if std > 0.0:
                skew = (s3 / P) / (std * std * std)
        out[n, c] = mean
        out[n, 3 + c] = std
        out[n, 6 + c] = skew


# --- stencils: Sobel and the gradient histogram -----------------------------------


@numba.njit(**_hjit)
def _gray_strip(rows, C, n, r0, r1, coeffs, scale, mode, cval, buf):
    """buf (r1 - r0 + 2, W + 2) = gray rows r0-1 .. r1 with a one-pixel border per mode
    (``rows``, ``C``: as :func:`_gray_row`)."""
    H, W = rows.shape[1], rows.shape[2] // C
    jl = boundary_index(-1, W, mode)
    jr = boundary_index(W, W, mode)
    for bi in range(r1 - r0 + 2):
        i = boundary_index(r0 - 1 + bi, H, mode)
        row = buf[bi]
        if i < 0:
            row[:] = cval
            continue
        _gray_row(rows, C, n, i, coeffs, scale, row, _ONE)
        row[0] = cval if jl < 0 else row[jl + 1]
        row[W + 1] = cval if jr < 0 else row[jr + 1]


@numba.njit(**_pjit)
def sobel(j0, j1, rows, C, out, coeffs, scale, mode, cval, norm, rows_per_task, axis):
    """out (N, H, W) = scikit-image's Sobel magnitude of the gray image of ``rows``
    (N, H, W * C) (see :func:`_gray_row`).

    sqrt((gi**2 + gj**2) / 2) with gi, gj the [1, 2, 1]/4-smoothed central
    differences along rows and columns, gray computed on the fly (one pass from
    uint8 RGB: each task converts its rows plus a one-row halo into a small
    cache-resident buffer). ``norm`` = 1 / (4 sqrt 2) in the output type.
    ``axis`` 0 or 1: the signed response gi or gj times ``norm`` (then 1/4)
    instead of the magnitude (``sobel(image, axis=axis)``); None: the magnitude.
    None, not -1: Numba drops the branches of a None argument before typing, so the
    magnitude compiles without the two signed loops, and those without it.
    """
    N, H, W = out.shape
    nblk = (H + rows_per_task - 1) // rows_per_task
    for t in range(j0, j1):
        n = t // nblk
        r0 = (t - n * nblk) * rows_per_task
        r1 = min(H, r0 + rows_per_task)
        buf = np.empty((r1 - r0 + 2, W + 2), dtype=out.dtype)
        _gray_strip(rows, C, n, r0, r1, coeffs, scale, mode, cval, buf)
        for bi in range(1, r1 - r0 + 1):
            up = buf[bi - 1]
            mid = buf[bi]
            dn = buf[bi + 1]
            o = out[n, r0 + bi - 1]
            # the choice is made per row, outside the loops that vectorise
            if axis is None:
                for j in range(W):
                    # x + x doubles exactly and keeps float32 (2 * x would promote)
                    gi = (dn[j] + (dn[j + 1] + dn[j + 1]) + dn[j + 2]) - (
                        up[j] + (up[j + 1] + up[j + 1]) + up[j + 2]
                    )
                    gj = (up[j + 2] + (mid[j + 2] + mid[j + 2]) + dn[j + 2]) - (
                        up[j] + (mid[j] + mid[j]) + dn[j]
                    )
                    o[j] = np.sqrt(gi * gi + gj * gj) * norm
            elif axis == 0:
                for j in range(W):
                    o[j] = ((dn[j] + (dn[j + 1] + dn[j + 1]) + dn[j + 2])
                            - (up[j] + (up[j + 1] + up[j + 1]) + up[j + 2])) * norm
            else:
                for j in range(W):
                    o[j] = ((up[j + 2] + (mid[j + 2] + mid[j + 2]) + dn[j + 2])
                            - (up[j] + (mid[j] + mid[j]) + dn[j])) * norm


@numba.njit(**_hjit)
def _sobel_xy(up, mid, dn, j):
    """(gy, gx) at column j of a padded 3-row window, summed in float64 and rounded
    once to float32 (as scipy.ndimage.correlate does), returned as float64."""
    gy = (np.float64(dn[j]) + 2.0 * np.float64(dn[j + 1]) + np.float64(dn[j + 2])) - (
        np.float64(up[j]) + 2.0 * np.float64(up[j + 1]) + np.float64(up[j + 2])
    )
    gx = (np.float64(up[j + 2]) + 2.0 * np.float64(mid[j + 2]) + np.float64(dn[j + 2])) - (
        np.float64(up[j]) + 2.0 * np.float64(mid[j]) + np.float64(dn[j])
    )
    return np.float64(np.float32(gy)), np.float64(np.float32(gx))


@numba.njit(**_pjit)
def gradient_histogram(j0, j1, rows, C, sums, coeffs, scale, nbins, rows_per_task):
    """sums (N, T, nbins) += Sobel-magnitude-weighted orientation counts per task, of
    the images ``rows`` (N, H, W * C) (see :func:`_gray_row`).

    Gradients as :func:`sobel` with mode reflect; gx along columns, gy along rows
    (image coordinates, y down); unsigned orientation, hard binning. Each row is
    binned by :func:`_orientation_row` (vectorised, no atan2), then scattered into
    four interleaved sub-histograms (runs of one orientation would otherwise
    chain each add on the one before).
    """
    H, W = rows.shape[1], rows.shape[2] // C
    nblk = sums.shape[1]
    bins_per_radian = nbins / math.pi
    margin = _m.ORIENTATION_ESTIMATE_ERROR * bins_per_radian
    for t in range(j0, j1):
        n = t // nblk
        r0 = (t - n * nblk) * rows_per_task
        r1 = min(H, r0 + rows_per_task)
        buf = np.empty((r1 - r0 + 2, W + 2), dtype=np.float32)
        _gray_strip(rows, C, n, r0, r1, coeffs, scale, 0, np.float32(0.0), buf)
        mag = np.empty(W, dtype=np.float64)
        kbin = np.empty(W, dtype=np.int64)
        sub = np.zeros((4, nbins), dtype=np.float64)
        for bi in range(1, r1 - r0 + 1):
            _orientation_row(buf[bi - 1], buf[bi], buf[bi + 1], nbins, bins_per_radian,
                             margin, mag, kbin)
            for j in range(W):
                k = kbin[j]
                if k < 0:  # within the estimate's error of a bin edge: atan2 decides
                    gy, gx = _sobel_xy(buf[bi - 1], buf[bi], buf[bi + 1], j)
                    k = orientation_bin(gx, gy, nbins)
                sub[j & 3, k] += mag[j]
        acc = sums[n, t - n * nblk]
        for q in range(nbins):
            acc[q] += (sub[0, q] + sub[1, q]) + (sub[2, q] + sub[3, q])


@numba.njit(**_hjit)
def _orientation_row(up, mid, dn, nbins, bins_per_radian, margin, mag, kbin):
    """mag (W,) = Sobel magnitude / 4 and kbin (W,) = orientation bin (-1: undecided)
    of one row, from three padded gray rows (W + 2,).

    The Sobel sums are spelled out rather than taken from :func:`_sobel_xy`: a call
    with array arguments per pixel keeps the loop from vectorising.
    """
    for j in range(mag.shape[0]):
        u0, u1, u2 = np.float64(up[j]), np.float64(up[j + 1]), np.float64(up[j + 2])
        m0, m2 = np.float64(mid[j]), np.float64(mid[j + 2])
        d0, d1, d2 = np.float64(dn[j]), np.float64(dn[j + 1]), np.float64(dn[j + 2])
        gy = np.float64(np.float32((d0 + 2.0 * d1 + d2) - (u0 + 2.0 * u1 + u2)))
        gx = np.float64(np.float32((u2 + 2.0 * m2 + d2) - (u0 + 2.0 * m0 + d0)))
        mag[j] = math.sqrt(gx * gx + gy * gy) * 0.25
        kbin[j] = orientation_bin_estimate(gx, gy, nbins, bins_per_radian, margin)


# --- Canny ---------------------------------------------------------------------------
#
# One image per task, streamed by rows: gray -> vertical Gaussian pass ->
# horizontal pass (and the bleed-over division) -> Sobel -> magnitude ->
# suppression. Each stage reads a few rows of the one before from a small ring
# (image row k in slot k % ring size), so that the intermediate images never
# leave L1/L2: per image the kernel reads the source once and writes the uint8
# state map, which is the output array itself (bool viewed as uint8).
# scikit-image's roundings are kept exactly: float64 sums, float32 results
# after each 1-D pass, as scipy.ndimage does.

MODE_WRAP = _m.MODE_WRAP


@intrinsic
def _fetch_add(typingctx, counter):
    """counter[0] += 1 atomically; returns the old value (counter: int64 array).

    Numba has no CPU atomics. With one image per claim from a shared counter, a
    worker slowed by another process on its core takes fewer images instead of
    holding up the batch (as a static split of the images would).
    """
    if not (isinstance(counter, types.Array) and counter.dtype == types.int64):
        return None

    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, args[0])
        one = ir.Constant(ir.IntType(64), 1)
        return builder.atomic_rmw("add", ary.data, one, "monotonic")

    return types.int64(counter), codegen


@numba.njit(**_jit)  # tests call it from Python
def _vpass_row(gray, s, H, w, mode, cval, acc, dst):
    """dst (W,) float32 = row s of scipy.ndimage.correlate1d(gray, w, axis=0), symmetric w.

    ``gray`` is a ring holding image row k in ``gray[k % len(gray)]``; the caller
    keeps every row the taps of row s read in it. Mirrors scipy's symmetric-kernel
    loop, w[r] x[i] + sum_k w[r+k] (x[i+k] + x[i-k]), outer taps first, in float64,
    so the float32 result is bit-identical; ``acc`` is a (W,) float64 scratch row.
    """
    R = gray.shape[0]
    W = dst.shape[0]
    r = (w.shape[0] - 1) // 2
    c = np.float64(cval)
    w0 = w[r]
    s0 = gray[s % R]
    for j in range(W):
        acc[j] = w0 * np.float64(s0[j])
    for k in range(r, 0, -1):
        a = boundary_index(s + k, H, mode)
        b = boundary_index(s - k, H, mode)
        wk = w[r + k]
        if a >= 0 and b >= 0:
            ra = gray[a % R]
            rb = gray[b % R]
            for j in range(W):
                acc[j] += wk * (np.float64(ra[j]) + np.float64(rb[j]))
        elif a >= 0:
            ra = gray[a % R]
            for j in range(W):
                acc[j] += wk * (np.float64(ra[j]) + c)
        elif b >= 0:
            rb = gray[b % R]
            for j in range(W):
                acc[j] += wk * (c + np.float64(rb[j]))
        else:
            for j in range(W):
                acc[j] += wk * (c + c)
    for j in range(W):
        dst[j] = acc[j]


@numba.njit(**_jit)  # tests call it from Python
def _hpass_row(line, w, mode, cval, acc, dst, brow, use_bleed):
    """dst (W,) = scipy.ndimage.correlate1d(row, w) of the row in ``line[r:r + W]``.

    ``line`` (W + 2r,) float32 gets its r-pixel borders filled here per ``mode``
    (float32, so that the compiler knows it does not alias ``acc`` (W,) float64
    and vectorises the tap loops). With ``use_bleed`` the float32 result is
    divided by ``brow``, the smoothed ones image's row, as scikit-image does in
    constant mode.
    """
    W = dst.shape[0]
    r = (w.shape[0] - 1) // 2
    for q in range(r):
        jl = boundary_index(q - r, W, mode)
        jr = boundary_index(W + q, W, mode)
        line[q] = cval if jl < 0 else line[r + jl]
        line[W + r + q] = cval if jr < 0 else line[r + jr]
    # views with offsets (a computed index could be negative for all the
    # compiler knows, and the wraparound check stops vectorisation)
    w0 = w[r]
    mid = line[r : r + W]
    for j in range(W):
        acc[j] = w0 * np.float64(mid[j])
    for k in range(r, 0, -1):
        wk = w[r + k]
        right = line[r + k : r + k + W]
        left = line[r - k : r - k + W]
        for j in range(W):
            acc[j] += wk * (np.float64(right[j]) + np.float64(left[j]))
    if mode == MODE_CONSTANT:
        # the float32 border of ``line`` holds float32(cval); scipy pads with the
        # float64 cval: redo the outputs whose taps reach the border with it
        c = np.float64(cval)
        # only the r outputs at each end, each once (a loop over every j with a
        # skip branch cost ~2 cycles a pixel)
        left = min(r, W)
        right = max(left, W - r)
        for q in range(left + W - right):
            j = q if q < left else right + (q - left)
            a = w0 * np.float64(mid[j])
            for k in range(r, 0, -1):
                xr = np.float64(mid[j + k]) if j + k < W else c
                xl = np.float64(mid[j - k]) if j - k >= 0 else c
                a += w[r + k] * (xr + xl)
            acc[j] = a
    if use_bleed:
        for j in range(W):
            dst[j] = np.float32(acc[j]) / brow[j]
    else:
        for j in range(W):
            dst[j] = acc[j]


@numba.njit(**_hjit)
def _hdiff_row(row, h):
    """h = row[j + 1] - row[j - 1] with reflect borders (exact in float32)."""
    W = row.shape[0]
    for j in range(1, W - 1):
        h[j] = row[j + 1] - row[j - 1]
    h[0] = row[min(1, W - 1)] - row[boundary_index(-1, W, 0)]
    if W > 1:
        h[W - 1] = row[boundary_index(W, W, 0)] - row[W - 2]


@numba.njit(**_hjit)
def _sobel_row(up, dn, hu, hm, hn, vd, gi, gj, mrow):
    """One row of scipy.ndimage.sobel(sm, axis=0 / 1) (mode reflect) and its magnitude.

    ``up``/``dn``: the smoothed rows above and below (reflected at the border);
    ``hu``/``hm``/``hn``: the horizontal differences of the rows above, at and
    below. scipy rounds to float32 after each 1-D pass: the difference pass is
    exact in float32 and the [1, 2, 1] pass is summed in float64 here, so gi/gj
    are bit-identical; ``mrow`` = sqrt(gi**2 + gj**2) in float32, as scikit-image.
    ``vd`` (W,) is scratch.
    """
    W = up.shape[0]
    for j in range(W):
        vd[j] = dn[j] - up[j]
    for j in range(1, W - 1):
        gi[j] = np.float64(vd[j - 1]) + 2.0 * np.float64(vd[j]) + np.float64(vd[j + 1])
    gi[0] = np.float64(vd[0]) + 2.0 * np.float64(vd[0]) + np.float64(vd[min(1, W - 1)])
    if W > 1:
        gi[W - 1] = np.float64(vd[W - 2]) + 2.0 * np.float64(vd[W - 1]) + np.float64(vd[W - 1])
    for j in range(W):
        gj[j] = np.float64(hu[j]) + 2.0 * np.float64(hm[j]) + np.float64(hn[j])
    for j in range(W):
        m2 = gi[j] * gi[j]
        m2 = m2 + gj[j] * gj[j]
        mrow[j] = np.sqrt(m2)


@numba.njit(forceinline=True, **_hjit)
def _nms_neighbours(gi_row, gj_row, up, mid, dn, j):
    """(m, w, n11, n21, n12, n22) of interior pixel j (1 <= j < W - 1): its magnitude,
    the interpolation weight min(|gi|, |gj|) / max(|gi|, |gj|) (the quotient each of
    the Cython code's four branches takes) and the four neighbour magnitudes it
    interpolates between, all float32. Branch-free: the four Cython branches are
    (same sign, |gi| > |gj|), (same, <=), (opposite, <), (opposite, >=); every
    candidate is loaded first, so that selects between registers if-convert (and
    vectorise), where conditional loads would not. Inlined by LLVM into the
    suppression loops."""
    m = mid[j]
    gi = gi_row[j]
    gj = gj_row[j]
    ai = abs(gi)
    aj = abs(gj)
    same = ((gi >= 0) & (gj >= 0)) | ((gi <= 0) & (gj <= 0))
    w = min(ai, aj) / max(ai, aj)
    a1 = same & (ai > aj)
    b1 = same & (ai <= aj)
    a2 = (~same) & (ai < aj)
    d0 = dn[j]
    u0 = up[j]
    m_p = mid[j + 1]
    m_m = mid[j - 1]
    d_p = dn[j + 1]
    d_m = dn[j - 1]
    u_p = up[j + 1]
    u_m = up[j - 1]
    side = b1 | a2
    n11 = d0 if a1 else (m_p if side else u0)
    n21 = u0 if a1 else (m_m if side else d0)
    n12 = d_p if same else u_p
    n22 = u_m if same else d_m
    return m, w, n11, n21, n12, n22


@numba.njit(**_hjit)
def _nms_row_exact(gi_row, gj_row, up, mid, dn, lo, hi, out):
    """out[1:W-1] = 0/1/2 (suppressed/weak/strong) for an interior row, exactly as
    scikit-image (the float64 arithmetic; :func:`_nms_row` runs it where its float32
    test cannot decide).

    ``gi_row``/``gj_row``: the row's Sobel responses; ``up``, ``mid``, ``dn``: the
    magnitude of the rows above, at and below it.

    scikit-image's bilinear non-maximum suppression (its Cython kernel), written
    branch-free so that the row vectorises:

    * gradients of the same sign (or zero) interpolate along the diagonal
      (i+1, j+1)/(i-1, j-1), else along the anti-diagonal;
    * the weight is min(|gi|, |gj|) / max(|gi|, |gj|), which is the quotient
      the Cython code takes in each of its four branches;
    * the interpolation keeps the Cython float/double mix: ``n12 * w`` in
      float32, the rest in float64, so results are bit-identical.
    """
    W = mid.shape[0]
    for j in range(1, W - 1):
        m, w, n11, n21, n12, n22 = _nms_neighbours(gi_row, gj_row, up, mid, dn, j)
        wd = np.float64(w)
        md = np.float64(m)
        c_plus = np.float64(n12 * w) + np.float64(n11) * (1.0 - wd) <= md
        c_minus = np.float64(n22 * w) + np.float64(n21) * (1.0 - wd) <= md
        keep = (md >= lo) & c_plus & c_minus
        out[j] = np.uint8(keep) * (np.uint8(1) + np.uint8(md >= hi))


# relative margin of the float32 suppression test (see _nms_row): 4x its error bound
_NMS_TOL = np.float32(2.0**-20)


@numba.njit(**_hjit)
def _nms_row(gi_row, gj_row, up, mid, dn, lo, hi, out):
    """out[1:W-1] = 0/1/2 (suppressed/weak/strong) for an interior row, as
    :func:`_nms_row_exact` (scikit-image's suppression), 8 pixels a step.

    The interpolated neighbours are compared with the magnitude m in float32
    instead of float64. With p = fl32(n12 w) (the same in both) and n11 >= 0, the
    float32 value fl(p + fl(n11 fl(1 - w))) is within 3u (p + n11) of the exact
    p + n11 (1 - w), u = 2**-24, and scikit-image's float64 sum within 3 * 2**-53
    (p + n11) of it: where the float32 difference to m exceeds 2**-20 (p + n11),
    both comparisons agree. A pixel at or above ``lo`` closer than that (an
    interpolated neighbour equal to m, or anything not finite) marks the row, which
    is then redone by :func:`_nms_row_exact`: rare on photographs. ``lo``/``hi`` are
    float32 values (scikit-image rounds them so); otherwise the exact kernel runs.
    """
    W = mid.shape[0]
    lo32 = np.float32(lo)
    hi32 = np.float32(hi)
    if np.float64(lo32) != lo or np.float64(hi32) != hi:
        _nms_row_exact(gi_row, gj_row, up, mid, dn, lo, hi, out)
        return
    one = np.float32(1.0)
    unsure = False
    for j in range(1, W - 1):
        m, w, n11, n21, n12, n22 = _nms_neighbours(gi_row, gj_row, up, mid, dn, j)
        p_plus = n12 * w
        p_minus = n22 * w
        one_w = one - w
        d_plus = (p_plus + n11 * one_w) - m
        d_minus = (p_minus + n21 * one_w) - m
        decided = ((abs(d_plus) > (p_plus + n11) * _NMS_TOL)
                   & (abs(d_minus) > (p_minus + n21) * _NMS_TOL))
        above = m >= lo32
        unsure |= above & (not decided)
        keep = above & (d_plus <= 0) & (d_minus <= 0)
        out[j] = np.uint8(keep) * (np.uint8(1) + np.uint8(m >= hi32))
    if unsure:
        _nms_row_exact(gi_row, gj_row, up, mid, dn, lo, hi, out)


@numba.njit(**_hjit)
def _suppress_row(i, gi, gj, mag, lo, hi, state):
    """Suppression of interior row i into ``state[i]`` (border columns 0);
    ``gi``/``gj``/``mag`` are rings (row k in slot k % ring size)."""
    W = state.shape[1]
    R = mag.shape[0]
    srow = state[i]
    srow[0] = 0
    srow[W - 1] = 0
    _nms_row(gi[i % R], gj[i % R], mag[(i - 1) % R], mag[i % R], mag[(i + 1) % R], lo, hi, srow)


@numba.njit(**_hjit)
def _flood(st, p0, W, stack):
    """Depth-first fill from p0 through 8-connected weak/strong pixels, marking them 3."""
    st[p0] = 3
    stack[0] = p0
    top = 1
    while top > 0:
        top -= 1
        p = stack[top]
        for q in (p - W - 1, p - W, p - W + 1, p - 1, p + 1, p + W - 1, p + W, p + W + 1):
            v = st[q]
            if v == 1 or v == 2:
                st[q] = 3
                stack[top] = q
                top += 1


@numba.njit(**_hjit)
def _hysteresis(state, stack):
    """state (H, W) uint8: 0/1/2 (suppressed/weak/strong) in, 0/1 (edge) out.

    A flood fill over flat indices from each strong pixel not yet reached marks
    every pixel 8-connected to it through weak or strong ones 3; one pass then
    keeps the 3s. The strong pixels are found eight bytes at a time (most words
    hold none: a branch per pixel costs more than the fill). ``state`` is zero
    on the image border (suppression only marks interior pixels), so every
    candidate's eight neighbours are in bounds: no bounds checks, no division.
    """
    H, W = state.shape
    st = state.reshape(-1)
    P = H * W
    nwords = P // 8
    words = st[: nwords * 8].view(np.uint64)
    bit1 = np.uint64(0x0202020202020202)  # set in 2 (strong) and 3 (reached)
    for k in range(nwords):
        if words[k] & bit1:
            for p in range(8 * k, 8 * k + 8):
                if st[p] == 2:
                    _flood(st, p, W, stack)
    for p in range(nwords * 8, P):
        if st[p] == 2:
            _flood(st, p, W, stack)
    for p in range(P):
        st[p] = np.uint8(st[p] == 3)


@numba.njit(nogil=True, **_jit)
def canny_worker(rows, C, out, coeffs, scale, weights, mode, cval, btab, use_bleed, low,
                 high, quantiles, next_image, emask):
    """One worker of the Canny of a batch: out (N, H, W) uint8 (a bool array's
    bytes) = scikit-image 0.26's Canny of each gray image (float32) of the images
    ``rows`` (N, H, W * C) (see :func:`_gray_row`).

    Steps per image (streamed by rows, see :func:`_canny_one`): gray -> Gaussian
    (two symmetric 1-D passes, float64 sums, float32 results, as scipy) -> with
    ``use_bleed`` (constant mode) divide by the Gaussian of a ones image (rows
    ``btab``: :func:`mmfeat.image._cpu.bleed_rows`) -> Sobel magnitude (float32)
    -> optional per-image percentile thresholds -> bilinear non-maximum suppression on the
    interior -> hysteresis by 8-connected flood fill from the strong pixels.

    The caller runs ``numba.get_num_threads()`` workers on Python threads (the GIL
    is released); each claims the next image from ``next_image`` (1,) int64, zero
    on entry, so a worker slowed by another process takes fewer images. A plain
    (not ``parallel=True``) function: parfor lowering of this driver cost 6 s of
    compilation for nothing a thread pool does not give. ``low``/``high`` (N,)
    float64 hold the comparison values (low already rounded to float32, as
    scikit-image's Cython signature does); with ``quantiles`` (2,) float64 (the
    low and high quantiles; None: fixed thresholds) they are computed here.

    ``btab`` (M, D, W) float32: without a mask, M = 1 and the D rows of
    :func:`mmfeat.image._cpu.bleed_rows` (or a dummy); with ``emask`` (M, H, W)
    uint8, the eroded mask (None: no mask), the full bleed-over image (D = H) of mask plane
    ``n % M`` (scikit-image's Gaussian of the mask + eps): suppression keeps only
    pixels where ``emask`` is 1 (the caller zeroed the gray image outside the mask).

    ``quantiles`` and ``emask`` are None or arrays, not flags: Numba drops the
    branches of a None argument before typing, so a plain call compiles neither
    the percentile search nor the mask code (~1 s less on its first call), and a
    call with them compiles its own specialisation.
    """
    N, H, W = out.shape
    r = (weights.shape[0] - 1) // 2
    # ring sizes: the rows each stage's stencil reads stay in its ring (wrap mode
    # reads the far border, so gray holds the whole image; quantile thresholds
    # need the whole magnitude before suppression, so everything does). Scratch
    # buffers are reused across the worker's images: fresh allocations per image
    # cost more in page faults than the maths
    rg = H if mode == MODE_WRAP else min(H, 2 * r + 2)
    rs = min(H, 4)
    rm = min(H, 3)
    if quantiles is not None:
        rg = H
        rs = H
        rm = H
    gray = np.empty((rg, W), dtype=np.float32)
    sm = np.empty((rs, W), dtype=np.float32)
    hd = np.empty((rs, W), dtype=np.float32)
    gi = np.empty((rm, W), dtype=np.float32)
    gj = np.empty((rm, W), dtype=np.float32)
    mag = np.empty((rm, W), dtype=np.float32)
    line = np.empty(W + 2 * r, dtype=np.float32)
    acc = np.empty(W, dtype=np.float64)
    vd = np.empty(W, dtype=np.float32)
    stack = np.empty(H * W, dtype=np.int32)
    while True:
        n = _fetch_add(next_image)
        if n >= N:
            break
        m = n % btab.shape[0]
        if emask is None:
            _canny_one(rows, C, n, out[n], coeffs, scale, weights, mode, cval, btab[m],
                       use_bleed, low[n], high[n], quantiles, gray, sm, hd, gi, gj, mag, line,
                       acc, vd, stack, None)
        else:
            _canny_one(rows, C, n, out[n], coeffs, scale, weights, mode, cval, btab[m],
                       use_bleed, low[n], high[n], quantiles, gray, sm, hd, gi, gj, mag, line,
                       acc, vd, stack, emask[n % emask.shape[0]])


# the k-th smallest, partitioning in place (shared with the audio kernels)
_kth_smallest = numba.njit(**_jit)(_om.kth_smallest)


@numba.njit(**_jit)  # tests call it from Python
def _percentile_linear(x, pct, flat):
    """``np.percentile(x, pct)`` (method "linear") of a float32 array, NumPy 2's
    arithmetic step for step: q = pct / 100, virtual index (n - 1) q, the
    two order statistics around it by quickselect (into the scratch ``flat``),
    then NumPy's ``_lerp`` from the nearer end, in float32 as NumPy 2 does for
    a Python-float percentile (scikit-image passes one). Returned as float64. A
    hand-written selection compiles in a fraction of the time Numba's
    ``np.percentile`` takes (6 s of canny's first call)."""
    n = x.size
    k = 0
    has_nan = False
    for v in x.flat:
        flat[k] = v
        has_nan |= v != v
        k += 1
    if has_nan:
        return np.nan  # np.percentile's answer (the selection assumes no NaN)
    q = pct / 100.0
    virtual = (n - 1) * q
    if virtual >= n - 1:
        prev = n - 1
        nxt = n - 1
    elif virtual < 0:
        prev = 0
        nxt = 0
    else:
        prev = int(math.floor(virtual))
        nxt = prev + 1
    gamma = virtual - math.floor(virtual) if 0 <= virtual < n - 1 else virtual - prev
    a = _kth_smallest(flat[:n], prev)
    b = a
    if nxt != prev:
        b = flat[nxt]
        for m in range(nxt + 1, n):
            if flat[m] < b:
                b = flat[m]
    # a Python-float q is "weak" in NumPy 2: gamma becomes a Python float and the
    # interpolation runs in the array's float32
    d = np.float32(b - a)
    if gamma >= 0.5:
        return np.float64(np.float32(b) - d * np.float32(1.0 - gamma))
    return np.float64(np.float32(a) + d * np.float32(gamma))


# inlined into its one caller, canny_worker: compiled on its own, it was optimised and
# emitted twice with every row helper linked in (once alone, once in the worker);
# 1.7 s of canny's ~10.7 s first call (2-core machine)
@numba.njit(inline="always", **_jit)
def _canny_one(rows, C, n, state, coeffs, scale, w, mode, cval, btab, use_bleed,
               lo, hi, quantiles, gray, sm, hd, gi, gj, mag, line, acc, vd, stack, emask):
    """Canny of image n into ``state`` (H, W) uint8 (see :func:`canny`); ``emask``
    (H, W) uint8 or None, ``quantiles`` as :func:`canny_worker`'s.

    Row i of the magnitude needs smoothed rows i - 1 .. i + 1, smoothed row s
    needs gray rows s - r .. s + r (or, reflected, rows in that window: every
    mode but wrap), suppression of row i - 1 runs as soon as magnitude row i
    exists; each stage is produced lazily, just ahead of the one that reads it.
    """
    H, W = state.shape
    r = (w.shape[0] - 1) // 2
    rg = gray.shape[0]
    rs = sm.shape[0]
    rm = mag.shape[0]
    wrap = mode == MODE_WRAP
    row_in = line[r : r + W]
    g_next = np.int64(0)  # not a literal 0: one signature for the row helpers
    s_next = np.int64(0)
    state[0, :] = 0
    state[H - 1, :] = 0
    for i in range(H):
        while s_next < min(H, i + 2):
            s = s_next
            g_stop = H if wrap else min(H, s + r + 1)
            while g_next < g_stop:
                _gray_row(rows, C, n, g_next, coeffs, scale, gray[g_next % rg], _ZERO)
                g_next += 1
            _vpass_row(gray, s, H, w, mode, cval, acc, row_in)
            if emask is not None:
                brow = btab[s]
            else:
                brow = btab[min(s, H - 1 - s, r)] if use_bleed else btab[0]
            _hpass_row(line, w, mode, cval, acc, sm[s % rs], brow, use_bleed)
            _hdiff_row(sm[s % rs], hd[s % rs])
            s_next += 1
        im = boundary_index(i - 1, H, 0)
        ip = boundary_index(i + 1, H, 0)
        _sobel_row(sm[im % rs], sm[ip % rs], hd[im % rs], hd[i % rs], hd[ip % rs], vd,
                   gi[i % rm], gj[i % rm], mag[i % rm])
        if quantiles is None and i >= 2:
            _suppress_row(i - 1, gi, gj, mag, lo, hi, state)
            if emask is not None:
                _mask_row(state[i - 1], emask[i - 1])
    if quantiles is not None:
        # the thresholds need the whole magnitude first (the rings hold every row)
        flat = np.empty(H * W, dtype=np.float32)
        pl = _percentile_linear(mag, 100.0 * quantiles[0], flat)
        ph = _percentile_linear(mag, 100.0 * quantiles[1], flat)
        lo = np.float64(np.float32(pl))
        hi = ph
        if lo == 0.0:
            lo = np.float64(np.float32(1e-14))
        for i in range(1, H - 1):
            _suppress_row(i, gi, gj, mag, lo, hi, state)
            if emask is not None:
                _mask_row(state[i], emask[i])
    _hysteresis(state, stack)


@numba.njit(**_hjit)
def _mask_row(srow, erow):
    """Suppression restricted to the eroded mask (scikit-image's ``eroded_mask``)."""
    for j in range(srow.shape[0]):
        srow[j] = srow[j] * erow[j]
