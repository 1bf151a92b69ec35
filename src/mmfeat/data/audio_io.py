"""Reading audio files: ``librosa.load`` semantics on soundfile + soxr alone.

librosa decodes with soundfile (libsndfile: WAV, FLAC, OGG/Vorbis, AIFF, ...),
averages the channels for mono and resamples with soxr at "HQ" quality (its
default ``res_type="soxr_hq"``). This module does the same steps without
importing librosa, so the numbers agree with ``librosa.load`` to float rounding.
"""

from __future__ import annotations

import numbers
import os

import numpy as np

__all__ = ["load"]

# librosa's default res_type "soxr_hq" is soxr's "HQ" preset
_SOXR_QUALITY = "HQ"
_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _check_sr(sr):
    if sr is None:
        return None
    if isinstance(sr, bool) or not isinstance(sr, numbers.Real):
        raise TypeError(f"sr must be a positive number or None, got {type(sr).__name__}")
    if not np.isfinite(sr) or sr <= 0:
        raise ValueError(f"sr must be a positive number or None, got {sr!r}")
    # keep integer rates integers, as callers compare them with ==
    return int(sr) if float(sr).is_integer() else float(sr)


def _describe(path) -> str:
    if isinstance(path, (str, bytes, os.PathLike)):
        return repr(os.fsdecode(path))
    return repr(getattr(path, "name", type(path).__name__))


def _read(path, dtype):
    """Decoded samples as librosa holds them: (T,) for one channel, (C, T) for more."""
    import soundfile as sf

    if isinstance(path, (str, bytes, os.PathLike)):
        fspath = os.fsdecode(path)
        if not os.path.exists(fspath):
            raise FileNotFoundError(f"audio file {fspath!r} does not exist")
        if os.path.isdir(fspath):
            raise IsADirectoryError(f"audio path {fspath!r} is a directory, not a file")
        if os.path.getsize(fspath) == 0:
            raise ValueError(f"could not decode audio file {fspath!r}: the file is empty")
        source = fspath
    else:
        source = path  # a binary file object; soundfile reads it directly
    try:
        with sf.SoundFile(source) as f:
            sr_native = f.samplerate
            # reading as float makes libsndfile scale integer PCM to [-1, 1)
            y = f.read(dtype=dtype.name, always_2d=False)
    except sf.LibsndfileError as exc:
        raise ValueError(f"could not decode audio file {_describe(path)}: {exc}") from exc
    except (RuntimeError, TypeError) as exc:  # soundfile's other decode failures
        raise ValueError(f"could not decode audio file {_describe(path)}: {exc}") from exc
    return y.T, sr_native


def _fix_length(y: np.ndarray, size: int) -> np.ndarray:
    """Trim or zero-pad the last axis to ``size`` (librosa.util.fix_length)."""
    n = y.shape[-1]
    if n > size:
        return y[..., :size]
    if n < size:
        pad = [(0, 0)] * (y.ndim - 1) + [(0, size - n)]
        return np.pad(y, pad, mode="constant")
    return y


def _resample(y: np.ndarray, orig_sr, target_sr) -> np.ndarray:
    """soxr resampling along the last axis, length fixed to ceil(T * ratio) like librosa."""
    import soxr

    if orig_sr == target_sr:
        return y
    n_out = int(np.ceil(y.shape[-1] * (float(target_sr) / orig_sr)))
    if y.shape[-1] == 0:
        return np.zeros(y.shape[:-1] + (n_out,), dtype=y.dtype)
    # soxr wants (frames, channels); resampling channels together equals one by one
    y_hat = soxr.resample(np.ascontiguousarray(y.T), orig_sr, target_sr, quality=_SOXR_QUALITY).T
    return np.ascontiguousarray(_fix_length(y_hat, n_out), dtype=y.dtype)


def load(path, sr=None, mono: bool = True, dtype=np.float32):
    """Read an audio file into a float array, optionally mixed to mono and resampled.

    Mirrors ``librosa.load(path, sr=sr, mono=mono, dtype=dtype)`` (default
    ``res_type="soxr_hq"``), decoding with soundfile and resampling with soxr.

    Parameters
    ----------
    path : str, path-like or binary file object
        Any format libsndfile reads: WAV (integer PCM or float), FLAC, OGG/Vorbis,
        AIFF, ... MP3 only where the installed libsndfile supports it.
    sr : number > 0 or None, default None
        Target sampling rate; ``None`` keeps the file's own rate. (librosa's
        default is 22050; mmfeat's is the native rate.)
    mono : bool, default True
        Average the channels (``librosa.to_mono``).
    dtype : float32 or float64, default float32
        Type of the returned samples. Integer PCM is scaled to [-1, 1) by
        libsndfile (int16 ``x / 32768``, int32 ``x / 2**31``).

    Returns
    -------
    y : ndarray, (T,) or (C, T)
        (T,) when ``mono`` or the file has one channel; (C, T) for a
        multi-channel file read with ``mono=False``.
    sr : int or float
        The rate of ``y``: ``sr`` if given, else the file's rate.

    Raises
    ------
    FileNotFoundError, IsADirectoryError
        ``path`` does not name an existing file.
    ValueError
        The file is empty or cannot be decoded (the message names the path);
        ``sr <= 0``; the samples are not finite while mixing or resampling
        (librosa raises its ParameterError there).
    TypeError
        ``sr`` is not a number, or ``dtype`` is not float32/float64.

    Notes
    -----
    A file with no frames gives an empty array, never an error. Resampling pads
    or trims the result to ``ceil(T * sr / sr_native)`` samples, as librosa does.

    See Also
    --------
    librosa.load : the anchor; agrees to float32 rounding (same decoder, same
        soxr preset).

    Examples
    --------
    >>> import io, numpy as np, soundfile as sf
    >>> from mmfeat.data import load
    >>> buf = io.BytesIO()
    >>> sf.write(buf, np.zeros((800, 2), np.int16), 8000, format="WAV", subtype="PCM_16")
    >>> _ = buf.seek(0)
    >>> y, sr = load(buf, sr=16000)
    >>> y.shape, y.dtype, sr
    ((1600,), dtype('float32'), 16000)
    """
    sr = _check_sr(sr)
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}") from exc
    if dt not in _DTYPES:
        raise TypeError(f"dtype must be float32 or float64, got {dt}")
    y, sr_native = _read(path, dt)
    if (mono and y.ndim > 1) or (sr is not None and sr != sr_native):
        if not np.isfinite(y).all():
            raise ValueError(f"audio file {_describe(path)} holds non-finite samples")
    if mono and y.ndim > 1:
        y = np.mean(y, axis=tuple(range(y.ndim - 1)), dtype=dt)
    if sr is None:
        return np.ascontiguousarray(y), sr_native
    return _resample(y, sr_native, sr), sr
