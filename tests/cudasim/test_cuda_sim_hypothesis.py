"""backend="cuda" (simulated) against the numpy reference on hypothesis-drawn batches.

Tiny shapes (1-2 images, 1-10 pixels a side) and few examples: the simulator runs
every thread in Python. Odd sizes exercise partial tiles, border mapping and
histogram blocks that own no pixels.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mmfeat.image as mi

pytestmark = pytest.mark.cudasim

SETTINGS = settings(max_examples=12, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def batches(draw):
    n = draw(st.integers(1, 2))
    h = draw(st.integers(1, 10))
    w = draw(st.integers(1, 10))
    rgb = draw(st.booleans())
    dtype = draw(st.sampled_from([np.uint8, np.float32]))
    levels = draw(st.sampled_from([2, 5, 256]))  # few levels: ties and flat regions
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    shape = (n, h, w, 3) if rgb else (n, h, w)
    x = rng.integers(0, levels, size=shape) * (255 // max(levels - 1, 1))
    x = x.astype(np.uint8)
    return x if dtype == np.uint8 else (x / 255.0).astype(np.float32)


def _pair(fn, x, **kw):
    got = fn(x, backend="cuda", **kw)
    want = fn(x, backend="numpy", **kw)
    assert got.dtype == want.dtype and got.shape == want.shape
    return np.asarray(got), want


@SETTINGS
@given(x=batches(), mode=st.sampled_from(["reflect", "constant", "nearest", "mirror", "wrap"]))
def test_gray_sobel_gradient(x, mode):
    got, want = _pair(mi.rgb_to_gray, x)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    got, want = _pair(mi.sobel, x, mode=mode, cval=0.25)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    got, want = _pair(mi.gradient_histogram, x, orientations=5)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)


@SETTINGS
@given(x=batches(), bins=st.tuples(st.integers(1, 6), st.integers(1, 4), st.integers(1, 4)),
       space=st.sampled_from(["hsv", "rgb"]))
def test_histograms_and_hsv(x, bins, space):
    if x.ndim == 3:
        x = np.ascontiguousarray(np.repeat(x[..., None], 3, axis=-1))
    got, want = _pair(mi.color_histogram, x, bins=bins, space=space, normalize=False)
    np.testing.assert_array_equal(got, want)
    got, want = _pair(mi.rgb_to_hsv, x)
    np.testing.assert_array_equal(got, want)


@SETTINGS
@given(x=batches(), sigma=st.sampled_from([0.0, 0.8, 1.5]),
       mode=st.sampled_from(["constant", "reflect", "wrap"]))
def test_canny(x, sigma, mode):
    got, want = _pair(mi.canny, x, sigma=sigma, mode=mode)
    np.testing.assert_array_equal(got, want)
