"""Numba CPU kernels for the texture descriptors: HOG, LBP, GLCM and its properties.

Like :mod:`image`, every kernel is ``@njit(nogil=True, cache=True)`` over a range
``[j0, j1)`` of jobs that ``mmfeat._workers.parallel_for`` hands to threads (no
``parallel=True``). Each kernel is compiled for one signature per input storage
type; the public layer normalises dtypes before the call. Scalar decisions shared
with the CUDA kernels live in :mod:`texture_math`; the LBP values of a row and the
graycoprops sums are row-vectorised here (bit counts, marginals), and the tests
hold both targets to scikit-image exactly.
"""

import math

import numba
import numpy as np

from . import texture_math as _m

_jit = dict(cache=True, error_model="numpy", fastmath=False)
_pjit = dict(nogil=True, **_jit)

hog_bin_estimate = numba.njit(**_jit)(_m.hog_bin_estimate)
# rare paths and loops: plain calls, not inlined (small compile, small kernels)
hog_bin_exact = numba.njit(**_jit)(_m.hog_bin_exact)
hog_block_norm_scale = numba.njit(**_jit)(_m.hog_block_norm_scale)


# --- HOG -------------------------------------------------------------------------------


@numba.njit(**_jit)
def _hog_gradients(src, n, y, sq, f32, buf, g):
    """g (2 * C * Wc,): the gradients of row ``y`` of image ``n``, every channel ch:
    g_row at ``g[ch * Wc + x]``, g_col at ``g[(C + ch) * Wc + x]``.

    Rows y - 1, y, y + 1 (those inside the image) are read into ``buf`` (3 * C * W,)
    as scikit-image's hog sees them: cast to the float type, square-rooted when
    ``sq`` (float32: the double root rounded to float32, which is the correctly
    rounded float32 root). Central differences, 0 on the first and last row and
    column, in the float type. Flat buffers: one allocation routine compiled.
    """
    H, W, C = src.shape[1], src.shape[2], src.shape[3]
    Wc = g.shape[0] // (2 * C)
    for k in range(3):
        yy = y - 1 + k
        if yy < 0 or yy >= H:
            continue
        row = src[n, yy]
        for ch in range(C):
            d = buf[(k * C + ch) * W:(k * C + ch + 1) * W]
            if sq:
                for x in range(W):
                    d[x] = math.sqrt(np.float64(row[x, ch]))
                if f32:
                    for x in range(W):
                        d[x] = np.float64(np.float32(d[x]))
            else:
                for x in range(W):
                    d[x] = np.float64(row[x, ch])
    inner = y > 0 and y < H - 1
    for ch in range(C):
        up = buf[ch * W:(ch + 1) * W]
        mid = buf[(C + ch) * W:(C + ch + 1) * W]
        dn = buf[(2 * C + ch) * W:(2 * C + ch + 1) * W]
        gr = g[ch * Wc:(ch + 1) * Wc]
        gc = g[(C + ch) * Wc:(C + ch + 1) * Wc]
        for x in range(Wc):
            gr[x] = (dn[x] - up[x]) if inner else 0.0
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
    W, C = src.shape[2], src.shape[3]
    Hc, Wc = chan.shape[1], chan.shape[2]
    use_table = hyp.shape[0] > 0
    buf = np.zeros(3 * C * W, dtype=np.float64)
    g = np.empty(2 * C * Wc, dtype=np.float64)
    for t in range(j0, j1):
        n = t // Hc
        y = t - n * Hc
        _hog_gradients(src, n, y, sq, f32, buf, g)
        for x in range(Wc):
            best = -1.0
            pick = 0
            tie = False
            for ch in range(C):
                r = g[ch * Wc + x]
                c = g[(C + ch) * Wc + x]
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
                        r == g[pick * Wc + x] and c == g[(C + pick) * Wc + x]):
                    tie = True  # hypot may order these either way: NumPy decides
                    best = max(best, s)
            chan[n, y, x] = -1 if tie else pick


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
    buf = np.zeros(3 * C * W, dtype=np.float64)
    g = np.empty(2 * C * Wc, dtype=np.float64)
    picked = np.empty(2 * Wc, dtype=np.float64)
    mag = np.empty(Wc, dtype=np.float64)
    kb = np.empty(Wc, dtype=np.int64)
    gray = chan.shape[0] == 0
    for t in range(j0, j1):
        n = t // ncr
        ci = t - n * ncr
        acc = hist[n, ci]
        nd = 0
        for y in range(ci * c_row, (ci + 1) * c_row):
            _hog_gradients(src, n, y, sq, f32, buf, g)
            gr = g[:Wc]  # gray: channel 0 as it is
            gc = g[Wc:2 * Wc]
            if not gray:  # the channel chan picks per pixel
                cy = chan[n, y]
                gr = picked[:Wc]
                gc = picked[Wc:]
                for x in range(Wc):
                    ch = cy[x]
                    gr[x] = g[ch * Wc + x]
                    gc[x] = g[(C + ch) * Wc + x]
            for x in range(Wc):  # magnitude and estimated bin (-1: ask atan2)
                r = gr[x]
                c = gc[x]
                mag[x] = math.sqrt(r * r + c * c)
                kb[x] = hog_bin_estimate(r, c, n_or, bins_per_radian, margin)
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
def hog_blocks(j0, j1, hist, out, b_row, b_col, n_or, method, eps):
    """out (N, n_blocks_row, n_blocks_col, b_row * b_col * n_or) = the normalised
    blocks of the cell histograms ``hist`` (N, n_cells_row, n_cells_col * n_or)
    (float64 arithmetic in scikit-image's order, as its ``_hog_normalize_block``);
    one job per (image, row of blocks). Row a of block (r, c) is the contiguous
    run ``hist[n, r + a, c * n_or:(c + b_col) * n_or]``.

    method: 0 L1, 1 L1-sqrt, 2 L2, 3 L2-Hys.
    """
    nbr, nbc = out.shape[1], out.shape[2]
    run = b_col * n_or
    for t in range(j0, j1):
        n = t // nbr
        r = t - n * nbr
        for c in range(nbc):
            s1 = 0.0
            s2 = 0.0
            for a in range(b_row):
                h = hist[n, r + a, c * n_or:c * n_or + run]
                for m in range(run):
                    v = np.float64(h[m])
                    s1 += abs(v)
                    s2 += v * v
            d = hog_block_norm_scale(s1, s2, method, eps)
            d2 = 1.0
            if method == 3:
                s3 = 0.0
                for a in range(b_row):
                    h = hist[n, r + a, c * n_or:c * n_or + run]
                    for m in range(run):
                        u = np.float64(h[m]) / d
                        u = 0.2 if u > 0.2 else u  # np.minimum (NaN stays)
                        s3 += u * u
                d2 = math.sqrt(s3 + eps * eps)
            blk = out[n, r, c]
            for a in range(b_row):
                h = hist[n, r + a, c * n_or:c * n_or + run]
                for m in range(run):
                    u = np.float64(h[m]) / d
                    if method == 1:
                        u = math.sqrt(u)
                    elif method == 3:
                        u = (0.2 if u > 0.2 else u) / d2
                    blk[a * run + m] = u


# --- LBP -------------------------------------------------------------------------------


@numba.njit(**_jit)
def _popcount(v):
    """Number of set bits of a non-negative int64 (SWAR; LLVM emits popcnt)."""
    v = v - ((v >> 1) & 0x5555555555555555)
    v = (v & 0x3333333333333333) + ((v >> 2) & 0x3333333333333333)
    v = (v + (v >> 4)) & 0x0F0F0F0F0F0F0F0F
    return (v * 0x0101010101010101) >> 56 & 0xFF


@numba.njit(**_jit)
def _lbp_codes_row(code, P, method, table, W):
    """code[:W] = the LBP value of each P-bit sign code, as :func:`texture_math.lbp_value`.

    ``table`` (when not empty) holds every value (small P); uniform and nri_uniform
    are computed with bit counts: the transitions of the linear bit sequence are
    the set bits of ``(code ^ code >> 1)`` below bit P - 1, the first one / zero
    the trailing zeros of code / ~code. Branch-free, so the row loop vectorises.
    """
    if table.shape[0] > 0:
        for x in range(W):
            code[x] = table[code[x]]
        return
    if method == _m.LBP_DEFAULT:
        return
    if method == _m.LBP_ROR:  # the smallest right rotation, as lbp_value (large P only)
        for x in range(W):
            c = code[x]
            best = c
            for _ in range(1, P):
                c = (c >> 1) | ((c & 1) << (P - 1))
                best = min(best, c)
            code[x] = best
        return
    lin = (np.int64(1) << (P - 1)) - 1
    full = (np.int64(1) << P) - 1
    if method == _m.LBP_UNIFORM:
        for x in range(W):
            c = code[x]
            changes = _popcount((c ^ (c >> 1)) & lin)
            ones = _popcount(c)
            code[x] = ones if changes <= 2 else P + 1
        return
    for x in range(W):  # nri_uniform
        c = code[x]
        changes = _popcount((c ^ (c >> 1)) & lin)
        ones = _popcount(c)
        nc = ~c & full
        first_one = _popcount((c & -c) - 1)  # P for c == 0 (unused then)
        first_zero = _popcount((nc & -nc) - 1)
        rot = (ones - first_zero) if first_one == 0 else (P - first_one)
        v = 1 + (ones - 1) * P + rot
        v = (P * (P - 1) + 1) if ones == P else v
        v = 0 if ones == 0 else v
        code[x] = (P * (P - 1) + 2) if changes > 2 else v


@numba.njit(**_pjit)
def lbp_rows(j0, j1, img, P, method, r_lo, r_hi, c_lo, c_hi, dr_tab, dc_tab, omdc_tab,
             rows_per_task, table, out, counts):
    """LBP of rows of ``img`` (N, H, W), uint8 or float64.

    One job per (image, block of ``rows_per_task`` rows). Sample i of pixel (y, x)
    is the bilinear value at (y + rp[i], x + cp[i]) with corners at row offsets
    ``r_lo[i]``, ``r_hi[i]``, column offsets ``c_lo[i]``, ``c_hi[i]`` and weights
    ``dr_tab[i, y]``, ``dc_tab[i, x]``, ``omdc_tab[i, x] = 1 - dc_tab[i, x]``
    (computed on the host exactly as scikit-image rounds them). The block's rows,
    with the reach of the circle above and below, are read once into a float64
    buffer padded with zeros (scikit-image's mode 'C', cval 0), so that each
    circle point is one branch-free pass over a row: scikit-image's operations
    in its order, vectorised. With ``out`` (N, H, W) float64 of size > 0 the
    values are written; else ``counts`` (N, T, n_bins) int64 counts them per job.
    ``table`` (2**P,), when not empty, holds :func:`texture_math.lbp_value` of every code.
    """
    H, W = img.shape[1], img.shape[2]
    nblk = (H + rows_per_task - 1) // rows_per_task
    write = out.shape[0] > 0
    is_var = method == _m.LBP_VAR
    r0 = 0
    r1 = 0
    pl = 0
    pr = 0
    for i in range(P):
        r0 = min(r0, r_lo[i])
        r1 = max(r1, r_hi[i])
        pl = max(pl, -c_lo[i])
        pr = max(pr, c_hi[i])
    buf = np.zeros((rows_per_task + r1 - r0, W + pl + pr), dtype=np.float64)
    code = np.empty(W, dtype=np.int64)
    s = np.empty(W, dtype=np.float64)
    v = np.empty(W, dtype=np.float64)
    for t in range(j0, j1):
        n = t // nblk
        b = t - n * nblk
        y0 = b * rows_per_task
        y1 = min(H, y0 + rows_per_task)
        for q in range(y1 - y0 + r1 - r0):
            yy = y0 + r0 + q
            dst = buf[q]
            if yy >= 0 and yy < H:
                src = img[n, yy]
                for x in range(W):
                    dst[pl + x] = np.float64(src[x])
            else:
                for x in range(W):
                    dst[pl + x] = 0.0
        for y in range(y0, y1):
            q = y - y0 - r0
            cen = buf[q, pl:pl + W]
            if is_var:
                s[:] = 0.0
                v[:] = 0.0
            else:
                code[:] = 0
            for i in range(P):
                A = buf[q + r_lo[i]]
                B = buf[q + r_hi[i]]
                A0 = A[pl + c_lo[i]:pl + c_lo[i] + W]
                A1 = A[pl + c_hi[i]:pl + c_hi[i] + W]
                B0 = B[pl + c_lo[i]:pl + c_lo[i] + W]
                B1 = B[pl + c_hi[i]:pl + c_hi[i] + W]
                dc = dc_tab[i]
                om = omdc_tab[i]
                dr = dr_tab[i, y]
                omdr = 1.0 - dr
                if is_var:
                    for x in range(W):
                        top = om[x] * A0[x] + dc[x] * A1[x]
                        bottom = om[x] * B0[x] + dc[x] * B1[x]
                        tex = omdr * top + dr * bottom
                        s[x] += tex
                        v[x] += tex * tex
                else:
                    for x in range(W):
                        top = om[x] * A0[x] + dc[x] * A1[x]
                        bottom = om[x] * B0[x] + dc[x] * B1[x]
                        tex = omdr * top + dr * bottom
                        code[x] |= np.int64((tex - cen[x]) >= 0.0) << i
            if is_var:
                o = out[n, y]
                for x in range(W):
                    var = (v[x] - (s[x] * s[x]) / P) / P
                    o[x] = var if var != 0.0 else np.nan
                continue
            _lbp_codes_row(code, P, method, table, W)
            if write:
                o = out[n, y]
                for x in range(W):
                    o[x] = np.float64(code[x])
            else:
                cnt = counts[n, b]
                for x in range(W):
                    cnt[code[x]] += 1


# --- GLCM ------------------------------------------------------------------------------


_U1 = np.uint32(1)


@numba.njit(**_jit)
def _glcm_count_one(t, base, b, K, k):
    """t (L*L*K,) += the pairs (a, b[c]) of offset k at (a * L + b) * K + k, with
    ``base[c]`` = a * L * K.

    Unsigned indices: Numba adds no wrap-around arithmetic for them (a third of
    the cost of an increment)."""
    Ku = np.uint64(K)
    ku = np.uint64(k)
    for c in range(b.shape[0]):
        cu = np.uint64(c)
        t[base[cu] + np.uint64(b[cu]) * Ku + ku] += _U1


@numba.njit(**_pjit)
def glcm_counts(j0, j1, img, offsets, L, symmetric, split, counts, normed):
    """Co-occurrence matrices of images j0..j1-1 of ``img`` (N, H, W); one job per image.

    ``offsets`` (K, 2): the (row, column) offset of pair k (scikit-image's rounding
    of sin/cos(angle) * distance, done on the host). The pair (image[r, c],
    image[r + dr, c + dc]) counts where both pixels are inside, into a (L*L, K)
    uint32 table per image (in cache; the offsets of a pixel's pairs share lines),
    one row pass for all offsets: four offsets at a time in one column loop (four
    independent chains of increments), the row times L * K once per row. With
    ``split``, even and odd columns count into two tables, summed at the end: on a
    smooth image few levels repeat one pair along a row, and one table makes each
    increment wait for the store of the previous one.

    Then the table is made symmetric in place (P + P transposed) and ``counts`` (N, L*L*K)
    uint32 or, when it is empty, ``normed`` (N, L*L*K) float64 is written in one
    contiguous (SIMD) pass, for ``normed`` divided by the number of pairs counted
    (1 when none), which is the double scikit-image sums.
    """
    H, W = img.shape[1], img.shape[2]
    K = offsets.shape[0]
    LL = L * L
    LLK = LL * K
    LK = L * K
    n_tab = 2 if split else 1
    t = np.empty(n_tab * LLK, dtype=np.uint32)
    base = np.empty(W, dtype=np.uint64)
    Ku = np.uint64(K)
    Lu = np.uint64(L)
    LKu = np.uint64(L * K)
    # the odd columns' table: LLK entries on (0 without split: the same table)
    odd = np.uint64(LLK if split else 0)
    write_counts = counts.shape[0] > 0
    total = np.empty(K, dtype=np.float64)
    for k in range(K):
        dr = offsets[k, 0]
        dc = offsets[k, 1]
        pairs = max(0, min(H, H - dr) - max(0, -dr)) * max(0, min(W, W - dc) - max(0, -dc))
        tot = np.float64(pairs * (2 if symmetric else 1))
        total[k] = tot if tot != 0.0 else 1.0
    totrep = np.empty(LK, dtype=np.float64)
    for jk in range(LK):
        totrep[jk] = total[jk % K]
    for n in range(j0, j1):
        t[:] = 0
        for r in range(H):
            a = img[n, r]
            for c in range(W):
                base[c] = np.uint64(a[c]) * LKu
            k = K - K  # not a literal 0: one compiled signature of the helpers
            while k < K:
                quad = k + 4 <= K
                if quad:
                    for u in range(4):
                        rr = r + offsets[k + u, 0]
                        quad = quad and rr >= 0 and rr < H
                if quad:  # the columns every offset of k..k+3 reaches, in one loop
                    lo = 0
                    hi = W
                    for u in range(4):
                        lo = max(lo, -offsets[k + u, 1])
                        hi = min(hi, W - offsets[k + u, 1])
                    hi = max(hi, lo)
                    m = hi - lo
                    d0 = lo + offsets[k, 1]
                    d1 = lo + offsets[k + 1, 1]
                    d2 = lo + offsets[k + 2, 1]
                    d3 = lo + offsets[k + 3, 1]
                    bs = base[lo:hi]
                    b0 = img[n, r + offsets[k, 0], d0:d0 + m]
                    b1 = img[n, r + offsets[k + 1, 0], d1:d1 + m]
                    b2 = img[n, r + offsets[k + 2, 0], d2:d2 + m]
                    b3 = img[n, r + offsets[k + 3, 0], d3:d3 + m]
                    bk = np.uint64(k)
                    for c in range(m):
                        cu = np.uint64(c)
                        bc = bs[cu] + bk + (cu & np.uint64(1)) * odd
                        t[bc + np.uint64(b0[cu]) * Ku] += _U1
                        t[bc + np.uint64(b1[cu]) * Ku + np.uint64(1)] += _U1
                        t[bc + np.uint64(b2[cu]) * Ku + np.uint64(2)] += _U1
                        t[bc + np.uint64(b3[cu]) * Ku + np.uint64(3)] += _U1
                    for u in range(4):  # the columns outside the common range
                        dc = offsets[k + u, 1]
                        b = img[n, r + offsets[k + u, 0]]
                        e0 = max(0, -dc)
                        e1 = min(W, W - dc)
                        c1 = min(lo, e1)
                        if c1 > e0:
                            _glcm_count_one(t, base[e0:c1], b[e0 + dc:c1 + dc], K, k + u)
                        c0 = max(hi, e0)
                        if e1 > c0:
                            _glcm_count_one(t, base[c0:e1], b[c0 + dc:e1 + dc], K, k + u)
                    k += 4
                    continue
                rr = r + offsets[k, 0]
                dc = offsets[k, 1]
                e0 = max(0, -dc)
                e1 = min(W, W - dc)
                if rr >= 0 and rr < H and e1 > e0:
                    _glcm_count_one(t, base[e0:e1], img[n, rr, e0 + dc:e1 + dc], K, k)
                k += 1
        if split:
            for m in range(LLK):
                t[m] += t[LLK + m]
        if symmetric:  # (i, j, k) += (j, i, k) in 16 x 16 tiles of (i, j): the
            # transposed reads stay in cache (unsigned indices: no wrap-around code)
            for i0 in range(0, L, 16):
                for j0 in range(i0, L, 16):
                    for i in range(i0, min(i0 + 16, L)):
                        for j in range(max(j0, i), min(j0 + 16, L)):
                            ia = (np.uint64(i) * Lu + np.uint64(j)) * Ku
                            ib = (np.uint64(j) * Lu + np.uint64(i)) * Ku
                            for k in range(K):
                                ku = np.uint64(k)
                                v = t[ia + ku] + t[ib + ku]
                                t[ia + ku] = v
                                t[ib + ku] = v
        if write_counts:
            cn = counts[n]
            for m in range(LLK):
                cn[m] = t[m]
        else:
            fn = normed[n]
            for i in range(L):
                src = t[i * LK:(i + 1) * LK]
                dst = fn[i * LK:(i + 1) * LK]
                for jk in range(LK):  # 0 / total is 0: no branch
                    dst[jk] = np.float64(src[jk]) / totrep[jk]


@numba.njit(**_pjit)
def glcm_props(j0, j1, P, mode, w, out):
    """out (N, K): a graycoprops property of each matrix of P (N, L, L*K), one job
    per image: one pass for the marginals, then the property from them. The pass
    takes R (L, K) row sums sum_j p_ij, A (L, K) row sums sum_j p_ij * w[i*L + j]
    (``w`` (L*L,)) or sum_j p_ij**2 for ASM (``mode`` 1), and for correlation
    (``mode`` 4) C (L*K) column sums sum_i p_ij (flat j*K + k) (only then: its
    read-modify-write per entry is a third of the pass), four offsets at a time in
    register accumulators (independent chains). The property's formula
    (texture_math.correlation_value's for correlation) is written out in the
    kernel: one compiled unit, a shorter first call.
    """
    L = P.shape[1]
    K = P.shape[2] // L
    Ku = np.uint64(K)
    one = np.uint64(1)
    two = np.uint64(2)
    three = np.uint64(3)
    sq = mode == 1
    need_c = mode == 4
    R = np.empty((L, K), dtype=np.float64)
    A = np.empty((L, K), dtype=np.float64)
    Cn = np.empty(L * K, dtype=np.float64)
    for n in range(j0, j1):
        if need_c:
            Cn[:] = 0.0
        for i in range(L):
            x = P[n, i]
            wr = w[i * L:(i + 1) * L]
            ri = R[i]
            ai = A[i]
            k = K - K  # not a literal 0
            while k < K:
                k0 = np.uint64(k)
                if k + 4 <= K:
                    s0 = s1 = s2 = s3 = 0.0
                    a0 = a1 = a2 = a3 = 0.0
                    for j in range(L):
                        ju = np.uint64(j)
                        bj = ju * Ku + k0
                        v0 = np.float64(x[bj])
                        v1 = np.float64(x[bj + one])
                        v2 = np.float64(x[bj + two])
                        v3 = np.float64(x[bj + three])
                        s0 += v0
                        s1 += v1
                        s2 += v2
                        s3 += v3
                        f = wr[ju]
                        a0 += v0 * (v0 if sq else f)
                        a1 += v1 * (v1 if sq else f)
                        a2 += v2 * (v2 if sq else f)
                        a3 += v3 * (v3 if sq else f)
                        if need_c:
                            Cn[bj] += v0
                            Cn[bj + one] += v1
                            Cn[bj + two] += v2
                            Cn[bj + three] += v3
                    ri[k] = s0
                    ri[k + 1] = s1
                    ri[k + 2] = s2
                    ri[k + 3] = s3
                    ai[k] = a0
                    ai[k + 1] = a1
                    ai[k + 2] = a2
                    ai[k + 3] = a3
                    k += 4
                    continue
                s0 = 0.0
                a0 = 0.0
                for j in range(L):
                    bj = np.uint64(j) * Ku + k0
                    v0 = np.float64(x[bj])
                    s0 += v0
                    a0 += v0 * (v0 if sq else wr[np.uint64(j)])
                    if need_c:
                        Cn[bj] += v0
                ri[k] = s0
                ai[k] = a0
                k += 1

        # the property from the marginals, as scikit-image defines it on p = P / S
        # (S = sum p, 0 -> 1): mode 0 (a weighted sum) sum_i A_i / S, 1 (ASM)
        # sum_i A_i / S**2, 2 (variance) sum_i R_i (i - m)**2 / S, m = sum_i i R_i / S,
        # 4 (correlation) cov / (std_i std_j) (1 where one is below 1e-15) with
        # cov = sum_i (i - m_i)(A_i - m_j R_i) / S, A_i = sum_j p_ij j: the sum
        # sum_ij p (i - m_i)(j - m_j) regrouped. Loops in the kernel, not NumPy on
        # (N, L, K) arrays: for a few small matrices those calls cost more than the pass.
        for k in range(K):
            S = 0.0
            for i in range(L):
                S += R[i, k]
            if S == 0.0:
                S = 1.0
            if mode <= 1:
                a = 0.0
                for i in range(L):
                    a += A[i, k]
                out[n, k] = a / S if mode == 0 else a / S / S
                continue
            m = 0.0
            for i in range(L):
                m += R[i, k] * i
            m /= S
            v = 0.0
            for i in range(L):
                d = i - m
                v += R[i, k] * (d * d)
            v /= S
            if mode == 2:
                out[n, k] = v
                continue
            mj = 0.0
            for j in range(L):
                mj += Cn[j * K + k] * j
            mj /= S
            vj = 0.0
            cov = 0.0
            for j in range(L):
                d = j - mj
                vj += Cn[j * K + k] * (d * d)
                cov += (j - m) * (A[j, k] - mj * R[j, k])
            cov /= S
            vj /= S
            std_i = math.sqrt(v)
            std_j = math.sqrt(vj)
            if std_i < 1e-15 or std_j < 1e-15:
                out[n, k] = 1.0
            else:
                out[n, k] = cov / (std_i * std_j)


@numba.njit(**_pjit)
def glcm_entropy(j0, j1, P, out):
    """out (N, K) = -sum q log q over the entries q = p / S != 0 of P (N, L, L*K),
    S = sum of p (0 -> 1), as scikit-image; one job per image (its own kernel: the
    log loop compiles only where entropy is asked for)."""
    L = P.shape[1]
    K = P.shape[2] // L
    S = np.empty(K, dtype=np.float64)
    A = np.empty(K, dtype=np.float64)
    for n in range(j0, j1):
        S[:] = 0.0
        A[:] = 0.0
        for i in range(L):
            x = P[n, i]
            for m in range(L * K):
                S[m % K] += np.float64(x[m])
        for k in range(K):
            if S[k] == 0.0:
                S[k] = 1.0
        for i in range(L):
            x = P[n, i]
            for m in range(L * K):
                k = m % K
                q = np.float64(x[m]) / S[k]
                if q != 0.0:
                    A[k] += q * -math.log(q)
        for k in range(K):
            out[n, k] = A[k]
