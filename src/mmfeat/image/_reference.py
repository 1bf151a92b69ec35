"""The NumPy/SciPy reference for every image op: the spec in code and the test oracle.

Short and vectorised; per-image loops only where SciPy works on one image at a
time. Inputs arrive validated (see ``_checks.as_images``).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from ._checks import float_dtype, gray_calc_type, scale_for

GRAY_COEFFS = (0.2125, 0.7154, 0.0721)


def to_float(images, work) -> np.ndarray:
    """Stored values -> floats in [0, 1] of type ``work`` (img_as_float's x * (1/255))."""
    work = np.dtype(work)
    if images.dtype == work:
        return images
    return images.astype(work) * scale_for(images.dtype, work)


def rgb_to_gray(images, dtype=None, out=None) -> np.ndarray:
    """0.2125 R + 0.7154 G + 0.0721 B in gray_calc_type, stored in ``dtype``
    (default float_dtype; uint8 as ``img_as_ubyte``), into ``out`` if given."""
    calc = gray_calc_type(images.dtype)
    x = to_float(images, calc)
    if images.ndim == 3:
        g = x
    else:
        c = np.asarray(GRAY_COEFFS, dtype=calc)
        g = (x[..., 0] * c[0] + x[..., 1] * c[1]) + x[..., 2] * c[2]
    return _store(g, float_dtype(images.dtype) if dtype is None else dtype, out)


def _store(x, dtype, out):
    """``x`` (float, in [0, 1]) as ``dtype``: uint8 as ``skimage.util.img_as_ubyte``
    (x * 255 in x's type, rounded half to even); into ``out`` when given."""
    if np.dtype(dtype) == np.uint8:
        x = np.clip(np.rint(np.multiply(x, 255, dtype=x.dtype)), 0, 255)
    if out is None:
        return x.astype(dtype)
    out[...] = x
    return out


def _hsv_calc_type(dtype):
    """scikit-image computes HSV in float64 for integer input (img_as_float)."""
    return np.dtype(np.float64) if np.dtype(dtype).kind in "ui" else float_dtype(dtype)


def rgb_to_hsv(images, dtype=None, out=None) -> np.ndarray:
    """skimage.color.rgb2hsv's algorithm, stored in ``dtype`` (default the policy's
    float type; uint8 as ``img_as_ubyte``), into ``out`` if given."""
    return _store(hsv_for_binning(images),
                  float_dtype(images.dtype) if dtype is None else dtype, out)


def hsv_for_binning(images) -> np.ndarray:
    """HSV in the type scikit-image computes it (float64 for integer input)."""
    return _hsv_calc(to_float(images, _hsv_calc_type(images.dtype)))


def _hsv_calc(x):
    v = x.max(-1)
    delta = v - x.min(-1)
    h = np.zeros_like(v)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where(delta == 0, 0, delta / v)
        for idx, val in (
            (r == v, lambda m: (g[m] - b[m]) / delta[m]),
            (g == v, lambda m: 2.0 + (b[m] - r[m]) / delta[m]),
            (b == v, lambda m: 4.0 + (r[m] - g[m]) / delta[m]),
        ):
            h[idx] = val(idx)
        h = (h / 6.0) % 1.0
    h[delta == 0] = 0
    return np.stack([h, s.astype(x.dtype), v], axis=-1)


def color_histogram(images, bins, space, normalize) -> np.ndarray:
    """np.histogramdd over [0, 1]^3 per image."""
    if space == "hsv":
        vals = hsv_for_binning(images)
    else:
        calc = np.float64 if images.dtype.kind in "ui" else images.dtype
        vals = to_float(images, calc)
    n = images.shape[0]
    out = np.empty((n, int(np.prod(bins))), dtype=np.float32 if normalize else np.int64)
    for k in range(n):
        hist, _ = np.histogramdd(vals[k].reshape(-1, 3), bins=bins, range=[(0.0, 1.0)] * 3)
        hist = hist.ravel()
        out[k] = hist / hist.sum() if normalize else hist
    return out


def sobel(images, mode, cval, out=None) -> np.ndarray:
    """skimage.filters.sobel of the gray image (2-D convolutions, float32 or float64)."""
    gray = rgb_to_gray(images)
    if out is not None:
        out[...] = sobel(images, mode, cval)
        return out
    edge = np.array([1.0, 0.0, -1.0])
    smooth = np.array([1.0, 2.0, 1.0]) / 4
    k_i = np.outer(edge, smooth)  # derivative along rows
    k_j = np.outer(smooth, edge)
    out = np.empty_like(gray)
    for k in range(gray.shape[0]):
        gi = ndi.convolve(gray[k], k_i, mode=mode, cval=cval)
        gj = ndi.convolve(gray[k], k_j, mode=mode, cval=cval)
        out[k] = np.sqrt(gi * gi + gj * gj) / np.sqrt(2, dtype=gray.dtype)
    return out


def gaussian_weights(sigma: float, truncate: float = 4.0) -> np.ndarray:
    """scipy.ndimage's 1-D Gaussian kernel (radius int(truncate * sigma + 0.5))."""
    radius = int(truncate * float(sigma) + 0.5)
    if sigma <= 0:
        return np.ones(1)
    x = np.arange(-radius, radius + 1)
    phi = np.exp(-0.5 / (sigma * sigma) * x**2)
    return phi / phi.sum()


def bleed_over(shape, sigma, cval) -> np.ndarray:
    """scikit-image's correction for constant-mode smoothing: Gaussian of ones + eps."""
    ones = np.ones(shape, dtype=np.float32)
    return _gaussian(ones, sigma, "constant", cval) + np.finfo(np.float32).eps


def _gaussian(img, sigma, mode, cval):
    if sigma <= 0:
        return img.copy()
    return ndi.gaussian_filter(img, sigma, mode=mode, cval=cval, truncate=4.0)


def canny_thresholds(low, high, use_quantiles, dmax):
    """scikit-image's threshold defaults and scaling (values, not yet quantiles)."""
    low = 0.1 if low is None else (low if use_quantiles else low / dmax)
    high = 0.2 if high is None else (high if use_quantiles else high / dmax)
    return low, high


def canny(images, sigma, low, high, use_quantiles, mode, cval) -> np.ndarray:
    """scikit-image 0.26's ``feature.canny`` on the float32 gray image, per image.

    ``low``/``high`` are already defaulted and scaled (canny_thresholds).
    """
    gray = rgb_to_gray(images).astype(np.float32)
    n, H, W = gray.shape
    out = np.zeros((n, H, W), dtype=bool)
    bleed = bleed_over((H, W), sigma, cval) if mode == "constant" else None
    eroded = np.zeros((H, W), dtype=bool)
    eroded[1:-1, 1:-1] = True
    for k in range(n):
        sm = _gaussian(gray[k], sigma, mode, cval)
        if bleed is not None:
            sm /= bleed
        jsob = ndi.sobel(sm, axis=1)
        isob = ndi.sobel(sm, axis=0)
        mag = isob * isob
        mag += jsob * jsob
        np.sqrt(mag, out=mag)
        lo, hi = low, high
        if use_quantiles:
            lo, hi = np.percentile(mag, [100.0 * low, 100.0 * high])
        lo32 = np.float32(lo)
        if lo32 == 0:
            lo32 = np.float32(1e-14)
        hi_cmp = hi if use_quantiles else np.float32(hi)
        nms = nonmax_suppression(isob, jsob, mag, eroded, lo32)
        weak = nms > 0
        labels, count = ndi.label(weak, np.ones((3, 3), bool))
        if count == 0:
            continue
        strong = weak & (nms.astype(np.float64) >= np.float64(hi_cmp))
        good = np.zeros(count + 1, bool)
        good[np.unique(labels[strong])] = True
        good[0] = False
        out[k] = good[labels]
    return out


def nonmax_suppression(isob, jsob, mag, eroded, low32) -> np.ndarray:
    """Vectorised twin of scikit-image's Cython bilinear NMS (float32 inputs).

    Same neighbour choice and the same float/double mix: ``n12 * w`` in float32,
    the rest of the interpolation in float64.
    """
    H, W = mag.shape
    out = np.zeros_like(mag)
    if H < 3 or W < 3:
        return out
    c = (slice(1, -1), slice(1, -1))

    def sh(di, dj):
        return mag[1 + di : H - 1 + di, 1 + dj : W - 1 + dj]

    m = mag[c]
    ii, jj = isob[c], jsob[c]
    is_down, is_up = ii <= 0, ii >= 0
    is_left, is_right = jj <= 0, jj >= 0
    cond1 = (is_up & is_right) | (is_down & is_left)
    cond2 = ((is_down & is_right) | (is_up & is_left)) & ~cond1
    ai, aj = np.abs(ii), np.abs(jj)
    with np.errstate(invalid="ignore", divide="ignore"):
        a1 = cond1 & (ai > aj)
        b1 = cond1 & ~(ai > aj)
        a2 = cond2 & (ai < aj)
        b2 = cond2 & ~(ai < aj)
        w = np.where(a1 | b2, aj / ai, ai / aj).astype(np.float32)
    n11 = np.select([a1, b1, a2, b2], [sh(1, 0), sh(0, 1), sh(0, 1), sh(-1, 0)], 0)
    n12 = np.select([a1, b1, a2, b2], [sh(1, 1), sh(1, 1), sh(-1, 1), sh(-1, 1)], 0)
    n21 = np.select([a1, b1, a2, b2], [sh(-1, 0), sh(0, -1), sh(0, -1), sh(1, 0)], 0)
    n22 = np.select([a1, b1, a2, b2], [sh(-1, -1), sh(-1, -1), sh(1, -1), sh(1, -1)], 0)
    wd = w.astype(np.float64)
    md = m.astype(np.float64)
    with np.errstate(invalid="ignore"):
        c_plus = (n12 * w).astype(np.float64) + n11.astype(np.float64) * (1.0 - wd) <= md
        c_minus = (n22 * w).astype(np.float64) + n21.astype(np.float64) * (1.0 - wd) <= md
    keep = eroded[c] & (m >= low32) & (cond1 | cond2) & c_plus & c_minus
    out[c] = np.where(keep, m, 0)
    return out


def sobel_gradients(gray) -> tuple[np.ndarray, np.ndarray]:
    """(gx, gy) = Sobel responses along columns and rows, mode reflect, float32."""
    k = np.array([[1, 2, 1]], dtype=np.float64)
    d = np.array([[-1, 0, 1]], dtype=np.float64)
    gx = np.empty_like(gray)
    gy = np.empty_like(gray)
    for n in range(gray.shape[0]):
        gx[n] = ndi.correlate(gray[n], k.T @ d, mode="reflect")
        gy[n] = ndi.correlate(gray[n], d.T @ k, mode="reflect")
    return gx, gy


def gradient_histogram(images, orientations) -> np.ndarray:
    """Sum of Sobel magnitudes per unsigned orientation bin, L1-normalised.

    See ``mmfeat.image.gradient_histogram`` for the formula.
    """
    gray = rgb_to_gray(images).astype(np.float32)
    gx, gy = sobel_gradients(gray)
    gx = gx.astype(np.float64)
    gy = gy.astype(np.float64)
    mag = np.sqrt(gx * gx + gy * gy) * 0.25
    theta = np.arctan2(gy, gx)
    theta = np.where(theta < 0, theta + np.pi, theta)
    idx = np.minimum((theta * orientations / np.pi).astype(np.int64), orientations - 1)
    n = gray.shape[0]
    out = np.zeros((n, orientations), dtype=np.float64)
    for k in range(n):
        out[k] = np.bincount(idx[k].ravel(), weights=mag[k].ravel(), minlength=orientations)
    total = out.sum(axis=1, keepdims=True)
    np.divide(out, total, out=out, where=total > 0)
    return out.astype(np.float32)


def color_moments(images) -> np.ndarray:
    """(N, 9): mean, std, skewness of each channel (R, G, B; gray repeats) in [0, 1]."""
    x = to_float(images, np.float64)
    if x.ndim == 3:
        x = np.repeat(x[..., None], 3, axis=-1)
    x = x.reshape(x.shape[0], -1, 3)
    mean = x.mean(axis=1)
    d = x - mean[:, None, :]
    # a constant channel has std 0 and skewness 0 exactly (the float64 mean of a
    # constant can be off by an ulp, which would leave noise in d)
    const = x.max(axis=1) == x.min(axis=1)
    d[np.broadcast_to(const[:, None, :], d.shape)] = 0.0
    var = (d * d).mean(axis=1)
    std = np.sqrt(var)
    m3 = (d * d * d).mean(axis=1)
    safe = np.where(std > 0, std, 1.0)
    skew = np.where(std > 0, m3 / safe**3, 0.0)
    return np.concatenate([mean, std, skew], axis=1).astype(np.float32)
