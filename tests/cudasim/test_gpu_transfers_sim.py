"""Host <-> device transfers of the text and audio cuda paths, under the CUDA simulator
(own process: ``NUMBA_ENABLE_CUDASIM=1 pytest tests/cudasim``).

- the pinned staging pool (:mod:`mmfeat._gpu`) reuses its buffers across batches and
  grows by size class;
- a batch that follows a larger one gets the same results as on its own: a reused
  staging buffer still holds the larger batch's bytes, which must never leak;
- a device fit keeps the vocabulary on the device: its terms come to the host once
  (for the sort, the pruning and ``vocabulary_``) and are never copied back up; the
  lookup table is built on the device from the terms the fit left there.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer as SkCount
from sklearn.feature_extraction.text import HashingVectorizer as SkHashing
from sklearn.feature_extraction.text import TfidfVectorizer as SkTfidf

import mmfeat.audio as A
from mmfeat import _gpu
from mmfeat.text import CountVectorizer, HashingVectorizer, TfidfVectorizer

pytestmark = pytest.mark.cudasim

SMALL = ["Hello world, hello!", "", "the fox and the dog", "ΣΟΦΟΣ σοφός naïve café"]
LARGE = [
    "a much longer document with many different words in it " * 6,
    "another long one: quick brown foxes jump over lazy dogs again and again " * 5,
    "Straße naïve café 東京タワー テスト words words words " * 4,
] * 3


@pytest.fixture
def fresh_pool(monkeypatch):
    """A new, empty pool in place of the process's (restored afterwards)."""
    pool = _gpu.PinnedPool()
    monkeypatch.setattr(_gpu, "_POOL", pool)
    return pool


def assert_same_csr(got, want):
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(got.indptr, want.indptr)
    np.testing.assert_array_equal(got.indices, want.indices)
    np.testing.assert_allclose(got.data, want.data, rtol=0, atol=1e-6)


# --- the pool ------------------------------------------------------------------------


def test_pool_reuses_a_buffer_of_the_same_size(fresh_pool):
    a = fresh_pool.take(1000)
    assert a.dtype == np.uint8 and a.nbytes == _gpu.PINNED_MIN_BYTES
    fresh_pool.give(a)
    b = fresh_pool.take(1000)
    assert b is a
    fresh_pool.give(b)
    assert fresh_pool.take(_gpu.PINNED_MIN_BYTES) is a  # the same size class
    assert fresh_pool.allocated == 1


def test_pool_grows_geometrically_for_a_larger_request(fresh_pool):
    small = fresh_pool.take(10)
    fresh_pool.give(small)
    n = 3 * _gpu.PINNED_MIN_BYTES
    big = fresh_pool.take(n)
    assert big is not small
    assert big.nbytes == 4 * _gpu.PINNED_MIN_BYTES  # the next power of two
    fresh_pool.give(big)
    # a smaller request takes the smallest free buffer that fits
    assert fresh_pool.take(10) is small
    assert fresh_pool.take(10) is big  # small is out: the larger one serves
    assert fresh_pool.allocated == 2


def test_pool_hands_a_buffer_to_one_owner_at_a_time(fresh_pool):
    a = fresh_pool.take(100)
    b = fresh_pool.take(100)
    assert a is not b


def test_pool_keeps_at_most_max_bytes():
    pool = _gpu.PinnedPool(max_bytes=2 * _gpu.PINNED_MIN_BYTES)
    bufs = [pool.take(1) for _ in range(3)]
    for b in bufs:
        pool.give(b)
    assert pool.free_bytes() <= 2 * _gpu.PINNED_MIN_BYTES
    too_big = pool.take(4 * _gpu.PINNED_MIN_BYTES)
    pool.give(too_big)  # larger than the whole pool: not kept
    assert all(b is not too_big for b in (pool.take(1), pool.take(1)))


def test_pinned_buffers_come_from_numba_pinned_array(fresh_pool, monkeypatch):
    from numba import cuda

    calls = []
    real = cuda.pinned_array

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(cuda, "pinned_array", counting)
    fresh_pool.take(5)
    assert len(calls) == 1


def test_to_device_and_to_host_reuse_the_staging_buffer(fresh_pool):
    x = np.arange(1000, dtype=np.int64)
    d1 = _gpu.to_device(x)
    d2 = _gpu.to_device(x + 1)
    assert fresh_pool.allocated == 1
    np.testing.assert_array_equal(d1, x)  # a copy: the refill did not touch it
    np.testing.assert_array_equal(d2, x + 1)
    d1[0] = -5  # writable, not the staging buffer
    h = _gpu.to_host(d2)
    assert fresh_pool.allocated == 1
    np.testing.assert_array_equal(h, x + 1)
    assert _gpu.to_device(np.zeros((0, 3), np.float32)).shape == (0, 3)
    assert _gpu.to_device(x, np.int32).dtype == np.int32


def test_small_copy_after_a_large_one_sees_only_its_own_bytes(fresh_pool):
    big = np.full(50_000, 7, np.uint8)
    _gpu.to_device(big)
    small = np.arange(10, dtype=np.uint8)
    out = _gpu.to_device(small)
    assert fresh_pool.allocated == 1  # the large buffer served the small copy
    assert out.shape == (10,)
    np.testing.assert_array_equal(out, small)
    back = _gpu.to_host(out)
    assert back.shape == (10,)
    np.testing.assert_array_equal(back, small)


# --- no stale bytes in results ----------------------------------------------------


def test_text_batch_after_a_larger_batch(fresh_pool):
    want = SkTfidf(ngram_range=(1, 2)).fit(SMALL).transform(SMALL)
    solo = TfidfVectorizer(ngram_range=(1, 2), backend="cuda").fit(SMALL).transform(SMALL)
    TfidfVectorizer(ngram_range=(1, 2), backend="cuda").fit_transform(LARGE)
    allocated = fresh_pool.allocated
    vec = TfidfVectorizer(ngram_range=(1, 2), backend="cuda")
    got = vec.fit(SMALL).transform(SMALL)
    assert fresh_pool.allocated == allocated  # served by the buffers of the large batch
    assert_same_csr(got, want)
    assert_same_csr(got, solo)
    assert vec.vocabulary_ == SkTfidf(ngram_range=(1, 2)).fit(SMALL).vocabulary_


def test_hashing_batch_after_a_larger_batch(fresh_pool):
    hv = HashingVectorizer(n_features=2**8, backend="cuda")
    hv.transform(LARGE)
    got = hv.transform(SMALL)
    assert_same_csr(got, SkHashing(n_features=2**8).transform(SMALL))


def test_audio_batch_after_a_larger_batch(fresh_pool):
    rng = np.random.default_rng(5)
    kw = dict(sr=8000, n_mels=8, n_mfcc=5, n_fft=32, win_length=32, hop_length=16)
    small = (0.3 * rng.standard_normal((2, 60))).astype(np.float32)
    large = (0.9 * rng.standard_normal((4, 200)) + 3.0).astype(np.float32)
    want = A.AudioFeatures(**kw, backend="cpu").fit_transform(small)
    A.AudioFeatures(**kw, backend="cuda").fit_transform(large)
    allocated = fresh_pool.allocated
    got = A.AudioFeatures(**kw, backend="cuda").fit_transform(small)
    assert fresh_pool.allocated == allocated
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    m_large = A.mfcc(large, sr=8000, n_mfcc=5, n_mels=8, n_fft=32, hop_length=16,
                     backend="cuda")
    m_small = A.mfcc(small, sr=8000, n_mfcc=5, n_mels=8, n_fft=32, hop_length=16,
                     backend="cuda")
    assert m_large.shape[0] == 4 and m_small.shape[0] == 2
    np.testing.assert_allclose(
        m_small, A.mfcc(small, sr=8000, n_mfcc=5, n_mels=8, n_fft=32, hop_length=16,
                        backend="cpu"), rtol=1e-4, atol=1e-3)


def test_audio_clips_go_up_through_the_pool(fresh_pool, monkeypatch):
    staged = []
    real = _gpu.to_device

    def counting(a, dtype=None):
        staged.append(np.asarray(a).shape)
        return real(a, dtype)

    from mmfeat.audio import _cuda as audio_cuda

    monkeypatch.setattr(audio_cuda, "to_device", counting)
    y = np.zeros((3, 64), np.float32)
    A.melspectrogram(y, sr=8000, n_fft=32, hop_length=16, n_mels=4, backend="cuda")
    assert (3, 64) in staged


# --- the vocabulary stays on the device ------------------------------------------------


def _spy(monkeypatch, module, name, log):
    real = getattr(module, name)

    def spy(*args, **kwargs):
        log.append((name, args))
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, spy)


@pytest.mark.parametrize("vectorizer", [CountVectorizer, TfidfVectorizer])
@pytest.mark.parametrize("params", [{}, {"ngram_range": (1, 2), "min_df": 2},
                                    {"max_features": 5, "stop_words": "english"}])
def test_fit_never_copies_the_vocabulary_back_up(vectorizer, params, monkeypatch):
    from mmfeat.text import _cuda

    docs = SMALL + LARGE
    log = []
    for name in ("to_device", "to_host", "_term_table", "_device_term_table"):
        _spy(monkeypatch, _cuda, name, log)
    vec = vectorizer(**params, dtype=np.float64, backend="cuda")
    X = vec.fit_transform(docs)
    names = [n for n, _ in log]
    # no host-built table: the lookup table is made on the device
    assert "_term_table" not in names
    assert names.count("_device_term_table") == 1
    # every copy goes through the pinned pool (to_device / to_host). Down: the terms'
    # offsets and bytes and the (df, tf) pair, once each (+ TF-IDF: the document
    # frequencies, for the idf on the host)
    tfidf = vectorizer is TfidfVectorizer
    assert names.count("to_host") == 3 + tfidf
    # up: the documents' bytes and offsets, then only the term id of each column and
    # each column's rank in first-occurrence order (+ TF-IDF: the idf)
    ups = [args for n, args in log if n == "to_device"]
    assert len(ups) == 4 + tfidf
    n_cols = len(vec.get_feature_names_out())
    ids, rank = np.asarray(ups[2][0]), np.asarray(ups[3][0])
    assert ids.dtype == np.int64 and ids.shape == (n_cols,)
    assert rank.dtype == np.int64 and sorted(rank) == list(range(n_cols))
    if tfidf:
        assert np.asarray(ups[4][0]).shape == (n_cols,)  # the idf
    # the vocabulary_ dict is made from the host copy, only when read
    sk_cls = SkTfidf if vectorizer is TfidfVectorizer else SkCount
    sk = sk_cls(**params, dtype=np.float64)
    want = sk.fit_transform(docs)
    assert vec.vocabulary_ == sk.vocabulary_
    assert_same_csr(sp.csr_matrix(X), want)

    # transform reuses the device table (also once the dict has been read): no copy of
    # the vocabulary in either direction, the documents (+ TF-IDF: the idf) go up and
    # nothing comes down
    log.clear()
    Y = vec.transform(SMALL)
    names = [n for n, _ in log]
    assert "_term_table" not in names and "_device_term_table" not in names
    assert names.count("to_host") == 0 and names.count("to_device") == 2 + tfidf
    assert_same_csr(sp.csr_matrix(Y), sk.transform(SMALL))


def test_edited_vocabulary_rebuilds_the_table(monkeypatch):
    vec = CountVectorizer(dtype=np.float32, backend="cuda").fit(SMALL)
    vec.transform(SMALL)
    vocab = vec.vocabulary_
    term = next(iter(vocab))
    other = next(t for t in vocab if t != term)
    vocab[term], vocab[other] = vocab[other], vocab[term]  # same size, new columns
    X = vec.transform(SMALL)
    assert_same_csr(sp.csr_matrix(X), SkCount(vocabulary=dict(vocab), dtype=np.float32)
                    .fit_transform(SMALL))


def test_pickled_vectorizer_drops_the_device_terms():
    import pickle

    vec = TfidfVectorizer(backend="cuda").fit(SMALL)
    vec.transform(SMALL)
    clone = pickle.loads(pickle.dumps(vec))
    assert "_mm_cuda_vocabulary" not in clone.__dict__
    pending = clone.__dict__["_vocabulary"]
    assert getattr(pending, "device_terms", None) is None
    assert_same_csr(clone.transform(SMALL), vec.transform(SMALL))


def test_kernels_are_cached_between_processes():
    """Every text and audio kernel asks numba-cuda for its on-disk cache (the
    simulator accepts the flag and ignores it)."""
    import inspect
    import re

    from mmfeat.kernels import audio_cuda, text_cuda

    for module in (text_cuda, audio_cuda):
        decorators = re.findall(r"^@cuda\.jit(?:\((.*)\))?$", inspect.getsource(module),
                                flags=re.M)
        kernels = [d for d in decorators if "device=True" not in d]
        assert kernels and all("cache=True" in d for d in kernels), (module, decorators)
