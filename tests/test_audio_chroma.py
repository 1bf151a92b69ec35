"""chroma_stft and spectral_contrast (issue 18): parity with librosa 0.11 per clip on
speech-like and music-like clips, in padded batches (``lengths=``), float32 and
float64, on the numpy and cpu backends; the cpu kernels against the reference;
bad input. The cuda backend: tests/cudasim/test_audio_chroma_sim.py.

Tolerance (the issue's): within 1e-4 of each frame's largest value (largest
magnitude over chroma bins or contrast bands).
"""

from __future__ import annotations

import warnings

import librosa
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_audio_signals import SR, speech_clips

import mmfeat.audio as A

BACKENDS = ["numpy", "cpu"]
SPEC = dict(n_fft=512, hop_length=160)
TOL = 1e-4


def music_clip(n, sr, rng):
    """Notes with 5 harmonics and decaying envelopes, the whole clip detuned by up to
    0.4 semitone (so the estimated tuning matters), in a little noise."""
    t = np.arange(n) / sr
    y = np.zeros(n)
    detune = rng.uniform(-0.4, 0.4)
    n_notes = int(rng.integers(2, 5))
    seg = n // n_notes
    for i in range(n_notes):
        f0 = 440 * 2 ** ((int(rng.integers(48, 80)) + detune - 69) / 12)
        s = slice(i * seg, n if i == n_notes - 1 else (i + 1) * seg)
        tt = t[s] - t[s][0]
        env = np.exp(-tt * rng.uniform(1, 4))
        for h in range(1, 6):
            y[s] += env * np.sin(2 * np.pi * h * f0 * tt + rng.uniform(0, 2 * np.pi)) / h
    y += 0.003 * rng.standard_normal(n)
    return (0.4 * y / np.abs(y).max()).astype(np.float32)


def music_clips(sr=22050, seed=0):
    rng = np.random.default_rng(seed)
    lengths = [22050, 30001, 12345, 40000, 7777]  # odd lengths too
    return [music_clip(n, sr, rng) for n in lengths]


@pytest.fixture(scope="module")
def speech():
    return speech_clips()


@pytest.fixture(scope="module")
def music():
    return music_clips()


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def frame_err(got, ref):
    """Largest difference over each frame's largest magnitude (frames: last axis)."""
    scale = np.maximum(np.abs(ref).max(axis=-2, keepdims=True), 1e-30)
    return float((np.abs(got - ref) / scale).max()) if ref.size else 0.0


def per_clip(out, clips, anchor):
    """Worst :func:`frame_err` of out[n, ..., :t_n] against anchor(clip n); frames
    past each clip must be 0."""
    worst = 0.0
    for i, c in enumerate(clips):
        ref = quiet(anchor, c)
        assert out[i].shape[:-1] == ref.shape[:-1]
        assert np.all(out[i][..., ref.shape[-1]:] == 0), "frames past the clip must be 0"
        worst = max(worst, frame_err(out[i][..., : ref.shape[-1]], ref))
    return worst


# --- parity with librosa ------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_chroma_speech_batch_matches_librosa_per_clip(speech, backend, dtype):
    clips = [c.astype(dtype) for c in speech]
    y, lengths = A.pad_batch(clips, dtype=dtype)
    C = quiet(A.chroma_stft, y, sr=SR, **SPEC, lengths=lengths, backend=backend)
    assert C.dtype == dtype and C.shape[:2] == (len(clips), 12)
    err = per_clip(C, clips, lambda c: librosa.feature.chroma_stft(y=c, sr=SR, **SPEC))
    assert err <= TOL


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_chroma_music_matches_librosa_per_clip(music, backend, dtype):
    clips = [c.astype(dtype) for c in music]
    y, lengths = A.pad_batch(clips, dtype=dtype)
    C = A.chroma_stft(y, lengths=lengths, backend=backend)  # librosa's defaults
    assert C.dtype == dtype
    err = per_clip(C, clips, lambda c: librosa.feature.chroma_stft(y=c))
    assert err <= TOL


@pytest.mark.parametrize("backend", BACKENDS)
def test_estimated_tuning_is_librosas(music, backend):
    """A detuned clip: chroma with the tuning estimated equals chroma with librosa's
    estimate given, and differs from the one at tuning 0."""
    c = music[1]
    S = np.abs(librosa.stft(c)) ** 2
    tuning = librosa.estimate_tuning(S=S, sr=22050)
    assert abs(tuning) > 0.05
    got = A.chroma_stft(c, backend=backend)
    np.testing.assert_allclose(got, A.chroma_stft(c, tuning=tuning, backend=backend),
                               atol=1e-6)
    assert frame_err(A.chroma_stft(c, tuning=0.0, backend=backend), got) > 1e-3


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "kw",
    [dict(norm=None), dict(norm=2), dict(norm=1.5), dict(norm=0), dict(norm=-np.inf),
     dict(n_chroma=24), dict(tuning=0.25), dict(octwidth=None, base_c=False),
     dict(ctroct=4.0, octwidth=1.0), dict(n_fft=1023, hop_length=256, window="hamming"),
     dict(n_fft=1024, win_length=800, center=False),
     dict(pad_mode="reflect", hop_length=300)],
    ids=["none", "l2", "p1.5", "l0", "-inf", "24", "tuning", "flat-A", "ctroct",
         "odd-nfft", "uncentred", "reflect"])
def test_chroma_parameters(music, backend, kw):
    c = music[0]
    got = quiet(A.chroma_stft, c, backend=backend, **kw)
    ref = quiet(librosa.feature.chroma_stft, y=c, **kw)
    assert got.shape == ref.shape and got.dtype == ref.dtype
    assert frame_err(got, ref) <= TOL


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_chroma_from_S(music, backend, dtype):
    c = music[2].astype(dtype)
    for n_fft in (2048, 1023):  # 1023: n_fft kept; the tuning estimate uses 1022
        S = np.abs(librosa.stft(c, n_fft=n_fft)) ** 2
        got = A.chroma_stft(S=S, n_fft=n_fft, backend=backend)
        ref = librosa.feature.chroma_stft(S=S, n_fft=n_fft)
        assert got.dtype == ref.dtype == dtype
        assert frame_err(got, ref) <= TOL
    # leading axes: (2, 2, F, t) -> (2, 2, 12, t), each clip its own tuning
    S4 = np.stack([np.abs(librosa.stft(m.astype(dtype)[:12000])) ** 2 for m in music[:4]])
    got = A.chroma_stft(S=S4.reshape(2, 2, *S4.shape[1:]), backend=backend)
    assert got.shape == (2, 2, 12, S4.shape[-1])
    for i in range(4):
        ref = librosa.feature.chroma_stft(S=S4[i])
        assert frame_err(got.reshape(4, 12, -1)[i], ref) <= TOL


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_contrast_speech_batch_matches_librosa_per_clip(speech, backend, dtype):
    clips = [c.astype(dtype) for c in speech]
    y, lengths = A.pad_batch(clips, dtype=dtype)
    got = quiet(A.spectral_contrast, y, sr=SR, **SPEC, lengths=lengths, backend=backend)
    assert got.dtype == dtype and got.shape[:2] == (len(clips), 7)
    err = per_clip(got, clips,
                   lambda c: librosa.feature.spectral_contrast(y=c, sr=SR, **SPEC))
    assert err <= TOL


@pytest.mark.parametrize("threads", [1, 2])
def test_contrast_groups_on_worker_threads_match_one_group(music, speech, monkeypatch,
                                                           threads):
    """Many small length groups (here one clip each) run whole on the worker threads,
    each with its own buffers: the same numbers as one group for the batch, and as
    librosa per clip."""
    import numba

    import mmfeat.config as config

    clips = music + [c.astype(np.float32) for c in speech]
    y, lengths = A.pad_batch(clips)
    one = A.spectral_contrast(y, sr=22050, lengths=lengths, backend="cpu")
    monkeypatch.setattr(config, "AUDIO_CHROMA_CHUNK_BYTES", 1)  # one clip a group
    old = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        many = A.spectral_contrast(y, sr=22050, lengths=lengths, backend="cpu")
    finally:
        numba.set_num_threads(old)
    np.testing.assert_array_equal(many, one)
    err = per_clip(many, clips, lambda c: librosa.feature.spectral_contrast(y=c, sr=22050))
    assert err <= TOL


@pytest.mark.parametrize("backend", BACKENDS)
def test_contrast_music_matches_librosa_per_clip(music, backend):
    y, lengths = A.pad_batch(music)
    got = A.spectral_contrast(y, lengths=lengths, backend=backend)
    err = per_clip(got, music, lambda c: librosa.feature.spectral_contrast(y=c))
    assert err <= TOL


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "kw",
    [dict(linear=True), dict(fmin=100.0, n_bands=4), dict(quantile=0.3),
     dict(quantile=0.9, n_bands=2), dict(n_fft=1023, hop_length=256, window="hamming"),
     dict(n_fft=1024, center=False, pad_mode="edge"), dict(fmin=50.0, n_bands=7)],
    ids=["linear", "fmin100", "q0.3", "q0.9", "odd-nfft", "uncentred", "fmin50"])
def test_contrast_parameters(music, backend, kw):
    c = music[3]
    got = quiet(A.spectral_contrast, c, backend=backend, **kw)
    ref = quiet(librosa.feature.spectral_contrast, y=c, **kw)
    assert got.shape == ref.shape
    assert frame_err(got, ref) <= TOL


@pytest.mark.parametrize("backend", BACKENDS)
def test_contrast_from_S_and_freq(music, backend):
    c = music[4].astype(np.float64)
    S = np.abs(librosa.stft(c, n_fft=1024))
    got = A.spectral_contrast(S=S, backend=backend)
    assert got.dtype == np.float64
    assert frame_err(got, librosa.feature.spectral_contrast(S=S)) <= 1e-9
    freq = np.fft.rfftfreq(1024, 1 / 22050) * 1.03  # non-default bin frequencies
    got = A.spectral_contrast(S=S, freq=freq, fmin=150.0, backend=backend)
    ref = librosa.feature.spectral_contrast(S=S, freq=freq, fmin=150.0)
    assert frame_err(got, ref) <= 1e-9


def test_contrast_floor_is_per_clip(music):
    """A loud and a 70 dB quieter clip: each is floored at its own peak minus 80 dB
    (what librosa gives for each alone; librosa floors a batch at the batch's peak)."""
    loud = music[0][:20000]
    soft = (music[1][:20000] * 10 ** (-70 / 20)).astype(np.float32)
    got = A.spectral_contrast(np.stack([loud, soft]))
    for i, c in enumerate((loud, soft)):
        assert frame_err(got[i], librosa.feature.spectral_contrast(y=c)) <= TOL


# --- the cpu kernels against the reference ----------------------------------------


def _sorted_extremes(S, rows, offsets, q):
    """(N, 2, B, t) of magnitudes S (N, t, F) the way librosa takes them: each band
    sorted, its q smallest and q largest summed in ascending order, / q."""
    N, nt, _ = S.shape
    out = np.zeros((N, 2, q.size, nt), dtype=S.dtype)
    for b in range(q.size):
        band = np.sort(S[:, :, rows[offsets[b]:offsets[b + 1]]], axis=-1)
        lo, hi = band[..., : q[b]], band[..., band.shape[-1] - q[b]:]
        sl, sh = lo[..., 0].copy(), hi[..., 0].copy()
        for i in range(1, q[b]):  # ascending, in S's type
            sl += lo[..., i]
            sh += hi[..., i]
        out[:, 0, b] = sl.astype(np.float64) / q[b]
        out[:, 1, b] = sh.astype(np.float64) / q[b]
    return out


@settings(max_examples=25, deadline=None)
@given(data=st.data(), dtype=st.sampled_from([np.float32, np.float64]),
       kind=st.sampled_from(["noise", "ties", "ascending", "descending", "trend", "zeros"]))
def test_band_extremes_equal_a_sort(data, dtype, kind):
    """The contrast kernels' selection (chunk bounds, branch-free candidates,
    fallbacks for ties) keeps exactly a sort's extremes, on bands of every size and
    quantile, including sorted bands and bands of ties (digital silence)."""
    from mmfeat.kernels import audio_chroma as KC

    sizes = data.draw(st.lists(st.integers(1, 300), min_size=1, max_size=5))
    q = np.array([data.draw(st.integers(1, min(s, 20))) for s in sizes], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    R = int(offsets[-1])
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    if data.draw(st.booleans()):  # one run of bins (any FFT grid): read as a slice
        F, rows = R + 3, np.arange(2, R + 2, dtype=np.int64)
    else:  # a custom freq= grid: bins gathered
        F = R + 7
        rows = np.sort(rng.choice(F, R, replace=False)).astype(np.int64)
    S = np.abs(rng.standard_normal((2, 3, F)))
    if kind == "ties":
        S = np.round(S * 2)
    elif kind in ("ascending", "descending"):
        S = np.sort(S, axis=-1)[..., :: 1 if kind == "ascending" else -1]
    elif kind == "trend":
        S = S * np.linspace(10.0, 0.01, F)
    elif kind == "zeros":
        S[...] = 0
    S = np.ascontiguousarray(S.astype(dtype))
    nvalid = np.array([3, 2])
    want = _sorted_extremes(S, rows, offsets, q)
    want[1, :, :, 2] = 0  # past clip 1's end
    got = np.full_like(want, np.nan)
    KC.contrast_frames(0, 6, S, nvalid, rows, offsets, q, got)
    np.testing.assert_array_equal(got, want)
    X = np.ascontiguousarray(S.reshape(6, F).astype(np.complex128))  # |x + 0j| = x
    got2 = np.full_like(want, np.nan)
    KC.contrast_spectrum(0, 6, X, nvalid, rows, offsets, q, got2)
    np.testing.assert_array_equal(got2, want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cpu_equals_reference_on_a_random_batch(dtype):
    rng = np.random.default_rng(4)
    y = (0.2 * rng.standard_normal((6, 5001))).astype(dtype)
    y[2] = 0  # silent: no pitch
    lengths = np.array([5001, 0, 4000, 1, 2500, 3333])
    kw = dict(sr=16000, n_fft=256, hop_length=100, lengths=lengths)
    with pytest.warns(UserWarning, match="empty frequency set"):
        want = A.chroma_stft(y, **kw, backend="numpy")
    with pytest.warns(UserWarning, match=r"empty frequency set\. \(3 of 6 clips"):
        got = A.chroma_stft(y, **kw, backend="cpu")
    assert got.dtype == dtype and frame_err(got, want) <= 1e-5
    for linear in (False, True):
        want = A.spectral_contrast(y, **kw, linear=linear, quantile=0.1, backend="numpy")
        got = A.spectral_contrast(y, **kw, linear=linear, quantile=0.1, backend="cpu")
        assert got.dtype == dtype and frame_err(got, want) <= 1e-5


def test_silent_clip_warns_as_librosa():
    y = np.zeros(8000, np.float32)
    with pytest.warns(UserWarning, match="Trying to estimate tuning from empty frequency set"):
        ref = librosa.feature.chroma_stft(y=y)
    with pytest.warns(UserWarning, match="Trying to estimate tuning from empty frequency set"):
        got = A.chroma_stft(y)
    np.testing.assert_array_equal(got, ref)


# --- bad input ----------------------------------------------------------------------

Y = (0.1 * np.random.default_rng(0).standard_normal(4000)).astype(np.float32)
S_POW = np.abs(np.random.default_rng(1).standard_normal((1025, 8))) ** 2


@pytest.mark.parametrize(
    "ours,theirs,match",
    [
        (lambda: A.chroma_stft(Y, norm="l2"), lambda: librosa.feature.chroma_stft(
            y=Y, norm="l2"), "norm"),
        (lambda: A.chroma_stft(Y, norm=-1), lambda: librosa.feature.chroma_stft(
            y=Y, norm=-1), "norm"),
        (lambda: A.chroma_stft(), lambda: librosa.feature.chroma_stft(), "y or S"),
        (lambda: A.spectral_contrast(Y, n_bands=0),
         lambda: librosa.feature.spectral_contrast(y=Y, n_bands=0), "n_bands"),
        (lambda: A.spectral_contrast(Y, n_bands=2.0),
         lambda: librosa.feature.spectral_contrast(y=Y, n_bands=2.0), "n_bands"),
        (lambda: A.spectral_contrast(Y, quantile=1.0),
         lambda: librosa.feature.spectral_contrast(y=Y, quantile=1.0), "quantile"),
        (lambda: A.spectral_contrast(Y, quantile=0),
         lambda: librosa.feature.spectral_contrast(y=Y, quantile=0), "quantile"),
        (lambda: A.spectral_contrast(Y, fmin=0),
         lambda: librosa.feature.spectral_contrast(y=Y, fmin=0), "fmin"),
        (lambda: A.spectral_contrast(Y, sr=8000, n_bands=6),
         lambda: librosa.feature.spectral_contrast(y=Y, sr=8000, n_bands=6), "Nyquist"),
        (lambda: A.spectral_contrast(Y, freq=np.arange(10.0)),
         lambda: librosa.feature.spectral_contrast(y=Y, freq=np.arange(10.0)), "freq"),
        (lambda: A.spectral_contrast(S=np.ones((129, 4)), freq=np.ones((129, 2))),
         lambda: librosa.feature.spectral_contrast(S=np.ones((129, 4)),
                                                   freq=np.ones((129, 2))), "freq"),
        (lambda: A.spectral_contrast(), lambda: librosa.feature.spectral_contrast(),
         "y or S"),
    ],
)
def test_bad_input_raises_where_librosa_does(ours, theirs, match):
    with pytest.raises(ValueError, match=match) as got:
        quiet(ours)
    assert isinstance(got.value, (A.ParameterError, librosa.ParameterError))
    with pytest.raises(librosa.ParameterError):  # a ValueError subclass
        quiet(theirs)


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: A.chroma_stft(Y, n_chroma=0), ValueError, "n_chroma"),
        (lambda: A.chroma_stft(Y, n_chroma=12.5), TypeError, "n_chroma"),
        (lambda: A.chroma_stft(Y, octwidth=0), ValueError, "octwidth"),
        (lambda: A.chroma_stft(Y, tuning=np.nan), ValueError, "tuning"),
        (lambda: A.chroma_stft(Y, sr=0), ValueError, "sr"),
        (lambda: A.chroma_stft(Y, n_fft=1), ValueError, "n_fft"),
        (lambda: A.chroma_stft(Y, base_c="yes"), TypeError, "base_c"),
        (lambda: A.chroma_stft(S=-S_POW), ValueError, "non-negative"),
        (lambda: A.chroma_stft(S=S_POW + 1j), ValueError, "real"),
        (lambda: A.chroma_stft(S=np.ones(5)), ValueError, "S must be"),
        (lambda: A.chroma_stft(S=S_POW, lengths=[3]), ValueError, "lengths"),
        (lambda: A.chroma_stft(Y[None], lengths=[5000]), ValueError, "lengths"),
        (lambda: A.chroma_stft(Y[:100], center=False), ValueError, "too large"),
        (lambda: A.spectral_contrast(Y, quantile="a"), TypeError, "quantile"),
        (lambda: A.spectral_contrast(Y, linear=1), TypeError, "linear"),
        # too few bins for the bands (librosa: IndexError, or NaN rows)
        (lambda: A.spectral_contrast(S=np.ones((5, 4)), freq=[0, 100, 150, 5e3, 11025.0]),
         ValueError, "band 1"),
        (lambda: A.spectral_contrast(Y, n_fft=64), ValueError, "band 0"),
    ],
)
def test_bad_input_messages(call, exc, match):
    with pytest.raises(exc, match=match):
        quiet(call)


def test_cuda_backend_is_reported_as_unavailable():
    import mmfeat
    from mmfeat.backend import BackendUnavailableError

    if mmfeat.backends()["cuda"]["available"]:
        pytest.skip("a CUDA device is present")
    for fn in (A.chroma_stft, A.spectral_contrast):
        with pytest.raises(BackendUnavailableError, match="cuda"):
            fn(Y, backend="cuda")
