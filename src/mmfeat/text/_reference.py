"""The reference path (backend="numpy"): plain Python and NumPy, short and readable.

Each document goes through the vectorizer's own analyzer (``build_analyzer``:
decoding, preprocessing, tokenizing with ``re``, stop words, n-grams); counting,
document frequencies and the matrix are built here. It is the oracle for the
compiled path and the path for what that one does not compile (a custom
``token_pattern``, ``preprocessor``, ``tokenizer`` or callable ``analyzer``,
``strip_accents``, ``input="file"``/``"filename"``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import scipy.sparse as sp
from sklearn.utils import murmurhash3_32


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


def count(analyze: Callable, docs: Iterable, fixed: dict | None) -> Counted:
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


def tfidf(X, idf, use_idf: bool, sublinear: bool, norm: str | None):
    """In place on CSR X (float): 1 + log(tf), times idf, then row l1/l2 normalisation."""
    if sublinear:
        np.log(X.data, X.data)
        X.data += 1.0
    if use_idf:
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
