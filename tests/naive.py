"""Brute-force references that no library provides: plain per-pixel loops.

Written straight from the documented formulas, with no vectorisation tricks, so
that they are easy to check by eye. Slow: use them on small images only.
"""

from __future__ import annotations

import math

import numpy as np

GRAY_COEFFS = (0.2125, 0.7154, 0.0721)


def reflect_index(i: int, n: int) -> int:
    """scipy.ndimage's ``reflect`` border (d c b a | a b c d | d c b a) for index ``i``."""
    period = 2 * n
    i = i % period
    if i >= n:
        i = period - 1 - i
    return i


def gray_float32(image: np.ndarray) -> np.ndarray:
    """(H, W) float32 gray of one (H, W) or (H, W, 3) image, pixel by pixel.

    mmfeat's policy: integer (and float64) values are converted in float64 —
    ``x * (1 / max)`` as ``skimage.util.img_as_float`` — and
    ``(0.2125 R + 0.7154 G) + 0.0721 B`` is evaluated in float64, then rounded to
    float32 once; float16/float32 input is evaluated in float32.
    """
    calc = np.float64 if image.dtype.kind in "ui" or image.dtype == np.float64 else np.float32
    if image.dtype == np.uint8:
        scale = calc(1.0 / 255)
    elif image.dtype == np.uint16:
        scale = calc(1.0 / 65535)
    else:
        scale = None
    H, W = image.shape[:2]
    out = np.empty((H, W), dtype=np.float32)
    c0, c1, c2 = (calc(c) for c in GRAY_COEFFS)
    for i in range(H):
        for j in range(W):
            if image.ndim == 2:
                vals = [image[i, j]]
            else:
                vals = [image[i, j, 0], image[i, j, 1], image[i, j, 2]]
            vals = [calc(v) if scale is None else calc(v) * scale for v in vals]
            if image.ndim == 2:
                out[i, j] = vals[0]
            else:
                out[i, j] = (vals[0] * c0 + vals[1] * c1) + vals[2] * c2
    return out


def gradient_histogram(gray: np.ndarray, orientations: int) -> np.ndarray:
    """Magnitude-weighted unsigned orientation histogram of one float32 gray image.

    The documented formula, pixel by pixel:

    * explicit reflect padding by one pixel;
    * ``gx`` = correlation with ``outer([1, 2, 1], [-1, 0, 1])`` (derivative along
      columns), ``gy`` = with its transpose (along rows); each summed in float64
      and stored as float32 (as scipy.ndimage.correlate does for a float32 image);
    * ``m = sqrt(gx**2 + gy**2) / 4``; ``theta = atan2(gy, gx)`` plus pi when negative;
    * ``bin = min(floor(theta * orientations / pi), orientations - 1)``;
    * the histogram of ``m`` per bin divided by the total (all zeros if it is 0).
    """
    H, W = gray.shape
    padded = np.empty((H + 2, W + 2), dtype=np.float64)
    for i in range(-1, H + 1):
        for j in range(-1, W + 1):
            padded[i + 1, j + 1] = float(gray[reflect_index(i, H), reflect_index(j, W)])
    smooth = (1.0, 2.0, 1.0)
    deriv = (-1.0, 0.0, 1.0)
    hist = [0.0] * orientations
    for i in range(H):
        for j in range(W):
            gx = 0.0
            gy = 0.0
            for di in range(3):
                for dj in range(3):
                    v = padded[i + di, j + dj]
                    gx += smooth[di] * deriv[dj] * v
                    gy += deriv[di] * smooth[dj] * v
            gx = float(np.float32(gx))
            gy = float(np.float32(gy))
            m = math.sqrt(gx * gx + gy * gy) / 4.0
            theta = math.atan2(gy, gx)
            if theta < 0:
                theta += math.pi
            b = min(int(math.floor(theta * orientations / math.pi)), orientations - 1)
            hist[b] += m
    total = sum(hist)
    out = np.zeros(orientations, dtype=np.float64)
    if total > 0:
        for b in range(orientations):
            out[b] = hist[b] / total
    return out


def _bin_of(value: float, nbins: int) -> int:
    """np.histogramdd's bin over [0, 1]: ``edges[k] <= v < edges[k + 1]``, 1.0 in the last."""
    edges = np.linspace(0.0, 1.0, nbins + 1)
    if value == edges[-1]:
        return nbins - 1
    for k in range(nbins):
        if edges[k] <= value < edges[k + 1]:
            return k
    raise ValueError(f"value {value!r} is outside [0, 1]")


def joint_histogram(values: np.ndarray, bins) -> np.ndarray:
    """Counts (prod(bins),) int64 of one (H, W, 3) image of values in [0, 1].

    Flat index ``(i0 * b1 + i1) * b2 + i2`` (row-major over the three channels).
    """
    b0, b1, b2 = bins
    counts = np.zeros(b0 * b1 * b2, dtype=np.int64)
    H, W = values.shape[:2]
    for i in range(H):
        for j in range(W):
            i0 = _bin_of(float(values[i, j, 0]), b0)
            i1 = _bin_of(float(values[i, j, 1]), b1)
            i2 = _bin_of(float(values[i, j, 2]), b2)
            counts[(i0 * b1 + i1) * b2 + i2] += 1
    return counts
