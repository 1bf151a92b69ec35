"""Bad input to the text vectorizers: scikit-learn's errors, or clearer ones naming the document."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction import text as sk
from sklearn.utils._param_validation import InvalidParameterError

import mmfeat.text as mt

VECTORIZERS = [mt.CountVectorizer, mt.TfidfVectorizer, mt.HashingVectorizer]


@pytest.mark.parametrize("cls", VECTORIZERS)
def test_nan_document_names_its_position(cls):
    with pytest.raises(ValueError, match=r"np.nan is an invalid document.*document 2"):
        cls().fit_transform(["a cat", "a dog", np.nan])


@pytest.mark.parametrize("cls", VECTORIZERS)
@pytest.mark.parametrize("bad", [None, 3, 2.5, ["a", "list"]])
def test_non_string_document_names_its_position(cls, bad):
    with pytest.raises(TypeError, match=r"raw_documents\[1\]"):
        cls().fit_transform(["a cat", bad, "a dog"])


def test_null_in_arrow_and_pandas_inputs():
    pa = pytest.importorskip("pyarrow")
    pd = pytest.importorskip("pandas")
    with pytest.raises(TypeError, match=r"raw_documents\[1\]"):
        mt.CountVectorizer().fit_transform(pa.array(["ab cd", None]))
    with pytest.raises((TypeError, ValueError), match=r"document 1|raw_documents\[1\]"):
        mt.CountVectorizer().fit_transform(pd.Series(["ab cd", None]))


def test_undecodable_bytes_name_the_document():
    with pytest.raises(UnicodeDecodeError, match="document 1"):
        mt.CountVectorizer().fit_transform([b"fine", b"\xff\xfe bad"])


def test_single_string_is_rejected_like_sklearn():
    for cls in VECTORIZERS:
        with pytest.raises(ValueError, match="Iterable over raw text documents expected"):
            cls().fit_transform("just one string")


def test_empty_corpus_and_empty_strings():
    for docs in ([], ["", ""], ["a", "!"]):
        with pytest.raises(ValueError, match="empty vocabulary"):
            mt.CountVectorizer().fit_transform(docs)
        with pytest.raises(ValueError, match="empty vocabulary"):
            sk.CountVectorizer().fit_transform(docs)
    with pytest.raises(ValueError, match="Cannot vectorize empty sequence"):
        mt.HashingVectorizer().fit_transform([])
    X = mt.HashingVectorizer().fit_transform(["", ""])
    assert X.shape == (2, 2**20) and X.nnz == 0
    X = mt.CountVectorizer().fit(["ab cd"]).transform(["", "zz"])
    assert X.shape == (2, 2) and X.nnz == 0


def test_vocabulary_emptied_by_pruning():
    with pytest.raises(ValueError, match="After pruning, no terms remain"):
        mt.CountVectorizer(min_df=3).fit_transform(["ab cd", "ab", "cd ef"])


def test_min_df_above_max_df():
    with pytest.raises(ValueError, match="max_df corresponds to < documents than min_df"):
        mt.CountVectorizer(min_df=2, max_df=1).fit_transform(["ab cd", "ab"])


def test_fixed_vocabulary_with_duplicates_or_gaps():
    with pytest.raises(ValueError, match="Duplicate term in vocabulary: 'ab'"):
        mt.CountVectorizer(vocabulary=["ab", "cd", "ab"]).fit_transform(["ab cd"])
    with pytest.raises(ValueError, match="doesn't contain index 1"):
        mt.CountVectorizer(vocabulary={"ab": 0, "cd": 2}).fit_transform(["ab cd"])
    with pytest.raises(ValueError, match="empty vocabulary passed to fit"):
        mt.CountVectorizer(vocabulary=[]).fit_transform(["ab cd"])


def test_parameter_validation_is_sklearns():
    with pytest.raises(InvalidParameterError, match="'min_df' parameter"):
        mt.CountVectorizer(min_df=-1).fit_transform(["ab cd"])
    with pytest.raises(InvalidParameterError, match="'norm' parameter"):
        mt.TfidfVectorizer(norm="l3").fit_transform(["ab cd"])
    with pytest.raises(InvalidParameterError, match="'n_features' parameter"):
        mt.HashingVectorizer(n_features=0).fit_transform(["ab cd"])
    with pytest.raises(InvalidParameterError, match="'backend' parameter"):
        mt.CountVectorizer(backend="gpu").fit_transform(["ab cd"])
    with pytest.raises(ValueError, match="lower boundary larger than the upper boundary"):
        mt.CountVectorizer(ngram_range=(3, 2)).fit_transform(["ab cd"])


def test_transform_before_fit():
    with pytest.raises(NotFittedError):
        mt.CountVectorizer().transform(["ab"])
    with pytest.raises(NotFittedError):
        mt.TfidfVectorizer().transform(["ab"])


def test_cuda_backend_is_refused_with_a_reason():
    with pytest.raises(ValueError, match="backend='cuda' is not available for the text"):
        mt.CountVectorizer(backend="cuda").fit_transform(["ab cd"])


def test_text_features_checks():
    with pytest.raises(ValueError, match="n_components must be an int >= 1"):
        mt.TextFeatures(n_components=0).fit_transform(["ab cd"])
    with pytest.raises(TypeError, match="embedding must be a callable"):
        mt.TextFeatures(embedding="model").fit_transform(["ab cd"])
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) \['n_gram_range'\]"):
        mt.TextFeatures(n_gram_range=(1, 2))
    with pytest.raises(TypeError, match=r"pass vectorizer=TfidfVectorizer\(ngram_range=\(1, 2\)\)"):
        mt.TextFeatures(ngram_range=(1, 2))
    with pytest.raises(TypeError, match="vectorizer must be a TfidfVectorizer"):
        mt.TextFeatures(vectorizer=mt.CountVectorizer()).fit(["ab cd"])
    with pytest.raises(ValueError, match=r"embedding returned shape \(3,\)"):
        mt.TextFeatures(embedding=lambda d: np.zeros(3)).fit_transform(["a", "b"])
