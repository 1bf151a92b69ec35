"""Chromagram and spectral contrast: librosa 0.11's ``chroma_stft`` and
``spectral_contrast`` on batches of clips.

``y`` is ``(..., T)`` (every leading index a mono clip) and ``lengths=`` marks each
clip's end in a zero-padded batch, as in :mod:`.spectral`: frames of clip ``n`` are
the ones librosa returns for ``y[n, :lengths[n]]`` alone, frames past them are 0.
Both functions run on the ``numpy``, ``cpu`` and ``cuda`` backends.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..backend import resolve_backend, to_backend, to_host
from . import _filters
from ._checks import check_sr, float_dtype, librosa_errors
from ._chroma import ChromaSettings, ContrastBands
from ._dispatch import Batch, impl
from ._frames import FrameSettings
from .spectral import _frames_of


def _given_S(S, n_fft, lengths, backend, op):
    """(backend module, S (N, F, t), nvalid (N,), n_fft, lead) for a given spectrogram:
    n_fft is kept when it matches S's ``F = 1 + n_fft // 2`` bins, else ``2 (F - 1)``
    (librosa's rule)."""
    be = resolve_backend(backend, S)
    mod = impl(be, op)
    S = to_backend(S, be)
    if S.ndim < 2 or np.iscomplexobj(S) or S.dtype.kind not in "fiu":
        raise ValueError(f"S must be a real (..., F, t) spectrogram, got shape {S.shape}, "
                         f"dtype {S.dtype}")
    if lengths is not None:
        raise ValueError("lengths applies to y; with S every frame of S counts (give y and "
                         "lengths, or S cut to each clip)")
    S = S.astype(float_dtype(S.dtype), copy=False)
    if S.size and not bool(np.isfinite(S).all()):
        raise ValueError("S must not contain NaN or inf")
    if S.size and S.min() < 0:
        raise ValueError("S must be non-negative (a power or magnitude spectrogram)")
    F = S.shape[-2]
    if not (isinstance(n_fft, numbers.Integral) and not isinstance(n_fft, bool)
            and n_fft // 2 + 1 == F):
        n_fft = 2 * (F - 1)
    lead = S.shape[:-2]
    S3 = S.reshape(int(np.prod(lead, dtype=np.int64)), *S.shape[-2:])
    nv = np.full(S3.shape[0], S.shape[-1], dtype=np.int64)
    return mod, S3, nv, int(n_fft), lead


def _from_y(y, frames, lengths, backend, op):
    if y is None:
        raise ValueError("either y or S must be given")
    b = Batch(y, lengths, backend, op=op)
    return b, _frames_of(b, frames)


@librosa_errors
def chroma_stft(y=None, *, sr=22050, S=None, norm=np.inf, n_fft=2048, hop_length=512,
                win_length=None, window="hann", center=True, pad_mode="constant",
                tuning=None, n_chroma=12, ctroct=5.0, octwidth=2, base_c=True,
                lengths=None, backend=None):
    """Chromagram of each clip from its power spectrogram, as
    ``librosa.feature.chroma_stft``.

    Parameters
    ----------
    y : array, (..., T), optional
        Audio; or give ``S``.
    sr : float > 0, default 22050
    S : array, (..., 1 + n_fft // 2, t), optional
        A power spectrogram (non-negative) instead of y; n_fft is then
        ``2 * (S.shape[-2] - 1)`` unless the given n_fft has that many bins.
    norm : None, inf, -inf, 0 or float > 0, default inf
        Normalisation of each frame's chroma vector (``librosa.util.normalize``):
        max, min, count of non-zeros, or p-norm; None leaves it raw.
    n_fft, hop_length, win_length, window, center, pad_mode
        As :func:`mmfeat.audio.spectrogram` (n_fft >= 2).
    tuning : float, optional
        Deviation from A440 in fractions of a chroma bin. None: estimated for each
        clip as ``librosa.estimate_tuning(S=S, sr=sr, bins_per_octave=n_chroma)``
        (piptrack's peaks between 150 Hz and 4 kHz, those above their median
        magnitude, histogrammed at 0.01 bin).
    n_chroma : int >= 1, default 12
    ctroct : float, default 5.0
    octwidth : float > 0 or None, default 2
        The Gaussian weighting over octaves of ``librosa.filters.chroma`` (centre
        ``ctroct`` octaves above A0, half-width ``octwidth``; None: flat).
    base_c : bool, default True
        Start the chroma bins at C (else at A).
    lengths : array of int, shape y.shape[:-1], optional
        True length of each clip in a zero-padded batch (only with ``y``).
    backend : {"numpy", "cpu", "cuda"}, optional

    Returns
    -------
    chroma : (..., n_chroma, n_frames) float32 (float64 for float64 input, as
        librosa); 0 past each clip's end.

    Raises
    ------
    ValueError
        neither y nor S; a bad ``norm``, ``n_chroma``, ``octwidth`` or ``sr``;
        ``lengths`` with ``S``; S negative or not finite; n_fft < 2; uncentred
        clips shorter than n_fft.

    Warns
    -----
    UserWarning
        "Trying to estimate tuning from empty frequency set." when a clip has no
        peak to estimate its tuning from (silence); that clip's tuning is 0.

    See Also
    --------
    librosa.feature.chroma_stft : the anchor.
    librosa.estimate_tuning, librosa.filters.chroma

    Notes
    -----
    The tuning is estimated per clip: librosa, handed a multichannel array,
    estimates one tuning from all of its channels together. The filterbank is
    float32 as librosa's default (its ``dtype`` keyword is not offered; its
    ``norm=2`` of the filters is fixed, as ``chroma_stft``'s own ``norm`` takes
    that name). Agreement with librosa: within 1e-6 of each frame's largest
    value on the numpy backend, ~1e-5 on cpu and cuda (float32 FFTs, another
    summation order); the estimated tuning is the same value as librosa's (it
    could differ where a histogram tie is decided by one rounding).

    Examples
    --------
    >>> import numpy as np
    >>> from mmfeat.audio import chroma_stft
    >>> t = np.arange(22050) / 22050
    >>> y = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    >>> C = chroma_stft(y[None], sr=22050)
    >>> C.shape, int(C[0, :, 20].argmax())  # A is the 10th class from C
    ((1, 12, 44), 9)
    """
    op = "chroma_stft"
    if S is not None:
        mod, S3, nv, n_fft, lead = _given_S(S, n_fft, lengths, backend, op)
        settings = _chroma_settings(sr, n_fft, n_chroma, tuning, ctroct, octwidth, base_c,
                                    norm)
        out = mod.chroma_from_S(S3, nv, settings)
        return out.reshape(lead + out.shape[1:])
    frames = FrameSettings(n_fft, hop_length, win_length, window, center, pad_mode)
    settings = _chroma_settings(sr, frames.n_fft, n_chroma, tuning, ctroct, octwidth,
                                base_c, norm)
    b, nv = _from_y(y, frames, lengths, backend, op)
    return b.unflatten(b.impl.chroma_stft(b.y, b.lengths, nv, frames, settings))


def _chroma_settings(sr, n_fft, n_chroma, tuning, ctroct, octwidth, base_c, norm):
    if n_fft < 2:
        raise ValueError(f"n_fft must be >= 2 for a chromagram (a spectrum of at least 2 "
                         f"bins), got {n_fft}")
    return ChromaSettings.build(sr=sr, n_fft=n_fft, n_chroma=n_chroma, tuning=tuning,
                                ctroct=ctroct, octwidth=octwidth, base_c=base_c, norm=norm)


@librosa_errors
def spectral_contrast(y=None, *, sr=22050, S=None, n_fft=2048, hop_length=512,
                      win_length=None, window="hann", center=True, pad_mode="constant",
                      freq=None, fmin=200.0, n_bands=6, quantile=0.02, linear=False,
                      lengths=None, backend=None):
    """Spectral contrast of each frame, as ``librosa.feature.spectral_contrast``:
    per octave sub-band, the mean of its top ``quantile`` magnitudes over the mean
    of its bottom ``quantile``, in decibels.

    Parameters
    ----------
    y : array, (..., T), optional
        Audio; or give ``S``.
    sr : float > 0, default 22050
    S : array, (..., 1 + n_fft // 2, t), optional
        A magnitude spectrogram (non-negative) instead of y.
    n_fft, hop_length, win_length, window, center, pad_mode
        As :func:`mmfeat.audio.spectrogram`.
    freq : (1 + n_fft // 2,) array, optional
        Centre frequency of each bin (default: the FFT bin frequencies).
    fmin : float > 0, default 200
        Upper edge of the first band [0, fmin]; band k > 0 covers
        ``[fmin 2**(k-1), fmin 2**k]`` Hz, the last one up to the top bin.
    n_bands : int >= 1, default 6
        Bands besides the first; ``fmin * 2**(n_bands - 1)`` must be below sr / 2.
    quantile : float in (0, 1), default 0.02
        Share of each band's bins averaged for its peak and its valley (at least one).
    linear : bool, default False
        Return ``peak - valley`` instead of the difference of their decibels.
    lengths, backend
        As :func:`chroma_stft`.

    Returns
    -------
    contrast : (..., n_bands + 1, n_frames) float32 (float64 for float64 input;
        librosa returns float64); 0 past each clip's end.

    Raises
    ------
    ValueError
        As librosa (freq's shape, n_bands, quantile, fmin, a band beyond Nyquist),
        and where librosa fails or returns NaN: a band with no frequency bin of its
        own (n_fft too small for fmin).

    See Also
    --------
    librosa.feature.spectral_contrast : the anchor.

    Notes
    -----
    The decibels are ``power_to_db`` with librosa's defaults (amin 1e-10, top_db
    80): librosa floors them at 80 dB below the peak of everything it was given,
    a batch at the batch's peak; mmfeat floors each clip at its own peak (what
    librosa gives for the clip alone). The spectrum is the float64 FFT on every
    backend: valleys sit far below each frame's peak. Agreement with librosa: within
    1e-5 of each frame's largest contrast.

    Examples
    --------
    >>> import numpy as np
    >>> from mmfeat.audio import spectral_contrast
    >>> y = np.random.default_rng(0).standard_normal((2, 22050)).astype(np.float32)
    >>> spectral_contrast(y, sr=22050).shape
    (2, 7, 44)
    """
    op = "spectral_contrast"
    sr = check_sr(sr)
    if not isinstance(linear, (bool, np.bool_)):
        raise TypeError(f"linear must be a bool, got {linear!r}")
    if S is not None:
        mod, S3, nv, n_fft, lead = _given_S(S, n_fft, lengths, backend, op)
        bands = _bands(freq, sr, n_fft, S3.shape[1], fmin, n_bands, quantile)
        out = mod.contrast_from_S(S3, nv, bands, bool(linear))
        return out.reshape(lead + out.shape[1:])
    frames = FrameSettings(n_fft, hop_length, win_length, window, center, pad_mode)
    bands = _bands(freq, sr, frames.n_fft, frames.n_bins, fmin, n_bands, quantile)
    b, nv = _from_y(y, frames, lengths, backend, op)
    return b.unflatten(b.impl.spectral_contrast(b.y, b.lengths, nv, frames, bands,
                                                bool(linear)))


def _bands(freq, sr, n_fft, F, fmin, n_bands, quantile):
    if freq is None:
        freq = _filters.fft_frequencies(sr=sr, n_fft=n_fft)
    freq = np.atleast_1d(np.asarray(to_host(freq), dtype=np.float64))
    if freq.ndim != 1 or freq.shape[0] != F:
        raise ValueError(f"freq.shape mismatch: expected ({F},) (one per frequency bin), "
                         f"got {freq.shape}")
    return ContrastBands.build(freq, sr, fmin, n_bands, quantile)


__all__ = ["chroma_stft", "spectral_contrast"]
