"""Numba CUDA kernels for the audio ops; imported only on first GPU use.

Layout contract as in :mod:`audio` (CPU): ``y`` (N, T) C-contiguous float32/64,
``lengths``/``nvalid`` (N,) int64 on the device, frame-major spectra. Kernels are
1-D grid-stride loops over flattened outputs; frames are processed in blocks
``[t0, t0 + tb)`` so that a long signal never needs all of its frames at once.
The padding arithmetic is :mod:`audio`'s plain-Python ``pad_index_py``, compiled
here as a device function, so CPU and GPU pad identically.
"""

import math

import numpy as np

# numba-cuda (0.2x) still names np.row_stack, which NumPy 2.5 removed (see image_cuda)
if not hasattr(np, "row_stack"):
    np.row_stack = np.vstack

from numba import cuda  # noqa: E402

from .audio import is_negative_py, pad_index_py  # noqa: E402

pad_index = cuda.jit(device=True)(pad_index_py)


@cuda.jit
def frame_window(y, lengths, nvalid, window, hop, pad, mode, t0, out):
    """out[n, j, k] = window[k] * padded clip n at ``(t0 + j) * hop + k - pad``;
    0 for frames at or past nvalid[n]."""
    n_clips, tb, K = out.shape
    total = n_clips * tb * K
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    for p in range(start, total, stride):
        n = p // (tb * K)
        r = p - n * tb * K
        j = r // K
        k = r - j * K
        t = t0 + j
        v = window[0] * 0  # zero in the work type
        if t < nvalid[n]:
            i = pad_index(t * hop + k - pad, lengths[n], mode)
            if i >= 0:
                v = y[n, i] * window[k]
        out[n, j, k] = v


@cuda.jit
def power(X, p, out):
    """out = |X| ** p, element-wise over (R, F)."""
    R, F = X.shape
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    for q in range(start, R * F, stride):
        r = q // F
        f = q - r * F
        re = X[r, f].real
        im = X[r, f].imag
        v = re * re + im * im
        if p == 1.0:
            v = math.sqrt(v)
        elif p != 2.0:
            v = math.sqrt(v) ** p
        out[r, f] = v


@cuda.jit
def power_mel(X, p, basis, lo, hi, out):
    """out[r, m] = sum over the filter's support of basis[m, f] |X[r, f]| ** p."""
    R, M = out.shape
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    for q in range(start, R * M, stride):
        r = q // M
        m = q - r * M
        acc = basis[0, 0] * 0
        for f in range(lo[m], hi[m]):
            re = X[r, f].real
            im = X[r, f].imag
            v = re * re + im * im
            if p == 1.0:
                v = math.sqrt(v)
            elif p != 2.0:
                v = math.sqrt(v) ** p
            acc += basis[m, f] * v
        out[r, m] = acc


@cuda.jit
def to_db_peak(S, nvalid, amin, ref_db, peak):
    """In place on S (n, t, M): ``10 log10(max(amin, S)) - ref_db``; peak[n] gets the
    maximum over the clip's valid frames (atomic max)."""
    n_clips, nt, M = S.shape
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    for q in range(start, n_clips * nt * M, stride):
        n = q // (nt * M)
        r = q - n * nt * M
        t = r // M
        m = r - t * M
        # every operand in S's float type (amin, ref_db arrive typed): the atomic max
        # needs v to match peak's type, and float32 stays float32 as in librosa
        v = (amin * 0 + 10) * math.log10(max(amin, S[n, t, m])) - ref_db
        S[n, t, m] = v
        if t < nvalid[n]:
            cuda.atomic.max(peak, n, v)


@cuda.jit
def floor_dct(S, nvalid, peak, top_db, use_top, dct_t, out):
    """out[n, t, k] = sum_m dct_t[m, k] max(S[n, t, m], peak[n] - top_db); 0 past the
    clip's end."""
    n_clips, nt, K = out.shape
    M = S.shape[2]
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    for q in range(start, n_clips * nt * K, stride):
        n = q // (nt * K)
        r = q - n * nt * K
        t = r // K
        k = r - t * K
        acc = dct_t[0, 0] * 0  # typed zero (out is uninitialised: it may hold NaN)
        if t < nvalid[n]:
            floor = peak[n] - top_db
            for m in range(M):
                v = S[n, t, m]
                if use_top and v < floor:
                    v = floor
                acc += dct_t[m, k] * v
        out[n, t, k] = acc


is_negative = cuda.jit(device=True)(is_negative_py)


@cuda.jit
def spectral_stats(S, freq, nvalid, p, roll_percent, amin, flat_power, tiny, t0, out):
    """Per frame of magnitudes S (n, tb, F) (frames ``t0 + j``): out[n, 0..3, t0 + j]
    = centroid, bandwidth (p), rolloff (roll_percent), flatness (amin, flat_power);
    0 past the clip's end. One thread per frame, the arithmetic of the CPU
    ``spectral_stats`` (float64 sums; the rolloff's running sum in S's type, so the
    crossing bin is librosa's); ``tiny`` is S's smallest normal number."""
    n_clips, tb, F = S.shape
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    for q in range(start, n_clips * tb, stride):
        n = q // tb
        j = q - n * tb
        t = t0 + j
        if t >= nvalid[n]:
            for c in range(4):
                out[n, c, t] = 0
            continue
        total = 0.0
        for f in range(F):
            total += S[n, j, f]
        scale = 1.0 / total if total >= tiny else 1.0
        cen = 0.0
        for f in range(F):
            cen += freq[f] * (S[n, j, f] * scale)
        bw = 0.0
        for f in range(F):
            bw += (S[n, j, f] * scale) * abs(freq[f] - cen) ** p
        acc = S[n, j, 0] - S[n, j, 0]
        for f in range(F):
            acc += S[n, j, f]
        thresh = roll_percent * acc
        acc = S[n, j, 0] - S[n, j, 0]
        roll = freq[F - 1]
        for f in range(F):
            acc += S[n, j, f]
            if not (acc < thresh):
                roll = freq[f]
                break
        slog = 0.0
        sarith = 0.0
        for f in range(F):
            v = max(amin, float(S[n, j, f]) ** flat_power)
            slog += math.log(v)
            sarith += v
        out[n, 0, t] = cen
        out[n, 1, t] = bw ** (1.0 / p)
        out[n, 2, t] = roll
        out[n, 3, t] = math.exp(slog / F) / (sarith / F)


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
        n = q // nf
        t = q - n * nf
        L = lengths[n]
        if t >= nvalid[n]:
            zcr_out[n, t] = 0
            rms_out[n, t] = 0
            continue
        s = t * hop - pad
        if do_z:
            count = 0
            prev = False
            for k in range(frame_length):
                j = pad_index(s + k, L, 2)  # PAD_EDGE
                v = y[n, j] if j >= 0 else y[n, 0] * 0
                neg = is_negative(v, threshold)
                if k > 0 and neg != prev:
                    count += 1
                prev = neg
            zcr_out[n, t] = count / frame_length
        if do_r:
            acc = 0.0
            for k in range(frame_length):
                j = pad_index(s + k, L, rms_mode)
                if j >= 0:
                    v = float(y[n, j])
                    acc += v * v
            rms_out[n, t] = math.sqrt(acc / frame_length)


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
        n = q // (C * nt)
        r = q - n * C * nt
        c = r // nt
        t = r - c * nt
        nv = nvalid[n]
        acc = 0.0
        if t < half:
            for k in range(W):
                acc += edge[t, k] * data[n, c, k]
        elif t >= nv - half and t < nv:
            row = W - half + (t - (nv - half))
            for k in range(W):
                acc += edge[row, k] * data[n, c, nv - W + k]
        elif t < nv:
            for k in range(W):
                acc += taps[k] * data[n, c, t - half + k]
        out[n, c, t] = acc
