"""ParallelTruncatedSVD (TextFeatures' LSA): scikit-learn's randomized TruncatedSVD with
the sparse products on threads: the same components, output and explained variance."""

from __future__ import annotations

import inspect
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.decomposition import TruncatedSVD

import mmfeat
from mmfeat.text import TextFeatures, TfidfVectorizer
from mmfeat.text._lsa import ParallelTruncatedSVD


@pytest.fixture(scope="module")
def docs():
    import argparse
    import email
    import json
    import logging

    out = []
    for m in (json, email, logging, argparse):
        out += [p for p in inspect.getsource(m).split("\n\n") if p.strip()]
    return out


@pytest.fixture(scope="module")
def tfidf(docs):
    return TfidfVectorizer().fit_transform(docs)  # ~1,000 paragraphs x ~2,500 terms


def _both(X, **kw):
    a, b = TruncatedSVD(random_state=0, **kw), ParallelTruncatedSVD(random_state=0, **kw)
    return a, a.fit_transform(X), b, b.fit_transform(X)


@pytest.mark.parametrize("rows", [None, 300])  # more documents than terms, and fewer
@pytest.mark.parametrize("k", [1, 16, 64])
def test_equals_scikit_learn(tfidf, rows, k):
    X = tfidf if rows is None else tfidf[:rows]
    if rows is not None:
        assert X.shape[0] < X.shape[1]  # scikit-learn's solver transposes here
    a, Za, b, Zb = _both(X, n_components=k)
    assert Zb.dtype == Za.dtype and Zb.shape == Za.shape
    np.testing.assert_allclose(Zb, Za, rtol=0, atol=1e-12)
    np.testing.assert_allclose(b.components_, a.components_, rtol=0, atol=1e-12)
    np.testing.assert_allclose(b.singular_values_, a.singular_values_, rtol=1e-12)
    # the components explain as much variance as scikit-learn's, to rounding
    assert b.explained_variance_ratio_.sum() >= a.explained_variance_ratio_.sum() - 1e-12
    np.testing.assert_allclose(b.transform(X[:50]), a.transform(X[:50]), rtol=0, atol=1e-12)


@pytest.mark.parametrize("normalizer, n_iter", [("QR", 3), ("none", 2), ("auto", 1)])
def test_every_power_iteration_normalizer(tfidf, normalizer, n_iter):
    a, Za, b, Zb = _both(tfidf, n_components=8, n_iter=n_iter,
                         power_iteration_normalizer=normalizer)
    np.testing.assert_allclose(Zb, Za, rtol=0, atol=1e-12)


def test_float32_csc_and_dense_input(tfidf):
    X32 = tfidf.astype(np.float32)
    a, Za, b, Zb = _both(X32.tocsc(), n_components=8)
    assert Zb.dtype == Za.dtype == np.float32
    np.testing.assert_allclose(Zb, Za, rtol=0, atol=1e-5)
    dense = tfidf[:200].toarray()  # dense input is scikit-learn's own path
    a, Za, b, Zb = _both(dense, n_components=4)
    np.testing.assert_array_equal(Zb, Za)


def test_unsorted_indices_and_one_thread_give_the_same_numbers(tfidf):
    ref = ParallelTruncatedSVD(8, random_state=0).fit_transform(tfidf)
    shuffled = tfidf.copy()
    rng = np.random.default_rng(0)
    for i in range(shuffled.shape[0]):  # the same matrix with its rows' entries permuted
        s, e = shuffled.indptr[i], shuffled.indptr[i + 1]
        p = rng.permutation(e - s)
        shuffled.indices[s:e] = shuffled.indices[s:e][p]
        shuffled.data[s:e] = shuffled.data[s:e][p]
    shuffled.has_sorted_indices = False
    np.testing.assert_array_equal(
        ParallelTruncatedSVD(8, random_state=0).fit_transform(shuffled), ref)
    with mmfeat.set_num_threads(1):
        np.testing.assert_array_equal(
            ParallelTruncatedSVD(8, random_state=0).fit_transform(tfidf), ref)


def test_errors_clone_and_pickle(tfidf):
    with pytest.raises(ValueError, match=r"n_components\(9\) must be <= n_features\(8\)"):
        ParallelTruncatedSVD(9).fit(sp.random(20, 8, density=0.5, format="csr",
                                              random_state=0))
    est = ParallelTruncatedSVD(4, random_state=0).fit(tfidf)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.transform(tfidf[:5]), est.transform(tfidf[:5]))
    assert clone(est).get_params() == est.get_params()
    with pytest.raises(ValueError, match="features"):
        est.transform(tfidf[:, :10])


def test_text_features_uses_it_and_agrees_with_the_reference(docs):
    # (real paragraphs: a corpus of repeated templates has tied singular values, whose
    # components any rounding may rotate)
    fast = TextFeatures(n_components=6).fit(docs)
    ref = TextFeatures(n_components=6, backend="numpy").fit(docs)
    assert type(fast.svd_) is ParallelTruncatedSVD and type(ref.svd_) is TruncatedSVD
    np.testing.assert_allclose(fast.transform(docs), ref.transform(docs), rtol=0, atol=1e-6)


@pytest.mark.parametrize("shape", [(50, 7), (7, 50), (1, 5), (5, 1), (6, 6), (300, 20)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("order", ["C", "F"])
def test_lu_normaliser_equals_scipy(shape, dtype, order):
    from scipy import linalg

    from mmfeat.text._lsa import _lu_permute_l

    a = np.asarray(np.random.default_rng(1).normal(size=shape), dtype=dtype, order=order)
    want = linalg.lu(a, permute_l=True, check_finite=False)[0]
    got = _lu_permute_l(a)[0]
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    singular = np.zeros(shape, dtype)
    singular[:, 0] = 1.0
    np.testing.assert_array_equal(_lu_permute_l(singular)[0],
                                  linalg.lu(singular, permute_l=True)[0])


@pytest.mark.parametrize("k", [4, 16])
@pytest.mark.parametrize("wide", [True, False])  # fewer documents than terms, or more
def test_fast_solver_explains_as_much_variance_as_scikit_learn(tfidf, k, wide):
    """TextFeatures' solver: one normalisation per power iteration and the small SVD
    from its Gram matrix; the same subspace as scikit-learn's, to rounding."""
    if not wide:
        tfidf = sp.csr_matrix(tfidf.T)
    ref = TruncatedSVD(k, random_state=0).fit(tfidf)
    fast = ParallelTruncatedSVD(k, random_state=0, power_iteration_normalizer="fast")
    Z = fast.fit_transform(tfidf)
    assert fast.explained_variance_ratio_.sum() >= ref.explained_variance_ratio_.sum() - 1e-12
    np.testing.assert_allclose(fast.singular_values_, ref.singular_values_, rtol=1e-9)
    cos = np.abs(np.sum(fast.components_ * ref.components_, axis=1))
    np.testing.assert_allclose(cos, 1.0, atol=1e-8)
    np.testing.assert_allclose(np.abs(Z), np.abs(ref.transform(tfidf)), atol=1e-9)
    np.testing.assert_allclose(fast.transform(tfidf), Z, atol=1e-12)


def test_text_features_uses_the_fast_solver():
    from mmfeat.text import TextFeatures

    docs = [f"doc {i} about topic {i % 5} and word{i % 7}" for i in range(60)]
    tf = TextFeatures(n_components=6).fit(docs)
    assert tf.svd_.power_iteration_normalizer == "fast"


@pytest.mark.parametrize("cond", [1.0, 1e4, 1e12])
def test_orthonormal_basis_spans_the_columns(cond):
    """CholeskyQR2 (Householder QR where the Gram matrix is too ill-conditioned):
    orthonormal columns spanning Y's, as LAPACK's QR gives."""
    from scipy import linalg

    from mmfeat.text._lsa import _orthonormal_basis

    rng = np.random.default_rng(3)
    U, _ = np.linalg.qr(rng.standard_normal((2000, 40)))
    V, _ = np.linalg.qr(rng.standard_normal((40, 40)))
    Y = np.ascontiguousarray((U * np.logspace(0, -np.log10(cond), 40)) @ V)
    Q = _orthonormal_basis(Y)
    assert Q.shape == Y.shape
    np.testing.assert_allclose(Q.T @ Q, np.eye(40), atol=1e-12)
    ref, _ = linalg.qr(Y, mode="economic")
    # the same column space: the projections onto the two bases agree
    np.testing.assert_allclose(Q @ (Q.T @ U), ref @ (ref.T @ U), atol=1e-8)


def test_orthonormal_basis_of_rank_deficient_columns_falls_back_to_qr():
    from mmfeat.text._lsa import _orthonormal_basis

    Y = np.ones((50, 3))
    Q = _orthonormal_basis(Y)
    assert Q.shape == (50, 3) and np.all(np.isfinite(Q))
    np.testing.assert_allclose(Q.T @ Q, np.eye(3), atol=1e-12)


def test_fast_solver_gives_the_same_numbers_on_one_thread(tfidf):
    """The tall dense products run by fixed blocks of rows (their sums in block
    order), the sparse ones by rows: no result depends on the thread count."""
    fast = ParallelTruncatedSVD(16, random_state=0, power_iteration_normalizer="fast")
    Z = fast.fit_transform(tfidf)
    with mmfeat.set_num_threads(1):
        one = ParallelTruncatedSVD(16, random_state=0, power_iteration_normalizer="fast")
        np.testing.assert_array_equal(one.fit_transform(tfidf), Z)
    np.testing.assert_array_equal(one.components_, fast.components_)


@pytest.mark.parametrize("cond", [1.0, 1e3])
def test_normalise_columns_keeps_the_span_in_place(cond):
    """The fast solver's normaliser: one CholeskyQR step written over Y, whose
    columns span Y's and are orthonormal to ~eps cond^2."""
    from mmfeat.text._lsa import _BLOCK_ROWS, _normalise_columns

    rng = np.random.default_rng(4)
    m = 2 * _BLOCK_ROWS + 37  # a partial last block
    U, _ = np.linalg.qr(rng.standard_normal((m, 30)))
    V, _ = np.linalg.qr(rng.standard_normal((30, 30)))
    Y = np.ascontiguousarray((U * np.logspace(0, -np.log10(cond), 30)) @ V) * 1e3
    before = Y.copy()
    Q = _normalise_columns(Y)
    assert Q is Y
    np.testing.assert_allclose(Q.T @ Q, np.eye(30), atol=1e-14 * cond**2 + 1e-13)
    # the same column space: Q = Y_before @ C for some C, and back
    C, *_ = np.linalg.lstsq(before, Q, rcond=None)
    np.testing.assert_allclose(before @ C, Q, atol=1e-10)
    np.testing.assert_allclose(Q @ (Q.T @ U), U, atol=1e-9)


def test_normalise_columns_of_ill_conditioned_columns_uses_lu():
    from mmfeat.text._lsa import _lu_permute_l, _normalise_columns

    rng = np.random.default_rng(5)
    Y = rng.standard_normal((300, 6))
    Y[:, 5] = Y[:, 4] + 1e-9 * Y[:, 3]  # cond ~1e9: the Gram matrix cannot hold it
    want = _lu_permute_l(Y.copy())[0]
    np.testing.assert_array_equal(_normalise_columns(Y), want)


def test_blocked_small_products_equal_numpy():
    from mmfeat.text._lsa import _BLOCK_ROWS, _gram, _times_small

    rng = np.random.default_rng(6)
    Y = rng.standard_normal((3 * _BLOCK_ROWS + 5, 12))
    S = rng.standard_normal((12, 12))
    np.testing.assert_allclose(_gram(Y), Y.T @ Y, rtol=1e-13, atol=1e-11)
    np.testing.assert_allclose(_times_small(Y, S[:, :7]), Y @ S[:, :7], rtol=1e-13, atol=1e-12)
    want = Y @ S
    assert _times_small(Y, S, out=Y) is Y
    np.testing.assert_allclose(Y, want, rtol=1e-13, atol=1e-12)
    assert _gram(np.empty((0, 3))).shape == (3, 3)


def test_fast_solver_on_float32(tfidf):
    X = tfidf.astype(np.float32)
    ref = TruncatedSVD(8, random_state=0).fit(X)
    fast = ParallelTruncatedSVD(8, random_state=0, power_iteration_normalizer="fast")
    Z = fast.fit_transform(X)
    assert Z.dtype == np.float32 and fast.components_.dtype == np.float32
    np.testing.assert_allclose(fast.explained_variance_ratio_.sum(),
                               ref.explained_variance_ratio_.sum(), rtol=1e-4)
    np.testing.assert_allclose(fast.singular_values_, ref.singular_values_, rtol=1e-4)


def test_fast_solver_restores_the_blas_threads_also_from_concurrent_fits(tfidf):
    """The fast solver holds BLAS at one thread while it runs (process-wide): fits
    that overlap in time, from several threads, leave the user's BLAS setting as
    it was and give the same numbers as one fit alone."""
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_info

    def blas_threads():
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    before = blas_threads()
    fit = ParallelTruncatedSVD(8, random_state=0, power_iteration_normalizer="fast")
    alone = clone(fit).fit_transform(tfidf)
    assert blas_threads() == before
    with ThreadPoolExecutor(3) as ex:
        outs = list(ex.map(lambda _: clone(fit).fit_transform(tfidf), range(6)))
    assert blas_threads() == before
    for Z in outs:
        np.testing.assert_array_equal(Z, alone)
