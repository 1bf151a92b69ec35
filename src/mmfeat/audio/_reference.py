"""The ``numpy`` backend: plain NumPy/SciPy, short and readable; the oracle in tests.

Every function has the signature of its ``_cpu`` and ``_cuda`` twins: a validated
2-D batch ``y`` (N, T) of the work float type, ``lengths`` (N,) int64 (never None
here: the public layer fills in T), ``nvalid`` (N,) int64 valid frames per clip
(``frames.valid_frames(lengths)``), a :class:`~._frames.FrameSettings` and the
op's normalised parameters. Clips are processed one by one with ``np.pad`` and
``sliding_window_view`` so that the boundary of each clip is its own length, and
frames at or past a clip's ``nvalid`` are 0 in every output, as the cpu kernels
write them.
"""

from __future__ import annotations

import numpy as np
import scipy.fft
import scipy.signal

from . import _chroma, _filters
from ._checks import complex_dtype, float_dtype


def _framed(y, lengths, frames, pad_mode=None):
    """(N, n_frames, n_fft): each clip padded as librosa pads it (``pad_mode``
    overrides ``frames.pad_mode``), then framed."""
    pad_mode = frames.pad_mode if pad_mode is None else pad_mode
    N, T = y.shape
    fl, hop = frames.n_fft, frames.hop_length
    out = np.zeros((N, frames.n_frames(T), fl), dtype=y.dtype)
    for i in range(N):
        clip = y[i, : lengths[i]]
        if frames.center:
            half = fl // 2
            clip = np.pad(clip, (half, half), mode=pad_mode) if clip.size or \
                pad_mode == "constant" else np.zeros(2 * half, y.dtype)
        if clip.shape[0] < fl:
            continue
        fr = np.lib.stride_tricks.sliding_window_view(clip, fl)[::hop]
        out[i, : fr.shape[0]] = fr
    return out


def _mask(x, nvalid):
    """Zero the frames (last axis) at or past each clip's valid-frame count."""
    t = np.arange(x.shape[-1])
    keep = t[None, :] < np.asarray(nvalid)[:, None]
    return x * keep.reshape(keep.shape[0], *([1] * (x.ndim - 2)), keep.shape[1])


def stft(y, lengths, nvalid, frames):
    """(N, 1 + n_fft // 2, t) complex: the windowed frames' rFFT."""
    # as librosa: frames (y's type) times the float64 window, a float64 FFT, the
    # result rounded to y's complex type
    w = _filters.fft_window(frames.window, frames.win_length, frames.n_fft, np.float64)
    fr = _framed(y, lengths, frames) * w
    D = np.fft.rfft(fr, axis=-1).astype(complex_dtype(y.dtype))  # (N, t, F)
    return _mask(np.swapaxes(D, 1, 2), nvalid)


def spectrogram(y, lengths, nvalid, frames, power):
    """(N, 1 + n_fft // 2, t) ``|stft| ** power``."""
    S = np.abs(stft(y, lengths, nvalid, frames))
    return S if power == 1 else S**power


def melspectrogram(y, lengths, nvalid, frames, power, basis):
    """(N, n_mels, t) ``basis @ spectrogram`` (``basis`` (n_mels, 1 + n_fft // 2))."""
    S = spectrogram(y, lengths, nvalid, frames, power)
    return np.einsum("mf,nft->nmt", basis, S)


def _db_per_clip(S, ref, amin, top_db, per_clip_axes):
    """``S`` (N, ...) -> dB; callable ``ref`` and ``top_db`` act per clip (axis 0)."""
    if callable(ref):
        ref_value = np.stack([np.asarray(ref(S[i]), dtype=np.float64) for i in range(len(S))])
        ref_value = ref_value.reshape(len(S), *([1] * (S.ndim - 1)))
    else:
        ref_value = np.abs(ref)
    db = 10.0 * np.log10(np.maximum(amin, S))
    db = db - 10.0 * np.log10(np.maximum(amin, ref_value))
    if top_db is not None:
        peak = db.max(axis=per_clip_axes, keepdims=True) if S.size else db
        db = np.maximum(db, peak - top_db)
    return db.astype(S.dtype)


def mfcc_from_db(db, n_mfcc, lifter, norm="ortho", dct_type=2):
    """(N, n_mels, t) decibels -> (N, n_mfcc, t): scipy's DCT of ``dct_type`` and the
    lifter."""
    M = scipy.fft.dct(db, axis=-2, type=dct_type, norm=norm)[..., :n_mfcc, :]
    if lifter > 0:
        li = 1.0 + (lifter / 2.0) * np.sin(np.pi * np.arange(1, 1 + n_mfcc) / lifter)
        M = M * li[:, None].astype(M.dtype)
    return M


def mfcc(y, lengths, nvalid, frames, power, basis, n_mfcc, norm, lifter, dct_type=2):
    """(N, n_mfcc, t): mel power -> dB (ref 1, amin 1e-10, 80 dB below each clip's
    peak) -> DCT of ``dct_type`` (``norm``) -> lifter, as librosa.feature.mfcc per clip."""
    mel = melspectrogram(y, lengths, nvalid, frames, power, basis)
    db = _db_per_clip(mel, 1.0, 1e-10, 80.0, (1, 2))
    return _mask(mfcc_from_db(db, n_mfcc, lifter, norm, dct_type), nvalid).astype(y.dtype)


def power_to_db(S, ref_value, amin, top_db, squared=False):
    """``10 log10(max(amin, x) / ref_value)`` with x = S (``S ** 2`` when
    ``squared``), each clip (leading index; the whole array for ``S.ndim <= 2``)
    floored at its peak minus ``top_db``. ``S`` (..., F, t); ``ref_value`` a number
    or per clip a float64 array (..., 1, 1). Float32 stays float32."""
    P = np.square(S) if squared else S
    dtype = float_dtype(P.dtype)
    P = P.astype(dtype, copy=False)
    db = 10.0 * np.log10(np.maximum(dtype.type(amin), P))
    db -= np.asarray(10.0 * np.log10(np.maximum(amin, ref_value))).astype(dtype)
    if top_db is not None and db.size:
        axes = (-2, -1) if db.ndim >= 2 else None
        db = np.maximum(db, db.max(axis=axes, keepdims=True) - dtype.type(top_db))
    return db.astype(dtype, copy=False)


def delta(data, width, order, nvalid):
    """(N, C, t) Savitzky-Golay derivative of each row over its first ``nvalid[n]``
    frames, 0 past them: ``savgol_filter`` per clip (one call for the batch when
    every clip is whole). A clip shorter than ``width`` uses the largest odd window
    it has (>= 3 and > order), else its delta is 0."""
    valid = np.asarray(nvalid)
    # (scipy's edge fit fails on an empty batch: the loop below returns it as is)
    if data.size and data.shape[-1] >= width and bool(np.all(valid == data.shape[-1])):
        return scipy.signal.savgol_filter(data, width, order, deriv=order, axis=-1,
                                          mode="interp")
    out = np.zeros_like(data)
    for i in range(data.shape[0]):
        n = int(valid[i])
        if n == 0:
            continue
        w = min(width, n if n % 2 else n - 1)
        if w < 3 or w <= order:
            continue  # too few frames for a slope: 0 (documented)
        out[i, :, :n] = scipy.signal.savgol_filter(
            data[i, :, :n], w, order, deriv=order, axis=-1, mode="interp"
        )
    return out


def _normalize_l1(S):
    length = S.astype(np.float64).sum(axis=1, keepdims=True)
    length[length < np.finfo(S.dtype).tiny] = 1.0
    return S / length


def _normalize_l1_axis(S, xp=np):
    """``S`` (..., F, t) over its frequency axis -2 to unit sum, silent frames left 0
    (librosa.util.normalize(norm=1, axis=-2)); NumPy or CuPy by ``xp``."""
    length = S.sum(axis=-2, keepdims=True)
    length = xp.where(length < np.finfo(np.float64).tiny, 1.0, length)
    return S / length


def spectral_centroid(S, freq):
    return np.sum(freq[None, :, None] * _normalize_l1(S), axis=1, keepdims=True)


def spectral_bandwidth(S, freq, centroid, p):
    dev = np.abs(freq[None, :, None] - centroid)
    return np.sum(_normalize_l1(S) * dev**p, axis=1, keepdims=True) ** (1.0 / p)


def spectral_rolloff(S, freq, roll_percent):
    total = np.cumsum(S, axis=1)
    thresh = roll_percent * total[:, -1:, :]
    ind = np.where(total < thresh, np.nan, 1.0)
    return np.nanmin(ind * freq[None, :, None], axis=1, keepdims=True)


def spectral_flatness(S, amin, power):
    St = np.maximum(amin, S**power)
    return np.exp(np.mean(np.log(St), axis=1, keepdims=True)) / np.mean(St, axis=1,
                                                                          keepdims=True)


def descriptors_from_S(S, freq, nvalid, p=2.0, roll_percent=0.85, amin=1e-10,
                       flat_power=2.0):
    """(N, 4, t) centroid, bandwidth (``p``), rolloff (``roll_percent``) and flatness
    (``amin``, ``flat_power``) of a magnitude spectrogram S (N, F, t), librosa's
    formulas; 0 past ``nvalid``. ``freq`` (F,) float64 bin frequencies."""
    cen = spectral_centroid(S, freq)
    out = np.concatenate([
        cen,
        spectral_bandwidth(S, freq, cen, p),
        spectral_rolloff(S, freq, roll_percent),
        spectral_flatness(S, amin, flat_power),
    ], axis=1)
    t = np.arange(out.shape[-1])
    out = np.where((t[None, :] < np.asarray(nvalid)[:, None])[:, None, :], out, 0)
    return out.astype(S.dtype)


def _zcr(y, lengths, nvalid, frames, threshold):
    """(N, 1, t) float64 zero-crossing rate; centred frames are edge-padded (librosa's
    choice, whatever ``frames.pad_mode``)."""
    fr = _framed(y, lengths, frames, "edge")
    fr = np.where(np.abs(fr) <= threshold, 0, fr)
    sb = np.signbit(fr)
    cross = (sb[..., 1:] != sb[..., :-1]).sum(axis=-1) / frames.n_fft
    return _mask(cross[:, None, :], nvalid)


def _rms(y, lengths, nvalid, frames):
    """(N, 1, t) float64 RMS of each ``frames.pad_mode``-padded frame."""
    fr = _framed(y, lengths, frames).astype(np.float64)
    out = np.sqrt(np.mean(fr**2, axis=-1))[:, None, :]
    return _mask(out, nvalid)


def zcr_rms(y, lengths, nvalid, frames, threshold, want_zcr=True, want_rms=True):
    """(zcr (N, 1, t), rms (N, 1, t)) in y's type, frames of ``frames.n_fft``
    samples; an unwanted one is (N, 1, 0)."""
    skip = np.zeros((y.shape[0], 1, 0), dtype=y.dtype)
    z = _zcr(y, lengths, nvalid, frames, threshold).astype(y.dtype) if want_zcr else skip
    r = _rms(y, lengths, nvalid, frames).astype(y.dtype) if want_rms else skip
    return z, r


def waveform_stats(y, lengths, threshold):
    """(N, 6) float64 mean, std, peak, RMS, zero-crossing rate, crest factor of each
    ``y[n, :lengths[n]]`` (all 0 for an empty clip)."""
    out = np.zeros((y.shape[0], 6), dtype=np.float64)
    for i in range(y.shape[0]):
        x = y[i, : lengths[i]].astype(np.float64)
        if x.size == 0:
            continue
        peak = np.abs(x).max()
        rms_ = np.sqrt(np.mean(x**2))
        sb = np.signbit(np.where(np.abs(x) <= threshold, 0.0, x))
        zcr = np.count_nonzero(sb[1:] != sb[:-1]) / x.size
        crest = peak / rms_ if rms_ > 0 else 0.0
        out[i] = (x.mean(), x.std(), peak, rms_, zcr, crest)
    return out


def audio_frames(y, lengths, nvalid, frames, sr, basis, n_mfcc, spectral):
    """``AudioFeatures``' frame-wise features: MFCC (N, n_mfcc, t) float32 and, when
    ``spectral``, (N, 6, t) float64 centroid, bandwidth, rolloff, flatness (librosa's
    defaults), zero-crossing rate (threshold 1e-10) and RMS, all from one magnitude
    spectrogram; ``basis`` (n_mels, 1 + n_fft // 2) the mel filterbank."""
    S = spectrogram(y, lengths, nvalid, frames, 1.0)
    mel = np.einsum("mf,nft->nmt", basis, S * S)
    db = _db_per_clip(mel, 1.0, 1e-10, 80.0, (1, 2))
    mf = _mask(mfcc_from_db(db, n_mfcc, 0.0), nvalid)
    stats = None
    if spectral:
        freq = _filters.fft_frequencies(sr=sr, n_fft=frames.n_fft)
        stats = np.concatenate([descriptors_from_S(S, freq, nvalid),
                                _zcr(y, lengths, nvalid, frames, 1e-10),
                                _rms(y, lengths, nvalid, frames)], axis=1)
    return mf.astype(np.float32), stats


# --- chroma and spectral contrast (librosa.feature.chroma_stft / spectral_contrast) ---


def _piptrack(S, sr, n_fft, lo, hi):
    """(pitches, magnitudes) of librosa.piptrack's peaks in one clip's spectrum S
    (F, t) (estimate_tuning's defaults: bins ``lo <= f < hi``, threshold 0.1 of each
    frame's maximum), in S's type as librosa computes them."""
    x = S * (S > 0.1 * S.max(axis=0, keepdims=True))
    peak = np.zeros(S.shape, dtype=bool)
    peak[1:-1] = (x[1:-1] > x[:-2]) & (x[1:-1] >= x[2:])
    peak[-1] = x[-1] > x[-2]
    peak[: max(lo, 1)] = False
    peak[hi:] = False
    # parabolic shift: float64 arithmetic rounded to S's type (librosa's stencil)
    a = (S[2:] + S[:-2]).astype(np.float64) - 2.0 * S[1:-1].astype(np.float64)
    b = (S[2:] - S[:-2]).astype(np.float64) / 2
    safe = np.abs(b) < np.abs(a)
    shift = np.zeros_like(S)
    shift[1:-1] = np.where(safe, -b / np.where(safe, a, 1.0), 0.0)
    dskew = 0.5 * np.gradient(S, axis=0) * shift
    f, t = np.nonzero(peak)
    pitch = ((f + shift[f, t]) * float(sr) / n_fft).astype(S.dtype)
    return pitch, (S + dskew)[f, t]


def _tuning_pitches(S, settings):
    """The pitches librosa.estimate_tuning histograms for one clip (S (F, t) power):
    piptrack's peaks whose magnitude reaches their median."""
    lo, hi = settings.pip_range()
    pitch, mag = _piptrack(S, settings.sr, settings.pip_n_fft, lo, hi)
    if pitch.size == 0:
        return pitch
    return pitch[mag >= np.median(mag)]


def _normalize_chroma(raw, kind, p):
    """librosa.util.normalize(raw, norm, axis=1) for (N, C, t): norms in float64,
    those below the type's smallest normal number replaced by 1."""
    if kind == _chroma.NORM_NONE:
        return raw
    mag = np.abs(raw).astype(np.float64)
    if kind == _chroma.NORM_INF:
        length = mag.max(axis=1, keepdims=True)
    elif kind == _chroma.NORM_NEG_INF:
        length = mag.min(axis=1, keepdims=True)
    elif kind == _chroma.NORM_ZERO:
        length = np.sum(mag > 0, axis=1, keepdims=True, dtype=np.float64)
    else:
        length = np.sum(mag**p, axis=1, keepdims=True) ** (1.0 / p)
    length[length < np.finfo(raw.dtype).tiny] = 1.0
    return (raw / length).astype(raw.dtype)


def chroma_from_S(S, nvalid, settings):
    """(N, n_chroma, t) chromagram of power spectrograms S (N, F, t): each clip's
    tuning (estimated from its valid frames unless ``settings.tuning`` is given),
    its filterbank applied, each frame normalised; 0 past ``nvalid``."""
    N = S.shape[0]
    if settings.tuning is None:
        sel = [_tuning_pitches(S[i, :, : nvalid[i]], settings) for i in range(N)]
        pitches = np.concatenate(sel) if sel else np.zeros(0, S.dtype)
        tunings, empty = _chroma.tunings_from_pitches(pitches, [s.size for s in sel],
                                                      settings.n_chroma)
        _chroma.warn_empty_tuning(empty)
    else:
        tunings = np.full(N, settings.tuning)
    raw = np.stack([settings.basis(tunings[i], S.dtype) @ S[i] for i in range(N)]) if N \
        else np.zeros((0, settings.n_chroma, S.shape[-1]), S.dtype)
    return _mask(_normalize_chroma(raw, settings.norm_kind, settings.norm_p), nvalid)


def chroma_stft(y, lengths, nvalid, frames, settings):
    """(N, n_chroma, t) :func:`chroma_from_S` of the power spectrogram of y."""
    return chroma_from_S(spectrogram(y, lengths, nvalid, frames, 2.0), nvalid, settings)


def contrast_from_S(S, nvalid, bands, linear):
    """(N, n_bands + 1, t) spectral contrast of magnitude spectrograms S (N, F, t):
    per band the mean of its ``q`` smallest and largest values (librosa's sort and
    mean), then their difference in decibels (or linear)."""
    N, _, nt = S.shape
    ext = np.zeros((N, 2, bands.n_bands, nt), dtype=S.dtype)
    for k in range(bands.n_bands):
        band = np.sort(S[:, bands.rows[bands.offsets[k] : bands.offsets[k + 1]], :], axis=1)
        q = bands.q[k]
        ext[:, 0, k] = band[:, :q].mean(axis=1)
        ext[:, 1, k] = band[:, -q:].mean(axis=1)
    return _chroma.contrast_from_extremes(ext, nvalid, linear)


def spectral_contrast(y, lengths, nvalid, frames, bands, linear):
    """(N, n_bands + 1, t) :func:`contrast_from_S` of the magnitude spectrogram of y."""
    return contrast_from_S(spectrogram(y, lengths, nvalid, frames, 1.0), nvalid, bands,
                           linear)
