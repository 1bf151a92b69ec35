"""Numba CUDA kernels for the image ops; imported only on first GPU use.

The per-element arithmetic is :mod:`image_math`'s, compiled here as device
functions. Kernels whose shared-memory size or block shape depends on
``mmfeat.config`` are built by factories memoized on those values (tests shrink
them for the simulator). Layout contract as in :mod:`image` (CPU): ``src`` is
C-contiguous (N, H, W, C) with C = 3 or 1.
"""

import functools
import math

import numba
import numpy as np

# numba-cuda (0.2x) still names np.row_stack, which NumPy 2.5 removed; its typing
# registry then fails to load and no kernel compiles. It was an alias of vstack.
if not hasattr(np, "row_stack"):
    np.row_stack = np.vstack

from numba import cuda  # noqa: E402

from . import image_math as _m

_dev = cuda.jit(device=True)

gray_value = _dev(_m.gray_value)
hsv_value = _dev(_m.hsv_value)
bin_index = _dev(_m.bin_index)
orientation_bin = _dev(_m.orientation_bin)
orientation_bin_estimate = _dev(_m.orientation_bin_estimate)


# Index math (issue 15, item 2): grid-stride loops are ``while`` loops (Numba lowers
# ``range(a, b, step)`` with a run-time step to a trip count, one 64-bit division a
# loop entry), and the border mapping is :func:`_border`, whose remainders are 32-bit
# (as audio_cuda's): a 64-bit division is a subroutine call per element on a GPU.
U = np.uint64
I = np.int64


@cuda.jit(device=True)
def _urem(m, p):
    """``m % p`` for int64 ``0 <= m``, ``1 <= p``, with no 64-bit division: in 32 bits
    when ``m < 2**32`` (every real image), else by shift-and-subtract."""
    if m < p:
        return m
    if m < 4294967296:
        return I(np.uint32(m) % np.uint32(p))
    mu = U(m)  # binary long division (m < 2**63: 2 r + 1 cannot overflow)
    pu = U(p)
    r = U(0)
    bit = U(1) << U(62)
    while bit > U(0):
        r = r + r + (U(1) if mu & bit else U(0))
        if r >= pu:
            r -= pu
        bit >>= U(1)
    return I(r)


@cuda.jit(device=True)
def _border(i, n, mode):
    """:func:`image_math.boundary_index` (the same index for every ``i`` and
    ``n >= 1``) without 64-bit remainders, and with one remainder site: a negative
    position is folded onto a non-negative one first (reflect is even about -1/2,
    mirror about 0, and wrap maps ``i < 0`` to ``n - 1 - ((-1 - i) % n)``), so the
    remainder is unsigned."""
    if i >= 0 and i < n:
        return i
    if mode == _m.MODE_CONSTANT:
        return I(-1)
    if mode == _m.MODE_NEAREST:
        if i < 0:
            return I(0)
        return n - 1
    m = i
    if mode == _m.MODE_WRAP:
        p = n
        if i < 0:
            m = -1 - i
    elif mode == _m.MODE_REFLECT:
        p = 2 * n
        if i < 0:
            m = -1 - i
    else:  # mirror
        if n == 1:
            return I(0)
        p = 2 * n - 2
        if i < 0:
            m = -i
    r = _urem(m, p)
    if mode == _m.MODE_WRAP:
        if i < 0:
            r = n - 1 - r
    elif r >= n:
        r = p - r - (1 if mode == _m.MODE_REFLECT else 0)
    return r


@cuda.jit(device=True)
def _gray_at(src, n, i, j, coeffs, scale):
    if src.shape[3] == 3:
        return gray_value(
            src[n, i, j, 0] * scale, src[n, i, j, 1] * scale, src[n, i, j, 2] * scale,
            coeffs[0], coeffs[1], coeffs[2],
        )
    return src[n, i, j, 0] * scale


# --- element-wise ---------------------------------------------------------------


@cuda.jit
def rgb_to_gray(src, out, coeffs, scale):
    """out (M,) = gray of src (M, C), M = N*H*W pixels; grid-stride, no index division."""
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    for p in range(start, out.shape[0], stride):
        if src.shape[1] == 3:
            out[p] = gray_value(
                src[p, 0] * scale, src[p, 1] * scale, src[p, 2] * scale,
                coeffs[0], coeffs[1], coeffs[2],
            )
        else:
            out[p] = src[p, 0] * scale


@cuda.jit(device=True)
def _byte(words, b):
    """Byte ``b`` of a uint32 array read as little-endian bytes (as NumPy/CuPy views)."""
    return (words[b >> 2] >> ((b & 3) * 8)) & 0xFF


@cuda.jit(device=True)
def _gray_of_bytes(words, b, channels, coeffs, scale):
    """Gray of the uint8 pixel whose first channel is byte ``b`` of ``words``."""
    if channels == 3:
        return gray_value(
            _byte(words, b) * scale, _byte(words, b + 1) * scale, _byte(words, b + 2) * scale,
            coeffs[0], coeffs[1], coeffs[2],
        )
    return _byte(words, b) * scale


@functools.cache
def gray_u8_staged_kernel(threads: int, pix: int, channels: int):
    """rgb_to_gray for uint8 pixels, read as 32-bit words staged in shared memory.

    Why: one byte per load leaves each thread only 3 bytes in flight, a third of
    what covering HBM latency at full bandwidth needs (on an H100 the byte-wise
    kernel moved 29% of peak). Here a block copies a chunk of ``threads * pix``
    pixels as coalesced 32-bit words (``words_per_thread`` independent loads per
    thread, issued back to back), then each thread reads its ``pix`` pixels' bytes
    from shared memory and writes consecutive outputs (coalesced stores).

    ``words_in`` is the batch's bytes viewed as uint32 (M*C/4,), ``src`` the same
    bytes as (M, C) uint8: pixels past the last whole chunk are read byte-wise.
    """
    chunk = threads * pix
    words = chunk * channels // 4
    words_per_thread = words // threads
    if words_per_thread * threads * 4 != chunk * channels:
        raise ValueError("pix * channels must be a multiple of 4")

    @cuda.jit
    def kernel(words_in, src, out, coeffs, scale):
        stage = cuda.shared.array(words, dtype=numba.uint32)
        tid = cuda.threadIdx.x
        M = out.shape[0]
        nchunks = M // chunk
        for c in range(cuda.blockIdx.x, nchunks, cuda.gridDim.x):
            w0 = c * words
            for k in range(words_per_thread):  # constant trip count: unrolled
                stage[tid + k * threads] = words_in[w0 + tid + k * threads]
            cuda.syncthreads()
            for k in range(pix):
                p = tid + k * threads
                out[c * chunk + p] = _gray_of_bytes(stage, p * channels, channels, coeffs, scale)
            cuda.syncthreads()  # before the next chunk overwrites the stage
        for p in range(nchunks * chunk + cuda.grid(1), M, cuda.gridsize(1)):
            if channels == 3:
                out[p] = gray_value(
                    src[p, 0] * scale, src[p, 1] * scale, src[p, 2] * scale,
                    coeffs[0], coeffs[1], coeffs[2],
                )
            else:
                out[p] = src[p, 0] * scale

    return kernel


@cuda.jit
def rgb_to_hsv(src, out, scale, one):
    """out (M, 3) = HSV of src (M, 3)."""
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    for p in range(start, out.shape[0], stride):
        h, s, v = hsv_value(src[p, 0] * scale, src[p, 1] * scale, src[p, 2] * scale, one)
        out[p, 0] = h
        out[p, 1] = s
        out[p, 2] = v


# --- stencils ------------------------------------------------------------------------


@functools.cache
def _tile_loader(tx: int, th: int):
    cols = tx + 2
    total = (th + 2) * cols

    @cuda.jit(device=True)
    def load_gray_tile(src, n, tile, coeffs, scale, mode, cval):
        """tile (th+2, tx+2) = gray around this block's (th, tx) output tile."""
        H, W = src.shape[1], src.shape[2]
        i0 = I(cuda.blockIdx.y) * th - 1
        j0 = I(cuda.blockIdx.x) * tx - 1
        # the stride is the block size read at run time: with a constant one LLVM
        # unrolls these loops (more registers for loops that border tiles only run)
        nthreads = U(cuda.blockDim.x * cuda.blockDim.y)
        idx = U(cuda.threadIdx.y * cuda.blockDim.x + cuda.threadIdx.x)
        if i0 >= 0 and j0 >= 0 and i0 + th + 2 <= H and j0 + tx + 2 <= W:
            # interior tile (almost every block): no border mapping
            while idx < U(total):
                a = idx // U(cols)
                b = idx - a * U(cols)
                tile[a, b] = _gray_at(src, n, U(i0) + a, U(j0) + b, coeffs, scale)
                idx += nthreads
            return
        while idx < U(total):
            a = idx // U(cols)
            b = idx - a * U(cols)
            i = _border(i0 + I(a), H, mode)
            j = _border(j0 + I(b), W, mode)
            if i < 0 or j < 0:
                tile[a, b] = cval
            else:
                tile[a, b] = _gray_at(src, n, U(i), U(j), coeffs, scale)
            idx += nthreads

    return load_gray_tile


@functools.cache
def _staged_tile_loader(tx: int, th: int, channels: int, threads: int):
    """Tile loader that reads uint8 pixels as 32-bit words (see
    :func:`gray_u8_staged_kernel` for why): interior tiles copy their rows' bytes
    as words into ``raw`` (one flat uint32 shared array of :func:`staged_raw_words`
    words), then convert to gray from shared memory. Border tiles, and calls with
    an empty ``words_in`` (float input, unaligned batch), take the byte-wise
    loader. Every branch depends on the block alone, so the barrier inside is
    reached by all of a block's threads or none."""
    rows = th + 2
    row_words = staged_row_words(tx, channels)
    total = rows * row_words
    per_thread = (total + threads - 1) // threads
    fallback = _tile_loader(tx, th)

    @cuda.jit(device=True)
    def load(words_in, src, n, tile, raw, coeffs, scale, mode, cval):
        H, W = src.shape[1], src.shape[2]
        i0 = cuda.blockIdx.y * th - 1
        j0 = cuda.blockIdx.x * tx - 1
        if (words_in.shape[0] == 0 or i0 < 0 or j0 < 0 or i0 + rows > H
                or j0 + tx + 2 > W):
            fallback(src, n, tile, coeffs, scale, mode, cval)
            return
        tid = cuda.threadIdx.y * cuda.blockDim.x + cuda.threadIdx.x
        corner = (n * H + i0) * W + j0  # flat pixel index of the tile's (0, 0)
        for k in range(per_thread):  # constant trip count: unrolled, loads in flight together
            idx = tid + k * threads
            if idx < total:
                a = idx // row_words
                w = (((corner + a * W) * channels) >> 2) + (idx - a * row_words)
                if w < words_in.shape[0]:  # the last row's spare word may lie past the end
                    raw[idx] = words_in[w]
        cuda.syncthreads()
        for idx in range(tid, rows * (tx + 2), threads):
            a = idx // (tx + 2)
            b = idx - a * (tx + 2)
            o = a * row_words * 4 + (((corner + a * W) * channels) & 3) + b * channels
            tile[a, b] = _gray_of_bytes(raw, o, channels, coeffs, scale)

    return load


def staged_row_words(tx: int, channels: int) -> int:
    """uint32 words that cover one tile row of ``tx + 2`` pixels at any alignment."""
    return ((tx + 2) * channels + 3) // 4 + 1


@functools.cache
def sobel_kernel(tx: int, ty: int, rows: int, dtype, channels: int = 3, axis: int = -1):
    """Block (tx, ty), grid (ceil(W/tx), ceil(H/(ty*rows)), N): fused gray -> Sobel
    magnitude; each thread computes ``rows`` outputs, ty apart, so that the halo and
    the per-block cost are shared by more pixels. ``words_in`` is the batch's bytes
    as uint32 for the staged loader, or empty (byte-wise loads). ``axis`` 0 or 1:
    the signed response gi or gj times ``norm`` instead (a compile-time choice)."""
    th = ty * rows
    load = _staged_tile_loader(tx, th, channels, tx * ty)
    # shared-array shapes and types must be compile-time constants: build them here
    tile_shape = (th + 2, tx + 2)
    tile_type = numba.from_dtype(np.dtype(dtype))
    raw_words = (th + 2) * staged_row_words(tx, channels)

    @cuda.jit
    def kernel(words_in, src, out, coeffs, scale, mode, cval, norm):
        tile = cuda.shared.array(tile_shape, dtype=tile_type)
        raw = cuda.shared.array(raw_words, dtype=numba.uint32)
        n = U(cuda.blockIdx.z)
        load(words_in, src, n, tile, raw, coeffs, scale, mode, cval)
        cuda.syncthreads()
        # unsigned tile and output indices: no negative-index wrap on any access
        b = U(cuda.threadIdx.x)
        j = U(cuda.blockIdx.x) * U(tx) + b
        for r in range(rows):
            a = U(cuda.threadIdx.y) + U(r * ty)  # the tile row above the output's
            i = U(cuda.blockIdx.y) * U(th) + a
            if i < U(out.shape[1]) and j < U(out.shape[2]):
                up0 = tile[a, b]
                up1 = tile[a, b + U(1)]
                up2 = tile[a, b + U(2)]
                md0 = tile[a + U(1), b]
                md2 = tile[a + U(1), b + U(2)]
                dn0 = tile[a + U(2), b]
                dn1 = tile[a + U(2), b + U(1)]
                dn2 = tile[a + U(2), b + U(2)]
                gi = (dn0 + (dn1 + dn1) + dn2) - (up0 + (up1 + up1) + up2)
                gj = (up2 + (md2 + md2) + dn2) - (up0 + (md0 + md0) + dn0)
                if axis == 0:
                    out[n, i, j] = gi * norm
                elif axis == 1:
                    out[n, i, j] = gj * norm
                else:
                    out[n, i, j] = math.sqrt(gi * gi + gj * gj) * norm

    return kernel


# Issue 15 item 2: Sobel as a register sliding window. Each thread owns ``SOBEL_PIX``
# adjacent columns and walks a strip of rows down the image, keeping the gray values
# of the three rows a Sobel output needs (its columns and one either side) in
# registers; the new row's two neighbour columns come from the threads beside it
# through a two-row shared ring (one barrier a row). A uint8 row of 4 RGB pixels is
# 3 aligned 32-bit loads (12 bytes in flight a thread a row, 4 outputs), and the
# float64 gray conversion is two float64 adds on a per-channel table in shared
# memory: T[c][v] = (v * scale) * coeff[c], the reference's products, so the sum
# (T[0][r] + T[1][g]) + T[2][b] is its float64 value bit for bit, rounded once to
# float32. Indices are 32-bit; the border is mapped once a thread (image row or
# column -1 and H or W: a 3x3 stencil reaches no further), so no remainder runs in
# the loop.
SOBEL_PIX = 4
I32 = np.int32
U32 = np.uint32


def sobel_window_tables(scale, coeffs, channels):
    """(channels, 256) float64: the float64 products of the gray conversion of a
    uint8 value, ``(v * scale) * coeff`` (one channel: ``v * scale``)."""
    v = np.arange(256, dtype=np.float64) * np.float64(scale)
    if channels == 1:
        return v[None, :].copy()
    return np.stack([v * np.float64(c) for c in coeffs])


@functools.cache
def sobel_window_kernel(threads: int, strip: int, channels: int, dtype, out_dtype,
                        axis: int = -1, u8: bool = True):
    """Block (threads,), grid (ceil(W / (threads * SOBEL_PIX)), ceil(H / strip), N).

    ``u8``: the input is uint8 (gray from ``tables``, :func:`sobel_window_tables`;
    32-bit word loads from ``words_in`` when it is not empty: a uint32 view of the
    batch, given only when a row's bytes start on a word, ``W % 4 == 0``). Else
    ``src`` is read element-wise with ``coeffs`` and ``scale``, as
    :func:`_gray_at`. ``axis`` as :func:`sobel_kernel`; ``out_dtype`` may be
    float16 (the float32 result rounded once)."""
    P = SOBEL_PIX
    span = threads * P
    ring_shape = (2, span + 2)
    work = numba.from_dtype(np.dtype(dtype))
    tab_shape = (channels, 256) if u8 else (1, 1)
    words_per_row = P * channels // 4  # whole words per thread per row (u8)
    wv_len = max(words_per_row, 1)
    g_shape = (3, P + 2)
    del out_dtype  # the store converts (compile-time: the out array's type)

    @cuda.jit(device=True)
    def pixel(src, tab, coeffs, scale, n, r, c):
        """Gray of (r, c), both in the image."""
        if u8:
            if channels == 3:
                return work((tab[0, src[n, r, c, 0]] + tab[1, src[n, r, c, 1]])
                            + tab[2, src[n, r, c, 2]])
            return work(tab[0, src[n, r, c, 0]])
        return _gray_at(src, n, r, c, coeffs, scale)

    @cuda.jit
    def kernel(words_in, src, out, tables, coeffs, scale, mode, cval, norm):
        ring = cuda.shared.array(ring_shape, dtype=work)
        tab = cuda.shared.array(tab_shape, dtype=numba.float64)
        g = cuda.local.array(g_shape, dtype=work)  # rows up, middle, down
        wv = cuda.local.array(wv_len, dtype=numba.uint32)
        H = I32(src.shape[1])
        W = I32(src.shape[2])
        n = cuda.blockIdx.z
        t = I32(cuda.threadIdx.x)
        if u8:
            k = t
            while k < I32(channels * 256):
                tab[k >> 8, k & 255] = tables[k >> 8, k & 255]
                k += I32(threads)
        jb = I32(cuda.blockIdx.x) * I32(span)  # the block's first column
        j0 = jb + t * I32(P)  # this thread's first column
        i0 = I32(cuda.blockIdx.y) * I32(strip)
        i1 = min(i0 + I32(strip), H)
        # the border, mapped once: image row/column -1 and H/W (-1: cval)
        rT = I32(_border(I(-1), I(H), mode))
        rB = I32(_border(I(H), I(H), mode))
        cL = I32(_border(I(-1), I(W), mode))
        cR = I32(_border(I(W), I(W), mode))
        # column of the left halo (thread 0) or the right one (the last thread)
        ch = jb - I32(1) if t == 0 else jb + I32(span)
        if ch < 0:
            ch = cL
        elif ch >= W:
            ch = cR
        wide = u8 and words_in.shape[0] > 0 and j0 + I32(P) <= W
        if u8:
            cuda.syncthreads()  # the table is in
        r = i0 - I32(1)
        while r <= i1:
            for a in range(P + 2):  # slide the window down one row
                g[0, a] = g[1, a]
                g[1, a] = g[2, a]
            rr = r
            if r < 0:
                rr = rT
            elif r >= H:
                rr = rB
            s = r & I32(1)
            if rr < 0:
                for a in range(P):
                    g[2, a + 1] = cval
                h = cval
            else:
                if wide:
                    # P pixels = words_per_row aligned words (W % 4 == 0), issued together
                    w0 = ((I(n) * I(H) + I(rr)) * I(W) + I(j0)) * I(channels) >> I(2)
                    for q in range(words_per_row):
                        wv[q] = words_in[w0 + I(q)]
                    for a in range(P):
                        if channels == 3:
                            b0 = a * 3
                            v0 = (wv[b0 >> 2] >> U32((b0 & 3) * 8)) & U32(0xFF)
                            v1 = (wv[(b0 + 1) >> 2] >> U32(((b0 + 1) & 3) * 8)) & U32(0xFF)
                            v2 = (wv[(b0 + 2) >> 2] >> U32(((b0 + 2) & 3) * 8)) & U32(0xFF)
                            g[2, a + 1] = work((tab[0, v0] + tab[1, v1]) + tab[2, v2])
                        else:
                            v0 = (wv[a >> 2] >> U32((a & 3) * 8)) & U32(0xFF)
                            g[2, a + 1] = work(tab[0, v0])
                else:
                    for a in range(P):
                        c = j0 + I32(a)
                        if c >= W:
                            c = cR  # only column W is ever read (the right neighbour)
                        if c < 0:
                            g[2, a + 1] = cval
                        else:
                            g[2, a + 1] = pixel(src, tab, coeffs, scale, n, rr, c)
                h = cval
                if (t == 0 or t == I32(threads - 1)) and ch >= 0:
                    h = pixel(src, tab, coeffs, scale, n, rr, ch)
            for a in range(P):
                ring[s, t * I32(P) + I32(a + 1)] = g[2, a + 1]
            if t == 0:
                ring[s, 0] = h
            elif t == I32(threads - 1):
                ring[s, span + 1] = h
            cuda.syncthreads()  # ring slot s is written; the other slot is free again
            g[2, 0] = ring[s, t * I32(P)]
            g[2, P + 1] = ring[s, t * I32(P) + I32(P + 1)]
            i = r - I32(1)
            if i >= i0:
                for a in range(P):
                    j = j0 + I32(a)
                    if j < W:
                        up0 = g[0, a]
                        up1 = g[0, a + 1]
                        up2 = g[0, a + 2]
                        md0 = g[1, a]
                        md2 = g[1, a + 2]
                        dn0 = g[2, a]
                        dn1 = g[2, a + 1]
                        dn2 = g[2, a + 2]
                        gi = (dn0 + (dn1 + dn1) + dn2) - (up0 + (up1 + up1) + up2)
                        gj = (up2 + (md2 + md2) + dn2) - (up0 + (md0 + md0) + dn0)
                        if axis == 0:
                            out[n, i, j] = gi * norm
                        elif axis == 1:
                            out[n, i, j] = gj * norm
                        else:
                            out[n, i, j] = math.sqrt(gi * gi + gj * gj) * norm
            r += I32(1)

    return kernel


# --- Canny stages -----------------------------------------------------------------------
# One thread per pixel on a (ceil(W/tx), ceil(H/ty), N) grid: (i, j, n) come from the
# launch geometry, with no 64-bit index division (costly on a GPU).


@cuda.jit(device=True)
def _pixel(H, W):
    j, i = cuda.grid(2)
    return cuda.blockIdx.z, i, j, (i < H and j < W)


@cuda.jit
def gaussian_rows(src, dst, w, mode, cval):
    """dst = correlate1d(src, w) along H of (N, H, W), float64 sums in scipy's order."""
    N, H, W = src.shape
    n, i, j, inside = _pixel(H, W)
    if not inside:
        return
    r = (w.shape[0] - 1) // 2
    acc = w[r] * np.float64(src[n, i, j])
    for k in range(r, 0, -1):  # scipy sums the outer taps first
        a = _border(I(i) + k, I(H), mode)
        b = _border(I(i) - k, I(H), mode)
        xa = np.float64(cval) if a < 0 else np.float64(src[n, U(a), j])
        xb = np.float64(cval) if b < 0 else np.float64(src[n, U(b), j])
        acc += w[r + k] * (xa + xb)
    dst[n, i, j] = acc


@cuda.jit
def gaussian_cols(src, dst, w, mode, cval, bleed):
    """dst = correlate1d(src, w) along W, then / bleed (when bleed is (H, W))."""
    N, H, W = src.shape
    n, i, j, inside = _pixel(H, W)
    if not inside:
        return
    r = (w.shape[0] - 1) // 2
    acc = w[r] * np.float64(src[n, i, j])
    for k in range(r, 0, -1):
        a = _border(I(j) + k, I(W), mode)
        b = _border(I(j) - k, I(W), mode)
        xa = np.float64(cval) if a < 0 else np.float64(src[n, i, U(a)])
        xb = np.float64(cval) if b < 0 else np.float64(src[n, i, U(b)])
        acc += w[r + k] * (xa + xb)
    v = np.float32(acc)
    if bleed.shape[0] == H:
        v = v / bleed[i, j]
    dst[n, i, j] = v


@cuda.jit(device=True)
def _sobel_pair(sm, n, i, j, H, W):
    """(isobel, jsobel) of scipy.ndimage.sobel at (i, j), reflect borders (see CPU twin)."""
    # reflect of a neighbour one step outside is the edge pixel: a clamp
    im = max(i - 1, 0)
    ip = min(i + 1, H - 1)
    jm = max(j - 1, 0)
    jp = min(j + 1, W - 1)
    di_m = np.float64(sm[n, ip, jm] - sm[n, im, jm])
    di_0 = np.float64(sm[n, ip, j] - sm[n, im, j])
    di_p = np.float64(sm[n, ip, jp] - sm[n, im, jp])
    isob = np.float32(di_m + 2.0 * di_0 + di_p)
    dj_m = np.float64(sm[n, im, jp] - sm[n, im, jm])
    dj_0 = np.float64(sm[n, i, jp] - sm[n, i, jm])
    dj_p = np.float64(sm[n, ip, jp] - sm[n, ip, jm])
    jsob = np.float32(dj_m + 2.0 * dj_0 + dj_p)
    return isob, jsob


@cuda.jit
def gradient_magnitude(sm, mag):
    N, H, W = sm.shape
    n, i, j, inside = _pixel(H, W)
    if not inside:
        return
    isob, jsob = _sobel_pair(sm, n, i, j, H, W)
    m2 = isob * isob
    m2 = m2 + jsob * jsob
    mag[n, i, j] = math.sqrt(m2)


@cuda.jit
def nonmax_suppression(sm, mag, state, low, high):
    """state (N, H, W) uint8: 0 suppressed, 1 weak, 2 strong (interior pixels only).

    scikit-image's bilinear suppression (its Cython kernel, branch for branch).
    """
    N, H, W = sm.shape
    n, i, j, inside = _pixel(H, W)
    if not inside:
        return
    state[n, i, j] = 0
    if i < 1 or j < 1 or i >= H - 1 or j >= W - 1:
        return
    m = mag[n, i, j]
    if not (np.float64(m) >= low[n]):
        return
    isob, jsob = _sobel_pair(sm, n, i, j, H, W)
    is_down = isob <= 0
    is_up = isob >= 0
    is_left = jsob <= 0
    is_right = jsob >= 0
    cond1 = (is_up and is_right) or (is_down and is_left)
    cond2 = (is_down and is_right) or (is_up and is_left)
    if not cond1 and not cond2:
        return
    ai = abs(isob)
    aj = abs(jsob)
    if cond1:
        if ai > aj:
            w = aj / ai
            n11 = mag[n, i + 1, j]
            n12 = mag[n, i + 1, j + 1]
            n21 = mag[n, i - 1, j]
            n22 = mag[n, i - 1, j - 1]
        else:
            w = ai / aj
            n11 = mag[n, i, j + 1]
            n12 = mag[n, i + 1, j + 1]
            n21 = mag[n, i, j - 1]
            n22 = mag[n, i - 1, j - 1]
    else:
        if ai < aj:
            w = ai / aj
            n11 = mag[n, i, j + 1]
            n12 = mag[n, i - 1, j + 1]
            n21 = mag[n, i, j - 1]
            n22 = mag[n, i + 1, j - 1]
        else:
            w = aj / ai
            n11 = mag[n, i - 1, j]
            n12 = mag[n, i - 1, j + 1]
            n21 = mag[n, i + 1, j]
            n22 = mag[n, i + 1, j - 1]
    wd = np.float64(w)
    md = np.float64(m)
    if np.float64(n12 * w) + np.float64(n11) * (1.0 - wd) <= md:
        if np.float64(n22 * w) + np.float64(n21) * (1.0 - wd) <= md:
            state[n, i, j] = 2 if md >= high[n] else 1


# --- Canny fused front end (issue 15, item 2) ---------------------------------------
# gaussian_rows + gaussian_cols + gradient_magnitude + nonmax_suppression in one launch:
# a (tx, ty) block makes the state of a tx x ty output tile from its gray tile plus a
# halo of r + 2 (r the Gaussian radius) in shared memory, with no global intermediate.
# Each stage is its kernel's arithmetic, operation for operation, so the state is the
# staged path's bit for bit: the shared windows hold a position's border-mapped value
# (constant mode: cval, taken as the float64 the stages use, wherever their _border
# gives -1), and the smoothed and magnitude windows hold the values at the clamped
# position, so that the Sobel's clamp (reflect one step out) is a plain neighbour.


def canny_front_smem(tx: int, ty: int, r: int) -> int:
    """Static shared bytes of :func:`canny_front_kernel` (tx, ty, r)."""
    gw = tx + 4 + 2 * r
    return 4 * ((ty + 4 + 2 * r) * gw + (ty + 4) * gw + (ty + 4) * (tx + 4)
                + (ty + 2) * (tx + 2) + 2 * ty * _row_words(tx))


def _row_words(tx: int) -> int:
    """uint32 mask words a tile row of tx pixels spans (tx divides 32 or 32 divides tx)."""
    return (tx + 31) // 32


def front_tile_packs(tx: int) -> bool:
    """Whether a tile tx wide packs into whole mask words: tx divides 32 or 32 divides tx
    (a tile row then never straddles two words partly)."""
    return 32 % tx == 0 or tx % 32 == 0


@cuda.jit(device=True)
def _sobel_pair_at(s, a, b):
    """:func:`_sobel_pair` on a window whose neighbours of (a, b) are the clamped ones."""
    di_m = np.float64(s[a + 1, b - 1] - s[a - 1, b - 1])
    di_0 = np.float64(s[a + 1, b] - s[a - 1, b])
    di_p = np.float64(s[a + 1, b + 1] - s[a - 1, b + 1])
    isob = np.float32(di_m + 2.0 * di_0 + di_p)
    dj_m = np.float64(s[a - 1, b + 1] - s[a - 1, b - 1])
    dj_0 = np.float64(s[a, b + 1] - s[a, b - 1])
    dj_p = np.float64(s[a + 1, b + 1] - s[a + 1, b - 1])
    jsob = np.float32(dj_m + 2.0 * dj_0 + dj_p)
    return isob, jsob


@cuda.jit(device=True)
def _front_suppress(s_sh, m_sh, i, j, H, W, low, high):
    """:func:`nonmax_suppression`'s state of (i, j), branch for branch, from the windows
    of :func:`canny_front_kernel` (the pixel at (p, q) = (i % ty + 1, j % tx + 1) of
    the magnitude window, (p + 1, q + 1) of the smoothed one)."""
    if i < 1 or j < 1 or i >= H - 1 or j >= W - 1:
        return 0
    p = I(cuda.threadIdx.y) + 1
    q = I(cuda.threadIdx.x) + 1
    m = m_sh[p, q]
    if not (np.float64(m) >= low):
        return 0
    isob, jsob = _sobel_pair_at(s_sh, p + 1, q + 1)
    is_down = isob <= 0
    is_up = isob >= 0
    is_left = jsob <= 0
    is_right = jsob >= 0
    cond1 = (is_up and is_right) or (is_down and is_left)
    cond2 = (is_down and is_right) or (is_up and is_left)
    if not cond1 and not cond2:
        return 0
    ai = abs(isob)
    aj = abs(jsob)
    if cond1:
        if ai > aj:
            wt = aj / ai
            n11 = m_sh[p + 1, q]
            n12 = m_sh[p + 1, q + 1]
            n21 = m_sh[p - 1, q]
            n22 = m_sh[p - 1, q - 1]
        else:
            wt = ai / aj
            n11 = m_sh[p, q + 1]
            n12 = m_sh[p + 1, q + 1]
            n21 = m_sh[p, q - 1]
            n22 = m_sh[p - 1, q - 1]
    else:
        if ai < aj:
            wt = ai / aj
            n11 = m_sh[p, q + 1]
            n12 = m_sh[p - 1, q + 1]
            n21 = m_sh[p, q - 1]
            n22 = m_sh[p + 1, q - 1]
        else:
            wt = aj / ai
            n11 = m_sh[p - 1, q]
            n12 = m_sh[p - 1, q + 1]
            n21 = m_sh[p + 1, q]
            n22 = m_sh[p + 1, q - 1]
    wd = np.float64(wt)
    md = np.float64(m)
    if np.float64(n12 * wt) + np.float64(n11) * (1.0 - wd) <= md:
        if np.float64(n22 * wt) + np.float64(n21) * (1.0 - wd) <= md:
            return 2 if md >= high else 1
    return 0


@functools.cache
def canny_front_kernel(tx: int, ty: int, r: int, mode: int):
    """canny_front(gray, cmask, smask, low, high, w, cval, bleed): gray (N, H, W)
    float32 -> :func:`nonmax_suppression`'s state, packed as :func:`hyst_pack` packs it
    into the zeroed (N, Hp, ceil(W / 32)) uint32 row masks (Hp >= H; bit j % 32 of word
    (n, i, j // 32): cmask state != 0, smask state == 2); w the 2 r + 1 float64
    Gaussian taps; launched on a (ceil(W/tx), ceil(H/ty), N) grid of (tx, ty) threads,
    tx a divisor or a multiple of 32 (:func:`front_tile_packs`).

    The border ``mode`` (``image_math.MODE_*``) is a compile-time constant: each
    compiled kernel holds that mode's border mapping and tap loops only (a run-time
    mode had LLVM unswitch them into one copy a mode). ``bleed`` (H, W) float32, the
    division of the column pass, is constant mode's (as :func:`gaussian_cols` takes
    it): the other modes' kernels ignore it (pass an empty array)."""
    mode = int(mode)
    if not front_tile_packs(tx):
        raise ValueError(f"canny_front_kernel: tile width {tx} neither divides nor is a "
                         "multiple of 32")
    nw = _row_words(tx)  # mask words a tile row spans
    gh, gw = ty + 4 + 2 * r, tx + 4 + 2 * r  # gray window; smoothed-rows window (sh, gw)
    sh, sw = ty + 4, tx + 4  # smoothed window
    mh, mw = ty + 2, tx + 2  # magnitude window
    nt = tx * ty
    halo = 2 + r
    const = mode == _m.MODE_CONSTANT  # also: the bleed division applies

    @cuda.jit
    def canny_front(gray, cmask, smask, low, high, w, cval, bleed):
        g_sh = cuda.shared.array((gh, gw), np.float32)
        t_sh = cuda.shared.array((sh, gw), np.float32)
        s_sh = cuda.shared.array((sh, sw), np.float32)
        m_sh = cuda.shared.array((mh, mw), np.float32)
        c_wd = cuda.shared.array((ty, nw), np.uint32)  # the tile's candidate row masks
        s_wd = cuda.shared.array((ty, nw), np.uint32)  # and its strong ones
        N, H, W = gray.shape
        n = cuda.blockIdx.z
        i0 = I(cuda.blockIdx.y) * ty
        j0 = I(cuda.blockIdx.x) * tx
        tid = I(cuda.threadIdx.y) * tx + I(cuda.threadIdx.x)
        cv = np.float64(cval)
        Hi, Wi = I(H), I(W)
        if tid < ty * nw:  # zeroed before the first barrier, or'ed after the last
            c_wd[tid // nw, tid % nw] = 0
            s_wd[tid // nw, tid % nw] = 0
        # gray window: (a, b) <- gray at the border-mapped (i0 - halo + a, j0 - halo + b)
        k = tid
        while k < gh * gw:
            a = k // gw
            b = k - a * gw
            gi = _border(i0 - halo + a, Hi, mode)
            gj = _border(j0 - halo + b, Wi, mode)
            v = np.float32(0)
            if gi >= 0 and gj >= 0:
                v = gray[n, U(gi), U(gj)]
            g_sh[a, b] = v
            k += nt
        cuda.syncthreads()
        # gaussian_rows at row clamp(i0 - 2 + a) and the column border(j0 - halo + b)
        k = tid
        while k < sh * gw:
            a = k // gw
            b = k - a * gw
            gr = min(max(i0 - 2 + a, I(0)), Hi - 1)
            c = gr - (i0 - halo)
            v = np.float32(0)  # constant mode off the image: gaussian_cols takes cval
            if _border(j0 - halo + b, Wi, mode) >= 0:
                acc = w[r] * np.float64(g_sh[c, b])
                for t in range(r, 0, -1):
                    xa = cv if const and gr + t >= Hi else np.float64(g_sh[c + t, b])
                    xb = cv if const and gr - t < 0 else np.float64(g_sh[c - t, b])
                    acc += w[r + t] * (xa + xb)
                v = np.float32(acc)
            t_sh[a, b] = v
            k += nt
        cuda.syncthreads()
        # gaussian_cols (and the bleed division) at (clamp(i0 - 2 + a), clamp(j0 - 2 + b))
        k = tid
        while k < sh * sw:
            a = k // sw
            b = k - a * sw
            gr = min(max(i0 - 2 + a, I(0)), Hi - 1)
            gc = min(max(j0 - 2 + b, I(0)), Wi - 1)
            c = gc - (j0 - halo)
            acc = w[r] * np.float64(t_sh[a, c])
            for t in range(r, 0, -1):
                xa = cv if const and gc + t >= Wi else np.float64(t_sh[a, c + t])
                xb = cv if const and gc - t < 0 else np.float64(t_sh[a, c - t])
                acc += w[r + t] * (xa + xb)
            v = np.float32(acc)
            if const and bleed.shape[0] == H:
                v = v / bleed[gr, gc]
            s_sh[a, b] = v
            k += nt
        cuda.syncthreads()
        # gradient_magnitude at (i0 - 1 + a, j0 - 1 + b), on the image
        k = tid
        while k < mh * mw:
            a = k // mw
            b = k - a * mw
            if i0 - 1 + a >= 0 and i0 - 1 + a < Hi and j0 - 1 + b >= 0 and j0 - 1 + b < Wi:
                isob, jsob = _sobel_pair_at(s_sh, a + 1, b + 1)
                m2 = isob * isob
                m2 = m2 + jsob * jsob
                m_sh[a, b] = math.sqrt(m2)
            k += nt
        cuda.syncthreads()
        # nonmax_suppression at (i, j) = (i0 + y, j0 + x): window centre (y + 1, x + 1),
        # packed: shared atomics gather the tile's row words, then one global OR a word
        # (a word is shared with the neighbouring tiles when tx < 32)
        i = i0 + I(cuda.threadIdx.y)
        j = j0 + I(cuda.threadIdx.x)
        if i < Hi and j < Wi:
            st = _front_suppress(s_sh, m_sh, i, j, Hi, Wi, low[n], high[n])
            if st != 0:
                bit = np.uint32(U(1) << U(j & 31))
                wl = (j >> 5) - (j0 >> 5)
                cuda.atomic.or_(c_wd, (cuda.threadIdx.y, wl), bit)
                if st == 2:
                    cuda.atomic.or_(s_wd, (cuda.threadIdx.y, wl), bit)
        cuda.syncthreads()
        if tid < ty * nw:
            a = tid // nw
            word = (j0 >> 5) + tid % nw
            if i0 + a < Hi and word * 32 < Wi:
                cw = c_wd[a, tid % nw]
                if cw != 0:
                    cuda.atomic.or_(cmask, (n, i0 + a, word), cw)
                    sw_ = s_wd[a, tid % nw]
                    if sw_ != 0:
                        cuda.atomic.or_(smask, (n, i0 + a, word), sw_)

    return canny_front




# --- hysteresis on bitmasks within tiles (issue 15) ----------------------------------
# Candidates (state != 0) and strong pixels (state == 2) travel as row masks: bit j % 32
# of the uint32 word (n, i, j // 32) of cmask / smask, (N, Hp, Wp / 32), Hp and Wp the
# image padded to whole tiles (padding bits 0). A tile is 32 columns (one word a row) x
# th rows, one block of 32 threads: thread r holds row r's words while masks grow, and
# is column r when the tile is written out (coalesced). Three launches:
#   hyst_tile    grows smask within cmask (8-connectivity) to its fixpoint in the tile,
#                then labels each weak component that touches the tile's edge: its edge
#                pixels get the node of its first edge pixel in the union-find forest;
#   hyst_border  unions the pixels on each tile's bottom row and right column with
#                their candidate neighbours in the next tiles (strong pixels: node 0);
#   hyst_output  seeds each weak edge pixel whose root is node 0, grows the seeds in
#                the tile's weak pixels, and writes the tile's edges.
# The forest holds edge pixels only (node 1 + i * Wp + j of pixel (i, j) in ``labels``,
# (N, 1 + Hp * Wp) int32, other entries never read) and node 0, a root that every
# strong pixel stands for: atomic min makes it the root of every component that
# reaches a strong pixel (Playne & Hawick 2018's block union-find, with bitmask
# propagation in place of the in-tile union-find, as in Allegretti et al. 2019).

FULL = U(0xFFFFFFFF)


@cuda.jit(device=True)
def _runs(c, x):
    """The runs (maximal horizontal segments) of row mask ``c`` holding a bit of
    ``x`` (x a subset of c; both uint64 below 2**32): from each seed up to its run's
    top, the carry of c + x stops at the run's first 0 above; down to its bottom the
    same in the bit-reversed row."""
    up = (c & ~(c + x)) | x
    rc = U(cuda.brev(np.uint32(c)))
    rx = U(cuda.brev(np.uint32(x)))
    dn = U(cuda.brev(np.uint32(rc & ~(rc + rx) & FULL)))
    return (up | dn | x) & c


@cuda.jit(device=True)
def _grow(c, s, rows, r, th):
    """Row r's mask of the pixels of ``c`` 8-connected within the tile to a pixel of
    ``s`` (s a subset of c; thread r holds row r, rows past th hold 0). ``rows``
    (th + 2,) uint32 shared, its first and last entries 0. Each pass takes the rows
    above and below (shifted one column either way: the diagonals) and fills whole
    runs; it ends when no row changed (cuda.syncthreads_or, the pass's barrier)."""
    more = 1
    while more:
        if r < th:
            rows[r + 1] = np.uint32(s)
        cuda.syncthreads()
        x = U(0)
        if r < th:
            nb = U(rows[r]) | U(rows[r + 2])
            x = c & (s | nb | (nb << U(1)) | (nb >> U(1)))
        t = _runs(c, x)
        more = cuda.syncthreads_or(np.int32(t != s))
        s = t
    return s


@cuda.jit(device=True)
def _edge_bits(w, r, th):
    """Row r's bits of ``w`` on the tile's edge: every bit of the first and last
    rows, the first and last columns of the others."""
    if r == 0 or r == th - 1:
        return w
    return w & (U(1) | (U(1) << U(31)))


@cuda.jit(device=True)
def _node(i, j, Wp):
    """The forest node of the pixel (i, j) (0 is the strong root)."""
    return 1 + I(i) * Wp + I(j)


@cuda.jit(device=True)
def _find(labels, n, p):
    """The root of ``p``, splitting the path on the way (issue 15: without it an
    edge's chain was walked whole by up to 8 finds a pixel). Each step points a
    node at its grandparent, a plain store: labels only ever decrease to an
    ancestor (roots change by atomic min alone), so a store racing a union loses
    no link, as in ECL-CC (Jaiganesh & Burtscher, 2018)."""
    q = labels[n, p]
    while q != p:
        r = labels[n, q]
        if r != q:
            labels[n, p] = r
        p = q
        q = r
    return p


@cuda.jit(device=True)
def _union(labels, n, a, b):
    done = False
    while not done:
        a = _find(labels, n, a)
        b = _find(labels, n, b)
        if a < b:
            old = cuda.atomic.min(labels, (n, b), a)
            done = old == b
            b = old
        elif b < a:
            old = cuda.atomic.min(labels, (n, a), b)
            done = old == a
            a = old
        else:
            done = True


@cuda.jit
def hyst_pack(state, cmask, smask):
    """state (N, H, W) uint8 (0 none, 1 weak, 2 strong) -> its bits OR'ed into the
    zeroed row masks cmask, smask (N, Hp, ceil(W / 32)) uint32: the staged front end's
    (the fused one packs as it suppresses). One thread per pixel (a (tx, ty) grid)."""
    N, H, W = state.shape
    n, i, j, inside = _pixel(H, W)
    if not inside:
        return
    st = state[n, i, j]
    if st != 0:
        bit = np.uint32(U(1) << U(j & 31))
        cuda.atomic.or_(cmask, (n, i, j >> 5), bit)
        if st == 2:
            cuda.atomic.or_(smask, (n, i, j >> 5), bit)


@functools.cache
def hyst_tile_kernel(th: int):
    """hyst_tile(cmask, smask, labels) on a (Wp / 32, Hp / th, N) grid of 32 threads:
    smask becomes its closure in cmask within each tile; each weak component of a tile
    that touches the tile's edge gets a root in ``labels``, its edge pixels' entries
    pointing to it; labels[n, 0] = 0 (the strong root)."""
    nr = th + 2  # a compile-time shared size: the rows and a zero row either side

    @cuda.jit
    def hyst_tile(cmask, smask, labels):
        rows = cuda.shared.array(nr, np.uint32)
        seed = cuda.shared.array(2, np.int32)  # the seed's row, then its node (int32:
        # a native shared atomic min; nodes are int32 labels)
        n = cuda.blockIdx.z
        r = I(cuda.threadIdx.x)
        i = I(cuda.blockIdx.y) * th + r
        tj = cuda.blockIdx.x
        Wp = I(cmask.shape[2]) * 32
        c = U(0)
        s = U(0)
        if r < th:
            c = U(cmask[n, i, tj])
            s = U(smask[n, i, tj])
        if r < 2:
            rows[r * (th + 1)] = 0
        if r == 0 and cuda.blockIdx.x == 0 and cuda.blockIdx.y == 0:
            labels[n, 0] = 0
        s = _grow(c, s, rows, r, th)
        if r < th:
            smask[n, i, tj] = np.uint32(s)
        w = c & ~s  # the weak pixels no strong one reaches within the tile
        rest = _edge_bits(w, r, th)
        while cuda.syncthreads_or(np.int32(rest != 0)):  # one weak edge component a pass
            if r == 0:
                seed[0] = np.int32(th)
            cuda.syncthreads()
            if rest != 0:
                cuda.atomic.min(seed, 0, np.int32(r))
            cuda.syncthreads()
            f = U(0)
            if r == seed[0]:  # the first row with an unlabelled edge pixel: its lowest
                f = rest & (~rest + U(1))
                seed[1] = np.int32(_node(i, I(tj) * 32 + I(cuda.ffs(np.uint32(f))) - 1, Wp))
            f = _grow(w, f, rows, r, th)  # barriers: seed[1] is visible after
            root = I(seed[1])
            lab = f & rest
            while lab != 0:
                b = lab & (~lab + U(1))
                labels[n, _node(i, I(tj) * 32 + I(cuda.ffs(np.uint32(b))) - 1, Wp)] = root
                lab ^= b
            rest &= ~f

    return hyst_tile


@cuda.jit(device=True)
def _mask_bit(mask, n, i, j):
    """Bit (i, j) of a row-mask array (N, Hp, Wp / 32), 0 off it."""
    if i < 0 or j < 0 or i >= mask.shape[1] or j >= I(mask.shape[2]) * 32:
        return False
    return (U(mask[n, i, j >> 5]) >> U(j & 31)) & U(1) != 0


@cuda.jit(device=True)
def _join(cmask, smask, labels, n, i, j, strong, a, b, Wp):
    """Union of the candidate (i, j) (``strong``: in smask) with (a, b) when that is a
    candidate too (two strong pixels are joined already: both are node 0)."""
    if not _mask_bit(cmask, n, a, b):
        return
    other = _mask_bit(smask, n, a, b)
    if strong and other:
        return
    _union(labels, n, 0 if strong else _node(i, j, Wp), 0 if other else _node(a, b, Wp))


@functools.cache
def hyst_border_kernel(th: int):
    """hyst_border(cmask, smask, labels) on hyst_tile's grid, after it: thread k of a
    tile joins its bottom row's pixel k with the three below it (in the tiles below)
    and its right column's pixel k with those to its right in the same tile row (the
    pairs across a tile row are the bottom rows'): every pair of 8-neighbours in two
    tiles once."""

    @cuda.jit
    def hyst_border(cmask, smask, labels):
        n = cuda.blockIdx.z
        k = I(cuda.threadIdx.x)
        i0 = I(cuda.blockIdx.y) * th
        j0 = I(cuda.blockIdx.x) * 32
        Wp = I(cmask.shape[2]) * 32
        i = i0 + th - 1
        j = j0 + k
        if i + 1 < cmask.shape[1] and _mask_bit(cmask, n, i, j):
            st = _mask_bit(smask, n, i, j)
            for d in range(-1, 2):
                _join(cmask, smask, labels, n, i, j, st, i + 1, j + d, Wp)
        i = i0 + k
        j = j0 + 31
        if k < th and j + 1 < Wp and _mask_bit(cmask, n, i, j):
            st = _mask_bit(smask, n, i, j)
            for d in range(-1, 2):
                if k + d >= 0 and k + d < th:
                    _join(cmask, smask, labels, n, i, j, st, i + d, j + 1, Wp)

    return hyst_border


@functools.cache
def hyst_output_kernel(th: int):
    """hyst_output(cmask, smask, labels, out) on hyst_tile's grid, after hyst_border:
    out (N, H, W) bool, the pixels of smask and those of the tile's weak components
    whose edge pixels have the strong root."""
    nr = th + 2

    @cuda.jit
    def hyst_output(cmask, smask, labels, out):
        rows = cuda.shared.array(nr, np.uint32)
        N, H, W = out.shape
        n = cuda.blockIdx.z
        r = I(cuda.threadIdx.x)
        i0 = I(cuda.blockIdx.y) * th
        j0 = I(cuda.blockIdx.x) * 32
        Wp = I(cmask.shape[2]) * 32
        c = U(0)
        s = U(0)
        if r < th:
            c = U(cmask[n, i0 + r, cuda.blockIdx.x])
            s = U(smask[n, i0 + r, cuda.blockIdx.x])
        if r < 2:
            rows[r * (th + 1)] = 0
        w = c & ~s
        edge = _edge_bits(w, r, th)
        seeds = U(0)
        while edge != 0:
            b = edge & (~edge + U(1))
            if _find(labels, n, _node(i0 + r, j0 + I(cuda.ffs(np.uint32(b))) - 1, Wp)) == 0:
                seeds |= b
            edge ^= b
        if cuda.syncthreads_or(np.int32(seeds != 0)):
            s |= _grow(w, seeds, rows, r, th)
        cuda.syncthreads()  # the rows' last readers are done
        if r < th:
            rows[r + 1] = np.uint32(s)
        cuda.syncthreads()
        j = j0 + r  # thread r now writes column r, row by row (coalesced)
        if j < W:
            for a in range(th):
                if i0 + a < H:
                    out[n, i0 + a, j] = (U(rows[a + 1]) >> U(r)) & U(1) != 0

    return hyst_output
