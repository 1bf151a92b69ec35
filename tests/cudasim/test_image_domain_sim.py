"""backend="cuda" on the new input domain (issue 19), under Numba's CUDA simulator.

``NUMBA_ENABLE_CUDASIM=1 pytest tests/cudasim``: sobel's ``mask=``/``axis=``,
canny's ``mask=`` (one for the batch, one per image, every mode), the rare dtypes
converted at the boundary, floats outside [0, 1], NaN, and one 2-D image, each
against the numpy reference (and scikit-image where it is exact). Tiny images.
"""

from __future__ import annotations

import numpy as np
import pytest
from skimage import feature, filters

import mmfeat.image as mi

pytestmark = pytest.mark.cudasim

SHAPE = (2, 9, 13)


def _edgy(seed=0) -> np.ndarray:
    """(2, 9, 13) float32 with a step and some texture: Canny finds edges."""
    n, H, W = SHAPE
    i, j = np.mgrid[0:H, 0:W]
    rng = np.random.default_rng(seed)
    out = np.empty(SHAPE, np.float32)
    for k in range(n):
        out[k] = 0.2 + 0.6 * (j > W // 2 + k) + 0.05 * np.sin(i + k) + rng.normal(0, 0.02, (H, W))
    return out


X = _edgy()
ONE = np.zeros(SHAPE[1:], bool)
ONE[1:8, 2:12] = True
ONE[4, 5] = False
MANY = np.stack([ONE, np.roll(ONE, 1, axis=1)])


@pytest.mark.parametrize("mask", [None, ONE, MANY], ids=["none", "one", "per_image"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 0), ()], ids=str)
def test_sobel_mask_axis(mask, axis):
    got = mi.sobel(X, mask, axis=axis, mode="nearest", backend="cuda")
    want = mi.sobel(X, mask, axis=axis, mode="nearest", backend="numpy")
    assert got.dtype == want.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    for k in range(2):
        m = None if mask is None else (mask if mask.ndim == 2 else mask[k])
        anchor = {None: None, -1: 1}.get(axis, axis) if not isinstance(axis, tuple) else axis
        np.testing.assert_allclose(got[k], filters.sobel(X[k], m, axis=anchor, mode="nearest"),
                                   rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("mode", ["constant", "reflect", "wrap"])
@pytest.mark.parametrize("mask", [ONE, MANY], ids=["one", "per_image"])
def test_canny_mask(mode, mask):
    kw = dict(sigma=0.8, low_threshold=0.05, high_threshold=0.2, mode=mode, cval=0.3)
    got = mi.canny(X, mask=mask, backend="cuda", **kw)
    np.testing.assert_array_equal(got, mi.canny(X, mask=mask, backend="numpy", **kw))
    for k in range(2):
        want = feature.canny(X[k], mask=mask if mask.ndim == 2 else mask[k], **kw)
        np.testing.assert_array_equal(got[k], want)
    assert got.any()


def test_canny_mask_quantiles_and_rgb():
    got = mi.canny(X, 1.0, 0.5, 0.8, MANY, True, backend="cuda")
    np.testing.assert_array_equal(got, mi.canny(X, 1.0, 0.5, 0.8, MANY, True, backend="numpy"))
    rgb = (np.stack([X, X * 0.9, X * 0.5], -1) * 255).astype(np.uint8)
    np.testing.assert_array_equal(mi.canny(rgb, mask=ONE, backend="cuda"),
                                  mi.canny(rgb, mask=ONE, backend="numpy"))


@pytest.mark.parametrize("dtype", [np.bool_, np.int8, np.int16, np.uint32, np.float16],
                         ids=lambda d: np.dtype(d).name)
def test_rare_dtypes(dtype):
    if np.dtype(dtype) == np.bool_:
        g = X > 0.5
    elif np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        g = np.round(X * (float(info.max) - float(info.min)) + float(info.min)).astype(dtype)
    else:
        g = X.astype(dtype)
    rgb = np.stack([g, g[:, ::-1], g[:, :, ::-1]], -1)
    for fn, x in ((mi.sobel, g), (mi.rgb_to_gray, rgb), (mi.rgb_to_hsv, rgb)):
        got, want = fn(x, backend="cuda"), fn(x, backend="numpy")
        assert got.dtype == want.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7, err_msg=fn.__name__)
    np.testing.assert_array_equal(mi.canny(g, backend="cuda"), mi.canny(g, backend="numpy"))


# inf / inf on the simulator's NumPy scalars (its threads ignore np.errstate)
@pytest.mark.filterwarnings("ignore:invalid value encountered in scalar divide")
def test_out_of_range_nan_and_2d():
    depth = X * 500 - 50
    depth[0, 3, 4] = np.nan
    np.testing.assert_allclose(mi.sobel(depth, backend="cuda"), mi.sobel(depth, backend="numpy"),
                               rtol=1e-6, atol=1e-4, equal_nan=True)
    np.testing.assert_array_equal(mi.canny(depth, 1.0, 10, 50, backend="cuda"),
                                  mi.canny(depth, 1.0, 10, 50, backend="numpy"))
    hdr = np.stack([depth, depth[:, ::-1], np.full_like(depth, np.inf)], -1)
    np.testing.assert_array_equal(mi.rgb_to_hsv(hdr, backend="cuda"),
                                  mi.rgb_to_hsv(hdr, backend="numpy"))
    one = X[0]
    s = mi.sobel(one, ONE, axis=1, backend="cuda")
    assert s.shape == one.shape
    np.testing.assert_allclose(s, filters.sobel(one, ONE, axis=1), atol=2e-6)
    np.testing.assert_array_equal(mi.canny(one, mask=ONE, backend="cuda"),
                                  feature.canny(one, mask=ONE))
