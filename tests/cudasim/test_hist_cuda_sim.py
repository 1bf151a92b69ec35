"""The histogram kernels of ``kernels/image_hist_cuda.py`` under Numba's CUDA simulator.

color_histogram: the colour space and the bins are compile-time constants, uint8
HSV bins are integer-only (reciprocal multiplies, small tables, tie tables for
pixels exactly on a bin edge), uint8 pixels are read as 32-bit words 8 a thread a
pass, and counts are warp-aggregated. gradient_histogram: per-thread float64 bins
and a warp reduction. Each is compared with the numpy reference, bit for bit for
the counts and within the main file's tolerance for the gradient histogram.
"""

from __future__ import annotations

import numpy as np
import pytest

import mmfeat.image as mi
from mmfeat import config
from mmfeat.image import _cuda as C
from mmfeat.image import _reference as ref

pytestmark = pytest.mark.cudasim

BINS = [(8, 8, 8), (6, 5, 3), (12, 3, 4), (1, 1, 1), (7, 33, 2)]


def _photo(shape, seed, levels=256):
    """uint8 RGB with smooth regions (many equal bins) and noise."""
    n, H, W = shape
    rng = np.random.default_rng(seed)
    i, j = np.mgrid[0:H, 0:W]
    base = 100 + 60 * np.sin(i / 3.0)[..., None] * np.cos(j / 4.0)[..., None]
    out = base + rng.normal(0, 40, size=(n, H, W, 3))
    out = np.clip(out, 0, 255)
    step = 255 // max(levels - 1, 1)
    return (np.round(out / step) * step).astype(np.uint8)


def _both(x, **kw):
    got = mi.color_histogram(x, backend="cuda", **kw)
    want = mi.color_histogram(x, backend="numpy", **kw)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


def _ref_bins(rgb, bins):
    """The reference's joint HSV bin of each uint8 pixel (M, 3)."""
    hsv = ref.hsv_for_binning(rgb.astype(np.uint8)[None, :, None, :])[0, :, 0]
    k = [C._histogramdd_bin(hsv[:, c], bins[c]) for c in range(3)]
    return (k[0] * bins[1] + k[1]) * bins[2] + k[2]


def _edge_pixels(bins, count, seed):
    """uint8 pixels whose hue or saturation is exactly on an interior bin edge."""
    v = np.arange(1 << 24, dtype=np.int64)
    r, g, b = v >> 16, (v >> 8) & 255, v & 255
    mx = np.maximum(r, np.maximum(g, b))
    mn = np.minimum(r, np.minimum(g, b))
    d = mx - mn
    c = np.where(b == mx, 2, np.where(g == mx, 1, 0))
    x = np.where(b == mx, r - g, np.where(g == mx, b - r, g - b))
    num = 2 * c * d + x
    num = np.where(num < 0, num + 6 * d, num)
    hue_edge = (d > 0) & ((num * bins[0]) % np.maximum(6 * d, 1) == 0) & (num > 0)
    s_edge = (d > 0) & (d < mx) & ((d * bins[1]) % np.maximum(mx, 1) == 0)
    idx = np.flatnonzero(hue_edge | s_edge)
    rng = np.random.default_rng(seed)
    idx = rng.choice(idx, size=min(count, idx.size), replace=False)
    return np.stack([r[idx], g[idx], b[idx]], -1)


@pytest.mark.parametrize("bins", [(8, 8, 8), (6, 5, 3), (12, 7, 4), (3, 2, 5)])
def test_hsv_u8_bin_is_exact_on_bin_edges(bins):
    """The integer bin (the device function itself, run as Python) equals the
    reference's float64 bin, on pixels exactly on an edge and on random pixels."""
    from mmfeat.kernels import image_hist_cuda as KH

    fn = KH._hsv_u8_bin(bins)
    tables = C.hsv_u8_hist_tables(bins)
    rng = np.random.default_rng(sum(bins))
    px = np.concatenate([_edge_pixels(bins, 1500, 1),
                         rng.integers(0, 256, size=(500, 3)),
                         [[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255],
                          [255, 255, 0], [0, 255, 255], [255, 0, 255], [7, 7, 3]]])
    want = _ref_bins(px, bins)
    got = np.array([fn(np.int32(p[0]), np.int32(p[1]), np.int32(p[2]), *tables) for p in px])
    np.testing.assert_array_equal(got, want)


def test_hsv_u8_tables_flag_pixels_below_an_edge():
    """Some edge pixels do round below their edge in float64 (the tie tables matter)."""
    small, sdown, hslot, hbits = C.hsv_u8_hist_tables((8, 8, 8))
    assert small.shape == (768,) and small.dtype == np.uint32
    assert (hslot >= 0).any() and hbits.any()
    assert sdown.any()


@pytest.mark.parametrize("bins", BINS)
@pytest.mark.parametrize("space", ["hsv", "rgb"])
def test_uint8_staged(space, bins, monkeypatch):
    seen = []
    real = C._word_view
    monkeypatch.setattr(C, "_word_view", lambda a: seen.append(real(a) is not None) or real(a))
    # 2 x 12 x 10: 120 pixels an image, a multiple of 4 but not of a block's pass
    # (32 threads x 8 pixels): a partial pass, lanes without pixels
    _both(_photo((2, 12, 10), sum(bins)), bins=bins, space=space, normalize=False)
    assert any(seen)


@pytest.mark.parametrize("shape", [(1, 1, 7), (1, 9, 1), (2, 3, 5), (1, 1, 4), (1, 4, 1),
                                   (1, 1, 1)], ids=str)
@pytest.mark.parametrize("space", ["hsv", "rgb"])
def test_odd_and_thin_images(space, shape):
    _both(_photo(shape, 3), bins=(8, 4, 4), space=space, normalize=False)


@pytest.mark.parametrize("space", ["hsv", "rgb"])
def test_one_bin_for_every_pixel(space):
    """Whole warps in one bin: one aggregated atomic of 32 per step."""
    x = np.full((2, 16, 16, 3), (200, 40, 90), np.uint8)
    _both(x, bins=(8, 8, 8), space=space, normalize=False)
    got = mi.color_histogram(x, bins=(8, 8, 8), space=space, normalize=False, backend="cuda")
    assert (got.max(axis=1) == 256).all()


@pytest.mark.parametrize("levels", [2, 3, 5])
def test_few_levels(levels):
    """Few distinct values: many pixels exactly on hue and saturation edges."""
    x = _photo((2, 8, 16), levels, levels=levels)
    for bins in [(6, 2, 2), (3, 4, 5), (12, 3, 3)]:
        _both(x, bins=bins, space="hsv", normalize=False)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint16])
@pytest.mark.parametrize("space", ["hsv", "rgb"])
def test_float_and_uint16(space, dtype):
    x = _photo((2, 5, 7), 4)
    if dtype == np.uint16:
        x = x.astype(np.uint16) * 257
    else:
        x = (x / 255.0).astype(dtype)
    _both(x, bins=(5, 3, 4), space=space, normalize=False)
    _both(x, bins=(8, 8, 8), space=space, normalize=True)


@pytest.mark.parametrize("space", ["hsv", "rgb"])
def test_global_counts_with_aggregation(space, monkeypatch):
    monkeypatch.setattr(config, "SHARED_HIST_MAX_BINS", 16)  # 64 bins: global atomics
    _both(_photo((2, 8, 12), 5), bins=(4, 4, 4), space=space, normalize=False)


def test_many_blocks_per_image(monkeypatch):
    monkeypatch.setattr(config, "HIST_BLOCKS_PER_IMAGE", 3)
    _both(_photo((1, 24, 32), 6), bins=(8, 8, 8), space="hsv", normalize=False)


def test_hue_bins_over_127_take_the_float_path():
    _both(_photo((1, 4, 6), 7), bins=(130, 1, 1), space="hsv", normalize=False)


# --- gradient histogram -------------------------------------------------------------------


def _grad(x, orientations):
    got = mi.gradient_histogram(x, orientations=orientations, backend="cuda")
    want = mi.gradient_histogram(x, orientations=orientations, backend="numpy")
    assert got.dtype == want.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
    return got


@pytest.mark.parametrize("shape", [(1, 1, 9), (1, 9, 1), (2, 11, 13), (1, 17, 3)], ids=str)
@pytest.mark.parametrize("orientations", [9, 4, 1])
def test_gradient_thin_and_odd(shape, orientations):
    _grad(_photo(shape, 8), orientations)


@pytest.mark.parametrize("dtype", [np.float32, np.uint8])
def test_gradient_dtypes_and_gray(dtype):
    x = _photo((2, 10, 12), 9)
    if dtype == np.float32:
        x = (x / 255.0).astype(np.float32)
    _grad(x, 9)
    _grad(np.ascontiguousarray(x[..., 1]), 6)


def test_gradient_flat_image_is_zero():
    got = _grad(np.full((1, 8, 8, 3), 77, np.uint8), 9)
    assert not got.any()


@pytest.mark.parametrize("orientations", [17, 40])
def test_gradient_many_bins_take_global_atomics(orientations):
    assert orientations > config.GRAD_HIST_SHARED_BINS
    _grad(_photo((1, 12, 10), 10), orientations)


def test_gradient_one_orientation_everywhere():
    """A horizontal ramp: every gradient in one bin (whole warps add to one bin)."""
    x = np.tile(np.linspace(0, 1, 16, dtype=np.float32), (1, 12, 1))
    got = _grad(x, 9)
    assert got.argmax() == 0 and np.isclose(got.sum(), 1.0)
