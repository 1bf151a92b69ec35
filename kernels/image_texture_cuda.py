"""Numba CUDA kernels for the texture descriptors (HOG, LBP, GLCM); first GPU use only.

Each kernel is a grid-stride loop over independent work items (a pixel, a cell,
a block, a matrix). The per-pixel kernels (``hog_channels``, ``lbp_pixels``,
``glcm_counts``) run on a 3-D grid, x the column, y the row, z the image
(:func:`grid3`, launched by ``image/_cuda.py``'s ``_launch_grid3``), with
``while`` loops: no flat index is split by a run-time 64-bit division per pixel,
and no ``range()`` trip count divides (see ``audio_cuda``). The others are 1-D,
launched by ``mmfeat._gpu.launch_1d``: their two index divisions are paid once a
cell, block or matrix, next to hundreds of instructions of work. Work items that
scikit-image accumulates sequentially (a HOG cell's float32 totals, a GLCM
property's sums) are one thread each, so the order of additions, and so the
rounding, is the CPU kernels'. The scalar decisions are :mod:`texture_math`'s.
"""

import math

import numpy as np

# numba-cuda (0.2x) still names np.row_stack, which NumPy 2.5 removed (see image_cuda)
if not hasattr(np, "row_stack"):
    np.row_stack = np.vstack

from numba import cuda  # noqa: E402

from . import texture_math as _m  # noqa: E402

_dev = cuda.jit(device=True)
hog_bin_estimate = _dev(_m.hog_bin_estimate)
hog_bin_exact = _dev(_m.hog_bin_exact)
hog_block_norm_scale = _dev(_m.hog_block_norm_scale)
lbp_value = _dev(_m.lbp_value)
bilinear = _dev(_m.bilinear)
correlation_value = _dev(_m.correlation_value)


I64 = np.int64


@cuda.jit(device=True)
def grid3():
    """(x0, sx, y0, sy, z0, sz): each grid axis' first index and stride for a
    grid-stride loop (x, y over threads, z over blocks: one image a block). Signed
    64-bit: the LBP and GLCM neighbours are signed offsets from them."""
    return (I64(cuda.threadIdx.x + cuda.blockIdx.x * cuda.blockDim.x),
            I64(cuda.blockDim.x * cuda.gridDim.x),
            I64(cuda.threadIdx.y + cuda.blockIdx.y * cuda.blockDim.y),
            I64(cuda.blockDim.y * cuda.gridDim.y),
            I64(cuda.blockIdx.z), I64(cuda.gridDim.z))


# --- HOG ------------------------------------------------------------------------------


@cuda.jit(device=True)
def _hog_value(src, n, y, x, ch, sq, f32):
    v = np.float64(src[n, y, x, ch])
    if sq:
        v = math.sqrt(v)
    if f32:
        v = np.float64(np.float32(v))
    return v


@cuda.jit(device=True)
def _hog_diff(src, n, y, x, ch, sq, f32):
    """(g_row, g_col) of one channel, 0 on the image border, in the float type."""
    H, W = src.shape[1], src.shape[2]
    r = 0.0
    c = 0.0
    if y > 0 and y < H - 1:
        r = _hog_value(src, n, y + 1, x, ch, sq, f32) - _hog_value(src, n, y - 1, x, ch, sq, f32)
    if x > 0 and x < W - 1:
        c = _hog_value(src, n, y, x + 1, ch, sq, f32) - _hog_value(src, n, y, x - 1, ch, sq, f32)
    if f32:
        r = np.float64(np.float32(r))
        c = np.float64(np.float32(c))
    return r, c


@cuda.jit(device=True)
def _hog_pick(src, n, y, x, sq, f32, hyp, use_table):
    best = -1.0
    pick = 0
    for ch in range(src.shape[3]):
        r, c = _hog_diff(src, n, y, x, ch, sq, f32)
        if f32:
            s = np.float64(np.float32(math.sqrt(r * r + c * c)))
        elif use_table:
            s = hyp[int(abs(r)), int(abs(c))]
        else:
            s = math.hypot(r, c)
        if s > best:
            best = s
            pick = ch
    return pick


@cuda.jit
def hog_channels(src, sq, f32, hyp, chan):
    """chan (N, Hc, Wc) int8 = channel of the largest gradient magnitude, first on
    ties: float32 by the rounded hypot, uint8 by ``hyp`` (NumPy's values), other
    float64 by the device's hypot. Grid: x = column, y = row, z = image."""
    N, Hc, Wc = chan.shape
    use_table = hyp.shape[0] > 0
    x0, sx, y0, sy, z0, sz = grid3()
    n = z0
    while n < N:
        y = y0
        while y < Hc:
            x = x0
            while x < Wc:
                chan[n, y, x] = _hog_pick(src, n, y, x, sq, f32, hyp, use_table)
                x += sx
            y += sy
        n += sz


@cuda.jit
def hog_cells(src, hist, c_row, c_col, sq, f32, chan):
    """hist (N, n_cells_row, n_cells_col, orientations) float32 = cell histograms,
    one thread per cell: scikit-image's float32 totals in row-major pixel order,
    divided by the area in float32."""
    ncr, ncc, n_or = hist.shape[1], hist.shape[2], hist.shape[3]
    total = hist.shape[0] * ncr * ncc
    bins_per_radian = n_or / math.pi
    margin = _m.HOG_ESTIMATE_ERROR * bins_per_radian
    per = 180.0 / n_or
    pick = chan.shape[0] > 0
    for p in range(cuda.grid(1), total, cuda.gridsize(1)):
        n = p // (ncr * ncc)
        rem = p - n * ncr * ncc
        cy = rem // ncc
        cx = rem - cy * ncc
        acc = hist[n, cy, cx]
        for y in range(cy * c_row, (cy + 1) * c_row):
            for x in range(cx * c_col, (cx + 1) * c_col):
                ch = chan[n, y, x] if pick else 0
                r, c = _hog_diff(src, n, y, x, ch, sq, f32)
                m = math.sqrt(r * r + c * c)
                if m == 0.0:
                    continue
                k = hog_bin_estimate(r, c, n_or, bins_per_radian, margin)
                if k < 0:
                    k = hog_bin_exact(r, c, n_or, per)
                    if k < 0:
                        continue
                acc[k] = np.float32(np.float64(acc[k]) + m)
        area = np.float32(c_row * c_col)
        for k in range(n_or):
            acc[k] = acc[k] / area


@cuda.jit
def hog_blocks(hist, out, method, eps):
    """out (N, nbr, nbc, b_row, b_col, orientations) = normalised blocks, one thread
    per block (float64 arithmetic)."""
    nbr, nbc, b_row, b_col, n_or = out.shape[1], out.shape[2], out.shape[3], out.shape[4], \
        out.shape[5]
    total = out.shape[0] * nbr * nbc
    for p in range(cuda.grid(1), total, cuda.gridsize(1)):
        n = p // (nbr * nbc)
        rem = p - n * nbr * nbc
        r = rem // nbc
        c = rem - r * nbc
        s1 = 0.0
        s2 = 0.0
        for a in range(b_row):
            for b in range(b_col):
                for o in range(n_or):
                    v = np.float64(hist[n, r + a, c + b, o])
                    s1 += abs(v)
                    s2 += v * v
        d = hog_block_norm_scale(s1, s2, method, eps)
        d2 = 1.0
        if method == 3:
            s3 = 0.0
            for a in range(b_row):
                for b in range(b_col):
                    for o in range(n_or):
                        u = min(np.float64(hist[n, r + a, c + b, o]) / d, 0.2)
                        s3 += u * u
            d2 = math.sqrt(s3 + eps * eps)
        for a in range(b_row):
            for b in range(b_col):
                for o in range(n_or):
                    u = np.float64(hist[n, r + a, c + b, o]) / d
                    if method == 1:
                        u = math.sqrt(u)
                    elif method == 3:
                        u = min(u, 0.2) / d2
                    out[n, r, c, a, b, o] = u


# --- LBP ------------------------------------------------------------------------------


@cuda.jit(device=True)
def _lbp_corner(img, n, y, x):
    if y < 0 or y >= img.shape[1] or x < 0 or x >= img.shape[2]:
        return 0.0
    return np.float64(img[n, y, x])


@cuda.jit(device=True)
def _lbp_pixel(img, n, y, x, P, method, r_lo, r_hi, c_lo, c_hi, dr_tab, dc_tab, out,
               counts, write):
    centre = np.float64(img[n, y, x])
    code = 0
    s = 0.0
    v = 0.0
    for i in range(P):
        t = bilinear(_lbp_corner(img, n, y + r_lo[i], x + c_lo[i]),
                     _lbp_corner(img, n, y + r_lo[i], x + c_hi[i]),
                     _lbp_corner(img, n, y + r_hi[i], x + c_lo[i]),
                     _lbp_corner(img, n, y + r_hi[i], x + c_hi[i]),
                     dr_tab[i, y], dc_tab[i, x])
        if method == _m.LBP_VAR:
            s += t
            v += t * t
        elif t - centre >= 0.0:
            code |= 1 << i
    if method == _m.LBP_VAR:
        var = (v - (s * s) / P) / P
        out[n, y, x] = var if var != 0.0 else math.nan
        return
    value = lbp_value(code, P, method)
    if write:
        out[n, y, x] = np.float64(value)
    else:
        cuda.atomic.add(counts, (n, value), 1)


@cuda.jit
def lbp_pixels(img, P, method, r_lo, r_hi, c_lo, c_hi, dr_tab, dc_tab, out, counts):
    """One thread per pixel: the P bilinear samples (host-made offsets and weights,
    as the CPU kernel), then the value (``out`` (N, H, W) float64 when not empty)
    or an atomic count in ``counts`` (N, n_bins) int64. Grid: x = column, y = row,
    z = image."""
    N, H, W = img.shape
    write = out.shape[0] > 0
    x0, sx, y0, sy, z0, sz = grid3()
    n = z0
    while n < N:
        y = y0
        while y < H:
            x = x0
            while x < W:
                _lbp_pixel(img, n, y, x, P, method, r_lo, r_hi, c_lo, c_hi, dr_tab, dc_tab,
                           out, counts, write)
                x += sx
            y += sy
        n += sz


# --- GLCM -----------------------------------------------------------------------------


@cuda.jit(device=True)
def _glcm_pixel(img, n, r, c, offsets, out, symmetric):
    H, W = img.shape[1], img.shape[2]
    i = img[n, r, c]
    for k in range(offsets.shape[0]):
        rr = r + offsets[k, 0]
        cc = c + offsets[k, 1]
        if rr >= 0 and rr < H and cc >= 0 and cc < W:
            j = img[n, rr, cc]
            cuda.atomic.add(out, (n, i, j, k), 1)
            if symmetric:
                cuda.atomic.add(out, (n, j, i, k), 1)


@cuda.jit
def glcm_counts(img, offsets, out, symmetric):
    """out (N, L, L, K) uint32 += co-occurrences, one thread per (image, pixel),
    each pair an atomic increment (and its transpose when ``symmetric``). Grid:
    x = column, y = row, z = image."""
    N, H, W = img.shape
    x0, sx, y0, sy, z0, sz = grid3()
    n = z0
    while n < N:
        r = y0
        while r < H:
            c = x0
            while c < W:
                _glcm_pixel(img, n, r, c, offsets, out, symmetric)
                c += sx
            r += sy
        n += sz


@cuda.jit
def glcm_props(P, mode, w, wi, wj, out):
    """out (N, K): one property per thread and (image, k), the CPU kernel's sums in
    its order (sum, means, centred sums)."""
    M = P.shape[1]
    K = P.shape[2]
    total = P.shape[0] * K
    for t in range(cuda.grid(1), total, cuda.gridsize(1)):
        n = t // K
        k = t - n * K
        s = 0.0
        for m in range(M):
            s += np.float64(P[n, m, k])
        if s == 0.0:
            s = 1.0
        a1 = 0.0
        if mode == _m.PROP_WEIGHTED:
            for m in range(M):
                a1 += (np.float64(P[n, m, k]) / s) * w[m]
        elif mode == _m.PROP_ASM:
            for m in range(M):
                q = np.float64(P[n, m, k]) / s
                a1 += q * q
        elif mode == _m.PROP_ENTROPY:
            for m in range(M):
                q = np.float64(P[n, m, k]) / s
                if q != 0.0:
                    a1 += q * -math.log(q)
        else:
            mi = 0.0
            mj = 0.0
            for m in range(M):
                q = np.float64(P[n, m, k]) / s
                mi += q * wi[m]
                mj += q * wj[m]
            a2 = 0.0
            a3 = 0.0
            for m in range(M):
                q = np.float64(P[n, m, k]) / s
                di = wi[m] - mi
                dj = wj[m] - mj
                a1 += q * (di * di)
                a2 += q * (dj * dj)
                a3 += q * (di * dj)
            if mode == _m.PROP_CORRELATION:
                a1 = correlation_value(a3, a1, a2)
        out[n, k] = a1
