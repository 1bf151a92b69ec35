"""backend="cuda" audio ops against the numpy reference and librosa, under Numba's
CUDA simulator (own process: ``NUMBA_ENABLE_CUDASIM=1 pytest tests/cudasim``).

Tiny clips (at most 120 samples, n_fft 32, hop 16) of different lengths, one of them
empty, with frames processed in blocks of 4 so the block loop of the long-signal
path runs; launch shapes are shrunk by the conftest.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import mmfeat.audio as A
from mmfeat import config

pytestmark = pytest.mark.cudasim

KW = dict(n_fft=32, hop_length=16)


@pytest.fixture(autouse=True)
def small_frame_blocks(monkeypatch):
    monkeypatch.setattr(config, "AUDIO_CUDA_FRAMES_PER_BLOCK", 4)


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(3)
    t = np.arange(120) / 8000
    clips = [
        (0.4 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(120)).astype(np.float32),
        np.zeros(0, np.float32),
        (0.01 * rng.standard_normal(70)).astype(np.float32),
    ]
    return A.pad_batch(clips)


@pytest.mark.parametrize("pad_mode", ["constant", "reflect"])
def test_stft_and_spectrogram(batch, pad_mode):
    y, lengths = batch
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = A.stft(y, **KW, pad_mode=pad_mode, lengths=lengths, backend="numpy")
        got = A.stft(y, **KW, pad_mode=pad_mode, lengths=lengths, backend="cuda")
        S = A.spectrogram(y, **KW, power=2.0, pad_mode=pad_mode, lengths=lengths,
                          backend="cuda")
    assert got.dtype == np.complex64 and got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-5 * np.abs(want).max())
    np.testing.assert_allclose(S, np.abs(want) ** 2, atol=1e-5 * np.abs(want).max() ** 2)


@pytest.mark.parametrize("power", [2.0, 1.5])
def test_melspectrogram_and_mfcc(batch, power):
    y, lengths = batch
    kw = dict(sr=8000, **KW, n_mels=6, power=power, lengths=lengths)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = A.melspectrogram(y, **kw, backend="numpy")
        got = A.melspectrogram(y, **kw, backend="cuda")
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6 * float(want.max()))
        m_want = A.mfcc(y, **kw, n_mfcc=4, lifter=4, backend="numpy")
        m_got = A.mfcc(y, **kw, n_mfcc=4, lifter=4, backend="cuda")
    assert m_got.dtype == np.float32 and m_got.shape == m_want.shape
    np.testing.assert_allclose(m_got, m_want, atol=0.01)


def test_mfcc_matches_librosa_per_clip(batch):
    import librosa

    y, lengths = batch
    kw = dict(sr=8000, **KW, n_mels=6, n_mfcc=4, pad_mode="edge")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = A.mfcc(y, **kw, lengths=lengths, backend="cuda")
        for i, n in enumerate(lengths):
            if n == 0:
                continue  # librosa cannot edge-pad an empty signal
            ref = librosa.feature.mfcc(y=y[i, :n], **kw)
            np.testing.assert_allclose(got[i, :, : ref.shape[1]], ref, atol=0.01)
            assert np.all(got[i, :, ref.shape[1]:] == 0)


def test_spectral_descriptors(batch):
    y, lengths = batch
    kw = dict(sr=8000, **KW, lengths=lengths)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fn, extra in [(A.spectral_centroid, {}), (A.spectral_bandwidth, {"p": 1.5}),
                          (A.spectral_rolloff, {"roll_percent": 0.5}),
                          (A.spectral_flatness, {})]:
            if fn is A.spectral_flatness:
                kw.pop("sr", None)
            want = fn(y, **kw, **extra, backend="numpy")
            got = fn(y, **kw, **extra, backend="cuda")
            assert got.dtype == np.float32 and got.shape == want.shape, fn.__name__
            scale = max(float(np.abs(want).max()), 1.0)
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * scale,
                                       err_msg=fn.__name__)
        # a given magnitude spectrogram, and bandwidth with a given centroid
        S = A.spectrogram(y, **KW, lengths=lengths, backend="numpy")
        np.testing.assert_allclose(A.spectral_centroid(S=S, sr=8000, backend="cuda"),
                                   A.spectral_centroid(S=S, sr=8000, backend="cpu"),
                                   rtol=1e-5, atol=1e-3)
        cen = A.spectral_centroid(S=S, sr=8000, backend="cpu")
        np.testing.assert_allclose(
            A.spectral_bandwidth(S=S, sr=8000, centroid=cen, backend="cuda"),
            A.spectral_bandwidth(S=S, sr=8000, centroid=cen, backend="cpu"), rtol=1e-5)
        np.testing.assert_allclose(A.rms(S=S, frame_length=32, backend="cuda"),
                                   A.rms(S=S, frame_length=32, backend="cpu"), rtol=1e-6)


@pytest.mark.parametrize("center", [True, False])
def test_zcr_rms_and_waveform_stats(batch, center):
    y, lengths = batch
    if not center:  # every clip must hold a frame
        y, lengths = y[[0, 2]], lengths[[0, 2]]
    kw = dict(frame_length=32, hop_length=16, center=center, lengths=lengths)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fn, extra in [(A.zero_crossing_rate, {}), (A.rms, {}),
                          (A.rms, {"pad_mode": "reflect"})]:
            want = fn(y, **kw, **extra, backend="numpy")
            got = fn(y, **kw, **extra, backend="cuda")
            assert got.dtype == np.float32 and got.shape == want.shape
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    want = A.waveform_stats(y, lengths, backend="numpy")
    got = A.waveform_stats(y, lengths, backend="cuda")
    assert got.shape == want.shape == (len(y), 6)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_delta_kernel_equals_reference():
    from mmfeat.audio import _cuda, _reference

    rng = np.random.default_rng(5)
    data = rng.standard_normal((5, 2, 12)).astype(np.float32)
    # frames: more than width, exactly width, a shorter window (5), too few, none
    nv = np.array([12, 9, 6, 2, 0])
    for order in (1, 2):
        want = _reference.delta(data, 9, order, nv)
        got = _cuda.delta(data, 9, order, nv)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_audio_features_on_cuda_equal_cpu():
    rng = np.random.default_rng(7)
    t = np.arange(200) / 8000
    clips = [
        (0.3 * np.sin(2 * np.pi * 700 * t) + 0.02 * rng.standard_normal(200)).astype(
            np.float32),
        (0.05 * rng.standard_normal(90)).astype(np.float32),
        (0.2 * rng.standard_normal(20)).astype(np.float32),  # shorter than n_fft
        np.zeros(0, np.float32),
    ]
    kw = dict(sr=8000, n_mfcc=5, n_mels=8, n_fft=32, win_length=32, hop_length=16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = A.AudioFeatures(**kw, backend="cpu").fit_transform(clips)
        est = A.AudioFeatures(**kw, backend="cuda")
        got = est.fit_transform(clips)
    assert isinstance(got, np.ndarray) and got.dtype == np.float32
    assert got.shape == want.shape == (4, est.n_features_out_)
    names = est.get_feature_names_out()
    for j, name in enumerate(names):
        # MFCC columns are dB (the cpu path's float32 log differs by ~1e-5 dB); the rest
        # agree to float32 rounding of each column's scale (Hz for centroid/rolloff)
        atol = 0.01 if name.startswith("mfcc") else 1e-5 * max(1.0, float(
            np.abs(want[:, j]).max()))
        np.testing.assert_allclose(got[:, j], want[:, j], rtol=1e-4, atol=atol, err_msg=name)


def test_public_delta_on_cuda_equals_cpu():
    rng = np.random.default_rng(4)
    data = rng.standard_normal((2, 3, 12)).astype(np.float32)
    for order in (1, 2):
        want = A.delta(data, order=order, backend="cpu")
        got = A.delta(data, order=order, backend="cuda")
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-5)
        want = A.delta(data, order=order, lengths=[12, 7], backend="cpu")
        got = A.delta(data, order=order, lengths=[12, 7], backend="cuda")
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="mode='interp' and axis=-1"):
        A.delta(data, mode="nearest", backend="cuda")



def _median_ref(c):
    return float(np.median(np.asarray(c)))


@pytest.mark.parametrize("fn", ["power_to_db", "amplitude_to_db"])
@pytest.mark.parametrize("kw", [{}, dict(ref=np.max), dict(ref=0.5, amin=1e-6, top_db=60.0),
                                dict(top_db=None), dict(ref=_median_ref, top_db=20.0)])
def test_db_on_device_equals_cpu(batch, fn, kw):
    y, lengths = batch
    # a loud clip, an empty one (all zeros) and a quiet one: the floor is per clip
    S = A.spectrogram(y, **KW, lengths=lengths, backend="cpu")
    if fn == "power_to_db":
        S = S**2
    f = getattr(A, fn)
    for x in (S, S[0], S.astype(np.float64), S.reshape(3, 1, *S.shape[1:])):
        want = f(x, **kw, backend="cpu")
        got = f(x, **kw, backend="cuda")
        assert got.dtype == want.dtype and got.shape == want.shape
        # the kernel's log10 and NumPy's may round the last float32 bit differently
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=2e-5)
    if kw.get("top_db", 80.0) is not None:  # the quiet clip is floored at its own peak
        got = f(S, **kw, backend="cuda")
        assert got[2].max() - got[2].min() <= kw.get("top_db", 80.0) + 1e-3
        assert got[2].max() - got[2].min() > 1.0


def test_db_on_device_complex_nan_empty_and_context():
    import mmfeat

    rng = np.random.default_rng(2)
    D = (rng.standard_normal((2, 5, 4)) + 1j * rng.standard_normal((2, 5, 4))).astype(
        np.complex64)
    for fn in (A.power_to_db, A.amplitude_to_db):
        with pytest.warns(UserWarning, match="phase information will be discarded"):
            got = fn(D, backend="cuda")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = fn(D, backend="cpu")
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=2e-5)
    P = np.abs(D) ** 2
    P[1, 2, 3] = np.nan  # NaN spreads over its clip through the peak, as in NumPy
    with mmfeat.use_backend("cuda"):
        got = A.power_to_db(P)
    want = A.power_to_db(P, backend="cpu")
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[0], want[0], rtol=1e-6, atol=2e-5)
    for shape in ((0, 5, 4), (3, 0)):
        got = A.power_to_db(np.zeros(shape, np.float32), backend="cuda")
        assert got.shape == shape and got.dtype == np.float32
    # integer amplitudes are squared in their own type before the cast, as librosa
    # (to 1 ulp: NumPy 2.4's float32 log10 on the host and the simulator's float64
    # math.log10 round 10 log10(25) to neighbouring floats)
    Si = np.arange(-6, 6, dtype=np.int16).reshape(3, 4)
    np.testing.assert_allclose(A.amplitude_to_db(Si, backend="cuda"),
                               A.amplitude_to_db(Si, backend="cpu"), rtol=2e-7, atol=0)


def test_mel_filterbank_on_device():
    import mmfeat
    from mmfeat.backend import device_xp

    kw = dict(sr=8000, n_fft=32, n_mels=6, fmax=3000.0)
    want = A.mel_filterbank(**kw)
    got = A.mel_filterbank(**kw, backend="cuda")
    assert isinstance(got, type(device_xp().zeros(1)))
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, want)
    with mmfeat.use_backend("cuda"):
        got = A.mel_filterbank(**kw, dtype=np.float64, norm=None)
    np.testing.assert_array_equal(got, A.mel_filterbank(**kw, dtype=np.float64, norm=None))
