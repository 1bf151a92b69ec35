"""Input domain of the image ops against scikit-image 0.26 (issue 19, "drop-in for real").

Every real dtype scikit-image accepts (bool, signed and unsigned integers, float16/32/64)
is scaled as ``img_as_float``; floats of any range and NaN/inf go through where the
anchor takes them; ``mask=`` and ``axis=`` of sobel, ``mask=`` of canny; one 2-D
image; the errors scikit-image raises (type and message). Then scikit-image's own
sobel/canny tests (test_edges.py, test_canny.py), rewritten as mmfeat tests.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage import color, feature, filters
from skimage.util import img_as_float, img_as_ubyte

import mmfeat.image as mi

BACKENDS = ["numpy", "cpu"]
RARE = [np.bool_, np.int8, np.int16, np.int32, np.uint32, np.int64, np.uint64, np.float16]
ALL = RARE + [np.uint8, np.uint16, np.float32, np.float64]
ids = lambda d: np.dtype(d).name  # noqa: E731


def edge_agreement(a, b) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else 1.0 - np.logical_xor(a, b).sum() / union


def in_dtype(unit: np.ndarray, dtype) -> np.ndarray:
    """Values in [0, 1] spread over the whole range of ``dtype`` (signed: negatives too)."""
    dt = np.dtype(dtype)
    if dt == np.bool_:
        return unit > 0.5
    if dt.kind in "iu":
        info = np.iinfo(dt)
        lo, hi = float(info.min), float(info.max)
        if dt.itemsize == 8:  # float64 cannot hold 2**63 - 1 / 2**64 - 1: stay inside
            lo, hi = lo / 2, hi / 2
        return np.clip(np.round(unit.astype(np.float64) * (hi - lo) + lo), lo, hi).astype(dt)
    return unit.astype(dt)


def bar(dtype) -> float:
    """Edge agreement required where scikit-image works in float64: a binary image
    is full of exact magnitude ties, which float32 rounding splits differently."""
    return 0.95 if np.dtype(dtype) == np.bool_ else 0.99


def policy(dtype) -> np.dtype:
    return np.dtype(np.float64) if np.dtype(dtype) == np.float64 else np.dtype(np.float32)


@pytest.fixture(scope="module")
def unit_gray(photos64) -> np.ndarray:
    """(3, 40, 48) float64 in [0, 1]: gray photographs (mid-tones, edges)."""
    return color.rgb2gray(photos64[:3, 10:50, 8:56])


@pytest.fixture(scope="module")
def unit_rgb(photos64) -> np.ndarray:
    return photos64[:3, 10:30, 8:32] / 255.0


# --- dtypes, scaled as img_as_float -------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ALL, ids=ids)
def test_sobel_every_dtype(unit_gray, backend, dtype):
    x = in_dtype(unit_gray, dtype)
    out = mi.sobel(x, backend=backend)
    assert out.dtype == policy(dtype) and out.shape == x.shape
    for k, img in enumerate(x):
        ref = filters.sobel(img)
        np.testing.assert_allclose(out[k], ref, rtol=1e-5, atol=2e-6, err_msg=str(k))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ALL, ids=ids)
def test_rgb_to_gray_every_dtype(unit_rgb, backend, dtype):
    x = in_dtype(unit_rgb, dtype)
    out = mi.rgb_to_gray(x, backend=backend)
    assert out.dtype == policy(dtype)
    want = np.stack([color.rgb2gray(img) for img in x])
    np.testing.assert_allclose(out, want.astype(policy(dtype)), rtol=1e-6, atol=1e-7)
    # a gray batch of the dtype is returned scaled, as img_as_float
    g = mi.rgb_to_gray(x[..., 0], backend=backend)
    np.testing.assert_allclose(g, img_as_float(x[..., 0]).astype(policy(dtype)), rtol=1e-7)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ALL, ids=ids)
def test_rgb_to_hsv_every_dtype(unit_rgb, backend, dtype):
    x = in_dtype(unit_rgb, dtype)
    out = mi.rgb_to_hsv(x, backend=backend)
    assert out.dtype == policy(dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        want = np.stack([color.rgb2hsv(img) for img in x]).astype(policy(dtype))
    # signed input: S = delta / V is unbounded near V = 0 (inf there in both)
    np.testing.assert_allclose(out, want, rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [d for d in ALL if np.dtype(d).itemsize < 8
                                   or np.dtype(d) == np.float64], ids=ids)
def test_canny_every_dtype(unit_gray, backend, dtype):
    x = in_dtype(unit_gray, dtype)
    out = mi.canny(x, sigma=1.5, backend=backend)
    assert out.dtype == np.bool_
    for k, img in enumerate(x):
        ref = feature.canny(img, sigma=1.5)
        if np.dtype(dtype) in (np.float16, np.float32):
            np.testing.assert_array_equal(out[k], ref)  # same float32 pipeline
        else:  # scikit-image works in float64 there: ties within float32 rounding
            assert edge_agreement(out[k], ref) >= bar(dtype), k


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.uint16, np.int32, np.uint32, np.bool_],
                         ids=ids)
def test_canny_thresholds_in_the_dtypes_units(unit_gray, backend, dtype):
    x = in_dtype(unit_gray, dtype)
    top = 1 if np.dtype(dtype) == np.bool_ else np.iinfo(dtype).max
    lo, hi = 0.05 * top, 0.15 * top
    out = mi.canny(x, 1.0, lo, hi, backend=backend)
    for k, img in enumerate(x):
        ref = feature.canny(img, 1.0, lo, hi)
        assert ref.any()
        assert edge_agreement(out[k], ref) >= bar(dtype), k


@pytest.mark.parametrize("backend", BACKENDS)
def test_signed_scaling_is_img_as_float(backend):
    x = np.array([[[-128, -127, -1, 0, 1, 127]]], np.int8)
    g = mi.rgb_to_gray(x, backend=backend)  # a gray batch: scaled values
    np.testing.assert_array_equal(g[0, 0], img_as_float(x[0, 0]).astype(np.float32))
    assert g[0, 0, 0] == -1.0 and g[0, 0, -1] == 1.0
    b = np.array([[[False, True]]])
    np.testing.assert_array_equal(mi.rgb_to_gray(b, backend=backend), [[[0.0, 1.0]]])


# --- floats of any range, NaN and inf --------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_images_outside_unit_range(unit_gray, unit_rgb, backend, dtype):
    depth = (unit_gray * 900.0 - 100.0).astype(dtype)  # a depth map in cm
    sob = mi.sobel(depth, backend=backend)
    for k, img in enumerate(depth):
        np.testing.assert_allclose(sob[k], filters.sobel(img), rtol=1e-5, atol=1e-3)
    edges = mi.canny(depth, 2.0, 20.0, 60.0, backend=backend)  # thresholds in cm
    for k, img in enumerate(depth):
        ref = feature.canny(img, 2.0, 20.0, 60.0)
        assert ref.any()
        if dtype == np.float32:
            np.testing.assert_array_equal(edges[k], ref)
        else:
            assert edge_agreement(edges[k], ref) >= 0.99
    hdr = (unit_rgb * 6.0 - 1.0).astype(dtype)
    np.testing.assert_allclose(mi.rgb_to_gray(hdr, backend=backend),
                               np.stack([color.rgb2gray(i) for i in hdr]), rtol=1e-6, atol=1e-6)
    with np.errstate(divide="ignore", invalid="ignore"):
        want = np.stack([color.rgb2hsv(i) for i in hdr])
    np.testing.assert_allclose(mi.rgb_to_hsv(hdr, backend=backend), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_nan_and_inf_as_scikit_image(unit_gray, backend):
    x = unit_gray.astype(np.float32)
    x[0, 10, 12] = np.nan
    x[1, 20, 30] = np.inf
    sob = mi.sobel(x, backend=backend)
    for k, img in enumerate(x):
        np.testing.assert_allclose(sob[k], filters.sobel(img), rtol=1e-5, atol=2e-6,
                                   equal_nan=True)
    # NaN reaches the 8 neighbours; the centre has weight 0 in both kernels (scipy
    # skips zero weights), so it stays finite, as in scikit-image
    ring = np.isnan(sob[0, 9:12, 11:14])
    assert ring.sum() == 8 and not ring[1, 1]
    edges = mi.canny(x, backend=backend)
    for k, img in enumerate(x):
        np.testing.assert_array_equal(edges[k], feature.canny(img))
    q = mi.canny(x, low_threshold=0.5, high_threshold=0.9, use_quantiles=True, backend=backend)
    for k, img in enumerate(x):
        np.testing.assert_array_equal(
            q[k], feature.canny(img, low_threshold=0.5, high_threshold=0.9, use_quantiles=True))
    assert not q[0].any()  # a NaN percentile: no edges at all


@pytest.mark.parametrize("backend", BACKENDS)
def test_hsv_nan_and_inf_become_zero(backend):
    x = np.array([[[[np.nan, 0.2, 0.3], [np.inf, 0.0, 0.0], [np.inf, np.inf, 0.5],
                    [np.inf, np.inf, np.inf], [0.5, 0.2, 0.1]]]], np.float64)
    out = mi.rgb_to_hsv(x, backend=backend)[0, 0]
    with np.errstate(invalid="ignore"):
        want = color.rgb2hsv(x[0])[0]
    np.testing.assert_array_equal(out[:, 1:], want[:, 1:])  # S and V
    np.testing.assert_array_equal(out[1:, 0], want[1:, 0])  # hue (NaN pixel: ours 0)
    np.testing.assert_array_equal(out[0], [0, 0, 0])
    g = mi.rgb_to_gray(x, backend=backend)
    assert np.isnan(g[0, 0, 0]) and np.isinf(g[0, 0, 1])


# --- uint8 output: img_as_ubyte's domain --------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_uint8_output_of_out_of_range_floats(backend):
    x = np.full((1, 2, 3, 3), 0.5, np.float32)
    x[0, 0, 0] = (-0.5, -0.2, -0.9)  # gray in [-1, 0]: clipped to 0, as img_as_ubyte
    x[0, 1, 2] = (1.2, 0.9, 0.8)  # gray 0.96: fine although R > 1
    got = mi.rgb_to_gray(x, dtype=np.uint8, backend=backend)
    np.testing.assert_array_equal(got[0], img_as_ubyte(color.rgb2gray(x[0])))
    x[0, 1, 1] = (4.0, 4.0, 4.0)
    with pytest.raises(ValueError, match="between -1 and 1") as info:
        mi.rgb_to_gray(x, dtype=np.uint8, backend=backend)
    with pytest.raises(ValueError, match="between -1 and 1"):
        img_as_ubyte(color.rgb2gray(x[0]))  # the anchor refuses it too
    assert "images" in str(info.value) and "4" in str(info.value)
    # int8 with V close to 0: S = delta / V beyond 1, img_as_ubyte refuses it
    s = np.array([[[[-100, -50, 1]]]], np.int8)
    with pytest.raises(ValueError, match="between -1 and 1"):
        img_as_ubyte(color.rgb2hsv(s[0]))
    with pytest.raises(ValueError, match="between -1 and 1"):
        mi.rgb_to_hsv(s, dtype=np.uint8, backend=backend)
    ok = np.array([[[[100, 50, 1], [-100, -100, -100]]]], np.int8)
    np.testing.assert_array_equal(mi.rgb_to_hsv(ok, dtype=np.uint8, backend=backend)[0],
                                  img_as_ubyte(color.rgb2hsv(ok[0])))
    n = np.array([[[np.nan, 0.5]]], np.float32)
    np.testing.assert_array_equal(mi.rgb_to_gray(n, dtype=np.uint8, backend=backend),
                                  [[[0, 128]]])


# --- errors: type and message as the anchor ------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.int64, np.uint64], ids=ids)
def test_canny_refuses_64bit_integers(backend, dtype):
    x = np.zeros((2, 8, 8), dtype)
    with pytest.raises(ValueError, match="64-bit integer images are not supported"):
        feature.canny(x[0])
    with pytest.raises(ValueError, match="^images: 64-bit integer images are not supported"):
        mi.canny(x, backend=backend)
    with pytest.raises(TypeError, match="64-bit"):  # mmfeat's earlier exception type
        mi.canny(x, backend=backend)
    # the other ops take them, scaled as img_as_float (as scikit-image)
    assert mi.sobel(x, backend=backend).dtype == np.float32
    assert mi.rgb_to_gray(np.zeros((1, 4, 4, 3), dtype), backend=backend).dtype == np.float32


@pytest.mark.parametrize("op", [mi.sobel, mi.canny, mi.rgb_to_gray, mi.rgb_to_hsv])
@pytest.mark.parametrize("dtype", [np.complex64, object], ids=ids)
def test_non_real_dtypes(op, dtype):
    x = np.zeros((1, 6, 6, 3), dtype)
    with pytest.raises(ValueError, match="^images must have a real dtype") as info:
        op(x)
    assert isinstance(info.value, TypeError)  # both, as before
    assert np.dtype(dtype).name in str(info.value)


@pytest.mark.parametrize("op", [mi.color_histogram, mi.color_moments, mi.gradient_histogram])
def test_ops_without_an_anchor_keep_values_finite(op):
    x = np.full((1, 4, 4, 3), 0.5, np.float32)
    x[0, 1, 1, 1] = np.nan
    with pytest.raises(ValueError, match="^images contains NaN or inf"):
        op(x)


def test_color_histogram_needs_unit_range_after_scaling():
    with pytest.raises(ValueError, match=r"^images scaled to floats must lie in \[0, 1\]"):
        mi.color_histogram(np.full((1, 2, 2, 3), 1.5, np.float32))
    with pytest.raises(ValueError, match="-1"):
        mi.color_histogram(np.full((1, 2, 2, 3), -128, np.int8))
    # depth-like ranges are fine for the scale-free ops
    x = np.linspace(0, 500, 48, dtype=np.float32).reshape(1, 4, 4, 3)
    np.testing.assert_allclose(mi.color_moments(x)[0, :3], x[0].reshape(-1, 3).mean(0),
                               rtol=1e-6)
    assert mi.gradient_histogram(x).sum() == pytest.approx(1.0)


# --- mask= ---------------------------------------------------------------------------------------


def _masks(shape, seed=3):
    rng = np.random.default_rng(seed)
    n, H, W = shape
    one = np.zeros((H, W), bool)
    one[4:-6, 5:-3] = True
    one[10:14, 10:30] = False
    many = rng.random((n, H, W)) > 0.15
    many = ndi.binary_opening(many, np.ones((1, 3, 3)))
    return one, many


@pytest.mark.parametrize("backend", BACKENDS)
def test_sobel_mask_one_and_per_image(unit_gray, backend):
    x = unit_gray.astype(np.float32)
    one, many = _masks(x.shape)
    got = mi.sobel(x, one, backend=backend)
    for k, img in enumerate(x):
        np.testing.assert_allclose(got[k], filters.sobel(img, one), rtol=1e-5, atol=2e-6)
    got = mi.sobel(x, mask=many.astype(np.uint8), backend=backend)  # nonzero means True
    for k, img in enumerate(x):
        want = filters.sobel(img, many[k])
        np.testing.assert_allclose(got[k], want, rtol=1e-5, atol=2e-6)
        assert (got[k][~ndi.binary_erosion(many[k], np.ones((3, 3)), border_value=0)] == 0).all()
    # a full mask still zeroes the border (the erosion's border value is 0)
    full = mi.sobel(x, np.ones(x.shape[1:], bool), backend=backend)
    assert (full[:, 0] == 0).all() and (full[:, :, -1] == 0).all()
    np.testing.assert_array_equal(full[:, 1:-1, 1:-1], mi.sobel(x, backend=backend)[:, 1:-1, 1:-1])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("mode", ["constant", "reflect"])
def test_canny_mask_one_and_per_image(unit_gray, backend, mode):
    x = unit_gray.astype(np.float32)
    one, many = _masks(x.shape)
    got = mi.canny(x, 1.0, None, None, one, mode=mode, backend=backend)
    for k, img in enumerate(x):
        np.testing.assert_array_equal(got[k], feature.canny(img, 1.0, mask=one, mode=mode))
    got = mi.canny(x, sigma=2.0, mask=many, use_quantiles=True, low_threshold=0.6,
                   high_threshold=0.8, mode=mode, cval=0.3, backend=backend)
    for k, img in enumerate(x):
        want = feature.canny(img, 2.0, 0.6, 0.8, many[k], True, mode=mode, cval=0.3)
        assert want.any()
        np.testing.assert_array_equal(got[k], want)


@pytest.mark.parametrize("backend", BACKENDS)
def test_canny_mask_uint8_rgb_input(photos64, backend):
    x = photos64[:2, :40, :44]
    one, _ = _masks(x.shape[:3])
    got = mi.canny(x, mask=one, backend=backend)
    want_exact = mi.canny(mi.rgb_to_gray(x, backend="numpy"), mask=one, backend="numpy")
    np.testing.assert_array_equal(got, want_exact)
    for k, img in enumerate(x):
        assert edge_agreement(got[k], feature.canny(color.rgb2gray(img), mask=one)) >= 0.99


@pytest.mark.parametrize("op", [mi.sobel, mi.canny])
def test_mask_shape_errors(op):
    x = np.zeros((2, 6, 7), np.float32)
    for bad in (np.ones((6, 6), bool), np.ones((3, 6, 7), bool), np.ones((1, 6, 7), bool)):
        with pytest.raises(ValueError, match=r"^mask must have the images' shape") as info:
            op(x, mask=bad)
        assert isinstance(info.value, IndexError)  # canny's anchor raises IndexError
        assert "(6, 7)" in str(info.value)
    with pytest.raises(ValueError, match=r"\(6, 7\), got \(2, 6, 7\)"):
        op(x[0], mask=np.ones((2, 6, 7), bool))  # a 2-D image takes an (H, W) mask
    with pytest.raises(TypeError, match="^mask"):
        op(x, mask=np.ones((6, 7), complex))


# --- axis= ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "axis,anchor",
    [(0, 0), (1, 1), (-1, 1), (-2, 0), ((0, 1), (0, 1)), ((1, 0), (1, 0)), ([0], [0]),
     ((0, 0), (0, 0)), ((0, 1, 1), (0, 1, 1)), ((), ()), (np.int64(1), 1)],
    ids=str,
)
@pytest.mark.parametrize("dtype", [np.float32, np.uint8, np.int16], ids=ids)
def test_sobel_axis(unit_gray, backend, axis, anchor, dtype):
    x = in_dtype(unit_gray[:2], dtype)
    got = mi.sobel(x, axis=axis, mode="nearest", backend=backend)
    assert got.dtype == np.float32
    for k, img in enumerate(x):
        want = filters.sobel(img, axis=anchor, mode="nearest")
        np.testing.assert_allclose(got[k], want, rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_sobel_axis_rgb_mask_and_h_v(photos64, backend):
    x = photos64[:2, :30, :36]
    one, _ = _masks(x.shape[:3])
    got = mi.sobel(x, one, axis=1, backend=backend)
    for k, img in enumerate(x):
        g = color.rgb2gray(img)
        np.testing.assert_allclose(got[k], filters.sobel(g, one, axis=1), atol=2e-6)
        np.testing.assert_allclose(mi.sobel(x[k, ..., 0], axis=0, backend=backend),
                                   filters.sobel_h(x[k, ..., 0]), atol=2e-6)
        np.testing.assert_allclose(mi.sobel(x[k, ..., 0], axis=1, backend=backend),
                                   filters.sobel_v(x[k, ..., 0]), atol=2e-6)


def test_sobel_bad_axis():
    x = np.zeros((1, 5, 5), np.float32)
    with pytest.raises(IndexError):  # scikit-image's exception for axis 2
        filters.sobel(x[0], axis=2)
    for bad in (2, -3, (0, 2)):
        with pytest.raises(IndexError, match="axis"):
            mi.sobel(x, axis=bad)
        with pytest.raises(ValueError, match="axis"):
            mi.sobel(x, axis=bad)
    for bad in (1.0, True, "0", (0, 1.5)):
        with pytest.raises(TypeError, match="^axis"):
            mi.sobel(x, axis=bad)


# --- one 2-D image -----------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_2d_image(unit_gray, backend):
    img = unit_gray[0].astype(np.float32)
    s = mi.sobel(img, backend=backend)
    assert s.shape == img.shape
    np.testing.assert_allclose(s, filters.sobel(img), atol=2e-6)
    np.testing.assert_array_equal(mi.canny(img, backend=backend), feature.canny(img))
    u = (img * 255).astype(np.uint8)
    np.testing.assert_array_equal(mi.canny(u, 1.0, 20, 40, backend=backend),
                                  mi.canny(u[None], 1.0, 20, 40, backend=backend)[0])
    np.testing.assert_array_equal(mi.rgb_to_gray(u, backend=backend),
                                  img_as_float(u).astype(np.float32))
    assert mi.color_moments(u, backend=backend).shape == (9,)
    assert mi.gradient_histogram(u, 5, backend=backend).shape == (5,)
    out = np.empty(img.shape, np.float32)
    assert mi.sobel(img, out=out, backend=backend) is out
    np.testing.assert_array_equal(out, s)
    with pytest.raises(ValueError, match=r"out must have shape \(40, 48\)"):
        mi.sobel(img, out=np.empty((1, 40, 48), np.float32), backend=backend)
    with pytest.raises(ValueError, match=r"^images must be a batch \(N, H, W, 3\)"):
        mi.rgb_to_hsv(u, backend=backend)  # the RGB-only ops need a batch


# --- scikit-image's own edge tests, as mmfeat behaviour ------------------------------------------
# (skimage/filters/tests/test_edges.py and skimage/feature/tests/test_canny.py, 0.26)


def test_sobel_zeros_and_masked_zeros():
    x = np.zeros((2, 10, 10), np.float32)
    assert (mi.sobel(x) == 0).all()
    rng = np.random.default_rng(0)
    r = rng.random((1, 10, 10)).astype(np.float32)
    assert (mi.sobel(r, np.zeros((10, 10), bool)) == 0).all()


@pytest.mark.parametrize("backend", BACKENDS)
def test_sobel_horizontal_and_vertical_edges(backend):
    i, j = np.mgrid[-5:6, -5:6]
    horiz = (i >= 0).astype(np.float64)[None]
    mag = mi.sobel(horiz, backend=backend)[0] * np.sqrt(2)
    # the step edge: 1 on the two rows beside it, 0 elsewhere (borders included)
    assert np.allclose(mag[(i == 0) | (i == -1)], 1) and (mag[np.abs(i) > 1] == 0).all()
    h = mi.sobel(horiz, axis=0, backend=backend)[0]  # sobel_h
    assert np.allclose(h[(i == 0) | (i == -1)], 1) and (h[np.abs(i) > 1] == 0).all()
    assert (mi.sobel(horiz, axis=1, backend=backend) == 0).all()
    vert = (j >= 0).astype(np.float64)[None]
    v = mi.sobel(vert, axis=1, backend=backend)[0]
    assert np.allclose(v[(j == 0) | (j == -1)], 1) and (v[np.abs(j) > 1] == 0).all()


@pytest.mark.parametrize("backend", BACKENDS)
def test_canny_zeros_and_ones_have_no_edges(backend):
    zeros = np.zeros((2, 20, 20), np.float32)
    assert not mi.canny(zeros, 4, 0, 0, np.ones((20, 20), bool), backend=backend).any()
    assert not mi.canny(zeros, 4, 0, 0, backend=backend).any()
    assert not mi.canny(np.ones((2, 10, 10)), backend=backend).any()


@pytest.fixture(scope="module")
def circles():
    """scikit-image's test_canny circle, clean and noisy (400x400)."""
    i, j = np.mgrid[-200:200, -200:200].astype(float) / 200
    c = np.abs(np.sqrt(i * i + j * j) - 0.5) < 0.02
    noisy = c.astype(float) * 0.5 + np.random.default_rng(0).uniform(size=c.shape) * 0.5
    cde = ndi.binary_dilation(c, iterations=3) & ~ndi.binary_erosion(c, iterations=3)
    return c, np.stack([c.astype(float), noisy]), cde


@pytest.mark.parametrize("backend", BACKENDS)
def test_canny_circle_with_and_without_noise(circles, backend):
    c, batch, cde = circles
    full = np.ones(c.shape, bool)
    clean = mi.canny(batch[:1], 4, 0, 0, full, backend=backend)[0]
    noisy = mi.canny(batch[1:], 4, 0.1, 0.2, full, backend=backend)[0]
    for result in (clean, noisy):
        # the edges lie in rings around the circle's two outlines
        assert cde[result].all()
        # two rings of radius 100: about 2 * 2 * pi * 100 pixels (ties add a few)
        assert 1200 < result.sum() < 1600
    assert edge_agreement(clean, feature.canny(batch[0], 4, 0, 0, full)) >= 0.99
    assert edge_agreement(noisy, feature.canny(batch[1], 4, 0.1, 0.2, full)) >= 0.99


@pytest.mark.parametrize("backend", BACKENDS)
def test_canny_full_mask_matches_no_mask(unit_gray, backend):
    x = unit_gray.astype(np.float32)
    full = np.ones(x.shape[1:], bool)
    np.testing.assert_array_equal(mi.canny(x, mask=full, backend=backend),
                                  mi.canny(x, backend=backend))


@pytest.mark.parametrize("backend", BACKENDS)
def test_canny_use_quantiles_and_invalid_quantiles(unit_gray, backend):
    x = unit_gray.astype(np.float32)
    got = mi.canny(x, 1.0, 0.8, 0.9, use_quantiles=True, backend=backend)
    for k, img in enumerate(x):
        np.testing.assert_array_equal(got[k], feature.canny(img, 1.0, 0.8, 0.9,
                                                            use_quantiles=True))
    for lo, hi in ((5, 0.5), (-0.1, 0.5), (0.5, 1.5), (0.5, -1)):
        with pytest.raises(ValueError, match="threshold"):
            mi.canny(x, 1.0, lo, hi, use_quantiles=True)
    with pytest.raises(ValueError, match="threshold"):
        mi.canny(x, 1.0, 0.9, 0.5)  # low above high


def test_canny_invalid_sigma_and_mode():
    x = np.zeros((1, 8, 8), np.float32)
    with pytest.raises(ValueError, match="sigma"):
        mi.canny(x, sigma=-1)
    with pytest.raises(ValueError, match="mode"):
        mi.canny(x, mode="foo")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("mode", ["constant", "reflect", "nearest", "mirror", "wrap"])
def test_canny_modes_and_cval(unit_gray, backend, mode):
    x = unit_gray[:2, :24, :30].astype(np.float32)
    got = mi.canny(x, 1.0, 0.05, 0.2, mode=mode, cval=0.7, backend=backend)
    for k, img in enumerate(x):
        np.testing.assert_array_equal(got[k], feature.canny(img, 1.0, 0.05, 0.2, mode=mode,
                                                            cval=0.7))


@pytest.mark.parametrize("backend", BACKENDS)
def test_canny_dtype_thresholds_scale(unit_gray, backend):
    # a uint8 image with thresholds in 0..255 units equals the float image with /255
    u = (unit_gray[:2] * 255).round().astype(np.uint8)
    f = u.astype(np.float32) / 255
    np.testing.assert_array_equal(mi.canny(u, 1.0, 10, 20, backend=backend),
                                  mi.canny(f, 1.0, 10 / 255, 20 / 255, backend=backend))
