"""ImageFeatures: shape, names, grid, values equal to the separate ops, scikit-learn conventions."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.utils.validation import check_is_fitted

import mmfeat
import mmfeat.image as mi
from mmfeat.image import ImageFeatures

MOMENT_NAMES = [f"{s}_{c}" for s in ("mean", "std", "skew") for c in "rgb"]
BACKENDS = ["numpy", "cpu"]


@pytest.fixture(scope="module")
def x(photos64) -> np.ndarray:
    return np.ascontiguousarray(photos64[:, :48, :40])  # H != W catches axis mix-ups


def expected_cell_features(cell, full_edges, ys, xs, *, hsv_bins=(8, 4, 4), orientations=9,
                           backend="cpu"):
    """The documented columns of one cell, from the separate public ops."""
    blocks = [
        mi.color_histogram(cell, hsv_bins, "hsv", backend=backend),
        mi.color_moments(cell, backend=backend),
        full_edges[:, ys, xs].mean(axis=(1, 2))[:, None],
        mi.gradient_histogram(cell, orientations, backend=backend),
    ]
    return np.concatenate([b.astype(np.float32) for b in blocks], axis=1)


@pytest.mark.parametrize("backend", BACKENDS)
def test_default_shape_names_and_dtype(x, backend):
    est = ImageFeatures(backend=backend)
    assert est.fit(x) is est
    out = est.transform(x)
    D = 8 * 4 * 4 + 9 + 1 + 9
    assert isinstance(out, np.ndarray)
    assert out.shape == (x.shape[0], D) and out.dtype == np.float32
    assert est.n_features_out_ == D
    names = est.get_feature_names_out()
    assert list(names) == (
        [f"hsv_hist_{i}" for i in range(128)] + MOMENT_NAMES + ["edge_density"]
        + [f"grad_hist_{i}" for i in range(9)]
    )
    assert np.all(np.isfinite(out))


@pytest.mark.parametrize("backend", BACKENDS)
def test_values_equal_the_separate_ops(x, backend):
    out = ImageFeatures(canny_sigma=1.5, backend=backend).fit_transform(x)
    edges = mi.canny(x, sigma=1.5, backend=backend)
    want = expected_cell_features(x, edges, slice(None), slice(None), backend=backend)
    np.testing.assert_array_equal(out, want)
    # the blocks themselves are what they claim to be
    np.testing.assert_allclose(out[:, :128].sum(axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(out[:, -9:].sum(axis=1), 1, atol=1e-5)
    assert np.all((out[:, 137] >= 0) & (out[:, 137] <= 1))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("grid", [(2, 3), (3, 1), (1, 2)])
def test_grid_cells(x, backend, grid):
    gr, gc = grid
    est = ImageFeatures(hsv_bins=(4, 2, 2), orientations=5, grid=grid, backend=backend).fit(x)
    out = est.transform(x)
    per_cell = 16 + 9 + 1 + 5
    assert out.shape == (x.shape[0], gr * gc * per_cell) and out.dtype == np.float32
    names = est.get_feature_names_out()
    assert len(names) == out.shape[1] == est.n_features_out_
    assert len(set(names)) == len(names)
    N, H, W = x.shape[:3]
    edges = mi.canny(x, backend=backend)  # the edge map is computed on the whole image
    col = 0
    for r in range(gr):
        ys = slice(r * H // gr, (r + 1) * H // gr)
        for c in range(gc):
            xs = slice(c * W // gc, (c + 1) * W // gc)
            cell_names = names[col : col + per_cell]
            assert all(n.startswith(f"cell{r}_{c}_") for n in cell_names)
            assert cell_names[0] == f"cell{r}_{c}_hsv_hist_0"
            assert cell_names[per_cell - 1] == f"cell{r}_{c}_grad_hist_4"
            cell = np.ascontiguousarray(x[:, ys, xs])
            want = expected_cell_features(cell, edges, ys, xs, hsv_bins=(4, 2, 2),
                                          orientations=5, backend=backend)
            np.testing.assert_array_equal(out[:, col : col + per_cell], want)
            col += per_cell
    assert col == out.shape[1]


def test_grid_one_by_one_has_no_prefix(x):
    names = ImageFeatures(grid=(1, 1)).fit(x).get_feature_names_out()
    assert not any(n.startswith("cell") for n in names)


GRAD9 = [f"grad_hist_{i}" for i in range(9)]


@pytest.mark.parametrize(
    "params,names",
    [
        (dict(hsv_bins=None), MOMENT_NAMES + ["edge_density"] + GRAD9),
        (dict(moments=False, edge_density=False, orientations=None),
         [f"hsv_hist_{i}" for i in range(128)]),
        (dict(hsv_bins=2, moments=False, orientations=3),
         [f"hsv_hist_{i}" for i in range(8)] + ["edge_density"]
         + [f"grad_hist_{i}" for i in range(3)]),
        (dict(hsv_bins=None, moments=False, edge_density=False), GRAD9),
    ],
)
def test_switching_blocks_off(x, params, names):
    est = ImageFeatures(**params).fit(x)
    assert list(est.get_feature_names_out()) == names
    assert est.transform(x).shape == (x.shape[0], len(names))


def test_switched_off_blocks_leave_the_others_unchanged(x):
    full = ImageFeatures().fit_transform(x)
    only_moments = ImageFeatures(hsv_bins=None, edge_density=False, orientations=None)
    np.testing.assert_array_equal(only_moments.fit_transform(x), full[:, 128:137])


def test_gray_batch_is_treated_as_rgb(x):
    gray = np.ascontiguousarray(x[..., 1])
    est = ImageFeatures(grid=(2, 2)).fit(gray)
    rgb = np.repeat(gray[..., None], 3, axis=-1)
    np.testing.assert_array_equal(est.transform(gray), est.transform(rgb))


def test_dtypes_give_float32(x):
    est = ImageFeatures().fit(x)
    for batch in (x, x.astype(np.uint16) * 257, (x / 255.0).astype(np.float64),
                  (x / 255.0).astype(np.float16)):
        out = est.transform(batch)
        assert out.dtype == np.float32


def test_numpy_and_cpu_backends_agree(x):
    a = ImageFeatures(grid=(2, 2), backend="numpy").fit_transform(x)
    b = ImageFeatures(grid=(2, 2), backend="cpu").fit_transform(x)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)


def test_use_backend_context_applies(x, monkeypatch):
    from mmfeat.image import _dispatch

    seen = set()
    real = _dispatch.impl
    monkeypatch.setattr(_dispatch, "impl", lambda name: seen.add(name) or real(name))
    with mmfeat.use_backend("numpy"):
        ImageFeatures().fit_transform(x[:1])
    assert seen == {"numpy"}
    seen.clear()
    with mmfeat.use_backend("numpy"):
        ImageFeatures(backend="cpu").fit_transform(x[:1])
    assert seen == {"cpu"}


# --- scikit-learn conventions ------------------------------------------------------------------


def test_get_params_and_clone():
    est = ImageFeatures(hsv_bins=(4, 4, 4), grid=(2, 2), canny_sigma=2.0, backend="numpy")
    params = est.get_params()
    assert params == dict(hsv_bins=(4, 4, 4), moments=True, edge_density=True, canny_sigma=2.0,
                          orientations=9, hog=None, grid=(2, 2), backend="numpy")
    twin = clone(est)
    assert twin is not est and twin.get_params() == params
    twin.set_params(orientations=4)
    assert twin.orientations == 4 and est.orientations == 9


def test_init_only_stores():
    est = ImageFeatures(grid="not a grid", orientations=-1)  # no error until fit
    assert est.grid == "not a grid"
    with pytest.raises(ValueError):
        est.fit(np.zeros((1, 4, 4, 3), np.uint8))


def test_transform_before_fit_raises_not_fitted(x):
    with pytest.raises(NotFittedError):
        ImageFeatures().transform(x)
    with pytest.raises(NotFittedError):
        ImageFeatures().get_feature_names_out()
    fitted = ImageFeatures().fit(x)
    check_is_fitted(fitted)
    with pytest.raises(NotFittedError):
        clone(fitted).transform(x)


def test_fit_transform_equals_fit_then_transform(x):
    np.testing.assert_array_equal(
        ImageFeatures(grid=(2, 1)).fit_transform(x), ImageFeatures(grid=(2, 1)).fit(x).transform(x)
    )


def test_fit_ignores_y_and_does_not_learn_from_data(x):
    a = ImageFeatures().fit(x, y=np.arange(len(x)))
    b = ImageFeatures().fit(np.zeros((1, 5, 5, 3), np.uint8))
    np.testing.assert_array_equal(a.transform(x), b.transform(x))


def test_pickle_roundtrip(x):
    est = ImageFeatures(grid=(2, 2)).fit(x)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.transform(x), est.transform(x))
    np.testing.assert_array_equal(again.get_feature_names_out(), est.get_feature_names_out())


def test_in_a_pipeline(x):
    y = np.array([0, 1, 0, 1])
    pipe = make_pipeline(ImageFeatures(hsv_bins=(4, 2, 2)), LogisticRegression(max_iter=200))
    pipe.fit(x, y)
    assert pipe.predict(x).shape == (4,)


def test_set_output_pandas(x):
    pd = pytest.importorskip("pandas")
    est = ImageFeatures(grid=(1, 2)).set_output(transform="pandas")
    df = est.fit_transform(x)
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == list(est.get_feature_names_out())
    assert df.shape == (x.shape[0], est.n_features_out_)


def test_image_features_with_hog_beside_or_instead_of_the_gradient_histogram():
    from skimage.feature import hog as sk_hog

    from mmfeat.image import ImageFeatures

    x = np.random.default_rng(4).integers(0, 256, (3, 40, 48, 3), dtype=np.uint8)
    params = {"pixels_per_cell": (8, 8), "cells_per_block": (2, 2)}
    beside = ImageFeatures(hog=params).fit(x)
    instead = ImageFeatures(hog=params, orientations=None).fit(x)
    Xb, Xi = beside.transform(x), instead.transform(x)
    names = list(beside.get_feature_names_out())
    hog_cols = [i for i, n in enumerate(names) if n.startswith("hog_")]
    assert any(n.startswith("grad_hist_") for n in names)
    assert not any(n.startswith("grad_hist_") for n in instead.get_feature_names_out())
    for i in range(len(x)):  # the HOG columns are scikit-image's hog of the whole image
        ref = sk_hog(x[i], **params, channel_axis=-1)
        np.testing.assert_allclose(Xb[i, hog_cols], ref, atol=1e-5)
        np.testing.assert_allclose(Xi[i, -len(ref):], ref, atol=1e-5)
    assert Xb.shape == (3, len(names)) and Xb.dtype == np.float32
    with pytest.raises(ValueError, match="fitted on 40x48 images, got 32x48"):
        beside.transform(x[:, :32])
    with pytest.raises(ValueError, match="fitted on images"):
        ImageFeatures(hog=True).fit()
    with pytest.raises(ValueError, match="unknown parameters"):
        ImageFeatures(hog={"cells": 2}).fit(x)
