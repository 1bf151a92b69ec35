"""Host-side tables shared by every backend: windows, FFT and mel frequencies, the mel
filterbank, the DCT-II matrix and Savitzky-Golay delta matrices.

All are built in float64 (as librosa builds them) and cast once to the work type;
they are memoized on their (hashable) parameters because a batch call reuses them.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import scipy.signal

# Slaney's auditory-toolbox mel scale: linear below 1 kHz, logarithmic above
_F_SP = 200.0 / 3
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0


def hz_to_mel(frequencies, *, htk: bool = False) -> np.ndarray:
    """Hz -> mels (``librosa.hz_to_mel``): HTK ``2595 log10(1 + f/700)`` or Slaney."""
    f = np.asarray(frequencies, dtype=np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + f / 700.0)
    with np.errstate(divide="ignore"):
        log_part = _MIN_LOG_MEL + np.log(np.maximum(f, 1e-300) / _MIN_LOG_HZ) / _LOGSTEP
    return np.where(f >= _MIN_LOG_HZ, log_part, f / _F_SP)


def mel_to_hz(mels, *, htk: bool = False) -> np.ndarray:
    """Mels -> Hz, the inverse of :func:`hz_to_mel`."""
    m = np.asarray(mels, dtype=np.float64)
    if htk:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    return np.where(
        m >= _MIN_LOG_MEL, _MIN_LOG_HZ * np.exp(_LOGSTEP * (m - _MIN_LOG_MEL)), _F_SP * m
    )


def mel_frequencies(n_mels: int = 128, *, fmin: float = 0.0, fmax: float = 11025.0,
                    htk: bool = False) -> np.ndarray:
    """``n_mels`` frequencies (Hz) evenly spaced on the mel scale from fmin to fmax."""
    lo, hi = hz_to_mel(fmin, htk=htk), hz_to_mel(fmax, htk=htk)
    return mel_to_hz(np.linspace(lo, hi, n_mels), htk=htk)


def fft_frequencies(*, sr: float = 22050, n_fft: int = 2048) -> np.ndarray:
    """Centre frequency (Hz) of each of the ``1 + n_fft // 2`` rFFT bins."""
    return np.fft.rfftfreq(n=n_fft, d=1.0 / sr)


def _p_normalize(w: np.ndarray, norm) -> np.ndarray:
    """Rows of ``w`` scaled to unit ``norm`` (``librosa.util.normalize(axis=-1)``);
    rows whose norm is below the smallest normal float stay as they are."""
    mag = np.abs(w)
    if norm == np.inf:
        length = mag.max(axis=-1, keepdims=True)
    elif norm == -np.inf:
        length = mag.min(axis=-1, keepdims=True)
    elif norm == 0:
        length = (mag > 0).sum(axis=-1, keepdims=True).astype(np.float64)
    else:
        length = (mag**norm).sum(axis=-1, keepdims=True) ** (1.0 / norm)
    length[length < np.finfo(w.dtype).tiny] = 1.0
    return w / length


@functools.lru_cache(maxsize=64)
def _mel_basis64(sr: float, n_fft: int, n_mels: int, fmin: float, fmax: float,
                 htk: bool, norm) -> tuple[np.ndarray, bool]:
    """(weights (n_mels, 1 + n_fft//2) float64, has_empty_filter)."""
    fftfreqs = fft_frequencies(sr=sr, n_fft=n_fft)
    mel_f = mel_frequencies(n_mels + 2, fmin=fmin, fmax=fmax, htk=htk)
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fftfreqs[None, :]
    # triangle i rises over [mel_f[i], mel_f[i+1]] and falls over [mel_f[i+1], mel_f[i+2]]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    if norm == "slaney":
        # approximately constant energy per channel
        weights *= (2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels]))[:, None]
    elif norm is not None:
        weights = _p_normalize(weights, norm)
    empty = not np.all((mel_f[:-2] == 0) | (weights.max(axis=1) > 0))
    weights.setflags(write=False)
    return weights, empty


def mel_basis(sr, n_fft, n_mels, fmin, fmax, htk, norm, dtype, *, stacklevel: int = 3):
    """The mel filterbank in ``dtype``; warns (as librosa does) on empty filters."""
    w, empty = _mel_basis64(float(sr), int(n_fft), int(n_mels), float(fmin), float(fmax),
                            bool(htk), norm)
    if empty:
        warnings.warn(
            "Empty filters detected in mel frequency basis. "
            "Some channels will produce empty responses. "
            "Try increasing your sampling rate (and fmax) or reducing n_mels.",
            UserWarning,
            stacklevel=stacklevel,
        )
    return w.astype(dtype)


def _window_key(window):
    if isinstance(window, list):
        return tuple(window)
    return window


@functools.lru_cache(maxsize=64)
def _window64(window, win_length: int, n_fft: int) -> np.ndarray:
    if isinstance(window, np.ndarray):  # pragma: no cover - arrays are handled below
        raise TypeError
    w = scipy.signal.get_window(window, win_length, fftbins=True).astype(np.float64)
    return _pad_center(w, n_fft)


def _pad_center(w: np.ndarray, size: int) -> np.ndarray:
    lpad = (size - w.shape[0]) // 2
    out = np.zeros(size, dtype=np.float64)
    out[lpad : lpad + w.shape[0]] = w
    out.setflags(write=False)
    return out


def fft_window(window, win_length: int, n_fft: int, dtype) -> np.ndarray:
    """The analysis window (periodic, ``scipy.signal.get_window(fftbins=True)``) of
    ``win_length`` samples, zero-padded to ``n_fft`` centred, in ``dtype``.

    ``window`` is a name or (name, param) tuple, a callable ``f(N)``, or an array
    of ``win_length`` values (validated by the caller).
    """
    if callable(window):
        w = _pad_center(np.asarray(window(win_length), dtype=np.float64), n_fft)
    elif isinstance(window, np.ndarray):
        w = _pad_center(window.astype(np.float64), n_fft)
    else:
        w = _window64(_window_key(window), int(win_length), int(n_fft))
    return w.astype(dtype)


@functools.lru_cache(maxsize=32)
def _dct_matrix64(n_mfcc: int, n_mels: int) -> np.ndarray:
    """Rows 0..n_mfcc-1 of the orthonormal DCT-II matrix on n_mels points."""
    k = np.arange(n_mfcc)[:, None]
    n = np.arange(n_mels)[None, :]
    d = np.cos(np.pi * k * (2 * n + 1) / (2.0 * n_mels)) * np.sqrt(2.0 / n_mels)
    d[0] /= np.sqrt(2.0)
    d.setflags(write=False)
    return d


@functools.lru_cache(maxsize=32)
def _dct_other64(dct_type: int, n_mels: int, norm) -> np.ndarray:
    """(n_mels, n_mels) matrix of scipy's DCT of ``dct_type`` (1 or 3) along an axis."""
    import scipy.fft

    d = scipy.fft.dct(np.eye(n_mels), type=dct_type, norm=norm, axis=0)
    d.setflags(write=False)
    return d


def dct_matrix(n_mfcc: int, n_mels: int, lifter: float, dtype) -> np.ndarray:
    """(n_mfcc, n_mels) DCT-II (ortho) with the sinusoidal lifter folded into its rows."""
    d = _dct_matrix64(int(n_mfcc), int(n_mels))
    if lifter > 0:
        li = 1.0 + (lifter / 2.0) * np.sin(np.pi * np.arange(1, 1 + n_mfcc) / lifter)
        d = d * li[:, None]
    return d.astype(dtype)


def dct_rows(n_mfcc: int, n_mels: int, norm, lifter: float, dtype, dct_type: int = 2
             ) -> np.ndarray:
    """(n_mfcc, n_mels) rows that take log-mel frames to MFCC in one matrix product:
    :func:`dct_matrix`, rescaled to scipy's unnormalised DCT-II (``2 sum x cos``)
    for ``norm=None``; DCT types 1 and 3 are scipy's transform of the identity
    (the exact linear map), the lifter applied to its rows."""
    if dct_type != 2:
        d = _dct_other64(int(dct_type), int(n_mels), norm)[:n_mfcc]
        if lifter > 0:
            li = 1.0 + (lifter / 2.0) * np.sin(np.pi * np.arange(1, 1 + n_mfcc) / lifter)
            d = d * li[:, None]
        return d.astype(dtype)
    d = dct_matrix(n_mfcc, n_mels, lifter, np.float64)
    if norm is None:
        scale = np.full(n_mfcc, np.sqrt(2.0 * n_mels))
        scale[0] = 2.0 * np.sqrt(n_mels)
        d = d * scale[:, None]
    return d.astype(dtype)


@functools.lru_cache(maxsize=32)
def savgol_tables(width: int, order: int) -> tuple[np.ndarray, np.ndarray]:
    """(interior correlation taps (width,), edge matrix (width, width)) for the
    Savitzky-Golay derivative of ``order`` with polynomial order ``order``.

    Row j of the edge matrix gives the output at position j of a ``width``-long
    window from the whole window (scipy's ``mode="interp"`` polynomial fit); it is
    built by filtering the identity, so it is exactly what scipy applies.
    """
    taps = scipy.signal.savgol_coeffs(width, order, deriv=order, use="dot")
    edge = scipy.signal.savgol_filter(
        np.eye(width), width, order, deriv=order, axis=0, mode="interp"
    )
    taps.setflags(write=False)
    edge.setflags(write=False)
    return taps, edge
