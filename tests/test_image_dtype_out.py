"""dtype= for the colour conversions (uint8 as img_as_ubyte) and out= for the batch ops:
every backend, against scikit-image, and the argument errors."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.color import rgb2gray, rgb2hsv
from skimage.util import img_as_ubyte

import mmfeat.image as mi

BACKENDS = ["numpy", "cpu"]


def _noisy(photos):
    rng = np.random.default_rng(0)
    return np.clip(photos + rng.normal(0, 3, photos.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("backend", BACKENDS)
def test_uint8_gray_and_hsv_equal_img_as_ubyte(photos, backend):
    x = _noisy(photos)
    gray = mi.rgb_to_gray(x, dtype=np.uint8, backend=backend)
    hsv = mi.rgb_to_hsv(x, dtype=np.uint8, backend=backend)
    assert gray.dtype == hsv.dtype == np.uint8
    want_g = np.stack([img_as_ubyte(rgb2gray(im)) for im in x])
    want_h = np.stack([img_as_ubyte(rgb2hsv(im)) for im in x])
    # a value 255 g exactly halfway between integers may round apart (matmul order):
    # at most one level, on a vanishing share of pixels
    for got, want in ((gray, want_g), (hsv, want_h)):
        diff = np.abs(got.astype(int) - want)
        assert diff.max() <= 1 and np.mean(diff > 0) < 1e-4


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("src", [np.uint8, np.uint16, np.float32, np.float64])
def test_every_output_dtype_matches_the_reference(make_images, backend, src):
    x = make_images((3, 17, 23, 3), src)
    for op in (mi.rgb_to_gray, mi.rgb_to_hsv):
        for dt in (np.float32, np.float64, np.uint8):
            got = op(x, dtype=dt, backend=backend)
            want = op(x, dtype=dt, backend="numpy")
            assert got.dtype == dt
            if dt == np.uint8:
                assert np.abs(got.astype(int) - want).max() <= 1
            else:
                np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    # uint8 from gray input (a gray batch keeps its values)
    g = make_images((2, 9, 7), src)
    np.testing.assert_array_equal(mi.rgb_to_gray(g, dtype=np.uint8, backend=backend),
                                  mi.rgb_to_gray(g, dtype=np.uint8, backend="numpy"))


def test_half_levels_round_to_even():
    # gray input 0.5/255 + k/255: 255 g lands on k + 0.5 in float64 only where exact;
    # the rounding of the float result must be numpy's rint (half to even)
    x = np.array([[[0.5 / 255, 1.5 / 255, 2.5 / 255, 1.0, 0.0]]], dtype=np.float64)
    for backend in BACKENDS:
        got = mi.rgb_to_gray(x, dtype=np.uint8, backend=backend)
        want = np.clip(np.rint(x * 255), 0, 255).astype(np.uint8)
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("backend", BACKENDS)
def test_out_is_filled_and_returned(photos64, backend):
    x = _noisy(photos64)
    for op, shape, dt, kw in ((mi.rgb_to_gray, x.shape[:3], np.float32, {}),
                              (mi.rgb_to_gray, x.shape[:3], np.uint8, {"dtype": np.uint8}),
                              (mi.rgb_to_hsv, x.shape, np.float32, {}),
                              (mi.rgb_to_hsv, x.shape, np.uint8, {"dtype": np.uint8}),
                              (mi.sobel, x.shape[:3], np.float32, {"mode": "nearest"}),
                              (mi.canny, x.shape[:3], bool, {"sigma": 1.5}),
                              (mi.canny, x.shape[:3], bool, {"use_quantiles": True,
                                                             "low_threshold": 0.7,
                                                             "high_threshold": 0.9}),
                              (mi.canny, x.shape[:3], bool,
                               {"mask": np.broadcast_to(np.arange(x.shape[2]) % 7 > 1,
                                                        x.shape[1:3]).copy()})):
        out = np.full(shape, 7, dtype=dt)  # stale values must all be overwritten
        got = op(x, out=out, backend=backend, **kw)
        assert got is out
        np.testing.assert_array_equal(out, op(x, backend=backend, **kw))
        # a loop over batches reuses one buffer
        np.testing.assert_array_equal(op(x[::-1].copy(), out=out, backend=backend, **kw),
                                      op(x[::-1].copy(), backend=backend, **kw))


def test_empty_batch_with_out():
    out = np.empty((0, 4, 4), np.float32)
    assert mi.rgb_to_gray(np.zeros((0, 4, 4, 3), np.uint8), out=out) is out
    edges = np.empty((0, 4, 4), bool)
    assert mi.canny(np.zeros((0, 4, 4, 3), np.uint8), out=edges) is edges


@pytest.mark.parametrize("backend", BACKENDS)
def test_canny_out_for_one_gray_image(backend):
    img = np.zeros((12, 15), np.float32)
    img[3:9, 4:11] = 1.0
    out = np.ones((12, 15), bool)
    assert mi.canny(img, out=out, backend=backend) is out
    np.testing.assert_array_equal(out, mi.canny(img, backend=backend))
    with pytest.raises(ValueError, match=r"out must have shape \(12, 15\), got \(1, 12, 15\)"):
        mi.canny(img, out=np.empty((1, 12, 15), bool), backend=backend)


@pytest.mark.parametrize("bad, err, msg", [
    (np.int16, TypeError, "dtype must be float32, float64 or uint8, got int16"),
    ("nonsense", TypeError, "dtype must be float32, float64 or uint8"),
    (bool, TypeError, "dtype must be float32, float64 or uint8, got bool"),
])
def test_bad_dtype(bad, err, msg):
    with pytest.raises(err, match=msg):
        mi.rgb_to_gray(np.zeros((1, 4, 4, 3), np.uint8), dtype=bad)


def test_bad_out():
    x = np.zeros((2, 4, 5, 3), np.uint8)
    with pytest.raises(ValueError, match=r"out must have shape \(2, 4, 5\), got \(2, 5, 4\)"):
        mi.rgb_to_gray(x, out=np.empty((2, 5, 4), np.float32))
    with pytest.raises(ValueError, match="out must have dtype float32, got float64"):
        mi.rgb_to_gray(x, out=np.empty((2, 4, 5), np.float64))
    with pytest.raises(ValueError, match="out must have dtype uint8, got float32"):
        mi.rgb_to_hsv(x, dtype=np.uint8, out=np.empty(x.shape, np.float32))
    with pytest.raises(ValueError, match="out must be C-contiguous"):
        mi.sobel(x, out=np.empty((2, 5, 4), np.float32).transpose(0, 2, 1))
    ro = np.empty((2, 4, 5), np.float32)
    ro.setflags(write=False)
    with pytest.raises(ValueError, match="out is read-only"):
        mi.sobel(x, out=ro)
    with pytest.raises(TypeError, match="out must be an array, got list"):
        mi.rgb_to_gray(x, out=[[0.0]])
    with pytest.raises(ValueError, match="out must have dtype bool, got uint8"):
        mi.canny(x, out=np.empty((2, 4, 5), np.uint8))


def test_uint8_gray_fast_path_for_every_colour():
    """The float32 integer-weight kernel for uint8 RGB -> uint8 gray (ties redone in
    float64) equals the NumPy reference for all 2**24 colours, and
    img_as_ubyte(rgb2gray(.)) for every colour whose 255 * gray is not exactly
    k + 1/2 (there, float rounding decides, and scikit-image's matmul sums in
    another order)."""
    levels = np.arange(256, dtype=np.uint8)
    r, g, b = np.meshgrid(levels, levels, levels, indexing="ij")
    every = np.stack([r, g, b], axis=-1)  # 256 images of 256 x 256
    got = mi.rgb_to_gray(every, dtype=np.uint8, backend="cpu")
    np.testing.assert_array_equal(got, mi.rgb_to_gray(every, dtype=np.uint8, backend="numpy"))
    want = img_as_ubyte(rgb2gray(every))
    wide = every.astype(np.int64)
    tie = (2125 * wide[..., 0] + 7154 * wide[..., 1] + 721 * wide[..., 2]) % 10000 == 5000
    np.testing.assert_array_equal(got[~tie], want[~tie])
    assert np.abs(got[tie].astype(int) - want[tie]).max() <= 1


@pytest.mark.parametrize("shape", [(1, 1, 1, 3), (3, 5, 7, 3), (2, 17, 33, 3)])
def test_uint8_gray_fast_path_odd_shapes_and_views(shape):
    rng = np.random.default_rng(sum(shape))
    x = rng.integers(0, 256, shape, dtype=np.uint8)
    want = img_as_ubyte(rgb2gray(x))
    np.testing.assert_array_equal(mi.rgb_to_gray(x, dtype=np.uint8, backend="cpu"), want)
    # a non-contiguous view (every other column) is made contiguous first
    wide = np.repeat(x, 2, axis=2)[:, :, ::2]
    np.testing.assert_array_equal(mi.rgb_to_gray(wide, dtype=np.uint8, backend="cpu"), want)


def test_uint8_hsv_table_kernel_for_every_colour():
    """uint8 RGB -> uint8 HSV by exact tables equals the float64 kernel (scikit-image's
    arithmetic) for all 2**24 colours, and scikit-image itself on a sample of them."""
    from mmfeat.kernels import image as K

    from mmfeat._workers import parallel_for
    from mmfeat.image import _cpu

    levels = np.arange(256, dtype=np.uint8)
    r, g, b = np.meshgrid(levels, levels, levels, indexing="ij")
    every = np.stack([r, g, b], axis=-1)  # 256 images of 256 x 256
    got = mi.rgb_to_hsv(every, dtype=np.uint8, backend="cpu")
    want = np.empty_like(every)
    parallel_for(K.rgb_to_hsv_u8, 256 * 256, every, want, np.float64(1 / 255), np.float64(1.0),
                 np.float64(255.0))
    np.testing.assert_array_equal(got, want)
    hue = _cpu.hsv_u8_conversion_tables()[0]
    assert (hue < 0).sum() > 0  # ties exist and take the float64 path
    pick = np.random.default_rng(0).integers(0, 256, 3 * 1000)
    sample = every[pick[:1000], pick[1000:2000], pick[2000:]].reshape(1, 10, 100, 3)
    np.testing.assert_array_equal(mi.rgb_to_hsv(sample, dtype=np.uint8, backend="cpu"),
                                  img_as_ubyte(rgb2hsv(sample[0]))[None])


def _every_colour_in_rows(width):
    """All 2**24 uint8 colours (then a few random ones to fill the last row) as one
    image of rows ``width`` wide: with a width that is not a multiple of the
    two-phase kernels' block (``HSV_U8_BLOCK``), each row ends in a partial block."""
    levels = np.arange(256, dtype=np.uint8)
    every = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(-1, 3)
    fill = -len(every) % width
    extra = np.random.default_rng(width).integers(0, 256, (fill, 3), dtype=np.uint8)
    return np.concatenate([every, extra]).reshape(1, -1, width, 3)


def test_uint8_gray_word_kernel_at_widths_off_the_group():
    """The uint8 gray kernel reads four pixels as three words and redoes ties by groups
    of four: every colour, in rows whose width leaves a tail of 1-3 pixels, equals
    the NumPy reference (ties included)."""
    for width in (1001, 1002, 1003):
        x = _every_colour_in_rows(width)
        np.testing.assert_array_equal(mi.rgb_to_gray(x, dtype=np.uint8, backend="cpu"),
                                      mi.rgb_to_gray(x, dtype=np.uint8, backend="numpy"))


def test_float32_gray_of_uint8_from_the_integer_sum_at_every_colour():
    """float32 gray of uint8 RGB comes from the exact integer sum n = 2125 r + 7154 g +
    721 b (float32(n * (1 / 2550000)), four pixels from three words): every colour,
    in rows that end in a full group and in a tail of 1-3 pixels, equals the NumPy
    reference (scikit-image's float64 arithmetic, then float32); the ops that read the
    gray image through the same row helper give what they give on that gray image."""
    for width in (1000, 1001, 1002, 1003):
        x = _every_colour_in_rows(width)
        want = mi.rgb_to_gray(x, dtype=np.float32, backend="numpy")
        np.testing.assert_array_equal(mi.rgb_to_gray(x, dtype=np.float32, backend="cpu"), want)
    x = _every_colour_in_rows(1003)[:, :96]
    gray = mi.rgb_to_gray(x, dtype=np.float32, backend="numpy")
    np.testing.assert_array_equal(mi.sobel(x, backend="cpu"), mi.sobel(gray, backend="cpu"))
    np.testing.assert_array_equal(mi.canny(x, backend="cpu"), mi.canny(gray, backend="cpu"))
    np.testing.assert_array_equal(mi.canny(x, backend="cpu"), mi.canny(x, backend="numpy"))


def test_uint8_hsv_two_phase_kernels_at_a_width_off_the_block():
    """The uint8 HSV conversion and histogram kernels (keys, then look-ups, in blocks)
    equal the float64 kernels (scikit-image's arithmetic) for every colour, in rows
    that end in a partial block."""
    from mmfeat.kernels import image as K

    from mmfeat._workers import parallel_for
    from mmfeat.image import _cpu

    width = 1000
    assert width % K.HSV_U8_BLOCK
    x = _every_colour_in_rows(width)
    got = mi.rgb_to_hsv(x, dtype=np.uint8, backend="cpu")
    want = np.empty_like(x)
    parallel_for(K.rgb_to_hsv_u8, x.shape[1], x, want, np.float64(1 / 255), np.float64(1.0),
                 np.float64(255.0))
    np.testing.assert_array_equal(got, want)
    for bins in [(8, 8, 8), (7, 5, 3), (127, 9, 11), (1, 1, 1)]:
        got = mi.color_histogram(x, bins=bins, space="hsv", normalize=False, backend="cpu")
        nb = np.asarray(bins, dtype=np.int64)
        counts = np.zeros((1, 1, int(np.prod(bins))), dtype=np.int64)
        parallel_for(K.color_histogram_hsv, 1, x, counts, nb, _cpu.histogram_edges(bins),
                     np.float64(1 / 255), np.float64(1.0), x.shape[1] * width)
        np.testing.assert_array_equal(got, counts[:, 0], err_msg=str(bins))
