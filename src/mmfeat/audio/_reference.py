"""The ``numpy`` backend: plain NumPy/SciPy, short and readable; the oracle in tests.

Every function takes a validated 2-D batch ``y`` (N, T) of the work float type,
``lengths`` (N,) int64 (never None here: the public layer fills in T) and
normalised parameters. Clips are processed one by one with ``np.pad`` and
``sliding_window_view`` so that the boundary of each clip is its own length.
Frames at or past a clip's valid-frame count are 0 in every output.
"""

from __future__ import annotations

import numpy as np
import scipy.fft
import scipy.signal

from . import _filters
from ._checks import complex_dtype, n_frames, valid_frame_counts


def frames(y, lengths, frame_length, hop, center, pad_mode):
    """(N, n_frames, frame_length): each clip padded as librosa pads it, then framed."""
    N, T = y.shape
    nf = n_frames(T, frame_length, hop, center)
    out = np.zeros((N, nf, frame_length), dtype=y.dtype)
    for i in range(N):
        clip = y[i, : lengths[i]]
        if center:
            half = frame_length // 2
            clip = np.pad(clip, (half, half), mode=pad_mode) if clip.size or \
                pad_mode == "constant" else np.zeros(2 * half, y.dtype)
        if clip.shape[0] < frame_length:
            continue
        fr = np.lib.stride_tricks.sliding_window_view(clip, frame_length)[::hop]
        out[i, : fr.shape[0]] = fr
    return out


def _mask(x, lengths, frame_length, hop, center):
    """Zero the frames (last axis) at or past each clip's valid-frame count."""
    nv = valid_frame_counts(lengths, frame_length, hop, center)
    t = np.arange(x.shape[-1])
    keep = t[None, :] < nv[:, None]
    return x * keep.reshape(keep.shape[0], *([1] * (x.ndim - 2)), keep.shape[1])


def stft(y, lengths, n_fft, hop, win_length, window, center, pad_mode):
    # as librosa: frames (y's type) times the float64 window, a float64 FFT, the
    # result rounded to y's complex type
    w = _filters.fft_window(window, win_length, n_fft, np.float64)
    fr = frames(y, lengths, n_fft, hop, center, pad_mode) * w
    D = np.fft.rfft(fr, axis=-1).astype(complex_dtype(y.dtype))  # (N, t, F)
    return _mask(np.swapaxes(D, 1, 2), lengths, n_fft, hop, center)


def spectrogram(y, lengths, n_fft, hop, win_length, window, center, pad_mode, power):
    S = np.abs(stft(y, lengths, n_fft, hop, win_length, window, center, pad_mode))
    return S if power == 1 else S**power


def melspectrogram(y, lengths, n_fft, hop, win_length, window, center, pad_mode, power,
                   basis):
    S = spectrogram(y, lengths, n_fft, hop, win_length, window, center, pad_mode, power)
    return np.einsum("mf,nft->nmt", basis, S)


def power_to_db(S, ref, amin, top_db, per_clip_axes):
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


def mfcc_from_db(db, n_mfcc, lifter, norm="ortho"):
    M = scipy.fft.dct(db, axis=-2, type=2, norm=norm)[..., :n_mfcc, :]
    if lifter > 0:
        li = 1.0 + (lifter / 2.0) * np.sin(np.pi * np.arange(1, 1 + n_mfcc) / lifter)
        M = M * li[:, None].astype(M.dtype)
    return M


def delta(data, width, order, valid):
    """``data`` (N, C, t); ``valid`` (N,) frames per row: savgol_filter per clip."""
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


def zero_crossing_rate(y, lengths, frame_length, hop, center, threshold):
    fr = frames(y, lengths, frame_length, hop, center, "edge")
    fr = np.where(np.abs(fr) <= threshold, 0, fr)
    sb = np.signbit(fr)
    cross = (sb[..., 1:] != sb[..., :-1]).sum(axis=-1) / frame_length
    return _mask(cross[:, None, :], lengths, frame_length, hop, center)


def rms(y, lengths, frame_length, hop, center, pad_mode):
    fr = frames(y, lengths, frame_length, hop, center, pad_mode).astype(np.float64)
    out = np.sqrt(np.mean(fr**2, axis=-1))[:, None, :]
    return _mask(out, lengths, frame_length, hop, center)


def waveform_stats(y, lengths, threshold):
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
