"""Numba CPU kernels for the audio ops (``@njit(parallel=True, cache=True)``).

Layout contract (``mmfeat.audio`` guarantees it, kernels trust it):

* ``y`` is C-contiguous ``(N, T)`` float32/float64; ``lengths`` (N,) int64 with
  ``0 <= lengths[n] <= T``: clip n is ``y[n, :lengths[n]]`` and is padded at its own
  end, so a batch gives each clip's librosa frames.
* ``nvalid`` (N,) int64: frames of clip n that librosa would return for it alone;
  every kernel writes 0 at frames ``t >= nvalid[n]``.
* ``pad`` is the number of samples padded before the first sample (``n_fft // 2``
  centred, else 0); ``mode`` a ``PAD_*`` code.
* outputs are preallocated by the caller; spectra are frame-major ``(N, t, F)``.

The per-sample arithmetic (``pad_index``, ``sign_of``) is plain Python shared with
the CUDA kernels in ``audio_cuda.py``, compiled here with ``njit(inline="always")``.
"""

import math

import numba
import numpy as np
from numba import prange

PAD_CONSTANT = 0  # 0 0 | a b c d | 0 0
PAD_REFLECT = 1  # c b | a b c d | c b   (np.pad "reflect", repeated for long pads)
PAD_EDGE = 2  # a a | a b c d | d d


def pad_index_py(i, n, mode):
    """Sample index in ``[0, n)`` that padded position ``i`` reads; -1 means 0.0."""
    if i >= 0 and i < n:
        return i
    if n == 0 or mode == PAD_CONSTANT:
        return -1
    if mode == PAD_EDGE or n == 1:
        if i < 0:
            return 0
        return n - 1
    period = 2 * (n - 1)
    m = i % period
    if m < 0:
        m += period
    if m >= n:
        m = period - m
    return m


def is_negative_py(v, threshold):
    """np.signbit after librosa's zero_crossings zeroes ``|v| <= threshold``."""
    if abs(v) <= threshold:
        return False
    return v < 0 or (v == 0 and math.copysign(1.0, v) < 0)


_jit = dict(cache=True, error_model="numpy", fastmath=False)
_pjit = dict(parallel=True, **_jit)
pad_index = numba.njit(inline="always", **_jit)(pad_index_py)
is_negative = numba.njit(inline="always", **_jit)(is_negative_py)


@numba.njit(**_pjit)
def frame_window(y, lengths, nvalid, window, hop, pad, mode, out):
    """out[n, t, k] = window[k] * padded clip n at ``t * hop + k - pad``."""
    N = y.shape[0]
    nf = out.shape[1]
    K = out.shape[2]
    for job in prange(N * nf):
        n = job // nf
        t = job - n * nf
        L = lengths[n]
        if t >= nvalid[n]:
            for k in range(K):
                out[n, t, k] = 0
            continue
        start = t * hop - pad
        if start >= 0 and start + K <= L:
            for k in range(K):  # interior frame: no boundary logic
                out[n, t, k] = y[n, start + k] * window[k]
        else:
            for k in range(K):
                j = pad_index(start + k, L, mode)
                if j < 0:
                    out[n, t, k] = 0
                else:
                    out[n, t, k] = y[n, j] * window[k]


@numba.njit(**_pjit)
def power_spectrum(X, power, out):
    """out = |X| ** power over a 2-D complex array (rows in parallel)."""
    R, F = X.shape
    for r in prange(R):
        for f in range(F):
            re = X[r, f].real
            im = X[r, f].imag
            p = re * re + im * im
            if power == 2.0:
                out[r, f] = p
            elif power == 1.0:
                out[r, f] = math.sqrt(p)
            else:
                out[r, f] = math.sqrt(p) ** power


@numba.njit(**_pjit)
def spectral_stats(S, freq, nvalid, p, roll_percent, amin, flat_power, out):
    """Per frame of magnitudes S (N, t, F): out[n, 0..3, t] = centroid, bandwidth
    (p), rolloff (roll_percent) and flatness (amin, flat_power), as librosa."""
    N, nt, F = S.shape
    tiny = np.finfo(S.dtype).tiny
    for job in prange(N * nt):
        n = job // nt
        t = job - n * nt
        if t >= nvalid[n]:
            for q in range(4):
                out[n, q, t] = 0
            continue
        total = 0.0
        for f in range(F):
            total += S[n, t, f]
        scale = 1.0 / total if total >= tiny else 1.0
        cen = 0.0
        for f in range(F):
            cen += freq[f] * (S[n, t, f] * scale)
        bw = 0.0
        for f in range(F):
            bw += (S[n, t, f] * scale) * abs(freq[f] - cen) ** p
        # rolloff: float32 running sum in librosa's order, so the crossing bin matches
        acc = S[n, t, 0] - S[n, t, 0]
        for f in range(F):
            acc += S[n, t, f]
        thresh = roll_percent * acc
        acc = S[n, t, 0] - S[n, t, 0]
        roll = freq[F - 1]
        for f in range(F):
            acc += S[n, t, f]
            if not (acc < thresh):
                roll = freq[f]
                break
        slog = 0.0
        sarith = 0.0
        for f in range(F):
            v = max(amin, S[n, t, f] ** flat_power)
            slog += math.log(v)
            sarith += v
        out[n, 0, t] = cen
        out[n, 1, t] = bw ** (1.0 / p)
        out[n, 2, t] = roll
        out[n, 3, t] = math.exp(slog / F) / (sarith / F)


@numba.njit(**_pjit)
def zcr_rms(y, lengths, nvalid, frame_length, hop, pad, rms_mode, threshold, zcr_out,
            rms_out):
    """Per frame: zero-crossing rate (edge padding, as librosa) and RMS (``rms_mode``
    padding). Either output may be skipped by passing a 0-length array."""
    N = y.shape[0]
    nf = max(zcr_out.shape[1], rms_out.shape[1])
    do_z = zcr_out.shape[1] > 0
    do_r = rms_out.shape[1] > 0
    for job in prange(N * nf):
        n = job // nf
        t = job - n * nf
        L = lengths[n]
        if t >= nvalid[n]:
            if do_z:
                zcr_out[n, t] = 0
            if do_r:
                rms_out[n, t] = 0
            continue
        start = t * hop - pad
        if do_z:
            count = 0
            prev = False
            for k in range(frame_length):
                j = pad_index(start + k, L, PAD_EDGE)
                v = y[n, j] if j >= 0 else y[n, 0] * 0
                neg = is_negative(v, threshold)
                if k > 0 and neg != prev:
                    count += 1
                prev = neg
            zcr_out[n, t] = count / frame_length
        if do_r:
            acc = 0.0
            for k in range(frame_length):
                j = pad_index(start + k, L, rms_mode)
                if j >= 0:
                    v = float(y[n, j])
                    acc += v * v
            rms_out[n, t] = math.sqrt(acc / frame_length)


@numba.njit(**_pjit)
def waveform_stats(y, lengths, threshold, out):
    """out[n] = mean, std, peak |y|, RMS, zero-crossing rate, crest factor of
    ``y[n, :lengths[n]]`` (float64 sums; all 0 for an empty clip)."""
    N = y.shape[0]
    for n in prange(N):
        L = lengths[n]
        for q in range(6):
            out[n, q] = 0
        if L == 0:
            continue
        s = 0.0
        s2 = 0.0
        peak = 0.0
        count = 0
        prev = False
        for i in range(L):
            v = float(y[n, i])
            s += v
            s2 += v * v
            a = abs(v)
            if a > peak:
                peak = a
            neg = is_negative(v, threshold)
            if i > 0 and neg != prev:
                count += 1
            prev = neg
        mean = s / L
        # two-pass variance: exact zero for a constant clip
        d2 = 0.0
        for i in range(L):
            d = float(y[n, i]) - mean
            d2 += d * d
        r = math.sqrt(s2 / L)
        out[n, 0] = mean
        out[n, 1] = math.sqrt(d2 / L)
        out[n, 2] = peak
        out[n, 3] = r
        out[n, 4] = count / L
        out[n, 5] = peak / r if r > 0 else 0.0


@numba.njit(**_pjit)
def delta_fix_edges(data, out, nvalid, edge, half):
    """Overwrite the first and last ``half`` valid frames of each row of ``out``
    (N, C, t) with scipy's interp-mode polynomial fit (``edge`` (width, width)) and
    zero the frames past each row's end; rows need nvalid >= width."""
    N, C, nt = data.shape
    W = edge.shape[0]
    for job in prange(N * C):
        n = job // C
        c = job - n * C
        nv = nvalid[n]
        for t in range(nv, nt):
            out[n, c, t] = 0
        if nv < W:
            continue
        for j in range(half):
            acc = 0.0
            acc2 = 0.0
            for k in range(W):
                acc += edge[j, k] * data[n, c, k]
                acc2 += edge[W - half + j, k] * data[n, c, nv - W + k]
            out[n, c, j] = acc
            out[n, c, nv - half + j] = acc2


@numba.njit(**_pjit)
def power_mel(X, power, basis, lo, hi, out):
    """out[r, m] = sum_f basis[m, f] |X[r, f]| ** power over the filter's support
    ``lo[m] <= f < hi[m]`` only (a mel filter covers a few bins, so this is a sparse
    product: ~2 multiply-adds per bin instead of n_mels).

    Rows go in blocks of 16 whose powers sit transposed in a scratch (F, 16), so the
    innermost loop runs across the block's rows: a SIMD multiply-add with no
    reduction chain (a filter's support is too short to vectorise along f). The
    power spectrum is never stored. Sums in the input's float type (float32 for
    float32, as librosa's float32 einsum).
    """
    R, F = X.shape
    M = basis.shape[0]
    B = 16
    zero = basis.dtype.type(0)
    for blk in prange((R + B - 1) // B):
        r0 = blk * B
        nb = min(B, R - r0)
        buf = np.zeros((F, B), dtype=basis.dtype)
        acc = np.empty(B, dtype=basis.dtype)
        for j in range(nb):
            for f in range(F):
                re = X[r0 + j, f].real
                im = X[r0 + j, f].imag
                buf[f, j] = re * re + im * im
        if power == 1.0:
            for f in range(F):
                for j in range(B):
                    buf[f, j] = math.sqrt(buf[f, j])
        elif power != 2.0:
            for f in range(F):
                for j in range(B):
                    buf[f, j] = math.sqrt(buf[f, j]) ** power
        for m in range(M):
            for j in range(B):
                acc[j] = zero
            for f in range(lo[m], hi[m]):
                w = basis[m, f]
                for j in range(B):
                    acc[j] += w * buf[f, j]
            for j in range(nb):
                out[r0 + j, m] = acc[j]


@numba.njit(**_pjit)
def floor_dct(S, nvalid, top_db, use_top, dct_t, out):
    """Second half of MFCC, one clip per task, on decibels S (N, t, M): floor at the
    clip's peak over its valid frames minus ``top_db`` (when ``use_top``), then
    ``out[n, t, :] = S[n, t, :] @ dct_t`` (dct_t (M, K)), accumulated along k so the
    inner loop is a SIMD axpy; frames past the clip's end are 0. Keeping the DCT in
    this parallel region avoids handing the cores from Numba's OpenMP threads to
    OpenBLAS's and back for every chunk (~100 ms for 512 clips on a busy machine).
    """
    N, nt, M = S.shape
    K = dct_t.shape[1]
    for n in prange(N):
        nv = nvalid[n]
        peak = -np.inf
        for t in range(nv):
            for m in range(M):
                if S[n, t, m] > peak:
                    peak = S[n, t, m]
        floor = peak - top_db
        for t in range(nv):
            for k in range(K):
                out[n, t, k] = 0
            for m in range(M):
                v = S[n, t, m]
                if use_top and v < floor:
                    v = floor
                for k in range(K):
                    out[n, t, k] += dct_t[m, k] * v
        for t in range(nv, nt):
            for k in range(K):
                out[n, t, k] = 0
