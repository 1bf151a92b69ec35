"""Validation and the dtype policy for audio, applied once at the public boundary.

Audio is ``(..., T)``: the last axis is time, every leading axis indexes clips
(all mono). The dtype policy: float32 stays float32, float64 stays float64,
float16 -> float32, integer PCM -> float32 scaled to [-1, 1) (int8/16/32 divided by
2**7/2**15/2**31, uint8 centred on 128 as in 8-bit WAV). librosa rejects integer
input; mmfeat scales it the way soundfile reads it.
"""

from __future__ import annotations

import functools
import numbers
import warnings

import numpy as np

from .._dtypes import complex_dtype, float_dtype  # noqa: F401 - re-exported to the modality
from ..backend import get_array_module, is_cupy_array


def _librosa_parameter_error() -> tuple:
    """librosa's ParameterError class as a one-tuple, or () where librosa is absent."""
    try:
        from librosa.util.exceptions import ParameterError as librosa_error
    except Exception:  # noqa: BLE001 - any failure to import: no librosa to be caught by
        return ()
    return (librosa_error,)


class ParameterError(ValueError, *_librosa_parameter_error()):  # noqa: N818 - librosa's name
    """A bad argument to an audio function.

    A ``ValueError`` and, where librosa is installed, also a
    ``librosa.ParameterError``: code written against librosa that catches its
    error catches mmfeat's, and so does code catching ``ValueError``.
    """


ParameterError.__module__ = "mmfeat.audio"


def librosa_errors(func):
    """Raise every ValueError of ``func`` (a public audio function) as
    :class:`ParameterError`, message and traceback unchanged."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except ParameterError:
            raise
        except ValueError as exc:
            raise ParameterError(*exc.args).with_traceback(exc.__traceback__) from None

    return wrapper

_PCM_SCALE = {
    np.dtype(np.int8): (0.0, 2.0**7),
    np.dtype(np.int16): (0.0, 2.0**15),
    np.dtype(np.int32): (0.0, 2.0**31),
    np.dtype(np.uint8): (128.0, 2.0**7),
}
PAD_MODES = ("constant", "reflect", "edge")


def as_audio(y, argname: str = "y", *, min_ndim: int = 1):
    """Validate audio ``(..., T)``; return it C-contiguous as float32/float64.

    Raises
    ------
    TypeError
        not an array, or bool/complex/object/unsupported integer dtype.
    ValueError
        0-d input, NaN or inf samples, or a shape that looks like interleaved
        multichannel audio ``(T, C)`` (soundfile's layout) rather than clips.
    """
    xp = get_array_module(y)
    if not is_cupy_array(y):
        if y is None or isinstance(y, (str, bytes)):
            raise TypeError(f"{argname} must be an array of audio samples, got "
                            f"{type(y).__name__}")
        if isinstance(y, (list, tuple)) and y and any(np.ndim(c) != np.ndim(y[0]) or
                                                     np.shape(c) != np.shape(y[0]) for c in y):
            raise ValueError(f"{argname} is a list of clips of different lengths; "
                             "use mmfeat.audio.pad_batch(clips) -> (y, lengths)")
        try:
            y = np.asarray(y)
        except Exception as exc:
            raise TypeError(f"{argname} could not be read as an array: {exc}") from exc
    dt = y.dtype
    if dt.kind == "f":
        pass
    elif dt in _PCM_SCALE:
        pass
    else:
        raise TypeError(
            f"{argname} must be floating-point audio or int8/int16/int32/uint8 PCM, got {dt}"
        )
    if y.ndim < min_ndim:
        raise ValueError(f"{argname} must be at least {min_ndim}-D (..., T), got shape "
                         f"{y.shape}")
    if y.ndim >= 2 and 1 < y.shape[-1] <= 8 and y.shape[-2] >= 16 * y.shape[-1]:
        raise ValueError(
            f"{argname} has shape {y.shape}: that looks like multichannel audio laid out "
            "(T, channels); mmfeat treats the last axis as time and every clip as mono: "
            "mix down with y.mean(axis=-1) or pass y.T for one clip per channel"
        )
    if dt in _PCM_SCALE:
        off, scale = _PCM_SCALE[dt]
        y = (y.astype(np.float32) - np.float32(off)) * np.float32(1.0 / scale)
    elif dt != np.float32 and dt != np.float64:
        y = y.astype(np.float32)
    y = xp.ascontiguousarray(y)
    if y.size and not bool(xp.isfinite(y).all()):
        raise ValueError(f"{argname} contains NaN or inf samples (audio must be finite)")
    return y


def check_lengths(lengths, y_shape, argname: str = "lengths"):
    """``lengths`` as int64 of shape ``y_shape[:-1]`` with 0 <= length <= T, or None."""
    if lengths is None:
        return None
    arr = np.asarray(lengths)
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and arr.size and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise TypeError(f"{argname} must hold integers, got dtype {arr.dtype}")
    lead = tuple(y_shape[:-1])
    if arr.shape != lead:
        raise ValueError(f"{argname} must have shape {lead} (one per clip), got {arr.shape}")
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() > y_shape[-1]):
        raise ValueError(
            f"{argname} must lie in [0, {y_shape[-1]}] (the padded length), got values in "
            f"[{arr.min()}, {arr.max()}]"
        )
    return arr


def check_int(value, argname: str, *, minimum: int = 1, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{argname} must be an int >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{argname} must be an int >= {minimum}, got {value}")
    return int(value)


def check_real(value, argname: str, *, positive: bool = False, nonneg: bool = False):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{argname} must be a real number, got {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{argname} must be finite, got {value}")
    if positive and value <= 0:
        raise ValueError(f"{argname} must be > 0, got {value}")
    if nonneg and value < 0:
        raise ValueError(f"{argname} must be >= 0, got {value}")
    return value


def check_pad_mode(pad_mode) -> str:
    if pad_mode not in PAD_MODES:
        raise ValueError(f"pad_mode must be one of {PAD_MODES}, got {pad_mode!r}")
    return pad_mode


def check_window(window, win_length: int):
    if callable(window) or isinstance(window, (str, tuple, numbers.Real)):
        return window
    try:
        w = np.asarray(window, dtype=np.float64)
    except Exception:
        raise TypeError(f"window must be a name, a tuple, a callable or an array, got "
                        f"{window!r}") from None
    if w.ndim != 1 or w.shape[0] != win_length:
        raise ValueError(f"window array must have shape ({win_length},) (win_length), got "
                         f"{w.shape}")
    return w


def check_sr(sr) -> float:
    return check_real(sr, "sr", positive=True)


def check_mel_params(sr, n_fft, n_mels, fmin, fmax, htk, norm):
    """Normalised mel parameters; fmax defaults to sr / 2."""
    sr = check_sr(sr)
    n_mels = check_int(n_mels, "n_mels")
    fmin = check_real(fmin, "fmin", nonneg=True)
    fmax = sr / 2.0 if fmax is None else check_real(fmax, "fmax", positive=True)
    if fmin >= fmax:
        raise ValueError(f"fmin={fmin} must be below fmax={fmax}")
    if fmax > sr / 2.0:
        warnings.warn(
            f"fmax={fmax} is above the Nyquist frequency sr/2={sr / 2.0}: the top mel "
            "filters cover frequencies the spectrum does not have (librosa accepts this "
            "silently)",
            UserWarning,
            stacklevel=4,
        )
    if norm is not None and norm != "slaney":
        if isinstance(norm, str) or isinstance(norm, (bool, np.bool_)) or not isinstance(
            norm, numbers.Real
        ) or (norm < 0 and norm != -np.inf):
            raise ValueError(
                f"norm must be 'slaney', None or a p-norm (a number > 0, 0, inf or -inf), "
                f"got {norm!r}"
            )
        norm = float(norm)
    return sr, n_mels, fmin, fmax, bool(htk), norm


def warn_short(n_fft: int, T: int, center: bool, lengths=None, name: str = "n_fft") -> None:
    """librosa's warning (centred) or error (uncentred) for signals shorter than n_fft
    (``name``: the argument that sets the frame, e.g. frame_length for rms)."""
    if center:
        if n_fft > T:
            warnings.warn(f"{name}={n_fft} is too large for input signal of length={T}",
                          UserWarning, stacklevel=4)
        return
    shortest = T if lengths is None or lengths.size == 0 else int(lengths.min())
    if n_fft > shortest:
        raise ValueError(
            f"{name}={n_fft} is too large for uncentered analysis of input signal of "
            f"length={shortest}" + (" (the shortest clip in lengths)" if lengths is not None
                                    else "")
        )


def n_frames(T: int, frame_length: int, hop: int, center: bool) -> int:
    """Frames librosa returns for a signal of T samples (centred: padded by
    ``frame_length // 2`` on both sides first)."""
    padded = T + 2 * (frame_length // 2) if center else T
    return 1 + (padded - frame_length) // hop if padded >= frame_length else 0


def valid_frame_counts(lengths, frame_length: int, hop: int, center: bool):
    """Per-clip count of valid frames: what librosa returns for that clip alone,
    ``1 + (L + 2 * (frame_length // 2) - frame_length) // hop`` centred (``1 + L // hop``
    for even frame lengths), ``1 + (L - frame_length) // hop`` otherwise (0 if negative)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    padded = lengths + 2 * (frame_length // 2) if center else lengths
    return np.where(padded >= frame_length, 1 + (padded - frame_length) // hop, 0)
