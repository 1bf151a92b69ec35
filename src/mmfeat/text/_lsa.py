"""LSA: scikit-learn's randomized truncated SVD, with its sparse products on all cores.

``TruncatedSVD(algorithm="randomized")`` spends nearly all its time in products
of the sparse TF-IDF matrix with tall dense matrices (eleven of them at
``n_iter=5``, then one more for the output), which SciPy runs on one thread.
:class:`ParallelTruncatedSVD` runs scikit-learn's algorithm step for step (the
same random matrix, LU-normalised power iterations, QR, LAPACK SVD, sign flip)
and does those products with :func:`mmfeat.kernels.text.csr_times_dense` over
row ranges on threads, in SciPy's accumulation order, and the LU normalisation
with LAPACK's getrf and one pass for ``P @ L`` (SciPy's ``lu(permute_l=True)``
spends as long again on NumPy copies): the components, the output
and the explained variance equal scikit-learn's to rounding (2e-14 apart on
1,500 paragraphs; tested).
"""

from __future__ import annotations

import contextlib
import threading
from functools import partial

import numpy as np
import scipy.sparse as sp
from scipy import linalg
from sklearn.decomposition import TruncatedSVD
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.extmath import svd_flip
from sklearn.utils.sparsefuncs import mean_variance_axis

from .._workers import in_turn, parallel_for
from ..kernels import text as K


def _csr(X) -> sp.csr_matrix:
    X = sp.csr_matrix(X) if not sp.isspmatrix_csr(X) else X
    if not X.has_sorted_indices:  # scipy's order of accumulation is the stored order
        X = X.sorted_indices()
    return X


class _Operand:
    """A CSR matrix and its transpose (also CSR), each times a dense matrix."""

    def __init__(self, X: sp.csr_matrix):
        self.X = X
        self._XT = None

    @property
    def shape(self):
        return self.X.shape

    def dot(self, dense: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return _times(self.X, dense, out)

    def tdot(self, dense: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        if self._XT is None:
            # CSR of X.T holds each column's entries in row order: gathering them
            # row by row adds in the order SciPy's CSC product scatters them
            self._XT = _csr(self.X.T.tocsr())
        return _times(self._XT, dense, out)


def _times(X: sp.csr_matrix, dense: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """(n, m) CSR times (m, r) dense -> (n, r), in X's float type.

    ``out``: a C-contiguous (n, r) buffer to write into (not overlapping ``dense``),
    reused across the power iterations: a fresh 20 MB array per product costs its
    page faults again each time."""
    dtype = np.result_type(X.dtype, dense.dtype)
    dense = np.ascontiguousarray(dense, dtype=dtype)
    data = X.data.astype(dtype, copy=False)
    shape = (X.shape[0], dense.shape[1])
    if out is None or out.shape != shape or out.dtype != dtype or not out.flags.c_contiguous:
        out = np.empty(shape, dtype=dtype)
    if X.shape[0] and dense.shape[1]:
        parallel_for(K.csr_times_dense, X.shape[0], X.indptr, X.indices, data, dense, out)
    elif X.shape[0]:
        out[:] = 0
    return out


def _lu_permute_l(a: np.ndarray):
    """``scipy.linalg.lu(a, permute_l=True)``, the same numbers in half the time:
    LAPACK's getrf, then P @ L assembled in one pass (scipy builds it with NumPy
    copies, which cost as much as the factorisation on tall matrices)."""
    (getrf,) = linalg.get_lapack_funcs(("getrf",), (a,))
    lu, piv, info = getrf(a, overwrite_a=False)
    if info < 0:  # pragma: no cover - an argument error inside LAPACK
        raise ValueError(f"illegal value in argument {-info} of the internal getrf")
    out = np.empty((a.shape[0], min(a.shape)), dtype=lu.dtype)
    K.permuted_unit_lower(lu, piv.astype(np.int64, copy=False), out)
    return out, None


_blas_lock = threading.Lock()
_blas_holders = 0
_blas_restore: list = []


def _blas_setters():
    """[(set_num_threads, current count)] of the BLAS libraries loaded, process-wide.

    threadpoolctl (3.8 here) ignores an OpenBLAS limit set from a Python thread other
    than the one that set the last (its "controlling" thread), which fits running
    in several threads at once trip over; its unguarded setter is used where it
    has one."""
    from threadpoolctl import ThreadpoolController

    out = []
    for lib in ThreadpoolController().select(user_api="blas").lib_controllers:
        setter = getattr(lib, "_real_set_num_threads", None) or lib.set_num_threads
        out.append((setter, lib.get_num_threads()))
    return out


@contextlib.contextmanager
def _blas_at_one_thread():
    """BLAS held at one thread while the fast solver runs.

    Its tall products run by blocks on mmfeat's threads (:func:`_over_row_blocks`),
    and OpenBLAS's own threads, which spin for a while after each call, would take
    the cores from the sparse products that follow (those ran 1.3-1.5x slower
    beside them on 2 cores). The limit is process-wide, so fits running at once
    share it: the first in sets it, the last out restores the previous counts
    (BLAS calls elsewhere in the process meanwhile run on one thread; no result
    depends on it, tested).
    """
    global _blas_holders, _blas_restore
    with _blas_lock:
        if _blas_holders == 0:
            _blas_restore = [(f, n) for f, n in _blas_setters() if n is not None and n > 1]
            for f, _ in _blas_restore:
                f(1)
        _blas_holders += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_holders -= 1
            if _blas_holders == 0:
                for f, n in _blas_restore:
                    f(n)
                _blas_restore = []


# rows per block of the tall dense products below: fixed, so that the sums (and so
# the results) do not depend on the thread count; 1,024 x 138 float64 = 1.1 MB
_BLOCK_ROWS = 1024


def _over_row_blocks(fn, m: int) -> list:
    """[fn(r0, r1) for each block of ``_BLOCK_ROWS`` rows of [0, m)], in block order,
    the blocks taken in turn by mmfeat's worker threads.

    The tall dense products of the fast solver run here with BLAS held at one
    thread (:func:`_blas_at_one_thread`): NumPy's ``matmul``
    releases the GIL, so the blocks run side by side on the threads that also run
    the sparse products, and no BLAS thread pool spins beside them."""
    import numba

    starts = range(0, m, _BLOCK_ROWS)
    return in_turn(lambda b: fn(starts[b], min(m, starts[b] + _BLOCK_ROWS)), len(starts),
                   numba.get_num_threads())


def _gram(Y: np.ndarray) -> np.ndarray:
    """Y^T Y (r, r) of a tall Y (m, r): the blocks' Gram matrices, added in block order."""
    parts = _over_row_blocks(lambda a, b: Y[a:b].T @ Y[a:b], Y.shape[0])
    if not parts:
        return np.zeros((Y.shape[1], Y.shape[1]), dtype=Y.dtype)
    G = parts[0]
    for P in parts[1:]:
        G += P
    return G


def _times_small(Y: np.ndarray, S: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Y @ S for a tall Y (m, r) and a small S (r, c), by blocks of rows. ``out`` (m, c)
    may be Y itself (c == r): each block is computed, then written over its rows."""
    if out is None:
        out = np.empty((Y.shape[0], S.shape[1]), dtype=np.result_type(Y, S))

    def block(a, b):
        if out is Y:
            out[a:b] = Y[a:b] @ S
        else:
            np.matmul(Y[a:b], S, out=out[a:b])

    _over_row_blocks(block, Y.shape[0])
    return out


def _cholesky_factor(Y: np.ndarray, eps_power: float):
    """R, upper triangular with Y^T Y = R^T R, or None where the Gram matrix is not
    numerically positive definite: R's diagonal spread beyond 1 / eps**eps_power,
    eps that of Y's float type (R's spread is about cond(Y))."""
    min_ratio = float(np.finfo(Y.dtype).eps) ** eps_power
    try:
        R = linalg.cholesky(_gram(Y), lower=False, check_finite=False)
    except np.linalg.LinAlgError:
        return None
    d = np.diag(R)
    if not np.all(np.isfinite(d)) or d.min() <= min_ratio * d.max():
        return None
    return R


def _right_solve(Y: np.ndarray, R: np.ndarray, overwrite: bool) -> np.ndarray:
    """Y R^-1 for a tall Y (m, r): Y times the (r, r) inverse of R, by blocks of rows
    (a product runs ~2x faster than a triangular solve on the tall side; the error
    of either is ~eps cond(R)), over Y itself when ``overwrite``."""
    Rinv = linalg.solve_triangular(R, np.eye(R.shape[0], dtype=R.dtype), lower=False,
                                   check_finite=False)
    return _times_small(Y, Rinv, out=Y if overwrite else None)


def _orthonormal_basis(Y: np.ndarray, overwrite: bool = False) -> np.ndarray:
    """Q (m, r) with orthonormal columns spanning those of the tall Y (m, r).

    CholeskyQR2: Y = Q1 R1 from the Cholesky factor of Y^T Y, then once more on
    Q1, which restores orthogonality to rounding while cond(Y) < ~1e7 (Fukaya et
    al., 2014). Two Gram products and two products with R^-1, all BLAS-3 on
    blocks of rows: several times faster than LAPACK's Householder QR (geqrf +
    orgqr) of a 20,000 x 138 matrix on 2 cores. Where the Gram matrix is not
    numerically positive definite (Y nearly rank-deficient), Householder QR.
    With ``overwrite`` the result is written over Y."""
    Q = Y
    for step in range(2):
        R = _cholesky_factor(Q, 0.45)  # cond(Y) < ~1e7 (float64), 1e3 (float32)
        if R is None:
            Q, _ = linalg.qr(Q, mode="economic", check_finite=False)
            return Q
        Q = _right_solve(Q, R, overwrite=overwrite or step > 0)
    return Q


def _normalise_columns(Y: np.ndarray) -> np.ndarray:
    """A well-conditioned basis of Y's columns (m, r), written over Y where it can
    be: the power iterations' normaliser of the ``"fast"`` solver.

    One CholeskyQR step, Y R^-1 in place: a Gram product and a product with the
    small R^-1, against getrf's transposed copy, the factorisation and the pass
    that assembles P L (~3x the time on a 20,000 x 138 matrix). Any invertible R
    keeps the span, which is all the power iteration needs; the columns come out
    orthonormal to ~eps cond(Y)^2, and the next product and normalisation start
    from there. Where cond(Y) passes ~5e4 in float64 (the Gram matrix would keep
    less than a third of the digits), LU, as scikit-learn's ``"LU"`` normaliser.
    """
    R = _cholesky_factor(Y, 0.3)  # cond(Y) < ~5e4 (float64), 120 (float32)
    if R is None:
        return _lu_permute_l(Y)[0]
    return _right_solve(Y, R, overwrite=True)


class ParallelTruncatedSVD(TruncatedSVD):
    """``sklearn.decomposition.TruncatedSVD`` with the randomized solver's sparse
    products on ``mmfeat.get_num_threads()`` threads.

    Same parameters, attributes and results as scikit-learn's, to rounding (the
    products add in SciPy's order); dense input and ``algorithm="arpack"`` go to
    scikit-learn unchanged.

    One more ``power_iteration_normalizer``, ``"fast"`` (what
    :class:`~mmfeat.text.TextFeatures` uses): the same range finder (random
    matrix, sizes, ``n_iter`` products each way) normalised once per iteration,
    on the side with fewer rows, instead of after every product, by one
    CholeskyQR step (:func:`_normalise_columns`; LU where the columns are too
    ill-conditioned for it) instead of LU; the last orthonormalisation by
    CholeskyQR2 (:func:`_orthonormal_basis`) instead of Householder QR; and the
    SVD of the small (k + 10, n) matrix B taken from its (k + 10)^2 Gram matrix
    B B^T (a symmetric eigensolver) instead of LAPACK's SVD of the wide B. Every
    tall dense product runs by fixed blocks of rows on mmfeat's threads with BLAS
    at one thread, so the numbers do not depend on the thread count (tested).
    No tall factorisation and no wide SVD, 2-3x faster than the ``"LU"`` path;
    the same subspace in exact arithmetic, and in floating point the components
    agree with scikit-learn's to ~1e-10 and explain as much variance (tested).
    Where the Gram matrix cannot resolve B's k-th singular value (below 1e-6 of
    the largest), the SVD of B is taken as scikit-learn does.

    See Also
    --------
    sklearn.decomposition.TruncatedSVD
    """

    _parameter_constraints: dict = {
        **TruncatedSVD._parameter_constraints,
        "power_iteration_normalizer": [StrOptions({"auto", "QR", "LU", "none", "fast"})],
    }

    def fit(self, X, y=None):
        self.fit_transform(X)
        return self

    def fit_transform(self, X, y=None):
        if self.algorithm != "randomized" or not sp.issparse(X):
            return super().fit_transform(X, y)
        self._validate_params()
        X = _validated(self, X)
        random_state = check_random_state(self.random_state)
        k = self.n_components
        if k > X.shape[1]:
            raise ValueError(f"n_components({k}) must be <= n_features({X.shape[1]}).")
        U, sigma, VT, u_is_xv = self._randomized_svd(_Operand(X), random_state)
        U, VT = svd_flip(U, VT, u_based_decision=False)
        self.components_ = VT
        # X V, as scikit-learn computes it (not U Sigma: the two differ by the
        # approximation's error), unless U was computed as X V / Sigma
        X_transformed = U * sigma if u_is_xv else _times(X, VT.T)
        self.explained_variance_ = exp_var = np.var(X_transformed, axis=0)
        _, full_var = mean_variance_axis(X, axis=0)
        self.explained_variance_ratio_ = exp_var / full_var.sum()
        self.singular_values_ = sigma
        return X_transformed

    def _randomized_svd(self, M: _Operand, random_state):
        """``sklearn.utils.extmath._randomized_svd(flip_sign=False)``, step for step:
        (U, s, Vt, u_is_xv), the last True where U = X Vt.T / s exactly (in exact
        arithmetic), so that the output X V is U s without another sparse product."""
        k = self.n_components
        n_random = k + self.n_oversamples
        n_samples, n_features = M.shape
        n_iter = self.n_iter
        transpose = n_samples < n_features
        # A @ Q and A.T @ Q of the matrix the range finder samples
        a_dot, at_dot = (M.tdot, M.dot) if transpose else (M.dot, M.tdot)
        a_cols = n_samples if transpose else n_features
        Q = random_state.normal(size=(a_cols, n_random))
        if M.X.dtype == np.float32:
            Q = Q.astype(np.float32, copy=False)
        normalizer_name = self.power_iteration_normalizer
        if normalizer_name == "fast":
            with _blas_at_one_thread():
                return self._fast_range_svd(M, Q, a_dot, at_dot, k, transpose)
        if normalizer_name == "auto":
            normalizer_name = "none" if n_iter <= 2 else "LU"
        qr = partial(linalg.qr, mode="economic", check_finite=False)
        if normalizer_name == "QR":
            normalizer = qr
        elif normalizer_name == "LU":
            normalizer = _lu_permute_l
        else:
            def normalizer(x):
                return x, None
        for _ in range(n_iter):
            Q, _ = normalizer(a_dot(Q))
            Q, _ = normalizer(at_dot(Q))
        Q, _ = qr(a_dot(Q))
        B = at_dot(Q).T  # Q.T @ A, as SciPy computes it: (A.T @ Q).T
        Uhat, s, Vt = linalg.svd(B, full_matrices=False, lapack_driver="gesdd")
        del B
        U = Q @ Uhat
        if transpose:
            return Vt[:k, :].T, s[:k], U[:, :k].T, False
        return U[:, :k], s[:k], Vt[:k, :], False

    def _fast_range_svd(self, M: _Operand, Q, a_dot, at_dot, k, transpose):
        """The ``"fast"`` solver (class docstring): Q (a_cols, r) is the random start."""
        # normalise the product with fewer rows only: A.T A Q squares the spread of
        # the columns per iteration, which float64 holds (the normaliser keeps them
        # apart). A Q has a_rows rows, A.T (A Q) a_cols
        a_rows, a_cols = (M.shape[1], M.shape[0]) if transpose else M.shape
        a_first = a_rows <= a_cols
        # two buffers, one per side, reused by every product (Q's own holds the
        # A.T side: the random start is read once, by the first product)
        Q = np.ascontiguousarray(Q)
        cols_buf, rows_buf = Q, None
        for _ in range(self.n_iter):
            rows_buf = a_dot(Q, out=rows_buf)
            Y = _normalise_columns(rows_buf) if a_first else rows_buf
            Q = at_dot(Y, out=cols_buf)
            if not a_first:
                Q = _normalise_columns(Q)
        Q = _orthonormal_basis(a_dot(Q, out=rows_buf), overwrite=True)
        Z = at_dot(Q, out=cols_buf)  # (n, r) = A.T Q = B.T
        w, Ub = linalg.eigh(_gram(Z), check_finite=False)  # B B.T without forming B
        w, Ub = w[::-1], Ub[:, ::-1]  # descending
        s = np.sqrt(np.clip(w, 0.0, None))
        if not s[0] > 0 or s[k - 1] <= 1e-6 * s[0]:
            Uhat, s, Vt = linalg.svd(np.ascontiguousarray(Z.T), full_matrices=False,
                                     lapack_driver="gesdd")
        else:
            Uhat = np.ascontiguousarray(Ub[:, :k])
            s = s[:k]
            Vt = (_times_small(Z, Uhat) / s).T  # Uhat.T B / s
        U = _times_small(Q, Uhat)
        if transpose:
            # X = A.T, V = Q Uhat: X V = (X Q) Uhat = Z Uhat = Vt.T s, as computed
            return Vt[:k, :].T, s[:k], U[:, :k].T, True
        return U[:, :k], s[:k], Vt[:k, :], False

    def transform(self, X):
        if not sp.issparse(X):
            return super().transform(X)
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        X = _validated(self, X, reset=False)
        return _times(X, self.components_.T)


def _validated(est, X, reset=True) -> sp.csr_matrix:
    """scikit-learn's checks of the input (n_features_in_, dtypes), then sorted CSR."""
    try:
        from sklearn.utils.validation import validate_data
    except ImportError:  # scikit-learn < 1.6
        X = est._validate_data(X, accept_sparse=["csr", "csc"], reset=reset,
                               **({"ensure_min_features": 2} if reset else {}))
    else:
        kw = {"ensure_min_features": 2} if reset else {}
        X = validate_data(est, X, accept_sparse=["csr", "csc"], reset=reset, **kw)
    return _csr(X)
