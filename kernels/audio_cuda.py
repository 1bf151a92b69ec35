"""Numba CUDA kernels for the audio ops; imported only on first GPU use.

Layout contract as in :mod:`audio` (CPU): ``y`` (N, T) C-contiguous float32/64,
``lengths``/``nvalid`` (N,) int64 on the device, frame-major spectra. Kernels are
1-D grid-stride loops over flattened outputs; frames are processed in blocks
``[t0, t0 + tb)`` so that a long signal never needs all of its frames at once.
The per-element and per-frame arithmetic is :mod:`audio_math`'s, compiled here as
device functions and by :mod:`audio` for the CPU, so the two targets pad, frame,
square, take decibels and compute descriptors identically.
"""

import numpy as np

# numba-cuda (0.2x) still names np.row_stack, which NumPy 2.5 removed (see image_cuda)
if not hasattr(np, "row_stack"):
    np.row_stack = np.vstack

from numba import cuda  # noqa: E402

from . import audio_math as _m  # noqa: E402

_shared = _m.compile_shared(cuda.jit(device=True))
unravel = _shared["unravel"]
frame_start = _shared["frame_start"]
windowed_sample = _shared["windowed_sample"]
spectral_power = _shared["spectral_power"]
power_db = _shared["power_db"]
db_floor = _shared["db_floor"]
frame_descriptors = _shared["frame_descriptors"]
frame_zcr = _shared["frame_zcr"]
frame_rms = _shared["frame_rms"]
weighted_sum = _shared["weighted_sum"]


@cuda.jit
def frame_window(y, lengths, nvalid, window, hop, pad, mode, t0, out):
    """out[n, j, k] = window[k] * padded clip n at ``(t0 + j) * hop + k - pad``;
    0 for frames at or past nvalid[n]."""
    n_clips, tb, K = out.shape
    total = n_clips * tb * K
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    for p in range(start, total, stride):
        n, r = unravel(p, tb * K)
        j, k = unravel(r, K)
        t = t0 + j
        v = window[0] * 0  # zero in the work type
        if t < nvalid[n]:
            v = windowed_sample(y, n, frame_start(t, hop, pad) + k, lengths[n], mode,
                                window[k])
        out[n, j, k] = v


@cuda.jit
def power(X, p, out):
    """out = |X| ** p, element-wise over (R, F)."""
    R, F = X.shape
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    for q in range(start, R * F, stride):
        r, f = unravel(q, F)
        out[r, f] = spectral_power(X[r, f].real, X[r, f].imag, p)


@cuda.jit
def power_mel(X, p, basis, lo, hi, out):
    """out[r, m] = sum over the filter's support of basis[m, f] |X[r, f]| ** p."""
    R, M = out.shape
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    for q in range(start, R * M, stride):
        r, m = unravel(q, M)
        acc = basis[0, 0] * 0
        for f in range(lo[m], hi[m]):
            acc += basis[m, f] * spectral_power(X[r, f].real, X[r, f].imag, p)
        out[r, m] = acc


@cuda.jit
def to_db_peak(S, nvalid, amin, ref_db, peak):
    """In place on S (n, t, M): ``10 log10(max(amin, S)) - ref_db``; peak[n] gets the
    maximum over the clip's valid frames (atomic max)."""
    n_clips, nt, M = S.shape
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    for q in range(start, n_clips * nt * M, stride):
        n, r = unravel(q, nt * M)
        t, m = unravel(r, M)
        # every operand in S's float type (amin, ref_db arrive typed): the atomic max
        # needs v to match peak's type, and float32 stays float32 as in librosa
        v = power_db(S[n, t, m], amin, ref_db)
        S[n, t, m] = v
        if t < nvalid[n]:
            cuda.atomic.max(peak, n, v)


@cuda.jit
def to_db(S, squared, amin, ref_db, out):
    """out[n, i] = ``10 log10(max(amin, x)) - ref_db[n]`` with x = S[n, i], or its
    square when ``squared`` (amplitudes); S and out (N, P), ``amin`` typed as S."""
    N, P = out.shape
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    for q in range(start, N * P, stride):
        n, i = unravel(q, P)
        x = S[n, i]
        if squared:
            x = x * x
        out[n, i] = power_db(x, amin, ref_db[n])


@cuda.jit
def floor_dct(S, nvalid, peak, top_db, use_top, dct_t, out):
    """out[n, t, k] = sum_m dct_t[m, k] max(S[n, t, m], peak[n] - top_db); 0 past the
    clip's end."""
    n_clips, nt, K = out.shape
    M = S.shape[2]
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    for q in range(start, n_clips * nt * K, stride):
        n, r = unravel(q, nt * K)
        t, k = unravel(r, K)
        acc = dct_t[0, 0] * 0  # typed zero (out is uninitialised: it may hold NaN)
        if t < nvalid[n]:
            floor = peak[n] - top_db
            for m in range(M):
                acc += dct_t[m, k] * db_floor(S[n, t, m], floor, use_top)
        out[n, t, k] = acc


@cuda.jit
def spectral_stats(S, freq, nvalid, p, roll_percent, amin, flat_power, tiny, t0, out):
    """Per frame of magnitudes S (n, tb, F) (frames ``t0 + j``): out[n, 0..3, t0 + j]
    = centroid, bandwidth (p), rolloff (roll_percent), flatness (amin, flat_power);
    0 past the clip's end. One thread per frame; ``tiny`` is S's smallest normal
    number."""
    n_clips, tb, F = S.shape
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    for q in range(start, n_clips * tb, stride):
        n, j = unravel(q, tb)
        t = t0 + j
        if t >= nvalid[n]:
            for c in range(4):
                out[n, c, t] = 0
            continue
        cen, bw, roll, flat = frame_descriptors(S, n, j, freq, p, roll_percent, amin,
                                                flat_power, tiny)
        out[n, 0, t] = cen
        out[n, 1, t] = bw
        out[n, 2, t] = roll
        out[n, 3, t] = flat


@cuda.jit
def zcr_rms(y, lengths, nvalid, frame_length, hop, pad, rms_mode, threshold, do_z, do_r,
            zcr_out, rms_out):
    """Per frame (one thread each) straight from the waveform, no frames stored:
    zero-crossing rate (edge padding, as librosa) when ``do_z`` and RMS
    (``rms_mode`` padding, float64 sum) when ``do_r``; 0 past the clip's end."""
    N, nf = zcr_out.shape
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    for q in range(start, N * nf, stride):
        n, t = unravel(q, nf)
        L = lengths[n]
        if t >= nvalid[n]:
            zcr_out[n, t] = 0
            rms_out[n, t] = 0
            continue
        s = frame_start(t, hop, pad)
        if do_z:
            zcr_out[n, t] = frame_zcr(y, n, s, L, frame_length, threshold)
        if do_r:
            rms_out[n, t] = frame_rms(y, n, s, L, frame_length, rms_mode)


@cuda.jit
def savgol_rows(data, nvalid, taps, edge, out):
    """Savitzky-Golay derivative of each row of data (N, C, t) over its first
    nvalid[n] frames (all rows here have nvalid >= width = len(taps)): the interior
    by the correlation ``taps``, the first and last ``width // 2`` valid frames by
    scipy's interp-mode fit (``edge`` (width, width)); 0 past the end."""
    N, C, nt = data.shape
    W = taps.shape[0]
    half = W // 2
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    for q in range(start, N * C * nt, stride):
        n, r = unravel(q, C * nt)
        c, t = unravel(r, nt)
        nv = nvalid[n]
        acc = 0.0
        if t < half:
            acc = weighted_sum(edge[t], data, n, c, 0)
        elif t >= nv - half and t < nv:
            acc = weighted_sum(edge[W - half + (t - (nv - half))], data, n, c, nv - W)
        elif t < nv:
            acc = weighted_sum(taps, data, n, c, t - half)
        out[n, c, t] = acc
