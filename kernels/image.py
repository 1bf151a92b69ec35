"""Numba CPU kernels for the image ops (``@njit(parallel=True, cache=True)``).

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

import numba
import numpy as np
from numba import prange

from . import image_math as _m

_jit = dict(cache=True, error_model="numpy", fastmath=False)
_pjit = dict(parallel=True, **_jit)
_inline = numba.njit(inline="always", **_jit)

boundary_index = _inline(_m.boundary_index)
gray_value = _inline(_m.gray_value)
hsv_value = _inline(_m.hsv_value)
bin_index = _inline(_m.bin_index)
orientation_bin = _inline(_m.orientation_bin)

MODE_CONSTANT = _m.MODE_CONSTANT


# --- colour conversion ------------------------------------------------------


@numba.njit(**_jit)
def _gray_row(src, n, i, coeffs, scale, dst, off):
    """dst[off:off+W] = gray of row i of image n (C = 3 or 1)."""
    W = src.shape[2]
    if src.shape[3] == 3:
        cr = coeffs[0]
        cg = coeffs[1]
        cb = coeffs[2]
        for j in range(W):
            dst[off + j] = gray_value(
                src[n, i, j, 0] * scale, src[n, i, j, 1] * scale, src[n, i, j, 2] * scale,
                cr, cg, cb,
            )
    else:
        for j in range(W):
            dst[off + j] = src[n, i, j, 0] * scale


@numba.njit(**_pjit)
def rgb_to_gray(src, out, coeffs, scale):
    """out (N, H, W) = gray of src (N, H, W, 3)."""
    N, H = out.shape[0], out.shape[1]
    for t in prange(N * H):
        n = t // H
        i = t - n * H
        _gray_row(src, n, i, coeffs, scale, out[n, i], 0)


@numba.njit(**_pjit)
def rgb_to_hsv(src, out, scale, one):
    """out (N, H, W, 3) = HSV of src (N, H, W, 3); arithmetic in ``one``'s type."""
    N, H, W = out.shape[0], out.shape[1], out.shape[2]
    for t in prange(N * H):
        n = t // H
        i = t - n * H
        for j in range(W):
            h, s, v = hsv_value(
                src[n, i, j, 0] * scale, src[n, i, j, 1] * scale, src[n, i, j, 2] * scale, one
            )
            out[n, i, j, 0] = h
            out[n, i, j, 1] = s
            out[n, i, j, 2] = v


# --- histograms ---------------------------------------------------------------


@numba.njit(**_pjit)
def color_histogram_hsv(src, counts, nbins, edges, scale, one, pixels_per_task):
    """counts (N, T, B) += joint HSV histogram of each task's pixel range.

    ``nbins`` (3,) int64, ``edges`` (3, max(nbins) + 1) float64 (np.linspace),
    T tasks per image of ``pixels_per_task`` pixels; the caller sums over T.
    """
    N = src.shape[0]
    P = src.shape[1] * src.shape[2]
    T = counts.shape[1]
    flat = src.reshape(N, P, src.shape[3])
    b0, b1, b2 = nbins[0], nbins[1], nbins[2]
    for t in prange(N * T):
        n = t // T
        k = t - n * T
        start = k * pixels_per_task
        stop = min(P, start + pixels_per_task)
        hist = counts[n, k]
        for p in range(start, stop):
            h, s, v = hsv_value(
                flat[n, p, 0] * scale, flat[n, p, 1] * scale, flat[n, p, 2] * scale, one
            )
            ih = bin_index(h, b0, edges, 0)
            is_ = bin_index(s, b1, edges, 1)
            iv = bin_index(v, b2, edges, 2)
            hist[(ih * b1 + is_) * b2 + iv] += 1


@numba.njit(**_pjit)
def color_histogram_lut(src, counts, luts, nbins, pixels_per_task):
    """counts (N, T, B) += joint histogram with per-channel bin tables ``luts`` (3, 256).

    For uint8 RGB the bin of each channel value is precomputed exactly, so the
    kernel is integer-only.
    """
    N = src.shape[0]
    P = src.shape[1] * src.shape[2]
    T = counts.shape[1]
    flat = src.reshape(N, P, src.shape[3])
    b1, b2 = nbins[1], nbins[2]
    for t in prange(N * T):
        n = t // T
        k = t - n * T
        start = k * pixels_per_task
        stop = min(P, start + pixels_per_task)
        hist = counts[n, k]
        for p in range(start, stop):
            i0 = luts[0, flat[n, p, 0]]
            i1 = luts[1, flat[n, p, 1]]
            i2 = luts[2, flat[n, p, 2]]
            hist[(i0 * b1 + i1) * b2 + i2] += 1


@numba.njit(**_pjit)
def color_histogram_rgb(src, counts, nbins, edges, scale, pixels_per_task):
    """counts (N, T, B) += joint RGB histogram for float (or uint16) images."""
    N = src.shape[0]
    P = src.shape[1] * src.shape[2]
    T = counts.shape[1]
    flat = src.reshape(N, P, src.shape[3])
    b0, b1, b2 = nbins[0], nbins[1], nbins[2]
    for t in prange(N * T):
        n = t // T
        k = t - n * T
        start = k * pixels_per_task
        stop = min(P, start + pixels_per_task)
        hist = counts[n, k]
        for p in range(start, stop):
            i0 = bin_index(flat[n, p, 0] * scale, b0, edges, 0)
            i1 = bin_index(flat[n, p, 1] * scale, b1, edges, 1)
            i2 = bin_index(flat[n, p, 2] * scale, b2, edges, 2)
            hist[(i0 * b1 + i1) * b2 + i2] += 1


# --- stencils: Sobel and the gradient histogram -----------------------------------


@numba.njit(**_jit)
def _gray_strip(src, n, r0, r1, coeffs, scale, mode, cval, buf):
    """buf (r1 - r0 + 2, W + 2) = gray rows r0-1 .. r1 with a one-pixel border per mode."""
    H, W = src.shape[1], src.shape[2]
    jl = boundary_index(-1, W, mode)
    jr = boundary_index(W, W, mode)
    for bi in range(r1 - r0 + 2):
        i = boundary_index(r0 - 1 + bi, H, mode)
        row = buf[bi]
        if i < 0:
            row[:] = cval
            continue
        _gray_row(src, n, i, coeffs, scale, row, 1)
        row[0] = cval if jl < 0 else row[jl + 1]
        row[W + 1] = cval if jr < 0 else row[jr + 1]


@numba.njit(**_pjit)
def sobel(src, out, coeffs, scale, mode, cval, norm, rows_per_task):
    """out (N, H, W) = scikit-image's Sobel magnitude of the gray image.

    sqrt((gi**2 + gj**2) / 2) with gi, gj the [1, 2, 1]/4-smoothed central
    differences along rows and columns, gray computed on the fly (one pass from
    uint8 RGB: each task converts its rows plus a one-row halo into a small
    cache-resident buffer). ``norm`` = 1 / (4 sqrt 2) in the output type.
    """
    N, H, W = out.shape
    nblk = (H + rows_per_task - 1) // rows_per_task
    for t in prange(N * nblk):
        n = t // nblk
        r0 = (t - n * nblk) * rows_per_task
        r1 = min(H, r0 + rows_per_task)
        buf = np.empty((r1 - r0 + 2, W + 2), dtype=out.dtype)
        _gray_strip(src, n, r0, r1, coeffs, scale, mode, cval, buf)
        for bi in range(1, r1 - r0 + 1):
            up = buf[bi - 1]
            mid = buf[bi]
            dn = buf[bi + 1]
            o = out[n, r0 + bi - 1]
            for j in range(W):
                # x + x doubles exactly and keeps float32 (2 * x would promote)
                gi = (dn[j] + (dn[j + 1] + dn[j + 1]) + dn[j + 2]) - (
                    up[j] + (up[j + 1] + up[j + 1]) + up[j + 2]
                )
                gj = (up[j + 2] + (mid[j + 2] + mid[j + 2]) + dn[j + 2]) - (
                    up[j] + (mid[j] + mid[j]) + dn[j]
                )
                o[j] = np.sqrt(gi * gi + gj * gj) * norm


@numba.njit(**_pjit)
def gradient_histogram(src, sums, coeffs, scale, nbins, rows_per_task):
    """sums (N, T, nbins) += Sobel-magnitude-weighted orientation counts per task.

    Gradients as :func:`sobel` with mode reflect; gx along columns, gy along rows
    (image coordinates, y down); unsigned orientation, hard binning.
    """
    N, H, W = src.shape[0], src.shape[1], src.shape[2]
    nblk = sums.shape[1]
    for t in prange(N * nblk):
        n = t // nblk
        r0 = (t - n * nblk) * rows_per_task
        r1 = min(H, r0 + rows_per_task)
        buf = np.empty((r1 - r0 + 2, W + 2), dtype=np.float32)
        _gray_strip(src, n, r0, r1, coeffs, scale, 0, np.float32(0.0), buf)
        acc = sums[n, t - n * nblk]
        for bi in range(1, r1 - r0 + 1):
            up = buf[bi - 1]
            mid = buf[bi]
            dn = buf[bi + 1]
            for j in range(W):
                gy = (dn[j] + (dn[j + 1] + dn[j + 1]) + dn[j + 2]) - (
                    up[j] + (up[j + 1] + up[j + 1]) + up[j + 2]
                )
                gx = (up[j + 2] + (mid[j + 2] + mid[j + 2]) + dn[j + 2]) - (
                    up[j] + (mid[j] + mid[j]) + dn[j]
                )
                mag = math.sqrt(np.float64(gx) * gx + np.float64(gy) * gy) * 0.25
                if mag > 0.0:
                    acc[orientation_bin(np.float64(gx), np.float64(gy), nbins)] += mag


# --- Canny ---------------------------------------------------------------------------


@numba.njit(**_jit)
def _correlate_rows(src, dst, w, mode, cval):
    """dst = scipy.ndimage.correlate1d(src, w, axis=0) for symmetric ``w`` (float64 sums).

    Mirrors scipy's symmetric-kernel loop: w[r] x[i] + sum_j w[r+j] (x[i+j] + x[i-j]).
    """
    H, W = src.shape
    r = (w.shape[0] - 1) // 2
    acc = np.empty(W, dtype=np.float64)
    for i in range(H):
        for j in range(W):
            acc[j] = w[r] * np.float64(src[i, j])
        for k in range(1, r + 1):
            a = boundary_index(i + k, H, mode)
            b = boundary_index(i - k, H, mode)
            wk = w[r + k]
            for j in range(W):
                xa = np.float64(cval) if a < 0 else np.float64(src[a, j])
                xb = np.float64(cval) if b < 0 else np.float64(src[b, j])
                acc[j] += wk * (xa + xb)
        for j in range(W):
            dst[i, j] = acc[j]


@numba.njit(**_jit)
def _correlate_cols(src, dst, w, mode, cval, line):
    """dst = scipy.ndimage.correlate1d(src, w, axis=1), symmetric ``w``; ``line`` is scratch."""
    H, W = src.shape
    r = (w.shape[0] - 1) // 2
    for i in range(H):
        for q in range(W + 2 * r):
            jj = boundary_index(q - r, W, mode)
            line[q] = np.float64(cval) if jj < 0 else np.float64(src[i, jj])
        for j in range(W):
            s = w[r] * line[j + r]
            for k in range(1, r + 1):
                s += w[r + k] * (line[j + r + k] + line[j + r - k])
            dst[i, j] = s


@numba.njit(**_jit)
def _sobel_pair(sm, i, j, H, W):
    """(isobel, jsobel) of scipy.ndimage.sobel(sm, axis=0/1) at (i, j), mode reflect.

    scipy rounds to float32 after each 1-D pass; the difference pass is exact in
    float32 and the [1, 2, 1] pass is summed in float64, so this is bit-identical.
    """
    im = boundary_index(i - 1, H, 0)
    ip = boundary_index(i + 1, H, 0)
    jm = boundary_index(j - 1, W, 0)
    jp = boundary_index(j + 1, W, 0)
    di_m = np.float64(sm[ip, jm] - sm[im, jm])
    di_0 = np.float64(sm[ip, j] - sm[im, j])
    di_p = np.float64(sm[ip, jp] - sm[im, jp])
    isob = np.float32(di_m + 2.0 * di_0 + di_p)
    dj_m = np.float64(sm[im, jp] - sm[im, jm])
    dj_0 = np.float64(sm[i, jp] - sm[i, jm])
    dj_p = np.float64(sm[ip, jp] - sm[ip, jm])
    jsob = np.float32(dj_m + 2.0 * dj_0 + dj_p)
    return isob, jsob


@numba.njit(**_jit)
def _nms_value(sm, mag, i, j, H, W, low):
    """scikit-image's bilinear non-maximum suppression at an interior pixel (i, j).

    Returns the magnitude if it survives (and is >= low), else 0. Mirrors the
    Cython code, including its float/double mix in the interpolation.
    """
    m = mag[i, j]
    if not (m >= low):
        return np.float32(0.0)
    isob, jsob = _sobel_pair(sm, i, j, H, W)
    is_down = isob <= 0
    is_up = isob >= 0
    is_left = jsob <= 0
    is_right = jsob >= 0
    cond1 = (is_up and is_right) or (is_down and is_left)
    cond2 = (is_down and is_right) or (is_up and is_left)
    if not cond1 and not cond2:
        return np.float32(0.0)
    ai = abs(isob)
    aj = abs(jsob)
    if cond1:
        if ai > aj:
            w = aj / ai
            n11 = mag[i + 1, j]
            n12 = mag[i + 1, j + 1]
            n21 = mag[i - 1, j]
            n22 = mag[i - 1, j - 1]
        else:
            w = ai / aj
            n11 = mag[i, j + 1]
            n12 = mag[i + 1, j + 1]
            n21 = mag[i, j - 1]
            n22 = mag[i - 1, j - 1]
    else:
        if ai < aj:
            w = ai / aj
            n11 = mag[i, j + 1]
            n12 = mag[i - 1, j + 1]
            n21 = mag[i, j - 1]
            n22 = mag[i + 1, j - 1]
        else:
            w = aj / ai
            n11 = mag[i - 1, j]
            n12 = mag[i - 1, j + 1]
            n21 = mag[i + 1, j]
            n22 = mag[i + 1, j - 1]
    wd = np.float64(w)
    if np.float64(n12 * w) + np.float64(n11) * (1.0 - wd) <= np.float64(m):
        if np.float64(n22 * w) + np.float64(n21) * (1.0 - wd) <= np.float64(m):
            return m
    return np.float32(0.0)


@numba.njit(**_jit)
def _hysteresis(state, out, stack):
    """out |= pixels 8-connected through weak (1) pixels to a strong (2) pixel."""
    H, W = state.shape
    for i0 in range(H):
        for j0 in range(W):
            if state[i0, j0] != 2 or out[i0, j0]:
                continue
            out[i0, j0] = True
            top = 0
            stack[top] = i0 * W + j0
            top += 1
            while top > 0:
                top -= 1
                p = stack[top]
                i = p // W
                j = p - i * W
                for di in range(-1, 2):
                    ii = i + di
                    if ii < 0 or ii >= H:
                        continue
                    for dj in range(-1, 2):
                        jj = j + dj
                        if jj < 0 or jj >= W:
                            continue
                        if state[ii, jj] != 0 and not out[ii, jj]:
                            out[ii, jj] = True
                            stack[top] = ii * W + jj
                            top += 1


@numba.njit(**_pjit)
def canny(src, out, coeffs, scale, weights, mode, cval, bleed, low, high,
          quantiles, q_low, q_high):
    """out (N, H, W) bool = scikit-image 0.26's Canny of each gray image (float32).

    Steps per image (one prange task): gray -> Gaussian (two symmetric 1-D
    passes, float64 sums, float32 results, as scipy) -> divide by ``bleed``
    (the Gaussian of a ones image, constant mode only; empty otherwise) ->
    Sobel magnitude (float32) -> optional per-image percentile thresholds ->
    bilinear non-maximum suppression on the interior -> hysteresis by 8-connected
    flood fill from the strong pixels.

    ``low``/``high`` (N,) float64 hold the comparison values (low already rounded
    to float32, as scikit-image's Cython signature does); with ``quantiles`` they
    are computed here from ``q_low``/``q_high``.
    """
    N, H, W = out.shape
    r = (weights.shape[0] - 1) // 2
    use_bleed = bleed.shape[0] == H
    for n in prange(N):
        gray = np.empty((H, W), dtype=np.float32)
        for i in range(H):
            _gray_row(src, n, i, coeffs, scale, gray[i], 0)
        tmp = np.empty((H, W), dtype=np.float32)
        _correlate_rows(gray, tmp, weights, mode, cval)
        line = np.empty(W + 2 * r, dtype=np.float64)
        sm = gray  # reuse
        _correlate_cols(tmp, sm, weights, mode, cval, line)
        if use_bleed:
            for i in range(H):
                for j in range(W):
                    sm[i, j] = sm[i, j] / bleed[i, j]
        mag = tmp  # reuse
        for i in range(H):
            for j in range(W):
                isob, jsob = _sobel_pair(sm, i, j, H, W)
                m2 = isob * isob
                m2 = m2 + jsob * jsob
                mag[i, j] = np.sqrt(m2)
        lo = low[n]
        hi = high[n]
        if quantiles:
            pl = np.percentile(mag, 100.0 * q_low)
            ph = np.percentile(mag, 100.0 * q_high)
            lo = np.float64(np.float32(pl))
            hi = ph
            if lo == 0.0:
                lo = np.float64(np.float32(1e-14))
        state = np.zeros((H, W), dtype=np.uint8)
        for i in range(1, H - 1):
            for j in range(1, W - 1):
                v = _nms_value(sm, mag, i, j, H, W, lo)
                if v > 0:
                    state[i, j] = 2 if np.float64(v) >= hi else 1
        stack = np.empty(H * W, dtype=np.int64)
        _hysteresis(state, out[n], stack)
