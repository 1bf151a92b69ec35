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
from mmfeat.audio import _config
from mmfeat.backend import BackendUnavailableError

pytestmark = pytest.mark.cudasim

KW = dict(n_fft=32, hop_length=16)


@pytest.fixture(autouse=True)
def small_frame_blocks(monkeypatch):
    monkeypatch.setattr(_config, "CUDA_FRAMES_PER_BLOCK", 4)


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


def test_ops_without_a_cuda_kernel_say_so(batch):
    y, lengths = batch
    with pytest.raises(BackendUnavailableError, match="no cuda backend yet"):
        A.spectral_centroid(y, backend="cuda")
    with pytest.raises(BackendUnavailableError, match="no cuda backend yet"):
        A.AudioFeatures(sr=8000, backend="cuda").fit_transform(list(y))
