"""Numba CPU kernels of ``mmfeat.audio.chroma_stft`` and ``spectral_contrast``
(``@njit(nogil=True, cache=True)`` over job ranges, run on threads by
``mmfeat._workers.parallel_for``, as the kernels of :mod:`audio`).

Layout contract: spectrograms are frame-major ``(N, t, F)`` C-contiguous
float32/float64 (power for chroma, magnitude for contrast); ``nvalid`` (N,) int64
valid frames per clip, frames at or past it are written as 0. The per-frame
arithmetic shared with the CUDA kernels (piptrack's peaks, the normalisation) is
:mod:`audio_chroma_math`'s.
"""

import numba
import numpy as np

from . import audio_chroma_math as _cm
from . import order_math as _om

_pjit = dict(nogil=True, cache=True, error_model="numpy", fastmath=False)
_shared = _cm.compile_shared(numba.njit(inline="always", cache=True, error_model="numpy",
                                        fastmath=False))
frame_peaks = _shared["frame_peaks"]
normalize_row = _shared["normalize_row"]


# the k-th smallest, partitioning in place (shared with the image kernels: same options)
_kth_smallest = numba.njit(cache=True, error_model="numpy", fastmath=False)(_om.kth_smallest)


@numba.njit(**_pjit)
def tuning_pitches(j0, j1, S, nvalid, lo, hi, tenth, half, sr, pip_n_fft, pitch_out,
                   count_out):
    """librosa.estimate_tuning's pitches, one clip per job: piptrack's peaks over the
    clip's valid frames, then those whose magnitude reaches the median of all its
    peaks' (np.median: the mean of the middle two for an even count, in S's type).
    Writes them to ``pitch_out[n, :count_out[n]]``; ``pitch_out`` (N, cap) holds
    every candidate first (cap >= the clip's peaks)."""
    cap = pitch_out.shape[1]
    mag = np.empty(cap, dtype=S.dtype)
    work = np.empty(cap, dtype=S.dtype)
    for n in range(j0, j1):
        row = pitch_out[n]
        k = 0
        for t in range(nvalid[n]):
            k += frame_peaks(S, n, t, lo, hi, tenth, half, sr, pip_n_fft, row, mag, k)
        if k == 0:
            count_out[n] = 0
            continue
        for i in range(k):
            work[i] = mag[i]
        upper = _kth_smallest(work[:k], k // 2)
        lower = upper
        if k % 2 == 0:  # the largest value left of the k // 2-th
            lower = work[0]
            for i in range(1, k // 2):
                if work[i] > lower:
                    lower = work[i]
        thr = (lower + upper) * half
        j = 0
        for i in range(k):  # in place: j <= i
            if mag[i] >= thr:
                row[j] = row[i]
                j += 1
        count_out[n] = j


@numba.njit(**_pjit)
def chroma_project(j0, j1, S, nvalid, fbT, which, kind, p, tiny, out):
    """One frame per job: ``out[n, t, :] = fbT[which[n]].T @ S[n, t, :]`` summed in
    S's type (librosa's float32 einsum for float32), then normalised (``kind``,
    ``p``, ``tiny``: see ``normalize_row``); 0 past the clip's end. ``fbT``
    (U, F, C): the transposed filterbank of each distinct tuning, so the inner
    loop runs over the C chroma bins of one FFT bin (SIMD, no reduction chain)."""
    nt = S.shape[1]
    F = S.shape[2]
    C = out.shape[2]
    acc = np.empty(C, dtype=S.dtype)
    zero = S.dtype.type(0)
    for job in range(j0, j1):
        n = job // nt
        t = job - n * nt
        if t >= nvalid[n]:
            for c in range(C):
                out[n, t, c] = 0
            continue
        u = which[n]
        for c in range(C):
            acc[c] = zero
        for f in range(F):
            v = S[n, t, f]
            for c in range(C):
                acc[c] += fbT[u, f, c] * v
        for c in range(C):
            out[n, t, c] = acc[c]
        normalize_row(out, n, t, kind, p, tiny)


@numba.njit(**_pjit)
def contrast_frames(j0, j1, S, nvalid, rows, offsets, q, out):
    """One frame per job of magnitudes S (N, t, F): for band b (bins
    ``rows[offsets[b]:offsets[b + 1]]``) the mean of its q[b] smallest and of its
    q[b] largest values, each summed in ascending order in S's type as librosa's
    mean over its sorted band: ``out[n, 0, b, t]`` and ``out[n, 1, b, t]``; 0 past
    the clip's end.

    The extremes are kept in two sorted buffers seeded with the band's first q
    values; every further value is compared with the two thresholds (the largest
    kept low, the smallest kept high) held in registers and is inserted only when
    it passes one: ~4 us a frame for n_fft 2048, where a quickselect of each band
    took 15 us (its partition branches are unpredictable).
    """
    nt = S.shape[1]
    B = q.shape[0]
    qmax = 1
    for b in range(B):
        qmax = max(qmax, q[b])
    low = np.empty(qmax, dtype=S.dtype)
    high = np.empty(qmax, dtype=S.dtype)
    for job in range(j0, j1):
        n = job // nt
        t = job - n * nt
        if t >= nvalid[n]:
            for b in range(B):
                out[n, 0, b, t] = 0
                out[n, 1, b, t] = 0
            continue
        for b in range(B):
            qb = q[b]
            o0 = offsets[b]
            o1 = offsets[b + 1]
            for i in range(qb):  # seed: the first qb values, insertion-sorted
                v = S[n, t, rows[o0 + i]]
                j = i
                while j > 0 and low[j - 1] > v:
                    low[j] = low[j - 1]
                    j -= 1
                low[j] = v
            for i in range(qb):
                high[i] = low[i]
            lt = low[qb - 1]
            ht = high[0]
            for i in range(o0 + qb, o1):
                v = S[n, t, rows[i]]
                if v < lt:  # drop the largest kept low
                    j = qb - 1
                    while j > 0 and low[j - 1] > v:
                        low[j] = low[j - 1]
                        j -= 1
                    low[j] = v
                    lt = low[qb - 1]
                if v > ht:  # drop the smallest kept high
                    j = 0
                    while j + 1 < qb and high[j + 1] < v:
                        high[j] = high[j + 1]
                        j += 1
                    high[j] = v
                    ht = high[0]
            sl = low[0] - low[0]
            sh = sl
            for i in range(qb):
                sl += low[i]
                sh += high[i]
            out[n, 0, b, t] = float(sl) / qb
            out[n, 1, b, t] = float(sh) / qb
