"""The text vectorizers with backend="cuda" on a real GPU, against scikit-learn.

Every test is marked ``gpu``: the root conftest skips them unless CuPy imports and
sees a CUDA device (and the simulator is off). Run them alone with
``pytest -m gpu tests/test_text_gpu.py``. The corpus is larger than the simulator
tests' (thousands of multilingual documents, the standard library's docstrings).
"""

from __future__ import annotations

import inspect
import json
import os
import re

import numpy as np
import pyarrow as pa
import pytest
from sklearn.feature_extraction import text as sk

from mmfeat import text as mt

pytestmark = pytest.mark.gpu

N_GENERATED = 4000
ALPHABET = list("abcdefghijklmnopqrstuvwxyz") + list("éüßçñøİΣσςÅåДжЖ東京語ひらがな") + ["_", "7"]


@pytest.fixture(scope="module")
def cp():
    return pytest.importorskip("cupy")


@pytest.fixture(scope="module")
def corpus():
    rng = np.random.default_rng(7)
    words = ["".join(rng.choice(ALPHABET, size=rng.integers(1, 9))) for _ in range(3000)]
    seps = [" ", " ", " ", ", ", ". ", "\n", "\t", " - ", "\u00a0", "!"]
    docs = []
    for _ in range(N_GENERATED):
        tokens = []
        for _ in range(int(rng.integers(0, 40))):
            w = words[int(rng.integers(len(words)))]
            tokens.append((w.upper() if rng.random() < 0.2 else w) + seps[int(rng.integers(10))])
        docs.append("".join(tokens))
    for mod in (os, re, json, inspect):  # real English text that ships with Python
        docs.extend(inspect.getdoc(getattr(mod, name)) or "" for name in dir(mod)
                    if not name.startswith("_"))
    return docs


def assert_same_on_device(got, want):
    assert type(got).__module__.split(".")[0] == "cupyx", type(got)
    got = got.get()
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(got.indptr, want.indptr)
    np.testing.assert_array_equal(got.indices, want.indices)
    np.testing.assert_allclose(got.data, want.data, rtol=0, atol=1e-6)


@pytest.mark.parametrize("params", [
    {},
    {"n_features": 2**12, "ngram_range": (1, 2)},
    {"norm": "l1", "binary": True, "dtype": np.float32},
    {"norm": None, "alternate_sign": False},
])
def test_hashing_vectorizer_matches_sklearn(cp, corpus, params):
    want = sk.HashingVectorizer(**params).transform(corpus)
    assert_same_on_device(mt.HashingVectorizer(backend="cuda", **params).transform(corpus), want)
    got = mt.HashingVectorizer(backend="cuda", **params).transform(pa.array(corpus))
    assert_same_on_device(got, want)


@pytest.mark.parametrize("params", [{}, {"ngram_range": (1, 2), "min_df": 2, "sublinear_tf": True}])
def test_tfidf_vectorizer_matches_sklearn(cp, corpus, params):
    half = len(corpus) // 2
    want = sk.TfidfVectorizer(**params)
    got = mt.TfidfVectorizer(backend="cuda", **params)
    assert_same_on_device(got.fit_transform(corpus[:half]), want.fit_transform(corpus[:half]))
    assert got.vocabulary_ == want.vocabulary_
    assert_same_on_device(got.transform(corpus[half:]), want.transform(corpus[half:]))


def test_count_vectorizer_matches_sklearn(cp, corpus):
    params = {"dtype": np.float32, "max_features": 500}
    want = sk.CountVectorizer(**params).fit(corpus)
    got = mt.CountVectorizer(backend="cuda", **params).fit(corpus)
    assert_same_on_device(got.transform(corpus), want.transform(corpus))


def test_tfidf_transformer_takes_cupyx_csr(cp, corpus):
    import cupyx.scipy.sparse as csp

    counts = sk.CountVectorizer(dtype=np.float64).fit_transform(corpus)
    want = sk.TfidfTransformer().fit(counts)
    got = mt.TfidfTransformer().fit(csp.csr_matrix(counts))  # backend from the input
    np.testing.assert_allclose(got.idf_, want.idf_, rtol=0, atol=1e-12)
    assert_same_on_device(got.transform(csp.csr_matrix(counts)), want.transform(counts))
