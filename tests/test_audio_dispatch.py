"""One pattern for the audio modality (issue 16): the framing settings travel as one
validated object, public functions pick a backend module once, and ``backend="numpy"``
runs the NumPy reference only (the Numba kernels are never touched)."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
from mmfeat.kernels import audio as K
from test_audio_signals import SR, speech_clips

import mmfeat.audio as A
from mmfeat.audio import _cpu, _cuda, _dispatch, _reference
from mmfeat.audio._frames import FrameSettings


@pytest.fixture(scope="module")
def clips():
    # the word, the quiet vowel and the 300-sample clip (shorter than n_fft): a few
    # short clips of different lengths keep the reference path quick
    c = speech_clips()
    return [c[0][:6000], c[2][:3000], c[4]]


def _poison_numba(monkeypatch):
    """Every Numba CPU kernel and every function of the cpu backend raises."""

    def boom(name):
        def raiser(*args, **kwargs):
            raise AssertionError(f"backend='numpy' called the cpu backend's {name}")

        return raiser

    for mod in (K, _cpu):
        for name, value in list(vars(mod).items()):
            if callable(value) and not inspect.isclass(value) and not inspect.ismodule(value):
                monkeypatch.setattr(mod, name, boom(f"{mod.__name__}.{name}"))


def test_audio_features_numpy_backend_runs_the_reference_only(clips, monkeypatch):
    """The bug: AudioFeatures(backend="numpy") handed its batch object to the
    descriptor dispatch where a backend name was expected, so the spectral
    descriptors of the NumPy reference path silently ran the Numba kernels."""
    want = A.AudioFeatures(sr=SR, backend="cpu").fit_transform(clips)
    _poison_numba(monkeypatch)
    est = A.AudioFeatures(sr=SR, backend="numpy")
    got = est.fit_transform(clips)
    assert got.shape == want.shape and got.dtype == np.float32
    names = list(est.get_feature_names_out())
    # the tolerances of the librosa comparison in test_audio_features: MFCC in dB,
    # descriptors relative (rolloff may move one bin in a frame), waveform exact-ish
    mf = [j for j, n in enumerate(names) if n.startswith("mfcc")]
    wave = [j for j, n in enumerate(names) if n.startswith("wave_")]
    spec = [j for j in range(len(names)) if j not in mf and j not in wave]
    assert len(spec) == 12
    np.testing.assert_allclose(got[:, mf], want[:, mf], atol=0.02, rtol=1e-4)
    np.testing.assert_allclose(got[:, spec], want[:, spec], rtol=2e-3, atol=1e-5)
    np.testing.assert_allclose(got[:, wave], want[:, wave], rtol=1e-6)


def test_audio_features_numpy_descriptors_are_the_reference_ones(clips):
    """The pooled descriptors of backend="numpy" are the public numpy functions'."""
    est = A.AudioFeatures(sr=SR, deltas=False, waveform=False, backend="numpy")
    X = est.fit_transform(clips)
    names = list(est.get_feature_names_out())
    kw = dict(n_fft=512, hop_length=160, win_length=400, backend="numpy")
    for i, c in enumerate(clips):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cols = {
                "centroid": A.spectral_centroid(c, sr=SR, **kw),
                "bandwidth": A.spectral_bandwidth(c, sr=SR, **kw),
                "rolloff": A.spectral_rolloff(c, sr=SR, **kw),
                "flatness": A.spectral_flatness(c, **kw),
            }
        for d, v in cols.items():
            v = v[0].astype(np.float64)
            np.testing.assert_allclose(X[i, names.index(f"{d}_mean")], v.mean(), rtol=1e-6,
                                       err_msg=d)
            np.testing.assert_allclose(X[i, names.index(f"{d}_std")], v.std(), rtol=1e-5,
                                       atol=1e-6, err_msg=d)


@pytest.mark.parametrize("call", [
    lambda y, n: A.stft(y, n_fft=256, hop_length=64, lengths=n, backend="numpy"),
    lambda y, n: A.spectrogram(y, n_fft=256, hop_length=64, lengths=n, backend="numpy"),
    lambda y, n: A.melspectrogram(y, sr=SR, n_fft=256, n_mels=20, lengths=n, backend="numpy"),
    lambda y, n: A.mfcc(y, sr=SR, n_fft=256, n_mels=20, lengths=n, backend="numpy"),
    lambda y, n: A.spectral_centroid(y, sr=SR, n_fft=256, lengths=n, backend="numpy"),
    lambda y, n: A.spectral_bandwidth(y, sr=SR, n_fft=256, lengths=n, backend="numpy"),
    lambda y, n: A.spectral_rolloff(y, sr=SR, n_fft=256, lengths=n, backend="numpy"),
    lambda y, n: A.spectral_flatness(y, n_fft=256, lengths=n, backend="numpy"),
    lambda y, n: A.zero_crossing_rate(y, frame_length=256, lengths=n, backend="numpy"),
    lambda y, n: A.rms(y, frame_length=256, lengths=n, backend="numpy"),
    lambda y, n: A.waveform_stats(y, n, backend="numpy"),
    lambda y, n: A.delta(A.mfcc(y, sr=SR, n_fft=256, n_mels=20, lengths=n, backend="numpy"),
                         lengths=1 + n // 512, backend="numpy"),
    lambda y, n: A.power_to_db(np.abs(y) + 0.1, ref=np.max, backend="numpy"),
])
def test_public_numpy_backend_runs_no_numba(clips, monkeypatch, call):
    y, n = A.pad_batch(clips)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = call(y, n)
        _poison_numba(monkeypatch)
        np.testing.assert_array_equal(call(y, n), want)


# --- the framing settings ---------------------------------------------------------


def test_frame_settings_defaults_and_derived_counts():
    fs = FrameSettings(n_fft=512)
    assert (fs.n_fft, fs.hop_length, fs.win_length, fs.window, fs.center, fs.pad_mode) == (
        512, 128, 512, "hann", True, "constant")  # librosa.stft: hop = win_length // 4
    assert FrameSettings(512, win_length=400).hop_length == 100
    assert fs.pad == 256 and fs.n_bins == 257
    assert fs.n_frames(1000) == 1 + 1000 // 128
    np.testing.assert_array_equal(fs.valid_frames([0, 1000, 100]), [1, 8, 1])
    unc = FrameSettings(512, 160, center=False)
    assert unc.pad == 0 and unc.n_frames(100) == 0 and unc.n_frames(672) == 2
    with pytest.raises(AttributeError):
        fs.n_fft = 1024  # frozen: validated once, never changed after


@pytest.mark.parametrize("kw,exc,match", [
    (dict(n_fft=0), ValueError, "n_fft"),
    (dict(n_fft=2.0), TypeError, "n_fft"),
    (dict(n_fft=256, win_length=512), ValueError, "win_length=512 must be <= n_fft=256"),
    (dict(n_fft=256, hop_length=0), ValueError, "hop_length"),
    (dict(n_fft=256, hop_length=1.5), TypeError, "hop_length"),
    (dict(n_fft=256, center=1), TypeError, "center"),
    (dict(n_fft=256, pad_mode="wrap"), ValueError, "pad_mode"),
    (dict(n_fft=256, window=np.ones(100)), ValueError, "window"),
    (dict(n_fft=256, window=object()), TypeError, "window"),
])
def test_frame_settings_errors_name_the_argument(kw, exc, match):
    with pytest.raises(exc, match=match):
        FrameSettings(**kw)


def test_frame_length_errors_name_frame_length():
    with pytest.raises(ValueError, match="frame_length"):
        FrameSettings.for_frame_length(0, 512, True, "constant")
    with pytest.raises(ValueError, match="frame_length"):
        A.rms(np.zeros(100, np.float32), frame_length=0)
    fs = FrameSettings.for_frame_length(256, 64, False, "edge")
    assert (fs.n_fft, fs.win_length, fs.hop_length, fs.center, fs.pad_mode) == (
        256, 256, 64, False, "edge")


# --- dispatch ------------------------------------------------------------------------

#: the functions every backend module implements, with the same signature
BACKEND_API = ("stft", "spectrogram", "melspectrogram", "mfcc", "power_to_db",
               "descriptors_from_S", "zcr_rms", "waveform_stats", "delta", "audio_frames")


@pytest.mark.parametrize("name", BACKEND_API)
def test_backend_modules_share_signatures(name):
    sig = inspect.signature(getattr(_reference, name))
    for mod in (_cpu, _cuda):
        assert inspect.signature(getattr(mod, name)) == sig, f"{mod.__name__}.{name}"


def test_impl_maps_names_to_modules():
    assert _dispatch.impl("numpy") is _reference
    assert _dispatch.impl("cpu") is _cpu


def test_reference_zeroes_frames_past_each_clip_as_cpu_does(clips):
    y, lengths = A.pad_batch(clips)
    fs = FrameSettings(256, 64)
    nv = fs.valid_frames(lengths)
    ref = _reference.spectrogram(y, lengths, nv, fs, 2.0)
    cpu = _cpu.spectrogram(y, lengths, nv, fs, 2.0)
    t = np.arange(ref.shape[-1])
    past = t[None, None, :] >= nv[:, None, None]
    assert np.all(np.broadcast_to(past, ref.shape) <= (ref == 0))
    assert np.all(np.broadcast_to(past, cpu.shape) <= (cpu == 0))
    np.testing.assert_allclose(cpu, ref, rtol=1e-4, atol=1e-5 * float(ref.max()))
