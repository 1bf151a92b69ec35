"""Hypothesis: the cpu backend equals the numpy reference on random batches of clips
of random lengths (empty and shorter-than-n_fft included), frame sizes and hops."""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import mmfeat.audio as A


@st.composite
def batches(draw):
    n_fft = draw(st.sampled_from([16, 31, 64]))
    hop = draw(st.integers(1, 40))
    center = draw(st.booleans())
    pad_mode = draw(st.sampled_from(["constant", "reflect", "edge"]))
    n = draw(st.integers(1, 4))
    lo = 0 if center else n_fft
    lengths = np.array(draw(st.lists(st.integers(lo, 300), min_size=n, max_size=n)))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    T = int(lengths.max())
    y = np.zeros((n, T), np.float32)
    for i, L in enumerate(lengths):
        y[i, :L] = rng.standard_normal(L) * rng.choice([1e-3, 0.1, 1.0])
        if L and rng.random() < 0.3:
            y[i, rng.integers(0, L)] = 0.0  # exact zeros for the crossing count
    return y, lengths, dict(n_fft=n_fft, hop_length=hop, center=center, pad_mode=pad_mode)


@settings(max_examples=10, deadline=None)
@given(batches())
def test_cpu_equals_reference(case):
    y, lengths, kw = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fn, extra, tol in (
            (A.stft, {}, 1e-5),
            (A.melspectrogram, dict(sr=8000, n_mels=6), 1e-5),
            (A.spectral_centroid, dict(sr=8000), 1e-5),
            # librosa (and the reference) sum flatness in float32, the kernel in float64
            (A.spectral_flatness, {}, 1e-3),
        ):
            got = fn(y, **kw, **extra, lengths=lengths, backend="cpu")
            want = fn(y, **kw, **extra, lengths=lengths, backend="numpy")
            assert got.shape == want.shape and got.dtype == want.dtype
            np.testing.assert_allclose(got, want, atol=tol * max(1.0, np.abs(want).max()))
        got = A.mfcc(y, sr=8000, n_mels=6, n_mfcc=4, **kw, lengths=lengths, backend="cpu")
        want = A.mfcc(y, sr=8000, n_mels=6, n_mfcc=4, **kw, lengths=lengths,
                      backend="numpy")
        np.testing.assert_allclose(got, want, atol=2e-3)
        fl = dict(frame_length=kw["n_fft"], hop_length=kw["hop_length"],
                  center=kw["center"])
        np.testing.assert_allclose(
            A.zero_crossing_rate(y, **fl, lengths=lengths, backend="cpu"),
            A.zero_crossing_rate(y, **fl, lengths=lengths, backend="numpy"), atol=1e-7)
        np.testing.assert_allclose(
            A.rms(y, **fl, pad_mode=kw["pad_mode"], lengths=lengths, backend="cpu"),
            A.rms(y, **fl, pad_mode=kw["pad_mode"], lengths=lengths, backend="numpy"),
            rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(A.waveform_stats(y, lengths, backend="cpu"),
                                   A.waveform_stats(y, lengths, backend="numpy"),
                                   rtol=1e-5, atol=1e-6)
