"""local_binary_pattern, lbp_histogram, graycomatrix and graycoprops against
scikit-image per image (numpy and cpu backends): photographs with noise across
dtypes and odd shapes, exact codes and counts, properties within 1e-6, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage import feature

import mmfeat.image as mi
from mmfeat.image.texture import MethodError

BACKENDS = ["numpy", "cpu"]
METHODS = ["default", "ror", "uniform", "nri_uniform", "var"]
PROPS = ["contrast", "dissimilarity", "homogeneity", "ASM", "energy", "correlation", "mean",
         "variance", "std", "entropy"]


@pytest.fixture(scope="module")
def gray(photos64):
    """(4, 64, 64) uint8 noisy gray photographs, with a flat patch (ties)."""
    rng = np.random.default_rng(0)
    g = photos64.astype(np.float64) @ [0.2125, 0.7154, 0.0721] + rng.normal(0, 3, (4, 64, 64))
    g = np.clip(np.rint(g), 0, 255).astype(np.uint8)
    g[:, 5:15, 5:15] = 100
    return g


def _sk_lbp(x, P, R, method):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return np.stack([feature.local_binary_pattern(im, P, R, method) for im in x])


def _as(x, dtype):
    dtype = np.dtype(dtype)
    if dtype == np.uint16:
        return x.astype(np.uint16) * 257
    if dtype.kind == "f":
        return (x / 255.0).astype(dtype)
    return x


# --- LBP ------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("P, R", [(8, 1), (16, 2), (24, 3)])
@pytest.mark.parametrize("method", METHODS)
def test_lbp_uint8_photographs_exact(gray, backend, P, R, method):
    if method in ("default", "ror") and P > 16:
        pytest.skip("2**24 codes: covered at P <= 16")
    got = mi.local_binary_pattern(gray, P, R, method, backend=backend)
    want = _sk_lbp(gray, P, R, method)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.uint16, np.float32, np.float64])
@pytest.mark.parametrize("method", ["uniform", "nri_uniform", "var", "ror"])
def test_lbp_dtypes_and_odd_shapes_exact(gray, backend, dtype, method):
    x = _as(gray[:2, 3:40, 1:34], dtype)
    ctx = pytest.warns(UserWarning, match="floating-point") if x.dtype.kind == "f" else \
        warnings.catch_warnings()
    with ctx:
        got = mi.local_binary_pattern(x, 8, 1.5, method, backend=backend)
    np.testing.assert_array_equal(got, _sk_lbp(x, 8, 1.5, method))


@pytest.mark.parametrize("backend", BACKENDS)
def test_lbp_tiny_images_and_odd_radius(backend):
    x = np.random.default_rng(5).integers(0, 4, (3, 2, 3), dtype=np.uint8)
    for P, R in ((4, 0.7), (6, 2.5), (3, 0.1)):
        for method in METHODS:
            np.testing.assert_array_equal(mi.local_binary_pattern(x, P, R, method,
                                                                  backend=backend),
                                          _sk_lbp(x, P, R, method))


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 12), st.floats(0.5, 4.0), st.sampled_from(METHODS),
       st.integers(1, 20), st.integers(1, 20), st.integers(0, 2**31))
def test_lbp_cpu_hypothesis(P, R, method, H, W, seed):
    x = np.random.default_rng(seed).integers(0, 6, (2, H, W), dtype=np.uint8)  # many ties
    np.testing.assert_array_equal(mi.local_binary_pattern(x, P, R, method, backend="cpu"),
                                  _sk_lbp(x, P, R, method))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("method, P", [("ror", 17), ("ror", 31), ("default", 20),
                                       ("uniform", 40), ("uniform", 62), ("nri_uniform", 33),
                                       ("nri_uniform", 62), ("var", 40)])
def test_lbp_large_P_exact(gray, backend, method, P):
    """Without a look-up table (P > 16): rotations and bit counts per pixel, ties included."""
    x = gray[:2, 2:22, 5:28] // 16  # few levels: many equal samples
    np.testing.assert_array_equal(
        mi.local_binary_pattern(x, P, 2.5, method, backend=backend), _sk_lbp(x, P, 2.5, method))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("method, P, n_bins", [("uniform", 8, 10), ("nri_uniform", 8, 59),
                                               ("default", 8, 256), ("ror", 6, 64),
                                               ("uniform", 24, 26)])
def test_lbp_histogram(gray, backend, method, P, n_bins):
    R = 3 if P == 24 else 1
    got = mi.lbp_histogram(gray, P, R, method, backend=backend)
    codes = _sk_lbp(gray, P, R, method).astype(np.int64)
    want = np.stack([np.bincount(c.ravel(), minlength=n_bins) for c in codes]) / (64 * 64)
    assert got.shape == (4, n_bins)
    np.testing.assert_array_equal(got, want)
    counts = mi.lbp_histogram(gray, P, R, method, normalize=False, backend=backend)
    assert counts.dtype == np.int64 and (counts.sum(axis=1) == 64 * 64).all()


def test_lbp_errors():
    x = np.zeros((1, 8, 8), np.uint8)
    with pytest.raises(KeyError):  # scikit-image's exception type for an unknown method
        mi.local_binary_pattern(x, 8, 1, "bogus")
    with pytest.raises(ValueError, match="method"):
        mi.local_binary_pattern(x, 8, 1, "bogus")
    assert issubclass(MethodError, KeyError)
    with pytest.raises(TypeError, match="P"):
        mi.local_binary_pattern(x, 8.0, 1)
    with pytest.raises(ValueError, match="P must be in"):
        mi.local_binary_pattern(x, 0, 1)
    with pytest.raises(ValueError, match="P must be in"):
        mi.local_binary_pattern(x, 32, 1, "default")
    with pytest.raises(TypeError, match="R"):
        mi.local_binary_pattern(x, 8, "1")
    with pytest.raises(ValueError, match="R"):
        mi.local_binary_pattern(x, 8, np.inf)
    with pytest.raises(ValueError, match="3-dimensional"):
        mi.local_binary_pattern(x[0], 8, 1)
    with pytest.raises(ValueError, match="var"):
        mi.lbp_histogram(x, 8, 1, "var")
    assert mi.local_binary_pattern(x, 8, 1, "UNIFORM").shape == (1, 8, 8)  # case-insensitive


# --- GLCM -----------------------------------------------------------------------------

DIST = [1, 2, 3.7]
ANG = [0, np.pi / 4, np.pi / 2, 3 * np.pi / 4, np.pi, -np.pi / 3]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("levels, dtype", [(None, np.uint8), (32, np.uint8), (64, np.int16),
                                           (300, np.uint16), (None, np.int8)])
@pytest.mark.parametrize("symmetric, normed", [(False, False), (True, False), (True, True),
                                               (False, True)])
def test_graycomatrix_exact(gray, backend, levels, dtype, symmetric, normed):
    div = 256 // (levels or 256) if (levels or 256) <= 256 else 1
    x = gray[:2, :50, 3:60] // max(div, 1)
    x = (x // 2 if dtype == np.int8 else x).astype(dtype)  # int8 holds 0..127
    got = mi.graycomatrix(x, DIST, ANG, levels=levels, symmetric=symmetric, normed=normed,
                          backend=backend)
    want = np.stack([feature.graycomatrix(im, DIST, ANG, levels=levels, symmetric=symmetric,
                                          normed=normed) for im in x])
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("prop", PROPS)
@pytest.mark.parametrize("normed", [False, True])
def test_graycoprops_match_skimage(gray, backend, prop, normed):
    Ps = [mi.graycomatrix(gray[:2], [1, 3.7], [0, 3 * np.pi / 4], symmetric=True, normed=normed,
                          backend="numpy"),
          mi.graycomatrix(gray // 8, [1, 40], [0, np.pi / 2], levels=32, backend="numpy")]
    flat = np.zeros((1, 4, 4, 1, 2), np.uint32)
    flat[0, 2, 2] = 5  # one gray level: std 0 -> correlation 1
    Ps.append(flat)
    for P in Ps:
        got = mi.graycoprops(P, prop, backend=backend)
        want = np.stack([feature.graycoprops(p, prop) for p in P])
        assert got.shape == want.shape == (P.shape[0],) + P.shape[3:]
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 9), st.integers(1, 12), st.integers(1, 12),
       st.lists(st.floats(0, 5), min_size=1, max_size=3),
       st.lists(st.floats(-4, 4), min_size=1, max_size=3), st.booleans(),
       st.integers(0, 2**31))
def test_glcm_cpu_hypothesis(levels, H, W, dist, ang, sym, seed):
    x = np.random.default_rng(seed).integers(0, levels, (2, H, W), dtype=np.uint8)
    got = mi.graycomatrix(x, dist, ang, levels=levels, symmetric=sym, backend="cpu")
    want = np.stack([feature.graycomatrix(im, dist, ang, levels=levels, symmetric=sym)
                     for im in x])
    np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(mi.graycoprops(got, "correlation", backend="cpu"),
                               np.stack([feature.graycoprops(w, "correlation") for w in want]),
                               rtol=1e-6, atol=1e-9)


def test_graycomatrix_errors_like_skimage():
    x = np.zeros((1, 6, 6), np.uint8)
    cases = [
        (x.astype(np.float32), {}, ValueError, "Float images"),
        (x.astype(np.uint16), {}, ValueError, "levels argument is required"),
        (x.astype(np.int16) - 1, {"levels": 8}, ValueError, "Negative-valued"),
        (x + 9, {"levels": 8}, ValueError, "smaller than the number of levels"),
        (x[0], {}, ValueError, "3-dimensional"),
        (x.astype(bool), {"levels": 2}, TypeError, "integer dtype"),
        (x, {"levels": 2.5}, TypeError, "levels"),
    ]
    for img, kw, exc, match in cases:
        with pytest.raises(exc, match=match):
            mi.graycomatrix(img, [1], [0], **kw)
    with pytest.raises(ValueError, match="distances"):
        mi.graycomatrix(x, [[1]], [0])
    with pytest.raises(ValueError, match="angles"):
        mi.graycomatrix(x, [1], [])
    with pytest.raises(ValueError, match="finite"):
        mi.graycomatrix(x, [np.nan], [0])


def test_graycoprops_errors_like_skimage():
    P = np.zeros((1, 4, 4, 1, 1), np.uint32)
    with pytest.raises(ValueError, match="invalid property"):
        mi.graycoprops(P, "bogus")
    with pytest.raises(ValueError, match="must be equal"):
        mi.graycoprops(np.zeros((1, 4, 3, 1, 1)), "contrast")
    with pytest.raises(ValueError, match="num_dist"):
        mi.graycoprops(np.zeros((1, 4, 4, 0, 1)), "contrast")
    with pytest.raises(ValueError, match="5-dimensional"):
        mi.graycoprops(P[0], "contrast")


def test_empty_batches():
    assert mi.graycomatrix(np.zeros((0, 5, 5), np.uint8), [1], [0, 1]).shape == (0, 256, 256, 1, 2)
    assert mi.local_binary_pattern(np.zeros((0, 5, 5), np.uint8), 8, 1).shape == (0, 5, 5)
    assert mi.lbp_histogram(np.zeros((0, 5, 5), np.uint8), 8, 1).shape == (0, 10)
    assert mi.graycoprops(np.zeros((0, 4, 4, 1, 2)), "ASM").shape == (0, 1, 2)
