"""Numba CPU kernels for the texture descriptors: HOG, LBP, GLCM and its properties.

Like :mod:`image`, every kernel is ``@njit(nogil=True, cache=True)`` over a range
``[j0, j1)`` of jobs that ``mmfeat._workers.parallel_for`` hands to threads (no
``parallel=True``). Each kernel is compiled for one signature per input storage
type; the public layer normalises dtypes before the call. Scalar decisions shared
with the CUDA kernels live in :mod:`texture_math`.
"""

import math

import numba
import numpy as np

from . import texture_math as _m

_jit = dict(cache=True, error_model="numpy", fastmath=False)
_pjit = dict(nogil=True, **_jit)
_inline = numba.njit(inline="always", **_jit)

hog_bin_estimate = numba.njit(**_jit)(_m.hog_bin_estimate)
bilinear = numba.njit(**_jit)(_m.bilinear)
# rare paths and loops: plain calls, not inlined (small compile, small kernels)
hog_bin_exact = numba.njit(**_jit)(_m.hog_bin_exact)
lbp_value = numba.njit(**_jit)(_m.lbp_value)
correlation_value = numba.njit(**_jit)(_m.correlation_value)
hog_block_norm_scale = numba.njit(**_jit)(_m.hog_block_norm_scale)


# --- HOG -------------------------------------------------------------------------------


@numba.njit(**_jit)
def _hog_load_row(src, n, y, sq, f32, dst):
    """dst (C, W) float64 = row ``y`` of image ``n`` as scikit-image's hog sees it:
    cast to the float type, square-rooted when ``sq`` (float32: the double root
    rounded to float32, which is the correctly rounded float32 root)."""
    row = src[n, y]
    W, C = row.shape[0], row.shape[1]
    for ch in range(C):
        d = dst[ch]
        if sq:
            for x in range(W):
                d[x] = math.sqrt(np.float64(row[x, ch]))
            if f32:
                for x in range(W):
                    d[x] = np.float64(np.float32(d[x]))
        else:
            for x in range(W):
                d[x] = np.float64(row[x, ch])


@numba.njit(**_jit)
def _hog_rows(src, n, y, sq, f32, buf):
    """buf (3, C, W): rows y - 1, y, y + 1 (those inside the image)."""
    H = src.shape[1]
    for k in range(3):
        yy = y - 1 + k
        if yy >= 0 and yy < H:
            _hog_load_row(src, n, yy, sq, f32, buf[k])


@numba.njit(**_jit)
def _hog_diff_row(buf, ch, H, y, f32, gr, gc):
    """gr, gc (Wc,) = central differences of channel ``ch`` of the middle row of
    ``buf`` (0 on the first and last row and column), in the float type."""
    Wc = gr.shape[0]
    W = buf.shape[2]
    up = buf[0, ch]
    mid = buf[1, ch]
    dn = buf[2, ch]
    if y > 0 and y < H - 1:
        for x in range(Wc):
            gr[x] = dn[x] - up[x]
    else:
        gr[:] = 0.0
    gc[0] = 0.0
    for x in range(1, min(Wc, W - 1)):
        gc[x] = mid[x + 1] - mid[x - 1]
    if Wc == W:
        gc[W - 1] = 0.0
    if f32:
        for x in range(Wc):
            gr[x] = np.float64(np.float32(gr[x]))
            gc[x] = np.float64(np.float32(gc[x]))


@numba.njit(**_pjit)
def hog_channels(j0, j1, src, sq, f32, hyp, chan):
    """chan (N, Hc, Wc) int8 = the channel of largest gradient magnitude per pixel
    (first on ties), -1 where only NumPy's own hypot can tell; one job per image row.

    float32 magnitudes are the correctly rounded hypot (as NumPy's hypotf), so they
    decide. float64 ones are ordered by gr**2 + gc**2; a near-tie (relative 1e-12)
    is decided by ``hyp`` (NumPy's hypot of the integer gradients of uint8 input)
    when given, else left to the host (-1).
    """
    H, W, C = src.shape[1], src.shape[2], src.shape[3]
    Hc, Wc = chan.shape[1], chan.shape[2]
    use_table = hyp.shape[0] > 0
    buf = np.zeros((3, C, W), dtype=np.float64)
    gr = np.empty((C, Wc), dtype=np.float64)
    gc = np.empty((C, Wc), dtype=np.float64)
    for t in range(j0, j1):
        n = t // Hc
        y = t - n * Hc
        _hog_rows(src, n, y, sq, f32, buf)
        for ch in range(C):
            _hog_diff_row(buf, ch, H, y, f32, gr[ch], gc[ch])
        for x in range(Wc):
            best = -1.0
            pick = 0
            tie = False
            for ch in range(C):
                r = gr[ch, x]
                c = gc[ch, x]
                if f32 or use_table:
                    if f32:
                        s = np.float64(np.float32(math.sqrt(r * r + c * c)))
                    else:
                        s = hyp[int(abs(r)), int(abs(c))]
                    if s > best:
                        best = s
                        pick = ch
                    continue
                s = r * r + c * c
                if best < 0.0 or s > best * (1.0 + 1e-12):
                    best = s
                    pick = ch
                    tie = False
                elif s >= best * (1.0 - 1e-12) and s > 0.0 and not (
                        r == gr[pick, x] and c == gc[pick, x]):
                    tie = True  # hypot may order these either way: NumPy decides
                    best = max(best, s)
            chan[n, y, x] = -1 if tie else pick


@numba.njit(**_jit)
def _hog_gradient_row(src, n, y, sq, f32, chan, buf, g_all, gr, gc):
    """gr, gc (Wc,) = the gradients of row ``y`` in the channel ``chan`` picks per
    pixel (channel 0 when ``chan`` is empty: a gray batch)."""
    H, C = src.shape[1], src.shape[3]
    _hog_rows(src, n, y, sq, f32, buf)
    if chan.shape[0] == 0:
        _hog_diff_row(buf, 0, H, y, f32, gr, gc)
        return
    for ch in range(C):
        _hog_diff_row(buf, ch, H, y, f32, g_all[0, ch], g_all[1, ch])
    cy = chan[n, y]
    for x in range(gr.shape[0]):
        ch = cy[x]
        gr[x] = g_all[0, ch, x]
        gc[x] = g_all[1, ch, x]


@numba.njit(**_jit)
def _hog_bins_row(gr, gc, n_or, bins_per_radian, margin, mag, kb):
    """mag (Wc,) = gradient magnitude, kb (Wc,) = estimated bin (-1: ask atan2)."""
    for x in range(gr.shape[0]):
        r = gr[x]
        c = gc[x]
        mag[x] = math.sqrt(r * r + c * c)
        kb[x] = hog_bin_estimate(r, c, n_or, bins_per_radian, margin)


@numba.njit(**_pjit)
def hog_cells(j0, j1, src, hist, c_row, c_col, sq, f32, chan, defer, deferred, n_deferred):
    """hist (N, n_cells_row, n_cells_col, orientations) float32 += the cell totals;
    one job per (image, row of cells); ``hist`` arrives zeroed.

    As scikit-image's ``cell_hog``: each pixel adds its magnitude to the bin of its
    orientation in a float32 total (``total = float(double(total) + magnitude)``),
    in row-major order; the caller divides by the cell area in float32.

    Near a bin edge the bin is atan2's. C's atan2 agrees with NumPy's on every
    integer gradient, and on the exact angles (a zero component, |g_row| ==
    |g_col|), so those are binned here. Otherwise, when ``defer`` (float gradients),
    the pixel is left to the host, which bins it with NumPy's own arctan2:
    ``deferred[t, :n_deferred[t]]`` lists ``y * Wc + x`` of job t's pixels.
    """
    ncr, ncc, n_or = hist.shape[1], hist.shape[2], hist.shape[3]
    Wc = ncc * c_col
    bins_per_radian = n_or / math.pi
    margin = _m.HOG_ESTIMATE_ERROR * bins_per_radian
    per = 180.0 / n_or
    C, W = src.shape[3], src.shape[2]
    buf = np.zeros((3, C, W), dtype=np.float64)
    g_all = np.empty((2, C, Wc), dtype=np.float64)
    gr = np.empty(Wc, dtype=np.float64)
    gc = np.empty(Wc, dtype=np.float64)
    mag = np.empty(Wc, dtype=np.float64)
    kb = np.empty(Wc, dtype=np.int64)
    for t in range(j0, j1):
        n = t // ncr
        ci = t - n * ncr
        acc = hist[n, ci]
        nd = 0
        for y in range(ci * c_row, (ci + 1) * c_row):
            _hog_gradient_row(src, n, y, sq, f32, chan, buf, g_all, gr, gc)
            _hog_bins_row(gr, gc, n_or, bins_per_radian, margin, mag, kb)
            for x in range(Wc):
                m = mag[x]
                if m == 0.0:
                    continue  # adds +0.0: the float32 total is unchanged
                k = kb[x]
                if k < 0:
                    r = gr[x]
                    c = gc[x]
                    if defer and r != 0.0 and c != 0.0 and abs(r) != abs(c):
                        deferred[t, nd] = y * Wc + x
                        nd += 1
                        continue
                    k = hog_bin_exact(r, c, n_or, per)
                    if k < 0:
                        continue
                cx = x // c_col
                acc[cx, k] = np.float32(np.float64(acc[cx, k]) + m)
        n_deferred[t] = nd


@numba.njit(**_pjit)
def hog_blocks(j0, j1, hist, out, method, eps):
    """out (N, n_blocks_row, n_blocks_col, b_row, b_col, orientations) = the
    normalised blocks of the cell histograms (float64 arithmetic, as scikit-image's
    ``_hog_normalize_block``); one job per (image, row of blocks).

    method: 0 L1, 1 L1-sqrt, 2 L2, 3 L2-Hys.
    """
    nbr, nbc, b_row, b_col, n_or = out.shape[1], out.shape[2], out.shape[3], out.shape[4], \
        out.shape[5]
    for t in range(j0, j1):
        n = t // nbr
        r = t - n * nbr
        for c in range(nbc):
            s1 = 0.0
            s2 = 0.0
            for a in range(b_row):
                for b in range(b_col):
                    for o in range(n_or):
                        v = np.float64(hist[n, r + a, c + b, o])
                        s1 += abs(v)
                        s2 += v * v
            d = hog_block_norm_scale(s1, s2, method, eps)
            if method == 3:
                s3 = 0.0
                for a in range(b_row):
                    for b in range(b_col):
                        for o in range(n_or):
                            u = min(np.float64(hist[n, r + a, c + b, o]) / d, 0.2)
                            s3 += u * u
                d2 = math.sqrt(s3 + eps * eps)
            blk = out[n, r, c]
            for a in range(b_row):
                for b in range(b_col):
                    for o in range(n_or):
                        u = np.float64(hist[n, r + a, c + b, o]) / d
                        if method == 1:
                            u = math.sqrt(u)
                        elif method == 3:
                            u = min(u, 0.2) / d2
                        blk[a, b, o] = u


# --- LBP -------------------------------------------------------------------------------


@numba.njit(**_jit)
def _lbp_sample(img, n, y, x, ra, rb, ca, cb, dr, dc):
    """Bilinear sample with zeros outside the image (scikit-image's mode 'C', cval 0)."""
    H, W = img.shape[1], img.shape[2]
    tl = 0.0
    tr = 0.0
    bl = 0.0
    br = 0.0
    ya = y + ra
    yb = y + rb
    xa = x + ca
    xb = x + cb
    if ya >= 0 and ya < H:
        if xa >= 0 and xa < W:
            tl = np.float64(img[n, ya, xa])
        if xb >= 0 and xb < W:
            tr = np.float64(img[n, ya, xb])
    if yb >= 0 and yb < H:
        if xa >= 0 and xa < W:
            bl = np.float64(img[n, yb, xa])
        if xb >= 0 and xb < W:
            br = np.float64(img[n, yb, xb])
    return bilinear(tl, tr, bl, br, dr, dc)


@numba.njit(**_jit)
def _lbp_point_row(img, n, y, ra, rb, ca, cb, dr, dc_row, zero_row, tex):
    """tex (W,) = the samples of one circle point for every pixel of row ``y``."""
    H, W = img.shape[1], img.shape[2]
    ya = y + ra
    yb = y + rb
    A = img[n, ya] if (ya >= 0 and ya < H) else zero_row
    B = img[n, yb] if (yb >= 0 and yb < H) else zero_row
    x0 = max(0, -ca)
    x1 = min(W, W - cb)
    if x1 < x0:
        x1 = x0
    for x in range(0, min(x0, W)):
        tex[x] = _lbp_sample(img, n, y, x, ra, rb, ca, cb, dr, dc_row[x])
    for x in range(x0, x1):  # every corner inside the row: no checks, vectorises
        tex[x] = bilinear(np.float64(A[x + ca]), np.float64(A[x + cb]), np.float64(B[x + ca]),
                          np.float64(B[x + cb]), dr, dc_row[x])
    for x in range(max(x1, x0), W):
        tex[x] = _lbp_sample(img, n, y, x, ra, rb, ca, cb, dr, dc_row[x])


@numba.njit(**_pjit)
def lbp_rows(j0, j1, img, P, method, r_lo, r_hi, c_lo, c_hi, dr_tab, dc_tab, zero_row,
             rows_per_task, table, out, counts):
    """LBP of rows of ``img`` (N, H, W), uint8 or float64.

    One job per (image, block of ``rows_per_task`` rows). Sample i of pixel (y, x)
    is the bilinear value at (y + rp[i], x + cp[i]) with corners at row offsets
    ``r_lo[i]``, ``r_hi[i]``, column offsets ``c_lo[i]``, ``c_hi[i]`` and weights
    ``dr_tab[i, y]``, ``dc_tab[i, x]`` (computed on the host exactly as scikit-image
    rounds them). With ``out`` (N, H, W) float64 of size > 0 the values are written;
    else ``counts`` (N, T, n_bins) int64 counts them per job. ``table`` (2**P,),
    when not empty, holds :func:`lbp_value` of every code (small P).
    """
    H, W = img.shape[1], img.shape[2]
    nblk = (H + rows_per_task - 1) // rows_per_task
    write = out.shape[0] > 0
    tex = np.empty(W, dtype=np.float64)
    code = np.empty(W, dtype=np.int64)
    s = np.empty(W, dtype=np.float64)
    v = np.empty(W, dtype=np.float64)
    for t in range(j0, j1):
        n = t // nblk
        b = t - n * nblk
        for y in range(b * rows_per_task, min(H, (b + 1) * rows_per_task)):
            centre = img[n, y]
            code[:] = 0
            s[:] = 0.0
            v[:] = 0.0
            for i in range(P):
                _lbp_point_row(img, n, y, r_lo[i], r_hi[i], c_lo[i], c_hi[i], dr_tab[i, y],
                               dc_tab[i], zero_row, tex)
                if method == _m.LBP_VAR:
                    for x in range(W):
                        s[x] += tex[x]
                        v[x] += tex[x] * tex[x]
                else:
                    for x in range(W):
                        bit = np.int64((tex[x] - np.float64(centre[x])) >= 0.0)
                        code[x] |= bit << i
            if method == _m.LBP_VAR:
                for x in range(W):
                    var = (v[x] - (s[x] * s[x]) / P) / P
                    out[n, y, x] = var if var != 0.0 else np.nan
            else:
                if table.shape[0] > 0:
                    for x in range(W):
                        code[x] = table[code[x]]
                else:
                    for x in range(W):
                        code[x] = lbp_value(code[x], P, method)
                if write:
                    for x in range(W):
                        out[n, y, x] = np.float64(code[x])
                else:
                    cnt = counts[n, b]
                    for x in range(W):
                        cnt[code[x]] += 1


# --- GLCM ------------------------------------------------------------------------------


@numba.njit(**_pjit)
def glcm_counts(j0, j1, img, offsets, out, symmetric):
    """out (N, L, L, K) uint32 += co-occurrence counts; one job per (image, offset k).

    ``offsets`` (K, 2): the (row, column) offset of pair k (scikit-image's rounding
    of sin/cos(angle) * distance, done on the host). The pair (image[r, c],
    image[r + dr, c + dc]) counts where both pixels are inside; ``symmetric`` also
    counts it transposed (P + P.T).
    """
    H, W = img.shape[1], img.shape[2]
    K = offsets.shape[0]
    for t in range(j0, j1):
        n = t // K
        k = t - n * K
        dr = offsets[k, 0]
        dc = offsets[k, 1]
        r0 = max(0, -dr)
        r1 = min(H, H - dr)
        c0 = max(0, -dc)
        c1 = min(W, W - dc)
        o = out[n]
        for r in range(r0, r1):
            a = img[n, r]
            b = img[n, r + dr]
            for c in range(c0, c1):
                i = a[c]
                j = b[c + dc]
                o[i, j, k] += 1
                if symmetric:
                    o[j, i, k] += 1


@numba.njit(**_pjit)
def glcm_props(j0, j1, P, mode, w, wi, wj, out):
    """out (N, K) = one graycoprops property of P (N, L*L, K), one job per image.

    As scikit-image: p = P / (sum of P over (i, j), 0 -> 1), then ``mode``
    (:mod:`texture_math` PROP_*): weighted sum of p by ``w`` (L*L,), sum of p**2,
    variance about the mean (weights ``wi`` = i), entropy, correlation (``wi``,
    ``wj`` = i, j).
    """
    M = P.shape[1]
    K = P.shape[2]
    s = np.empty(K, dtype=np.float64)
    a1 = np.empty(K, dtype=np.float64)
    a2 = np.empty(K, dtype=np.float64)
    a3 = np.empty(K, dtype=np.float64)
    mi = np.empty(K, dtype=np.float64)
    mj = np.empty(K, dtype=np.float64)
    for n in range(j0, j1):
        p = P[n]
        s[:] = 0.0
        a1[:] = 0.0
        a2[:] = 0.0
        a3[:] = 0.0
        mi[:] = 0.0
        mj[:] = 0.0
        for m in range(M):
            for k in range(K):
                s[k] += np.float64(p[m, k])
        for k in range(K):
            if s[k] == 0.0:
                s[k] = 1.0
        if mode == _m.PROP_WEIGHTED:
            for m in range(M):
                wv = w[m]
                for k in range(K):
                    a1[k] += (np.float64(p[m, k]) / s[k]) * wv
        elif mode == _m.PROP_ASM:
            for m in range(M):
                for k in range(K):
                    q = np.float64(p[m, k]) / s[k]
                    a1[k] += q * q
        elif mode == _m.PROP_ENTROPY:
            for m in range(M):
                for k in range(K):
                    q = np.float64(p[m, k]) / s[k]
                    if q != 0.0:
                        a1[k] += q * -math.log(q)
        else:  # variance / correlation: means first, then centred sums
            for m in range(M):
                iv = wi[m]
                jv = wj[m]
                for k in range(K):
                    q = np.float64(p[m, k]) / s[k]
                    mi[k] += q * iv
                    mj[k] += q * jv
            for m in range(M):
                iv = wi[m]
                jv = wj[m]
                for k in range(K):
                    q = np.float64(p[m, k]) / s[k]
                    di = iv - mi[k]
                    dj = jv - mj[k]
                    a1[k] += q * (di * di)
                    a2[k] += q * (dj * dj)
                    a3[k] += q * (di * dj)
            if mode == _m.PROP_CORRELATION:
                for k in range(K):
                    a1[k] = correlation_value(a3[k], a1[k], a2[k])
        for k in range(K):
            out[n, k] = a1[k]


@numba.njit(**_jit)
def lbp_table(P, method, table):
    """table (2**P,) = :func:`lbp_value` of every P-bit code."""
    for code in range(table.shape[0]):
        table[code] = lbp_value(code, P, method)
