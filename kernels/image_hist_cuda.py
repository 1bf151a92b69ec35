"""Numba CUDA kernels of the colour and the gradient-orientation histograms (issue 15).

Both are factories memoized on everything that fixes their machine code: the
colour space, the bin counts, the launch shape. What a launch never takes is
not compiled in (a uint8 HSV histogram holds no float64 arithmetic).

Warp intrinsics (``match_any_sync``, ``shfl_xor_sync``) are not in Numba's CUDA
simulator; :func:`_simulated_warp_intrinsics` adds them there, exchanging the
lanes' values through the block's barrier. That emulation needs every thread of
the block to make the same calls, so the kernels call them only in loops whose
trip count is the same for the whole block (a lane without work passes a dummy).
"""

import functools
import math
import os
import threading

import numba
import numpy as np
from numba import cuda

from . import image_cuda as _ic
from . import image_math as _m

HIST_HSV = 0  # float HSV (float32 arithmetic for float32 input, float64 else)
HIST_LUT = 1  # uint8 RGB: per-channel bins from three 256-entry tables
HIST_RGB = 2  # float RGB
HIST_HSV_U8 = 3  # uint8 HSV: exact integer bins (see hsv_u8_bin)

FULL_MASK = np.int32(-1)
#: uint32 words a thread reads per pass of the staged histogram loop (8 RGB pixels)
WORDS_PER_PASS = 6
#: entries of the small per-block table (``small``): 3 x 256
SMALL_TABLE = 768


def _simulated_warp_intrinsics():
    """``cuda.match_any_sync`` and ``cuda.shfl_xor_sync`` for Numba's CUDA simulator.

    Each call writes the lane's value, meets the block at a barrier, reads the
    warp's values and meets it again: every thread of the block must call it the
    same number of times (the kernels below do). Only when the simulator is on
    (mmfeat's view of ``NUMBA_ENABLE_CUDASIM``: ``benchmarks/sass_budget.py``
    simulates launches while it compiles the real kernels)."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
        return
    try:
        from numba.cuda.simulator import kernelapi
    except ImportError:
        return
    fake = kernelapi.FakeCUDAModule
    if getattr(fake, "_mmfeat_warp_intrinsics", False):
        return

    def exchange(value):
        t = threading.current_thread()
        slots = t._manager.__dict__.setdefault("_mmfeat_lanes", {})
        slots[t.thread_id] = value
        t.syncthreads()
        first = t.thread_id - t.thread_id % 32
        values = [slots.get(first + i) for i in range(32)]
        t.syncthreads()  # before any lane writes its next value
        return t.thread_id % 32, values

    def match_any_sync(self, mask, value):
        _lane, values = exchange(value)
        bits = 0
        for i, v in enumerate(values):
            if v is not None and v == value and (int(mask) >> i) & 1:
                bits |= 1 << i
        return bits  # non-negative: the simulator's popc counts a Python int's bits

    def shfl_xor_sync(self, mask, value, lane_mask):
        lane, values = exchange(value)
        return values[lane ^ int(lane_mask)]

    fake.match_any_sync = match_any_sync
    fake.shfl_xor_sync = shfl_xor_sync
    fake._mmfeat_warp_intrinsics = True


_simulated_warp_intrinsics()


# --- colour histogram -----------------------------------------------------------------


@cuda.jit(device=True)
def _mulhi31(n, m):
    """floor(n * m / 2**31) of uint32 values (one wide multiply): floor(n / den) when
    m = ceil(2**31 / den) and n * (m * den - 2**31) < 2**31 (the tables' ranges)."""
    return np.int32((np.uint64(np.uint32(n)) * np.uint64(m)) >> np.uint64(31))


@functools.cache
def _hsv_u8_bin(bins):
    """Device function: the joint HSV bin of a uint8 pixel, exact and integer-only.

    V = max / 255 and S = d / max (d = max - min) are rationals, and so is the hue,
    (2 c d + x) / (6 d) wrapped into [0, 1) for the max channel c (blue wins ties
    over green, green over red, as scikit-image) and x the difference of the other
    two. Off a bin edge each is at least 1 / (6 * 255 * bins) from every edge, far
    beyond float64 rounding, so floor(value * bins) is the bin np.histogramdd gives
    scikit-image's float64 value: that floor is a multiply by a reciprocal
    (``small[d]`` = ceil(2**31 / 6d), ``small[256 + max]`` = ceil(2**31 / max)).
    Exactly on an interior edge k the float64 rounding decides between k - 1 and k;
    the launcher found each such pixel's answer with scikit-image's arithmetic
    (``mmfeat.image._cuda``): S ties are one per (max, k), a bit of ``sdown``; hue
    ties depend on the pixel, not only on (c, d, k): ``hslot[(c, d, k)]`` names a
    256-bit row of ``hbits`` over min, or is -1 (never below). ``small[512 + max]``
    is the V bin times 1. Gray pixels (d = 0: hue and S 0), S = 1 (min 0) and hue 0
    are exact in float64 too and take no tie look-up.
    """
    b0, b1, b2 = (np.int32(b) for b in bins)
    s_words = np.int32((bins[1] + 31) // 32)
    sv = np.int32(bins[1] * bins[2])

    @cuda.jit(device=True)
    def hsv_u8_bin(r, g, b, small, sdown, hslot, hbits):
        # 32-bit arithmetic and unsigned indices throughout (no 64-bit products, no
        # negative-index wrap); the max channel by selects, as the CPU's _hue_key
        mx = max(r, max(g, b))
        mn = min(r, min(g, b))
        d = np.int32(mx - mn)
        is_b = b == mx
        is_g = (g == mx) and not is_b
        c = np.int32(2 if is_b else (1 if is_g else 0))
        x = np.int32((r - g) if is_b else ((b - r) if is_g else (g - b)))
        d6 = np.int32(d * 6)
        num = np.int32(np.int32(np.int32(2 * c) * d) + x)
        num = np.int32(num + (d6 if num < 0 else np.int32(0)))
        nh = np.int32(num * b0)
        kh = _mulhi31(nh, small[np.uint32(d)])
        if kh > 0 and np.int32(kh * d6) == nh:
            slot = hslot[np.uint32(np.int32(np.int32(c * 256) + d) * b0 + kh)]
            if slot >= 0:
                word = hbits[np.uint32(np.int32(slot * 8) + (mn >> 5))]
                kh = np.int32(kh - ((word >> np.uint32(mn & 31)) & np.uint32(1)))
        ns = np.int32(d * b1)
        ks = _mulhi31(ns, small[np.uint32(256 + mx)])
        if ks > 0 and ks < b1 and np.int32(ks * mx) == ns:
            word = sdown[np.uint32(np.int32(mx * s_words) + (ks >> 5))]
            ks = np.int32(ks - ((word >> np.uint32(ks & 31)) & np.uint32(1)))
        ks = min(ks, np.int32(b1 - 1))  # S = 1 (min 0) is exact: the last bin
        return np.int32(np.int32(kh * sv) + np.int32(ks * b2)
                        + np.int32(small[np.uint32(512 + mx)]))

    return hsv_u8_bin


@functools.cache
def _pixel_bin(kind, bins):
    """Device function ``(r, g, b, small, sdown, hslot, hbits, edges, scale, one)`` ->
    joint bin of one pixel's raw channel values, for one colour space and bin count."""
    b0, b1, b2 = bins
    if kind == HIST_HSV_U8:
        hsv_u8_bin = _hsv_u8_bin(bins)

        @cuda.jit(device=True)
        def pixel_bin(r, g, b, small, sdown, hslot, hbits, edges, scale, one):
            return hsv_u8_bin(np.int32(r), np.int32(g), np.int32(b), small, sdown, hslot,
                              hbits)
    elif kind == HIST_LUT:

        @cuda.jit(device=True)
        def pixel_bin(r, g, b, small, sdown, hslot, hbits, edges, scale, one):
            # the tables hold each channel's bin times its stride in the joint index
            return np.int32(np.uint32(small[np.uint32(r)]
                                      + small[np.uint32(g) + np.uint32(256)])
                            + small[np.uint32(b) + np.uint32(512)])
    elif kind == HIST_HSV:

        @cuda.jit(device=True)
        def pixel_bin(r, g, b, small, sdown, hslot, hbits, edges, scale, one):
            h, s, v = _ic.hsv_value(r * scale, g * scale, b * scale, one)
            i0 = _ic.bin_index(h, b0, edges, 0)
            i1 = _ic.bin_index(s, b1, edges, 1)
            i2 = _ic.bin_index(v, b2, edges, 2)
            return np.int32((i0 * b1 + i1) * b2 + i2)
    else:

        @cuda.jit(device=True)
        def pixel_bin(r, g, b, small, sdown, hslot, hbits, edges, scale, one):
            i0 = _ic.bin_index(r * scale, b0, edges, 0)
            i1 = _ic.bin_index(g * scale, b1, edges, 1)
            i2 = _ic.bin_index(b * scale, b2, edges, 2)
            return np.int32((i0 * b1 + i1) * b2 + i2)

    return pixel_bin


@functools.cache
def color_histogram_kernel(threads: int, kind: int, bins: tuple, copies: int,
                           shared_bins: int, staged: bool):
    """Grid (blocks_per_image, N) over ``src`` (N, P, 3); each block counts a strided
    share of one image's P pixels into ``counts`` (N, B) int64.

    ``kind`` (``HIST_*``) and ``bins`` are compile-time constants: only that colour
    space's arithmetic is compiled. With ``B * copies <= shared_bins`` the block
    counts into ``copies`` private histograms in shared memory (warp w uses copy
    w % copies) and flushes their sum with one global atomic add per non-empty bin;
    otherwise it counts straight into global memory. Every count is warp-aggregated:
    the lanes holding the same bin (``match_any_sync``) add their number with one
    atomic, from the lowest of them (photographs put many neighbouring pixels in
    one bin).

    ``small`` (768,) uint32: the per-block table of the uint8 kinds, copied to
    shared memory (``HIST_LUT``: each channel's bin times its joint stride;
    ``HIST_HSV_U8``: see :func:`_hsv_u8_bin`); ``sdown``/``hslot``/``hbits`` the
    uint8 HSV tie tables (global: read only on a bin edge); ``edges``/``scale``/
    ``one`` the float kinds' edges, scale and arithmetic type.

    ``staged`` (uint8, P a multiple of 4, ``words_in`` the batch's bytes as uint32):
    each pass a thread reads 6 words (two groups of 4 pixels, each group's 3 words
    at a 12-byte lane stride: every sector of the pass is used) and issues the next
    pass's 6 loads before it bins the current 8 pixels, so loads stay in flight
    through the compute. Otherwise one pixel a thread a pass, read from ``src``.
    """
    b0, b1, b2 = bins
    B = b0 * b1 * b2
    use_shared = B * copies <= shared_bins
    sh_size = shared_bins if use_shared else 1
    pixel_bin = _pixel_bin(kind, bins)
    uses_small = kind == HIST_LUT or kind == HIST_HSV_U8
    small_size = SMALL_TABLE if uses_small else 1
    groups = threads * 2  # 4-pixel groups per staged pass of a block

    @cuda.jit(device=True)
    def add(sh, counts, n, base, key, below):
        """Count pixel bin ``key`` (-1: no pixel) once per warp and bin."""
        peers = cuda.match_any_sync(FULL_MASK, key)
        if key >= 0 and (peers & below) == 0:
            if use_shared:
                cuda.atomic.add(sh, np.uint32(base + key), np.int32(cuda.popc(peers)))
            else:
                cuda.atomic.add(counts, (n, key), np.int64(cuda.popc(peers)))

    @cuda.jit(device=True)
    def add_group(sh, counts, n, base, below, w0, w1, w2, valid, small, sdown, hslot,
                  hbits, edges, scale, one):
        """The 4 pixels of the 3 little-endian words w0, w1, w2."""
        k = pixel_bin(w0 & 0xFF, (w0 >> 8) & 0xFF, (w0 >> 16) & 0xFF, small, sdown, hslot,
                      hbits, edges, scale, one)
        add(sh, counts, n, base, k if valid else np.int32(-1), below)
        k = pixel_bin(w0 >> 24, w1 & 0xFF, (w1 >> 8) & 0xFF, small, sdown, hslot, hbits,
                      edges, scale, one)
        add(sh, counts, n, base, k if valid else np.int32(-1), below)
        k = pixel_bin((w1 >> 16) & 0xFF, w1 >> 24, w2 & 0xFF, small, sdown, hslot, hbits,
                      edges, scale, one)
        add(sh, counts, n, base, k if valid else np.int32(-1), below)
        k = pixel_bin((w2 >> 8) & 0xFF, (w2 >> 16) & 0xFF, w2 >> 24, small, sdown, hslot,
                      hbits, edges, scale, one)
        add(sh, counts, n, base, k if valid else np.int32(-1), below)

    @cuda.jit
    def kernel(words_in, src, counts, small, sdown, hslot, hbits, edges, scale, one):
        sh = cuda.shared.array(sh_size, dtype=numba.int32)
        st = cuda.shared.array(small_size, dtype=numba.uint32)
        n = cuda.blockIdx.y
        tid = cuda.threadIdx.x
        lane = tid & 31
        below = np.uint32((np.int64(1) << lane) - 1)  # the lanes under this one
        P = np.uint32(src.shape[1])
        if use_shared:
            b = tid
            while b < B * copies:
                sh[b] = 0
                b += threads
        if uses_small:
            b = tid
            while b < SMALL_TABLE:
                st[b] = small[b]
                b += threads
        if use_shared or uses_small:
            cuda.syncthreads()
        base = np.uint32(((tid // 32) % copies) * B)
        if staged:
            ngroups = np.uint32(P >> np.uint32(2))
            w_img = np.uint64(n) * np.uint64(np.uint32(ngroups * np.uint32(3)))
            g = np.uint32(cuda.blockIdx.x * groups)  # this pass's first group
            step = np.uint32(cuda.gridDim.x * groups)
            ga = np.uint32(g + np.uint32(tid))
            gb = np.uint32(ga + np.uint32(threads))
            # words of the first pass (a lane past the image loads nothing, adds nothing)
            n0 = n1 = n2 = n3 = n4 = n5 = np.uint32(0)
            if ga < ngroups:
                wa = w_img + np.uint64(np.uint32(ga * np.uint32(3)))
                n0 = words_in[wa]
                n1 = words_in[wa + np.uint64(1)]
                n2 = words_in[wa + np.uint64(2)]
            if gb < ngroups:
                wb = w_img + np.uint64(np.uint32(gb * np.uint32(3)))
                n3 = words_in[wb]
                n4 = words_in[wb + np.uint64(1)]
                n5 = words_in[wb + np.uint64(2)]
            while g < ngroups:  # the same trip count for the whole block
                a0, a1, a2, a3, a4, a5 = n0, n1, n2, n3, n4, n5
                va = ga < ngroups
                vb = gb < ngroups
                g = np.uint32(g + step)
                ga = np.uint32(ga + step)
                gb = np.uint32(gb + step)
                # the next pass's loads go out before this pass's compute
                if ga < ngroups:
                    wa = w_img + np.uint64(np.uint32(ga * np.uint32(3)))
                    n0 = words_in[wa]
                    n1 = words_in[wa + np.uint64(1)]
                    n2 = words_in[wa + np.uint64(2)]
                if gb < ngroups:
                    wb = w_img + np.uint64(np.uint32(gb * np.uint32(3)))
                    n3 = words_in[wb]
                    n4 = words_in[wb + np.uint64(1)]
                    n5 = words_in[wb + np.uint64(2)]
                add_group(sh, counts, n, base, below, a0, a1, a2, va, st, sdown, hslot, hbits,
                          edges, scale, one)
                add_group(sh, counts, n, base, below, a3, a4, a5, vb, st, sdown, hslot, hbits,
                          edges, scale, one)
        else:
            p = np.uint32(cuda.blockIdx.x * threads)
            step = np.uint32(cuda.gridDim.x * threads)
            while p < P:  # the same trip count for the whole block
                q = np.uint32(p + np.uint32(tid))
                k = np.int32(-1)
                if q < P:
                    k = pixel_bin(src[n, q, 0], src[n, q, 1], src[n, q, 2], st, sdown, hslot,
                                  hbits, edges, scale, one)
                add(sh, counts, n, base, k, below)
                p = np.uint32(p + step)
        if use_shared:
            cuda.syncthreads()
            b = tid
            while b < B:
                c = 0
                for w in range(copies):
                    c += sh[w * B + b]
                if c != 0:
                    cuda.atomic.add(counts, (n, b), np.int64(c))
                b += threads

    return kernel


# --- gradient-orientation histogram -------------------------------------------------------


@functools.cache
def gradient_histogram_kernel(tx: int, ty: int, rows: int, nbins: int, channels: int = 3,
                              thread_bins: bool = True):
    """Fused gray -> Sobel -> orientation bin -> magnitude-weighted sum (float64) into
    ``sums`` (N, nbins); tiles and ``words_in`` as :func:`image_cuda.sobel_kernel`.

    ``thread_bins``: each thread sums its pixels' magnitudes into its own ``nbins``
    float64 bins, a column of a shared array (``nbins * tx * ty * 8`` bytes; bin k
    of thread t at ``k * threads + t``: any k, no bank conflict): a plain load, add
    and store, no atomic. Then each warp reduces bins ``w, w + warps, ...``: its lane
    l adds the bin of threads l, l + 32, ..., the warp sums its lanes with shuffles
    and lane 0 adds the block's sum to ``sums`` with one float64 global atomic (a
    native reduction, not a compare-and-swap loop). Otherwise (bins that do not fit)
    each pixel adds its magnitude to ``sums`` with that global atomic. Float64
    shared atomics, which compile to compare-and-swap spin loops, are not used.
    The per-pixel arithmetic is the reference's: gx, gy summed in float64 and
    rounded once to float32, the float64 magnitude, the polynomial bin estimate and
    float64 atan2 next to a bin edge.
    """
    th = ty * rows
    threads = tx * ty
    if threads % 32:
        raise ValueError("tx * ty must be a multiple of 32 (whole warps)")
    warps = threads // 32
    load = _ic._staged_tile_loader(tx, th, channels, threads)
    tile_shape = (th + 2, tx + 2)
    raw_words = (th + 2) * _ic.staged_row_words(tx, channels)
    bins_per_radian = nbins / math.pi
    margin = _m.ORIENTATION_ESTIMATE_ERROR * bins_per_radian
    hist_size = nbins * threads if thread_bins else 1

    @cuda.jit
    def kernel(words_in, src, sums, coeffs, scale):
        tile = cuda.shared.array(tile_shape, dtype=numba.float32)
        raw = cuda.shared.array(raw_words, dtype=numba.uint32)
        hist = cuda.shared.array(hist_size, dtype=numba.float64)
        n = cuda.blockIdx.z
        tid = np.uint32(cuda.threadIdx.y * tx + cuda.threadIdx.x)
        if thread_bins:
            for k in range(nbins):
                hist[np.uint32(k * threads) + tid] = 0.0
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
                    k = _ic.orientation_bin_estimate(gx, gy, nbins, bins_per_radian, margin)
                    if k < 0:
                        k = _ic.orientation_bin(gx, gy, nbins)
                    if thread_bins:
                        h = np.uint32(np.uint32(k) * np.uint32(threads)) + tid
                        hist[h] = hist[h] + mag  # this thread's own bin: no atomic
                    else:
                        cuda.atomic.add(sums, (n, k), mag)
        if thread_bins:
            cuda.syncthreads()
            lane = tid & np.uint32(31)
            warp = tid >> np.uint32(5)
            for q0 in range(0, nbins, warps):  # the same trip count for every warp
                q = np.uint32(q0) + warp
                v = 0.0
                if q < nbins:
                    for w in range(warps):
                        v += hist[q * np.uint32(threads) + np.uint32(w * 32) + lane]
                for s in (16, 8, 4, 2, 1):
                    v += cuda.shfl_xor_sync(FULL_MASK, v, s)
                if lane == 0 and q < nbins and v != 0.0:
                    cuda.atomic.add(sums, (n, q), v)

    return kernel
