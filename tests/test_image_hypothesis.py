"""Property tests: the cpu backend equals the numpy reference over shapes, dtypes and content.

Shapes N in 1..3, H and W in 1..20 (so images smaller than every stencil are
included), all supported dtypes, gray and RGB, and content styles that provoke
ties: random values, a few levels, constant images and pure black/white.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from skimage import color, feature, filters

import mmfeat.image as mi

DTYPES = [np.uint8, np.uint16, np.float16, np.float32, np.float64]
MODES = ["reflect", "constant", "nearest", "mirror", "wrap"]

SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _build(shape, dtype, style, seed) -> np.ndarray:
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    top = float(np.iinfo(dtype).max) if dtype.kind == "u" else 1.0
    if style == "random":
        if dtype.kind == "u":
            return rng.integers(0, int(top), size=shape, endpoint=True).astype(dtype)
        return np.clip(rng.random(size=shape), 0, 1).astype(dtype)
    if style == "levels":
        levels = np.array([0.0, 0.25, 0.5, 0.75, 1.0, 0.1, 0.3, 0.7]) * top
        vals = levels[rng.integers(0, len(levels), size=shape)]
    elif style == "constant":
        vals = np.full(shape, rng.integers(0, 5) / 4 * top)
    else:  # extremes
        vals = rng.integers(0, 2, size=shape) * top
    return (np.round(vals) if dtype.kind == "u" else vals).astype(dtype)


@st.composite
def batches(draw, rgb: bool | None = None, dtypes=DTYPES) -> np.ndarray:
    n = draw(st.integers(1, 3))
    h = draw(st.integers(1, 20))
    w = draw(st.integers(1, 20))
    is_rgb = draw(st.booleans()) if rgb is None else rgb
    dtype = draw(st.sampled_from(dtypes))
    style = draw(st.sampled_from(["random", "random", "levels", "constant", "extremes"]))
    seed = draw(st.integers(0, 2**32 - 1))
    shape = (n, h, w, 3) if is_rgb else (n, h, w)
    return _build(shape, dtype, style, seed)


def _both(fn, x, **kw):
    a = fn(x, backend="cpu", **kw)
    b = fn(x, backend="numpy", **kw)
    assert a.dtype == b.dtype, (a.dtype, b.dtype)
    assert a.shape == b.shape, (a.shape, b.shape)
    return a, b


@SETTINGS
@given(x=batches())
def test_rgb_to_gray(x):
    a, b = _both(mi.rgb_to_gray, x)
    assert a.dtype == (np.float64 if x.dtype == np.float64 else np.float32)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)


@SETTINGS
@given(x=batches(rgb=True))
def test_rgb_to_hsv(x):
    a, b = _both(mi.rgb_to_hsv, x)
    np.testing.assert_array_equal(a, b)


@SETTINGS
@given(x=batches(), mode=st.sampled_from(MODES), cval=st.sampled_from([0.0, 0.5, 1.0]))
def test_sobel(x, mode, cval):
    a, b = _both(mi.sobel, x, mode=mode, cval=cval)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)


@SETTINGS
@given(
    x=batches(),
    sigma=st.sampled_from([0.0, 0.5, 1.0, 2.0]),
    mode=st.sampled_from(MODES),
    thresholds=st.sampled_from(
        [(None, None, False), (0.05, 0.2, False), (0.0, 0.0, False), (0.3, 0.9, True),
         (None, None, True), (0.0, 1.0, True)]
    ),
)
def test_canny(x, sigma, mode, thresholds):
    low, high, q = thresholds
    a, b = _both(
        mi.canny, x, sigma=sigma, low_threshold=low, high_threshold=high, use_quantiles=q,
        mode=mode,
    )
    assert a.dtype == np.bool_
    np.testing.assert_array_equal(a, b)


@SETTINGS
@given(
    x=batches(rgb=True),
    space=st.sampled_from(["hsv", "rgb"]),
    bins=st.tuples(st.integers(1, 9), st.integers(1, 9), st.integers(1, 9)),
    normalize=st.booleans(),
)
def test_color_histogram(x, space, bins, normalize):
    a, b = _both(mi.color_histogram, x, bins=bins, space=space, normalize=normalize)
    assert a.dtype == (np.float32 if normalize else np.int64)
    np.testing.assert_array_equal(a, b)


@SETTINGS
@given(x=batches(), orientations=st.integers(1, 12))
def test_gradient_histogram(x, orientations):
    a, b = _both(mi.gradient_histogram, x, orientations=orientations)
    assert a.dtype == np.float32
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)


@SETTINGS
@given(x=batches())
def test_color_moments(x):
    a, b = _both(mi.color_moments, x)
    assert a.dtype == np.float32
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


# --- the numpy reference against scikit-image on the same odd shapes --------------------------


@SETTINGS
@given(x=batches(rgb=True), mode=st.sampled_from(MODES))
def test_reference_matches_skimage_gray_hsv_sobel(x, mode):
    gray = mi.rgb_to_gray(x, backend="numpy")
    hsv = mi.rgb_to_hsv(x, backend="numpy")
    sob = mi.sobel(x, mode=mode, backend="numpy")
    for k, img in enumerate(x):
        np.testing.assert_allclose(gray[k], color.rgb2gray(img), rtol=0, atol=1e-6)
        np.testing.assert_array_equal(hsv[k], color.rgb2hsv(img).astype(hsv.dtype))
        np.testing.assert_allclose(
            sob[k], filters.sobel(color.rgb2gray(img), mode=mode), rtol=0, atol=1e-5
        )


@SETTINGS
@given(
    x=batches(rgb=False, dtypes=[np.float32]),
    sigma=st.sampled_from([0.0, 1.0, 1.5]),
    mode=st.sampled_from(MODES),
)
def test_reference_canny_matches_skimage_on_float32_gray(x, sigma, mode):
    for backend in ("numpy", "cpu"):
        out = mi.canny(x, sigma=sigma, mode=mode, backend=backend)
        for k, img in enumerate(x):
            np.testing.assert_array_equal(out[k], feature.canny(img, sigma=sigma, mode=mode))
