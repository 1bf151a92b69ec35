"""Colour ops: gray, HSV, joint colour histograms, colour moments."""

from __future__ import annotations

import numpy as np

from ..backend import resolve_backend, to_backend
from . import _dispatch
from ._checks import as_images, check_bins, check_dtype, check_out, float_dtype


def rgb_to_gray(images, *, dtype=None, out=None, backend: str | None = None):
    """Luminance of each image, as ``skimage.color.rgb2gray`` per image.

    Parameters
    ----------
    images : array, (N, H, W, 3) RGB or (N, H, W) gray
        uint8/uint16, or float in [0, 1]. A gray batch is returned as floats.
    dtype : {None, float32, float64, uint8}, optional
        Output type. None: float32 (float64 for float64 input). uint8:
        ``skimage.util.img_as_ubyte(rgb2gray(img))``, the gray value times 255
        rounded half to even, for those who want OpenCV's output type (OpenCV's
        own weights differ: 0.299/0.587/0.114).
    out : ndarray, optional
        (N, H, W) array of the output dtype, C-contiguous, where the backend
        computes (NumPy; CuPy for cuda): the result is written there and returned.
        A loop over batches that reuses one buffer skips the page faults of a
        fresh output, which cost more than the conversion itself.
    backend : {"numpy", "cpu", "cuda"}, optional

    Returns
    -------
    gray : (N, H, W) of ``dtype``
        ``0.2125 R + 0.7154 G + 0.0721 B`` on values scaled to [0, 1] (0..255 for uint8).

    See Also
    --------
    skimage.color.rgb2gray : the anchor; agrees to 1e-6 (scikit-image computes
        uint8 input in float64, mmfeat too, and rounds to float32 at the end).
        uint8 output equals ``img_as_ubyte(rgb2gray(img))`` on photographs (a
        value 255 g landing exactly between two integers could round apart).
    cv2.cvtColor : ``COLOR_RGB2GRAY`` (other weights; uint8).

    Examples
    --------
    >>> import numpy as np, mmfeat
    >>> g = mmfeat.image.rgb_to_gray(np.full((2, 4, 4, 3), 255, np.uint8))
    >>> g.shape, g.dtype, bool(abs(g[0, 0, 0] - 1) < 1e-6)
    ((2, 4, 4), dtype('float32'), True)
    >>> mmfeat.image.rgb_to_gray(np.full((1, 2, 2, 3), 200, np.uint8), dtype=np.uint8)[0, 0]
    array([200, 200], dtype=uint8)
    """
    be = resolve_backend(backend, images)
    images = to_backend(as_images(images), be)
    dt = check_dtype(dtype, float_dtype(images.dtype))
    out = check_out(out, images.shape[:3], dt, be)
    if images.shape[0] == 0:
        return out if out is not None else _dispatch.xp(be).empty(images.shape[:3], dtype=dt)
    return _dispatch.impl(be).rgb_to_gray(images, dt, out)


def rgb_to_hsv(images, *, dtype=None, out=None, backend: str | None = None):
    """Hue, saturation and value of each image, as ``skimage.color.rgb2hsv``.

    Parameters
    ----------
    images : array, (N, H, W, 3)
        uint8/uint16, or float in [0, 1].
    dtype : {None, float32, float64, uint8}, optional
        Output type. None: float32 (float64 for float64 input). uint8:
        ``skimage.util.img_as_ubyte(rgb2hsv(img))``, each channel times 255 rounded
        half to even (OpenCV's uint8 HSV differs: hue in 0..179).
    out : ndarray, optional
        (N, H, W, 3) array of the output dtype where the backend computes; the
        result is written there and returned (see :func:`rgb_to_gray`).
    backend : {"numpy", "cpu", "cuda"}, optional

    Returns
    -------
    hsv : (N, H, W, 3) of ``dtype``, every channel in [0, 1] (0..255 for uint8)

    Notes
    -----
    Computed with scikit-image's operations in scikit-image's type (float64 for
    integer input) and rounded to float32 at the end, so it equals
    ``rgb2hsv(img).astype(np.float32)``. Hue of gray pixels (max == min) is 0.

    See Also
    --------
    skimage.color.rgb2hsv, cv2.cvtColor
    """
    be = resolve_backend(backend, images)
    images = to_backend(as_images(images, rgb=True), be)
    dt = check_dtype(dtype, float_dtype(images.dtype))
    out = check_out(out, images.shape, dt, be)
    if images.shape[0] == 0:
        return out if out is not None else _dispatch.xp(be).empty(images.shape, dtype=dt)
    return _dispatch.impl(be).rgb_to_hsv(images, dt, out)


def color_histogram(
    images, bins=(8, 8, 8), space: str = "hsv", normalize: bool = True,
    *, backend: str | None = None,
):
    """Joint 3-D colour histogram of each image, flattened.

    Parameters
    ----------
    images : array, (N, H, W, 3)
        uint8/uint16, or float in [0, 1].
    bins : int or (int, int, int), default (8, 8, 8)
        Bins per channel (H, S, V or R, G, B), each >= 1.
    space : {"hsv", "rgb"}
    normalize : bool
        True: each row sums to 1 (float32). False: pixel counts (int64).
    backend : {"numpy", "cpu", "cuda"}, optional

    Returns
    -------
    hist : (N, prod(bins))
        Row-major over (c0, c1, c2): index ``(i0 * b1 + i1) * b2 + i2``.

    Notes
    -----
    Equals ``np.histogramdd(x.reshape(-1, 3), bins, range=[(0, 1)] * 3)`` per
    image, where ``x`` is the image scaled to [0, 1] (``rgb``) or
    ``skimage.color.rgb2hsv(image)`` (``hsv``): bin k holds
    ``edges[k] <= x < edges[k+1]`` with ``np.linspace`` edges and 1.0 in the last
    bin. Exact: the kernels bin each value with the same edges, and compute HSV
    with scikit-image's operations in its float type.

    The ``cpu`` kernel makes one pass over the pixels: convert, bin and count,
    with per-task private histograms; the ``cuda`` kernel keeps one histogram per
    block in shared memory.

    See Also
    --------
    numpy.histogramdd, cv2.calcHist
    """
    bins = check_bins(bins)
    if space not in ("hsv", "rgb"):
        raise ValueError(f"space must be 'hsv' or 'rgb', got {space!r}")
    if not isinstance(normalize, (bool, np.bool_)):
        raise TypeError(f"normalize must be a bool, got {normalize!r}")
    be = resolve_backend(backend, images)
    images = to_backend(as_images(images, rgb=True), be)
    if images.shape[0] == 0:
        dt = np.float32 if normalize else np.int64
        return _dispatch.xp(be).zeros((0, int(np.prod(bins))), dtype=dt)
    return _dispatch.impl(be).color_histogram(images, bins, space, bool(normalize))


def color_moments(images, *, backend: str | None = None):
    """Mean, standard deviation and skewness of each colour channel.

    Parameters
    ----------
    images : array, (N, H, W, 3) or (N, H, W)
        uint8/uint16, or float in [0, 1]; a gray image repeats its one channel.

    Returns
    -------
    moments : (N, 9) float32
        ``[mean_r, mean_g, mean_b, std_r, std_g, std_b, skew_r, skew_g, skew_b]``
        over pixels in [0, 1]; population std (ddof=0); skewness is
        ``E[(x - mean)^3] / std^3`` and 0 for a constant channel
        (``scipy.stats.skew(bias=True)`` otherwise). Accumulated in float64.
    """
    be = resolve_backend(backend, images)
    images = to_backend(as_images(images), be)
    if images.shape[0] == 0:
        return _dispatch.xp(be).zeros((0, 9), dtype=np.float32)
    return _dispatch.impl(be).color_moments(images)
