"""Colour ops: gray, HSV, joint colour histograms, colour moments."""

from __future__ import annotations

import numpy as np

from ..backend import resolve_backend, to_backend
from . import _dispatch
from ._checks import (
    as_image_batch,
    check_bins,
    check_dtype,
    check_out,
    check_ubyte_range,
    check_values,
    float_dtype,
    gray_calc_type,
    unbatch,
    value_range,
)


def _needs_ubyte_check(x) -> bool:
    """uint8 output of a float batch that is not all in [0, 1] (or holds NaN): the
    float result is computed first, checked as img_as_ubyte checks it, then stored."""
    if x.dtype.kind != "f" or not x.size:
        return False
    lo, hi = value_range(x)
    return not (lo >= 0.0 and hi <= 1.0)


def _to_ubyte(values, out, xp):
    """``img_as_ubyte`` of a float result (refusing values outside [-1, 1]); NaN -> 0,
    what NumPy's cast gives on x86. Into ``out`` when given."""
    check_ubyte_range(values, "images")
    v = xp.multiply(values, 255, dtype=values.dtype)
    v = xp.where(xp.isnan(v), 0, xp.clip(xp.rint(v), 0, 255)).astype(np.uint8)
    if out is None:
        return v
    out[...] = v
    return out



def rgb_to_gray(images, *, dtype=None, out=None, backend: str | None = None):
    """Luminance of each image, as ``skimage.color.rgb2gray`` per image.

    Parameters
    ----------
    images : array, (N, H, W, 3) RGB, (N, H, W) gray, or one gray image (H, W)
        Any real dtype, scaled as ``skimage.util.img_as_float`` (uint8 / 255,
        int16 / 32767 with negatives in [-1, 0], bool 0/1, ...); floats are used
        as they are, any range, NaN propagating (as ``rgb2gray``). A gray batch
        is returned as floats.
    dtype : {None, float32, float64, uint8}, optional
        Output type. None: float32 (float64 for float64 input). uint8:
        ``skimage.util.img_as_ubyte(rgb2gray(img))``, the gray value times 255
        rounded half to even, negatives clipped to 0, for those who want
        OpenCV's output type (OpenCV's own weights differ: 0.299/0.587/0.114).
        As img_as_ubyte, a gray value outside [-1, 1] raises ValueError; NaN
        becomes 0.
    out : ndarray, optional
        (N, H, W) array of the output dtype, C-contiguous, where the backend
        computes (NumPy; CuPy for cuda): the result is written there and returned.
        A loop over batches that reuses one buffer skips the page faults of a
        fresh output, which cost more than the conversion itself.
    backend : {"numpy", "cpu", "cuda"}, optional

    Returns
    -------
    gray : (N, H, W) of ``dtype`` ((H, W) for one 2-D image)
        ``0.2125 R + 0.7154 G + 0.0721 B`` on the scaled values (0..255 for uint8).

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
    x, src_dt, single = as_image_batch(images)
    x = to_backend(x, be)
    dt = check_dtype(dtype, float_dtype(src_dt))
    shape = x.shape[:3]
    out = check_out(out, shape[1:] if single else shape, dt, be)
    out3 = out[None] if out is not None and single else out
    xp = _dispatch.xp(be)
    if shape[0] == 0:
        res = out3 if out3 is not None else xp.empty(shape, dtype=dt)
    elif dt == np.uint8 and _needs_ubyte_check(x):
        g = _dispatch.impl(be).rgb_to_gray(x, gray_calc_type(x.dtype), None)
        res = _to_ubyte(g, out3, xp)
    else:
        res = _dispatch.impl(be).rgb_to_gray(x, dt, out3)
    return out if out is not None else unbatch(res, single)


def rgb_to_hsv(images, *, dtype=None, out=None, backend: str | None = None):
    """Hue, saturation and value of each image, as ``skimage.color.rgb2hsv``.

    Parameters
    ----------
    images : array, (N, H, W, 3)
        Any real dtype, scaled as ``skimage.util.img_as_float``; floats are used
        as they are, any range (as ``rgb2hsv``: S = delta / V can leave [0, 1]).
    dtype : {None, float32, float64, uint8}, optional
        Output type. None: float32 (float64 for float64 input). uint8:
        ``skimage.util.img_as_ubyte(rgb2hsv(img))``, each channel times 255 rounded
        half to even (OpenCV's uint8 HSV differs: hue in 0..179); as img_as_ubyte,
        a channel value outside [-1, 1] raises ValueError.
    out : ndarray, optional
        (N, H, W, 3) array of the output dtype where the backend computes; the
        result is written there and returned (see :func:`rgb_to_gray`).
    backend : {"numpy", "cpu", "cuda"}, optional

    Returns
    -------
    hsv : (N, H, W, 3) of ``dtype``, every channel in [0, 1] for input in [0, 1]
        (0..255 for uint8)

    Notes
    -----
    Computed with scikit-image's operations in scikit-image's type (float64 for
    integer input) and rounded to float32 at the end, so it equals
    ``rgb2hsv(img).astype(np.float32)``. Hue of gray pixels (max == min) is 0.
    As scikit-image, NaN results (inf / inf) are set to 0; a pixel with a NaN
    channel is (0, 0, 0) (scikit-image leaves its hue uninitialised).

    See Also
    --------
    skimage.color.rgb2hsv, cv2.cvtColor
    """
    be = resolve_backend(backend, images)
    x, src_dt, _ = as_image_batch(images, rgb=True)
    x = to_backend(x, be)
    dt = check_dtype(dtype, float_dtype(src_dt))
    out = check_out(out, x.shape, dt, be)
    if x.shape[0] == 0:
        return out if out is not None else _dispatch.xp(be).empty(x.shape, dtype=dt)
    if dt == np.uint8 and _needs_ubyte_check(x):
        calc = np.dtype(np.float64) if x.dtype == np.float64 else np.dtype(np.float32)
        hsv = _dispatch.impl(be).rgb_to_hsv(x, calc, None)
        return _to_ubyte(hsv, out, _dispatch.xp(be))
    return _dispatch.impl(be).rgb_to_hsv(x, dt, out)


def color_histogram(
    images, bins=(8, 8, 8), space: str = "hsv", normalize: bool = True,
    *, backend: str | None = None,
):
    """Joint 3-D colour histogram of each image, flattened.

    Parameters
    ----------
    images : array, (N, H, W, 3)
        Any real dtype, scaled as ``skimage.util.img_as_float``; the scaled
        values must lie in [0, 1] (floats outside it, negative signed integers,
        NaN and inf raise ValueError: the histogram covers [0, 1]^3).
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
    images, _, _ = as_image_batch(images, rgb=True)
    images = to_backend(check_values(images), be)
    if images.shape[0] == 0:
        dt = np.float32 if normalize else np.int64
        return _dispatch.xp(be).zeros((0, int(np.prod(bins))), dtype=dt)
    return _dispatch.impl(be).color_histogram(images, bins, space, bool(normalize))


def color_moments(images, *, backend: str | None = None):
    """Mean, standard deviation and skewness of each colour channel.

    Parameters
    ----------
    images : array, (N, H, W, 3), (N, H, W) or one gray image (H, W)
        Any real dtype, scaled as ``skimage.util.img_as_float``; finite values
        of any range (NaN and inf raise ValueError); a gray image repeats its
        one channel.

    Returns
    -------
    moments : (N, 9) float32 ((9,) for one 2-D image)
        ``[mean_r, mean_g, mean_b, std_r, std_g, std_b, skew_r, skew_g, skew_b]``
        over pixels in [0, 1]; population std (ddof=0); skewness is
        ``E[(x - mean)^3] / std^3`` and 0 for a constant channel
        (``scipy.stats.skew(bias=True)`` otherwise). Accumulated in float64.
    """
    be = resolve_backend(backend, images)
    images, _, single = as_image_batch(images)
    images = to_backend(check_values(images, unit_range=False), be)
    if images.shape[0] == 0:
        return _dispatch.xp(be).zeros((0, 9), dtype=np.float32)
    return unbatch(_dispatch.impl(be).color_moments(images), single)
