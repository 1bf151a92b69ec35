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

    from mmfeat.audio import _config

    y, lengths = batch
    yd = cupy.asarray(y)
    for blocks in (None, 7):  # whole clips, then frames in blocks of 7
        monkeypatch.setattr(_config, "CUDA_FRAMES_PER_BLOCK", blocks)
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
