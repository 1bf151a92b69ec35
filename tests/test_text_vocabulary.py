"""``vocabulary_`` after a compiled fit: Arrow strings until read, then scikit-learn's dict."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.feature_extraction import text as sk
from sklearn.utils.validation import check_is_fitted

import mmfeat.text as mt

TRAIN = [
    "The quick brown fox jumps over the lazy dog",
    "Der schnelle braune Fuchs springt über den faulen Hund",
    "東京 は 日本 の 首都 です 東京",
    "the dog barks; the fox runs",
]
TEST = ["a lazy fox and a quick dog", "Hund und Fuchs", "nothing known here"]


def _pending(vec) -> bool:
    from mmfeat.text._vocabulary import PendingVocabulary

    return isinstance(vars(vec).get("_vocabulary"), PendingVocabulary)


def _same(a, b):
    assert (a != b).nnz == 0 and a.shape == b.shape
    np.testing.assert_array_equal(a.indices, b.indices)


@pytest.mark.parametrize("cls", ["CountVectorizer", "TfidfVectorizer"])
@pytest.mark.parametrize("params", [{}, {"ngram_range": (1, 2), "max_features": 7}, {"min_df": 2}])
def test_transform_and_names_do_not_need_the_dict(cls, params):
    ours, theirs = getattr(mt, cls)(**params), getattr(sk, cls)(**params)
    _same(ours.fit_transform(TRAIN), theirs.fit_transform(TRAIN))
    assert _pending(ours)
    check_is_fitted(ours)
    np.testing.assert_array_equal(ours.get_feature_names_out(), theirs.get_feature_names_out())
    _same(ours.transform(TEST), theirs.transform(TEST))
    assert _pending(ours)  # neither made the dict
    vocab = ours.vocabulary_
    assert not _pending(ours) and ours.vocabulary_ is vocab  # made once, then kept
    assert list(vocab.items()) == list(theirs.vocabulary_.items())
    assert [type(v) for v in vocab.values()] == [type(v) for v in theirs.vocabulary_.values()]
    _same(ours.transform(TEST), theirs.transform(TEST))


def test_pickle_before_and_after_the_dict_is_made():
    vec = mt.TfidfVectorizer(ngram_range=(1, 2)).fit(TRAIN)
    expect = vec.transform(TEST)
    copy = pickle.loads(pickle.dumps(vec))
    assert _pending(copy) and "_mm_fixed_table" not in vars(copy)
    _same(copy.transform(TEST), expect)
    assert copy.vocabulary_ == vec.vocabulary_
    again = pickle.loads(pickle.dumps(vec))
    assert not _pending(again) and again.vocabulary_ == vec.vocabulary_
    _same(again.transform(TEST), expect)


def test_the_attribute_behaves_as_an_attribute():
    vec = mt.CountVectorizer()
    assert not hasattr(vec, "vocabulary_")
    with pytest.raises(AttributeError, match="vocabulary_"):
        vec.vocabulary_  # noqa: B018
    vec.fit(TRAIN)
    assert hasattr(vec, "vocabulary_")
    # a vocabulary set by hand is what transform uses, as in scikit-learn
    vec.vocabulary_ = {"fox": 0, "dog": 1}
    assert vec.transform(["fox dog dog cat"]).toarray().tolist() == [[1, 2]]
    del vec.vocabulary_
    assert not hasattr(vec, "vocabulary_")
    with pytest.raises(AttributeError):
        del vec.vocabulary_
    assert clone(mt.CountVectorizer().fit(TRAIN)).get_params() == mt.CountVectorizer().get_params()


def test_a_fixed_vocabulary_is_a_dict_from_the_start():
    vec = mt.CountVectorizer(vocabulary=["fox", "dog"]).fit(TRAIN)
    assert not _pending(vec) and vec.vocabulary_ == {"fox": 0, "dog": 1}
    assert isinstance(vec.transform(TEST), sp.csr_matrix)
