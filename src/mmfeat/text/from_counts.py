"""A TF-IDF vectorizer fitted from corpus counts instead of documents.

:func:`mmfeat.distributed.fit_tfidf` reduces per-partition document and term
frequencies across a cluster; :func:`tfidf_from_counts` turns those totals into
the vectorizer scikit-learn's ``fit`` would have learned from all the documents
at once: the same pruning (``min_df``, ``max_df``, ``max_features``, with ties
broken the same way), the same vocabulary dict and the same ``idf_`` bits.
Works for mmfeat's and scikit-learn's ``TfidfVectorizer``.
"""

from __future__ import annotations

import numpy as np

# scikit-learn's CountVectorizer parameters that decide which terms a document has
_ANALYZER_PARAMS = (
    "input", "encoding", "decode_error", "strip_accents", "lowercase", "preprocessor",
    "tokenizer", "stop_words", "token_pattern", "ngram_range", "analyzer", "backend",
)


def counting_vectorizer(vec, **params):
    """A CountVectorizer of the same family (mmfeat's or scikit-learn's) with ``vec``'s
    analyzer, counting exactly (int64, no pruning)."""
    from sklearn.feature_extraction.text import CountVectorizer as SkCount

    from .vectorizers import CountVectorizer, TfidfVectorizer

    cls = CountVectorizer if isinstance(vec, TfidfVectorizer) else SkCount
    names = set(cls().get_params())
    own = {k: v for k, v in vec.get_params(deep=False).items()
           if k in _ANALYZER_PARAMS and k in names}
    return cls(**own, dtype=np.int64, **params)


def tfidf_from_counts(vec, terms, df, tf, n_docs: int):
    """A copy of ``vec`` (an unfitted TfidfVectorizer) fitted from corpus counts.

    Parameters
    ----------
    vec : mmfeat.text.TfidfVectorizer or sklearn TfidfVectorizer
        Not modified.
    terms : (n_terms,) object array of str
        Every distinct term of the corpus under ``vec``'s analyzer, in order of
        first occurrence (the order scikit-learn's dict keeps), unique.
    df, tf : (n_terms,) int64
        Documents holding each term, and its total count.
    n_docs : int
        Documents in the corpus.

    Returns
    -------
    The fitted vectorizer: ``vocabulary_``, ``idf_`` (with ``use_idf``) and the
    rest of ``fit``'s state, equal to fitting ``vec`` on the documents.
    """
    vocab, col_df = _vocabulary(np.asarray(terms, dtype=object), np.asarray(df, np.int64),
                                np.asarray(tf, np.int64), int(n_docs), vec)
    return _fitted_copy(vec, vocab, col_df, int(n_docs))


def _vocabulary(terms, df_counts, tf_counts, n_docs, vec):
    """(vocabulary dict, df per column) as scikit-learn's fit would prune them.

    Mirrors ``CountVectorizer._limit_features`` on the alphabetically sorted
    columns: the same thresholds, and for ``max_features`` the same argsort of
    the same array, so ties between equally frequent terms break the same way.
    """
    n_terms = len(terms)
    if vec.vocabulary is not None:
        # fixed vocabulary: the counter's columns are the user's, in order
        vocab = dict(counting_vectorizer(vec, vocabulary=vec.vocabulary).fit([]).vocabulary_)
        df = np.zeros(len(vocab), np.int64)
        cols = np.fromiter((vocab[t] for t in terms), np.int64, n_terms)
        df[cols] = df_counts
        return vocab, df
    if n_terms == 0:
        raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
    from ._vocabulary import prune

    alpha = np.argsort(terms)  # terms are unique: any sort gives this order
    col_of = prune(df_counts, tf_counts, alpha, n_docs, vec)
    kept = np.flatnonzero(col_of >= 0)  # first-occurrence order, like scikit-learn's dict
    cols = col_of[kept]
    # scikit-learn's values are NumPy ints when max_features pruned last, else ints
    values = list(cols) if vec.max_features is not None else cols.tolist()
    vocab = dict(zip(terms[kept].tolist(), values, strict=True))
    df = np.zeros(kept.shape[0], np.int64)
    df[cols] = df_counts[kept]
    return vocab, df


def _idf(df: np.ndarray, n_samples: int, dtype, smooth_idf: bool) -> np.ndarray:
    """scikit-learn's ``TfidfTransformer.fit`` arithmetic, step for step (same bits)."""
    dtype = dtype if dtype in (np.float64, np.float32) else np.float64
    df = df.astype(dtype, copy=True)
    df += float(smooth_idf)
    n_samples += int(smooth_idf)
    idf = np.full_like(df, fill_value=n_samples, dtype=dtype)
    idf /= df
    np.log(idf, out=idf)
    idf += 1.0
    return idf


def _fitted_copy(vec, vocab, df, n_docs):
    """A copy of ``vec`` fitted by its learned vocabulary and idf (not by documents)."""
    from sklearn.base import clone
    from sklearn.feature_extraction.text import TfidfTransformer as SkTfidfTransformer

    out = clone(vec)
    if hasattr(out, "_check_params"):  # mmfeat's parameter checks run in fit
        out._check_params()
    out._validate_vocabulary()  # sets fixed_vocabulary_ as fit does
    out.vocabulary_ = vocab
    if hasattr(out, "_new_tfidf"):  # mmfeat: the compiled transformer
        tfidf = out._new_tfidf()
    else:
        tfidf = SkTfidfTransformer(norm=out.norm, use_idf=out.use_idf,
                                   smooth_idf=out.smooth_idf, sublinear_tf=out.sublinear_tf)
    tfidf.n_features_in_ = len(vocab)
    if out.use_idf:
        tfidf.idf_ = _idf(df, n_docs, np.dtype(out.dtype).type, out.smooth_idf)
    out._tfidf = tfidf
    return out
