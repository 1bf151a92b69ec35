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


# --- histograms -------------------------------------------------------------------

HIST_HSV = 0
HIST_LUT = 1
HIST_RGB = 2
HIST_HSV_U8 = 3


@cuda.jit(device=True)
def _hue_u8_bin(r, g, b, hue_lut, fvals, nbins, edges):
    """Hue bin of a uint8 pixel from the exact table (see the CPU kernel)."""
    mx = max(r, max(g, b))
    mn = min(r, min(g, b))
    if b == mx:
        c = 2
        x = r - g
    elif g == mx:
        c = 1
        x = b - r
    else:
        c = 0
        x = g - b
    ih = np.int32(hue_lut[c * 65536 + (mx - mn) * (mx - mn) + (x + (mx - mn))])
    if ih < 0:
        h, _s, _v = hsv_value(fvals[r], fvals[g], fvals[b], np.float64(1.0))
        ih = bin_index(h, nbins, edges, 0)
    return ih, mx, mn


@cuda.jit(device=True)
def _joint_bin_of(r, g, b, kind, nbins, edges, luts, tables, fvals, scale, one):
    """Joint bin of one pixel from its raw channel values (uint8 codes or floats)."""
    b1 = nbins[1]
    b2 = nbins[2]
    if kind == HIST_HSV_U8:
        ih, mx, mn = _hue_u8_bin(np.int32(r), np.int32(g), np.int32(b), luts, fvals, nbins[0],
                                 edges)
        return ih * (b1 * b2) + tables[mx * 256 + mn]
    if kind == HIST_LUT:
        i0 = luts[np.int32(r)]
        i1 = luts[256 + np.int32(g)]
        i2 = luts[512 + np.int32(b)]
    elif kind == HIST_HSV:
        h, s, v = hsv_value(r * scale, g * scale, b * scale, one)
        i0 = bin_index(h, nbins[0], edges, 0)
        i1 = bin_index(s, b1, edges, 1)
        i2 = bin_index(v, b2, edges, 2)
    else:
        i0 = bin_index(r * scale, nbins[0], edges, 0)
        i1 = bin_index(g * scale, b1, edges, 1)
        i2 = bin_index(b * scale, b2, edges, 2)
    return (i0 * b1 + i1) * b2 + i2


@cuda.jit(device=True)
def _joint_bin(src, n, p, kind, nbins, edges, luts, tables, fvals, scale, one):
    return _joint_bin_of(src[n, p, 0], src[n, p, 1], src[n, p, 2], kind, nbins, edges, luts,
                         tables, fvals, scale, one)


@cuda.jit(device=True)
def _hist_add(sh, counts, n, base, k, c, use_shared):
    if use_shared:
        cuda.atomic.add(sh, base + k, c)
    else:
        cuda.atomic.add(counts, (n, k), c)


@cuda.jit(device=True)
def _count_run(sh, counts, n, base, k, last, cnt, use_shared):
    """Extend the run of equal bins ``(last, cnt)`` by bin ``k``; a finished run is
    added at once. Returns the new ``(last, cnt)``."""
    if k == last:
        return last, cnt + 1
    if cnt > 0:
        _hist_add(sh, counts, n, base, last, cnt, use_shared)
    return k, 1


@functools.cache
def color_histogram_kernel(threads: int, shared_bins: int, pix: int = 8):
    """Grid (blocks_per_image, N) over ``src`` (N, P, 3); each block counts a strided
    share of one image's P pixels.

    With ``B * copies <= shared_bins`` the block counts into ``copies`` private
    histograms in shared memory (warp w uses copy w % copies: photographs put many
    neighbouring pixels in one bin, and a single copy would serialise their
    atomics) and flushes their sum with one global atomic add per non-empty bin;
    otherwise it counts straight into global memory. ``shared_bins`` sizes the
    shared array: the host passes what the batch needs, since a larger static
    array only lowers how many blocks an SM keeps resident. ``luts``/``tables``/
    ``fvals`` are the look-up tables of the chosen ``kind`` (flattened; dummies
    otherwise).

    ``words_in``, when not empty, is the batch's uint8 bytes as uint32 (P a
    multiple of 4): the strided walk then reads chunks of ``threads * pix``
    pixels as words staged in shared memory (see :func:`gray_u8_staged_kernel`),
    and each thread counts ``pix`` consecutive pixels with equal-bin runs merged.
    """
    chunk = threads * pix
    chunk_words = chunk * 3 // 4
    words_per_thread = chunk_words // threads
    if words_per_thread * threads * 4 != chunk * 3:
        raise ValueError("pix must be a multiple of 4")

    @cuda.jit
    def kernel(words_in, src, counts, kind, nbins, edges, luts, tables, fvals, scale, one,
               copies, runs):
        sh = cuda.shared.array(shared_bins, dtype=numba.int32)
        stage = cuda.shared.array(chunk_words, dtype=numba.uint32)
        n = cuda.blockIdx.y
        tid = cuda.threadIdx.x
        P = src.shape[1]
        B = counts.shape[1]
        use_shared = B * copies <= shared_bins
        if use_shared:
            for b in range(tid, B * copies, threads):
                sh[b] = 0
            cuda.syncthreads()
        base = ((tid // 32) % copies) * B
        if runs:
            # each thread walks a contiguous run of pixels and adds runs of equal
            # bins at once: far fewer (and less contended) atomics on photographs
            seg = (P + cuda.gridDim.x - 1) // cuda.gridDim.x
            s1 = min(P, (cuda.blockIdx.x + 1) * seg)
            run = (seg + threads - 1) // threads
            p0 = cuda.blockIdx.x * seg + tid * run
            last = -1
            cnt = 0
            for p in range(p0, min(s1, p0 + run)):
                k = _joint_bin(src, n, p, kind, nbins, edges, luts, tables, fvals, scale, one)
                last, cnt = _count_run(sh, counts, n, base, k, last, cnt, use_shared)
            if cnt > 0:
                _hist_add(sh, counts, n, base, last, cnt, use_shared)
        else:
            first = 0
            if words_in.shape[0] > 0:
                image_w0 = n * (P * 3 // 4)
                nchunks = P // chunk
                for c in range(cuda.blockIdx.x, nchunks, cuda.gridDim.x):
                    w0 = image_w0 + c * chunk_words
                    for k in range(words_per_thread):  # unrolled: loads in flight together
                        stage[tid + k * threads] = words_in[w0 + tid + k * threads]
                    cuda.syncthreads()
                    # the stage frees the pixel order from coalescing: each thread takes
                    # pix consecutive pixels and adds runs of equal bins at once
                    # (photographs: far fewer, less contended atomics)
                    last = -1
                    cnt = 0
                    for k in range(pix):
                        q = (tid * pix + k) * 3
                        kb = _joint_bin_of(_byte(stage, q), _byte(stage, q + 1),
                                           _byte(stage, q + 2), kind, nbins, edges, luts,
                                           tables, fvals, scale, one)
                        last, cnt = _count_run(sh, counts, n, base, kb, last, cnt, use_shared)
                    _hist_add(sh, counts, n, base, last, cnt, use_shared)
                    cuda.syncthreads()  # before the next chunk overwrites the stage
                first = nchunks * chunk
            for p in range(first + cuda.blockIdx.x * threads + tid, P, cuda.gridDim.x * threads):
                k = _joint_bin(src, n, p, kind, nbins, edges, luts, tables, fvals, scale, one)
                _hist_add(sh, counts, n, base, k, 1, use_shared)
        if use_shared:
            cuda.syncthreads()
            for b in range(tid, B, threads):
                c = 0
                for w in range(copies):
                    c += sh[w * B + b]
                if c != 0:
                    cuda.atomic.add(counts, (n, b), c)

    return kernel


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


@functools.cache
def gradient_histogram_kernel(tx: int, ty: int, rows: int, shared_bins: int, channels: int = 3):
    """Fused gray -> Sobel -> orientation bin -> magnitude-weighted count (float64);
    tiles and ``words_in`` as :func:`sobel_kernel`."""
    th = ty * rows
    load = _staged_tile_loader(tx, th, channels, tx * ty)
    tile_shape = (th + 2, tx + 2)
    raw_words = (th + 2) * staged_row_words(tx, channels)

    @cuda.jit
    def kernel(words_in, src, sums, coeffs, scale):
        tile = cuda.shared.array(tile_shape, dtype=numba.float32)
        raw = cuda.shared.array(raw_words, dtype=numba.uint32)
        hist = cuda.shared.array(shared_bins, dtype=numba.float64)
        n = cuda.blockIdx.z
        nbins = sums.shape[1]
        bins_per_radian = nbins / math.pi
        margin = _m.ORIENTATION_ESTIMATE_ERROR * bins_per_radian
        use_shared = nbins <= shared_bins
        tid = cuda.threadIdx.y * tx + cuda.threadIdx.x
        if use_shared:
            for k in range(tid, nbins, tx * ty):
                hist[k] = 0.0
        load(words_in, src, n, tile, raw, coeffs, scale, 0, np.float32(0.0))
        cuda.syncthreads()
        b = cuda.threadIdx.x + 1
        j = cuda.blockIdx.x * tx + cuda.threadIdx.x
        for r in range(rows):
            a = cuda.threadIdx.y + r * ty + 1
            i = cuda.blockIdx.y * th + a - 1
            if i < src.shape[1] and j < src.shape[2]:
                up0 = tile[a - 1, b - 1]
                up1 = tile[a - 1, b]
                up2 = tile[a - 1, b + 1]
                md0 = tile[a, b - 1]
                md2 = tile[a, b + 1]
                dn0 = tile[a + 1, b - 1]
                dn1 = tile[a + 1, b]
                dn2 = tile[a + 1, b + 1]
                # summed in float64, rounded once to float32 (as scipy.ndimage.correlate)
                gy = np.float64(np.float32(
                    (np.float64(dn0) + 2.0 * np.float64(dn1) + np.float64(dn2))
                    - (np.float64(up0) + 2.0 * np.float64(up1) + np.float64(up2))
                ))
                gx = np.float64(np.float32(
                    (np.float64(up2) + 2.0 * np.float64(md2) + np.float64(dn2))
                    - (np.float64(up0) + 2.0 * np.float64(md0) + np.float64(dn0))
                ))
                mag = math.sqrt(gx * gx + gy * gy) * 0.25
                if mag > 0.0:
                    # the polynomial estimate decides all but the gradients next to
                    # a bin edge, which take float64 atan2 (exactly the same bin)
                    k = orientation_bin_estimate(gx, gy, nbins, bins_per_radian, margin)
                    if k < 0:
                        k = orientation_bin(gx, gy, nbins)
                    if use_shared:
                        cuda.atomic.add(hist, k, mag)
                    else:
                        cuda.atomic.add(sums, (n, k), mag)
        if use_shared:
            cuda.syncthreads()
            for k in range(tid, nbins, tx * ty):
                v = hist[k]
                if v != 0.0:
                    cuda.atomic.add(sums, (n, k), v)

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


# --- hysteresis: union-find connected components (Playne & Hawick, 2018) -------------


@cuda.jit(device=True)
def _find(labels, n, p):
    while labels[n, p] != p:
        p = labels[n, p]
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
def cc_init(state, labels):
    N, H, W = state.shape
    n, i, j, inside = _pixel(H, W)
    if inside:
        q = i * W + j
        labels[n, q] = q if state[n, i, j] != 0 else -1


@cuda.jit
def cc_merge(state, labels):
    """Union each candidate pixel with its 8-neighbours above and to the left."""
    N, H, W = state.shape
    n, i, j, inside = _pixel(H, W)
    if not inside or state[n, i, j] == 0:
        return
    q = i * W + j
    if j > 0 and state[n, i, j - 1] != 0:
        _union(labels, n, q, q - 1)
    if i > 0:
        for dj in range(-1, 2):
            jj = j + dj
            if jj >= 0 and jj < W and state[n, i - 1, jj] != 0:
                _union(labels, n, q, q - W + dj)


@cuda.jit
def cc_mark_strong(state, labels, strong_root):
    N, H, W = state.shape
    n, i, j, inside = _pixel(H, W)
    if inside and state[n, i, j] != 0:
        q = i * W + j
        root = _find(labels, n, q)
        labels[n, q] = root
        if state[n, i, j] == 2:
            strong_root[n, root] = 1


@cuda.jit
def cc_output(state, labels, strong_root, out):
    N, H, W = state.shape
    n, i, j, inside = _pixel(H, W)
    if not inside:
        return
    keep = False
    if state[n, i, j] != 0:
        keep = strong_root[n, _find(labels, n, i * W + j)] != 0
    out[n, i, j] = keep
