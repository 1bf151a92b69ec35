"""Audio features with librosa 0.11's names, parameters and numbers, on whole batches.

``y`` is ``(..., T)``: every leading index is a mono clip. Clips of different
lengths go through :func:`pad_batch` -> ``(y, lengths)``; every frame-wise function
takes ``lengths=`` and treats each clip as ending at its own length.

Spectra: :func:`stft`, :func:`spectrogram`, :func:`mel_filterbank`,
:func:`melspectrogram`, :func:`power_to_db`, :func:`amplitude_to_db`, :func:`mfcc`,
:func:`delta`. Descriptors: :func:`spectral_centroid`, :func:`spectral_bandwidth`,
:func:`spectral_rolloff`, :func:`spectral_flatness`, :func:`spectral_contrast`,
:func:`chroma_stft`, :func:`zero_crossing_rate`, :func:`rms`, :func:`waveform_stats`.
Transformer: :class:`AudioFeatures`.
Backends: ``"numpy"`` (reference), ``"cpu"`` (Numba + scipy.fft on all cores, the
default for NumPy input) and ``"cuda"`` (CuPy's cuFFT + Numba CUDA kernels, the
default for CuPy input) for :func:`stft`, :func:`spectrogram`,
:func:`melspectrogram` and :func:`mfcc`; the other ops raise
``BackendUnavailableError`` on ``"cuda"``.

Parity with librosa 0.11, per clip, on synthetic speech (vowels through formant
filters, fricatives, chirps, a clip 50 dB down, clips shorter than n_fft), n_fft
512, hop 160, 64 mels: STFT and mel spectra within 1e-6 of each clip's maximum
(the tests require 1e-4), MFCC within 5e-4 dB (required: 0.01 dB), spectral
centroid/bandwidth/flatness and RMS within 2e-6 relative, rolloff and
zero-crossing rate identical. ``top_db`` floors each clip at its own peak
(librosa 0.11 floors a batch at the batch's peak).
"""

from ._checks import ParameterError
from .chroma import chroma_stft, spectral_contrast
from .descriptors import (
    WAVEFORM_STAT_NAMES,
    pad_batch,
    rms,
    spectral_bandwidth,
    spectral_centroid,
    spectral_flatness,
    spectral_rolloff,
    waveform_stats,
    zero_crossing_rate,
)
from .spectral import (
    amplitude_to_db,
    delta,
    mel_filterbank,
    melspectrogram,
    mfcc,
    power_to_db,
    spectrogram,
    stft,
)


def load(path, sr=None, mono=True):
    """Read an audio file as float32 in [-1, 1], optionally resampled and mixed to mono.

    A thin wrapper over :func:`mmfeat.data.audio_io.load` (soundfile for WAV, FLAC
    and OGG; soxr for resampling, as librosa; int16/int32 PCM scaled to [-1, 1]).

    Parameters
    ----------
    path : str or path-like
    sr : float, optional
        Target rate; None keeps the file's rate.
    mono : bool, default True

    Returns
    -------
    y : ndarray, (T,) mono or (channels, T)
    sr : float
        The rate of ``y``.
    """
    from ..data.audio_io import load as _load

    return _load(path, sr=sr, mono=mono)


__all__ = [
    "WAVEFORM_STAT_NAMES", "AudioFeatures", "ParameterError", "amplitude_to_db", "chroma_stft",
    "delta", "load",
    "mel_filterbank", "melspectrogram", "mfcc", "pad_batch", "power_to_db", "rms",
    "spectral_bandwidth", "spectral_centroid", "spectral_contrast", "spectral_flatness",
    "spectral_rolloff",
    "spectrogram", "stft", "waveform_stats", "zero_crossing_rate",
]


def __getattr__(name):
    # the transformer subclasses scikit-learn's BaseEstimator, whose import takes
    # ~1.3 s (scipy.stats and more): loaded on first use, so that importing mmfeat
    # for the ops alone does not pay it
    if name == "AudioFeatures":
        from .features import AudioFeatures

        return AudioFeatures
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | {"AudioFeatures"})
