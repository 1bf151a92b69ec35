"""The cuda path of hog, local_binary_pattern, lbp_histogram, graycomatrix and
graycoprops under the CUDA simulator, against scikit-image and the numpy reference.

Runs only with ``NUMBA_ENABLE_CUDASIM=1`` (see conftest.py); the simulator runs one
Python thread per CUDA thread, so images are tiny (2 x 12 x 14).
"""

from __future__ import annotations

import numpy as np
import pytest
from skimage import feature

import mmfeat.image as mi

pytestmark = pytest.mark.cudasim


def _smooth(shape, seed, levels=256):
    """Integer images with structure (ramps + noise), so that gradients and
    patterns vary, and flat patches, so that ties occur."""
    rng = np.random.default_rng(seed)
    n, H, W = shape[:3]
    i, j = np.mgrid[0:H, 0:W]
    base = (i * 7 + j * 11) % levels
    out = (base[None] + rng.integers(0, levels // 8 + 1, size=shape[:3])) % levels
    out[:, :3, :3] = levels // 2  # a flat corner
    if len(shape) == 4:
        out = np.stack([out, (out * 3) % levels, out[:, ::-1]], axis=-1)
    return out.astype(np.uint8 if levels <= 256 else np.uint16)


GRAY = _smooth((2, 12, 14), 1)
RGB = _smooth((2, 12, 14, 3), 2)


@pytest.mark.parametrize("x, ca", [(GRAY, None), (RGB, -1), (GRAY.astype(np.float32) / 255, None),
                                   (RGB / 255.0, -1)])
@pytest.mark.parametrize("kw", [dict(pixels_per_cell=(4, 3), cells_per_block=(2, 2)),
                                dict(orientations=4, pixels_per_cell=(3, 5),
                                     cells_per_block=(1, 2), block_norm="L1-sqrt",
                                     transform_sqrt=True)])
def test_hog_cuda_equals_skimage(x, ca, kw):
    got = mi.hog(x, channel_axis=ca, backend="cuda", **kw)
    want = np.stack([feature.hog(im, channel_axis=ca, **kw) for im in x])
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)


@pytest.mark.parametrize("method", ["default", "ror", "uniform", "nri_uniform", "var"])
@pytest.mark.parametrize("P, R", [(8, 1), (5, 1.5)])
def test_lbp_cuda_equals_skimage(P, R, method):
    got = mi.local_binary_pattern(GRAY, P, R, method, backend="cuda")
    want = np.stack([feature.local_binary_pattern(im, P, R, method) for im in GRAY])
    np.testing.assert_array_equal(got, want)


def test_lbp_histogram_cuda_equals_numpy():
    got = mi.lbp_histogram(GRAY, 8, 1, "nri_uniform", backend="cuda")
    want = mi.lbp_histogram(GRAY, 8, 1, "nri_uniform", backend="numpy")
    np.testing.assert_array_equal(got, want)
    assert got.shape == (2, 8 * 7 + 3)


@pytest.mark.parametrize("symmetric, normed", [(False, False), (True, True)])
def test_glcm_cuda_equals_skimage(symmetric, normed):
    x = GRAY // 32
    d, a = [1, 2], [0, np.pi / 4, 3 * np.pi / 4]
    got = mi.graycomatrix(x, d, a, levels=8, symmetric=symmetric, normed=normed, backend="cuda")
    want = np.stack([feature.graycomatrix(im, d, a, levels=8, symmetric=symmetric,
                                          normed=normed) for im in x])
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    for prop in ("contrast", "homogeneity", "energy", "correlation", "std", "entropy"):
        gp = mi.graycoprops(got, prop, backend="cuda")
        wp = np.stack([feature.graycoprops(w, prop) for w in want])
        np.testing.assert_allclose(gp, wp, rtol=1e-9, atol=1e-12)
