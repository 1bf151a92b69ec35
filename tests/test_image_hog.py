"""mmfeat.image.hog against skimage.feature.hog per image (numpy and cpu backends):
photographs with noise across dtypes, odd shapes, non-square cells, every block
norm, flat and too-small images, and scikit-image's errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage import feature

import mmfeat.image as mi
from mmfeat.image import _cpu

BACKENDS = ["numpy", "cpu"]


def _noisy(photos64, seed=0):
    rng = np.random.default_rng(seed)
    x = photos64.astype(np.float64) + rng.normal(0, 4, photos64.shape)
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def _as(x, dtype):
    dtype = np.dtype(dtype)
    if dtype == np.uint16:
        return x.astype(np.uint16) * 257
    if dtype.kind == "f":
        return (x / 255.0).astype(dtype)
    return x


def _skimage(x, channel_axis=None, **kw):
    return np.stack([feature.hog(im, channel_axis=channel_axis, **kw) for im in x])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
@pytest.mark.parametrize("rgb", [False, True])
def test_photographs_match_skimage(photos64, backend, dtype, rgb):
    x = _noisy(photos64)
    x = x if rgb else x.mean(axis=3).astype(np.uint8)
    x = _as(x, dtype)
    ca = -1 if rgb else None
    got = mi.hog(x, channel_axis=ca, backend=backend)
    want = _skimage(x, ca)
    assert got.dtype == want.dtype
    assert got.shape == want.shape == (4, 6 * 6 * 3 * 3 * 9)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kw", [
    dict(orientations=8, pixels_per_cell=(7, 5), cells_per_block=(2, 3), block_norm="L1"),
    dict(orientations=4, pixels_per_cell=(6, 9), cells_per_block=(1, 1), block_norm="L2"),
    dict(orientations=12, pixels_per_cell=(5, 5), cells_per_block=(2, 2),
         block_norm="L1-sqrt", transform_sqrt=True),
    dict(orientations=7, pixels_per_cell=(4, 6), cells_per_block=(3, 2), transform_sqrt=True),
])
@pytest.mark.parametrize("dtype", [np.uint8, np.float64])
def test_parameters_match_skimage(photos64, backend, kw, dtype):
    x = _as(_noisy(photos64, 1)[:2, 3:62, 1:60], dtype)  # odd sizes: partial cells dropped
    got = mi.hog(x, channel_axis=-1, backend=backend, feature_vector=False, **kw)
    want = _skimage(x, -1, feature_vector=False, **kw)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_float32_gray_is_close_to_bitwise(photos64, backend):
    x = (_noisy(photos64)[..., 1] / 255.0).astype(np.float32)
    got = mi.hog(x, pixels_per_cell=(6, 6), cells_per_block=(2, 2), backend=backend)
    want = _skimage(x, pixels_per_cell=(6, 6), cells_per_block=(2, 2))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_flat_and_smallest_images(backend):
    flat = np.full((2, 24, 24), 77, np.uint8)
    got = mi.hog(flat, backend=backend)
    assert got.shape == (2, 81) and not got.any()
    np.testing.assert_array_equal(got, _skimage(flat))
    one = np.random.default_rng(3).integers(0, 256, (1, 3, 2), dtype=np.uint8)
    got = mi.hog(one, pixels_per_cell=(1, 1), cells_per_block=(1, 1), backend=backend)
    np.testing.assert_allclose(got, _skimage(one, pixels_per_cell=(1, 1),
                                             cells_per_block=(1, 1)), atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_image_smaller_than_a_block_raises_like_skimage(backend):
    x = np.zeros((1, 23, 40), np.uint8)
    with pytest.raises(ValueError, match="too small") as ours:
        mi.hog(x, backend=backend)
    with pytest.raises(ValueError) as theirs:
        feature.hog(x[0])
    assert str(ours.value) == str(theirs.value)


def test_empty_batch_and_output_shapes():
    out = mi.hog(np.zeros((0, 32, 32), np.uint8), feature_vector=False, backend="cpu")
    assert out.shape == (0, 2, 2, 3, 3, 9) and out.dtype == np.float64


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 9), st.integers(2, 6), st.integers(2, 6), st.integers(1, 3),
       st.integers(1, 3), st.sampled_from(["L1", "L1-sqrt", "L2", "L2-Hys"]),
       st.integers(0, 2**31))
def test_cpu_matches_skimage_hypothesis(orient, ch, cw, bh, bw, norm, seed):
    rng = np.random.default_rng(seed)
    H, W = ch * bh + int(rng.integers(0, 5)), cw * bw + int(rng.integers(0, 5))
    x = rng.integers(0, 256, (2, H, W, 3), dtype=np.uint8)
    x[:, : H // 2] = x[:, : H // 2, :, :1]  # equal channels: magnitude ties
    kw = dict(orientations=orient, pixels_per_cell=(ch, cw), cells_per_block=(bh, bw),
              block_norm=norm)
    np.testing.assert_allclose(mi.hog(x, channel_axis=-1, backend="cpu", **kw),
                               _skimage(x, -1, **kw), rtol=0, atol=1e-5)


def test_uint8_hypot_table_is_numpy_and_sign_free():
    """The table the channel choice uses for uint8 is NumPy's hypot, and NumPy's hypot
    of integer gradients does not depend on their signs (so |g| indexes it)."""
    t = _cpu.hog_hypot_table()
    g = np.arange(-255, 256, dtype=np.float64)
    r, c = np.meshgrid(g, g, indexing="ij")
    np.testing.assert_array_equal(np.hypot(r, c), t[np.abs(r).astype(int), np.abs(c).astype(int)])


def test_integer_gradient_bins_agree_with_numpy_arctan2():
    """C's atan2 (kernel, near edges) bins every uint8 gradient as NumPy's arctan2."""
    from mmfeat.kernels import image_texture as KT

    g = np.arange(-255, 256, dtype=np.float64)
    r, c = (a.ravel() for a in np.meshgrid(g, g, indexing="ij"))
    ori = np.rad2deg(np.arctan2(r, c)) % 180
    for n in (4, 8, 9, 12):
        per = 180.0 / n
        edges = per * np.arange(n + 1)
        want = np.searchsorted(edges, ori, side="right") - 1
        want[(ori >= edges[-1])] = -1
        sel = np.flatnonzero(np.abs(ori / per - np.rint(ori / per)) < 1e-3)
        got = np.array([KT.hog_bin_exact(r[i], c[i], n, per) for i in sel])
        np.testing.assert_array_equal(got, want[sel])


@pytest.mark.parametrize("kw, exc, match", [
    (dict(orientations=0), ValueError, "orientations"),
    (dict(orientations=2.5), TypeError, "orientations"),
    (dict(pixels_per_cell=(0, 8)), ValueError, "pixels_per_cell"),
    (dict(pixels_per_cell=8), TypeError, "pixels_per_cell"),
    (dict(cells_per_block=(1, 2, 3)), ValueError, "cells_per_block"),
    (dict(block_norm="L3"), ValueError, "block_norm"),
    (dict(visualize=True), NotImplementedError, "visualize"),
    (dict(transform_sqrt="yes"), TypeError, "transform_sqrt"),
    (dict(channel_axis=0), ValueError, "channel_axis"),
])
def test_bad_parameters(kw, exc, match):
    x = np.zeros((1, 32, 32, 3), np.uint8)
    kw.setdefault("channel_axis", -1)
    with pytest.raises(exc, match=match):
        mi.hog(x, **kw)


def test_bad_images():
    with pytest.raises(ValueError, match="two spatial dimensions"):
        mi.hog(np.zeros((1, 32, 32, 3), np.uint8))  # colour without channel_axis
    with pytest.raises(ValueError, match="colour batch"):
        mi.hog(np.zeros((1, 32, 32), np.uint8), channel_axis=-1)
    with pytest.raises(TypeError, match="real dtype"):
        mi.hog(np.zeros((1, 32, 32), np.complex64))
    with pytest.raises(TypeError, match="images"):
        mi.hog("not an image")
