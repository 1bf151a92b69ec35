"""``TextFeatures``: documents -> a dense float32 (N, k) block for fusion (TF-IDF + LSA)."""

from __future__ import annotations

import functools
import inspect

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer as _SkTfidfVectorizer
from sklearn.utils.validation import check_is_fitted

from ._lsa import ParallelTruncatedSVD
from .vectorizers import TfidfVectorizer


def _refuse_tfidf_keywords(init):
    """Make ``TextFeatures(min_df=2)`` (the TF-IDF keywords it used to take) fail with
    a TypeError that says what to write instead. scikit-learn forbids ``**kwargs``
    in ``__init__``: the wrapper takes them, but ``inspect.signature`` (hence
    ``get_params``, ``clone`` and ``help``) sees ``init``'s own keyword-only
    signature through ``__wrapped__``."""
    names = set(inspect.signature(init).parameters) - {"self"}

    @functools.wraps(init)
    def __init__(self, **params):
        legacy = {k: v for k, v in params.items() if k not in names}
        if legacy:
            raise TypeError(_old_form_message(legacy))
        init(self, **params)

    return __init__


class TextFeatures(TransformerMixin, BaseEstimator):
    """TF-IDF then seeded randomized truncated SVD (LSA), or a user's embedding model.

    Parameters
    ----------
    vectorizer : TfidfVectorizer, optional
        An unfitted :class:`mmfeat.text.TfidfVectorizer` or scikit-learn
        ``TfidfVectorizer`` whose parameters the TF-IDF step uses (``min_df``,
        ``ngram_range``, ...). It is not modified: ``fit`` fits a clone
        (``vectorizer_``). Default ``mmfeat.text.TfidfVectorizer()``. Its
        parameters are reachable as ``vectorizer__<name>`` through
        ``get_params``/``set_params``, as in a scikit-learn Pipeline.
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
        Given to an mmfeat ``vectorizer`` whose own ``backend`` is None (a
        different non-None value there is an error). With ``"cuda"`` the TF-IDF
        matrix is built on the GPU (default word analyzer only) and the LSA runs
        on the host (scikit-learn's TruncatedSVD); the result is a NumPy array.
        ``"numpy"`` also makes the LSA scikit-learn's own TruncatedSVD.

    Attributes
    ----------
    vectorizer_ : TfidfVectorizer
        The fitted clone of ``vectorizer``.
    svd_ : sklearn.decomposition.TruncatedSVD or None
        :class:`~mmfeat.text._lsa.ParallelTruncatedSVD` with its ``"fast"``
        solver (scikit-learn's randomized range finder, sparse products on all
        cores, one LU per power iteration, the small SVD from its Gram matrix)
        unless ``backend="numpy"`` (scikit-learn's own); None for a one-term
        vocabulary.
    n_components_ : int
        Columns of the output (k after clamping, or the embedding's width).

    Notes
    -----
    ``transform(documents)`` takes a list of N str and returns float32 (N, k)
    NumPy (``n_components_`` columns) named ``text_lsa_0 .. text_lsa_{k-1}``
    (``text_emb_*`` with ``embedding``); ``set_output(transform="pandas")``
    (or ``"polars"``) returns a frame with those columns. The SVD is
    scikit-learn's randomized range finder (the same random matrix, 5 power
    iterations, seeded), so two fits on the same corpus give the same numbers;
    its components agree with scikit-learn's TruncatedSVD to ~1e-10 and explain
    as much variance.

    The TF-IDF parameters used to be keyword arguments of ``TextFeatures``
    itself, which scikit-learn's estimator rules forbid; ``TextFeatures(min_df=2)``
    now raises a TypeError that says to write
    ``TextFeatures(vectorizer=TfidfVectorizer(min_df=2))``.

    Examples
    --------
    >>> from mmfeat.text import TextFeatures, TfidfVectorizer
    >>> docs = ["the cat sat on the mat", "dogs chase cats", "the mat is red"]
    >>> TextFeatures(n_components=2).fit_transform(docs).shape
    (3, 2)
    >>> tf = TextFeatures(vectorizer=TfidfVectorizer(ngram_range=(1, 2)), n_components=2)
    >>> tf.set_params(vectorizer__min_df=1).fit_transform(docs).shape
    (3, 2)
    """

    @_refuse_tfidf_keywords
    def __init__(self, *, vectorizer=None, n_components: int = 128, embedding=None,
                 random_state=0, backend=None):
        self.vectorizer = vectorizer
        self.n_components = n_components
        self.embedding = embedding
        self.random_state = random_state
        self.backend = backend

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False  # a list of N documents
        tags.input_tags.string = True
        tags.transformer_tags.preserves_dtype = []  # str in, float32 out
        return tags

    def _check(self) -> None:
        k = self.n_components
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"n_components must be an int >= 1, got {k!r}")
        if self.embedding is not None and not callable(self.embedding):
            raise TypeError(
                f"embedding must be a callable list[str] -> (N, d) array, got "
                f"{type(self.embedding).__name__}"
            )
        if self.vectorizer is not None and not isinstance(self.vectorizer, _SkTfidfVectorizer):
            raise TypeError(
                "vectorizer must be a TfidfVectorizer (mmfeat.text's or scikit-learn's), "
                f"got {type(self.vectorizer).__name__}"
            )

    def build_vectorizer(self):
        """The unfitted TF-IDF vectorizer ``fit`` fits: a clone of ``vectorizer``
        (default ``mmfeat.text.TfidfVectorizer()``) with ``backend`` applied.

        Used by :func:`mmfeat.distributed` to fit the same TF-IDF on partitions,
        then :meth:`fit_from_tfidf`.
        """
        self._check()
        if self.vectorizer is None:
            return TfidfVectorizer(backend=self.backend)
        vec = clone(self.vectorizer)
        if self.backend is not None and "backend" in vec.get_params(deep=False):
            if vec.backend is None:
                vec.set_params(backend=self.backend)
            elif vec.backend != self.backend:
                raise ValueError(
                    f"backend={self.backend!r} conflicts with the vectorizer's "
                    f"backend={vec.backend!r}; set one of them"
                )
        return vec

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
        self._fit(documents)
        return self

    def fit_transform(self, documents, y=None):
        """Fit, and return float32 (N, n_components_)."""
        return self._fit(documents)

    def _fit(self, documents) -> np.ndarray:
        self._check()
        if self.embedding is not None:
            out = self._embed(documents)
            self.n_components_ = out.shape[1]
            return out
        vec = self.build_vectorizer()
        X = vec.fit_transform(documents)
        return self._fit_lsa(vec, X)

    def fit_from_tfidf(self, vectorizer, X):
        """Fit the LSA on a TF-IDF matrix made elsewhere; returns self.

        For a TF-IDF fitted out of core or on a cluster
        (:func:`mmfeat.distributed.fit_tfidf`): ``vectorizer`` becomes
        ``vectorizer_`` and the SVD is fitted on ``X`` as ``fit`` fits it on
        ``vectorizer.fit_transform(documents)``, so the result equals ``fit``'s
        when ``X`` is that matrix.

        Parameters
        ----------
        vectorizer : fitted TfidfVectorizer
            Built from :meth:`build_vectorizer`'s parameters, then fitted.
        X : sparse matrix (N, n_terms)
            The TF-IDF matrix of the whole corpus (``vectorizer.transform``), on
            the host or as a cupyx CSR.
        """
        self._check()
        if self.embedding is not None:
            raise ValueError("fit_from_tfidf fits the LSA; this TextFeatures has an embedding")
        if not isinstance(vectorizer, _SkTfidfVectorizer):
            raise TypeError(
                "vectorizer must be a fitted TfidfVectorizer (mmfeat.text's or "
                f"scikit-learn's), got {type(vectorizer).__name__}"
            )
        check_is_fitted(vectorizer, "vocabulary_")
        n_terms = len(vectorizer.vocabulary_)
        if getattr(X, "ndim", None) != 2 or X.shape[1] != n_terms:
            raise ValueError(
                f"X must be the vectorizer's TF-IDF matrix, (N, {n_terms}), got shape "
                f"{getattr(X, 'shape', None)}"
            )
        self._fit_lsa(vectorizer, X)
        return self

    def _fit_lsa(self, vectorizer, X) -> np.ndarray:
        """Set ``vectorizer_``, ``n_components_`` and ``svd_`` from the TF-IDF matrix X;
        returns the embedding of X's rows."""
        X = _on_host(X)
        self.vectorizer_ = vectorizer
        n_docs, n_terms = X.shape
        k = max(1, min(int(self.n_components), n_terms, n_docs))
        self.n_components_ = k
        if n_terms < 2:  # one term: the TF-IDF column is already the 1-D embedding
            self.svd_ = None
            return self._svd_out(X.toarray(), 1)
        self.svd_ = self._new_svd(k)
        return self._svd_out(self.svd_.fit_transform(X), k)

    def _new_svd(self, k: int) -> TruncatedSVD:
        """The LSA step: scikit-learn's solver on the numpy backend; on the compiled
        backends ParallelTruncatedSVD's "fast" solver (sparse products on all cores,
        one LU per power iteration, the small SVD from its Gram matrix).
        The inner step returns arrays whatever sklearn's global transform_output;
        this transformer's own output is wrapped by its set_output."""
        if self.backend == "numpy":
            svd = TruncatedSVD(n_components=k, algorithm="randomized", n_iter=5,
                               random_state=self.random_state)
        else:  # the same range finder with half the tall factorisations (~1e-10 apart)
            svd = ParallelTruncatedSVD(n_components=k, algorithm="randomized", n_iter=5,
                                       power_iteration_normalizer="fast",
                                       random_state=self.random_state)
        return svd.set_output(transform="default")

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
        """``text_lsa_0 ..`` (or ``text_emb_0 ..``), one name per output column.

        Parameters
        ----------
        input_features : ignored
            Documents have no input feature names; accepted for scikit-learn's
            signature (a Pipeline passes the previous step's names).

        Returns
        -------
        ndarray of str objects, (n_components_,)
        """
        check_is_fitted(self, "n_components_")
        prefix = "text_emb" if self.embedding is not None else "text_lsa"
        return np.asarray([f"{prefix}_{i}" for i in range(self.n_components_)], dtype=object)


def _old_form_message(params: dict) -> str:
    known = set(TfidfVectorizer().get_params())
    unknown = sorted(k for k in params if k not in known)
    if unknown:
        return f"TextFeatures got unexpected keyword argument(s) {unknown}"
    args = ", ".join(f"{k}={v!r}" for k, v in params.items())
    return (
        "TextFeatures no longer takes TF-IDF parameters directly: pass "
        f"vectorizer=TfidfVectorizer({args})"
    )


def _on_host(X):
    """A cupyx CSR (TF-IDF built on the GPU) comes to the host for the LSA."""
    if type(X).__module__.split(".")[0] == "cupyx":
        return X.get()
    return X
