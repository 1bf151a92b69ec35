"""Drop-in ``CountVectorizer``, ``TfidfTransformer``, ``TfidfVectorizer`` and ``HashingVectorizer``.

Each subclasses its scikit-learn namesake (so parameters, defaults, validation,
``get_feature_names_out``, ``inverse_transform``, ``isinstance`` checks and
pickling behave as there) and replaces the counting with the backend
``backend=`` picks, through :func:`mmfeat.text._dispatch.impl`: the estimators
check their parameters, describe the analysis as a
:class:`~mmfeat.text._spec.TextSpec` and call the backend's functions with it and
plain arrays. A compiled backend raises ``NeedsReference`` for what only
scikit-learn's analyzer can do, and the estimator then runs the reference.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction import text as _sk
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ..backend import resolve_backend
from ._dispatch import impl
from ._input import (
    NeedsReference,
    check_not_str,
    is_batch_iterable,
    is_document_batch,
    python_documents,
)
from ._spec import TextSpec
from ._vocabulary import PendingVocabulary, TrackedDict, prune, vocabulary_dict

DEFAULT_TOKEN_PATTERN = r"(?u)\b\w\w+\b"
_BACKEND_CONSTRAINT = {"backend": [StrOptions({"numpy", "cpu", "cuda"}), None]}


def _resolve(backend: str | None, cuda_ok: bool = False) -> str:
    name = resolve_backend(backend)
    if name == "cuda" and not cuda_ok:
        raise ValueError(
            "backend='cuda' is not available for the text vectorizers yet; use 'cpu' "
            "(Numba) or 'numpy' (reference)"
        )
    return name


try:  # scikit-learn >= 1.9: csr_array or csr_matrix as set_config(sparse_interface=)
    from sklearn.utils._sparse import _align_api_if_sparse
except ImportError:  # pragma: no cover - older scikit-learn: always spmatrix

    def _align_api_if_sparse(X):
        return X


def _aligned(X):
    """A host matrix in the sparse interface scikit-learn's config asks for (a
    csr_array under ``sparse_interface="sparray"``); device matrices as they are."""
    return _align_api_if_sparse(X) if sp.issparse(X) else X


# n-gram ranges wider than this take the reference analyzer (scikit-learn's loops end
# at each document's length; the kernels' run to max_n)
_MAX_COMPILED_NGRAM_SPAN = 64


class _FastPathMixin:
    """What decides between the compiled path and the reference."""

    def _compiles(self) -> bool:
        """Do the kernels' built-in analyzers implement these parameters?"""
        if self.input != "content" or self.analyzer not in ("word", "char", "char_wb"):
            return False  # a callable, or an invalid name scikit-learn's analyzer reports
        if self.dtype is None or np.dtype(self.dtype).kind not in "biuf" or \
                np.dtype(self.dtype) == np.float16:
            return False  # scipy's own rules (and errors) for these: the reference path
        if self.preprocessor is not None or self.strip_accents:
            return False
        if self.analyzer == "word" and (
            self.tokenizer is not None or self.token_pattern != DEFAULT_TOKEN_PATTERN
        ):
            return False
        lo, hi = self.ngram_range
        if (self.analyzer == "word" and lo < 1) or hi - lo > _MAX_COMPILED_NGRAM_SPAN:
            # scikit-learn's word n-grams of size 0 are empty strings, and its loops stop
            # at each document's length: such ranges take its own analyzer
            return False
        return True

    def _default_word(self) -> bool:
        """The default word analyzer (what the cuda backend implements)."""
        return (self.input == "content" and self.analyzer == "word" and self.tokenizer is None
                and self.preprocessor is None and not self.strip_accents
                and self.token_pattern == DEFAULT_TOKEN_PATTERN)

    def _spec(self, backend: str) -> TextSpec:
        """The analysis of this call for ``backend`` (compiled only on cpu and cuda)."""
        compiled = backend in ("cpu", "cuda") and self._compiles()
        stop = None
        # the word analyzer's stop words where a compiled path reads them (the cuda
        # backend also beyond _compiles' n-gram ranges, and refuses the rest)
        if self.analyzer == "word" and (compiled or (backend == "cuda" and self._default_word())):
            stop = self.get_stop_words()
            # scikit-learn warns here when stop words and preprocessing disagree
            self._check_stop_words_consistency(
                stop, self.build_preprocessor(), self.build_tokenizer()
            )
        return TextSpec(
            input=self.input, analyzer=self.analyzer, tokenizer=self.tokenizer,
            preprocessor=self.preprocessor, strip_accents=self.strip_accents,
            token_pattern=self.token_pattern, lowercase=self.lowercase,
            ngram_range=self.ngram_range, stop_words=stop, compiled=compiled,
            encoding=self.encoding, decode_error=self.decode_error,
            build_analyzer=self.build_analyzer,
        )

    def _compiled_analysis(self):
        """The cpu backend's compiled analyzer for these parameters, or None."""
        spec = self._spec("cpu")
        return impl("cpu").analysis(spec) if spec.compiled else None

    def _as_batches(self, raw_documents):
        """(is_batches, iterable): an iterable whose items are document collections.

        Only where a document must be a string: with a callable analyzer,
        preprocessor or tokenizer a document may itself be a list (pre-tokenised
        text), so an iterable of lists is then a stream of documents, as in
        scikit-learn.
        """
        if (
            callable(self.analyzer)
            or callable(self.preprocessor)
            or callable(self.tokenizer)
            or self.input != "content"
            or not is_batch_iterable(raw_documents)
        ):
            return False, raw_documents
        it = iter(raw_documents)
        try:
            first = next(it)
        except StopIteration:
            return False, []
        if is_document_batch(first):

            def chain():
                yield first
                yield from it

            return True, chain()

        def docs():
            yield first
            yield from it

        return False, list(docs())


class CountVectorizer(_FastPathMixin, _sk.CountVectorizer):
    """scikit-learn's CountVectorizer with compiled tokenization and counting.

    Parameters
    ----------
    input, encoding, decode_error, strip_accents, lowercase, preprocessor, tokenizer,
    stop_words, token_pattern, ngram_range, analyzer, max_df, min_df, max_features,
    vocabulary, binary, dtype
        As in :class:`sklearn.feature_extraction.text.CountVectorizer` (1.9), same
        defaults and meaning.
    backend : {"cpu", "numpy", "cuda"}, optional
        ``"cpu"`` (the default) runs the Numba kernels for the built-in analyzers
        (``word`` with the default ``token_pattern``, ``char``, ``char_wb``; any
        ``lowercase``, ``stop_words``, ``ngram_range``), and the reference for the
        rest (a custom ``token_pattern``, ``preprocessor``, ``tokenizer`` or
        callable ``analyzer``, ``strip_accents``, ``input`` other than
        ``"content"``), which is honoured, only slower. ``"numpy"`` always runs
        the reference. ``"cuda"`` (see :mod:`mmfeat.text._cuda`): ``transform``
        and ``fit_transform`` return a ``cupyx.scipy.sparse.csr_matrix`` computed
        on the GPU for the default word analyzer and a float ``dtype``, the
        vocabulary counted on the GPU too (sorted and pruned on the host); other
        parameters raise ValueError (``fit`` then learns on the CPU).

    Attributes
    ----------
    vocabulary_ : dict
        Term -> column, in scikit-learn's insertion order (first occurrence).
    fixed_vocabulary_ : bool

    Notes
    -----
    ``fit_transform(raw_documents)`` returns a ``scipy.sparse.csr_matrix`` of shape
    (n_documents, n_terms) identical to scikit-learn's: same columns, values,
    and the same (unsorted) order of columns within a row. ``raw_documents`` may
    be a list/tuple of str or bytes, a NumPy array, a pandas, polars or cuDF Series, a
    pyarrow string array, or (for ``fit``/``transform``) an iterable of such
    batches, which ``fit`` reads once, computing document frequencies over all
    of them, and ``transform`` stacks into one matrix.

    Examples
    --------
    >>> from mmfeat.text import CountVectorizer
    >>> cv = CountVectorizer()
    >>> cv.fit_transform(["the cat sat", "the cat"]).toarray()
    array([[1, 1, 1],
           [1, 0, 1]])
    >>> cv.get_feature_names_out()
    array(['cat', 'sat', 'the'], dtype=object)
    """

    _parameter_constraints: dict = {
        **_sk.CountVectorizer._parameter_constraints,
        **_BACKEND_CONSTRAINT,
    }

    def __init__(
        self,
        *,
        input="content",
        encoding="utf-8",
        decode_error="strict",
        strip_accents=None,
        lowercase=True,
        preprocessor=None,
        tokenizer=None,
        stop_words=None,
        token_pattern=DEFAULT_TOKEN_PATTERN,
        ngram_range=(1, 1),
        analyzer="word",
        max_df=1.0,
        min_df=1,
        max_features=None,
        vocabulary=None,
        binary=False,
        dtype=np.int64,
        backend=None,
    ):
        super().__init__(
            input=input,
            encoding=encoding,
            decode_error=decode_error,
            strip_accents=strip_accents,
            lowercase=lowercase,
            preprocessor=preprocessor,
            tokenizer=tokenizer,
            stop_words=stop_words,
            token_pattern=token_pattern,
            ngram_range=ngram_range,
            analyzer=analyzer,
            max_df=max_df,
            min_df=min_df,
            max_features=max_features,
            vocabulary=vocabulary,
            binary=binary,
            dtype=dtype,
        )
        self.backend = backend

    # -- the fitted vocabulary -------------------------------------------------------
    # ``vocabulary_`` lives in ``__dict__["_vocabulary"]``: a dict, or after a compiled
    # fit a PendingVocabulary that becomes the dict when the attribute is first read.
    @property
    def vocabulary_(self) -> dict:
        try:
            v = self.__dict__["_vocabulary"]
        except KeyError:
            raise AttributeError(
                f"'{type(self).__name__}' object has no attribute 'vocabulary_'"
            ) from None
        if isinstance(v, PendingVocabulary):
            pending, v = v, v.as_dict()
            self.__dict__["_vocabulary"] = v
            # the device table built from the pending vocabulary serves the dict (the
            # same terms and columns) until the dict is edited (its version changes)
            cached = self.__dict__.get("_mm_cuda_vocabulary")
            if cached is not None and cached[0][0] == id(pending):
                self._mm_cuda_vocabulary = ((id(v), len(v), cached[0][2], v.version),
                                            cached[1])
        return v

    @vocabulary_.setter
    def vocabulary_(self, value) -> None:
        self.__dict__.pop("_mm_fixed_table", None)
        self.__dict__.pop("_mm_cuda_vocabulary", None)
        self.__dict__["_vocabulary"] = value

    @vocabulary_.deleter
    def vocabulary_(self) -> None:
        self.__dict__.pop("_mm_fixed_table", None)
        self.__dict__.pop("_mm_cuda_vocabulary", None)
        if self.__dict__.pop("_vocabulary", None) is None:
            raise AttributeError("vocabulary_")

    def _validate_vocabulary(self):
        super()._validate_vocabulary()
        v = self.__dict__.get("_vocabulary")
        if type(v) is dict and self.fixed_vocabulary_:
            # scikit-learn's own copy of the vocabulary parameter: nobody else holds
            # it, so it can be tracked (and its table cached) without changing meaning
            self.__dict__["_vocabulary"] = TrackedDict(v)

    def _pending_vocabulary(self) -> PendingVocabulary | None:
        v = self.__dict__.get("_vocabulary")
        return v if isinstance(v, PendingVocabulary) else None

    def _vocabulary_size(self) -> int:
        pending = self._pending_vocabulary()
        return len(pending) if pending is not None else len(self.vocabulary_)

    def _check_vocabulary(self):
        if self._pending_vocabulary() is None:  # a fitted pending one is never empty
            super()._check_vocabulary()

    def get_feature_names_out(self, input_features=None):
        """Terms by column, as scikit-learn's (an object array of str)."""
        pending = self._pending_vocabulary()
        if pending is None:
            return super().get_feature_names_out(input_features)
        return np.asarray(pending.terms_by_column().to_pylist(), dtype=object)

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_mm_fixed_table", None)  # caches, rebuilt on use
        state.pop("_mm_cuda_vocabulary", None)
        return state

    # -- counting ------------------------------------------------------------------
    def _count(self, raw_documents, fixed: bool, keep_entries: bool = True, device_stage=None):
        """Counted documents (terms in first-occurrence order, or the fixed vocabulary):
        the backend's, or the reference's where it raises NeedsReference."""
        backend = _resolve(self.backend, cuda_ok=True)
        batches, docs = self._as_batches(raw_documents)
        spec = self._spec(backend)
        if spec.compiled:
            if not batches:
                docs = list(docs) if not hasattr(docs, "__len__") else docs
            be = impl(backend)
            try:
                table = self._fixed_table(be) if fixed else None
                return be.count(docs, spec, batches, table, keep_entries, self.dtype,
                                device_stage)
            except NeedsReference:  # lone surrogates, odd vocabulary terms, a collision
                if batches:  # the batches were consumed
                    raise NotImplementedError(
                        "these batches need the reference path (lone surrogates or a hash "
                        "collision); pass a list of documents instead"
                    ) from None
        if batches:
            docs = (doc for batch in docs for doc in python_documents(batch))
        return self._count_reference(python_documents(docs), fixed)

    def _count_reference(self, docs, fixed: bool):
        ref = impl("numpy")
        table = ref.vocabulary_table(self.vocabulary_) if fixed else None
        return ref.count(docs, self._spec("numpy"), False, table, True)

    def _fixed_table(self, be):
        """``be.vocabulary_table`` of the fitted (or given) vocabulary, cached."""
        pending = self._pending_vocabulary()
        vocab = pending if pending is not None else self.vocabulary_
        # cached only for what cannot change unseen: the pending vocabulary and the
        # TrackedDict it becomes (a plain dict set from outside may be edited in place)
        if pending is not None or isinstance(vocab, TrackedDict):
            key = (id(vocab), len(vocab), getattr(vocab, "version", 0))
        else:
            key = None
        cached = self.__dict__.get("_mm_fixed_table")
        if key is not None and cached is not None and cached[0] == key:
            return cached[1]
        table = be.vocabulary_table(vocab)
        self._mm_fixed_table = (key, table)
        return table

    def _matrix(self, c, col_of, order_key, n_cols):
        backend = _resolve(self.backend, cuda_ok=True)
        # dtype=None: scikit-learn keeps its C-int counts; dtypes scipy.sparse refuses
        # (str, object, float16) go where scipy raises its own error
        dtype = np.intc if self.dtype is None else self.dtype
        compiled_dtype = np.dtype(dtype).kind in "biuf" and np.dtype(dtype) != np.float16
        be = impl(backend if c.u_term is not None and compiled_dtype else "numpy")
        return be.assemble_csr(
            c.n_docs,
            c.doc_off,
            c.u_term,
            c.u_count,
            col_of,
            order_key,
            self.binary,
            n_cols,
            dtype,
        )

    def _learn_vocabulary(self, c):
        """Sort, prune (min_df, max_df, max_features) as scikit-learn; col_of per term id."""
        n_terms = len(c.terms)
        if n_terms == 0:
            raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
        names = c.terms
        alpha = impl(_resolve(self.backend, cuda_ok=True)).sort_terms(names)
        col_of = prune(c.df, c.tf, alpha, c.n_docs, self)
        kept = np.flatnonzero(col_of >= 0)
        cols = col_of[kept]
        # scikit-learn's dict keeps first-occurrence order; its values are NumPy
        # integers when max_features pruned last, Python ints otherwise
        numpy_values = self.max_features is not None
        if isinstance(names, list):  # the reference path: its terms are str already
            kept_names = names if kept.shape[0] == n_terms else [names[i] for i in kept.tolist()]
            vocabulary = vocabulary_dict(kept_names, cols, numpy_values)
        else:
            vocabulary = PendingVocabulary(names, kept, cols, numpy_values,
                                           getattr(c, "device_terms", None))
        return vocabulary, col_of, int(kept.shape[0])

    # -- public API -------------------------------------------------------------------
    def fit(self, raw_documents, y=None):
        """Learn the vocabulary of ``raw_documents`` (a collection, or an iterable of
        batches read once).

        Returns
        -------
        self
        """
        self._fit(raw_documents, keep_entries=False)
        return self

    def fit_transform(self, raw_documents, y=None):
        """Learn the vocabulary and return the (n_documents, n_terms) count matrix.

        Returns
        -------
        X : scipy.sparse.csr_matrix of shape (n_documents, n_terms), dtype ``dtype``
        """
        return _aligned(self._fit_transform_csr(raw_documents))

    def _fit_transform_csr(self, raw_documents):
        self._validate_params()
        if _resolve(self.backend, cuda_ok=True) == "cuda":
            return self._fit_transform_on_device(raw_documents)
        return self._fit(raw_documents, keep_entries=True)

    def _fit_transform_on_device(self, raw_documents):
        """fit (the vocabulary counted on the device) then the matrix on the device, the
        documents copied and tokenized once for both."""
        cuda = impl("cuda")
        spec = self._spec("cuda")
        cuda.check_params(spec, self.dtype)
        batches, docs = self._as_batches(raw_documents)
        if batches:
            raise ValueError(
                "backend='cuda': fit_transform of an iterable of batches is not implemented "
                "(the batches are read once); call fit(batches) then transform(documents)"
            )
        docs = docs if hasattr(docs, "__len__") else list(docs)
        stage = cuda.device_stage(spec, docs)
        # CountVectorizer's own fit, as TfidfVectorizer's would fit the idf twice
        CountVectorizer._fit(self, docs, keep_entries=False, device_stage=stage)
        self._check_vocabulary()
        X = self._device_count_matrix(cuda, stage)
        if self.fixed_vocabulary_:
            return X  # scikit-learn: sorted columns, as transform
        pending = self._pending_vocabulary()
        if pending is not None:
            cols = pending.cols
        else:
            vocabulary = self.vocabulary_
            cols = np.fromiter(vocabulary.values(), np.int64, count=len(vocabulary))
        return cuda.first_occurrence_order(X, cols)

    def _device_count_matrix(self, cuda, stage):
        """The count matrix of a device stage over the vocabulary, whose device table is
        cached per vocabulary and device."""
        pending = self._pending_vocabulary()
        vocab = pending if pending is not None else self.vocabulary_
        key = (id(vocab), len(vocab), cuda.device_id(), getattr(vocab, "version", 0))
        cached = getattr(self, "_mm_cuda_vocabulary", None)
        if cached is None or cached[0] != key:
            cached = self._mm_cuda_vocabulary = (key, cuda.device_vocabulary(vocab))
        return cuda.count_matrix(stage, cached[1], self._vocabulary_size(), self.dtype,
                                 self.binary)

    def _transform_on_device(self, raw_documents):
        cuda = impl("cuda")
        spec = self._spec("cuda")
        cuda.check_params(spec, self.dtype)
        batches, docs = self._as_batches(raw_documents)
        if batches:
            return cuda.vstack([self._transform_on_device(b) for b in docs])
        return self._device_count_matrix(cuda, cuda.device_stage(spec, docs))

    def _fit(self, raw_documents, keep_entries: bool, device_stage=None):
        check_not_str(raw_documents)
        self._validate_params()
        self._validate_ngram_range()
        self._warn_for_unused_params()
        self._validate_vocabulary()
        if self.fixed_vocabulary_ and self.lowercase:
            for term in self.vocabulary:
                if any(map(str.isupper, term)):
                    warnings.warn(
                        "Upper case characters found in vocabulary while 'lowercase' is True. "
                        "These entries will not be matched with any documents",
                        stacklevel=3,
                    )
                    break
        if self.fixed_vocabulary_:
            c = self._count(raw_documents, fixed=True)
            n = self._vocabulary_size()
            ident = np.arange(n, dtype=np.int64)
            return self._matrix(c, ident, ident, n)
        c = self._count(
            raw_documents, fixed=False, keep_entries=keep_entries, device_stage=device_stage
        )
        vocabulary, col_of, n_cols = self._learn_vocabulary(c)
        self.vocabulary_ = vocabulary
        if not keep_entries or c.u_term is None:
            return None
        order_key = np.arange(len(col_of), dtype=np.int64)  # first-occurrence order
        return self._matrix(c, col_of, order_key, n_cols)

    def transform(self, raw_documents):
        """Count matrix of ``raw_documents`` over the fitted (or given) vocabulary.

        Returns
        -------
        X : scipy.sparse.csr_matrix of shape (n_documents, n_terms), sorted indices
        """
        return _aligned(self._transform_csr(raw_documents))

    def _transform_csr(self, raw_documents):
        check_not_str(raw_documents)
        self._check_vocabulary()
        if _resolve(self.backend, cuda_ok=True) == "cuda":
            return self._transform_on_device(raw_documents)
        c = self._count(raw_documents, fixed=True)
        n = self._vocabulary_size()
        ident = np.arange(n, dtype=np.int64)
        return self._matrix(c, ident, ident, n)


def _check_sublinear_input(data: np.ndarray) -> None:
    """scikit-learn's error for sublinear_tf on explicit zeros or negative counts: its
    log gives -inf or NaN there, which its normalize() then refuses."""
    bad = np.flatnonzero(~(data > 0))
    if bad.size:
        v = data[bad[0]]
        what = "infinity or a value too large for dtype('float64')" if v == 0 else "NaN"
        raise ValueError(f"Input contains {what}.")


class TfidfTransformer(_sk.TfidfTransformer, auto_wrap_output_keys=None):
    """scikit-learn's TfidfTransformer; ``transform`` runs one parallel pass per row.

    Parameters
    ----------
    norm : {"l1", "l2"} or None, default "l2"
    use_idf, smooth_idf, sublinear_tf : bool
        As in :class:`sklearn.feature_extraction.text.TfidfTransformer`.
    backend : {"cpu", "numpy", "cuda"}, optional
        ``"cuda"``, or a ``cupyx.scipy.sparse`` input: ``fit`` and ``transform``
        run on the GPU and ``transform`` returns a cupyx CSR.

    Notes
    -----
    ``idf_ = log((1 + n) / (1 + df)) + 1`` (smooth) or ``log(n / df) + 1``; rows
    are scaled as there (sums in float64, all-zero rows left alone). Values agree
    with scikit-learn to floating-point rounding of the row norms.
    """

    _parameter_constraints: dict = {
        **_sk.TfidfTransformer._parameter_constraints,
        **_BACKEND_CONSTRAINT,
    }

    def __init__(
        self, *, norm="l2", use_idf=True, smooth_idf=True, sublinear_tf=False, backend=None
    ):
        super().__init__(
            norm=norm, use_idf=use_idf, smooth_idf=smooth_idf, sublinear_tf=sublinear_tf
        )
        self.backend = backend

    def fit(self, X, y=None):
        """Learn ``idf_`` from a count matrix X (n_samples, n_features)."""
        self._validate_params()
        if self._on_device(X):
            df, n_samples = impl("cuda").document_frequencies(X)
            self.n_features_in_ = int(X.shape[1])
            if self.use_idf:
                dt = X.dtype if X.dtype in (np.float64, np.float32) else np.float64
                self._set_idf(df, n_samples, dt)
            return self
        X = validate_data(self, X, accept_sparse=("csr", "csc"))
        if not sp.issparse(X):
            X = sp.csr_matrix(X)
        dtype = X.dtype if X.dtype in (np.float64, np.float32) else np.float64
        if self.use_idf:
            df, n_samples = impl(_resolve(self.backend)).document_frequencies(X)
            self._set_idf(df, n_samples, dtype)
        return self

    def _on_device(self, X) -> bool:
        """backend='cuda', or a cupyx CSR input: the device path (mmfeat.text._cuda)."""
        return (
            _resolve(self.backend, cuda_ok=True) == "cuda"
            or type(X).__module__.split(".")[0] == "cupyx"
        )

    def _set_idf(self, df: np.ndarray, n_samples: int, dtype) -> None:
        df = df.astype(dtype, copy=True)
        df += float(self.smooth_idf)
        n_samples += int(self.smooth_idf)
        idf = np.full_like(df, fill_value=n_samples, dtype=dtype)
        idf /= df
        np.log(idf, out=idf)
        idf += 1.0
        self.idf_ = idf

    def _fit_document_frequencies(self, df: np.ndarray, n_samples: int, dtype) -> None:
        """fit() from document frequencies alone (a one-pass fit over batches)."""
        self._validate_params()
        self.n_features_in_ = int(df.shape[0])
        if self.use_idf:
            self._set_idf(df, n_samples, dtype if dtype in (np.float32, np.float64) else np.float64)

    def transform(self, X, copy=True):
        """TF-IDF of a count matrix: scipy CSR float64 (or float32 for float32 input)."""
        return _aligned(self._transform_csr(X, copy))

    def _transform_csr(self, X, copy=True):
        check_is_fitted(self)
        if self._on_device(X):
            if X.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"X has {X.shape[1]} features, but TfidfTransformer is expecting "
                    f"{self.n_features_in_} features as input."
                )
            idf = getattr(self, "idf_", None)
            if self.sublinear_tf and self.norm is not None:
                bad = ~(X.data > 0)  # on the device; one flag comes back
                if bool(bad.any()):
                    _check_sublinear_input(X.data[bad][:1].get()
                                           if hasattr(X.data, "get") else X.data[bad][:1])
            return impl("cuda").tfidf(X, idf, self.sublinear_tf, self.norm)
        X = validate_data(
            self, X, accept_sparse="csr", dtype=[np.float64, np.float32], copy=copy, reset=False
        )
        if not sp.issparse(X):
            X = sp.csr_matrix(X, dtype=X.dtype)
        X = sp.csr_matrix(X) if not isinstance(X, sp.csr_matrix) else X
        if self.sublinear_tf and self.norm is not None:
            _check_sublinear_input(X.data)
        idf = getattr(self, "idf_", None)
        return impl(_resolve(self.backend)).tfidf(X, idf, self.sublinear_tf, self.norm)


class TfidfVectorizer(CountVectorizer, _sk.TfidfVectorizer):
    """scikit-learn's TfidfVectorizer (CountVectorizer then TfidfTransformer), compiled.

    Parameters
    ----------
    All of :class:`sklearn.feature_extraction.text.TfidfVectorizer`'s, same defaults
    (``dtype=np.float64``, ``norm="l2"``, ``use_idf=True``, ``smooth_idf=True``,
    ``sublinear_tf=False``), plus ``backend`` as in :class:`CountVectorizer`.

    Notes
    -----
    Same vocabulary, columns and CSR structure as scikit-learn; values agree to
    rounding (the row norms are summed in another order; the tests hold them to
    1e-6 relative, float64 results agree to about 1e-15).

    Examples
    --------
    >>> from mmfeat.text import TfidfVectorizer
    >>> X = TfidfVectorizer().fit_transform(["the cat sat", "the cat"])
    >>> X.shape
    (2, 3)
    """

    _parameter_constraints: dict = {
        **_sk.TfidfVectorizer._parameter_constraints,
        **_BACKEND_CONSTRAINT,
    }

    def __init__(
        self,
        *,
        input="content",
        encoding="utf-8",
        decode_error="strict",
        strip_accents=None,
        lowercase=True,
        preprocessor=None,
        tokenizer=None,
        analyzer="word",
        stop_words=None,
        token_pattern=DEFAULT_TOKEN_PATTERN,
        ngram_range=(1, 1),
        max_df=1.0,
        min_df=1,
        max_features=None,
        vocabulary=None,
        binary=False,
        dtype=np.float64,
        norm="l2",
        use_idf=True,
        smooth_idf=True,
        sublinear_tf=False,
        backend=None,
    ):
        CountVectorizer.__init__(
            self,
            input=input,
            encoding=encoding,
            decode_error=decode_error,
            strip_accents=strip_accents,
            lowercase=lowercase,
            preprocessor=preprocessor,
            tokenizer=tokenizer,
            analyzer=analyzer,
            stop_words=stop_words,
            token_pattern=token_pattern,
            ngram_range=ngram_range,
            max_df=max_df,
            min_df=min_df,
            max_features=max_features,
            vocabulary=vocabulary,
            binary=binary,
            dtype=dtype,
            backend=backend,
        )
        self.norm = norm
        self.use_idf = use_idf
        self.smooth_idf = smooth_idf
        self.sublinear_tf = sublinear_tf

    def _new_tfidf(self) -> TfidfTransformer:
        return TfidfTransformer(
            norm=self.norm,
            use_idf=self.use_idf,
            smooth_idf=self.smooth_idf,
            sublinear_tf=self.sublinear_tf,
            backend=self.backend,
        )

    def fit(self, raw_documents, y=None):
        """Learn the vocabulary and idf (``raw_documents`` may be an iterable of batches).

        Returns
        -------
        self
        """
        self._check_params()
        self._warn_for_unused_params()
        self._tfidf = self._new_tfidf()
        self._fit_counts(raw_documents)
        return self

    def _fit_counts(self, raw_documents):
        """Fit the vocabulary; then fit ``_tfidf`` (from document frequencies for batches)."""
        batches, docs = self._as_batches(raw_documents)
        if not batches or self.vocabulary is not None:
            if batches:
                docs = [d for b in docs for d in (list(b) if not isinstance(b, list) else b)]
            self._tfidf.fit(CountVectorizer._fit_transform_csr(self, docs))
            return
        # one pass over the batches: the document frequencies are all idf needs
        self._fit(docs, keep_entries=False)
        df, n_docs = self._batch_df
        del self._batch_df
        self._tfidf._fit_document_frequencies(df, n_docs, np.dtype(self.dtype).type)

    def _learn_vocabulary(self, c):
        vocabulary, col_of, n_cols = super()._learn_vocabulary(c)
        df = np.zeros(n_cols, np.int64)
        keep = col_of >= 0
        df[col_of[keep]] = c.df[keep]
        self._batch_df = (df, c.n_docs)
        return vocabulary, col_of, n_cols

    def fit_transform(self, raw_documents, y=None):
        """Learn vocabulary and idf; return the TF-IDF matrix (n_documents, n_terms).

        Returns
        -------
        X : scipy.sparse.csr_matrix, dtype ``dtype`` (float64 or float32)
        """
        self._check_params()
        self._tfidf = self._new_tfidf()
        X = CountVectorizer._fit_transform_csr(self, raw_documents)
        self._tfidf.fit(X)
        return self._tfidf.transform(X, copy=False)

    def transform(self, raw_documents):
        """TF-IDF of ``raw_documents`` with the fitted vocabulary and idf."""
        check_is_fitted(self, msg="The TF-IDF vectorizer is not fitted")
        X = CountVectorizer._transform_csr(self, raw_documents)
        return self._tfidf.transform(X, copy=False)


class HashingVectorizer(_FastPathMixin, _sk.HashingVectorizer, auto_wrap_output_keys=None):
    """scikit-learn's HashingVectorizer with compiled tokenization and MurmurHash3.

    Parameters
    ----------
    All of :class:`sklearn.feature_extraction.text.HashingVectorizer`'s, same
    defaults (``n_features=2**20``, ``alternate_sign=True``, ``norm="l2"``), plus
    ``backend`` as in :class:`CountVectorizer`.

    Notes
    -----
    The matrix equals scikit-learn's: column ``abs(murmurhash3_32(term)) %
    n_features`` of the term's UTF-8 bytes (seed 0), sign from the hash, sorted
    indices, buckets that cancel to 0 kept as explicit zeros.

    Examples
    --------
    >>> from mmfeat.text import HashingVectorizer
    >>> HashingVectorizer(n_features=16).transform(["the cat sat"]).shape
    (1, 16)
    """

    _parameter_constraints: dict = {
        **_sk.HashingVectorizer._parameter_constraints,
        **_BACKEND_CONSTRAINT,
    }

    def __init__(
        self,
        *,
        input="content",
        encoding="utf-8",
        decode_error="strict",
        strip_accents=None,
        lowercase=True,
        preprocessor=None,
        tokenizer=None,
        stop_words=None,
        token_pattern=DEFAULT_TOKEN_PATTERN,
        ngram_range=(1, 1),
        analyzer="word",
        n_features=(2**20),
        binary=False,
        norm="l2",
        alternate_sign=True,
        dtype=np.float64,
        backend=None,
    ):
        super().__init__(
            input=input,
            encoding=encoding,
            decode_error=decode_error,
            strip_accents=strip_accents,
            lowercase=lowercase,
            preprocessor=preprocessor,
            tokenizer=tokenizer,
            stop_words=stop_words,
            token_pattern=token_pattern,
            ngram_range=ngram_range,
            analyzer=analyzer,
            n_features=n_features,
            binary=binary,
            norm=norm,
            alternate_sign=alternate_sign,
            dtype=dtype,
        )
        self.backend = backend

    def fit(self, X, y=None):
        """Only validates the parameters (the transformer is stateless)."""
        check_not_str(X)
        self._validate_params()
        self._warn_for_unused_params()
        self._validate_ngram_range()
        return self

    def fit_transform(self, X, y=None):
        """Same as ``fit(X).transform(X)``."""
        return self.fit(X, y).transform(X)

    def transform(self, X):
        """Hashed (n_documents, n_features) matrix: scipy CSR of ``dtype``.

        ``X`` may also be an iterable of batches; the result is one stacked matrix.
        """
        return _aligned(self._transform_csr(X))

    def _transform_csr(self, X):
        check_not_str(X)
        self._validate_params()
        self._validate_ngram_range()
        backend = _resolve(self.backend, cuda_ok=True)
        batches, docs = self._as_batches(X)
        if batches:
            return impl(backend).vstack([self._transform_csr(b) for b in docs])
        spec = self._spec(backend)
        args = (self.n_features, self.alternate_sign, self.binary, self.norm, self.dtype)
        if backend == "cuda":  # device CSR, or the error naming what the GPU path lacks
            return impl("cuda").hashing_transform(docs, spec, *args)
        if spec.compiled:
            try:
                return impl(backend).hashing_transform(docs, spec, *args)
            except NeedsReference:
                pass
        return impl("numpy").hashing_transform(docs, spec, *args)
