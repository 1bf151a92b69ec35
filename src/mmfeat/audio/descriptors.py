"""Spectral descriptors, frame-wise zero-crossing rate and RMS, waveform statistics,
and :func:`pad_batch` for clips of different lengths.

librosa 0.11's names, parameters and defaults; ``y`` is ``(..., T)`` and
``lengths=`` marks each clip's end in a padded batch, as in :mod:`.spectral`.
Frame-wise outputs are ``(..., 1, n_frames)`` as librosa's; frames past a clip's
end are 0.

Every function runs on the ``cuda`` backend too (CuPy in, CuPy out): the spectral
descriptors as one device thread per frame over the cuda magnitude spectrogram (or
a given ``S``), ``zero_crossing_rate``/``rms`` as one thread per frame reading the
waveform (no frames stored), ``waveform_stats`` as array reductions on the device.
"""

from __future__ import annotations

import numpy as np

from ..backend import get_array_module, resolve_backend, to_backend
from . import _filters, _reference
from ._checks import as_audio, check_real, float_dtype, librosa_errors, warn_short
from ._dispatch import Batch, impl
from ._frames import FrameSettings
from .spectral import _frames_of

#: column names of :func:`waveform_stats`
WAVEFORM_STAT_NAMES = ("mean", "std", "peak", "rms", "zcr", "crest_factor")


@librosa_errors
def pad_batch(clips, *, dtype=np.float32):
    """Stack 1-D clips of different lengths into one zero-padded batch.

    Parameters
    ----------
    clips : sequence of 1-D arrays
        Mono audio; float, or int8/16/32/uint8 PCM (scaled to [-1, 1)).
    dtype : float32 or float64, default float32

    Returns
    -------
    y : (N, T_max) ndarray of ``dtype``
        Clip n in ``y[n, :lengths[n]]``, zeros after it (T_max = 0 when all are empty).
    lengths : (N,) int64

    Raises
    ------
    ValueError
        a clip is not 1-D (stereo ``(T, 2)`` clips: mix down with ``x.mean(axis=1)``),
        or contains NaN/inf.
    TypeError
        ``clips`` is an array or string rather than a sequence of clips.

    Examples
    --------
    >>> import numpy as np
    >>> from mmfeat.audio import pad_batch
    >>> y, n = pad_batch([np.ones(3, np.float32), np.ones(5, np.float32)])
    >>> y.shape, n.tolist()
    ((2, 5), [3, 5])
    """
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    return pad_clips(as_clip_list(clips), dtype)


def as_clip_list(clips) -> list[np.ndarray]:
    """``clips`` checked as a sequence of 1-D mono clips (PCM scaled as :func:`pad_batch`
    scales it); raises as :func:`pad_batch` does."""
    if isinstance(clips, (str, bytes)) or clips is None:
        raise TypeError(f"clips must be a sequence of 1-D arrays, got {type(clips).__name__}")
    if isinstance(clips, np.ndarray) and clips.ndim != 1 or (
        isinstance(clips, np.ndarray) and clips.dtype != object
    ):
        if isinstance(clips, np.ndarray) and clips.ndim == 2:
            clips = list(clips)
        else:
            raise TypeError("clips must be a sequence of 1-D arrays (a list), got an array "
                            f"of shape {clips.shape}")
    items = []
    for i, c in enumerate(clips):
        a = as_audio(c, f"clips[{i}]")
        if a.ndim != 1:
            raise ValueError(
                f"clips[{i}] must be 1-D mono audio, got shape {a.shape}"
                + ("; mix stereo down with x.mean(axis=1)" if a.ndim == 2 else ""))
        items.append(a)
    return items


def pad_clips(items, dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Checked 1-D clips -> ``(y (N, T_max), lengths (N,) int64)``, zeros after each clip."""
    lengths = np.array([a.shape[0] for a in items], dtype=np.int64)
    T = int(lengths.max()) if len(items) else 0
    y = np.zeros((len(items), T), dtype=dtype)
    for i, a in enumerate(items):
        y[i, : a.shape[0]] = a
    return y, lengths


def _magnitude(y, S, frames, lengths, backend, op):
    """(backend module, magnitude S (N, F, t), nvalid (N,) host, n_fft, lead).

    A given ``S`` fixes n_fft by its shape and needs no ``frames`` (None: librosa
    ignores the framing arguments then); otherwise ``y`` is framed with ``frames``."""
    if S is not None:
        be = resolve_backend(backend, S)
        mod = impl(be, op)
        S = to_backend(S, be)
        if S.ndim < 2 or np.iscomplexobj(S):
            raise ValueError(f"S must be a real (..., F, t) spectrogram, got shape {S.shape}, "
                             f"dtype {S.dtype}")
        # librosa raises for the centroid and bandwidth, returns NaN or 0 for others
        if S.size and not bool(np.isfinite(S).all()):
            raise ValueError("S must not contain NaN or inf")
        if S.size and S.min() < 0:
            raise ValueError("S must be non-negative (a magnitude spectrogram)")
        S = S.astype(float_dtype(S.dtype), copy=False)
        lead = S.shape[:-2]
        S3 = S.reshape(int(np.prod(lead)), *S.shape[-2:])
        nv = np.full(S3.shape[0], S.shape[-1], dtype=np.int64)
        return mod, S3, nv, 2 * (S.shape[-2] - 1), lead
    if y is None:
        raise ValueError("either y or S must be given")
    b = Batch(y, lengths, backend, op=op)
    nv = _frames_of(b, frames)
    S3 = b.impl.spectrogram(b.y, b.lengths, nv, frames, 1.0)
    return b.impl, S3, nv, frames.n_fft, b.lead


def _freq(freq, sr, n_fft, F, S_shape):
    """Bin frequencies: (F,) float64 (default the FFT bin centres), or an array of
    ``ndim >= 2`` broadcastable to ``S_shape`` (..., F, t): one frequency per bin
    and frame, as a reassigned spectrogram gives (librosa takes both)."""
    if freq is None:
        return _filters.fft_frequencies(sr=check_real(sr, "sr", positive=True), n_fft=n_fft)
    xp = get_array_module(freq)
    freq = xp.asarray(freq, dtype=np.float64)
    if freq.ndim == 1:
        if freq.shape != (F,):
            raise ValueError(f"freq must have shape ({F},) (one per frequency bin), got "
                             f"{freq.shape}")
        return freq
    try:
        np.broadcast_shapes(freq.shape, tuple(S_shape))
    except ValueError:
        raise ValueError(f"freq of shape {freq.shape} does not broadcast against the "
                         f"spectrogram's {tuple(S_shape)} (..., F, t)") from None
    if freq.shape[-2] != F:
        raise ValueError(f"freq must have {F} frequency bins on axis -2, got {freq.shape}")
    return freq


def _per_frame_freq(kind, S3, freq, nv, lead, *, p=2.0, roll_percent=0.85, centroid=None,
                    norm=True):
    """Centroid, bandwidth or rolloff with one frequency per bin and frame (``freq`` of
    ``ndim >= 2``), as librosa computes them; array expressions on S's array module
    (NumPy or CuPy), frames past each clip's length zeroed as the kernels do.
    S3 (N, F, t); returns (..., 1, t) in S's float type."""
    xp = get_array_module(S3)
    S = S3.reshape(lead + S3.shape[1:]).astype(np.float64)
    f = xp.broadcast_to(xp.asarray(freq), S.shape)
    if kind in ("centroid", "bandwidth") and centroid is None:
        centroid = xp.sum(f * _reference._normalize_l1_axis(S, xp), axis=-2, keepdims=True)
    if kind == "centroid":
        out = centroid
    elif kind == "bandwidth":
        W = _reference._normalize_l1_axis(S, xp) if norm else S
        dev = xp.abs(f - xp.asarray(centroid, dtype=np.float64).reshape(lead + (1, S.shape[-1])))
        out = xp.sum(W * dev**p, axis=-2, keepdims=True) ** (1.0 / p)
    else:  # rolloff: the lowest frequency among the bins whose running sum reaches it
        total = xp.cumsum(S, axis=-2)
        threshold = roll_percent * total[..., -1:, :]
        reached = xp.where(total < threshold, xp.inf, f)
        out = xp.min(reached, axis=-2, keepdims=True)
        out = xp.where(xp.isinf(out), xp.nan, out)
    out = out.reshape(S3.shape[0], 1, S3.shape[-1])
    t = xp.arange(S3.shape[-1])
    out = xp.where(t[None, None, :] < xp.asarray(nv)[:, None, None], out, 0)
    return out.astype(S3.dtype).reshape(lead + (1, S3.shape[-1]))


@librosa_errors
def spectral_centroid(y=None, *, sr=22050, S=None, n_fft=2048, hop_length=512, freq=None,
                      win_length=None, window="hann", center=True, pad_mode="constant",
                      lengths=None, backend=None):
    """Magnitude-weighted mean frequency of each frame, as
    ``librosa.feature.spectral_centroid``.

    Parameters
    ----------
    y : array, (..., T), optional
    sr : float, default 22050
    S : array, (..., 1 + n_fft // 2, t), optional
        Magnitude spectrogram instead of y.
    n_fft, hop_length, win_length, window, center, pad_mode
        As :func:`mmfeat.audio.spectrogram`.
    freq : (1 + n_fft // 2,) array, or (..., 1 + n_fft // 2, t), optional
        Bin frequencies (default: the FFT bin centres), or one per bin and frame
        (a reassigned spectrogram's), broadcastable against S.
    lengths, backend
        As :func:`mmfeat.audio.stft`.

    Returns
    -------
    (..., 1, n_frames) float32 (float64 for float64 input; librosa returns float64,
    its bin frequencies being float64); 0 for silent frames.
    """
    frames = None if S is not None else FrameSettings(n_fft, hop_length, win_length, window,
                                                      center, pad_mode)
    mod, S3, nv, n_fft, lead = _magnitude(y, S, frames, lengths, backend, "spectral_centroid")
    f = _freq(freq, sr, n_fft, S3.shape[1], lead + S3.shape[1:])
    if f.ndim > 1:
        return _per_frame_freq("centroid", S3, f, nv, lead)
    return mod.descriptors_from_S(S3, f, nv)[:, 0:1].reshape(lead + (1, S3.shape[-1]))


@librosa_errors
def spectral_bandwidth(y=None, *, sr=22050, S=None, n_fft=2048, hop_length=512,
                       win_length=None, window="hann", center=True, pad_mode="constant",
                       freq=None, centroid=None, norm=True, p=2.0, lengths=None,
                       backend=None):
    """p-th order spectral bandwidth of each frame, as
    ``librosa.feature.spectral_bandwidth``: ``(sum_f S[f] |f - centroid|^p)^(1/p)``
    with S normalised to unit sum when ``norm``.

    Parameters
    ----------
    As :func:`spectral_centroid`, plus ``centroid`` ((..., 1, t), optional), ``norm``
    (bool, default True) and ``p`` (float > 0, default 2).

    Returns
    -------
    (..., 1, n_frames) float32 (float64 for float64 input; librosa returns float64)
    """
    p = check_real(p, "p", positive=True)
    frames = None if S is not None else FrameSettings(n_fft, hop_length, win_length, window,
                                                      center, pad_mode)
    mod, S3, nv, n_fft, lead = _magnitude(y, S, frames, lengths, backend, "spectral_bandwidth")
    f = _freq(freq, sr, n_fft, S3.shape[1], lead + S3.shape[1:])
    if f.ndim > 1:
        return _per_frame_freq("bandwidth", S3, f, nv, lead, p=p, centroid=centroid, norm=norm)
    if centroid is None and norm:
        return mod.descriptors_from_S(S3, f, nv, p=p)[:, 1:2].reshape(
            lead + (1, S3.shape[-1]))
    if centroid is None:
        centroid = mod.descriptors_from_S(S3, f, nv)[:, 0:1]
    xp = get_array_module(S3)  # NumPy, or CuPy on the cuda backend
    centroid = xp.asarray(centroid, dtype=np.float64).reshape(S3.shape[0], 1, S3.shape[-1])
    W = S3.astype(np.float64)
    if norm:
        W = _reference._normalize_l1(S3)
    f = xp.asarray(f)
    out = xp.sum(W * xp.abs(f[None, :, None] - centroid) ** p, axis=1, keepdims=True) ** (1 / p)
    return out.astype(S3.dtype).reshape(lead + (1, S3.shape[-1]))


@librosa_errors
def spectral_rolloff(y=None, *, sr=22050, S=None, n_fft=2048, hop_length=512,
                     win_length=None, window="hann", center=True, pad_mode="constant",
                     freq=None, roll_percent=0.85, lengths=None, backend=None):
    """Frequency below which ``roll_percent`` of each frame's magnitude lies, as
    ``librosa.feature.spectral_rolloff`` (the first bin whose running sum reaches
    ``roll_percent`` of the total, summed in the input's float type as librosa does).

    Parameters
    ----------
    As :func:`spectral_centroid`, plus ``roll_percent`` (0 < roll_percent < 1,
    default 0.85).

    Returns
    -------
    (..., 1, n_frames) float32 (float64 for float64 input; librosa returns float64)
    """
    roll_percent = check_real(roll_percent, "roll_percent")
    if not 0.0 < roll_percent < 1.0:
        raise ValueError(f"roll_percent must lie between 0 and 1, got {roll_percent}")
    frames = None if S is not None else FrameSettings(n_fft, hop_length, win_length, window,
                                                      center, pad_mode)
    mod, S3, nv, n_fft, lead = _magnitude(y, S, frames, lengths, backend, "spectral_rolloff")
    f = _freq(freq, sr, n_fft, S3.shape[1], lead + S3.shape[1:])
    if f.ndim > 1:
        return _per_frame_freq("rolloff", S3, f, nv, lead, roll_percent=roll_percent)
    return mod.descriptors_from_S(S3, f, nv, roll_percent=roll_percent)[:, 2:3].reshape(
        lead + (1, S3.shape[-1]))


@librosa_errors
def spectral_flatness(y=None, *, S=None, n_fft=2048, hop_length=512, win_length=None,
                      window="hann", center=True, pad_mode="constant", amin=1e-10,
                      power=2.0, lengths=None, backend=None):
    """Geometric over arithmetic mean of ``max(amin, S**power)`` per frame, as
    ``librosa.feature.spectral_flatness`` (S the magnitude spectrogram).

    Parameters
    ----------
    As :func:`spectral_centroid` (no sr), plus ``amin`` (> 0, default 1e-10) and
    ``power`` (> 0, default 2).

    Returns
    -------
    (..., 1, n_frames) float32 (float64 for float64 input); 1 for silent frames.

    Notes
    -----
    The cpu backend sums in float64 where librosa sums float32 values, so frames
    whose spectrum is mostly at ``amin`` can differ by ~1e-4 relative.
    """
    amin = check_real(amin, "amin", positive=True)
    power = check_real(power, "power", positive=True)
    frames = None if S is not None else FrameSettings(n_fft, hop_length, win_length, window,
                                                      center, pad_mode)
    mod, S3, nv, n_fft, lead = _magnitude(y, S, frames, lengths, backend, "spectral_flatness")
    f = _filters.fft_frequencies(sr=2.0, n_fft=n_fft)[: S3.shape[1]]
    if f.shape[0] != S3.shape[1]:
        f = np.zeros(S3.shape[1])
    return mod.descriptors_from_S(S3, f, nv, amin=amin, flat_power=power)[:, 3:4].reshape(
        lead + (1, S3.shape[-1]))


def _zcr_rms(y, frame_length, hop_length, center, pad_mode, threshold, lengths, backend,
             want_zcr):
    """(..., 1, t) zero-crossing rate (``want_zcr``) or RMS of ``y``, in y's type."""
    frames = FrameSettings.for_frame_length(frame_length, hop_length, center, pad_mode)
    b = Batch(y, lengths, backend, op="zero_crossing_rate" if want_zcr else "rms")
    if not frames.center:  # librosa warns for nothing centred here, raises uncentred
        warn_short(frames.n_fft, b.y.shape[1], False, b.lengths if b.has_lengths else None,
                   "frame_length")
    z, r = b.impl.zcr_rms(b.y, b.lengths, b.nvalid(frames), frames, threshold, want_zcr,
                          not want_zcr)
    return b.unflatten(z if want_zcr else r)


@librosa_errors
def zero_crossing_rate(y, *, frame_length=2048, hop_length=512, center=True,
                       threshold=1e-10, lengths=None, backend=None):
    """Fraction of sign changes per frame, as ``librosa.feature.zero_crossing_rate``.

    Centred frames are padded with the edge sample (librosa's choice); samples with
    ``|y| <= threshold`` count as positive zero; the count is divided by
    ``frame_length``.

    Parameters
    ----------
    y : array, (..., T)
    frame_length : int, default 2048
    hop_length : int, default 512
    center : bool, default True
    threshold : float >= 0, default 1e-10
    lengths, backend
        As :func:`mmfeat.audio.stft`.

    Returns
    -------
    (..., 1, n_frames) float32 (float64 for float64 input; librosa returns float64)
    """
    threshold = check_real(threshold, "threshold", nonneg=True)
    return _zcr_rms(y, frame_length, hop_length, center, "edge", threshold, lengths,
                    backend, True)


@librosa_errors
def rms(y=None, *, S=None, frame_length=2048, hop_length=512, center=True,
        pad_mode="constant", dtype=np.float32, lengths=None, backend=None):
    """Root-mean-square of each frame, as ``librosa.feature.rms``.

    Parameters
    ----------
    y : array, (..., T), optional
    S : array, (..., 1 + frame_length // 2, t), optional
        A magnitude spectrogram; RMS by Parseval as librosa does.
    frame_length : int, default 2048
    hop_length : int, default 512
    center : bool, default True
    pad_mode : {"constant", "reflect", "edge"}, default "constant"
    dtype : float dtype, default float32
        Of the result, as librosa's ``dtype`` (float32 whatever the input's type).
    lengths, backend
        As :func:`mmfeat.audio.stft`.

    Returns
    -------
    (..., 1, n_frames) ``dtype``; sums run in float64.
    """
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"dtype must be a floating-point type, got {dtype}")
    if S is not None:
        be = resolve_backend(backend, S)
        impl(be, "rms")  # cuda: a clear error where the GPU stack is missing
        S = to_backend(S, be)
        xp = get_array_module(S)  # CuPy on the cuda backend: Parseval on the device
        if S.ndim < 2:
            raise ValueError(f"S must be (..., F, t), got shape {S.shape}")
        fl = FrameSettings.for_frame_length(frame_length, hop_length, center, pad_mode).n_fft
        if S.shape[-2] != fl // 2 + 1:
            raise ValueError(
                f"Since S.shape[-2] is {S.shape[-2]}, frame_length is expected to be "
                f"{S.shape[-2] * 2 - 2} or {S.shape[-2] * 2 - 1}; found {fl}")
        x = xp.abs(S).astype(np.float64) ** 2
        x[..., 0, :] *= 0.5
        if fl % 2 == 0:
            x[..., -1, :] *= 0.5
        out = xp.sqrt(2 * xp.sum(x, axis=-2, keepdims=True) / fl**2)
        return out.astype(dtype)
    if y is None:
        raise ValueError("either y or S must be given")
    return _zcr_rms(y, frame_length, hop_length, center, pad_mode, 0.0, lengths, backend,
                    False).astype(dtype, copy=False)


@librosa_errors
def waveform_stats(y, lengths=None, *, threshold=1e-10, backend=None):
    """Per-clip statistics of the samples: mean, std, peak ``|y|``, RMS, zero-crossing
    rate and crest factor (names in :data:`WAVEFORM_STAT_NAMES`).

    Parameters
    ----------
    y : array, (..., T)
    lengths : array of int, shape y.shape[:-1], optional
        Only ``y[n, :lengths[n]]`` counts.
    threshold : float >= 0, default 1e-10
        Samples with ``|y| <= threshold`` count as zero for the crossings.
    backend : {"numpy", "cpu", "cuda"}, optional
        cuda: masked float64 reductions on the device over chunks of clips.

    Returns
    -------
    (..., 6) float32 (float64 for float64 input)
        std is the population std (ddof 0); zcr = sign changes between neighbours /
        L (librosa's zero_crossing_rate over one frame of the whole clip); crest
        factor = peak / RMS, 0 for a silent clip. An empty clip gives all zeros.
    """
    threshold = check_real(threshold, "threshold", nonneg=True)
    b = Batch(y, lengths, backend, op="waveform_stats")
    out = b.impl.waveform_stats(b.y, b.lengths, threshold)
    return b.unflatten(out.astype(b.y.dtype))


__all__ = [
    "WAVEFORM_STAT_NAMES", "pad_batch", "rms", "spectral_bandwidth", "spectral_centroid",
    "spectral_flatness", "spectral_rolloff", "waveform_stats", "zero_crossing_rate",
]
