"""backend="cuda" audio ops on a real GPU (marked ``gpu``; skipped without CuPy and a
device): CuPy in, CuPy out, the cpu backend's numbers."""

from __future__ import annotations

import numpy as np
import pytest
from test_audio_signals import SR, speech_clips

import mmfeat.audio as A

pytestmark = pytest.mark.gpu

KW = dict(n_fft=512, hop_length=160)


@pytest.fixture(scope="module")
def batch():
    return A.pad_batch(speech_clips())


def test_cuda_spectra_equal_cpu(batch, monkeypatch):
    import cupy

    from mmfeat import config

    y, lengths = batch
    yd = cupy.asarray(y)
    for blocks in (None, 7):  # whole clips, then frames in blocks of 7
        monkeypatch.setattr(config, "AUDIO_CUDA_FRAMES_PER_BLOCK", blocks)
        D = A.stft(yd, **KW, pad_mode="reflect", lengths=lengths)
        assert isinstance(D, cupy.ndarray) and D.dtype == np.complex64
        want = A.stft(y, **KW, pad_mode="reflect", lengths=lengths, backend="cpu")
        np.testing.assert_allclose(D.get(), want, atol=1e-5 * np.abs(want).max())
        kw = dict(sr=SR, **KW, n_mels=64, lengths=lengths)
        M = A.melspectrogram(yd, **kw)
        Mc = A.melspectrogram(y, **kw, backend="cpu")
        np.testing.assert_allclose(M.get(), Mc, rtol=1e-4, atol=1e-6 * float(Mc.max()))
        C = A.mfcc(yd, **kw, n_mfcc=20, lifter=22)
        np.testing.assert_allclose(C.get(), A.mfcc(y, **kw, n_mfcc=20, lifter=22,
                                                   backend="cpu"), atol=0.01)


def test_cuda_descriptors_equal_cpu(batch):
    import cupy

    y, lengths = batch
    yd = cupy.asarray(y)
    kw = dict(sr=SR, **KW, lengths=lengths)
    for fn in (A.spectral_centroid, A.spectral_bandwidth, A.spectral_rolloff):
        got = fn(yd, **kw)
        assert isinstance(got, cupy.ndarray) and got.dtype == np.float32
        # rolloff is a bin frequency: a sum rounded differently may cross one bin apart
        want = fn(y, **kw, backend="cpu")
        close = np.isclose(got.get(), want, rtol=1e-4, atol=1e-3)
        assert close.mean() > 0.995, fn.__name__
    kw.pop("sr")
    np.testing.assert_allclose(A.spectral_flatness(yd, **kw).get(),
                               A.spectral_flatness(y, **kw, backend="cpu"), rtol=1e-4,
                               atol=1e-6)
    for fn in (A.zero_crossing_rate, A.rms):
        kw = dict(frame_length=512, hop_length=160, lengths=lengths)
        np.testing.assert_allclose(fn(yd, **kw).get(), fn(y, **kw, backend="cpu"),
                                   rtol=1e-5, atol=1e-7)
    ws = A.waveform_stats(yd, lengths)
    assert isinstance(ws, cupy.ndarray)
    np.testing.assert_allclose(ws.get(), A.waveform_stats(y, lengths, backend="cpu"),
                               rtol=1e-5, atol=1e-7)


def test_cuda_audio_features_equal_cpu():
    import cupy

    clips = speech_clips() + [np.zeros(0, np.float32)]
    want = A.AudioFeatures(sr=SR, backend="cpu").fit_transform(clips)
    est = A.AudioFeatures(sr=SR, backend="cuda")
    got = est.fit_transform(clips)
    assert isinstance(got, cupy.ndarray) and got.dtype == np.float32
    got = got.get()
    assert got.shape == want.shape
    for j, name in enumerate(est.get_feature_names_out()):
        scale = max(1.0, float(np.abs(want[:, j]).max()))
        # MFCC in dB; rolloff pooled over frames whose crossing bin may differ by one
        atol = 0.02 if name.startswith("mfcc") else (
            5.0 if name.startswith("rolloff") else 1e-4 * scale)
        np.testing.assert_allclose(got[:, j], want[:, j], rtol=1e-3, atol=atol, err_msg=name)
    # a 2-D CuPy batch with lengths gives the same rows
    y, lengths = A.pad_batch(clips)
    again = est.transform(cupy.asarray(y), lengths=lengths)
    np.testing.assert_allclose(again.get(), got, rtol=1e-5, atol=1e-4)


def test_cuda_db_and_mel_filterbank_equal_cpu(batch):
    import cupy

    y, lengths = batch
    S = A.spectrogram(y, **KW, lengths=lengths, backend="cpu")
    Sd = cupy.asarray(S)
    for fn, x, xd in [(A.power_to_db, S**2, Sd**2), (A.amplitude_to_db, S, Sd)]:
        for kw in ({}, dict(ref=np.max), dict(ref=0.5, amin=1e-6, top_db=60.0),
                   dict(top_db=None)):
            got = fn(xd, **kw)  # CuPy in: the cuda backend
            assert isinstance(got, cupy.ndarray) and got.dtype == np.float32
            # CUDA's log10f and NumPy's may differ in the last bits of float32
            np.testing.assert_allclose(got.get(), fn(x, **kw, backend="cpu"), rtol=1e-6,
                                       atol=1e-4, err_msg=f"{fn.__name__} {kw}")
    D = A.stft(cupy.asarray(y), **KW, lengths=lengths)
    with pytest.warns(UserWarning, match="phase information will be discarded"):
        got = A.amplitude_to_db(D, ref=np.max)
    with pytest.warns(UserWarning, match="phase information will be discarded"):
        want = A.amplitude_to_db(D.get(), ref=np.max, backend="cpu")
    np.testing.assert_allclose(got.get(), want, rtol=1e-5, atol=1e-3)
    M = A.mel_filterbank(sr=SR, n_fft=512, n_mels=64, backend="cuda")
    assert isinstance(M, cupy.ndarray)
    np.testing.assert_array_equal(M.get(), A.mel_filterbank(sr=SR, n_fft=512, n_mels=64))
