"""``TextFeatures``: documents -> a dense float32 (N, k) block for fusion (TF-IDF + LSA)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import TruncatedSVD
from sklearn.utils.validation import check_is_fitted

from ._lsa import ParallelTruncatedSVD
from .vectorizers import TfidfVectorizer


class TextFeatures(TransformerMixin, BaseEstimator):
    """TF-IDF then seeded randomized truncated SVD (LSA), or a user's embedding model.

    Parameters
    ----------
    n_components : int, default 128
        k, the number of LSA components. A corpus with fewer than k terms or
        fewer than k documents gives fewer: ``n_components_`` is then
        ``min(k, n_terms, n_documents)``, the most a truncated SVD yields there,
        and the output has that many columns (a one-term vocabulary gives its
        TF-IDF column itself).
    embedding : callable, optional
        ``embedding(list_of_str) -> array (N, d)`` (for example a sentence
        embedding model the user already has). It replaces TF-IDF and LSA; its
        output is returned as float32 (N, d).
    random_state : int, default 0
        Seed of the randomized SVD.
    backend : {"cpu", "numpy", "cuda"}, optional
        Passed to :class:`TfidfVectorizer`. With ``"cuda"`` the TF-IDF matrix is
        built on the GPU (default word analyzer only) and the LSA runs on the host
        (scikit-learn's TruncatedSVD); the result is a NumPy array.
    **tfidf_params
        Any :class:`TfidfVectorizer` parameter (``ngram_range``, ``min_df``, ...).

    Attributes
    ----------
    vectorizer_ : TfidfVectorizer
    svd_ : sklearn.decomposition.TruncatedSVD
        :class:`~mmfeat.text._lsa.ParallelTruncatedSVD` (scikit-learn's algorithm
        with its sparse products on all cores) unless ``backend="numpy"``.
    n_components_ : int
        Columns of the output (k after clamping, or the embedding's width).

    Notes
    -----
    ``transform(documents)`` takes a list of N str and returns float32 (N, k)
    NumPy (``n_components_`` columns) named ``text_lsa_0 .. text_lsa_{k-1}``
    (``text_emb_*`` with ``embedding``). The SVD is scikit-learn's randomized
    TruncatedSVD (5 power iterations, seeded), so two fits on the same corpus
    give the same numbers; its sparse products run on all cores and agree with
    scikit-learn's to rounding.

    Examples
    --------
    >>> from mmfeat.text import TextFeatures
    >>> docs = ["the cat sat on the mat", "dogs chase cats", "the mat is red"]
    >>> TextFeatures(n_components=2).fit_transform(docs).shape
    (3, 2)
    """

    def __init__(self, n_components: int = 128, embedding=None, random_state=0, backend=None,
                 **tfidf_params):
        self.n_components = n_components
        self.embedding = embedding
        self.random_state = random_state
        self.backend = backend
        self.tfidf_params = tfidf_params
        for k, v in tfidf_params.items():
            setattr(self, k, v)

    def get_params(self, deep=True):
        params = {"n_components": self.n_components, "embedding": self.embedding,
                  "random_state": self.random_state, "backend": self.backend}
        params.update(self.tfidf_params)
        return params

    def set_params(self, **params):
        for k, v in params.items():
            if k in ("n_components", "embedding", "random_state", "backend"):
                setattr(self, k, v)
            else:
                self.tfidf_params[k] = v
                setattr(self, k, v)
        return self

    def _check(self) -> None:
        k = self.n_components
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"n_components must be an int >= 1, got {k!r}")
        if self.embedding is not None and not callable(self.embedding):
            raise TypeError(
                f"embedding must be a callable list[str] -> (N, d) array, got "
                f"{type(self.embedding).__name__}"
            )
        unknown = set(self.tfidf_params) - set(TfidfVectorizer().get_params())
        if unknown:
            raise TypeError(f"unknown TfidfVectorizer parameter(s): {sorted(unknown)}")

    def _embed(self, documents) -> np.ndarray:
        docs = list(documents)
        out = np.asarray(self.embedding(docs))
        if out.ndim != 2 or out.shape[0] != len(docs):
            raise ValueError(
                f"embedding returned shape {out.shape}, expected ({len(docs)}, d)"
            )
        return out.astype(np.float32)

    def fit(self, documents, y=None):
        """Learn the vocabulary, idf and the SVD basis (or probe the embedding)."""
        self.fit_transform(documents)
        return self

    def fit_transform(self, documents, y=None):
        """Fit, and return float32 (N, n_components_)."""
        self._check()
        if self.embedding is not None:
            out = self._embed(documents)
            self.n_components_ = out.shape[1]
            return out
        self.vectorizer_ = TfidfVectorizer(backend=self.backend, **self.tfidf_params)
        X = _on_host(self.vectorizer_.fit_transform(documents))
        n_docs, n_terms = X.shape
        k = max(1, min(int(self.n_components), n_terms, n_docs))
        self.n_components_ = k
        if n_terms < 2:  # one term: the TF-IDF column is already the 1-D embedding
            self.svd_ = None
            return self._svd_out(X.toarray(), 1)
        self.svd_ = self._new_svd(k)
        return self._svd_out(self.svd_.fit_transform(X), k)

    def _new_svd(self, k: int) -> TruncatedSVD:
        """The LSA step: scikit-learn's solver; on the compiled backends its sparse
        products run on all cores (ParallelTruncatedSVD: same algorithm and numbers).
        The inner step returns arrays whatever sklearn's global transform_output;
        this transformer's own output is wrapped by its set_output."""
        svd = TruncatedSVD if self.backend == "numpy" else ParallelTruncatedSVD
        return svd(n_components=k, algorithm="randomized", n_iter=5,
                   random_state=self.random_state).set_output(transform="default")

    @staticmethod
    def _svd_out(Z: np.ndarray, k: int) -> np.ndarray:
        return np.ascontiguousarray(Z[:, :k], dtype=np.float32)

    def transform(self, documents):
        """float32 (N, n_components_) for new documents."""
        check_is_fitted(self, "n_components_")
        if self.embedding is not None:
            out = self._embed(documents)
            if out.shape[1] != self.n_components_:
                raise ValueError(
                    f"embedding width changed from {self.n_components_} to {out.shape[1]}"
                )
            return out
        X = _on_host(self.vectorizer_.transform(documents))
        if self.svd_ is None:
            return self._svd_out(X.toarray(), 1)
        return self._svd_out(self.svd_.transform(X), self.n_components_)

    def get_feature_names_out(self, input_features=None):
        """``text_lsa_0 ..`` (or ``text_emb_0 ..``), one name per output column."""
        check_is_fitted(self, "n_components_")
        prefix = "text_emb" if self.embedding is not None else "text_lsa"
        return np.asarray([f"{prefix}_{i}" for i in range(self.n_components_)], dtype=object)


def _on_host(X):
    """A cupyx CSR (TF-IDF built on the GPU) comes to the host for the LSA."""
    if type(X).__module__.split(".")[0] == "cupyx":
        return X.get()
    return X
