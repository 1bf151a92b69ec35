"""numpy and cpu backends against scikit-image / NumPy / SciPy anchors, and against each other.

Most tests use 64x64 versions of the photographs scikit-image ships (``photos64``)
and small random batches; a few use the 256x256 crops (``photos``).
"""

from __future__ import annotations

import naive
import numpy as np
import pytest
import scipy.stats
from skimage import color, feature, filters, util

import mmfeat.image as mi

BACKENDS = ["numpy", "cpu"]
DTYPES = [np.uint8, np.uint16, np.float16, np.float32, np.float64]
MODES = ["reflect", "constant", "nearest", "mirror", "wrap"]


def convert(u8: np.ndarray, dtype) -> np.ndarray:
    """A uint8 batch in another supported dtype, same picture (floats in [0, 1])."""
    dtype = np.dtype(dtype)
    if dtype == np.uint8:
        return u8.copy()
    if dtype == np.uint16:
        return u8.astype(np.uint16) * np.uint16(257)
    return (u8 / 255.0).astype(dtype)


def out_float(dtype) -> np.dtype:
    return np.dtype(np.float64) if np.dtype(dtype) == np.float64 else np.dtype(np.float32)


def sk_gray(img: np.ndarray) -> np.ndarray:
    """scikit-image's gray float image of one (H, W) or (H, W, 3) image."""
    return color.rgb2gray(img) if img.ndim == 3 else util.img_as_float(img)


def sk_scaled(img: np.ndarray) -> np.ndarray:
    """The values a histogram over [0, 1]^3 bins in rgb space (img_as_float for integers)."""
    return util.img_as_float(img) if img.dtype.kind == "u" else img


def edge_agreement(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of edge pixels (in either map) on which two edge maps agree."""
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else 1.0 - np.logical_xor(a, b).sum() / union


@pytest.fixture(scope="module")
def gray_f32(photos64) -> np.ndarray:
    """(4, 64, 64) float32 gray photographs (mmfeat's reference conversion)."""
    return mi.rgb_to_gray(photos64, backend="numpy")


# --- rgb_to_gray ------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["rgb", "gray"])
def test_rgb_to_gray_matches_skimage(photos64, backend, dtype, layout):
    x = convert(photos64, dtype)
    if layout == "gray":
        x = np.ascontiguousarray(x[..., 1])
    out = mi.rgb_to_gray(x, backend=backend)
    assert out.dtype == out_float(dtype)
    assert out.shape == x.shape[:3]
    ref = np.stack([sk_gray(img) for img in x])
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_rgb_to_gray_white_and_black(backend):
    x = np.zeros((2, 3, 4, 3), np.uint8)
    x[1] = 255
    out = mi.rgb_to_gray(x, backend=backend)
    np.testing.assert_allclose(out[0], 0, atol=0)
    np.testing.assert_allclose(out[1], 1, atol=1e-6)


# --- rgb_to_hsv -------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_rgb_to_hsv_matches_skimage(photos64, make_images, backend, dtype):
    for x in (convert(photos64, dtype), make_images((3, 11, 13, 3), dtype, seed=1)):
        out = mi.rgb_to_hsv(x, backend=backend)
        assert out.dtype == out_float(dtype)
        assert out.shape == x.shape
        ref = np.stack([color.rgb2hsv(img) for img in x]).astype(out.dtype)
        np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("backend", BACKENDS)
def test_rgb_to_hsv_uint8_all_colours_exact(backend):
    # every grey, every primary ramp and a grid over the whole cube
    v = np.arange(0, 256, 15, dtype=np.uint8)
    grid = np.stack(np.meshgrid(v, v, v, indexing="ij"), axis=-1).reshape(1, -1, 18, 3)
    out = mi.rgb_to_hsv(grid, backend=backend)
    np.testing.assert_array_equal(out[0], color.rgb2hsv(grid[0]).astype(np.float32))


# --- sobel ------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("mode", MODES)
def test_sobel_modes_match_skimage(photos64, backend, mode):
    cvals = [0.0, 0.25] if mode == "constant" else [0.0]
    for cval in cvals:
        out = mi.sobel(photos64, mode=mode, cval=cval, backend=backend)
        assert out.dtype == np.float32
        assert out.shape == photos64.shape[:3]
        ref = np.stack(
            [filters.sobel(color.rgb2gray(img), mode=mode, cval=cval) for img in photos64]
        )
        np.testing.assert_allclose(out, ref, rtol=0, atol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["rgb", "gray"])
def test_sobel_dtypes_match_skimage(photos64, backend, dtype, layout):
    x = convert(photos64, dtype)
    if layout == "gray":
        x = np.ascontiguousarray(x[..., 0])
    out = mi.sobel(x, backend=backend)
    assert out.dtype == out_float(dtype)
    # gray integer input: skimage.filters.sobel scales by 1 / dtype max itself
    ref = np.stack([filters.sobel(sk_gray(img) if img.ndim == 3 else img) for img in x])
    atol = 1e-12 if np.dtype(dtype) == np.float64 else 1e-5
    np.testing.assert_allclose(out, ref, rtol=0, atol=atol)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("mode", MODES)
def test_sobel_random_odd_sizes(make_images, backend, mode):
    x = make_images((2, 7, 10, 3), np.float32, seed=3)
    out = mi.sobel(x, mode=mode, cval=0.5, backend=backend)
    ref = np.stack(
        [filters.sobel(color.rgb2gray(img), mode=mode, cval=0.5) for img in x]
    )
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-5)


# --- canny ------------------------------------------------------------------------------------


CANNY_PARAMS = [
    dict(),
    dict(sigma=0.0),
    dict(sigma=2.5),
    dict(low_threshold=0.05, high_threshold=0.1),
    dict(low_threshold=0.0, high_threshold=0.3),
    dict(sigma=0.5, low_threshold=0.1, high_threshold=0.1),
    dict(use_quantiles=True, low_threshold=0.5, high_threshold=0.9),
    dict(use_quantiles=True, low_threshold=0.8, high_threshold=0.95, sigma=2.0),
    dict(use_quantiles=True),  # defaults 0.1 / 0.2 read as quantiles
    dict(mode="reflect"),
    dict(mode="nearest", sigma=2.0),
    dict(mode="mirror"),
    dict(mode="wrap"),
    dict(mode="constant", cval=0.3),
]


def _canny_id(p):
    return "-".join(f"{k}={v}" for k, v in p.items()) or "default"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("params", CANNY_PARAMS, ids=_canny_id)
def test_canny_float32_gray_equals_skimage(gray_f32, make_images, backend, params):
    rand = make_images((2, 19, 23), np.float32, seed=4)
    for x in (gray_f32, rand):
        out = mi.canny(x, backend=backend, **params)
        assert out.dtype == np.bool_
        assert out.shape == x.shape
        ref = np.stack([feature.canny(img, **params) for img in x])
        np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("backend", BACKENDS)
def test_canny_rgb_photographs_agree_with_skimage_float64(photos, backend):
    out = mi.canny(photos, backend=backend)
    assert out.dtype == np.bool_ and out.shape == photos.shape[:3]
    for k, img in enumerate(photos):
        ref = feature.canny(color.rgb2gray(img))  # float64 pipeline
        assert ref.sum() > 1000  # the photographs do have edges
        assert edge_agreement(out[k], ref) >= 0.99


@pytest.mark.parametrize("backend", BACKENDS)
def test_canny_rgb_equals_canny_of_gray(photos64, backend):
    gray = mi.rgb_to_gray(photos64, backend="numpy")
    np.testing.assert_array_equal(
        mi.canny(photos64, sigma=1.5, backend=backend), mi.canny(gray, sigma=1.5, backend=backend)
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_canny_uint8_gray_thresholds_are_divided_by_255(photos64, backend):
    gray_u8 = util.img_as_ubyte(np.stack([color.rgb2gray(img) for img in photos64]))
    out = mi.canny(gray_u8, low_threshold=10, high_threshold=30, backend=backend)
    for k, img in enumerate(gray_u8):
        exact = feature.canny(util.img_as_float32(img), low_threshold=10 / 255,
                              high_threshold=30 / 255)
        np.testing.assert_array_equal(out[k], exact)
        anchor = feature.canny(img, low_threshold=10, high_threshold=30)  # float64 inside
        assert edge_agreement(out[k], anchor) >= 0.99


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_canny_dtypes(photos64, backend, dtype):
    x = convert(photos64, dtype)
    out = mi.canny(x, sigma=1.5, backend=backend)
    assert out.dtype == np.bool_
    for k, img in enumerate(x):
        ref = feature.canny(color.rgb2gray(img), sigma=1.5)
        assert edge_agreement(out[k], ref) >= 0.99


@pytest.mark.parametrize("backend", BACKENDS)
def test_canny_flat_image_has_no_edges(backend):
    x = np.full((2, 12, 12), 0.5, np.float32)
    assert not mi.canny(x, backend=backend).any()
    assert not mi.canny(x, use_quantiles=True, mode="reflect", backend=backend).any()
    # constant mode: the bleed-over correction leaves rounding noise that quantile
    # thresholds pick up -- in scikit-image too
    out = mi.canny(x, use_quantiles=True, backend=backend)
    np.testing.assert_array_equal(out[0], feature.canny(x[0], use_quantiles=True))


# --- color_histogram --------------------------------------------------------------------------


def hist_anchor(x: np.ndarray, bins, space: str) -> np.ndarray:
    """np.histogramdd counts per image, (N, prod(bins)) int64."""
    b = (bins,) * 3 if np.isscalar(bins) else tuple(bins)
    rows = []
    for img in x:
        vals = color.rgb2hsv(img) if space == "hsv" else sk_scaled(img)
        h, _ = np.histogramdd(vals.reshape(-1, 3), bins=b, range=[(0.0, 1.0)] * 3)
        rows.append(h.ravel().astype(np.int64))
    return np.stack(rows)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("space", ["hsv", "rgb"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_color_histogram_equals_histogramdd(photos64, make_images, backend, space, dtype):
    for x in (convert(photos64, dtype), make_images((2, 9, 14, 3), dtype, seed=5)):
        for bins in [(8, 8, 8), (4, 3, 2), 5, (1, 1, 1), (16, 1, 3)]:
            ref = hist_anchor(x, bins, space)
            counts = mi.color_histogram(x, bins, space=space, normalize=False, backend=backend)
            assert counts.dtype == np.int64
            assert counts.shape == ref.shape
            np.testing.assert_array_equal(counts, ref)
            norm = mi.color_histogram(x, bins, space=space, backend=backend)
            assert norm.dtype == np.float32
            np.testing.assert_array_equal(
                norm, (ref / ref.sum(axis=1, keepdims=True)).astype(np.float32)
            )
            np.testing.assert_allclose(norm.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_color_histogram_default_on_photographs(photos, backend):
    out = mi.color_histogram(photos, backend=backend)
    assert out.shape == (4, 512) and out.dtype == np.float32
    ref = hist_anchor(photos, (8, 8, 8), "hsv")
    np.testing.assert_array_equal(out, (ref / ref.sum(axis=1, keepdims=True)).astype(np.float32))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("space", ["hsv", "rgb"])
def test_color_histogram_matches_naive_loops(photos64, backend, space):
    x = np.ascontiguousarray(photos64[:2, :24, :20])
    bins = (6, 4, 3)
    out = mi.color_histogram(x, bins, space=space, normalize=False, backend=backend)
    for k, img in enumerate(x):
        vals = color.rgb2hsv(img) if space == "hsv" else util.img_as_float(img)
        np.testing.assert_array_equal(out[k], naive.joint_histogram(vals, bins))


@pytest.mark.parametrize("backend", BACKENDS)
def test_color_histogram_bin_edges_and_white(backend):
    # values exactly on the edges k/4 go to the upper bin, 1.0 to the last bin
    v = np.array([0.0, 0.25, 0.5, 0.75, 1.0, 0.2499999, 0.7500001], np.float64)
    x = np.stack([v, v, v], axis=-1)[None, None]
    out = mi.color_histogram(x, 4, space="rgb", normalize=False, backend=backend)
    ref = hist_anchor(x, 4, "rgb")
    np.testing.assert_array_equal(out, ref)
    diag = out[0].reshape(4, 4, 4)[np.arange(4), np.arange(4), np.arange(4)]
    np.testing.assert_array_equal(diag, [2, 1, 1, 3])


# --- color_moments ----------------------------------------------------------------------------


def moments_anchor(x: np.ndarray) -> np.ndarray:
    rows = []
    for img in x:
        f = util.img_as_float(img).astype(np.float64)
        if f.ndim == 2:
            f = np.repeat(f[..., None], 3, axis=-1)
        f = f.reshape(-1, 3)
        constant = np.ptp(f, axis=0) == 0
        std = np.where(constant, 0.0, f.std(axis=0, ddof=0))
        with np.errstate(all="ignore"):
            skew = scipy.stats.skew(f, axis=0, bias=True)
        skew = np.where(constant, 0.0, skew)  # documented: 0 for a constant channel
        rows.append(np.concatenate([f.mean(axis=0), std, skew]))
    return np.stack(rows)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_color_moments_match_scipy(photos64, make_images, backend, dtype):
    for x in (convert(photos64, dtype), make_images((2, 5, 7, 3), dtype, seed=6)):
        out = mi.color_moments(x, backend=backend)
        assert out.dtype == np.float32 and out.shape == (x.shape[0], 9)
        np.testing.assert_allclose(out, moments_anchor(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_color_moments_constant_channel_and_gray(backend):
    x = np.zeros((2, 6, 5, 3), np.uint8)
    x[..., 0] = 200
    x[0, :, :, 1] = np.arange(5, dtype=np.uint8) * 50
    out = mi.color_moments(x, backend=backend)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out[:, 0], 200 / 255, atol=1e-6)
    np.testing.assert_allclose(out[:, 3], 0, atol=1e-12)  # std of a constant channel
    np.testing.assert_array_equal(out[:, [6, 8]], 0)  # skew of a constant channel
    np.testing.assert_allclose(out[1], np.r_[200 / 255, 0, 0, 0, 0, 0, 0, 0, 0], atol=1e-7)
    np.testing.assert_array_equal(out[1, 6:], 0)
    gray = np.ascontiguousarray(x[..., 1])
    g = mi.color_moments(gray, backend=backend)
    np.testing.assert_allclose(g, moments_anchor(gray), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(g[:, 0:3], g[:, [0, 0, 0]])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("level", [1, 2, 77, 200, 255])
def test_color_moments_skew_of_constant_image_is_zero(backend, level):
    # a constant channel's mean is not exactly representable: the float residue
    # must not turn into a skewness of +-1
    x = np.full((1, 64, 64, 3), level, np.uint8)
    out = mi.color_moments(x, backend=backend)
    np.testing.assert_allclose(out[0, :3], level / 255, rtol=1e-6)
    np.testing.assert_allclose(out[0, 3:6], 0, atol=1e-12)
    np.testing.assert_array_equal(out[0, 6:], 0)


# --- gradient_histogram -----------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("orientations", [1, 4, 9, 16])
def test_gradient_histogram_matches_naive(photos64, make_images, backend, orientations):
    x = np.ascontiguousarray(photos64[:2, 10:34, 5:31])
    out = mi.gradient_histogram(x, orientations, backend=backend)
    assert out.dtype == np.float32 and out.shape == (2, orientations)
    for k, img in enumerate(x):
        ref = naive.gradient_histogram(naive.gray_float32(img), orientations)
        np.testing.assert_allclose(out[k], ref, rtol=0, atol=1e-5)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-5)
    r = make_images((2, 9, 12), np.float32, seed=7)
    out = mi.gradient_histogram(r, orientations, backend=backend)
    for k, img in enumerate(r):
        ref = naive.gradient_histogram(naive.gray_float32(img), orientations)
        np.testing.assert_allclose(out[k], ref, rtol=0, atol=1e-5)


def test_naive_gray_is_the_documented_conversion(photos64):
    img = photos64[0, :8, :9]
    np.testing.assert_array_equal(
        naive.gray_float32(img), mi.rgb_to_gray(img[None], backend="numpy")[0]
    )
    np.testing.assert_allclose(naive.gray_float32(img), color.rgb2gray(img), atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_gradient_histogram_dtypes(photos64, backend, dtype):
    x = convert(photos64[:, :20, :20], dtype)
    out = mi.gradient_histogram(x, 9, backend=backend)
    assert out.dtype == np.float32
    for k, img in enumerate(x):
        if img.dtype == np.float64:  # gray in float64, then rounded to float32
            gray = mi.rgb_to_gray(img[None], backend="numpy")[0].astype(np.float32)
        else:
            gray = naive.gray_float32(img)
        np.testing.assert_allclose(out[k], naive.gradient_histogram(gray, 9), atol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_gradient_histogram_sobel_sums_rounded_once(backend):
    # gy here is exactly 0 for the middle row's pixels in float64; summing each
    # row's [1, 2, 1] weights in float32 first leaves a +-1 ulp residue whose sign
    # moves a large magnitude between bin 0 and bin orientations - 1
    x = np.array([[[0.1, 0.3], [0.7, 0.1], [0.1, 0.2]]], np.float32)
    out = mi.gradient_histogram(x, 2, backend=backend)
    np.testing.assert_allclose(out[0], naive.gradient_histogram(x[0], 2), atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_gradient_histogram_known_directions(backend):
    vertical_edge = np.zeros((1, 8, 8), np.float32)
    vertical_edge[:, :, 4:] = 1.0  # gradient along columns only: theta = 0
    horizontal_edge = np.ascontiguousarray(vertical_edge.transpose(0, 2, 1))  # theta = pi/2
    flat = np.full((1, 8, 8), 0.7, np.float32)
    x = np.concatenate([vertical_edge, horizontal_edge, flat])
    out = mi.gradient_histogram(x, 4, backend=backend)
    np.testing.assert_allclose(out[0], [1, 0, 0, 0], atol=1e-7)
    np.testing.assert_allclose(out[1], [0, 0, 1, 0], atol=1e-7)
    np.testing.assert_array_equal(out[2], np.zeros(4, np.float32))


# --- cpu against the numpy reference ----------------------------------------------------------


@pytest.fixture(scope="module")
def parity_batches(photos, make_images):
    return {
        "photos": photos,
        "rand_u8": make_images((3, 31, 45, 3), np.uint8, seed=8),
        "rand_f32_gray": make_images((3, 33, 17), np.float32, seed=9),
        "rand_f64": make_images((2, 16, 21, 3), np.float64, seed=10),
    }


@pytest.mark.parametrize("batch", ["photos", "rand_u8", "rand_f32_gray", "rand_f64"])
def test_cpu_equals_numpy_every_op(parity_batches, batch):
    x = parity_batches[batch]

    def both(fn, **kw):
        a, b = fn(x, backend="cpu", **kw), fn(x, backend="numpy", **kw)
        assert a.dtype == b.dtype and a.shape == b.shape, fn.__name__
        return a, b

    for name in ("rgb_to_gray", "sobel"):
        a, b = both(getattr(mi, name))
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6, err_msg=name)
    for mode in MODES:
        a, b = both(mi.sobel, mode=mode, cval=0.1)
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6, err_msg=mode)
    a, b = both(mi.canny)
    np.testing.assert_array_equal(a, b)
    a, b = both(mi.canny, sigma=2.0, use_quantiles=True, low_threshold=0.7, high_threshold=0.9,
                mode="reflect")
    np.testing.assert_array_equal(a, b)
    a, b = both(mi.gradient_histogram, orientations=9)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)
    a, b = both(mi.color_moments)
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    if x.ndim == 4:
        a, b = both(mi.rgb_to_hsv)
        np.testing.assert_array_equal(a, b)
        for space in ("hsv", "rgb"):
            a, b = both(mi.color_histogram, space=space, normalize=False)
            np.testing.assert_array_equal(a, b)
            a, b = both(mi.color_histogram, bins=(4, 6, 5), space=space)
            np.testing.assert_array_equal(a, b)
