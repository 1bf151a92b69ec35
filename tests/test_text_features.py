"""TextFeatures: TF-IDF + seeded LSA (or a user's embedding) -> float32 (N, k)."""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction import text as sk

from mmfeat.text import TextFeatures, TfidfVectorizer

DOCS = [
    "the cat sat on the mat", "dogs chase cats in the park", "the mat is red and soft",
    "a dog and a cat are friends", "parks have trees and dogs", "red trees in autumn",
    "soft cats sleep all day", "the friends walk in the park", "autumn leaves are red",
    "a day in the park with dogs",
]


def test_lsa_equals_sklearn_pipeline_and_is_seeded():
    tf = TextFeatures(vectorizer=TfidfVectorizer(ngram_range=(1, 2)), n_components=4,
                      random_state=3)
    Z = tf.fit_transform(DOCS)
    assert Z.dtype == np.float32 and Z.shape == (10, 4) and tf.n_components_ == 4
    X = sk.TfidfVectorizer(ngram_range=(1, 2)).fit_transform(DOCS)
    ref = TruncatedSVD(4, algorithm="randomized", n_iter=5, random_state=3).fit_transform(X)
    np.testing.assert_allclose(Z, ref, rtol=1e-5, atol=1e-6)
    again = TextFeatures(vectorizer=TfidfVectorizer(ngram_range=(1, 2)), n_components=4,
                         random_state=3)
    np.testing.assert_array_equal(Z, again.fit_transform(DOCS))
    np.testing.assert_allclose(tf.transform(DOCS), Z, rtol=1e-5, atol=1e-6)
    assert tf.transform(["a new cat"]).shape == (1, 4)
    assert list(tf.get_feature_names_out()) == [f"text_lsa_{i}" for i in range(4)]


def test_small_corpus_clamps_components():
    tf = TextFeatures(n_components=128)
    Z = tf.fit_transform(DOCS[:3])
    assert tf.n_components_ == 3 and Z.shape == (3, 3)
    assert len(tf.get_feature_names_out()) == 3
    one = TextFeatures(n_components=8)
    assert one.fit_transform(["aa aa", "aa"]).shape == (2, 1)
    assert one.transform(["aa", "bb"]).shape == (2, 1)


def test_embedding_replaces_lsa():
    def embed(docs):
        return np.array([[len(d), d.count(" "), 1.0] for d in docs])

    tf = TextFeatures(embedding=embed)
    Z = tf.fit_transform(DOCS)
    assert Z.dtype == np.float32 and Z.shape == (10, 3)
    np.testing.assert_array_equal(tf.transform(DOCS[:2]), embed(DOCS[:2]).astype(np.float32))
    assert list(tf.get_feature_names_out()) == ["text_emb_0", "text_emb_1", "text_emb_2"]


def test_params_round_trip():
    from sklearn.base import clone

    tf = TextFeatures(vectorizer=TfidfVectorizer(min_df=2, sublinear_tf=True), n_components=5)
    c = clone(tf)
    assert c.get_params(deep=False).keys() == tf.get_params(deep=False).keys()
    assert c.get_params()["vectorizer__min_df"] == 2
    assert c.vectorizer is not tf.vectorizer  # clone clones the vectorizer too
    c.set_params(n_components=2, vectorizer__min_df=1)
    assert c.fit_transform(DOCS).shape == (10, 2)
    assert len(c.vectorizer_.vocabulary_) > len(tf.fit(DOCS).vectorizer_.vocabulary_)
    assert tf.vectorizer.min_df == 2 and not hasattr(tf.vectorizer, "vocabulary_")
