"""mmfeat.text vectorizers against scikit-learn on real multilingual text: same CSR, bit for bit.

"Same" means: the same matrix type and dtype, the same ``indptr``, the same
``indices`` in the same order (scikit-learn's fitted matrices keep columns in
order of first occurrence within a row), values within 1e-6, and the same
``vocabulary_`` (also in iteration order), feature names and ``idf_``.
"""

from __future__ import annotations

import functools
import inspect
import re

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction import text as sk

import mmfeat.text as mt

# Sentences people write, in many scripts, with the characters that make
# lower-casing and \w tricky: Greek capital sigma at word ends, Turkish dotted
# capital I (lower-cases to two code points), German sharp s, ligatures,
# combining marks, CJK, RTL scripts, digits of other scripts, emoji.
MULTILINGUAL = [
    "The quick brown fox jumps over the lazy dog. The dog sleeps!",
    "Der schnelle braune Fuchs springt über den faulen Hund; STRASSE und Straße.",
    "Le cœur a ses raisons que la raison ne connaît point — Pascal, 1670.",
    "¿Dónde está la biblioteca? Está en la calle Mayor, número 12.",
    "ΟΔΥΣΣΕΥΣ ΚΑΙ ΠΗΝΕΛΟΠΗ. Ο Οδυσσέας γύρισε στην Ιθάκη ΜΕΤΑ ΑΠΟ ΠΟΛΛΑ ΧΡΟΝΙΑ.",
    "İSTANBUL'da yaşıyorum; Iğdır ve İzmir de güzel şehirlerdir. DİYARBAKIR",
    "Москва — столица России. МОСКВА БОЛЬШАЯ, а Петербург красивый.",
    "مرحبا بالعالم! هذه جملة عربية قصيرة ١٢٣ للاختبار.",
    "שלום עולם, זה משפט בעברית עם מספרים 42.",
    "नमस्ते दुनिया, यह हिन्दी का एक वाक्य है। १२३",
    "東京は日本の首都です。東京タワーは高い。",
    "北京是中国的首都，北京烤鸭很好吃。",
    "서울은 대한민국의 수도입니다. 서울 타워!",
    "ภาษาไทยไม่มีช่องว่างระหว่างคำ แต่มีระหว่างประโยค",
    "Tiếng Việt có nhiều dấu: người, được, những, trường học.",
    "Գրաբար և աշխարհաբար. ՀԱՅԱՍՏԱՆ",
    "ქართული ენა ძალიან ლამაზია.",
    "ﬁnancial ofﬁce — ligatures; ｆｕｌｌｗｉｄｔｈ ＬＥＴＴＥＲＳ and ½ ² ³ ⅷ",
    "emoji 🙂 are not words 🙂🙂 but snake_case_names and x2 are",
    "tabs\tand\nnew\n\nlines   and  spaces\u00a0non-breaking\u2003em\u3000ideographic",
    "",
    "a b c d e f",
    "ΣΑΣ ΣΟΦΟΣ Σ.Σ. ΑΣ' ΑΣ· σοφΟΣ ΈΝΑΣ",
    "The the THE tHe cat CAT Cat",
]


@functools.lru_cache(maxsize=1)
def stdlib_paragraphs() -> list[str]:
    """Docstrings of standard-library modules and their functions (real English prose)."""
    import collections
    import csv
    import json
    import os
    import pathlib
    import statistics
    import string
    import textwrap

    out = []
    for mod in (collections, csv, json, os, pathlib, statistics, string, textwrap, re):
        for _, obj in inspect.getmembers(mod):
            doc = inspect.getdoc(obj)
            if doc:
                out.extend(p for p in doc.split("\n\n") if p.strip())
    return out[:200]


def corpus() -> list[str]:
    return MULTILINGUAL + stdlib_paragraphs()


def assert_same_csr(a, b):
    assert type(a) is type(b), (type(a), type(b))
    assert a.shape == b.shape
    assert a.dtype == b.dtype
    assert a.indptr.dtype == b.indptr.dtype and a.indices.dtype == b.indices.dtype
    np.testing.assert_array_equal(a.indptr, b.indptr)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_allclose(a.data, b.data, rtol=1e-6, atol=1e-9)


def assert_same_fit(ours, theirs):
    # get_feature_names_out first: a compiled fit answers it before vocabulary_ exists as
    # a dict (mmfeat.text._vocabulary), and again after
    np.testing.assert_array_equal(ours.get_feature_names_out(), theirs.get_feature_names_out())
    assert ours.vocabulary_ == theirs.vocabulary_
    assert list(ours.vocabulary_) == list(theirs.vocabulary_)
    assert {type(v) for v in ours.vocabulary_.values()} == {
        type(v) for v in theirs.vocabulary_.values()
    }
    assert ours.fixed_vocabulary_ == theirs.fixed_vocabulary_
    np.testing.assert_array_equal(ours.get_feature_names_out(), theirs.get_feature_names_out())


COUNT_PARAMS = [
    {},
    {"ngram_range": (1, 2)},
    {"ngram_range": (2, 3)},
    {"analyzer": "char", "ngram_range": (1, 3)},
    {"analyzer": "char_wb", "ngram_range": (2, 5)},
    {"analyzer": "char_wb", "ngram_range": (1, 1), "lowercase": False},
    {"lowercase": False, "ngram_range": (1, 2)},
    {"stop_words": "english"},
    {"stop_words": ["the", "und", "και", "東京"], "ngram_range": (1, 2)},
    {"min_df": 2, "max_df": 0.5},
    {"min_df": 0.01, "max_df": 40},
    {"max_features": 50},
    {"max_features": 20, "binary": True, "ngram_range": (1, 2)},
    {"binary": True},
    {"dtype": np.float32},
    {"dtype": np.int32, "analyzer": "char", "ngram_range": (3, 3)},
]


@pytest.mark.parametrize("params", COUNT_PARAMS, ids=lambda p: repr(p)[:60])
def test_count_vectorizer_matches_sklearn(params):
    docs = corpus()
    ours, theirs = mt.CountVectorizer(**params), sk.CountVectorizer(**params)
    assert_same_csr(ours.fit_transform(docs), theirs.fit_transform(docs))
    assert_same_fit(ours, theirs)
    new = docs[::-3] + ["unseen words only ζζζ", ""]
    assert_same_csr(ours.transform(new), theirs.transform(new))


TFIDF_PARAMS = [
    {},
    {"norm": "l1", "ngram_range": (1, 2)},
    {"norm": None, "use_idf": False},
    {"smooth_idf": False, "sublinear_tf": True},
    {"sublinear_tf": True, "analyzer": "char_wb", "ngram_range": (2, 4), "dtype": np.float32},
    {"max_features": 30, "min_df": 2, "stop_words": "english"},
]


@pytest.mark.parametrize("params", TFIDF_PARAMS, ids=lambda p: repr(p)[:60])
def test_tfidf_vectorizer_matches_sklearn(params):
    docs = corpus()
    ours, theirs = mt.TfidfVectorizer(**params), sk.TfidfVectorizer(**params)
    assert_same_csr(ours.fit_transform(docs), theirs.fit_transform(docs))
    assert_same_fit(ours, theirs)
    if params.get("use_idf", True):
        np.testing.assert_allclose(ours.idf_, theirs.idf_, rtol=1e-12)
    assert_same_csr(ours.transform(docs[:40]), theirs.transform(docs[:40]))
    assert_same_csr(ours.fit(docs).transform(docs[5:9]), theirs.fit(docs).transform(docs[5:9]))


HASH_PARAMS = [
    {},
    {"n_features": 64, "alternate_sign": False, "norm": None},
    {"n_features": 32, "binary": True, "norm": "l1", "ngram_range": (1, 2)},
    {"n_features": 2**18, "analyzer": "char_wb", "ngram_range": (2, 4), "dtype": np.float32},
    {"n_features": 7, "analyzer": "char", "norm": None},  # many cancelling buckets
]


@pytest.mark.parametrize("params", HASH_PARAMS, ids=lambda p: repr(p)[:60])
def test_hashing_vectorizer_matches_sklearn(params):
    docs = corpus()
    assert_same_csr(mt.HashingVectorizer(**params).fit_transform(docs),
                    sk.HashingVectorizer(**params).fit_transform(docs))


@pytest.mark.parametrize("vocabulary", [
    ["the", "fox", "東京", "straße", "οδυσσεασ", "absent"],
    {"dog": 2, "the": 0, "москва": 1},
    {"the", "dog", "cœur"},
])
def test_fixed_vocabulary(vocabulary):
    docs = corpus()
    ours = mt.TfidfVectorizer(vocabulary=vocabulary)
    theirs = sk.TfidfVectorizer(vocabulary=vocabulary)
    assert_same_csr(ours.fit_transform(docs), theirs.fit_transform(docs))
    assert_same_fit(ours, theirs)
    assert_same_csr(ours.transform(docs[:10]), theirs.transform(docs[:10]))


SLOW_PATH_PARAMS = [
    {"token_pattern": r"(?u)\b\w+\b"},
    {"preprocessor": lambda d: d.upper()},
    {"tokenizer": str.split, "token_pattern": None},
    {"analyzer": lambda d: d.split()[:3]},
    {"strip_accents": "unicode"},
    {"strip_accents": "ascii", "analyzer": "char_wb"},
]


@pytest.mark.parametrize("params", SLOW_PATH_PARAMS, ids=lambda p: repr(p)[:50])
def test_parameters_the_compiled_path_does_not_cover_are_honoured(params):
    docs = corpus()[:80]
    ours, theirs = mt.CountVectorizer(**params), sk.CountVectorizer(**params)
    assert_same_csr(ours.fit_transform(docs), theirs.fit_transform(docs))
    assert_same_fit(ours, theirs)


def test_bytes_documents_use_the_declared_encoding():
    docs = [d.encode("utf-8") for d in MULTILINGUAL[:8]]
    assert_same_csr(mt.CountVectorizer().fit_transform(docs),
                    sk.CountVectorizer().fit_transform(docs))
    latin = ["caf\xe9 na\xefve".encode("latin-1"), b"plain ascii"]
    assert_same_csr(mt.CountVectorizer(encoding="latin-1").fit_transform(latin),
                    sk.CountVectorizer(encoding="latin-1").fit_transform(latin))
    bad = [b"ok text", b"\xff\xfe broken \xc3 bytes"]
    assert_same_csr(mt.CountVectorizer(decode_error="ignore").fit_transform(bad),
                    sk.CountVectorizer(decode_error="ignore").fit_transform(bad))
    assert_same_csr(mt.HashingVectorizer(decode_error="replace").fit_transform(bad),
                    sk.HashingVectorizer(decode_error="replace").fit_transform(bad))


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_backends_agree(backend):
    docs = corpus()
    params = {"ngram_range": (1, 2), "min_df": 2, "sublinear_tf": True}
    ours = mt.TfidfVectorizer(backend=backend, **params)
    theirs = sk.TfidfVectorizer(**params)
    assert_same_csr(ours.fit_transform(docs), theirs.fit_transform(docs))
    assert_same_fit(ours, theirs)
    hv = {"n_features": 128}
    assert_same_csr(mt.HashingVectorizer(backend=backend, **hv).transform(docs),
                    sk.HashingVectorizer(**hv).transform(docs))


def test_lone_surrogates_fall_back_to_the_reference():
    docs = ["ok words here", "broken \ud800 surrogate text"]
    assert_same_csr(mt.CountVectorizer().fit_transform(docs),
                    sk.CountVectorizer().fit_transform(docs))


def test_input_containers():
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    pa = pytest.importorskip("pyarrow")
    docs = MULTILINGUAL
    expect = sk.TfidfVectorizer().fit_transform(docs)
    containers = [
        tuple(docs),
        np.array(docs),
        np.array(docs, dtype=object),
        pd.Series(docs),
        pd.Series(docs, dtype=object),
        pl.Series(docs),
        pa.array(docs),
        pa.array(docs, type=pa.large_string()),
        pa.chunked_array([docs[:5], docs[5:]]),
        pa.array(["dropped"] + docs).slice(1),
        iter(docs),
    ]
    for c in containers:
        assert_same_csr(mt.TfidfVectorizer().fit_transform(c), expect)
    # the reference path (a parameter the kernels do not cover, or backend="numpy")
    # reads the same containers
    pattern = r"(?u)\b\w+\b"
    expect = sk.HashingVectorizer(token_pattern=pattern).fit_transform(docs)
    for c in containers[:-1]:
        assert_same_csr(mt.HashingVectorizer(token_pattern=pattern).fit_transform(c), expect)
        assert_same_csr(mt.TfidfVectorizer(backend="numpy").fit_transform(c),
                        sk.TfidfVectorizer().fit_transform(docs))


def test_fit_on_batches_equals_fit_on_the_whole_corpus():
    docs = corpus()
    params = {"min_df": 2, "max_df": 0.6, "ngram_range": (1, 2)}
    whole = sk.TfidfVectorizer(**params).fit(docs)

    def batches():
        for i in range(0, len(docs), 37):
            yield docs[i:i + 37]

    ours = mt.TfidfVectorizer(**params).fit(batches())
    assert_same_fit(ours, whole)
    np.testing.assert_allclose(ours.idf_, whole.idf_, rtol=1e-12)
    streamed = ours.transform(batches())
    assert_same_csr(streamed, whole.transform(docs))
    cv = mt.CountVectorizer(**params).fit(batches())
    assert_same_fit(cv, sk.CountVectorizer(**params).fit(docs))
    hv = mt.HashingVectorizer(n_features=256)
    assert_same_csr(hv.transform(batches()), sk.HashingVectorizer(n_features=256).transform(docs))


def test_drop_in_api():
    ours = mt.TfidfVectorizer(ngram_range=(1, 2))
    assert isinstance(ours, sk.TfidfVectorizer)
    params = sk.TfidfVectorizer().get_params()
    assert {k: v for k, v in ours.get_params().items() if k != "backend"}.keys() == params.keys()
    X = ours.fit_transform(MULTILINGUAL)
    assert isinstance(X, sp.csr_matrix)
    inv = ours.inverse_transform(X[:2])
    ref = sk.TfidfVectorizer(ngram_range=(1, 2)).fit(MULTILINGUAL).inverse_transform(X[:2])
    for a, b in zip(inv, ref, strict=True):
        np.testing.assert_array_equal(a, b)
    from sklearn.base import clone

    assert clone(ours).get_params()["ngram_range"] == (1, 2)


def _ranges_of(step):
    """A stand-in for ``_cpu.parallel_for`` that runs the kernel over many small ranges."""

    def run(kernel, n, *args):
        for d0 in range(0, n, step):
            kernel(d0, min(n, d0 + step), *args)

    return run


@pytest.mark.parametrize("step", [1, 7, 10_000])
def test_vocabulary_merged_across_document_ranges_and_chunks(monkeypatch, step):
    """Per-range distinct n-grams merged in range order give scikit-learn's vocabulary,
    dict order included, however the documents are split into ranges and chunks."""
    from mmfeat.text import _cpu

    rng = np.random.default_rng(0)
    docs = corpus() * 3
    docs = [docs[i] for i in rng.permutation(len(docs))]
    monkeypatch.setattr(_cpu, "CHUNK_BYTES", 1 << 12)  # chunks of the 64 KiB minimum
    monkeypatch.setattr(_cpu, "parallel_for", _ranges_of(step))
    params = {"ngram_range": (1, 2), "min_df": 2}
    ours = mt.TfidfVectorizer(**params)
    theirs = sk.TfidfVectorizer(**params)
    assert_same_csr(ours.fit_transform(docs), theirs.fit_transform(docs))
    assert_same_fit(ours, theirs)


def _entries_with_a_forced_collision(docs, an, ws=None, doc_entries=None):
    """doc_entries of docs, with an n-gram of the last document given the hash of the
    first n-gram of the first document (a stand-in for a 64-bit hash collision).

    The victim differs in bytes and, as a real collision must, in length or in being
    longer than 8 bytes: up to 8 bytes, equal lengths and hashes prove equal bytes
    (``kernels.text._same_given_hash``), so that collision cannot happen.
    """
    from mmfeat.text import _cpu
    from mmfeat.text._input import to_buffers

    doc_entries = doc_entries or _cpu.doc_entries
    tb = to_buffers(docs) if isinstance(docs, list) else docs
    de = doc_entries(tb, an, ws)

    def span(e):
        return bytes(de.out[de.u_start[e] : de.u_start[e] + de.u_len[e]])

    first = de.ng_off[0]
    last = de.ng_off[len(tb) - 1]
    victims = [
        e
        for e in range(last, last + de.n_unique[len(tb) - 1])
        if span(e) != span(first) and (de.u_len[e] != de.u_len[first] or de.u_len[e] > 8)
    ]
    assert victims, "the corpus has no n-gram that could collide with the first"
    de.u_hash[victims[0]] = de.u_hash[first]
    return de


COLLIDING = [  # (corpus, later text): colliding n-grams of different lengths / > 8 bytes
    (["alpha beta", "beta", "gammas alpha"], "gammas delta"),
    (["alphabetical beta", "beta", "gammadeltaxy alphabetical"], "gammadeltaxy delta"),
]


@pytest.mark.parametrize("docs, later", COLLIDING)
@pytest.mark.parametrize("step", [1, 10_000])  # across ranges / within one range
def test_a_64_bit_hash_collision_is_detected_not_merged(monkeypatch, step, docs, later):
    from mmfeat.text import _cpu
    from mmfeat.text._input import to_buffers

    monkeypatch.setattr(_cpu, "parallel_for", _ranges_of(step))
    an = mt.CountVectorizer()._compiled_analysis()
    with pytest.raises(_cpu.HashCollision):
        _cpu.VocabularyBuilder().merge(_entries_with_a_forced_collision(docs, an))
    # a hash seen in an earlier chunk
    vb = _cpu.VocabularyBuilder()
    vb.merge(_cpu.doc_entries(to_buffers(docs[:1]), an))
    de = _cpu.doc_entries(to_buffers([later]), an)
    de.u_hash[0] = vb.term_hash[0]
    with pytest.raises(_cpu.HashCollision):
        vb.merge(de)
    # the same hash with the same bytes is a match, not a collision
    vb = _cpu.VocabularyBuilder()
    vb.merge(_cpu.doc_entries(to_buffers(docs), an))
    assert vb.n_terms == 3


def test_a_hash_match_is_verified_beyond_8_bytes_and_across_lengths():
    """doc_terms, the vocabulary merge and lookups accept a hash match through
    ``_same_given_hash``: lengths always compared, bytes beyond 8 bytes."""
    from mmfeat.kernels import text as K

    buf = np.frombuffer(b"alpha gammas alphabetical gammadeltaxy alphabetical", np.uint8)
    assert not K._same_given_hash(buf, 0, 5, buf, 6, 6)  # lengths differ
    assert not K._same_given_hash(buf, 13, 12, buf, 26, 12)  # 12 bytes each, differ
    assert K._same_given_hash(buf, 13, 12, buf, 39, 12)  # the same 12 bytes
    assert K._same_given_hash(buf, 0, 5, buf, 13, 5)  # "alpha": equal bytes


def test_hash64_is_injective_on_spans_of_up_to_8_bytes_of_one_length():
    """What ``_same_given_hash`` relies on (a bijection of the one zero-padded word):
    exhaustive on 2-byte spans, sampled on 1..8 bytes, at every offset in a word and
    at the buffer's end (the byte-wise read)."""
    from mmfeat.kernels import text as K

    pairs = np.array([(a, b) for a in range(256) for b in range(256)], np.uint8).ravel()
    offs = np.arange(0, pairs.shape[0] + 1, 2, dtype=np.int64)
    h = np.empty(offs.shape[0] - 1, np.uint64)
    K.hash_spans(0, h.shape[0], pairs, offs, h)
    assert np.unique(h).shape[0] == h.shape[0]
    rng = np.random.default_rng(0)
    for n in range(1, 9):
        words = np.unique(rng.integers(0, 256, (50_000, n), dtype=np.uint8), axis=0)
        buf = np.ascontiguousarray(words.ravel())
        offs = np.arange(0, buf.shape[0] + 1, n, dtype=np.int64)
        h = np.empty(words.shape[0], np.uint64)
        K.hash_spans(0, h.shape[0], buf, offs, h)
        assert np.unique(h).shape[0] == h.shape[0], n
        # the same bytes hash the same at an unaligned offset and at the very end
        shifted = np.concatenate([np.zeros(3, np.uint8), buf])
        h2 = np.empty_like(h)
        K.hash_spans(0, h.shape[0], shifted, offs + 3, h2)
        assert np.array_equal(h, h2), n


def test_a_hash_collision_falls_back_to_the_exact_path(monkeypatch):
    from mmfeat.text import _cpu

    docs = corpus()
    forced = functools.partial(_entries_with_a_forced_collision, doc_entries=_cpu.doc_entries)
    monkeypatch.setattr(_cpu, "doc_entries", forced)
    ours = mt.CountVectorizer()
    theirs = sk.CountVectorizer()
    assert_same_csr(ours.fit_transform(docs), theirs.fit_transform(docs))
    assert_same_fit(ours, theirs)


class _CudfSeriesStandIn:
    """What mmfeat uses of a ``cudf.Series`` of strings: its documented ``to_arrow()``
    (cuDF is not installable here; the class claims cuDF's module as a Series does)."""

    __module__ = "cudf.core.series"

    def __init__(self, docs):
        import pyarrow as pa

        self._arr = pa.array(docs)

    def __len__(self):
        return len(self._arr)

    def __iter__(self):  # as cuDF: a device Series refuses element-wise iteration
        raise TypeError("Series object is not iterable")

    def to_arrow(self):
        return self._arr


def test_cudf_string_series_through_arrow():
    docs = MULTILINGUAL + stdlib_paragraphs()[:40]
    expect = sk.TfidfVectorizer().fit_transform(docs)
    assert_same_csr(mt.TfidfVectorizer().fit_transform(_CudfSeriesStandIn(docs)), expect)
    batches = iter([_CudfSeriesStandIn(docs[:7]), _CudfSeriesStandIn(docs[7:])])
    ours = mt.TfidfVectorizer().fit(batches)
    assert_same_fit(ours, sk.TfidfVectorizer().fit(docs))
    with pytest.raises(TypeError, match=r"raw_documents\[3\] is None"):
        mt.TfidfVectorizer().fit_transform(_CudfSeriesStandIn(["a b", "c d", "e f", None]))
    # a parameter the compiled path does not cover takes the reference path
    pattern = r"(?u)\b\w+\b"
    assert_same_csr(mt.TfidfVectorizer(token_pattern=pattern).fit_transform(
        _CudfSeriesStandIn(docs)), sk.TfidfVectorizer(token_pattern=pattern).fit_transform(docs))


def test_chunks_reusing_a_workspace_of_garbage_give_scikit_learns_results(monkeypatch):
    """Many chunks, each taking its arrays from a Workspace whose memory is filled with
    junk on every take: no kernel may rely on zeroed or previous-chunk contents."""
    from mmfeat.text import _cpu

    take = _cpu.Workspace.take

    def poisoned_take(self, name, n, dtype):
        a = take(self, name, n, dtype)
        a.view(np.uint8)[:] = 0xA5
        return a

    def small_chunks(tb, factor):
        for a in range(0, len(tb), 23):
            yield a, min(len(tb), a + 23)

    def no_reference(self, docs, fixed):
        raise AssertionError("fell back to the reference path")

    monkeypatch.setattr(_cpu.Workspace, "take", poisoned_take)
    monkeypatch.setattr(_cpu, "_chunks", small_chunks)
    # a spurious HashCollision would hide junk behind the exact fallback
    monkeypatch.setattr(mt.CountVectorizer, "_count_reference", no_reference)
    docs = corpus()
    train, test = docs[::2], docs[1::2]
    for cls, params in [
        ("CountVectorizer", {"ngram_range": (1, 2)}),
        ("TfidfVectorizer", {"stop_words": "english", "min_df": 2}),
        ("CountVectorizer", {"analyzer": "char_wb", "ngram_range": (2, 4)}),
    ]:
        ours, theirs = getattr(mt, cls)(**params), getattr(sk, cls)(**params)
        assert_same_csr(ours.fit_transform(train), theirs.fit_transform(train))
        assert_same_fit(ours, theirs)
        assert_same_csr(ours.transform(test), theirs.transform(test))
    hv = {"n_features": 2**12, "ngram_range": (1, 2)}
    assert_same_csr(mt.HashingVectorizer(**hv).transform(docs),
                    sk.HashingVectorizer(**hv).transform(docs))
