"""The reference path (backend="numpy"): plain Python and NumPy, short and readable.

Each document goes through the vectorizer's own analyzer (``build_analyzer``:
decoding, preprocessing, tokenizing with ``re``, stop words, n-grams); counting,
document frequencies and the matrix are built here. It is the oracle for the
compiled path and the path for what that one does not compile (a custom
``token_pattern``, ``preprocessor``, ``tokenizer`` or callable ``analyzer``,
``strip_accents``, ``input="file"``/``"filename"``).

The functions :mod:`mmfeat.text._dispatch` lists take a
:class:`~mmfeat.text._spec.TextSpec`; the compiled backends (``_cpu``, ``_cuda``)
expose the same ones, and raise :class:`~mmfeat.text._input.NeedsReference` for
what only this path can take.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import scipy.sparse as sp
from sklearn.utils import murmurhash3_32

from ._input import python_documents
from ._spec import TextSpec
from ._vocabulary import PendingVocabulary


class Counted:
    """Per-document term counts and the vocabulary they index.

    ``terms`` lists the vocabulary in id order (ids in order of first occurrence,
    or the fixed vocabulary's columns), ``doc_off`` (n_docs + 1) delimits each
    document's entries in ``u_term`` / ``u_count``.
    """

    def __init__(self, n_docs, terms, df, tf, doc_off, u_term, u_count):
        self.n_docs = n_docs
        self.terms = terms
        self.df = df
        self.tf = tf
        self.doc_off = doc_off
        self.u_term = u_term
        self.u_count = u_count


def count_features(analyze: Callable, docs: Iterable, fixed: dict | None) -> Counted:
    """Count the analyzer's features per document (fixed: a term -> column mapping)."""
    vocab: dict = {} if fixed is None else fixed
    u_term: list[int] = []
    u_count: list[int] = []
    doc_off = [0]
    for doc in docs:
        counter: dict[int, int] = {}
        for feature in analyze(doc):
            if fixed is None:
                idx = vocab.setdefault(feature, len(vocab))
            else:
                idx = vocab.get(feature)
                if idx is None:
                    continue
            counter[idx] = counter.get(idx, 0) + 1
        u_term.extend(counter)
        u_count.extend(counter.values())
        doc_off.append(len(u_term))
    terms = list(vocab) if fixed is None else None
    n_terms = len(vocab)
    t = np.asarray(u_term, np.int64)
    c = np.asarray(u_count, np.int64)
    df = np.bincount(t, minlength=n_terms).astype(np.int64)
    tf = np.bincount(t, weights=c, minlength=n_terms).astype(np.int64)
    return Counted(len(doc_off) - 1, terms, df, tf, np.asarray(doc_off, np.int64), t, c)


def alphabetical(terms: list[str]) -> np.ndarray:
    """Term ids in Python's ``sorted`` order of the terms."""
    return np.asarray(sorted(range(len(terms)), key=terms.__getitem__), np.int64)


# --- the backend functions (see mmfeat.text._dispatch) ---------------------------------


def check_params(spec: TextSpec, dtype) -> None:
    """Every parameter is honoured here."""


def vocabulary_table(vocabulary) -> dict:
    """The term -> column mapping :func:`count` looks terms up in."""
    return vocabulary.as_dict() if isinstance(vocabulary, PendingVocabulary) else vocabulary


def table_scope():
    """What a cached :func:`vocabulary_table` is valid for besides the vocabulary: nothing."""
    return None


def count(docs, spec: TextSpec, batches: bool, table, keep_entries: bool, dtype=None,
          stage=None) -> Counted:
    """Terms counted per document with scikit-learn's own analyzer.

    ``docs``: one collection of documents, or (``batches``) an iterable of them;
    ``table``: None to learn the vocabulary (first-occurrence order), or
    :func:`vocabulary_table`'s mapping. ``keep_entries``, ``dtype``, ``stage``: unused
    here (the entries are always kept).
    """
    if batches:
        docs = (doc for batch in docs for doc in python_documents(batch))
    docs = python_documents(docs)
    analyze = spec.build_analyzer()
    if table is not None:
        c = count_features(analyze, docs, table)
        c.terms = None
        return c
    return count_features(analyze, docs, None)


def sort_terms(names: list[str]) -> np.ndarray:
    """Term ids in alphabetical (Python ``sorted``) order."""
    return alphabetical(names)


def assemble_csr(n_docs, doc_off, u_term, u_count, col_of, order_key, binary, n_cols, dtype):
    """Row d = its terms with col_of >= 0, in order of ``order_key[term]``."""
    rows = np.repeat(np.arange(n_docs), np.diff(doc_off))
    keep = col_of[u_term] >= 0 if u_term.size else np.zeros(0, bool)
    rows, terms, counts = rows[keep], u_term[keep], u_count[keep]
    order = np.lexsort((order_key[terms], rows))
    indptr = np.zeros(n_docs + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=n_docs), out=indptr[1:])
    data = np.ones(order.size, np.int64) if binary else counts[order]
    idx_t = np.int32 if indptr[-1] <= np.iinfo(np.int32).max else np.int64
    X = sp.csr_matrix((n_docs, n_cols), dtype=dtype)
    X.data = data.astype(dtype)
    X.indices = col_of[terms[order]].astype(idx_t)
    X.indptr = indptr.astype(idx_t)
    return X


def hashing_transform(docs, spec: TextSpec, n_features: int, alternate_sign: bool, binary: bool,
                      norm, dtype):
    """HashingVectorizer's (n_documents, n_features) CSR, analyzed by scikit-learn."""
    parts = hashing_counts(spec.build_analyzer(), python_documents(docs), n_features,
                           alternate_sign)
    return hashed_csr(parts, n_features, dtype, binary, norm, tfidf)


def hashed_csr(parts, n_features: int, dtype, binary: bool, norm, normalize):
    """The CSR of hashed counts ``parts`` = (doc_off, index, value), as scikit-learn's:
    sorted indices, ``dtype``, ``binary``, rows normalised by ``normalize(X, None,
    False, norm)`` (float64 first for non-float dtypes, as its ``normalize()``)."""
    doc_off, idx, val = parts
    n_docs = doc_off.shape[0] - 1
    if n_docs == 0:
        raise ValueError("Cannot vectorize empty sequence.")
    idx_t = np.int32 if doc_off[-1] <= np.iinfo(np.int32).max else np.int64
    X = sp.csr_matrix((n_docs, n_features), dtype=dtype)
    if np.dtype(dtype) == np.bool_:
        # scikit-learn sums bool values: every stored bucket is True, one whose
        # signed counts cancel included
        X.data = np.ones(val.shape[0], dtype=np.bool_)
    else:
        X.data = val.astype(dtype)
    X.indices = idx.astype(idx_t)
    X.indptr = doc_off.astype(idx_t)
    X.has_sorted_indices = True
    if binary:
        X.data.fill(1)
    if norm is not None and X.dtype.kind != "f":
        # scikit-learn's normalize() works on (and returns) float64 for other dtypes
        X = X.astype(np.float64)
    if norm is not None:
        normalize(X, None, False, norm)
    return X


def hashing_counts(analyze: Callable, docs: Iterable, n_features: int, alternate_sign: bool):
    """(doc_off, index, value) per document: summed signed MurmurHash3 buckets, sorted."""
    doc_off = [0]
    idx_all: list[int] = []
    val_all: list[int] = []
    for doc in docs:
        acc: dict[int, int] = {}
        for feature in analyze(doc):
            h = murmurhash3_32(feature.encode("utf-8"), seed=0)
            if h == -(2**31):  # abs() would overflow int32: scikit-learn's special case
                j = (2147483647 - (n_features - 1)) % n_features
            else:
                j = abs(h) % n_features
            acc[j] = acc.get(j, 0) + ((1 if h >= 0 else -1) if alternate_sign else 1)
        for j in sorted(acc):
            idx_all.append(j)
            val_all.append(acc[j])
        doc_off.append(len(idx_all))
    return (np.asarray(doc_off, np.int64), np.asarray(idx_all, np.int64),
            np.asarray(val_all, np.int64))


def document_frequencies(X):
    """(df, n_samples) of a scipy CSR or CSC count matrix: its nonzeros per column."""
    if X.format == "csr":
        df = np.bincount(X.indices, minlength=X.shape[1])
    else:
        df = np.diff(X.indptr)
    return df, X.shape[0]


def vstack(blocks):
    """The matrices of consecutive batches, stacked (CSR)."""
    return sp.vstack(blocks, format="csr")


def tfidf(X, idf, sublinear: bool, norm: str | None):
    """In place on CSR X (float): 1 + log(tf), times idf (None: none), then row l1/l2
    normalisation. Returns X."""
    if sublinear:
        np.log(X.data, X.data)
        X.data += 1.0
    if idf is not None:
        X.data *= idf[X.indices]
    if norm is not None:
        lengths = np.diff(X.indptr)
        sq = np.abs(X.data) if norm == "l1" else (X.data * X.data)
        rows = np.repeat(np.arange(X.shape[0]), lengths)
        s = np.bincount(rows, weights=sq.astype(np.float64), minlength=X.shape[0])
        if norm == "l2":
            s = np.sqrt(s)
        s[s == 0.0] = 1.0
        X.data /= s[rows]
    return X
