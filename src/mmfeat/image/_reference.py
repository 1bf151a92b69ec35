"""The NumPy/SciPy reference for every image op: the spec in code and the test oracle.

Short and vectorised; per-image loops only where SciPy works on one image at a
time. Inputs arrive validated (see ``_checks.as_images``).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from ._checks import erode_mask, float_dtype, gray_calc_type, scale_for

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
    with np.errstate(invalid="ignore"):  # inf - inf: NaN, zeroed below
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
    out = np.stack([h, s.astype(x.dtype), v], axis=-1)
    out[np.isnan(out)] = 0  # as scikit-image (inf / inf saturations, NaN pixels)
    return out


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


def sobel(images, mode, cval, out=None, axis=-1) -> np.ndarray:
    """skimage.filters.sobel of the gray image (2-D convolutions, float32 or float64).

    ``axis`` -1: the magnitude sqrt((Gi**2 + Gj**2) / 2); 0 or 1: the signed
    response along that axis (``sobel(image, axis=axis)``).
    """
    gray = rgb_to_gray(images)
    if out is not None:
        out[...] = sobel(images, mode, cval, axis=axis)
        return out
    edge = np.array([1.0, 0.0, -1.0])
    smooth = np.array([1.0, 2.0, 1.0]) / 4
    k_i = np.outer(edge, smooth)  # derivative along rows
    k_j = np.outer(smooth, edge)
    out = np.empty_like(gray)
    for k in range(gray.shape[0]):
        if axis == 0:
            out[k] = ndi.convolve(gray[k], k_i, mode=mode, cval=cval)
            continue
        if axis == 1:
            out[k] = ndi.convolve(gray[k], k_j, mode=mode, cval=cval)
            continue
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


def mask_bleed_over(mask, sigma, mode, cval) -> np.ndarray:
    """(M, H, W) float32: scikit-image's bleed-over of each mask plane (with a mask
    it divides by it in every mode): Gaussian of the mask as floats + eps."""
    out = np.empty(mask.shape, dtype=np.float32)
    for k in range(mask.shape[0]):
        out[k] = _gaussian(mask[k].astype(np.float32), sigma, mode, cval)
    out += np.finfo(np.float32).eps
    return out


def _gaussian(img, sigma, mode, cval):
    if sigma <= 0:
        return img.copy()
    return ndi.gaussian_filter(img, sigma, mode=mode, cval=cval, truncate=4.0)


def canny_thresholds(low, high, use_quantiles, dmax):
    """scikit-image's threshold defaults and scaling (values, not yet quantiles)."""
    low = 0.1 if low is None else (low if use_quantiles else low / dmax)
    high = 0.2 if high is None else (high if use_quantiles else high / dmax)
    return low, high


def canny(images, sigma, low, high, use_quantiles, mode, cval, mask=None,
          out=None) -> np.ndarray:
    """scikit-image 0.26's ``feature.canny`` on the float32 gray image, per image.

    ``low``/``high`` are already defaulted and scaled (canny_thresholds). ``mask``:
    None or bool (M, H, W), M = 1 (every image) or N: the image is zeroed outside
    it, smoothed, divided by the smoothed mask (every mode), and suppression keeps
    only pixels of the eroded mask. ``out``: (N, H, W) bool to write, else a new one.
    """
    gray = rgb_to_gray(images).astype(np.float32)
    n, H, W = gray.shape
    if out is None:
        out = np.zeros((n, H, W), dtype=bool)
    else:
        out[...] = False
    if mask is None:
        bleed = bleed_over((H, W), sigma, cval)[None] if mode == "constant" else None
        eroded = np.zeros((1, H, W), dtype=bool)
        eroded[:, 1:-1, 1:-1] = True
    else:
        gray = np.where(mask, gray, np.float32(0))
        bleed = mask_bleed_over(mask, sigma, mode, cval)
        eroded = erode_mask(mask, np)
    for k in range(n):
        sm = _gaussian(gray[k], sigma, mode, cval)
        if bleed is not None:
            sm /= bleed[k % bleed.shape[0]]
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
        nms = nonmax_suppression(isob, jsob, mag, eroded[k % eroded.shape[0]], lo32)
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


# --- texture descriptors: HOG, LBP, GLCM (issue 18) --------------------------------------
#
# Inputs arrive normalised by ``hog.py`` / ``texture.py``: HOG gets (N, H, W, C) in a
# storage type (uint8, float32, float64) and the work float type; LBP gets (N, H, W)
# uint8 or float64; GLCM gets (N, H, W) uint8 or uint16 and host-side pair offsets.

HOG_NORMS = ("L1", "L1-sqrt", "L2", "L2-Hys")
HOG_EPS = 1e-5


def hog_gradients(x):
    """scikit-image's ``_hog_channel_gradient`` per channel: central differences
    along rows and columns in x's float type, 0 on the first and last row/column."""
    g_row = np.zeros_like(x)
    g_col = np.zeros_like(x)
    g_row[:, 1:-1] = x[:, 2:] - x[:, :-2]
    g_col[:, :, 1:-1] = x[:, :, 2:] - x[:, :, :-2]
    return g_row, g_col


def hog_cell_histograms(src, orientations, pixels_per_cell, transform_sqrt, work):
    """(N, n_cells_row, n_cells_col, orientations) float64: scikit-image's cell
    histograms (``_hoghistogram.hog_histograms``), float32 totals included."""
    x = src.astype(work)
    if transform_sqrt:
        x = np.sqrt(x)
    g_row, g_col = hog_gradients(x)
    if x.shape[3] > 1:  # the channel with the largest gradient magnitude, first on ties
        pick = np.hypot(g_row, g_col).argmax(axis=3)[..., None]
        g_row = np.take_along_axis(g_row, pick, axis=3)
        g_col = np.take_along_axis(g_col, pick, axis=3)
    g_row = g_row[..., 0].astype(np.float64)
    g_col = g_col[..., 0].astype(np.float64)
    mag = np.hypot(g_col, g_row)
    ori = np.rad2deg(np.arctan2(g_row, g_col)) % 180
    edges = (180.0 / orientations) * np.arange(orientations + 1)
    c_row, c_col = pixels_per_cell
    ncr, ncc = x.shape[1] // c_row, x.shape[2] // c_col
    total = np.zeros((x.shape[0], ncr, ncc, orientations), dtype=np.float32)
    for dy in range(c_row):  # pixel (dy, dx) of every cell, in the Cython loop's order
        for dx in range(c_col):
            m = mag[:, dy : ncr * c_row : c_row, dx : ncc * c_col : c_col, None]
            o = ori[:, dy : ncr * c_row : c_row, dx : ncc * c_col : c_col, None]
            vote = (o >= edges[:-1]) & (o < edges[1:])
            total = (total.astype(np.float64) + np.where(vote, m, 0.0)).astype(np.float32)
    return (total / np.float32(c_row * c_col)).astype(np.float64)


def hog_normalize_blocks(hist, cells_per_block, block_norm):
    """(N, n_blocks_row, n_blocks_col, b_row, b_col, orientations) float64:
    scikit-image's ``_hog_normalize_block`` on every block."""
    b_row, b_col = cells_per_block
    blocks = np.lib.stride_tricks.sliding_window_view(hist, (b_row, b_col), axis=(1, 2))
    blocks = np.moveaxis(blocks, 3, -1)  # (N, nbr, nbc, b_row, b_col, orientations)
    axes = (-3, -2, -1)
    eps = HOG_EPS
    if block_norm in ("L1", "L1-sqrt"):
        out = blocks / (np.sum(np.abs(blocks), axis=axes, keepdims=True) + eps)
        return np.sqrt(out) if block_norm == "L1-sqrt" else out
    out = blocks / np.sqrt(np.sum(blocks**2, axis=axes, keepdims=True) + eps**2)
    if block_norm == "L2-Hys":
        out = np.minimum(out, 0.2)
        out = out / np.sqrt(np.sum(out**2, axis=axes, keepdims=True) + eps**2)
    return out


def hog(src, orientations, pixels_per_cell, cells_per_block, block_norm, transform_sqrt,
        work) -> np.ndarray:
    """(N, n_blocks_row, n_blocks_col, b_row, b_col, orientations) in ``work``."""
    hist = hog_cell_histograms(src, orientations, pixels_per_cell, transform_sqrt, work)
    return hog_normalize_blocks(hist, cells_per_block, block_norm).astype(work)


LBP_METHODS = ("default", "ror", "uniform", "nri_uniform", "var")


def lbp_points(P, R):
    """(rp, cp): scikit-image's circle offsets, rounded to 5 decimals (R in float64,
    as scikit-image 0.26's Cython takes it)."""
    rr = -R * np.sin(2 * np.pi * np.arange(P, dtype=np.double) / P)
    cc = R * np.cos(2 * np.pi * np.arange(P, dtype=np.double) / P)
    return np.round(rr, 5), np.round(cc, 5)


def _lbp_samples(x, rp, cp):
    """(P, N, H, W): bilinear samples at (r + rp[i], c + cp[i]), zeros outside the image."""
    reach = int(np.ceil(max(np.abs(rp).max(initial=0), np.abs(cp).max(initial=0)))) + 1
    n, H, W = x.shape
    pad = np.zeros((n, H + 2 * reach, W + 2 * reach))
    pad[:, reach : reach + H, reach : reach + W] = x
    out = []
    for dr_off, dc_off in zip(rp, cp, strict=True):
        pr = np.arange(H)[:, None] + dr_off
        pc = np.arange(W)[None, :] + dc_off
        r0, r1, c0, c1 = np.floor(pr), np.ceil(pr), np.floor(pc), np.ceil(pc)
        dr, dc = pr - r0, pc - c0

        def at(r, c):
            return pad[:, r.astype(np.int64) + reach, c.astype(np.int64) + reach]

        top = (1 - dc) * at(r0, c0) + dc * at(r0, c1)
        bottom = (1 - dc) * at(r1, c0) + dc * at(r1, c1)
        out.append((1 - dr) * top + dr * bottom)
    return out


def local_binary_pattern(images, P, R, method) -> np.ndarray:
    """(N, H, W) float64: scikit-image's ``_local_binary_pattern`` per image."""
    x = images.astype(np.float64)
    rp, cp = lbp_points(P, R)
    tex = _lbp_samples(x, rp, cp)
    if method == "var":
        s = np.zeros_like(x)
        v = np.zeros_like(x)
        for t in tex:  # the Cython loop's order of additions
            s += t
            v += t * t
        var = (v - (s * s) / P) / P
        return np.where(var != 0, var, np.nan)
    bits = np.stack([(t - x) >= 0 for t in tex]).astype(np.int64)  # (P, N, H, W)
    weights = (2 ** np.arange(P, dtype=np.int64)).reshape(P, 1, 1, 1)
    if method in ("default", "ror"):
        code = (bits * weights).sum(axis=0)
        if method == "ror":
            rot = code
            best = code
            for _ in range(1, P):
                rot = (rot >> 1) | ((rot & 1) << (P - 1))
                best = np.minimum(best, rot)
            code = best
        return code.astype(np.float64)
    changes = (bits[:-1] != bits[1:]).sum(axis=0)
    n_ones = bits.sum(axis=0)
    if method == "uniform":
        return np.where(changes <= 2, n_ones, P + 1).astype(np.float64)
    first_one = np.argmax(bits == 1, axis=0)
    first_zero = np.argmax(bits == 0, axis=0)
    rot = np.where(first_one == 0, n_ones - first_zero, P - first_one)
    value = 1 + (n_ones - 1) * P + rot
    value = np.where(n_ones == 0, 0, np.where(n_ones == P, P * (P - 1) + 1, value))
    return np.where(changes <= 2, value, P * (P - 1) + 2).astype(np.float64)


def lbp_n_bins(P, method) -> int:
    """Histogram bins of an LBP method: uniform P + 2, nri_uniform P (P - 1) + 3,
    default and ror 2**P."""
    if method == "uniform":
        return P + 2
    if method == "nri_uniform":
        return P * (P - 1) + 3
    return 2**P


def lbp_histogram(images, P, R, method, normalize) -> np.ndarray:
    """(N, n_bins): counts of each LBP value per image (divided by H*W when normalize)."""
    codes = local_binary_pattern(images, P, R, method).astype(np.int64)
    nb = lbp_n_bins(P, method)
    counts = np.stack([np.bincount(c.ravel(), minlength=nb) for c in codes])
    if not normalize:
        return counts
    return counts / np.float64(images.shape[1] * images.shape[2])


def glcm_offsets(distances, angles) -> np.ndarray:
    """(n_dist * n_angle, 2) int64 (row, col) pair offsets, index d * n_angle + a:
    scikit-image's ``round(sin(angle) * distance)`` (half away from zero)."""
    import math

    def skround(v):
        return int(v + 0.5) if v > 0.0 else int(v - 0.5)

    out = np.empty((len(distances) * len(angles), 2), dtype=np.int64)
    for d, dist in enumerate(distances):
        for a, ang in enumerate(angles):
            out[d * len(angles) + a] = (skround(math.sin(ang) * dist),
                                        skround(math.cos(ang) * dist))
    return out


def graycomatrix(images, offsets, n_dist, n_angle, levels, symmetric, normed) -> np.ndarray:
    """(N, levels, levels, n_dist, n_angle): uint32 counts, float64 when normed."""
    n, H, W = images.shape
    P = np.zeros((n, levels, levels, n_dist * n_angle), dtype=np.uint32)
    for k, (dr, dc) in enumerate(offsets):
        a = images[:, max(0, -dr) : min(H, H - dr), max(0, -dc) : min(W, W - dc)]
        b = images[:, max(0, dr) : min(H, H + dr), max(0, dc) : min(W, W + dc)]
        for i in range(n):
            pair = a[i].astype(np.int64).ravel() * levels + b[i].ravel()
            P[i, :, :, k] = np.bincount(pair, minlength=levels * levels).reshape(levels, levels)
    P = P.reshape(n, levels, levels, n_dist, n_angle)
    if symmetric:
        P = P + P.transpose(0, 2, 1, 3, 4)
    if normed:
        P = P.astype(np.float64)
        sums = P.sum(axis=(1, 2), keepdims=True)
        sums[sums == 0] = 1
        P /= sums
    return P


GLCM_PROPS = ("contrast", "dissimilarity", "homogeneity", "ASM", "energy", "correlation",
              "mean", "variance", "std", "entropy")


def graycoprops(P, prop) -> np.ndarray:
    """(N, n_dist, n_angle) float64: scikit-image's ``graycoprops`` per image."""
    P = P.astype(np.float64)
    sums = np.sum(P, axis=(1, 2), keepdims=True)
    sums[sums == 0] = 1
    P /= sums
    L = P.shape[1]
    I = np.arange(L).reshape(1, L, 1, 1, 1)  # noqa: E741 - scikit-image's names
    J = np.arange(L).reshape(1, 1, L, 1, 1)
    ax = (1, 2)
    if prop == "contrast":
        return np.sum(P * ((I - J) ** 2), axis=ax)
    if prop == "dissimilarity":
        return np.sum(P * np.abs(I - J), axis=ax)
    if prop == "homogeneity":
        return np.sum(P * (1.0 / (1.0 + (I - J) ** 2)), axis=ax)
    if prop in ("ASM", "energy"):
        asm = np.sum(P**2, axis=ax)
        return np.sqrt(asm) if prop == "energy" else asm
    if prop == "entropy":
        ln = -np.log(P, where=(P != 0), out=np.zeros_like(P))
        return np.sum(P * ln, axis=ax)
    mean_i = np.sum(I * P, axis=ax, keepdims=True)
    if prop == "mean":
        return mean_i[:, 0, 0]
    var_i = np.sum(P * ((I - mean_i) ** 2), axis=ax)
    if prop == "variance":
        return var_i
    if prop == "std":
        return np.sqrt(var_i)
    # correlation
    mean_j = np.sum(J * P, axis=ax, keepdims=True)
    std_i = np.sqrt(var_i)
    std_j = np.sqrt(np.sum(P * ((J - mean_j) ** 2), axis=ax))
    cov = np.sum(P * ((I - mean_i) * (J - mean_j)), axis=ax)
    flat = (std_i < 1e-15) | (std_j < 1e-15)
    return np.where(flat, 1.0, cov / np.where(flat, 1.0, std_i * std_j))
