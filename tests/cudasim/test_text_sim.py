"""The text cuda path under the CUDA simulator: HashingVectorizer, CountVectorizer,
TfidfVectorizer and TfidfTransformer with backend="cuda" equal scikit-learn's, and the
device twins of the scalar functions equal the CPU kernels'.

Runs only with ``NUMBA_ENABLE_CUDASIM=1`` (see conftest.py); the simulator runs one
Python thread per CUDA thread, so the documents are few and short.
"""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer as SkCount
from sklearn.feature_extraction.text import HashingVectorizer as SkHashing
from sklearn.feature_extraction.text import TfidfTransformer as SkTfidfTransformer
from sklearn.feature_extraction.text import TfidfVectorizer as SkTfidf
from sklearn.utils import murmurhash3_32

from mmfeat.text import CountVectorizer, HashingVectorizer, TfidfTransformer, TfidfVectorizer

SIMULATOR = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"

DOCS = [
    "Hello World, hello!",
    "",
    "a b c . !",  # no token of two word characters
    "İstanbul ΣΟΦΟΣ σοφός ΟΔΟΣ. ΑΣ",  # İ lowers to two code points; final sigma
    "Straße naïve café 東京タワー テスト",
    "x1 y2 _z __ 42",
    "ÀÉÎ àéî ǅemal ﬁne",
    "Ünïcödé\tand\nspaces\u00a0here\u2003too",
    "World again: hello, HELLO world",
]


def _ids(params):
    return ",".join(f"{k}={v}" for k, v in params.items())


def assert_same(got, want):
    assert isinstance(got, sp.csr_matrix), type(got)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(got.indptr, want.indptr)
    np.testing.assert_array_equal(got.indices, want.indices)
    np.testing.assert_allclose(got.data, want.data, rtol=0, atol=1e-6)


PARAMS = [
    {},
    {"n_features": 16},  # collisions, buckets that cancel to explicit zeros
    {"ngram_range": (1, 2), "n_features": 2**10},
    {"ngram_range": (2, 3), "dtype": np.float32},
    {"norm": "l1", "binary": True},
    {"norm": None, "alternate_sign": False},
    {"lowercase": False, "n_features": 64},
    {"stop_words": "english", "ngram_range": (1, 2)},  # removed before the n-grams
]


@pytest.mark.parametrize("params", PARAMS, ids=_ids)
def test_hashing_matches_sklearn(params):
    got = HashingVectorizer(backend="cuda", **params).fit_transform(DOCS)
    assert_same(got, SkHashing(**params).fit_transform(DOCS))


def test_hashing_random_unicode_matches_sklearn():
    """Random code points (surrogates excluded) with the special cases mixed in: the
    device tokenizer equals re.findall(r"(?u)\\b\\w\\w+\\b", doc.lower()) via the hashes."""
    rng = np.random.default_rng(3)
    special = np.array([ord(c) for c in "İΣσςΑa _7 \u0345\u0307ǅﬁß"])
    docs = []
    for _ in range(6):
        cps = np.where(rng.random(40) < 0.4, rng.choice(special, 40),
                       rng.integers(0, 0x30000, 40))
        cps = np.where((cps >= 0xD800) & (cps < 0xE000), 0x41, cps)
        docs.append("".join(map(chr, cps)))
    params = {"norm": None, "alternate_sign": False, "ngram_range": (1, 2)}
    got = HashingVectorizer(backend="cuda", **params).transform(docs)
    assert_same(got, SkHashing(**params).transform(docs))
    assert got.nnz > 20


def test_hashing_inputs_and_batches():
    want = SkHashing(n_features=32).transform(DOCS)
    vec = HashingVectorizer(backend="cuda", n_features=32)
    assert_same(vec.transform(pa.array(DOCS)), want)
    assert_same(vec.transform(np.array(DOCS, dtype=object)), want)
    # an iterable of batches gives one stacked matrix
    assert_same(vec.transform(iter([DOCS[:3], DOCS[3:]])), want)


def test_hashing_documents_without_tokens():
    docs = ["", "a", "! ?", ""]
    got = HashingVectorizer(backend="cuda").transform(docs)
    assert_same(got, SkHashing().transform(docs))
    assert got.nnz == 0


def test_hashing_errors():
    with pytest.raises(ValueError, match="empty sequence"):
        HashingVectorizer(backend="cuda").transform([])
    with pytest.raises(TypeError, match=r"raw_documents\[1\]"):
        HashingVectorizer(backend="cuda").transform(["ok", None])


@pytest.mark.parametrize(
    "params, name",
    [
        ({"analyzer": "char"}, "analyzer"),
        ({"analyzer": lambda d: d.split()}, "analyzer"),
        ({"tokenizer": str.split}, "tokenizer"),
        ({"preprocessor": str.upper}, "preprocessor"),
        ({"strip_accents": "unicode"}, "strip_accents"),
        ({"token_pattern": r"\w+"}, "token_pattern"),
        ({"dtype": np.int64}, "dtype"),
    ],
)
def test_hashing_unsupported_parameters_raise(params, name):
    with pytest.raises(ValueError, match=f"backend='cuda' is not .* with {name}="):
        HashingVectorizer(backend="cuda", **params).transform(["some text"])


# --- CountVectorizer / TfidfVectorizer / TfidfTransformer ---------------------------------

NEW = ["hello there world", "σοφός ΣΟΦΟΣ istanbul", "", "İstanbul Hello WORLD world naïve"]

COUNT_PARAMS = [
    {"dtype": np.float64},
    {"ngram_range": (1, 2), "dtype": np.float32, "binary": True},
    {"min_df": 2, "dtype": np.float64},
    {"max_features": 5, "dtype": np.float64},
    {"lowercase": False, "dtype": np.float64},
]


@pytest.mark.parametrize("params", COUNT_PARAMS, ids=_ids)
def test_count_matches_sklearn(params):
    want = SkCount(**params).fit(DOCS)
    vec = CountVectorizer(backend="cuda", **params).fit(DOCS)
    assert vec.vocabulary_ == want.vocabulary_
    assert_same(vec.transform(NEW), want.transform(NEW))
    # fit_transform: scikit-learn's in-row order (first occurrence), not sorted columns
    ours = CountVectorizer(backend="cuda", **params)
    assert_same(ours.fit_transform(DOCS), SkCount(**params).fit_transform(DOCS))
    # ... read from the Arrow vocabulary: its dict was never made
    from mmfeat.text._vocabulary import PendingVocabulary

    assert isinstance(vars(ours)["_vocabulary"], PendingVocabulary)
    assert_same(ours.transform(NEW), want.transform(NEW))
    assert isinstance(vars(ours)["_vocabulary"], PendingVocabulary)


def test_count_fixed_vocabulary_and_batches():
    vocab = ["world", "hello", "σοφός", "i̇stanbul", "zzz", "hello world"]
    params = {"vocabulary": vocab, "ngram_range": (1, 2), "dtype": np.float64}
    want = SkCount(**params).fit_transform(DOCS)
    assert_same(CountVectorizer(backend="cuda", **params).fit_transform(DOCS), want)
    assert_same(CountVectorizer(backend="cuda", **params).transform(iter([DOCS[:2], DOCS[2:]])),
                want)


TFIDF_PARAMS = [
    {},
    {"ngram_range": (1, 2), "sublinear_tf": True, "norm": "l1"},
    {"use_idf": False, "dtype": np.float32},
    {"smooth_idf": False, "norm": None, "min_df": 2},
    {"stop_words": ["world", "σοφός", "hello"], "ngram_range": (1, 2)},
]


@pytest.mark.parametrize("params", TFIDF_PARAMS, ids=_ids)
def test_tfidf_matches_sklearn(params):
    want = SkTfidf(**params)
    got = TfidfVectorizer(backend="cuda", **params)
    assert_same(got.fit_transform(DOCS), want.fit_transform(DOCS))
    assert_same(got.transform(NEW), want.transform(NEW))
    if params.get("use_idf", True):
        np.testing.assert_allclose(got.idf_, want.idf_, rtol=0, atol=1e-12)
    assert_same(TfidfVectorizer(backend="cuda", **params).fit(DOCS).transform(NEW),
                want.transform(NEW))


def test_tfidf_transformer_on_device_csr():
    counts = SkCount().fit_transform(DOCS).astype(np.float64)
    want = SkTfidfTransformer(sublinear_tf=True).fit(counts)
    got = TfidfTransformer(backend="cuda", sublinear_tf=True).fit(counts)
    np.testing.assert_allclose(got.idf_, want.idf_, rtol=0, atol=1e-12)
    assert_same(got.transform(counts), want.transform(counts))
    with pytest.raises(ValueError, match="features"):
        got.transform(counts[:, :3])


@pytest.mark.parametrize(
    "cls, params, name",
    [(CountVectorizer, {"analyzer": "char_wb"}, "analyzer"),
     (TfidfVectorizer, {"analyzer": "char"}, "analyzer"),
     (CountVectorizer, {"dtype": np.int64}, "dtype")],  # the default: cupyx holds floats only
)
def test_count_unsupported_parameters_raise(cls, params, name):
    with pytest.raises(ValueError, match=f"backend='cuda' is not .* with {name}="):
        cls(backend="cuda", **params).fit_transform(DOCS)
    vec = cls(**params).fit(DOCS)  # fitted on the CPU, then asked to transform on cuda
    with pytest.raises(ValueError, match=f"backend='cuda' is not .* with {name}="):
        vec.set_params(backend="cuda").transform(DOCS)


# --- the device twins against the CPU kernels ------------------------------------------

WORDS = ["", "a", "ab", "abc", "abcd", "hello", "naïve café", "東京", "İi̇", "σοφός ς", "😀x",
         "0123456789abcdefg"]


def _spans(words):
    data = [w.encode("utf-8") for w in words]
    offs = np.zeros(len(data) + 1, np.int64)
    offs[1:] = np.cumsum([len(b) for b in data])
    buf = np.frombuffer(b"".join(data) or b"\0", np.uint8).copy()
    return buf, offs


if SIMULATOR:  # numba.cuda only in the simulator's process (the main run skips this file)
    from mmfeat.kernels import text_cuda as KC
    from numba import cuda

    @cuda.jit
    def _hash_all(buf, offs, n_features, h, col):
        i = cuda.grid(1)
        if i < h.shape[0]:
            v = KC.murmur3_32(buf, offs[i], offs[i + 1])
            h[i] = v
            col[i] = KC.hashed_column(v, n_features)

    @cuda.jit
    def _column_of_int_min(out):
        out[0] = KC.hashed_column(np.int64(-2147483648), np.int64(1000))

    @cuda.jit
    def _columns(hs, ns, out):
        i = cuda.grid(1)
        if i < out.shape[0]:
            out[i] = KC.hashed_column(hs[i], ns[i])

    @cuda.jit
    def _walk(buf, cls, low, low_ext, cps, lowered, reenc):
        """One thread: decode, lower-case in context and re-encode every character."""
        if cuda.grid(1) != 0:
            return
        i = 0
        k = 0
        o = 0
        while i < buf.shape[0]:
            cp, nb = KC.decode(buf, i)
            ne, c0, c1, c2, _ = KC.lower_at(buf, i, 0, buf.shape[0], cls, low, low_ext, True)
            cps[k] = cp
            lowered[k, 0] = c0
            lowered[k, 1] = c1
            lowered[k, 2] = c2
            o += KC.encode(cp, reenc, o)
            i += nb
            k += 1


def test_murmur3_device_twin():
    from mmfeat.kernels import text as K

    buf, offs = _spans(WORDS)
    n = len(WORDS)
    h = np.zeros(n, np.int64)
    col = np.zeros(n, np.int64)
    _hash_all[1, 32](buf, offs, np.int64(1000), h, col)
    for i, w in enumerate(WORDS):
        want = murmurhash3_32(w.encode("utf-8"), positive=False)
        assert h[i] == want == K.murmur3_32(buf, offs[i], offs[i + 1]), w
        assert col[i] == abs(want) % 1000
    # INT_MIN's column is scikit-learn's special case (abs() would overflow int32)
    c = np.zeros(1, np.int64)
    _column_of_int_min[1, 1](c)
    assert c[0] == (2147483647 - 999) % 1000


def test_hashed_column_in_32_bits_at_the_extremes():
    """hashed_column's 32-bit remainders equal scikit-learn's formula over the whole
    range of n_features it allows (1 .. 2**31 - 1) and of signed 32-bit hashes."""
    hs = np.array([-2147483648, 2147483647, -2147483647, 0, -1, 1, 123456789], np.int64)
    ns = np.array([1, 2, 1000, 2**31 - 2, 2**31 - 1, 2**20 + 7], np.int64)
    H, N = np.meshgrid(hs, ns)
    H, N = H.ravel(), N.ravel()
    out = np.zeros(H.shape[0], np.int64)
    _columns[1, 64](H, N, out)
    want = [(2147483647 - (n - 1)) % n if h == -2147483648 else abs(h) % n
            for h, n in zip(H.tolist(), N.tolist(), strict=True)]
    np.testing.assert_array_equal(out, want)


def test_decode_encode_lower_twins():
    from mmfeat.text._tables import get_tables

    t = get_tables()
    text = "AzÀΣς İ 東😀Σa ΑΣ ǅ"
    buf = np.frombuffer(text.encode("utf-8"), np.uint8).copy()
    n = len(text)
    cps = np.zeros(n, np.int64)
    lowered = np.full((n, 3), -1, np.int64)
    reenc = np.zeros(buf.shape[0], np.uint8)
    _walk[1, 1](buf, t.cls, t.low, t.low_ext, cps, lowered, reenc)
    assert [chr(c) for c in cps] == list(text)
    np.testing.assert_array_equal(reenc, buf)
    # per-character lower-casing in context equals str.lower() of the whole text
    got = "".join(chr(c) for row in lowered for c in row if c >= 0)
    assert got == text.lower()


def test_lone_surrogates_get_a_clear_error_on_cuda():
    """UTF-8 cannot carry them, and the reference path they need runs on the CPU."""
    docs = ["ok words here", "broken \ud800 surrogate text"]
    fitted = CountVectorizer(backend="cuda", dtype=np.float64).fit(["ok words here"])
    for call in (lambda: HashingVectorizer(backend="cuda").transform(docs),
                 lambda: fitted.transform(docs)):
        with pytest.raises(ValueError, match="lone surrogates.*backend='cpu'"):
            call()


FIT_PARAMS = [
    {"dtype": np.float64},
    {"ngram_range": (1, 3), "dtype": np.float64},
    {"ngram_range": (2, 2), "dtype": np.float32},
    {"stop_words": "english", "ngram_range": (1, 2), "dtype": np.float64},
    {"min_df": 2, "dtype": np.float64},
    {"max_df": 0.3, "ngram_range": (1, 2), "dtype": np.float64},
    {"max_features": 6, "ngram_range": (1, 2), "dtype": np.float64},
    {"lowercase": False, "binary": True, "dtype": np.float64},
]
CORPUS = DOCS + ["hello hello world world again", "again and again", "hello"]


def _spy_count_fit(monkeypatch):
    """Record each device fit: 'ok' when it returned, the exception's name otherwise."""
    from mmfeat.text import _cuda

    calls = []
    real = _cuda.count_fit

    def spy(vec, docs, stage=None):
        try:
            c = real(vec, docs, stage)
        except Exception as exc:
            calls.append(type(exc).__name__)
            raise
        calls.append("ok")
        return c

    monkeypatch.setattr(_cuda, "count_fit", spy)
    return calls


@pytest.mark.parametrize("params", FIT_PARAMS, ids=_ids)
def test_vocabulary_fitted_on_the_device_equals_sklearn(monkeypatch, params):
    calls = _spy_count_fit(monkeypatch)
    want = SkCount(**params).fit(CORPUS)
    vec = CountVectorizer(backend="cuda", **params).fit(CORPUS)
    assert calls == ["ok"]  # counted on the device, no CPU fallback
    np.testing.assert_array_equal(vec.get_feature_names_out(), want.get_feature_names_out())
    assert list(vec.vocabulary_.items()) == list(want.vocabulary_.items())
    assert_same(vec.transform(NEW), want.transform(NEW))
    from mmfeat.text import _cuda

    stages = []
    real_stage = _cuda.device_stage
    monkeypatch.setattr(_cuda, "device_stage", lambda v, d: stages.append(1) or real_stage(v, d))
    assert_same(CountVectorizer(backend="cuda", **params).fit_transform(CORPUS),
                SkCount(**params).fit_transform(CORPUS))
    assert len(stages) == 1  # copied and tokenized once for the vocabulary and the matrix
    assert calls == ["ok", "ok"]
    tf = {k: v for k, v in params.items() if k != "binary"}
    assert_same(TfidfVectorizer(backend="cuda", **tf).fit_transform(CORPUS),
                SkTfidf(**tf).fit_transform(CORPUS))


def test_a_device_hash_collision_falls_back_to_the_cpu(monkeypatch):
    """Every n-gram given one hash: the byte check finds the group mixed, the device fit
    raises HashCollision and the vocabulary is counted on the CPU, still exact."""
    from mmfeat.kernels import text_cuda

    calls = _spy_count_fit(monkeypatch)
    monkeypatch.setattr(text_cuda, "hash64", lambda buf, s, e: np.uint64(7))
    params = {"ngram_range": (1, 2), "dtype": np.float64}
    vec = CountVectorizer(backend="cuda", **params).fit(CORPUS)
    assert calls == ["HashCollision"]
    assert list(vec.vocabulary_.items()) == list(SkCount(**params).fit(CORPUS).vocabulary_.items())


def test_device_fit_without_tokens_raises_as_sklearn():
    docs = ["", "a b !", "."]
    with pytest.raises(ValueError, match="empty vocabulary"):
        SkCount().fit(docs)
    with pytest.raises(ValueError, match="empty vocabulary"):
        CountVectorizer(backend="cuda", dtype=np.float64).fit(docs)
