"""Numba CPU kernels for the audio ops (``@njit(nogil=True, cache=True)`` over job ranges).

Layout contract (``mmfeat.audio`` guarantees it, kernels trust it):

* ``y`` is C-contiguous ``(N, T)`` float32/float64; ``lengths`` (N,) int64 with
  ``0 <= lengths[n] <= T``: clip n is ``y[n, :lengths[n]]`` and is padded at its own
  end, so a batch gives each clip's librosa frames.
* ``nvalid`` (N,) int64: frames of clip n that librosa would return for it alone;
  every kernel writes 0 at frames ``t >= nvalid[n]``.
* ``pad`` is the number of samples padded before the first sample (``n_fft // 2``
  centred, else 0); ``mode`` a ``PAD_*`` code.
* outputs are preallocated by the caller; spectra are frame-major ``(N, t, F)``.

The per-element and per-frame arithmetic (padding, windowed samples, powers, the
dB floor, descriptor formulas, zero crossings, RMS, Savitzky-Golay sums) lives in
:mod:`audio_math` and is shared with the CUDA kernels in ``audio_cuda.py``;
here it is compiled with ``njit(inline="always")``. The loops over clips and
frames stay here: they are arranged for this target (job ranges on threads, SIMD
across rows).
"""

import math

import numba
import numpy as np

from . import _threading
from . import audio_math as _m
from .audio_math import PAD_CONSTANT, PAD_EDGE, PAD_REFLECT  # noqa: F401 (the codes)

# TBB (fork- and thread-safe) before any parallel kernel launches; see _threading
_threading.ensure_safe_layer()

_jit = dict(cache=True, error_model="numpy", fastmath=False)
# kernels over a range [j0, j1) of their jobs (clips, frames or rows), GIL released:
# mmfeat._workers.parallel_for runs ranges on threads. A parallel=True prange cost
# ~1.7 s more compilation per kernel (8 s of AudioFeatures' first call) for the
# same speed.
_pjit = dict(nogil=True, **_jit)
_shared = _m.compile_shared(numba.njit(inline="always", **_jit))
unravel = _shared["unravel"]
frame_start = _shared["frame_start"]
pad_index = _shared["pad_index"]
windowed_sample = _shared["windowed_sample"]
abs2 = _shared["abs2"]
power_from_abs2 = _shared["power_from_abs2"]
spectral_power = _shared["spectral_power"]
db_floor = _shared["db_floor"]
frame_descriptors = _shared["frame_descriptors"]
is_negative = _shared["is_negative"]
frame_zcr = _shared["frame_zcr"]
frame_rms = _shared["frame_rms"]
weighted_sum = _shared["weighted_sum"]


@numba.njit(**_pjit)
def frame_window(j0, j1, y, lengths, nvalid, window, hop, pad, mode, out):
    """out[n, t, k] = window[k] * padded clip n at ``t * hop + k - pad``; jobs
    are the N * t frames."""
    nf = out.shape[1]
    K = out.shape[2]
    for job in range(j0, j1):
        n, t = unravel(job, nf)
        L = lengths[n]
        if t >= nvalid[n]:
            for k in range(K):
                out[n, t, k] = 0
            continue
        start = frame_start(t, hop, pad)
        if start >= 0 and start + K <= L:
            for k in range(K):  # interior frame: no boundary logic
                out[n, t, k] = y[n, start + k] * window[k]
        else:
            for k in range(K):
                out[n, t, k] = windowed_sample(y, n, start + k, L, mode, window[k])


@numba.njit(**_pjit)
def power_spectrum(j0, j1, X, power, out):
    """out = |X| ** power over a 2-D complex array (rows in parallel)."""
    R, F = X.shape
    for r in range(j0, j1):
        # the branch on power outside the loop over f, and p = 1 a literal: each inner
        # loop is then branch-free and SIMD (a sqrt per bin vectorises only so)
        if power == 2.0:
            for f in range(F):
                out[r, f] = abs2(X[r, f].real, X[r, f].imag)
        elif power == 1.0:
            for f in range(F):
                out[r, f] = spectral_power(X[r, f].real, X[r, f].imag, 1.0)
        else:
            for f in range(F):
                out[r, f] = spectral_power(X[r, f].real, X[r, f].imag, power)


@numba.njit(**_pjit)
def spectral_stats(j0, j1, S, freq, nvalid, p, roll_percent, amin, flat_power, out):
    """Per frame of magnitudes S (N, t, F): out[n, 0..3, t] = centroid, bandwidth
    (p), rolloff (roll_percent) and flatness (amin, flat_power), as librosa."""
    N, nt, _ = S.shape
    tiny = np.finfo(S.dtype).tiny
    for job in range(j0, j1):
        n, t = unravel(job, nt)
        if t >= nvalid[n]:
            for q in range(4):
                out[n, q, t] = 0
            continue
        cen, bw, roll, flat = frame_descriptors(S, n, t, freq, p, roll_percent, amin,
                                                flat_power, tiny)
        out[n, 0, t] = cen
        out[n, 1, t] = bw
        out[n, 2, t] = roll
        out[n, 3, t] = flat


@numba.njit(**_pjit)
def zcr_rms(j0, j1, y, lengths, nvalid, frame_length, hop, pad, rms_mode, threshold,
            zcr_out, rms_out):
    """Per frame (jobs: the N * t frames): zero-crossing rate (edge padding, as
    librosa) and RMS (``rms_mode`` padding). Either output may be skipped by passing
    a 0-length array."""
    nf = max(zcr_out.shape[1], rms_out.shape[1])
    do_z = zcr_out.shape[1] > 0
    do_r = rms_out.shape[1] > 0
    for job in range(j0, j1):
        n, t = unravel(job, nf)
        L = lengths[n]
        if t >= nvalid[n]:
            if do_z:
                zcr_out[n, t] = 0
            if do_r:
                rms_out[n, t] = 0
            continue
        start = frame_start(t, hop, pad)
        if do_z:
            zcr_out[n, t] = frame_zcr(y, n, start, L, frame_length, threshold)
        if do_r:
            rms_out[n, t] = frame_rms(y, n, start, L, frame_length, rms_mode)


@numba.njit(**_pjit)
def waveform_stats(j0, j1, y, lengths, threshold, out):
    """out[n] = mean, std, peak |y|, RMS, zero-crossing rate, crest factor of
    ``y[n, :lengths[n]]`` (float64 sums; all 0 for an empty clip); jobs are clips."""
    for n in range(j0, j1):
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
def delta_fix_edges(j0, j1, data, out, nvalid, edge, half):
    """Overwrite the first and last ``half`` valid frames of each row of ``out``
    (N, C, t) with scipy's interp-mode polynomial fit (``edge`` (width, width)) and
    zero the frames past each row's end; rows need nvalid >= width."""
    N, C, nt = data.shape
    W = edge.shape[0]
    for job in range(j0, j1):
        n, c = unravel(job, C)
        nv = nvalid[n]
        for t in range(nv, nt):
            out[n, c, t] = 0
        if nv < W:
            continue
        for j in range(half):
            out[n, c, j] = weighted_sum(edge[j], data, n, c, 0)
            out[n, c, nv - half + j] = weighted_sum(edge[W - half + j], data, n, c, nv - W)


@numba.njit(**_pjit)
def power_mel(j0, j1, X, power, basis, lo, hi, out):
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
    for blk in range(j0, j1):
        r0 = blk * B
        nb = min(B, R - r0)
        buf = np.zeros((F, B), dtype=basis.dtype)
        acc = np.empty(B, dtype=basis.dtype)
        for j in range(nb):
            for f in range(F):
                buf[f, j] = abs2(X[r0 + j, f].real, X[r0 + j, f].imag)
        if power != 2.0:  # its own pass over the block: SIMD across rows
            for f in range(F):
                for j in range(B):
                    buf[f, j] = power_from_abs2(buf[f, j], power)
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
def floor_dct(j0, j1, S, nvalid, top_db, use_top, dct_t, out):
    """Second half of MFCC, one clip per task, on decibels S (N, t, M): floor at the
    clip's peak over its valid frames minus ``top_db`` (when ``use_top``), then
    ``out[n, t, :] = S[n, t, :] @ dct_t`` (dct_t (M, K)), accumulated along k so the
    inner loop is a SIMD axpy; frames past the clip's end are 0. Keeping the DCT in
    this kernel avoids handing the cores from mmfeat's threads to OpenBLAS's and
    back for every chunk (~100 ms for 512 clips on a busy machine).
    """
    N, nt, M = S.shape
    K = dct_t.shape[1]
    for n in range(j0, j1):
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
                v = db_floor(S[n, t, m], floor, use_top)
                for k in range(K):
                    out[n, t, k] += dct_t[m, k] * v
        for t in range(nv, nt):
            for k in range(K):
                out[n, t, k] = 0
