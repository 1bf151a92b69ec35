"""Variable-length clips: length buckets bound the padding, and the features do not
depend on how the clips were grouped."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mmfeat
from mmfeat.audio import AudioFeatures, pad_batch
from mmfeat.audio._buckets import length_buckets


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 50_000), min_size=0, max_size=300),
       st.sampled_from([0.0, 0.05, 0.15, 1.0]))
def test_buckets_partition_the_clips_and_bound_the_padding(lengths, max_padding):
    lengths = np.asarray(lengths, dtype=np.int64)
    buckets = length_buckets(lengths, max_padding)
    flat = np.concatenate(buckets) if buckets else np.zeros(0, np.int64)
    np.testing.assert_array_equal(np.sort(flat), np.arange(lengths.size))  # each clip once
    for idx in buckets:
        assert idx.size >= 1
        real = lengths[idx].sum()
        padded = idx.size * lengths[idx].max()
        # a lone clip wastes nothing; a bucket holds clips within the bound
        assert padded <= (1 + max_padding) * real + 1e-9 * padded or idx.size == 1


def test_buckets_are_few_for_speech_like_lengths():
    rng = np.random.default_rng(1)
    lengths = np.clip(rng.lognormal(np.log(6700), 0.5, 3000), 2200, 37000).astype(np.int64)
    buckets = length_buckets(lengths, 0.15)
    padded = sum(b.size * lengths[b].max() for b in buckets)
    assert padded <= 1.15 * lengths.sum()
    assert len(buckets) < 40  # not one call per clip
    # padding the whole batch to its longest clip would compute several times the samples
    assert lengths.size * lengths.max() > 4 * lengths.sum()


def _varlen_clips(n=40, seed=0, sr=8000):
    rng = np.random.default_rng(seed)
    lengths = np.clip(rng.lognormal(np.log(0.4 * sr), 0.6, n), 0, 3 * sr).astype(int)
    lengths[:3] = [0, 100, 3 * sr]  # empty, shorter than n_fft, the longest
    t = np.arange(3 * sr) / sr
    clips = []
    for k, n_k in enumerate(lengths):
        f0 = 100 + 7 * k
        c = 0.3 * np.sin(2 * np.pi * f0 * t[:n_k]) + 0.02 * rng.standard_normal(n_k)
        clips.append(c.astype(np.float32))
    return clips


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_bucketed_features_equal_one_padded_batch_and_each_clip_alone(backend, monkeypatch):
    clips = _varlen_clips()
    feats = AudioFeatures(sr=8000, backend=backend).fit(clips)
    bucketed = feats.transform(clips)
    lengths = np.array([c.size for c in clips])
    assert len(length_buckets(lengths, mmfeat.config.AUDIO_MAX_PADDING)) > 1
    monkeypatch.setattr(mmfeat.config, "AUDIO_MAX_PADDING", np.inf)  # one padded batch
    whole = feats.transform(clips)
    np.testing.assert_allclose(bucketed, whole, rtol=1e-6, atol=1e-6)
    assert bucketed.dtype == np.float32 and bucketed.shape == (len(clips), feats.n_features_out_)
    alone = np.concatenate([feats.transform([c]) for c in clips[:8]])
    np.testing.assert_allclose(bucketed[:8], alone, rtol=1e-5, atol=1e-5)


def test_padded_array_with_lengths_is_bucketed_the_same():
    clips = _varlen_clips(seed=3)
    feats = AudioFeatures(sr=8000).fit(clips)
    y, lengths = pad_batch(clips)
    np.testing.assert_allclose(feats.transform(y, lengths=lengths), feats.transform(clips),
                               rtol=1e-6, atol=1e-6)
    # the batch order is kept: reversing the input reverses the rows
    np.testing.assert_allclose(feats.transform(clips[::-1]), feats.transform(clips)[::-1],
                               rtol=1e-6, atol=1e-6)
