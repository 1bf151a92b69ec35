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
from .audio import spectral_power

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


# the contrast kernels' helpers: the insertions and the band selection are plain
# calls, compiled once (inlined into every call site, Numba typed and lowered each
# copy: spectral_contrast's first call compiled ~1.6x longer), with no CPython or C
# wrapper (Python never calls them); the small ones are inlined
_ijit = numba.njit(no_cpython_wrapper=True, no_cfunc_wrapper=True, cache=True,
                   error_model="numpy", fastmath=False)
_small = numba.njit(inline="always", cache=True, error_model="numpy", fastmath=False)

#: values a chunk of :func:`_band_extremes` (its extremes' loop has a fixed trip count)
_CHUNK = 8


@_ijit
def _keep_smallest(src, k0, k1, qb, low):
    """``low[:qb]`` = the qb smallest of ``src[k0:k1]``, ascending: seeded with the
    first qb values, then each further value below the largest kept is inserted.
    Few values pass once the kept ones are small; each insertion costs branch
    mispredictions (~8 ns each on the CI machine), so it suits short inputs or
    inputs with many ties."""
    for i in range(qb):
        v = src[k0 + i]
        j = i
        while j > 0 and low[j - 1] > v:
            low[j] = low[j - 1]
            j -= 1
        low[j] = v
    lt = low[qb - 1]
    for i in range(k0 + qb, k1):
        v = src[i]
        if v < lt:
            j = qb - 1
            while j > 0 and low[j - 1] > v:
                low[j] = low[j - 1]
                j -= 1
            low[j] = v
            lt = low[qb - 1]


@_ijit
def _keep_largest(src, k0, k1, qb, high):
    """``high[:qb]`` = the qb largest of ``src[k0:k1]``, ascending (as
    :func:`_keep_smallest`)."""
    for i in range(qb):
        v = src[k0 + i]
        j = i
        while j > 0 and high[j - 1] > v:
            high[j] = high[j - 1]
            j -= 1
        high[j] = v
    ht = high[0]
    for i in range(k0 + qb, k1):
        v = src[i]
        if v > ht:
            j = 0
            while j + 1 < qb and high[j + 1] < v:
                high[j] = high[j + 1]
                j += 1
            high[j] = v
            ht = high[0]


@_small
def _select_smallest(src, k, qb, low):
    """``low[:qb]`` = the qb smallest of ``src[:k]`` (k >= qb), ascending: a few
    candidates go through a branch-free insertion (min/max per kept slot), many
    (ties, as in digital silence) through :func:`_keep_smallest`."""
    if k > 4 * qb + 16:
        _keep_smallest(src, 0, k, qb, low)
        return
    _keep_smallest(src, 0, qb, qb, low)  # the first qb, sorted
    for i in range(qb, k):
        x = src[i]
        for j in range(qb - 1, 0, -1):
            low[j] = min(low[j], max(low[j - 1], x))
        low[0] = min(low[0], x)


@_small
def _select_largest(src, k, qb, high):
    """``high[:qb]`` = the qb largest of ``src[:k]``, ascending (as
    :func:`_select_smallest`)."""
    if k > 4 * qb + 16:
        _keep_largest(src, 0, k, qb, high)
        return
    _keep_largest(src, 0, qb, qb, high)  # the first qb, sorted
    for i in range(qb, k):
        x = src[i]
        for j in range(qb - 1):
            high[j] = max(high[j], min(high[j + 1], x))
        high[qb - 1] = max(high[qb - 1], x)


@_ijit
def _band_extremes(vals, v0, v1, qb, low, high, cmin, cmax, cand_low, cand_high):
    """(sum of the qb smallest, sum of the qb largest) of ``vals[v0:v1]``, each summed
    in ascending order in vals' type, as librosa's mean over its sorted band; the
    sorted extremes are left in ``low[:qb]`` / ``high[:qb]``.

    A mispredicted branch costs ~8 ns on the CI machine (20 instructions' worth),
    so the bulk of the band goes through branch-free passes:

    1. the extremes of each chunk of :data:`_CHUNK` values (SIMD);
    2. chunks dealt round-robin into qb groups: the qb group minima are qb values
       of the band, so the largest of them, ``tl``, is at or above the qb-th
       smallest (round-robin keeps the bound tight when the band has a trend);
    3. the values at or below ``tl`` (and at or above ``th``, likewise) compacted
       without a branch: a few times qb candidates on real spectra;
    4. the qb extremes of the candidates (:func:`_select_smallest`).

    The kept values are the same multiset as a sort's, so the sums are bit for bit
    those of an insertion over the whole band (~5 us a 2048-point frame there,
    ~2.7 us here on real spectra).
    """
    n = v1 - v0
    C = _CHUNK
    if qb == 1:  # a minimum and a maximum, branch-free
        mn = vals[v0]
        mx = mn
        for i in range(v0 + 1, v1):
            x = vals[i]
            mn = min(mn, x)
            mx = max(mx, x)
        low[0] = mn
        high[0] = mx
        return mn, mx
    if n < 4 * C * qb:  # too few chunks to bound anything: insert directly
        _keep_smallest(vals, v0, v1, qb, low)
        _keep_largest(vals, v0, v1, qb, high)
    else:
        m = n // C
        for c in range(m):
            c0 = v0 + c * C
            mn = vals[c0]
            mx = mn
            for i in range(1, C):
                x = vals[c0 + i]
                mn = min(mn, x)
                mx = max(mx, x)
            cmin[c] = mn
            cmax[c] = mx
        tl = cmin[0]
        th = cmax[0]
        for g in range(qb):
            mn = cmin[g]
            mx = cmax[g]
            for c in range(g + qb, m, qb):
                mn = min(mn, cmin[c])
                mx = max(mx, cmax[c])
            tl = max(tl, mn)
            th = min(th, mx)
        kl = 0
        kh = 0
        for i in range(v0, v1):
            x = vals[i]
            cand_low[kl] = x
            kl += x <= tl
            cand_high[kh] = x
            kh += x >= th
        _select_smallest(cand_low, kl, qb, low)
        _select_largest(cand_high, kh, qb, high)
    sl = low[0] - low[0]
    sh = sl
    for i in range(qb):
        sl += low[i]
        sh += high[i]
    return sl, sh


@_small
def _frame_contrast(vals, offsets, q, scratch, out, n, t):
    """Band extremes of one frame whose band values, concatenated as ``rows``, are
    ``vals``: ``out[n, 0, b, t]`` / ``out[n, 1, b, t]`` the means of band b's q[b]
    smallest / largest (``scratch``: :func:`_contrast_scratch`)."""
    low, high, cmin, cmax, cand_low, cand_high = scratch
    for b in range(q.shape[0]):
        qb = q[b]
        sl, sh = _band_extremes(vals, offsets[b], offsets[b + 1], qb, low, high, cmin, cmax,
                                cand_low, cand_high)
        out[n, 0, b, t] = float(sl) / qb
        out[n, 1, b, t] = float(sh) / qb


@_small
def _contrast_scratch(rows, q, like):
    """Per-call buffers of the contrast kernels, in ``like``'s type: the frame's band
    values (len(rows)), then (low, high, chunk minima, chunk maxima, low candidates,
    high candidates) for :func:`_band_extremes`."""
    qmax = 1
    for b in range(q.shape[0]):
        qmax = max(qmax, q[b])
    R = rows.shape[0]
    dt = like.dtype
    return np.empty(R, dtype=dt), (
        np.empty(qmax, dtype=dt), np.empty(qmax, dtype=dt),
        np.empty(R // _CHUNK + 1, dtype=dt), np.empty(R // _CHUNK + 1, dtype=dt),
        np.empty(R, dtype=dt), np.empty(R, dtype=dt))


@_small
def _contiguous_start(rows):
    """rows[0] when ``rows`` (ascending, as :class:`ContrastBands` builds them) is one
    run of consecutive bins, as for any FFT frequency grid; else -1 (a custom
    ``freq=``). A run is read as a slice: no gather, and SIMD on the magnitudes."""
    R = rows.shape[0]
    for i in range(1, R):
        if rows[i] != rows[i - 1] + 1:
            return -1
    return rows[0]


@_small
def _zero_frame(out, n, t):
    """Both extremes of every band 0: frame t is past clip n's end."""
    for b in range(out.shape[2]):
        out[n, 0, b, t] = 0
        out[n, 1, b, t] = 0


@numba.njit(**_pjit)
def contrast_frames(j0, j1, S, nvalid, rows, offsets, q, out):
    """One frame per job of magnitudes S (N, t, F): for band b (bins
    ``rows[offsets[b]:offsets[b + 1]]``) the mean of its q[b] smallest and of its
    q[b] largest values (:func:`_band_extremes`): ``out[n, 0, b, t]`` and
    ``out[n, 1, b, t]``; 0 past the clip's end."""
    nt = S.shape[1]
    R = rows.shape[0]
    vals, scratch = _contrast_scratch(rows, q, out)
    r0 = _contiguous_start(rows)
    for job in range(j0, j1):
        n = job // nt
        t = job - n * nt
        if t >= nvalid[n]:
            _zero_frame(out, n, t)
            continue
        if r0 >= 0:
            _frame_contrast(S[n, t, r0:r0 + R], offsets, q, scratch, out, n, t)
            continue
        for i in range(R):  # the bands' values, gathered once
            vals[i] = S[n, t, rows[i]]
        _frame_contrast(vals, offsets, q, scratch, out, n, t)


@numba.njit(**_pjit)
def contrast_spectrum(j0, j1, X, nvalid, rows, offsets, q, out):
    """:func:`contrast_frames` straight from the complex spectra X (n * t, F), one
    frame per job (frame t of clip n is row ``n * t_out + t``, t_out =
    ``out.shape[3]``): each frame's magnitudes ``|X|`` (rounded to out's type, as the
    magnitude spectrogram is) go to a per-call buffer, never to memory a second
    pass reads back (the separate magnitude pass cost ~1 us of ~12 a frame)."""
    nt = out.shape[3]
    F = X.shape[1]
    R = rows.shape[0]
    vals, scratch = _contrast_scratch(rows, q, out)
    r0 = _contiguous_start(rows)
    mag = np.empty(F, dtype=out.dtype)
    for job in range(j0, j1):
        n = job // nt
        t = job - n * nt
        if t >= nvalid[n]:
            _zero_frame(out, n, t)
            continue
        if r0 >= 0:  # the bands' bins only, branch-free: SIMD sqrt
            for i in range(R):
                vals[i] = spectral_power(X[job, r0 + i].real, X[job, r0 + i].imag, 1.0)
        else:
            for f in range(F):
                mag[f] = spectral_power(X[job, f].real, X[job, f].imag, 1.0)
            for i in range(R):
                vals[i] = mag[rows[i]]
        _frame_contrast(vals, offsets, q, scratch, out, n, t)
