"""Edge and gradient ops: Sobel magnitude, Canny, gradient-orientation histogram."""

from __future__ import annotations

import numpy as np

from ..backend import resolve_backend, to_backend
from . import _dispatch
from ._checks import as_images, check_mode, check_out, check_real, dtype_max, float_dtype
from ._reference import canny_thresholds


def sobel(images, *, mode: str = "reflect", cval: float = 0.0, out=None,
          backend: str | None = None):
    """Sobel gradient magnitude of each (gray) image, as ``skimage.filters.sobel``.

    Parameters
    ----------
    images : array, (N, H, W, 3) RGB or (N, H, W) gray
        uint8/uint16, or float in [0, 1]; RGB is converted with
        :func:`rgb_to_gray` inside the same pass.
    mode : {"reflect", "constant", "nearest", "mirror", "wrap"}
        Border handling, as ``scipy.ndimage``; any image size >= 1x1 works.
    cval : float
        Value outside the image for ``mode="constant"`` (in [0, 1] units).
    out : ndarray, optional
        (N, H, W) float32 (float64 for float64 input), C-contiguous, where the
        backend computes: the result is written there and returned, so a loop
        over batches reuses one buffer instead of faulting in a fresh one.
    backend : {"numpy", "cpu", "cuda"}, optional

    Returns
    -------
    magnitude : (N, H, W) float32 (float64 for float64 input)
        ``sqrt((Gi**2 + Gj**2) / 2)`` with ``Gi``, ``Gj`` the 3x3 Sobel responses
        (weights [1, 2, 1] / 4 across, [1, 0, -1] along the axis). Unlike
        scikit-image < 0.19, borders are not zeroed.

    See Also
    --------
    skimage.filters.sobel : equal to 1e-6 on the gray image.
    cv2.Sobel : OpenCV's unnormalised kernels (a factor 1/(4 sqrt 2) apart).

    Notes
    -----
    The ``cpu`` kernel fuses RGB -> gray -> Sobel -> magnitude in one pass over
    the input (each task converts a strip of rows plus a halo into a
    cache-resident buffer); the ``cuda`` kernel does the same with a
    shared-memory tile, so a uint8 RGB batch is read once and the magnitude
    written once.
    """
    check_mode(mode)
    cval = check_real(cval, "cval")
    be = resolve_backend(backend, images)
    images = to_backend(as_images(images), be)
    out = check_out(out, images.shape[:3], float_dtype(images.dtype), be)
    if images.shape[0] == 0:
        return (out if out is not None
                else _dispatch.xp(be).empty(images.shape[:3], dtype=float_dtype(images.dtype)))
    return _dispatch.impl(be).sobel(images, mode, cval, out)


def canny(
    images,
    sigma: float = 1.0,
    low_threshold: float | None = None,
    high_threshold: float | None = None,
    use_quantiles: bool = False,
    mode: str = "constant",
    cval: float = 0.0,
    *,
    backend: str | None = None,
):
    """Canny edge map of each image, scikit-image 0.26's algorithm.

    Parameters
    ----------
    images : array, (N, H, W, 3) RGB or (N, H, W) gray
        RGB is converted with :func:`rgb_to_gray` first (as
        ``canny(rgb2gray(img))``).
    sigma : float, >= 0
        Standard deviation of the Gaussian (truncated at 4 sigma, as scipy).
    low_threshold, high_threshold : float, optional
        Hysteresis thresholds on the gradient magnitude. Defaults 0.1 and 0.2 (on
        the [0, 1] scale). Given values are in the input's units: divided by 255
        for a uint8 gray batch, as scikit-image divides by the dtype's maximum
        (RGB input is gray floats first, so not divided).
    use_quantiles : bool
        Thresholds are quantiles in [0, 1] of each image's magnitude.
    mode, cval :
        Border handling of the Gaussian (``"constant"`` divides by the smoothed
        ones image, as scikit-image does).
    backend : {"numpy", "cpu", "cuda"}, optional

    Returns
    -------
    edges : (N, H, W) bool

    Notes
    -----
    Steps: Gaussian smoothing, Sobel gradients (mode reflect), bilinear
    non-maximum suppression on the interior, hysteresis: weak pixels
    (>= low after suppression) 8-connected to a strong one (>= high) are kept.

    mmfeat computes in float32. On a float32 gray image the ``numpy`` and
    ``cpu`` backends reproduce ``skimage.feature.canny`` exactly (same roundings,
    including the Cython kernel's float/double mix); ``cuda`` may differ on a
    few pixels whose suppression test is a tie within the GPU's fused
    multiply-add rounding. From uint8 input scikit-image works in float64, so
    pixels whose magnitude equals a neighbour's, or a threshold, within float32
    rounding can go either way: on photographs >= 99% of edge pixels agree
    (the tests check it), the rest sit on such ties.

    See Also
    --------
    skimage.feature.canny, cv2.Canny
    """
    sigma = check_real(sigma, "sigma")
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}")
    if not isinstance(use_quantiles, (bool, np.bool_)):
        raise TypeError(f"use_quantiles must be a bool, got {use_quantiles!r}")
    for name, t in (("low_threshold", low_threshold), ("high_threshold", high_threshold)):
        if t is not None:
            t = check_real(t, name)
            if use_quantiles and not 0.0 <= t <= 1.0:
                raise ValueError(f"{name} must be in [0, 1] with use_quantiles=True, got {t}")
    check_mode(mode)
    cval = check_real(cval, "cval")
    be = resolve_backend(backend, images)
    images = to_backend(as_images(images), be)
    dmax = dtype_max(images.dtype) if images.ndim == 3 else 1.0
    low, high = canny_thresholds(low_threshold, high_threshold, use_quantiles, dmax)
    if high < low:
        raise ValueError(
            f"low_threshold ({low_threshold}) must not exceed high_threshold ({high_threshold})"
        )
    if images.shape[0] == 0:
        return _dispatch.xp(be).zeros(images.shape[:3], dtype=bool)
    return _dispatch.impl(be).canny(images, sigma, low, high, bool(use_quantiles), mode, cval)


def gradient_histogram(images, orientations: int = 9, *, backend: str | None = None):
    """Magnitude-weighted histogram of unsigned gradient orientation per image.

    Parameters
    ----------
    images : array, (N, H, W, 3) RGB or (N, H, W) gray
    orientations : int, >= 1
        Number of bins over [0, pi).
    backend : {"numpy", "cpu", "cuda"}, optional

    Returns
    -------
    hist : (N, orientations) float32, each row sums to 1 (all zeros for a flat image)

    Notes
    -----
    On the float32 gray image, with Sobel responses (mode reflect)
    ``gx`` along columns and ``gy`` along rows (image coordinates, y down)::

        m     = sqrt(gx**2 + gy**2) / 4
        theta = atan2(gy, gx) mod pi          in [0, pi)
        bin   = min(floor(theta * orientations / pi), orientations - 1)
        hist[b] = sum of m over pixels in bin b, divided by sum of m

    Hard binning (no interpolation between bins), one histogram for the whole
    image (no cells/blocks as HOG has).

    See Also
    --------
    skimage.feature.hog : cell/block-normalised, bilinearly interpolated.
    """
    if isinstance(orientations, (bool, np.bool_)) or not isinstance(
        orientations, (int, np.integer)
    ):
        raise TypeError(f"orientations must be an int, got {orientations!r}")
    if orientations < 1:
        raise ValueError(f"orientations must be >= 1, got {orientations}")
    be = resolve_backend(backend, images)
    images = to_backend(as_images(images), be)
    if images.shape[0] == 0:
        return _dispatch.xp(be).zeros((0, int(orientations)), dtype=np.float32)
    return _dispatch.impl(be).gradient_histogram(images, int(orientations))
