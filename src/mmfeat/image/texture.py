"""Texture descriptors on image batches: local binary patterns and gray-level
co-occurrence matrices, as ``skimage.feature``."""

from __future__ import annotations

import warnings

import numpy as np

from ..backend import get_array_module, resolve_backend, to_backend
from . import _dispatch
from ._checks import check_real
from ._reference import GLCM_PROPS, LBP_METHODS, glcm_offsets, lbp_n_bins
from .hog import as_real_images

#: the largest P per LBP method: default and ror build the code in int32 weights as
#: scikit-image does (2**31 overflows there), the others keep P bits in an int64
LBP_MAX_P = {"default": 31, "ror": 31, "uniform": 62, "nri_uniform": 62, "var": 62}
#: the largest number of gray levels graycomatrix counts (levels**2 counts per pair)
GLCM_MAX_LEVELS = 65536


class MethodError(KeyError, ValueError):
    """An unknown LBP ``method``: a KeyError as scikit-image raises (its look-up
    ``methods[method.lower()]``), and a ValueError as the rest of mmfeat."""

    def __str__(self):
        return str(self.args[0]) if self.args else ""


def _batch(images, argname="images"):
    images = as_real_images(images, argname)
    if images.ndim != 3:
        raise ValueError(f"The parameter `{argname}` must be a gray batch (N, H, W) "
                         f"(3-dimensional), got shape {images.shape}; pass one image as x[None]")
    if images.shape[1] == 0 or images.shape[2] == 0:
        raise ValueError(f"The parameter `{argname}` cannot be an empty array: "
                         f"image size {images.shape[1:]}")
    return images


def _lbp_args(images, P, R, method):
    if not isinstance(method, str):
        raise TypeError(f"method must be a str, got {method!r}")
    name = method.lower()
    if name not in LBP_METHODS:
        raise MethodError(f"method must be one of {LBP_METHODS}, got {method!r}")
    if isinstance(P, (bool, np.bool_)) or not isinstance(P, (int, np.integer)):
        raise TypeError(f"P must be an int, got {P!r}")
    if not 1 <= P <= LBP_MAX_P[name]:
        raise ValueError(f"P must be in [1, {LBP_MAX_P[name]}] for method {name!r}, got {P}")
    R = check_real(R, "R")
    images = _batch(images)
    if images.dtype.kind == "f":
        warnings.warn(
            "Applying `local_binary_pattern` to floating-point images may give unexpected "
            "results when small numerical differences between adjacent pixels are present. "
            "It is recommended to use this function with images of integer dtype.",
            UserWarning, stacklevel=3)
    # scikit-image works on float64 (uint8 is read as float64 by the kernels) and
    # passes R through a C float
    if images.dtype != np.uint8:
        images = images.astype(np.float64)
    return images, int(P), float(R), name


def local_binary_pattern(images, P, R, method: str = "default", *, backend: str | None = None):
    """Local binary pattern of each gray image, as ``skimage.feature.local_binary_pattern``.

    Parameters
    ----------
    images : array, (N, H, W)
        Gray batch, any real dtype (integer images recommended, as scikit-image
        warns for floats with a UserWarning).
    P : int
        Number of circle points, 1 <= P <= 31 for "default" and "ror", <= 62 otherwise.
    R : float
        Circle radius (float64, as scikit-image 0.26 takes it).
    method : {"default", "ror", "uniform", "nri_uniform", "var"}
        Case-insensitive.
    backend : {"numpy", "cpu", "cuda"}, optional

    Returns
    -------
    lbp : (N, H, W) float64

    Notes
    -----
    The circle point i sits at (r - R sin(2 pi i / P), c + R cos(2 pi i / P)),
    offsets rounded to 5 decimals, bilinearly interpolated with zeros outside the
    image; its bit is ``sample - centre >= 0``. Every step repeats scikit-image's
    float64 operations in its order (offsets, interpolation weights per row and
    column, the variance sums), so all methods agree exactly, ties included.
    scikit-image accepts P < 1 and P > 31 for default/ror (silently overflowing its
    int32 weights); mmfeat raises ValueError there. An unknown method raises
    :class:`MethodError`, which is a KeyError (as scikit-image's) and a ValueError.

    See Also
    --------
    skimage.feature.local_binary_pattern, lbp_histogram
    """
    be = resolve_backend(backend, images)
    images, P, R, method = _lbp_args(images, P, R, method)
    images = to_backend(images, be)
    if images.shape[0] == 0:
        return _dispatch.xp(be).zeros(images.shape, dtype=np.float64)
    return _dispatch.impl(be).local_binary_pattern(images, P, R, method)


def lbp_histogram(images, P, R, method: str = "uniform", *, normalize: bool = True,
                  backend: str | None = None):
    """Histogram of each image's LBP values, without storing the LBP images.

    Parameters
    ----------
    images, P, R :
        As :func:`local_binary_pattern`.
    method : {"uniform", "nri_uniform", "default", "ror"}
        ("var" has no integer values to count.)
    normalize : bool
        Divide the counts by H * W (each row sums to 1).
    backend : {"numpy", "cpu", "cuda"}, optional

    Returns
    -------
    hist : (N, n_bins) float64 (int64 counts when ``normalize=False``), with
        n_bins = P + 2 (uniform), P * (P - 1) + 3 (nri_uniform), 2**P (default,
        ror; P <= 24 here).

    Notes
    -----
    Equal to ``np.bincount(local_binary_pattern(x, P, R, method).astype(int).ravel(),
    minlength=n_bins) / x.size`` per image.
    """
    if isinstance(method, str) and method.lower() == "var":
        raise ValueError("method='var' gives real values, not codes: lbp_histogram needs "
                         "'uniform', 'nri_uniform', 'default' or 'ror'")
    if not isinstance(normalize, (bool, np.bool_)):
        raise TypeError(f"normalize must be a bool, got {normalize!r}")
    be = resolve_backend(backend, images)
    images, P, R, method = _lbp_args(images, P, R, method)
    if method in ("default", "ror") and P > 24:
        raise ValueError(f"P must be <= 24 for an lbp_histogram of method {method!r} "
                         f"(2**P bins), got {P}")
    images = to_backend(images, be)
    nb = lbp_n_bins(P, method)
    if images.shape[0] == 0:
        return _dispatch.xp(be).zeros((0, nb), dtype=np.float64 if normalize else np.int64)
    return _dispatch.impl(be).lbp_histogram(images, P, R, method, bool(normalize))


def _vector(values, argname):
    arr = np.asarray(values.get() if hasattr(values, "get") else values)
    if arr.size == 0:
        raise ValueError(f"The parameter `{argname}` cannot be an empty array")
    if arr.ndim != 1:
        raise ValueError(f"The parameter `{argname}` must be a 1-dimensional array, "
                         f"got shape {arr.shape}")
    try:
        arr = np.ascontiguousarray(arr, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{argname} must be real numbers: {exc}") from exc
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{argname} must be finite, got {arr.tolist()}")
    return arr


def graycomatrix(images, distances, angles, levels=None, symmetric: bool = False,
                 normed: bool = False, *, backend: str | None = None):
    """Gray-level co-occurrence matrices of each image, as ``skimage.feature.graycomatrix``.

    Parameters
    ----------
    images : array, (N, H, W) of an integer dtype
        Values in [0, levels). uint8 and int8 may omit ``levels`` (256).
    distances : 1-D array of float
        Pair distances in pixels.
    angles : 1-D array of float
        Pair angles in radians.
    levels : int, optional
        Number of gray levels, required for dtypes other than uint8/int8;
        at most 65536.
    symmetric : bool
        Count each pair both ways (P + P transposed).
    normed : bool
        Divide each matrix by its sum (0 sums stay 0).
    backend : {"numpy", "cpu", "cuda"}, optional

    Returns
    -------
    P : (N, levels, levels, n_dist, n_angle)
        uint32 counts, float64 when ``normed``. ``P[n, i, j, d, a]`` counts the
        pixels of value i whose neighbour at offset (round(sin(angle) * distance),
        round(cos(angle) * distance)) (rows, columns; rounding half away from zero)
        has value j.

    Raises
    ------
    ValueError
        As scikit-image: float images, a missing ``levels`` for other dtypes than
        uint8/int8, negative values, a value >= levels, distances or angles not 1-D
        or empty; mmfeat also rejects non-finite distances and angles and more
        than 65536 levels.
    TypeError
        bool or complex images (scikit-image fails in its Cython loop), non-int levels.

    See Also
    --------
    skimage.feature.graycomatrix, graycoprops
    """
    be = resolve_backend(backend, images)
    images = _batch(images)
    distances = _vector(distances, "distances")
    angles = _vector(angles, "angles")
    if images.dtype.kind == "f":
        raise ValueError("Float images are not supported by graycomatrix. "
                         "Convert the image to an unsigned integer type.")
    if images.dtype.kind == "b":
        raise TypeError("images must have an integer dtype, got bool "
                        "(cast with .astype(np.uint8))")
    if images.dtype not in (np.uint8, np.int8) and levels is None:
        raise ValueError("The levels argument is required for data types other than uint8. "
                         "The resulting matrix will be at least levels ** 2 in size.")
    xp = get_array_module(images)
    if images.dtype.kind == "i" and images.size and bool(xp.any(images < 0)):
        raise ValueError("Negative-valued images are not supported.")
    if levels is None:
        levels = 256
    if isinstance(levels, (bool, np.bool_)) or not isinstance(levels, (int, np.integer)):
        raise TypeError(f"levels must be an int, got {levels!r}")
    levels = int(levels)
    if levels > GLCM_MAX_LEVELS:
        raise ValueError(f"levels must be <= {GLCM_MAX_LEVELS}, got {levels}")
    if images.size and int(images.max()) >= levels:
        raise ValueError("The maximum grayscale value in the image should be smaller than "
                         "the number of levels.")
    if levels < 1:
        raise ValueError(f"levels must be >= 1, got {levels}")
    store = np.uint8 if levels <= 256 else np.uint16
    if images.dtype != store:
        images = images.astype(store)
    images = to_backend(images, be)
    offsets = glcm_offsets(distances, angles)
    nd, na = distances.size, angles.size
    if images.shape[0] == 0:
        return _dispatch.xp(be).zeros((0, levels, levels, nd, na),
                                      dtype=np.float64 if normed else np.uint32)
    return _dispatch.impl(be).graycomatrix(images, offsets, nd, na, levels, bool(symmetric),
                                           bool(normed))


def graycoprops(P, prop: str = "contrast", *, backend: str | None = None):
    """A texture property of each co-occurrence matrix, as ``skimage.feature.graycoprops``.

    Parameters
    ----------
    P : array, (N, levels, levels, n_dist, n_angle)
        Counts or normalised matrices (:func:`graycomatrix`); normalised again here.
    prop : {"contrast", "dissimilarity", "homogeneity", "ASM", "energy",
            "correlation", "mean", "variance", "std", "entropy"}
        scikit-image 0.26's properties, with its formulas (p = P / sum P):
        contrast sum p (i-j)**2, dissimilarity sum p |i-j|, homogeneity
        sum p / (1 + (i-j)**2), ASM sum p**2, energy sqrt(ASM), mean sum i p,
        variance sum p (i - mean)**2, std sqrt(variance), entropy -sum p ln p,
        correlation cov / (std_i std_j) (1 where a std is below 1e-15).
    backend : {"numpy", "cpu", "cuda"}, optional

    Returns
    -------
    results : (N, n_dist, n_angle) float64

    Notes
    -----
    Equal to scikit-image within 1e-12 relative on real matrices (the sums are
    taken in another order; the tests check 1e-6).
    """
    be = resolve_backend(backend, P)
    P = as_real_images(P, "P")
    if P.ndim != 5:
        raise ValueError(f"The parameter `P` must be a 5-dimensional array (N, levels, levels, "
                         f"n_dist, n_angle), got shape {P.shape}; pass one matrix as P[None]")
    _, L, L2, nd, na = P.shape
    if L != L2:
        raise ValueError("num_level and num_level2 must be equal.")
    if nd <= 0:
        raise ValueError("num_dist must be positive.")
    if na <= 0:
        raise ValueError("num_angle must be positive.")
    if prop not in GLCM_PROPS:
        raise ValueError(f"{prop} is an invalid property")
    if P.dtype != np.uint32:
        P = P.astype(np.float64, copy=False)
    P = to_backend(P, be)
    if P.shape[0] == 0:
        return _dispatch.xp(be).zeros((0, nd, na), dtype=np.float64)
    return _dispatch.impl(be).graycoprops(P, prop)


__all__ = ["local_binary_pattern", "lbp_histogram", "graycomatrix", "graycoprops",
           "MethodError"]
