"""Bad input to mmfeat.audio (issue 4 §3): clear errors naming the argument, librosa's
warnings, and finite documented results for short and empty clips."""

from __future__ import annotations

import warnings

import librosa
import numpy as np
import pytest

import mmfeat.audio as A
from mmfeat.backend import BackendUnavailableError

Y = (0.1 * np.random.default_rng(0).standard_normal(4000)).astype(np.float32)
_S_NAN = np.abs(np.random.default_rng(1).standard_normal((257, 12)))
_S_NAN[10, 1] = np.nan


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: A.mfcc(np.array([0, np.nan, 1], np.float32)), ValueError, "NaN or inf"),
        (lambda: A.stft(np.array([0, np.inf] * 600, np.float32)), ValueError, "NaN or inf"),
        (lambda: A.stft(np.zeros(100, bool)), TypeError, "floating-point audio"),
        (lambda: A.stft(np.zeros(100, complex)), TypeError, "floating-point audio"),
        (lambda: A.stft(np.zeros(100, np.uint16)), TypeError, "int16"),
        (lambda: A.stft(np.float32(1)), ValueError, "at least 1-D"),
        (lambda: A.stft("clip.wav"), TypeError, "array of audio samples"),
        (lambda: A.mfcc(np.zeros((16000, 2), np.float32)), ValueError, "multichannel"),
        (lambda: A.melspectrogram(Y, sr=0), ValueError, "sr must be > 0"),
        (lambda: A.mfcc(Y, sr=-16000), ValueError, "sr must be > 0"),
        (lambda: A.stft(Y, hop_length=0), ValueError, "hop_length"),
        (lambda: A.mfcc(Y, hop_length=-160), ValueError, "hop_length"),
        (lambda: A.stft(Y, hop_length=1.5), TypeError, "hop_length"),
        (lambda: A.stft(Y, n_fft=0), ValueError, "n_fft"),
        (lambda: A.stft(Y, n_fft=256, win_length=512), ValueError, "win_length"),
        (lambda: A.stft(Y, pad_mode="wrap"), ValueError, "pad_mode"),
        (lambda: A.stft(Y[:100], n_fft=512, center=False), ValueError, "too large"),
        (lambda: A.stft(Y[None], lengths=[5000]), ValueError, "lengths"),
        (lambda: A.stft(Y[None], lengths=[5, 6]), ValueError, "lengths"),
        (lambda: A.stft(Y[None], lengths=[5.5]), TypeError, "lengths"),
        (lambda: A.mfcc(Y, n_mfcc=50, n_mels=40), ValueError, "n_mfcc"),
        (lambda: A.mfcc(Y, dct_type=4), ValueError, "dct_type"),
        (lambda: A.mfcc(Y, lifter=-1), ValueError, "lifter"),
        (lambda: A.power_to_db(np.ones((3, 3)), top_db=-1), ValueError, "top_db"),
        (lambda: A.power_to_db(np.ones((3, 3)), amin=0), ValueError, "amin"),
        (lambda: A.mel_filterbank(sr=16000, n_fft=512, norm="l2"), ValueError, "norm"),
        (lambda: A.mel_filterbank(sr=16000, n_fft=512, fmin=5000, fmax=4000), ValueError,
         "fmin"),
        (lambda: A.mel_filterbank(sr=16000, n_fft=512, n_mels=0), ValueError, "n_mels"),
        (lambda: A.delta(np.zeros((3, 20)), width=4), ValueError, "width"),
        (lambda: A.delta(np.zeros((3, 5))), ValueError, "width=9 cannot exceed"),
        (lambda: A.delta(np.zeros((3, 20)), order=0), ValueError, "order"),
        (lambda: A.spectral_rolloff(Y, roll_percent=1.5), ValueError, "roll_percent"),
        (lambda: A.spectral_centroid(S=-np.ones((5, 3))), ValueError, "non-negative"),
        (lambda: A.stft(Y, n_fft=512, window=np.ones(100)), ValueError, "window"),
        (lambda: A.rms(S=np.ones((10, 4)), frame_length=512), ValueError, "frame_length"),
        (lambda: A.pad_batch([np.zeros((100, 3), np.float32)]), ValueError, r"clips\[0\]"),
        (lambda: A.pad_batch([np.zeros((2, 2, 2), np.float32)]), ValueError, "1-D"),
        (lambda: A.pad_batch([np.array([np.nan], np.float32)]), ValueError, r"clips\[0\]"),
        (lambda: A.mfcc([np.zeros(100), np.zeros(50)]), ValueError, "pad_batch"),
        (lambda: A.mfcc(Y, backend="gpu"), ValueError, "backend"),
        (lambda: A.mfcc(), ValueError, "y or S"),
        # a NaN in a given S: librosa raises for two descriptors, returns NaN or 0 for
        # the others (mmfeat returned amin's flatness before)
        (lambda: A.spectral_flatness(S=_S_NAN), ValueError, "S must not contain NaN"),
        (lambda: A.spectral_centroid(S=_S_NAN, backend="numpy"), ValueError, "NaN or inf"),
        (lambda: A.spectral_rolloff(S=_S_NAN), ValueError, "NaN or inf"),
        (lambda: A.spectral_bandwidth(S=np.full((9, 3), np.inf)), ValueError, "NaN or inf"),
        (lambda: A.delta(_S_NAN), ValueError, "data must not contain NaN"),
        (lambda: A.delta(_S_NAN, backend="numpy"), ValueError, "data must not contain NaN"),
        (lambda: A.melspectrogram(S=np.ones((257, 4), np.complex64), sr=16000), TypeError,
         "real power spectrogram"),
        (lambda: A.rms(y=Y[:100], frame_length=512, center=False), ValueError,
         "frame_length=512 is too large"),
        (lambda: A.zero_crossing_rate(Y[:100], frame_length=512, center=False), ValueError,
         "frame_length=512 is too large"),
    ],
)
def test_bad_input_raises_naming_the_argument(call, exc, match):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(exc, match=match):
            call()


def test_amplitude_to_db_of_float16_squares_in_float32():
    got = A.amplitude_to_db(np.array([[300.0, 1.0]], np.float16))
    want = A.amplitude_to_db(np.array([[300.0, 1.0]], np.float32))
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(got, [[49.542427, 0.0]], rtol=1e-6)


def test_cuda_backend_is_reported_as_unavailable():
    with pytest.raises(BackendUnavailableError, match="cuda"):
        A.mfcc(Y, backend="cuda")


def test_too_many_mels_warns_like_librosa():
    with pytest.warns(UserWarning, match="Empty filters"):
        out = A.melspectrogram(Y, sr=16000, n_fft=256, n_mels=128)
    assert np.isfinite(out).all()


@pytest.mark.filterwarnings("ignore:Empty filters")
def test_fmax_above_nyquist_warns_and_matches_librosa():
    with pytest.warns(UserWarning, match="fmax=10000.0 is above the Nyquist"):
        M = A.mel_filterbank(sr=16000, n_fft=512, n_mels=40, fmax=10000)
    np.testing.assert_allclose(M, librosa.filters.mel(sr=16000, n_fft=512, n_mels=40,
                                                      fmax=10000), rtol=2e-6, atol=1e-12)


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
@pytest.mark.parametrize("T", [0, 1, 100])
def test_short_and_empty_clips_match_librosa_with_its_warning(backend, T):
    y = Y[:T]
    with pytest.warns(UserWarning, match="too large for input signal"):
        got = A.mfcc(y, sr=16000, backend=backend)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = librosa.feature.mfcc(y=y, sr=16000)
    assert got.shape == want.shape and np.isfinite(got).all()
    assert np.abs(got - want).max() <= 0.01


def test_empty_batch_gives_empty_outputs():
    y = np.zeros((0, 1600), np.float32)
    assert A.mfcc(y, sr=16000, n_fft=512, hop_length=160).shape == (0, 20, 11)
    assert A.waveform_stats(y).shape == (0, 6)
    assert A.pad_batch([])[0].shape == (0, 0)


def test_stereo_as_channels_first_is_a_batch_of_mono_clips():
    y = np.stack([Y, -Y])
    np.testing.assert_allclose(A.rms(y, frame_length=512, hop_length=160)[1],
                               librosa.feature.rms(y=-Y, frame_length=512, hop_length=160),
                               rtol=1e-5)


def test_input_is_not_modified():
    y = Y.copy()
    A.mfcc(y, sr=16000)
    A.waveform_stats(y)
    np.testing.assert_array_equal(y, Y)


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_rms_dtype_is_librosas(backend):
    y = Y.astype(np.float64)
    got = A.rms(y=y, frame_length=512, hop_length=128, backend=backend)
    want = librosa.feature.rms(y=y, frame_length=512, hop_length=128)
    assert got.dtype == want.dtype == np.float32  # librosa's dtype=np.float32 default
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert A.rms(y=y, dtype=np.float64, backend=backend).dtype == np.float64
    S = np.abs(librosa.stft(y, n_fft=512))
    assert A.rms(S=S, frame_length=512, backend=backend).dtype == np.float32
    with pytest.raises(TypeError, match="dtype"):
        A.rms(y=y, dtype=np.int16, backend=backend)
