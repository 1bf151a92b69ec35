"""Histogram of oriented gradients on image batches, as ``skimage.feature.hog``."""

from __future__ import annotations

import numpy as np

from ..backend import get_array_module, is_cupy_array, resolve_backend, to_backend
from . import _dispatch
from ._reference import HOG_NORMS


def _int_at_least(value, argname: str, low: int = 1) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{argname} must be an int, got {value!r}")
    if value < low:
        raise ValueError(f"{argname} must be >= {low}, got {value}")
    return int(value)


def _pair(value, argname: str) -> tuple[int, int]:
    try:
        items = tuple(value)
    except TypeError:
        raise TypeError(f"{argname} must be a pair of ints, got {value!r}") from None
    if len(items) != 2:
        raise ValueError(f"{argname} must be a pair of ints, got {value!r}")
    return (_int_at_least(items[0], f"{argname}[0]"), _int_at_least(items[1], f"{argname}[1]"))


def as_real_images(images, argname: str = "images"):
    """Any real-valued batch (bool, integers, floats; values as they are, since
    scikit-image's descriptors do not rescale): C-contiguous, NumPy or CuPy as given."""
    xp = get_array_module(images)
    if not is_cupy_array(images):
        if isinstance(images, (str, bytes)) or images is None:
            raise TypeError(f"{argname} must be an array of images, got {type(images).__name__}")
        try:
            images = np.asarray(images)
        except Exception as exc:
            raise TypeError(f"{argname} could not be read as an array: {exc}") from exc
    if images.dtype.kind not in "buif":
        raise TypeError(f"{argname} must have a real dtype (bool, integer or float), "
                        f"got {images.dtype}")
    return xp.ascontiguousarray(images)


def hog_storage(images):
    """(batch in the kernels' storage type, work float type).

    scikit-image casts to ``_supported_float_type`` without rescaling: float32 for
    float16/float32, float64 for everything else. uint8 is kept (exact as float64 in
    the kernel); other integers and bool are stored as float64, float16 as float32.
    """
    dt = images.dtype
    work = np.dtype(np.float32) if dt in (np.float16, np.float32) else np.dtype(np.float64)
    if dt == np.uint8 or dt == work:
        return images, work
    return images.astype(work), work


def hog(
    images,
    orientations: int = 9,
    pixels_per_cell=(8, 8),
    cells_per_block=(3, 3),
    block_norm: str = "L2-Hys",
    visualize: bool = False,
    transform_sqrt: bool = False,
    feature_vector: bool = True,
    *,
    channel_axis=None,
    backend: str | None = None,
):
    """Histogram of Oriented Gradients of each image, as ``skimage.feature.hog``.

    Parameters
    ----------
    images : array, (N, H, W) gray, or (N, H, W, C) with ``channel_axis=-1``
        Any real dtype; values are used as they are (scikit-image does not rescale
        integers either: a uint8 image votes with gradients in 0..255 units).
    orientations : int, >= 1
        Number of orientation bins over [0, 180) degrees.
    pixels_per_cell : (int, int)
        Cell size (rows, columns). Pixels beyond the last whole cell are ignored.
    cells_per_block : (int, int)
        Block size in cells; blocks slide by one cell.
    block_norm : {"L1", "L1-sqrt", "L2", "L2-Hys"}
        Block normalisation (eps = 1e-5 as scikit-image).
    visualize : bool
        Must be False: the HOG image is not produced (see Notes).
    transform_sqrt : bool
        Square root of every value before the gradients (power-law compression).
    feature_vector : bool
        Flatten each image's descriptor.
    channel_axis : None or int
        None for a gray batch (N, H, W); -1 (or 3, the batch's last axis) for a
        colour batch (N, H, W, C): each pixel uses the channel with the largest
        gradient magnitude, the first one on ties, as scikit-image.
    backend : {"numpy", "cpu", "cuda"}, optional

    Returns
    -------
    features : (N, n_features) with ``feature_vector=True``, else
        (N, n_blocks_row, n_blocks_col, b_row, b_col, orientations); float32 for
        float16/float32 input, float64 otherwise. ``n_blocks_row = H // c_row -
        b_row + 1`` (likewise for columns) and ``n_features = n_blocks_row *
        n_blocks_col * b_row * b_col * orientations``.

    Raises
    ------
    ValueError
        The image is too small for one block (scikit-image's message), a bad
        block_norm, cell or block size, or a 4-D batch without ``channel_axis``.
    NotImplementedError
        ``visualize=True``.

    See Also
    --------
    skimage.feature.hog : equal to 1e-5 per image (the tests check 1e-5 on
        photographs; typically ~1e-12 for float64 output).

    Notes
    -----
    Cell histograms are computed as scikit-image's Cython loop does: each pixel
    votes its gradient magnitude into the orientation bin ``per * i <= o < per *
    (i + 1)`` (``o = degrees(atan2(g_row, g_col)) mod 180``) of a float32 total, in
    row-major order, then divided by the cell area in float32. The bin is decided by
    a polynomial arctangent and, within 4e-5 rad of an edge, by ``atan2`` itself;
    for integer images (integer gradients) it equals NumPy's for every gradient
    (checked exhaustively for uint8). Magnitudes are ``sqrt(gr**2 + gc**2)``, within
    one ulp of ``np.hypot``. For a float64 colour batch that is not uint8, exact
    ties of two channels' magnitudes are broken by the C library's ``hypot``, which
    can differ from NumPy's in the last bit (uint8 input uses NumPy's own values).
    On ``cuda`` the device's ``atan2`` decides near-edge bins; it may differ from
    NumPy's by an ulp on gradients within ~1e-15 rad of a bin edge.

    ``visualize=True`` (the line-drawing HOG image) is refused with
    NotImplementedError: draw it from ``feature_vector=False`` output if needed.
    """
    if not isinstance(visualize, (bool, np.bool_)):
        raise TypeError(f"visualize must be a bool, got {visualize!r}")
    if visualize:
        raise NotImplementedError(
            "visualize=True is not supported by mmfeat.image.hog: the HOG image is not "
            "produced; call skimage.feature.hog(image, visualize=True) on one image")
    orientations = _int_at_least(orientations, "orientations")
    c_row, c_col = _pair(pixels_per_cell, "pixels_per_cell")
    b_row, b_col = _pair(cells_per_block, "cells_per_block")
    if block_norm not in HOG_NORMS:
        raise ValueError(f"block_norm must be one of {HOG_NORMS}, got {block_norm!r}")
    for name, flag in (("transform_sqrt", transform_sqrt), ("feature_vector", feature_vector)):
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"{name} must be a bool, got {flag!r}")
    be = resolve_backend(backend, images)
    images = as_real_images(images)
    if channel_axis is None:
        if images.ndim != 3:
            raise ValueError(
                "images must be a gray batch (N, H, W) when channel_axis is None, got shape "
                f"{images.shape}: only images with two spatial dimensions are supported; "
                "for colour batches (N, H, W, C) pass channel_axis=-1")
        images = images[..., None]
    else:
        if isinstance(channel_axis, (bool, np.bool_)) or not isinstance(
                channel_axis, (int, np.integer)):
            raise TypeError(f"channel_axis must be None or an int, got {channel_axis!r}")
        if images.ndim != 4:
            raise ValueError(f"images must be a colour batch (N, H, W, C) with channel_axis, "
                             f"got shape {images.shape}")
        if channel_axis not in (-1, 3):
            raise ValueError(f"channel_axis must be -1 (channels last, (N, H, W, C)), "
                             f"got {channel_axis}")
    if images.shape[3] < 1:
        raise ValueError(f"images has no channels: shape {images.shape}")
    n, H, W = images.shape[:3]
    ncr, ncc = H // c_row, W // c_col
    nbr, nbc = ncr - b_row + 1, ncc - b_col + 1
    if nbr <= 0 or nbc <= 0:
        raise ValueError(
            "The input image is too small given the values of pixels_per_cell and "
            f"cells_per_block. It should have at least: {b_row * c_row} rows and "
            f"{b_col * c_col} cols.")
    images = to_backend(images, be)
    src, work = hog_storage(images)
    shape = (n, nbr, nbc, b_row, b_col, orientations)
    if n == 0:
        out = _dispatch.xp(be).zeros(shape, dtype=work)
    else:
        out = _dispatch.impl(be).hog(src, orientations, (c_row, c_col), (b_row, b_col),
                                     block_norm, bool(transform_sqrt), work)
    return out.reshape(n, -1) if feature_vector else out
