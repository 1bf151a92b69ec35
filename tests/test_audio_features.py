"""AudioFeatures: shapes, names, lengths, short clips, agreement with librosa-built
features, scikit-learn conventions."""

from __future__ import annotations

import warnings

import librosa
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from test_audio_signals import SR, speech_clips

import mmfeat.audio as A


@pytest.fixture(scope="module")
def clips():
    return speech_clips()


def librosa_features(c, sr=SR, n_fft=512, win=400, hop=160, n_mels=40, n_mfcc=20):
    """The same pooled features for one clip, built from librosa calls."""
    kw = dict(n_fft=n_fft, hop_length=hop, win_length=win)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = librosa.feature.mfcc(y=c, sr=sr, n_mfcc=n_mfcc, n_mels=n_mels, **kw)
        blocks = [m]
        for order in (1, 2):
            if m.shape[1] >= 9:
                blocks.append(librosa.feature.delta(m, order=order))
            else:
                blocks.append(np.zeros_like(m))
        S = np.abs(librosa.stft(c, **kw))
        spec = np.concatenate([
            librosa.feature.spectral_centroid(S=S, sr=sr),
            librosa.feature.spectral_bandwidth(S=S, sr=sr),
            librosa.feature.spectral_rolloff(S=S, sr=sr),
            librosa.feature.spectral_flatness(S=S),
            librosa.feature.zero_crossing_rate(c, frame_length=n_fft, hop_length=hop),
            librosa.feature.rms(y=c, frame_length=n_fft, hop_length=hop),
        ])
    out = []
    for b in blocks + [spec]:
        out += [b.mean(axis=1), b.std(axis=1)]
    return np.concatenate(out)


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_audio_features_equal_librosa_built_features(clips, backend):
    af = A.AudioFeatures(sr=SR, backend=backend)
    X = af.fit_transform(clips)
    names = af.get_feature_names_out()
    assert X.shape == (len(clips), 138) and X.dtype == np.float32 and len(names) == 138
    assert list(names[:2]) == ["mfcc_0_mean", "mfcc_1_mean"] and names[-1] == "wave_crest_factor"
    for i, c in enumerate(clips):
        want = librosa_features(c)
        got = X[i, :132]
        mf = slice(0, 120)
        np.testing.assert_allclose(got[mf], want[mf], atol=0.02, rtol=1e-4)
        # rolloff (col 122/128) may move one bin in a frame: its mean by 31.25 / frames
        np.testing.assert_allclose(got[120:], want[120:], rtol=2e-3, atol=1e-5)
        np.testing.assert_allclose(X[i, 132:], A.waveform_stats(c), rtol=1e-6)


def test_list_padded_array_and_lengths_agree(clips):
    af = A.AudioFeatures(sr=SR).fit(clips)
    X1 = af.transform(clips)
    y, lengths = A.pad_batch(clips)
    X2 = af.transform(y, lengths=lengths)
    np.testing.assert_array_equal(X1, X2)
    # one at a time gives the same rows: batching and padding change nothing
    for i, c in enumerate(clips):
        np.testing.assert_allclose(af.transform([c])[0], X1[i], rtol=1e-5, atol=1e-4)
    # ignoring lengths would pool the padding: a different answer
    assert not np.allclose(af.transform(y)[2], X1[2])


def test_dense_mel_projection_gives_the_same_features(clips, monkeypatch):
    """``config.AUDIO_MEL_SPARSE = False`` (the BLAS matmul and its own magnitudes)
    gives the sparse pass's features to float32 rounding."""
    import mmfeat.config as config

    af = A.AudioFeatures(sr=SR, backend="cpu").fit(clips)
    sparse = af.transform(clips)
    monkeypatch.setattr(config, "AUDIO_MEL_SPARSE", False)
    dense = af.transform(clips)
    np.testing.assert_allclose(dense, sparse, rtol=1e-4, atol=1e-3)

def test_features_do_not_depend_on_blas_threads(clips):
    """A Dask worker sets OMP_NUM_THREADS=1: with BLAS on one thread the features are
    the same bit for bit (a BLAS matmul's float32 sums change with its thread count)."""
    from threadpoolctl import threadpool_limits

    af = A.AudioFeatures(sr=SR).fit(clips)
    X1 = af.transform(clips)
    with threadpool_limits(1):
        X2 = af.transform(clips)
    np.testing.assert_array_equal(X1, X2)


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_short_and_empty_clips_are_finite_and_documented(backend):
    rng = np.random.default_rng(1)
    clips = [np.zeros(0, np.float32), (0.1 * rng.standard_normal(1)).astype(np.float32),
             (0.1 * rng.standard_normal(100)).astype(np.float32), np.zeros(800, np.float32)]
    af = A.AudioFeatures(sr=SR, backend=backend)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warnings for short clips
        X = af.fit_transform(clips)
    assert np.isfinite(X).all()
    names = list(af.get_feature_names_out())
    empty = dict(zip(names, X[0], strict=True))
    assert empty["mfcc_0_mean"] == pytest.approx(-100 * np.sqrt(40), rel=1e-6)
    assert all(empty[f"mfcc_{k}_mean"] == pytest.approx(0, abs=1e-3) for k in range(1, 20))
    assert empty["flatness_mean"] == pytest.approx(1.0)
    zero_cols = [n for n in names if n not in ("mfcc_0_mean", "flatness_mean")
                 and not n.startswith("mfcc_")]
    assert all(empty[n] == 0 for n in zero_cols)
    np.testing.assert_allclose(X[3], X[0], atol=1e-3)  # silence of any length: same features


def test_options_and_names():
    af = A.AudioFeatures(sr=8000, n_mfcc=13, n_mels=26, deltas=False, spectral=False)
    X = af.fit_transform([np.ones(4000, np.float32) * 0.1])
    assert X.shape == (1, 26 + 6)
    assert af.n_fft is None and af._params()[1:4] == (256, 200, 80)
    assert len(set(af.get_feature_names_out())) == 32
    assert A.AudioFeatures(sr=16000).fit().n_features_out_ == 138


def test_sklearn_conventions(clips):
    af = A.AudioFeatures(sr=SR, n_mfcc=13)
    assert clone(af).get_params()["n_mfcc"] == 13
    with pytest.raises(Exception, match="not fitted"):
        af.transform(clips)
    pipe = make_pipeline(A.AudioFeatures(sr=SR), StandardScaler())
    Z = pipe.fit_transform(clips)
    assert Z.shape == (len(clips), 138)
    assert A.AudioFeatures(sr=SR).fit(clips).transform([]).shape == (0, 138)


@pytest.mark.parametrize(
    "kw,match",
    [(dict(sr=0), "sr"), (dict(n_mfcc=50), "n_mfcc"), (dict(hop_length=0), "hop_length"),
     (dict(win_length=1024, n_fft=512), "win_length")])
def test_bad_parameters(kw, match):
    with pytest.raises(ValueError, match=match):
        A.AudioFeatures(**kw).fit()


def test_bad_inputs(clips):
    af = A.AudioFeatures(sr=SR).fit()
    with pytest.raises(ValueError, match="NaN"):
        af.transform([np.array([0.0, np.nan], np.float32)])
    with pytest.raises(ValueError, match="1-D"):
        af.transform([np.zeros((10, 10, 2), np.float32)])
    with pytest.raises(ValueError, match="lengths is only"):
        af.transform(clips, lengths=[1, 2, 3, 4, 5])
    with pytest.raises(ValueError, match="X must be"):
        af.transform(np.zeros((2, 3, 100), np.float32))


def test_load_wrapper_reads_wav(tmp_path, clips):
    import soundfile as sf

    path = tmp_path / "clip.wav"
    sf.write(path, clips[3], SR, subtype="PCM_16")
    y, sr = A.load(path)
    want, want_sr = sf.read(path, dtype="float32")  # what librosa.load returns for it
    assert sr == want_sr == SR and y.dtype == np.float32
    np.testing.assert_array_equal(y, want)
    y8, sr8 = A.load(path, sr=8000)
    assert sr8 == 8000 and abs(y8.shape[0] - clips[3].shape[0] // 2) <= 1
