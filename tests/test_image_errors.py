"""Bad input gets a ValueError/TypeError naming the argument; documented edge cases work.

Documented behaviours checked here: an empty batch returns an empty result of
the right shape and dtype; non-contiguous and negative-stride views give the
result of their contiguous copy; images smaller than the stencils (1x1, 1xW,
Hx1, 2x2) work for every op and mode and match the reference.
"""

from __future__ import annotations

import numpy as np
import pytest
from skimage import color, feature, filters

import mmfeat.image as mi
from mmfeat.image import ImageFeatures

BACKENDS = ["numpy", "cpu"]
MODES = ["reflect", "constant", "nearest", "mirror", "wrap"]

RGB = np.zeros((2, 6, 7, 3), np.uint8)
GRAY = np.zeros((2, 6, 7), np.uint8)


def _features(x, backend):
    return ImageFeatures(backend=backend).fit(x).transform(x)


# op name -> (function of (images, backend), accepts gray, the argument name in messages)
OPS = {
    "rgb_to_gray": (lambda x, be: mi.rgb_to_gray(x, backend=be), True, "images"),
    "rgb_to_hsv": (lambda x, be: mi.rgb_to_hsv(x, backend=be), False, "images"),
    "sobel": (lambda x, be: mi.sobel(x, backend=be), True, "images"),
    "canny": (lambda x, be: mi.canny(x, backend=be), True, "images"),
    "color_histogram": (lambda x, be: mi.color_histogram(x, backend=be), False, "images"),
    "color_moments": (lambda x, be: mi.color_moments(x, backend=be), True, "images"),
    "gradient_histogram": (lambda x, be: mi.gradient_histogram(x, backend=be), True, "images"),
    "ImageFeatures": (_features, True, "X"),
}
OP_NAMES = list(OPS)


def _match(arg: str) -> str:
    return rf"^{arg}\b"


# --- images ---------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("op", OP_NAMES)
@pytest.mark.parametrize(
    "shape",
    [(6, 7), (7,), (), (1, 2, 6, 7, 3), (2, 6, 7, 2), (2, 6, 7, 4), (2, 6, 7, 1), (2, 6, 7, 0)],
    ids=lambda s: "x".join(map(str, s)) or "scalar",
)
def test_wrong_ndim_or_channels(op, backend, shape):
    fn, gray_ok, arg = OPS[op]
    if shape == (6, 7) and gray_ok and op != "ImageFeatures":
        assert fn(np.zeros(shape, np.uint8), backend) is not None  # one 2-D gray image
        return
    with pytest.raises(ValueError, match=_match(arg)):
        fn(np.zeros(shape, np.uint8), backend)


@pytest.mark.parametrize("op", OP_NAMES)
def test_rgba_error_says_how_to_fix(op):
    fn, _, arg = OPS[op]
    with pytest.raises(ValueError, match=_match(arg)) as info:
        fn(np.zeros((1, 4, 4, 4), np.uint8), "numpy")
    assert "4" in str(info.value)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("op", [name for name, spec in OPS.items() if not spec[1]])
def test_rgb_only_ops_reject_gray(op, backend):
    fn, _, arg = OPS[op]
    with pytest.raises(ValueError, match=_match(arg)):
        fn(GRAY, backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("op", OP_NAMES)
@pytest.mark.parametrize(
    "dtype", [np.complex64, np.complex128, object, "U1"], ids=lambda d: np.dtype(d).name
)
def test_unsupported_dtypes(op, backend, dtype):
    # TypeError as before, and ValueError as scikit-image raises (one class, both)
    fn, _, arg = OPS[op]
    with pytest.raises(TypeError, match=_match(arg)) as info:
        fn(RGB.astype(dtype), backend)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("op", OP_NAMES)
@pytest.mark.parametrize(
    "dtype", [np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint32, np.uint64, np.float16],
    ids=lambda d: np.dtype(d).name,
)
def test_every_real_dtype_is_accepted(op, backend, dtype):
    # scaled as img_as_float (tests/test_image_input_domain.py checks the numbers);
    # canny refuses 64-bit integers, as scikit-image does
    fn, _, arg = OPS[op]
    x = RGB.astype(dtype)
    if op == "canny" and np.dtype(dtype).itemsize == 8:
        with pytest.raises(ValueError, match="64-bit integer images are not supported"):
            fn(x, backend)
        return
    fn(x, backend)


@pytest.mark.parametrize("op", OP_NAMES)
@pytest.mark.parametrize("value", [None, "image.png", b"bytes"], ids=["None", "str", "bytes"])
def test_not_an_array(op, value):
    fn, _, arg = OPS[op]
    with pytest.raises((TypeError, ValueError), match=_match(arg)):
        fn(value, "numpy")


# scikit-image's ops take floats of any range and NaN/inf (sobel is linear, canny's
# thresholds are in the image's units); the ops without an anchor keep refusing
# what they cannot summarise: the histograms need [0, 1], every summary finite values
_UNIT_RANGE_OPS = ("color_histogram", "ImageFeatures")
_FINITE_OPS = ("color_histogram", "color_moments", "gradient_histogram", "ImageFeatures")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("op", OP_NAMES)
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("bad", [-0.1, 1.5, 255.0, np.nan, np.inf, -np.inf])
def test_floats_outside_unit_range_or_not_finite(op, backend, dtype, bad):
    fn, _, arg = OPS[op]
    x = np.full((2, 5, 6, 3), 0.5, dtype)
    x[1, 2, 3, 1] = bad
    refuses = op in (_FINITE_OPS if not np.isfinite(bad) else _UNIT_RANGE_OPS)
    if refuses:
        with pytest.raises(ValueError, match=_match(arg)):
            fn(x, backend)
    else:
        with np.errstate(invalid="ignore"):
            fn(x, backend)


def test_nan_and_range_messages_say_what_arrived():
    x = np.full((1, 3, 3, 3), 0.5, np.float32)
    x[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        mi.color_histogram(x)
    x[0, 0, 0] = 2.0
    with pytest.raises(ValueError, match="2"):
        mi.color_histogram(x)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("op", OP_NAMES)
@pytest.mark.parametrize("shape", [(1, 0, 5, 3), (1, 5, 0, 3), (2, 0, 0, 3)])
def test_empty_image_size(op, backend, shape):
    fn, _, arg = OPS[op]
    with pytest.raises(ValueError, match=_match(arg)):
        fn(np.zeros(shape, np.uint8), backend)


# --- parameters -------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "bins,exc",
    [(0, ValueError), (-3, ValueError), ((8, 0, 8), ValueError), ((8, 8, -1), ValueError),
     ((8, 8), TypeError), ((8, 8, 8, 8), TypeError), (8.0, TypeError), ((8, 8.5, 8), TypeError),
     ("8", TypeError), (True, TypeError), (None, TypeError)],
)
def test_bad_bins(backend, bins, exc):
    with pytest.raises(exc, match="bins"):
        mi.color_histogram(RGB, bins, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_space_and_normalize(backend):
    with pytest.raises(ValueError, match="space"):
        mi.color_histogram(RGB, space="lab", backend=backend)
    with pytest.raises(TypeError, match="normalize"):
        mi.color_histogram(RGB, normalize="yes", backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("mode", ["same", "REFLECT", "", None, "symmetric", 0])
def test_unknown_mode(backend, mode):
    with pytest.raises(ValueError, match="mode"):
        mi.sobel(RGB, mode=mode, backend=backend)
    with pytest.raises(ValueError, match="mode"):
        mi.canny(RGB, mode=mode, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_cval(backend):
    for op in (mi.sobel, mi.canny):
        with pytest.raises(ValueError, match="cval"):
            op(RGB, mode="constant", cval=np.nan, backend=backend)
        with pytest.raises(TypeError, match="cval"):
            op(RGB, mode="constant", cval="0", backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_sigma(backend):
    with pytest.raises(ValueError, match="sigma"):
        mi.canny(RGB, sigma=-0.5, backend=backend)
    with pytest.raises(ValueError, match="sigma"):
        mi.canny(RGB, sigma=np.inf, backend=backend)
    with pytest.raises(ValueError, match="sigma"):
        mi.canny(RGB, sigma=np.nan, backend=backend)
    with pytest.raises(TypeError, match="sigma"):
        mi.canny(RGB, sigma="1", backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_thresholds(backend):
    with pytest.raises(ValueError, match="low_threshold"):
        mi.canny(RGB, low_threshold=0.3, high_threshold=0.2, backend=backend)
    with pytest.raises(ValueError, match="low_threshold"):
        mi.canny(RGB, low_threshold=0.3, backend=backend)  # above the default high 0.2
    with pytest.raises(ValueError, match="low_threshold"):
        mi.canny(GRAY, low_threshold=100, high_threshold=50, backend=backend)
    with pytest.raises(ValueError, match="low_threshold"):
        mi.canny(RGB, low_threshold=0.9, high_threshold=0.5, use_quantiles=True, backend=backend)
    with pytest.raises(ValueError, match="threshold"):
        mi.canny(RGB, low_threshold=np.nan, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "kw,arg",
    [(dict(low_threshold=-0.1), "low_threshold"), (dict(low_threshold=1.1), "low_threshold"),
     (dict(high_threshold=1.5), "high_threshold"), (dict(high_threshold=-1.0), "high_threshold"),
     (dict(low_threshold=0.2, high_threshold=2.0), "high_threshold")],
)
def test_quantile_thresholds_outside_unit_range(backend, kw, arg):
    with pytest.raises(ValueError, match=arg):
        mi.canny(RGB, use_quantiles=True, backend=backend, **kw)


def test_use_quantiles_must_be_bool():
    with pytest.raises(TypeError, match="use_quantiles"):
        mi.canny(RGB, use_quantiles="yes")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("orientations,exc", [(0, ValueError), (-2, ValueError),
                                              (2.5, TypeError), ("9", TypeError),
                                              (None, TypeError), (True, TypeError)])
def test_bad_orientations(backend, orientations, exc):
    with pytest.raises(exc, match="orientations"):
        mi.gradient_histogram(RGB, orientations, backend=backend)


@pytest.mark.parametrize("op", OP_NAMES)
@pytest.mark.parametrize("name", ["tpu", "CPU", "gpu", "", 3])
def test_unknown_backend_name(op, name):
    fn, _, _ = OPS[op]
    with pytest.raises(ValueError, match="backend"):
        fn(RGB, name)


@pytest.mark.parametrize(
    "params,arg",
    [(dict(grid=(0, 1)), "grid"), (dict(grid=(2,)), "grid"), (dict(grid=2), "grid"),
     (dict(grid=(1.5, 1)), "grid"), (dict(orientations=0), "orientations"),
     (dict(hsv_bins=0), "bins"), (dict(hsv_bins=(8, 8)), "bins")],
)
def test_image_features_bad_parameters(params, arg):
    with pytest.raises((ValueError, TypeError), match=arg):
        ImageFeatures(**params).fit(RGB).transform(RGB)


def test_image_features_everything_off():
    with pytest.raises(ValueError):
        ImageFeatures(hsv_bins=None, moments=False, edge_density=False, orientations=None).fit(
            RGB
        )


def test_image_features_grid_larger_than_image():
    with pytest.raises(ValueError, match="grid"):
        ImageFeatures(grid=(7, 1)).fit(RGB).transform(RGB)


# --- documented behaviours: empty batches ------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.uint8, np.float64])
def test_empty_batch(backend, dtype):
    x = np.zeros((0, 5, 6, 3), dtype)
    g = np.zeros((0, 5, 6), dtype)
    f = np.float64 if dtype == np.float64 else np.float32

    def check(out, shape, dt):
        assert isinstance(out, np.ndarray)
        assert out.shape == shape and out.dtype == dt

    check(mi.rgb_to_gray(x, backend=backend), (0, 5, 6), f)
    check(mi.rgb_to_gray(g, backend=backend), (0, 5, 6), f)
    check(mi.rgb_to_hsv(x, backend=backend), (0, 5, 6, 3), f)
    check(mi.sobel(x, backend=backend), (0, 5, 6), f)
    check(mi.sobel(g, mode="wrap", backend=backend), (0, 5, 6), f)
    check(mi.canny(x, backend=backend), (0, 5, 6), np.bool_)
    check(mi.canny(g, use_quantiles=True, backend=backend), (0, 5, 6), np.bool_)
    check(mi.color_histogram(x, backend=backend), (0, 512), np.float32)
    check(mi.color_histogram(x, (2, 3, 4), "rgb", normalize=False, backend=backend), (0, 24),
          np.int64)
    check(mi.color_moments(x, backend=backend), (0, 9), np.float32)
    check(mi.color_moments(g, backend=backend), (0, 9), np.float32)
    check(mi.gradient_histogram(x, 7, backend=backend), (0, 7), np.float32)
    est = ImageFeatures(backend=backend).fit(x)
    check(est.transform(x), (0, est.n_features_out_), np.float32)


@pytest.mark.parametrize("backend", BACKENDS)
def test_empty_batch_is_still_validated(backend):
    with pytest.raises(ValueError, match="bins"):
        mi.color_histogram(np.zeros((0, 4, 4, 3), np.uint8), 0, backend=backend)
    with pytest.raises(TypeError, match="images"):
        mi.sobel(np.zeros((0, 4, 4), np.complex64), backend=backend)
    with pytest.raises(ValueError, match="64-bit"):
        mi.canny(np.zeros((0, 4, 4), np.int64), backend=backend)


# --- documented behaviours: views --------------------------------------------------------------


def _all_ops(x, backend):
    out = {
        "gray": mi.rgb_to_gray(x, backend=backend),
        "sobel": mi.sobel(x, backend=backend),
        "sobel_wrap": mi.sobel(x, mode="wrap", backend=backend),
        "canny": mi.canny(x, sigma=0.8, backend=backend),
        "moments": mi.color_moments(x, backend=backend),
        "grad": mi.gradient_histogram(x, backend=backend),
    }
    if x.ndim == 4:
        out["hsv"] = mi.rgb_to_hsv(x, backend=backend)
        out["hist"] = mi.color_histogram(x, (4, 4, 4), backend=backend)
        out["hist_rgb"] = mi.color_histogram(x, 3, "rgb", normalize=False, backend=backend)
        grid = (2, 2) if min(x.shape[1:3]) >= 2 else (1, 1)
        out["features"] = ImageFeatures(grid=grid, backend=backend).fit(x).transform(x)
    return out


VIEWS = {
    "rows_reversed": lambda x: x[:, ::-1],
    "cols_step2": lambda x: x[:, :, ::2],
    "cols_reversed_step": lambda x: x[:, :, ::-3],
    "batch_reversed": lambda x: x[::-1],
    "channels_reversed": lambda x: x[..., ::-1] if x.ndim == 4 else x[:, 1:-1, 2:],
    "transposed": lambda x: x.swapaxes(1, 2),
    "fortran": lambda x: np.asfortranarray(x),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("view", list(VIEWS))
@pytest.mark.parametrize("layout", ["rgb", "gray"])
def test_views_equal_their_contiguous_copy(photos64, backend, view, layout):
    base = photos64[:3, :24, :30] if layout == "rgb" else photos64[:3, :24, :30, 0]
    v = VIEWS[view](base)
    assert not v.flags.c_contiguous
    got = _all_ops(v, backend)
    want = _all_ops(np.ascontiguousarray(v), backend)
    for key in want:
        np.testing.assert_array_equal(got[key], want[key], err_msg=key)


def test_input_is_not_modified(photos64):
    x = np.array(photos64[:2, :16, :16])
    before = x.copy()
    _all_ops(x, "cpu")
    _all_ops(x[..., 0], "cpu")
    np.testing.assert_array_equal(x, before)


# --- documented behaviours: images smaller than the stencils --------------------------------------


TINY = [(1, 1), (1, 5), (5, 1), (2, 2), (2, 3), (3, 2), (3, 3)]


@pytest.mark.parametrize("hw", TINY, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("mode", MODES)
def test_tiny_images_every_op_and_mode(make_images, hw, mode):
    x = make_images((2, *hw, 3), np.uint8, seed=hw[0] * 10 + hw[1])
    g = make_images((2, *hw), np.float32, seed=hw[0] * 10 + hw[1] + 1)
    for backend in BACKENDS:
        sob = mi.sobel(x, mode=mode, cval=0.4, backend=backend)
        for k, img in enumerate(x):
            ref = filters.sobel(color.rgb2gray(img), mode=mode, cval=0.4)
            np.testing.assert_allclose(sob[k], ref, rtol=0, atol=1e-5)
        for sigma in (0.0, 1.0):
            edges = mi.canny(g, sigma=sigma, mode=mode, cval=0.4, backend=backend)
            assert edges.shape == g.shape
            for k, img in enumerate(g):
                ref = feature.canny(img, sigma=sigma, mode=mode, cval=0.4)
                np.testing.assert_array_equal(edges[k], ref)
            q = mi.canny(g, sigma=sigma, mode=mode, use_quantiles=True, backend=backend)
            for k, img in enumerate(g):
                ref = feature.canny(img, sigma=sigma, mode=mode, use_quantiles=True)
                np.testing.assert_array_equal(q[k], ref)
    for key, want in _all_ops(x, "numpy").items():
        np.testing.assert_allclose(_all_ops(x, "cpu")[key], want, rtol=0, atol=1e-5,
                                   err_msg=key)
    for key, want in _all_ops(g, "numpy").items():
        np.testing.assert_allclose(_all_ops(g, "cpu")[key], want, rtol=0, atol=1e-5,
                                   err_msg=key)


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_pixel_image_values(backend):
    x = np.array([[[[255, 0, 0]]], [[[10, 20, 30]]]], np.uint8)
    np.testing.assert_array_equal(mi.sobel(x, backend=backend), 0)
    assert not mi.canny(x, backend=backend).any()
    np.testing.assert_array_equal(mi.gradient_histogram(x, 5, backend=backend), 0)
    h = mi.color_histogram(x, 4, "rgb", normalize=False, backend=backend)
    assert h.sum(axis=1).tolist() == [1, 1]
    np.testing.assert_array_equal(
        mi.rgb_to_hsv(x, backend=backend)[0, 0, 0], color.rgb2hsv(x[0]).astype(np.float32)[0, 0]
    )
