"""Edge and gradient ops: Sobel magnitude, Canny, gradient-orientation histogram."""

from __future__ import annotations

import numpy as np

from ..backend import resolve_backend, to_backend
from . import _dispatch
from ._checks import (
    anchor_dtype_max,
    as_image_batch,
    check_axis,
    check_mask,
    check_mode,
    check_out,
    check_real,
    check_values,
    erode_mask,
    float_dtype,
    unbatch,
)
from ._reference import canny_thresholds


def sobel(images, mask=None, *, axis=None, mode: str = "reflect", cval: float = 0.0, out=None,
          dtype=None, backend: str | None = None):
    """Sobel gradient magnitude of each (gray) image, as ``skimage.filters.sobel``.

    Parameters
    ----------
    images : array, (N, H, W, 3) RGB, (N, H, W) gray, or one gray image (H, W)
        Any real dtype, scaled as ``skimage.util.img_as_float`` (uint8 / 255,
        int16 / 32767 with negatives in [-1, 0], bool 0/1, ...); floats are used
        as they are, any range (Sobel is linear: depth maps, HDR), NaN and inf
        propagate. RGB is converted with :func:`rgb_to_gray` inside the same pass.
    mask : array of bool, (H, W) or (N, H, W), optional
        As scikit-image: the result is multiplied by the mask eroded with a 3x3
        square (border pixels and pixels next to a masked-out one become 0; NaN
        stays NaN, as ``result *= mask``). One (H, W) mask serves every image;
        (N, H, W) gives one per image. Nonzero means True.
    axis : int or sequence of int, optional
        None: the magnitude ``sqrt((sobel(axis=0)**2 + sobel(axis=1)**2) / 2)``.
        0: the signed derivative down the rows (horizontal edges, ``sobel_h``
        negated), 1: along the columns (``sobel_v``); -1 and -2 count from the
        end. A sequence gives ``sqrt(sum(sobel(axis=a)**2 for a in axis) / 2)``
        (one item: the signed response; empty: zeros), as scikit-image.
    mode : {"reflect", "constant", "nearest", "mirror", "wrap"}
        Border handling, as ``scipy.ndimage``; any image size >= 1x1 works.
    cval : float
        Value outside the image for ``mode="constant"`` (in the scaled units).
    out : ndarray, optional
        The result's shape and dtype, C-contiguous, where the backend computes:
        the result is written there and returned, so a loop over batches reuses
        one buffer instead of faulting in a fresh one.
    dtype : {None, float16, float32, float64}, optional
        The result's type (not in scikit-image). None: float32, float64 for
        float64 input. float16 halves the bytes written: the float32 result
        rounded once to float16 (the ``cuda`` kernel rounds in its store; the
        other backends, and float64 input, compute in the work type and cast).
    backend : {"numpy", "cpu", "cuda"}, optional

    Returns
    -------
    edges : (N, H, W) (or (H, W) for one 2-D image) ``dtype``; by default float32,
        float64 for float64 input. Unlike scikit-image (float64 for integer input), integer and bool
        input return float32 (mmfeat's dtype policy). Unlike scikit-image < 0.19,
        borders are not zeroed without a mask.

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
    written once. A single axis uses the same kernels; a sequence other than
    (0, 1) combines the two signed responses as scikit-image does.

    scikit-image 0.26 computes a different filter for a negative ``axis`` (it
    smooths twice along the last axis and never along the first); mmfeat reads
    -1 as 1 and -2 as 0, as NumPy does. A per-axis ``mode`` sequence is not
    supported (one mode for both axes).
    """
    check_mode(mode)
    cval = check_real(cval, "cval")
    axes = check_axis(axis)
    be = resolve_backend(backend, images)
    x, src_dt, single = as_image_batch(images)
    x = to_backend(x, be)
    shape = x.shape[:3]
    res_dt = _sobel_dtype(dtype, float_dtype(src_dt))
    out = check_out(out, shape[1:] if single else shape, res_dt, be)
    m = check_mask(mask, shape, be, single=single)
    out3 = out[None] if out is not None and single else out
    xp = _dispatch.xp(be)
    if shape[0] == 0:
        res = out3 if out3 is not None else xp.empty(shape, dtype=res_dt)
    else:
        res = _sobel_axes(be, x, axes, mode, cval, out3 if float_dtype(x.dtype) == res_dt else None,
                          res_dt)
        if res.dtype != res_dt or (out3 is not None and res is not out3):
            if out3 is None:
                res = res.astype(res_dt)
            else:
                out3[...] = res
                res = out3
    if m is not None:
        res *= erode_mask(m, xp)
    return out if out is not None else unbatch(res, single)


def _sobel_dtype(dtype, default):
    if dtype is None:
        return default
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be None, float16, float32 or float64, got {dtype!r}") from None
    if dt not in (np.float16, np.float32, np.float64):
        raise ValueError(f"dtype must be None, float16, float32 or float64, got {dt}")
    return dt


def _sobel_axes(be, x, axes, mode, cval, out, res_dt=None):
    """The kernels' magnitude or signed response; other axis sequences combined as
    scikit-image's ``_generic_edge_filter`` does (square, sum, sqrt, / sqrt(2)).
    A float16 ``res_dt`` from float32 work is rounded in the ``cuda`` kernel."""
    impl = _dispatch.impl(be)
    if (be == "cuda" and res_dt == np.float16 and float_dtype(x.dtype) == np.float32
            and (axes is None or sorted(axes) == [0, 1] or len(axes) == 1)):
        ax = -1 if axes is None or len(axes) == 2 else axes[0]
        return impl.sobel(x, mode, cval, None, ax, dtype=res_dt)
    if axes is None or sorted(axes) == [0, 1]:
        return impl.sobel(x, mode, cval, out, -1)
    if len(axes) == 1:
        return impl.sobel(x, mode, cval, out, axes[0])
    xp = _dispatch.xp(be)
    work = float_dtype(x.dtype)
    acc = xp.zeros(x.shape[:3], dtype=work) if out is None else out
    acc[...] = 0
    signed = {}
    for a in axes:
        if a not in signed:
            signed[a] = impl.sobel(x, mode, cval, None, a)
        acc += signed[a] * signed[a]
    if len(axes) > 1:
        xp.sqrt(acc, out=acc)
        acc /= xp.sqrt(xp.asarray(2, dtype=work))
    return acc


def canny(
    images,
    sigma: float = 1.0,
    low_threshold: float | None = None,
    high_threshold: float | None = None,
    mask=None,
    use_quantiles: bool = False,
    *,
    mode: str = "constant",
    cval: float = 0.0,
    out=None,
    backend: str | None = None,
):
    """Canny edge map of each image, scikit-image 0.26's algorithm.

    Parameters
    ----------
    images : array, (N, H, W, 3) RGB, (N, H, W) gray, or one gray image (H, W)
        Any real dtype but 64-bit integers (which scikit-image refuses too),
        scaled as ``skimage.util.img_as_float``; floats are used as they are,
        any range. RGB is converted with :func:`rgb_to_gray` first (as
        ``canny(rgb2gray(img))``).
    sigma : float, >= 0
        Standard deviation of the Gaussian (truncated at 4 sigma, as scipy).
    low_threshold, high_threshold : float, optional
        Hysteresis thresholds on the gradient magnitude. Defaults 0.1 and 0.2 (of
        the scaled image's units). Given values are in the input's units:
        divided by the dtype's maximum for an integer gray batch (255 for uint8,
        32767 for int16, ...), as scikit-image does; by 1 for floats and bool
        (RGB input is gray floats first, so not divided).
    mask : array of bool, (H, W) or (N, H, W), optional
        Limit the detection to a region, as scikit-image: the image is zeroed
        outside the mask, smoothed, divided by the smoothed mask (in every
        ``mode``), and only pixels of the mask eroded by a 3x3 square can be
        edges. One (H, W) mask for every image, or one per image.
    use_quantiles : bool
        Thresholds are quantiles in [0, 1] of each image's magnitude.
    mode, cval :
        Border handling of the Gaussian (``"constant"`` divides by the smoothed
        ones image, as scikit-image does). Keyword-only, as in scikit-image.
    out : bool array of the result's shape, optional
        Written and returned instead of a new array (C-contiguous; NumPy for
        ``numpy``/``cpu``, CuPy for ``cuda``). A loop over batches that reuses one
        saves the first-touch page faults of a fresh output.
    backend : {"numpy", "cpu", "cuda"}, optional

    Returns
    -------
    edges : (N, H, W) bool ((H, W) for one 2-D image)

    Notes
    -----
    Steps: Gaussian smoothing, Sobel gradients (mode reflect), bilinear
    non-maximum suppression on the interior, hysteresis: weak pixels
    (>= low after suppression) 8-connected to a strong one (>= high) are kept.

    mmfeat computes in float32. On a float32 gray image the ``numpy`` and
    ``cpu`` backends reproduce ``skimage.feature.canny`` exactly (same roundings,
    including the Cython kernel's float/double mix); ``cuda`` may differ on a
    few pixels whose suppression test is a tie within the GPU's fused
    multiply-add rounding. From integer input scikit-image works in float64, so
    pixels whose magnitude equals a neighbour's, or a threshold, within float32
    rounding can go either way: on photographs >= 99% of edge pixels agree
    (the tests check it), the rest sit on such ties. NaN input gives no edges
    where it reaches (and none at all with ``use_quantiles``), as scikit-image.

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
    x, src_dt, single = as_image_batch(images, int64=False)
    x = to_backend(x, be)
    dmax = anchor_dtype_max(src_dt) if x.ndim == 3 else 1.0
    low, high = canny_thresholds(low_threshold, high_threshold, use_quantiles, dmax)
    if high < low:
        raise ValueError(
            f"low_threshold ({low_threshold}) must not exceed high_threshold ({high_threshold})"
        )
    m = check_mask(mask, x.shape[:3], be, single=single)
    out = check_out(out, x.shape[1:3] if single else x.shape[:3], np.dtype(bool), be)
    out3 = out[None] if out is not None and single else out
    if x.shape[0] == 0:
        return out if out is not None else _dispatch.xp(be).zeros(x.shape[:3], dtype=bool)
    edges = _dispatch.impl(be).canny(x, sigma, low, high, bool(use_quantiles), mode, cval, m,
                                     out=out3)
    return out if out is not None else unbatch(edges, single)


def gradient_histogram(images, orientations: int = 9, *, backend: str | None = None):
    """Magnitude-weighted histogram of unsigned gradient orientation per image.

    Parameters
    ----------
    images : array, (N, H, W, 3) RGB, (N, H, W) gray, or one gray image (H, W)
        Any real dtype, scaled as ``skimage.util.img_as_float``; finite values
        of any range (the histogram is normalised, so the scale cancels).
    orientations : int, >= 1
        Number of bins over [0, pi).
    backend : {"numpy", "cpu", "cuda"}, optional

    Returns
    -------
    hist : (N, orientations) float32 ((orientations,) for one 2-D image), each row
        sums to 1 (all zeros for a flat image)

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
    images, _, single = as_image_batch(images)
    images = to_backend(check_values(images, unit_range=False), be)
    if images.shape[0] == 0:
        return _dispatch.xp(be).zeros((0, int(orientations)), dtype=np.float32)
    return unbatch(_dispatch.impl(be).gradient_histogram(images, int(orientations)), single)
