"""scikit-learn behaviours at the edges of the vectorizers' parameters and inputs:
pre-tokenised documents from a generator, sklearn's global output settings, odd
n-gram ranges, integer dtypes with a norm, sublinear_tf on zeros and negatives."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from sklearn.feature_extraction import text as sk

import mmfeat.text as mt

BACKENDS = ["numpy", "cpu"]
DOCS = ["the cat sat on the mat", "dogs and cats", "a dog sat"]


def _same(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_allclose(a.toarray(), b.toarray(), rtol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("cls", ["CountVectorizer", "TfidfVectorizer", "HashingVectorizer"])
def test_pretokenised_documents_from_a_generator(backend, cls):
    # an iterable of lists is documents, not batches, when callables analyse them
    def ident(x):
        return x

    kw = dict(preprocessor=ident, tokenizer=ident, lowercase=False, token_pattern=None)
    docs = [["hello", "world"], ["foo"], ["hello", "foo", "foo"]]
    ours = getattr(mt, cls)(backend=backend, **kw)
    theirs = getattr(sk, cls)(**kw)
    if cls == "HashingVectorizer":
        _same(ours.transform(iter(docs)), theirs.transform(iter(docs)))
        return
    _same(ours.fit_transform(iter(docs)), theirs.fit_transform(iter(docs)))
    assert list(ours.get_feature_names_out()) == ["foo", "hello", "world"]
    _same(ours.transform(map(list, docs)), theirs.transform(map(list, docs)))


@pytest.mark.parametrize("backend", BACKENDS)
def test_global_pandas_output_leaves_sparse_outputs_alone(backend):
    with sklearn.config_context(transform_output="pandas"):
        X = mt.TfidfVectorizer(backend=backend).fit_transform(DOCS)
        assert sp.issparse(X)
        assert sp.issparse(mt.TfidfTransformer(backend=backend).fit_transform(np.eye(3)))
        assert sp.issparse(mt.HashingVectorizer(backend=backend).transform(DOCS))
        emb = mt.TextFeatures(n_components=2, backend=backend).fit_transform(DOCS)
        assert list(emb.columns) == ["text_lsa_0", "text_lsa_1"]  # its own output: pandas
    assert not hasattr(mt.TfidfTransformer(), "set_output")  # as scikit-learn's


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "analyzer, ngram_range",
    [("word", (0, 1)), ("word", (0, 2)), ("word", (0, 0)), ("word", (1, 2**62)),
     ("word", (2**40, 2**41)), ("char", (0, 2)), ("char_wb", (1, 200))],
)
def test_odd_ngram_ranges_equal_sklearn(backend, analyzer, ngram_range):
    # word n-grams of size 0 are empty strings in scikit-learn; huge ranges stop at each
    # document's length (the compiled kernels once corrupted memory / looped to max_n)
    kw = dict(analyzer=analyzer, ngram_range=ngram_range)
    try:
        want = sk.CountVectorizer(**kw).fit(DOCS)
    except ValueError as exc:  # e.g. an empty vocabulary: the same error
        with pytest.raises(ValueError, match=str(exc)[:30]):
            mt.CountVectorizer(backend=backend, **kw).fit(DOCS)
        return
    for _ in range(3):  # repeated: a memory error would show
        ours = mt.CountVectorizer(backend=backend, **kw)
        _same(ours.fit_transform(DOCS), want.transform(DOCS))
        assert list(ours.get_feature_names_out()) == list(want.get_feature_names_out())


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.int8, bool, np.float32])
def test_hashing_integer_dtype_with_a_norm_is_float64(backend, dtype):
    ours = mt.HashingVectorizer(n_features=8, dtype=dtype, backend=backend).transform(DOCS)
    _same(ours, sk.HashingVectorizer(n_features=8, dtype=dtype).transform(DOCS))
    raw = mt.HashingVectorizer(n_features=8, dtype=dtype, norm=None, backend=backend)
    assert raw.transform(DOCS).dtype == np.dtype(dtype)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("value, message", [(0.0, "infinity"), (-2.0, "NaN")])
def test_sublinear_tf_on_zero_or_negative_counts(backend, value, message):
    X = sp.csr_matrix(([3.0, value, 1.0], [0, 1, 2], [0, 3]), shape=(1, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(ValueError, match=f"Input contains {message}"):
            mt.TfidfTransformer(sublinear_tf=True, backend=backend).fit_transform(X)
        with pytest.raises(ValueError, match=f"Input contains {message}"):
            sk.TfidfTransformer(sublinear_tf=True).fit_transform(X)
        got = mt.TfidfTransformer(sublinear_tf=True, norm=None, backend=backend).fit_transform(X)
        want = sk.TfidfTransformer(sublinear_tf=True, norm=None).fit_transform(X)
    np.testing.assert_array_equal(got.data, want.data)  # -inf / NaN, as scikit-learn


@pytest.mark.parametrize("backend", BACKENDS)
def test_vocabulary_edited_after_a_transform_is_used(backend):
    docs = ["the cat cat sat on the mat", "a mat"]
    ours, theirs = mt.CountVectorizer(backend=backend).fit(docs), sk.CountVectorizer().fit(docs)
    ours.transform(docs)  # builds (and caches) the compiled look-up table
    for v in (ours.vocabulary_, theirs.vocabulary_):  # swap two columns in place
        v["cat"], v["mat"] = v["mat"], v["cat"]
    _same(ours.transform(docs), theirs.transform(docs))
    # a new dict of the same size in place of the old one
    new = {"the": 4, "cat": 3, "sat": 2, "on": 1, "mat": 0}
    del ours.vocabulary_
    ours.vocabulary_, theirs.vocabulary_ = dict(new), dict(new)
    _same(ours.transform(docs), theirs.transform(docs))
    for v in (ours.vocabulary_, theirs.vocabulary_):  # a plain dict edited in place
        v["the"], v["on"] = v["on"], v["the"]
    _same(ours.transform(docs), theirs.transform(docs))
    # the fixed vocabulary parameter: scikit-learn's own copy, edited through vocabulary_
    ours = mt.CountVectorizer(vocabulary=["cat", "mat"], backend=backend)
    theirs = sk.CountVectorizer(vocabulary=["cat", "mat"])
    _same(ours.transform(docs), theirs.transform(docs))
    for v in (ours.vocabulary_, theirs.vocabulary_):
        v["cat"], v["mat"] = 1, 0
    _same(ours.transform(docs), theirs.transform(docs))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kw", [dict(encoding="latin-1"), dict(decode_error="ignore"),
                                dict(decode_error="replace"), dict()])
def test_bytes_in_arrow_and_pandas_are_decoded_with_the_encoding(backend, kw):
    import pandas as pd
    import pyarrow as pa

    raw = [b"caf\xe9 ok", "naïve café".encode(), b"plain text"]
    try:
        want = sk.CountVectorizer(**kw).fit(raw)
    except UnicodeDecodeError:
        for container in (pa.array(raw, pa.binary()), pd.Series(raw)):
            # the compiled path names the document; the reference raises scikit-learn's
            match = "document 0" if backend == "cpu" else "can't decode"
            with pytest.raises(UnicodeDecodeError, match=match):
                mt.CountVectorizer(backend=backend, **kw).fit(container)
        return
    for container in (pa.array(raw, pa.binary()), pa.array(raw, pa.large_binary()),
                      pd.Series(raw)):
        ours = mt.CountVectorizer(backend=backend, **kw).fit(container)
        assert list(ours.get_feature_names_out()) == list(want.get_feature_names_out())


@pytest.mark.parametrize("backend", BACKENDS)
def test_sparse_interface_config_is_followed(backend):
    if "sparse_interface" not in sklearn.get_config():
        pytest.skip("this scikit-learn has no sparse_interface setting")
    X = np.array([[1, 0, 2], [0, 3, 1]])
    calls = {
        "CountVectorizer.fit_transform": lambda m: m.CountVectorizer().fit_transform(DOCS),
        "CountVectorizer.transform": lambda m: m.CountVectorizer().fit(DOCS).transform(DOCS),
        "TfidfVectorizer.fit_transform": lambda m: m.TfidfVectorizer().fit_transform(DOCS),
        "TfidfVectorizer.transform": lambda m: m.TfidfVectorizer().fit(DOCS).transform(DOCS),
        "HashingVectorizer.transform": lambda m: m.HashingVectorizer().transform(DOCS),
        "TfidfTransformer.fit_transform": lambda m: m.TfidfTransformer().fit_transform(X),
    }
    with mt_backend(backend):
        for interface in ("sparray", "spmatrix"):
            with sklearn.config_context(sparse_interface=interface):
                for name, call in calls.items():
                    ours, theirs = call(mt), call(sk)
                    assert type(ours) is type(theirs), (name, interface)
                    np.testing.assert_allclose(ours.toarray(), theirs.toarray())


def mt_backend(backend):
    import mmfeat

    return mmfeat.use_backend(backend)


@pytest.mark.parametrize("container", ["numpy_str", "pandas_object"])
def test_lone_surrogates_in_numpy_and_pandas_take_the_reference(container):
    import pandas as pd

    docs = ["ab\ud800cd ef", "ef gh"]
    c = np.array(docs) if container == "numpy_str" else pd.Series(docs, dtype=object)
    ours = mt.CountVectorizer(backend="cpu")
    _same(ours.fit_transform(c), sk.CountVectorizer().fit_transform(docs))
    _same(mt.HashingVectorizer(backend="cpu").transform(c), sk.HashingVectorizer().transform(docs))


@pytest.mark.parametrize(
    "kw",
    [dict(stop_words=["the", None]), dict(stop_words=["the", 3, b"cat"]),
     dict(stop_words=["the", "\ud800"]), dict(vocabulary={"cat": 0.0, "mat": 1.0})],
)
def test_odd_stop_words_and_vocabulary_values(kw):
    docs = ["the cat sat on the mat", "mat the"]
    _same(mt.CountVectorizer(backend="cpu", **kw).fit_transform(docs),
          sk.CountVectorizer(**kw).fit_transform(docs))


def test_a_bytes_vocabulary_term_matches_no_token():
    docs = ["the cat sat on the mat"]
    ours = mt.CountVectorizer(vocabulary=["cat", b"mat"], lowercase=False, backend="cpu")
    theirs = sk.CountVectorizer(vocabulary=["cat", b"mat"], lowercase=False)
    _same(ours.transform(docs), theirs.transform(docs))


def test_invalid_analyzer_set_after_fit_gives_sklearns_error():
    for lib in (mt, sk):
        v = lib.CountVectorizer().fit(DOCS)
        v.set_params(analyzer="bogus")
        with pytest.raises(ValueError, match="bogus is not a valid tokenization scheme"):
            v.transform(DOCS)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [None, str, object, np.float16])
@pytest.mark.parametrize("cls", ["CountVectorizer", "TfidfVectorizer", "HashingVectorizer"])
def test_unusual_dtypes_as_sklearn(backend, dtype, cls):
    # None keeps scikit-learn's C-int counts; scipy.sparse refuses the others
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            want = getattr(sk, cls)(dtype=dtype).fit_transform(DOCS)
        except ValueError as exc:
            with pytest.raises(ValueError, match="scipy.sparse does not support dtype"):
                getattr(mt, cls)(dtype=dtype, backend=backend).fit_transform(DOCS)
            assert "scipy.sparse does not support dtype" in str(exc)
            return
        _same(getattr(mt, cls)(dtype=dtype, backend=backend).fit_transform(DOCS), want)
