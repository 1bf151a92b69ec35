"""The cpu Canny kernel's own code paths: bleed-over rows, row rings, reused scratch.

The kernel streams each image by rows through small rings (gray rows, smoothed
rows, gradient rows; slot = row % ring size) and builds scikit-image's
bleed-over image from a few distinct rows. These tests pin the places where
that could go wrong: the bleed rows against scikit-image's full smoothing of a
ones image, heights around each ring size in every mode, and per-worker
scratch reused across the images of a batch.
"""

from __future__ import annotations

import numpy as np
import pytest
from mmfeat.kernels import image as K

import mmfeat.image as mi
from mmfeat.image import _cpu as C
from mmfeat.image import _reference as ref

MODES = ["reflect", "constant", "nearest", "mirror", "wrap"]


@pytest.mark.parametrize("shape", [(1, 1), (2, 7), (5, 3), (9, 9), (10, 11), (37, 23)])
@pytest.mark.parametrize("sigma", [0.0, 0.5, 1.0, 2.5, 5.0])
@pytest.mark.parametrize("cval", [0.0, 0.3, 1.0])
def test_bleed_rows_equal_scikit_image_bleed_over(shape, sigma, cval):
    # the kernel divides row i by bleed_rows' row min(i, H - 1 - i, r)
    H, W = shape
    w = ref.gaussian_weights(sigma)
    r = (len(w) - 1) // 2
    rows = C.bleed_rows(H, W, w, cval)
    out = rows[[min(i, H - 1 - i, r) for i in range(H)]]
    np.testing.assert_array_equal(out, ref.bleed_over(shape, sigma, cval))


# sigma 1 -> radius 4: the gray ring holds 10 rows, the smoothed ring 4, the
# gradient rings 3; heights on each side of those sizes, and well above them
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("height", [3, 4, 5, 9, 10, 11, 12, 31])
def test_heights_around_ring_sizes_equal_reference(mode, height):
    rng = np.random.default_rng(height)
    x = rng.random((2, height, 13)).astype(np.float32)
    x[1] = np.where(x[1] > 0.5, 0.8, 0.2)  # flat regions and sharp edges
    for kw in (dict(), dict(use_quantiles=True, low_threshold=0.6, high_threshold=0.9)):
        out = mi.canny(x, sigma=1.0, mode=mode, backend="cpu", **kw)
        np.testing.assert_array_equal(out, mi.canny(x, sigma=1.0, mode=mode, backend="numpy", **kw))


def test_output_bytes_are_zero_or_one():
    # the kernel writes the bool output through a uint8 view (0/1/2 state, 3 = reached)
    rng = np.random.default_rng(0)
    x = rng.random((3, 40, 33)).astype(np.float32)
    out = mi.canny(x, low_threshold=0.05, high_threshold=0.3, backend="cpu")
    assert out.any()
    assert out.view(np.uint8).max() == 1


@pytest.mark.parametrize("kw", [dict(), dict(use_quantiles=True, low_threshold=0.7,
                                             high_threshold=0.9), dict(mode="wrap")])
def test_batch_equals_images_one_by_one(photos, kw):
    # each worker reuses its scratch rows across its images: nothing may leak
    x = np.concatenate([photos, photos[::-1, ::-1]])[:, :97, :131]
    x = np.ascontiguousarray(x)
    out = mi.canny(x, sigma=1.5, backend="cpu", **kw)
    for k in range(len(x)):
        np.testing.assert_array_equal(out[k], mi.canny(x[k : k + 1], sigma=1.5, backend="cpu",
                                                       **kw)[0])


@pytest.mark.parametrize("cval", [0.3, 0.1, 1 / 3, 0.7])
@pytest.mark.parametrize("width", [1, 3, 5, 9, 40])
def test_gaussian_passes_pad_with_the_float64_cval_as_scipy(cval, width):
    """Constant mode pads with cval as a float64 in both 1-D passes, as scipy's
    correlate1d does, so the smoothed rows stay bit-identical when float32 cannot
    hold cval (a float32 border was 1 ulp off at the edges)."""
    import scipy.ndimage as ndi

    rng = np.random.default_rng(width)
    w = ref.gaussian_weights(1.0)
    r = (w.shape[0] - 1) // 2
    img = rng.random((width, width)).astype(np.float32)
    acc = np.empty(width, np.float64)
    got = np.empty(width, np.float32)
    expect_h = ndi.correlate1d(img, w, axis=1, mode="constant", cval=cval)
    expect_v = ndi.correlate1d(img, w, axis=0, mode="constant", cval=cval)
    for i in range(width):
        line = np.empty(width + 2 * r, np.float32)
        line[r:r + width] = img[i]
        K._hpass_row(line, w, K.MODE_CONSTANT, cval, acc, got,
                     np.ones(width, np.float32), False)
        np.testing.assert_array_equal(got, expect_h[i])
        K._vpass_row(img, i, width, w, K.MODE_CONSTANT, cval, acc, got)
        np.testing.assert_array_equal(got, expect_v[i])
    photo = rng.random((1, 24, 24)).astype(np.float32)
    np.testing.assert_array_equal(
        mi.canny(photo, mode="constant", cval=cval, backend="cpu"),
        mi.canny(photo, mode="constant", cval=cval, backend="numpy"))


@pytest.mark.parametrize("pct", [0.0, 1e-9, 0.1, 5.0, 33.3, 50.0, 62.5, 80.0, 95.0, 99.99, 100.0])
@pytest.mark.parametrize("shape", [(1, 1), (1, 2), (7, 5), (64, 48)])
def test_percentile_kernel_equals_numpy(pct, shape):
    """canny's per-image quantile thresholds: NumPy's np.percentile bit for bit, with
    ties (flat regions give runs of equal magnitudes) and at the ends."""
    from mmfeat.kernels import image as K

    rng = np.random.default_rng(int(pct * 100) + shape[0])
    x = rng.random(shape).astype(np.float32)
    x[rng.random(shape) < 0.3] = 0.0  # many ties
    flat = np.empty(x.size, np.float32)
    got = K._percentile_linear(x, np.float64(pct), flat)
    assert got == np.percentile(x, pct), (got, np.percentile(x, pct))


def _nms_driver():
    import numba

    @numba.njit
    def both(gi, gj, up, mid, dn, lo, hi, fast, exact):
        K._nms_row(gi, gj, up, mid, dn, lo, hi, fast)
        K._nms_row_exact(gi, gj, up, mid, dn, lo, hi, exact)

    return both


def _near_ties(rng, n):
    """(n11, n12, w, m) float32 where the float32 and float64 suppression tests
    disagree: m within an ulp of scikit-image's float64 interpolation."""
    n11 = rng.uniform(0.1, 2.0, n).astype(np.float32)
    n12 = rng.uniform(0.1, 2.0, n).astype(np.float32)
    w = rng.uniform(0.0, 1.0, n).astype(np.float32)
    p = (n12 * w).astype(np.float32)
    s64 = p.astype(np.float64) + n11.astype(np.float64) * (1.0 - w.astype(np.float64))
    m = s64.astype(np.float32)
    away = np.float32(np.inf) * np.sign(rng.random(n) - 0.5)  # an ulp up or down
    m = np.where(rng.random(n) < 0.5, m, np.nextafter(m, away))
    exact = s64 <= m.astype(np.float64)
    fast = (p + (n11 * (np.float32(1.0) - w)).astype(np.float32)).astype(np.float32) - m <= 0
    pick = exact != fast
    return n11[pick], n12[pick], w[pick], m[pick]


def test_float32_suppression_equals_the_float64_one_also_where_float32_cannot_tell():
    """The suppression compares in float32 and redoes a row in float64 where a
    pixel is too close to call: rows built on the pixels where the two roundings
    disagree (and flat rows, where every interpolation equals m) come out as the
    float64 kernel's."""
    both = _nms_driver()
    rng = np.random.default_rng(7)
    n11, n12, w, m = _near_ties(rng, 200_000)
    assert n11.size > 10  # the float32 test alone would get these wrong
    lo, hi = float(np.float32(0.05)), float(np.float32(0.5))
    for k in range(min(n11.size, 200)):
        # one interior pixel: gradients of the same sign, |gi| > |gj|, so the kernel
        # interpolates dn[j] (n11) and dn[j + 1] (n12) with weight w; above is zero
        gi = np.array([0, 1, 0], np.float32)
        gj = np.array([0, w[k], 0], np.float32)
        mid = np.array([0, m[k], 0], np.float32)
        dn = np.array([0, n11[k], n12[k]], np.float32)
        up = np.zeros(3, np.float32)
        fast, exact = np.zeros(3, np.uint8), np.zeros(3, np.uint8)
        both(gi, gj, up, mid, dn, lo, hi, fast, exact)
        np.testing.assert_array_equal(fast, exact)
    # flat magnitude, random gradient directions, random row lengths
    for W in (3, 8, 9, 31, 64, 100):
        gi = rng.standard_normal(W).astype(np.float32)
        gj = rng.standard_normal(W).astype(np.float32)
        flat = np.full(W, 0.25, np.float32)
        fast, exact = np.zeros(W, np.uint8), np.zeros(W, np.uint8)
        both(gi, gj, flat, flat, flat, lo, hi, fast, exact)
        np.testing.assert_array_equal(fast, exact)
        assert fast[1:-1].any()  # the ties are kept (<=), as scikit-image does
        rows = [rng.uniform(0, 1, W).astype(np.float32) for _ in range(3)]
        both(gi, gj, *rows, lo, hi, fast, exact)
        np.testing.assert_array_equal(fast, exact)
    # thresholds that are not float32 values go to the float64 kernel
    fast, exact = np.zeros(W, np.uint8), np.zeros(W, np.uint8)
    both(gi, gj, *rows, 0.1, 0.2, fast, exact)
    np.testing.assert_array_equal(fast, exact)
