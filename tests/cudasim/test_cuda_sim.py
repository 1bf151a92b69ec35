"""backend="cuda" against the numpy reference, under Numba's CUDA simulator.

Run in its own process: ``NUMBA_ENABLE_CUDASIM=1 pytest tests/cudasim``. The real
kernels and launch code run on NumPy arrays (NumPy stands in for CuPy); images
are tiny (2 x 9 x 13) and launch shapes are shrunk by the conftest so that tiles
and histogram blocks still split every image.
"""

from __future__ import annotations

import numpy as np
import pytest

import mmfeat
import mmfeat.image as mi
from mmfeat import config

pytestmark = pytest.mark.cudasim

MODES = ["reflect", "constant", "nearest", "mirror", "wrap"]
SHAPE = (2, 9, 13)


def _images(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype.kind == "u":
        return rng.integers(0, np.iinfo(dtype).max, size=shape, endpoint=True).astype(dtype)
    return rng.random(size=shape).astype(dtype)


def _photo_like(shape, seed):
    """uint8 RGB with smooth structure and a sharp edge, so Canny has real edges."""
    n, H, W = shape
    i, j = np.mgrid[0:H, 0:W]
    rng = np.random.default_rng(seed)
    out = np.empty((n, H, W, 3), np.uint8)
    for k in range(n):
        base = 60 + 120 * (j > W // 2 + k) + 8 * np.sin(i / 2.0 + k)
        noise = rng.normal(0, 6, size=(H, W, 3))
        out[k] = np.clip(base[..., None] + noise + [0, 20 * k, 40], 0, 255).astype(np.uint8)
    return out


RGB_U8 = _images((*SHAPE, 3), np.uint8, 1)
RGB_U16 = _images((*SHAPE, 3), np.uint16, 2)
RGB_F32 = _images((*SHAPE, 3), np.float32, 3)
RGB_F64 = _images((*SHAPE, 3), np.float64, 4)
GRAY_F32 = _images(SHAPE, np.float32, 5)
GRAY_U8 = _images(SHAPE, np.uint8, 6)
EDGY = _photo_like(SHAPE, 7)

BATCHES = {"rgb_u8": RGB_U8, "rgb_u16": RGB_U16, "rgb_f32": RGB_F32, "rgb_f64": RGB_F64,
           "gray_f32": GRAY_F32, "gray_u8": GRAY_U8}
RGB_BATCHES = [k for k, v in BATCHES.items() if v.ndim == 4]


def both(fn, x, **kw):
    got = fn(x, backend="cuda", **kw)
    want = fn(x, backend="numpy", **kw)
    assert isinstance(got, np.ndarray)  # the simulator's array module is NumPy
    assert got.dtype == want.dtype and got.shape == want.shape
    return got, want


def assert_canny_close(got, want, max_ties=2):
    """cuda may differ from numpy on a handful of suppression-tie pixels."""
    assert got.dtype == np.bool_ and got.shape == want.shape
    assert np.logical_xor(got, want).sum() <= max_ties


def test_simulator_backend_is_reported():
    rep = mmfeat.backends()["cuda"]
    assert rep["available"] is True
    assert "simulator" in rep["detail"].lower()


@pytest.mark.parametrize("name", list(BATCHES))
def test_rgb_to_gray(name):
    got, want = both(mi.rgb_to_gray, BATCHES[name])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", RGB_BATCHES)
def test_rgb_to_hsv(name):
    got, want = both(mi.rgb_to_hsv, BATCHES[name])
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("mode", MODES)
def test_sobel_modes(mode):
    got, want = both(mi.sobel, RGB_U8, mode=mode, cval=0.3)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", ["gray_f32", "gray_u8", "rgb_f64", "rgb_u16"])
def test_sobel_dtypes(name):
    got, want = both(mi.sobel, BATCHES[name])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


HIST_CASES = [
    ("rgb_u8", "hsv", (8, 8, 8), True),
    ("rgb_u8", "hsv", (3, 2, 5), False),
    ("rgb_u8", "rgb", (8, 8, 8), False),
    ("rgb_u8", "rgb", (4, 3, 2), True),
    ("rgb_f32", "rgb", (4, 4, 4), False),
    ("rgb_f32", "hsv", (6, 2, 3), False),
    ("rgb_u16", "hsv", (4, 4, 4), False),
    ("rgb_u16", "rgb", (5, 5, 5), False),
    ("rgb_f64", "hsv", (8, 4, 4), True),
]


@pytest.mark.parametrize("name,space,bins,normalize", HIST_CASES)
def test_color_histogram(name, space, bins, normalize):
    got, want = both(mi.color_histogram, BATCHES[name], bins=bins, space=space,
                     normalize=normalize)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("space", ["hsv", "rgb"])
def test_color_histogram_global_memory_path(monkeypatch, space):
    monkeypatch.setattr(config, "SHARED_HIST_MAX_BINS", 16)  # 64 bins do not fit
    got, want = both(mi.color_histogram, RGB_U8, bins=(4, 4, 4), space=space, normalize=False)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", ["rgb_u8", "gray_f32", "rgb_f64"])
def test_color_moments(name):
    got, want = both(mi.color_moments, BATCHES[name])
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name,orientations", [("rgb_u8", 9), ("gray_f32", 4), ("rgb_u8", 1)])
def test_gradient_histogram(name, orientations):
    got, want = both(mi.gradient_histogram, BATCHES[name], orientations=orientations)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)


def test_gradient_histogram_global_memory_path(monkeypatch):
    monkeypatch.setattr(config, "GRAD_HIST_SHARED_BINS", 4)  # 9 bins do not fit
    got, want = both(mi.gradient_histogram, EDGY, orientations=9)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)


def test_gradient_histogram_sobel_sums_rounded_once():
    # exact float64 gy == 0: float32 partial sums would leave a +-1 ulp residue
    x = np.array([[[0.1, 0.3], [0.7, 0.1], [0.1, 0.2]]], np.float32)
    got, want = both(mi.gradient_histogram, x, orientations=2)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


CANNY_CASES = [
    dict(),
    dict(use_quantiles=True, low_threshold=0.5, high_threshold=0.8),
    dict(mode="reflect"),
    dict(sigma=2.0, low_threshold=0.02, high_threshold=0.06, mode="nearest"),
    dict(sigma=0.0, mode="wrap"),
    dict(mode="constant", cval=0.4, sigma=0.7),
]


@pytest.mark.parametrize(
    "params", CANNY_CASES, ids=lambda p: "-".join(f"{k}={v}" for k, v in p.items()) or "default"
)
@pytest.mark.parametrize("name", ["edgy", "gray_f32"])
def test_canny(params, name):
    x = EDGY if name == "edgy" else GRAY_F32
    got, want = both(mi.canny, x, **params)
    assert_canny_close(got, want)


def test_canny_finds_the_edge():
    got, want = both(mi.canny, EDGY, sigma=1.0)
    assert want.any()
    assert_canny_close(got, want)


def test_canny_into_out():
    """out= on the cuda backend: written whole (stale values gone) and returned."""
    out = np.ones(EDGY.shape[:3], dtype=bool)
    got = mi.canny(EDGY, sigma=1.0, out=out, backend="cuda")
    assert got is out
    np.testing.assert_array_equal(out, mi.canny(EDGY, sigma=1.0, backend="cuda"))


@pytest.mark.parametrize("grid", [(1, 1), (2, 2)])
def test_image_features(grid):
    got = mi.ImageFeatures(grid=grid, hsv_bins=(4, 2, 2), backend="cuda").fit_transform(EDGY)
    est = mi.ImageFeatures(grid=grid, hsv_bins=(4, 2, 2), backend="numpy").fit(EDGY)
    want = est.transform(EDGY)
    assert isinstance(got, np.ndarray) and got.dtype == np.float32 and got.shape == want.shape
    names = list(est.get_feature_names_out())
    density = [k for k, n in enumerate(names) if n.endswith("edge_density")]
    other = [k for k in range(len(names)) if k not in density]
    np.testing.assert_allclose(got[:, other], want[:, other], rtol=0, atol=1e-5)
    # a tie pixel moves the edge density of its cell by at most 2 pixels' worth
    np.testing.assert_allclose(got[:, density], want[:, density], atol=2.5 / (9 * 13 / 4))


# --- chunking, out of memory, dispatch ----------------------------------------------------------


def _all_ops(x, backend):
    return [
        mi.rgb_to_gray(x, backend=backend),
        mi.rgb_to_hsv(x, backend=backend),
        mi.sobel(x, mode="mirror", backend=backend),
        mi.canny(x, backend=backend),
        mi.color_histogram(x, (3, 3, 3), backend=backend),
        mi.color_histogram(x, (4, 4, 4), "rgb", normalize=False, backend=backend),
        mi.color_moments(x, backend=backend),
        mi.gradient_histogram(x, 5, backend=backend),
    ]


def test_chunking_one_image_at_a_time(monkeypatch):
    x = np.concatenate([EDGY, RGB_U8[:1]])  # 3 images, so chunks do not divide evenly
    want = _all_ops(x, "cuda")
    monkeypatch.setattr(config, "GPU_MAX_CHUNK_ITEMS", 1)
    got = _all_ops(x, "cuda")
    ref = _all_ops(x, "numpy")
    for g, w, r in zip(got, want, ref, strict=True):
        np.testing.assert_array_equal(g, w)
        assert g.shape == r.shape and g.dtype == r.dtype


def test_out_of_memory_halves_the_chunk(monkeypatch):
    from mmfeat.image import _cuda

    class OutOfMemoryError(Exception):
        pass

    real = _cuda.launch_1d
    sizes = []

    def launch(kernel, total, *args):
        sizes.append(total)
        if total > SHAPE[1] * SHAPE[2]:  # more than one image does not "fit"
            raise OutOfMemoryError("out of memory allocating 1 GiB")
        return real(kernel, total, *args)

    monkeypatch.setattr(_cuda, "launch_1d", launch)
    x = np.concatenate([RGB_U8, RGB_U8[:1]])
    got = mi.rgb_to_gray(x, backend="cuda")
    np.testing.assert_allclose(got, mi.rgb_to_gray(x, backend="numpy"), rtol=0, atol=1e-6)
    assert sizes[0] == 3 * SHAPE[1] * SHAPE[2]  # tried the whole batch first
    assert sizes[-1] == SHAPE[1] * SHAPE[2]


def test_use_backend_cuda_context():
    with mmfeat.use_backend("cuda"):
        got = mi.sobel(RGB_U8)
    np.testing.assert_allclose(got, mi.sobel(RGB_U8, backend="numpy"), rtol=0, atol=1e-6)


# --- documented behaviours on the cuda path -------------------------------------------------------


def test_empty_batch():
    x = np.zeros((0, 5, 6, 3), np.uint8)
    assert mi.rgb_to_gray(x, backend="cuda").shape == (0, 5, 6)
    assert mi.rgb_to_hsv(x, backend="cuda").shape == (0, 5, 6, 3)
    assert mi.sobel(x, backend="cuda").shape == (0, 5, 6)
    assert mi.canny(x, backend="cuda").dtype == np.bool_
    assert mi.color_histogram(x, backend="cuda").shape == (0, 512)
    assert mi.color_moments(x, backend="cuda").shape == (0, 9)
    assert mi.gradient_histogram(x, backend="cuda").shape == (0, 9)


def test_negative_stride_view():
    v = RGB_U8[:, ::-1, ::2]
    for g, w in zip(_all_ops(v, "cuda"), _all_ops(np.ascontiguousarray(v), "cuda"), strict=True):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("hw", [(1, 1), (1, 5), (2, 3), (5, 1)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_tiny_images(hw):
    x = _images((2, *hw, 3), np.uint8, hw[0] * 7 + hw[1])
    for mode in MODES:
        got, want = both(mi.sobel, x, mode=mode)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
        got, want = both(mi.canny, x, mode=mode)
        assert_canny_close(got, want, max_ties=0)
    for g, w in zip(_all_ops(x, "cuda"), _all_ops(x, "numpy"), strict=True):
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-5)


@pytest.mark.parametrize("cval", [0.3, 1 / 3])
def test_canny_gaussian_passes_pad_with_the_float64_cval_as_scipy(cval):
    """Constant mode pads both Gaussian passes with cval as a float64, as scipy's
    correlate1d does (a float32 cval put the border pixels 1 ulp off)."""
    import scipy.ndimage as ndi
    from mmfeat.kernels import image_cuda as KC
    from mmfeat.kernels.image_math import MODE_CONSTANT

    from mmfeat.image import _cuda as C
    from mmfeat.image import _reference as ref

    img = np.random.default_rng(3).random((1, 7, 9)).astype(np.float32)
    w = ref.gaussian_weights(1.0)
    got_rows, got_cols = np.empty_like(img), np.empty_like(img)
    no_bleed = np.empty((0, 0), np.float32)
    C._launch_pixels(KC.gaussian_rows, (img, got_rows), w, MODE_CONSTANT, C._pad_value(cval))
    C._launch_pixels(KC.gaussian_cols, (img, got_cols), w, MODE_CONSTANT, C._pad_value(cval),
                     no_bleed)
    np.testing.assert_array_equal(got_rows, ndi.correlate1d(img, w, axis=1, mode="constant",
                                                             cval=cval))
    np.testing.assert_array_equal(got_cols, ndi.correlate1d(img, w, axis=2, mode="constant",
                                                             cval=cval))
    photo = np.random.default_rng(4).random((1, 12, 12)).astype(np.float32)
    np.testing.assert_array_equal(mi.canny(photo, mode="constant", cval=cval, backend="cuda"),
                                  mi.canny(photo, mode="constant", cval=cval, backend="numpy"))


@pytest.mark.parametrize("name", RGB_BATCHES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
def test_colour_conversion_dtypes_and_out(name, dtype):
    """dtype= (uint8 as img_as_ubyte) and out= on the cuda backend equal the reference."""
    x = BATCHES[name]
    for op, shape in ((mi.rgb_to_gray, x.shape[:3]), (mi.rgb_to_hsv, x.shape)):
        want = op(x, dtype=dtype, backend="numpy")
        got = op(x, dtype=dtype, backend="cuda")
        assert got.dtype == dtype
        if dtype == np.uint8:
            assert np.abs(got.astype(int) - want).max() <= 1
        else:
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
        out = np.full(shape, 3, dtype=dtype)
        assert op(x, dtype=dtype, out=out, backend="cuda") is out
        np.testing.assert_array_equal(out, got)
    out = np.empty(x.shape[:3], np.float64 if x.dtype == np.float64 else np.float32)
    assert mi.sobel(x, out=out, backend="cuda") is out
    np.testing.assert_array_equal(out, mi.sobel(x, backend="cuda"))
