"""backend="cuda" chroma_stft and spectral_contrast against the numpy reference and
librosa, under Numba's CUDA simulator (own process: ``NUMBA_ENABLE_CUDASIM=1 pytest
tests/cudasim``). Tiny clips (at most 400 samples at 8 kHz, n_fft 64, hop 32) of
different lengths, one of them silent; launch shapes are shrunk by the conftest.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import mmfeat.audio as A
from mmfeat import config

pytestmark = pytest.mark.cudasim

SR = 8000
KW = dict(n_fft=64, hop_length=32)


@pytest.fixture(autouse=True)
def small_frame_blocks(monkeypatch):
    monkeypatch.setattr(config, "AUDIO_CUDA_FRAMES_PER_BLOCK", 4)


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(11)
    t = np.arange(400) / SR
    tone = sum(np.sin(2 * np.pi * h * 330.0 * 2 ** (0.3 / 12) * t) / h for h in (1, 2, 3))
    clips = [
        (0.3 * tone + 0.01 * rng.standard_normal(400)).astype(np.float32),
        np.zeros(150, np.float32),  # silence: no pitch, librosa's warning
        (0.2 * np.sin(2 * np.pi * 523.0 * t[:230]) + 0.02 * rng.standard_normal(230)
         ).astype(np.float32),
    ]
    return A.pad_batch(clips)


def _quiet(fn, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*a, **k)


@pytest.mark.parametrize("kw", [{}, dict(tuning=0.2, norm=2, n_chroma=24),
                                dict(norm=None, base_c=False, octwidth=None)])
def test_chroma_cuda_equals_numpy(batch, kw):
    y, lengths = batch
    want = _quiet(A.chroma_stft, y, sr=SR, **KW, **kw, lengths=lengths, backend="numpy")
    got = _quiet(A.chroma_stft, y, sr=SR, **KW, **kw, lengths=lengths, backend="cuda")
    assert got.dtype == np.float32 and got.shape == want.shape
    scale = np.maximum(np.abs(want).max(axis=1, keepdims=True), 1e-30)
    assert float((np.abs(got - want) / scale).max()) <= 1e-4
    assert np.all(got[1] == 0)  # the silent clip
    assert np.all(got[2, :, 1 + 230 // 32:] == 0)  # past the clip's end


def test_chroma_cuda_matches_librosa_and_warns(batch):
    import librosa

    y, lengths = batch
    with pytest.warns(UserWarning, match="empty frequency set"):
        got = A.chroma_stft(y, sr=SR, **KW, lengths=lengths, backend="cuda")
    ref = _quiet(librosa.feature.chroma_stft, y=y[0], sr=SR, **KW)
    np.testing.assert_allclose(got[0], ref, atol=1e-4)
    # a given power spectrogram (float64 in, float64 out)
    S = np.abs(librosa.stft(y[0].astype(np.float64), **KW)) ** 2
    got = A.chroma_stft(S=S, sr=SR, backend="cuda")
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, librosa.feature.chroma_stft(S=S, sr=SR), atol=1e-9)


@pytest.mark.parametrize("linear", [False, True])
def test_contrast_cuda_equals_numpy_and_librosa(batch, linear):
    import librosa

    y, lengths = batch
    kw = dict(sr=SR, **KW, fmin=300.0, n_bands=3, quantile=0.2, linear=linear)
    want = _quiet(A.spectral_contrast, y, **kw, lengths=lengths, backend="numpy")
    got = _quiet(A.spectral_contrast, y, **kw, lengths=lengths, backend="cuda")
    assert got.dtype == np.float32 and got.shape == want.shape == (3, 4, 13)
    scale = np.maximum(np.abs(want).max(axis=1, keepdims=True), 1e-30)
    assert float((np.abs(got - want) / scale).max()) <= 1e-5
    ref = _quiet(librosa.feature.spectral_contrast, y=y[2, :230], **kw)
    np.testing.assert_allclose(got[2, :, : ref.shape[1]], ref,
                               atol=1e-4 * float(np.abs(ref).max()))
    assert np.all(got[2, :, ref.shape[1]:] == 0)
