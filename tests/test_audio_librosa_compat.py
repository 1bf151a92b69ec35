"""librosa's parameters mmfeat once refused, and its error type.

- ``mfcc(dct_type=1 | 3)`` (scipy's DCT types, as librosa), from ``y`` and from ``S``;
- a 2-D (or per-clip 3-D) ``freq`` for the spectral centroid, bandwidth and rolloff
  (one frequency per bin and frame, as a reassigned spectrogram gives);
- bad parameters raise ``mmfeat.audio.ParameterError``: a ValueError and, with
  librosa installed, a ``librosa.ParameterError``.
"""

from __future__ import annotations

import librosa
import numpy as np
import pytest

import mmfeat.audio as A

SR = 16000
SPEC = dict(n_fft=512, hop_length=160)


@pytest.fixture(scope="module")
def voice():
    rng = np.random.default_rng(7)
    t = np.arange(12000) / SR
    f0 = 140 + 30 * np.sin(2 * np.pi * 2 * t)
    y = sum(np.sin(2 * np.pi * k * np.cumsum(f0) / SR) / k for k in range(1, 8))
    return (y * np.hanning(t.size) + 0.02 * rng.standard_normal(t.size)).astype(np.float32)


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
@pytest.mark.parametrize("norm", ["ortho", None])
@pytest.mark.parametrize("dct_type", [1, 2, 3])
def test_mfcc_every_dct_type(voice, backend, norm, dct_type):
    kw = dict(n_mfcc=13, dct_type=dct_type, norm=norm, lifter=22, **SPEC)
    ref = librosa.feature.mfcc(y=voice, sr=SR, **kw)
    got = A.mfcc(voice[None], sr=SR, backend=backend, **kw)[0]
    np.testing.assert_allclose(got, ref, atol=2e-6 * np.abs(ref).max())
    S = librosa.power_to_db(librosa.feature.melspectrogram(y=voice, sr=SR, **SPEC))
    ref_s = librosa.feature.mfcc(S=S, n_mfcc=13, dct_type=dct_type, norm=norm)
    np.testing.assert_allclose(A.mfcc(S=S, n_mfcc=13, dct_type=dct_type, norm=norm), ref_s,
                               atol=2e-6 * np.abs(ref_s).max())


def test_dct_type_3_inverts_type_2(voice):
    """As librosa's mfcc_to_mel relies on: ortho DCT-III undoes the ortho DCT-II."""
    S = librosa.power_to_db(librosa.feature.melspectrogram(y=voice, sr=SR, n_mels=40, **SPEC))
    M = A.mfcc(S=S, n_mfcc=40, dct_type=2)
    np.testing.assert_allclose(A.mfcc(S=M, n_mfcc=40, dct_type=3), S, atol=1e-3)


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
@pytest.mark.parametrize("shape", ["bins_frames", "per_clip"])
def test_descriptors_with_a_frequency_per_bin_and_frame(voice, backend, shape):
    rng = np.random.default_rng(3)
    y = np.stack([voice, voice[::-1] * 0.5])
    S = np.abs(librosa.stft(y, **SPEC))
    F, t = S.shape[-2:]
    fshape = (F, t) if shape == "bins_frames" else S.shape
    freq = np.sort(rng.uniform(0, SR / 2, fshape), axis=-2)  # reassigned: near the bins
    for name, kw in [("spectral_centroid", {}), ("spectral_bandwidth", {}),
                     ("spectral_bandwidth", dict(p=1.0, norm=False)),
                     ("spectral_rolloff", dict(roll_percent=0.6))]:
        ref = getattr(librosa.feature, name)(S=S, freq=freq, **kw)
        got = getattr(A, name)(S=S, freq=freq, backend=backend, **kw)
        assert got.shape == ref.shape and got.dtype == np.float32
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-3, err_msg=name)


def test_per_frame_freq_frames_past_a_clip_are_zero(voice):
    y, lengths = A.pad_batch([voice, voice[:4000]])
    S = A.spectrogram(y, power=1.0, lengths=lengths, **SPEC)
    freq = np.broadcast_to(librosa.fft_frequencies(sr=SR, n_fft=512)[:, None], S.shape[-2:])
    got = A.spectral_centroid(y, sr=SR, freq=np.array(freq), lengths=lengths, **SPEC)
    # the same numbers as the bin-centre frequencies give
    np.testing.assert_allclose(got, A.spectral_centroid(y, sr=SR, lengths=lengths, **SPEC),
                               rtol=1e-5, atol=1e-3)
    n_valid = 1 + 4000 // 160
    assert np.all(got[1, 0, n_valid:] == 0)


@pytest.mark.parametrize("call, match", [
    (lambda y: A.mfcc(y, lifter=-1), "lifter"),
    (lambda y: A.mfcc(y, dct_type=4), "dct_type"),
    (lambda y: A.stft(y, n_fft=0), "n_fft"),
    (lambda y: A.melspectrogram(y, n_mels=0), "n_mels"),
    (lambda y: A.spectral_rolloff(y, roll_percent=1.5), "roll_percent"),
    (lambda y: A.spectral_centroid(S=np.ones((5, 3)), freq=np.ones((4, 3))), "freq"),
    (lambda y: A.delta(np.ones((3, 20)), width=4), "width"),
    (lambda y: A.rms(y, frame_length=0), "frame_length"),
])
def test_bad_parameters_are_librosas_parameter_error(voice, call, match):
    with pytest.raises(librosa.ParameterError, match=match) as caught:
        call(voice[None])
    assert isinstance(caught.value, ValueError)  # code catching ValueError still works
    assert isinstance(caught.value, A.ParameterError)


def test_stft_dtype_and_out_as_librosa(voice):
    y = voice[:4000]
    D = librosa.stft(y, n_fft=512, hop_length=160, dtype=np.complex128)
    got = A.stft(y, n_fft=512, hop_length=160, dtype=np.complex128)
    assert got.dtype == np.complex128 and got.shape == D.shape
    np.testing.assert_allclose(got, D, atol=1e-4 * np.abs(D).max())
    out = np.zeros((257, D.shape[-1] + 5), dtype=np.complex64)
    view = A.stft(y, n_fft=512, hop_length=160, out=out)
    assert view.shape == D.shape and np.shares_memory(view, out)
    np.testing.assert_allclose(out[:, : D.shape[-1]], D, atol=1e-4 * np.abs(D).max())
    assert not out[:, D.shape[-1]:].any()
    with pytest.raises(librosa.ParameterError, match="out must have shape"):
        A.stft(y, n_fft=512, hop_length=160, out=np.zeros((256, 99), np.complex64))
    with pytest.raises(librosa.ParameterError, match="complex"):
        A.stft(y, n_fft=512, hop_length=160, dtype=np.float32)
