"""Numba CUDA kernels for the audio ops; imported only on first GPU use.

Layout contract as in :mod:`audio` (CPU): ``y`` (N, T) C-contiguous float32/64,
``lengths``/``nvalid`` (N,) int64 on the device, frame-major spectra. Frames are
processed in blocks ``[t0, t0 + tb)`` so that a long signal never needs all of its
frames at once. The per-element and per-frame arithmetic is :mod:`audio_math`'s,
compiled here as device functions and by :mod:`audio` for the CPU, so the two
targets pad, frame, square, take decibels and compute descriptors identically.

Launch grids (``audio/_cuda.py``'s ``_launch_grid``): the axes of the output map to
the grid's: x the contiguous inner axis (bin, band, coefficient, sample of a frame,
or frame), y the middle one (frame or row), z the clip (``blockIdx.z``). Each axis
is a grid-stride loop (:func:`grid3`), so any extent runs with a grid capped at the
limits (y, z <= 65535), and no flat index is split by a run-time division: the
64-bit division subroutine (``__cuda_sm20_div_s64``) that ``unravel`` called per
element is gone, and the inner loop walks one contiguous row.

Every module-level kernel is compiled with ``cache=True`` (numba-cuda's on-disk
cache: a new process loads the cubin instead of running NVVM; the simulator ignores
the flag); :func:`power_mel_kernel`'s per-power kernels compile once per process.
"""

import functools

import numpy as np

# numba-cuda (0.2x) still names np.row_stack, which NumPy 2.5 removed (see image_cuda)
if not hasattr(np, "row_stack"):
    np.row_stack = np.vstack

from numba import cuda  # noqa: E402

from . import audio_math as _m  # noqa: E402

_shared = _m.compile_shared(cuda.jit(device=True))
frame_start = _shared["frame_start"]
windowed_sample = _shared["windowed_sample"]
abs2 = _shared["abs2"]
spectral_power = _shared["spectral_power"]
power_db = _shared["power_db"]
db_floor = _shared["db_floor"]
frame_descriptors = _shared["frame_descriptors"]
frame_zcr = _shared["frame_zcr"]
frame_rms = _shared["frame_rms"]
weighted_sum = _shared["weighted_sum"]


#: entries of the block-reduction scratch of :func:`to_db_peak` (the largest block)
MAX_BLOCK_THREADS = 1024

# The grid-stride loops are ``while`` loops: Numba lowers ``range(a, b, step)`` with a
# run-time step to a trip count ``(b - a + step - 1) // step``, one 64-bit division
# each time a loop is entered (per row of an inner loop). Their indices are uint64
# (U): Numba wraps a signed index (``i + (i < 0) * dim``, two extra instructions an
# index and axis) and an unsigned one not. Mixed signed/unsigned arithmetic and
# comparisons are floats in Numba, so a signed quantity meets an index only through
# an explicit cast (I, U); every value cast is >= 0 there. (32-bit indices were
# measured too: 24 SASS instructions a windowed sample against uint64's 23, so the
# kernels keep 64-bit indices and need no size guard.)
U = np.uint64
I = np.int64


@cuda.jit(device=True)
def grid3():
    """(x0, sx, y0, sy, z0, sz): each grid axis' first index and stride for a
    grid-stride loop (x, y over threads, z over blocks: one clip a block)."""
    return (U(cuda.threadIdx.x + cuda.blockIdx.x * cuda.blockDim.x),
            U(cuda.blockDim.x * cuda.gridDim.x),
            U(cuda.threadIdx.y + cuda.blockIdx.y * cuda.blockDim.y),
            U(cuda.blockDim.y * cuda.gridDim.y),
            U(cuda.blockIdx.z), U(cuda.gridDim.z))


@cuda.jit(cache=True)
def frame_window(y, lengths, nvalid, window, hop, pad, mode, t0, out):
    """out[n, j, k] = window[k] * padded clip n at ``(t0 + j) * hop + k - pad``;
    0 for frames at or past nvalid[n]. Grid: x = k, y = j, z = n; a frame inside
    the clip reads ``y`` directly, only a frame in the padding maps each index."""
    n_clips, tb, K = out.shape
    x0, sx, y0, sy, z0, sz = grid3()
    zero = window[0] * (window[0] - window[0])  # window[0] * 0 in the work type
    n = z0
    while n < U(n_clips):
        L = lengths[n]
        nv = nvalid[n]
        j = y0
        while j < U(tb):
            t = t0 + I(j)
            s = frame_start(t, hop, pad)
            k = x0
            if t < nv and s >= 0 and s + K <= L:
                first = U(s)
                while k < U(K):
                    out[n, j, k] = y[n, first + k] * window[k]
                    k += sx
            else:
                valid = t < nv
                while k < U(K):
                    v = zero
                    if valid:
                        v = windowed_sample(y, n, s + I(k), L, mode, window[k])
                    out[n, j, k] = v
                    k += sx
            j += sy
        n += sz


@cuda.jit(cache=True)
def power(X, p, out):
    """out = |X| ** p, element-wise over (R, F). Grid: x = f, y = r."""
    R, F = X.shape
    x0, sx, y0, sy, _, _ = grid3()
    r = y0
    while r < U(R):
        f = x0
        while f < U(F):
            out[r, f] = spectral_power(X[r, f].real, X[r, f].imag, p)
            f += sx
        r += sy


@cuda.jit(device=True)
def _tap_square(re, im, pw):
    """|X|**2 in X's type (spectral_power's return type unifies its branches' float64)."""
    return abs2(re, im)


@cuda.jit(device=True)
def _tap_power(re, im, pw):
    return spectral_power(re, im, pw)


@functools.cache
def _mel_taps(tap):
    """The body of :func:`power_mel_kernel`'s kernels (grid x = m, y = r) with the
    per-bin power ``tap(re, im, pw)`` compiled in."""

    @cuda.jit(device=True)
    def taps(X, pw, basis, lo, hi, out):
        R, M = out.shape
        x0, sx, y0, sy, _, _ = grid3()
        r = y0
        while r < U(R):
            xr = X[r]
            m = x0
            while m < U(M):
                br = basis[m]
                # summed in the basis' type for the power spectrum, as the cpu kernel
                # and librosa's float32 einsum (a float64 sum was a conversion and a
                # float64 add a tap)
                acc = br[0] - br[0]
                f = U(lo[m])
                f1 = U(hi[m])
                while f < f1:
                    z = xr[f]
                    acc += br[f] * tap(z.real, z.imag, pw)
                    f += U(1)
                out[r, m] = acc
                m += sx
            r += sy

    return taps


@functools.cache
def power_mel_kernel(square: bool):
    """power_mel(X, p, basis, lo, hi, out): out[r, m] = the sum over the filter's
    support ``lo[m] <= f < hi[m]`` of basis[m, f] |X[r, f]| ** p. Grid: x = m, y = r
    (the bands of a frame share its spectrum in L1).

    ``square`` (p = 2, the power spectrum of mel and MFCC) compiles its own kernel:
    |X|**2 and the sum in X's type, nothing else in the tap loop (a run-time power
    carried the untaken ``pow`` branches and summed in float64: 115 SASS
    instructions a tap, 129 float64 ones); else one generic kernel reads ``p``. The
    tap loop walks one row of X and one of the basis (1-D views: an address step a
    tap instead of a 2-D offset)."""
    taps = _mel_taps(_tap_square if square else _tap_power)

    @cuda.jit
    def power_mel(X, p, basis, lo, hi, out):
        taps(X, p, basis, lo, hi, out)

    return power_mel


@cuda.jit(cache=True)
def to_db_peak(S, nvalid, amin, ref_db, lowest, flip, keys):
    """In place on S (n, t, M): ``10 log10(max(amin, S)) - ref_db``; keys[n] gets the
    maximum over the clip's valid frames (NaN ignored, as a float atomic max does)
    as an order-preserving integer key: the float's bits, a negative float's xor
    ``flip`` (the key type's largest value). Grid: x = m, y = t, z = n (a block
    works on one clip at a time): each thread keeps its running maximum, the block
    reduces them in shared memory and one integer ``atomic.max`` a block publishes
    it (no compare-and-swap loop). ``lowest``: -inf in S's type; ``keys`` int32 for
    float32 S, int64 for float64, initialised to the key of -inf."""
    n_clips, nt, M = S.shape
    x0, sx, y0, sy, z0, sz = grid3()
    tid = cuda.threadIdx.y * cuda.blockDim.x + cuda.threadIdx.x
    nthr = cuda.blockDim.x * cuda.blockDim.y
    red = cuda.shared.array(MAX_BLOCK_THREADS, S.dtype)
    n = z0
    while n < U(n_clips):
        nv = U(nvalid[n])
        best = lowest
        t = y0
        while t < U(nt):
            m = x0
            while m < U(M):
                # every operand in S's float type (amin, ref_db arrive typed); the value
                # compared is the one stored (rounded to S's type), as the atomic saw it
                S[n, t, m] = power_db(S[n, t, m], amin, ref_db)
                v = S[n, t, m]
                if t < nv and v > best:
                    best = v
                m += sx
            t += sy
        red[tid] = best
        cuda.syncthreads()
        s = 1
        while s < nthr:
            s *= 2
        s >>= 1
        while s > 0:
            if tid < s and tid + s < nthr and red[tid + s] > red[tid]:
                red[tid] = red[tid + s]
            cuda.syncthreads()
            s >>= 1
        if tid == 0:
            b = red[0].view(keys.dtype)
            if b < 0:
                b = b ^ flip
            cuda.atomic.max(keys, n, b)
        cuda.syncthreads()  # red is reused by the block's next clip
        n += sz


@cuda.jit(cache=True)
def to_db(S, squared, amin, ref_db, out):
    """out[n, i] = ``10 log10(max(amin, x)) - ref_db[n]`` with x = S[n, i], or its
    square when ``squared`` (amplitudes); S and out (N, P), ``amin`` typed as S.
    Grid: x = i, z = n."""
    N, P = out.shape
    x0, sx, _, _, z0, sz = grid3()
    n = z0
    while n < U(N):
        ref = ref_db[n]
        i = x0
        while i < U(P):
            x = S[n, i]
            if squared:
                x = x * x
            out[n, i] = power_db(x, amin, ref)
            i += sx
        n += sz


@cuda.jit(cache=True)
def floor_dct(S, nvalid, peak, top_db, use_top, dct_t, out):
    """out[n, t, k] = sum_m dct_t[m, k] max(S[n, t, m], peak[n] - top_db); 0 past the
    clip's end. Grid: x = k, y = t, z = n."""
    n_clips, nt, K = out.shape
    M = S.shape[2]
    x0, sx, y0, sy, z0, sz = grid3()
    n = z0
    while n < U(n_clips):
        nv = U(nvalid[n])
        floor = peak[n] - top_db
        t = y0
        while t < U(nt):
            k = x0
            while k < U(K):
                acc = dct_t[0, 0] * 0  # typed zero (out is uninitialised: it may hold NaN)
                if t < nv:
                    m = U(0)
                    while m < U(M):
                        acc += dct_t[m, k] * db_floor(S[n, t, m], floor, use_top)
                        m += U(1)
                out[n, t, k] = acc
                k += sx
            t += sy
        n += sz


@cuda.jit(cache=True)
def spectral_stats(S, freq, nvalid, p, roll_percent, amin, flat_power, tiny, t0, out):
    """Per frame of magnitudes S (n, tb, F) (frames ``t0 + j``): out[n, 0..3, t0 + j]
    = centroid, bandwidth (p), rolloff (roll_percent), flatness (amin, flat_power);
    0 past the clip's end. One thread per frame (grid: x = j, z = n); ``tiny`` is
    S's smallest normal number."""
    n_clips, tb, F = S.shape
    x0, sx, _, _, z0, sz = grid3()
    n = z0
    while n < U(n_clips):
        nv = nvalid[n]
        j = x0
        while j < U(tb):
            t = t0 + I(j)
            if t >= nv:
                for c in range(4):
                    out[n, c, t] = 0
            else:
                cen, bw, roll, flat = frame_descriptors(S, n, j, freq, p, roll_percent,
                                                        amin, flat_power, tiny)
                out[n, 0, t] = cen
                out[n, 1, t] = bw
                out[n, 2, t] = roll
                out[n, 3, t] = flat
            j += sx
        n += sz


@cuda.jit(cache=True)
def zcr_rms(y, lengths, nvalid, frame_length, hop, pad, rms_mode, threshold, do_z, do_r,
            zcr_out, rms_out):
    """Per frame (one thread each; grid: x = t, z = n) straight from the waveform, no
    frames stored: zero-crossing rate (edge padding, as librosa) when ``do_z`` and
    RMS (``rms_mode`` padding, float64 sum) when ``do_r``; 0 past the clip's end."""
    N, nf = zcr_out.shape
    x0, sx, _, _, z0, sz = grid3()
    n = z0
    while n < U(N):
        L = lengths[n]
        nv = U(nvalid[n])
        t = x0
        while t < U(nf):
            if t >= nv:
                zcr_out[n, t] = 0
                rms_out[n, t] = 0
            else:
                s = frame_start(I(t), hop, pad)
                if do_z:
                    zcr_out[n, t] = frame_zcr(y, n, s, L, frame_length, threshold)
                if do_r:
                    rms_out[n, t] = frame_rms(y, n, s, L, frame_length, rms_mode)
            t += sx
        n += sz


@cuda.jit(cache=True)
def savgol_rows(data, nvalid, table, out):
    """Savitzky-Golay derivative of each row of data (N, C, t) over its first
    nvalid[n] frames (all rows here have nvalid >= width W): the interior by the
    correlation ``table[W]`` (the taps), the first and last ``W // 2`` valid frames
    by scipy's interp-mode fit (``table[:W]``, the edge rows); 0 past the end.
    ``table`` (W + 1, W) float64. Grid: x = t, y = c, z = n."""
    N, C, nt = data.shape
    W = table.shape[1]
    half = W // 2
    x0, sx, y0, sy, z0, sz = grid3()
    n = z0
    while n < U(N):
        nv = nvalid[n]
        c = y0
        while c < U(C):
            t = x0
            while t < U(nt):
                # the row of weights and the first frame it applies to; one sum
                ts = I(t)
                row = W
                first = ts - half
                if ts < half:
                    row = ts
                    first = 0
                elif ts >= nv - half and ts < nv:
                    row = W - half + (ts - (nv - half))
                    first = nv - W
                acc = 0.0
                if ts < nv:
                    acc = weighted_sum(table[row], data, n, c, first)
                out[n, c, t] = acc
                t += sx
            c += sy
        n += sz
