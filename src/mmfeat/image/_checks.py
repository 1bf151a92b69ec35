"""Validation and the dtype policy for image batches, applied once at the public boundary.

Images are batch-first: 3-D ``(N, H, W)`` is grayscale, 4-D ``(N, H, W, 3)`` RGB;
the gray-accepting ops also take one 2-D ``(H, W)`` image.
Accepted dtypes: every real dtype ``skimage.util.img_as_float`` scales: bool,
signed and unsigned integers, float16/32/64. uint8, uint16, float32 and float64
are passed to the kernels as they are (the fast paths); the rest are converted
once here to the values scikit-image computes with (see :func:`as_image_batch`).

The one dtype policy (scikit-image's ``_supported_float_type``, plus integers
-> float32): float64 stays float64, everything else returns float32.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._dtypes import float_dtype  # noqa: F401 - re-exported to the modality
from ..backend import cudasim_enabled, get_array_module, is_cupy_array, to_backend

_INT_MAX = {np.dtype(np.uint8): 255, np.dtype(np.uint16): 65535}
_FLOATS = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))
# the kernels' input dtypes; any other real dtype is converted by as_image_batch
_FAST = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float32), np.dtype(np.float64))


class ImageDtypeError(TypeError, ValueError):
    """An image dtype no op accepts (complex, object, strings), or one the op's
    anchor refuses (64-bit integers for canny). scikit-image raises ValueError
    there and mmfeat has raised TypeError: this is both, so either ``except`` works."""


class MaskShapeError(ValueError, IndexError):
    """``mask`` does not fit the images: scikit-image raises ValueError (sobel)
    or IndexError (canny) there; this is both."""


def gray_calc_type(dtype) -> np.dtype:
    """Type the gray conversion computes in: float64 for integers (as scikit-image's
    img_as_float + rgb2gray do) and float64 input, float32 for float16/32. The
    result is then stored in :func:`float_dtype`."""
    dt = np.dtype(dtype)
    return np.dtype(np.float64) if dt.kind in "ui" or dt == np.float64 else np.dtype(np.float32)


def dtype_max(dtype) -> float:
    """The value that means 'white': 255 for uint8, 65535 for uint16, 1 for floats."""
    return float(_INT_MAX.get(np.dtype(dtype), 1.0))


def scale_for(dtype, work) -> Any:
    """Multiplier mapping stored values to [0, 1], typed as the work float type.

    Matches ``skimage.util.img_as_float``: ``x * (1.0 / 255)`` for uint8.
    """
    return np.dtype(work).type(1.0 / dtype_max(dtype))


def _img_as_float(images, xp):
    """The rare dtypes as ``skimage.util.img_as_float`` scales them.

    bool -> uint8 0/255 (whose scaled values 0.0 and 1.0 are img_as_float's, so the
    uint8 fast paths serve it); other integers -> float64 ``x * (1 / max)``, signed
    ones clipped at -1 (the most negative value); float16 -> float32.
    """
    dt = images.dtype
    if dt == np.bool_:
        out = images.astype(np.uint8)
        out *= np.uint8(255)
        return out
    if dt == np.float16:
        return images.astype(np.float32)
    info = np.iinfo(dt)
    out = images.astype(np.float64)
    out *= 1.0 / info.max
    if dt.kind == "i":
        xp.maximum(out, -1.0, out=out)
    return out


def as_image_batch(images: Any, argname: str = "images", *, rgb: bool | None = None,
                   allow_2d: bool = True, int64: bool = True):
    """Validate an image batch; return ``(batch, dtype, single)``.

    Parameters
    ----------
    images : array-like, (N, H, W), (N, H, W, 3) or, with ``allow_2d`` and
        ``rgb`` not True, one gray image (H, W)
    rgb : True to require RGB, False to require gray, None for either.
    int64 : False to refuse int64/uint64 as ``skimage.feature.canny`` does.

    Returns
    -------
    batch : ndarray (NumPy or CuPy, as given)
        C-contiguous, one of uint8, uint16, float32, float64: those dtypes are
        passed as they are; bool becomes uint8 0/255 (img_as_float's 0.0/1.0
        after the usual 1/255), float16 float32, every other integer type float64
        scaled as ``img_as_float`` (``x / max``, signed clipped at -1). A 2-D
        image gets a batch axis of 1. Non-contiguous and negative-stride views are
        copied (documented behaviour, never an error). Values are not checked:
        see :func:`check_values`.
    dtype : numpy dtype
        The input's dtype (for the dtype policy and canny's threshold scale).
    single : bool
        True when a 2-D image was given (the caller drops the batch axis again).

    Raises
    ------
    TypeError
        not an array.
    ImageDtypeError (TypeError and ValueError)
        a dtype that is not real: complex, object, strings; 64-bit integers
        when ``int64`` is False.
    ValueError
        wrong ndim or channel count, empty H or W.
    """
    xp = get_array_module(images)
    if not is_cupy_array(images):
        if isinstance(images, (str, bytes)) or images is None:
            raise TypeError(f"{argname} must be an array of images, got {type(images).__name__}")
        try:
            images = np.asarray(images)
        except Exception as exc:
            raise TypeError(f"{argname} could not be read as an array: {exc}") from exc
    dt = images.dtype
    if dt.kind not in "biuf" or (dt.kind == "f" and dt not in _FLOATS):
        raise ImageDtypeError(
            f"{argname} must have a real dtype (bool, integer or float16/32/64), got {dt}: "
            f"Cannot convert from {dt} to float64."
        )
    if not int64 and dt in (np.dtype(np.int64), np.dtype(np.uint64)):
        raise ImageDtypeError(
            f"{argname}: 64-bit integer images are not supported (as skimage.feature.canny), "
            f"got {dt}; convert with .astype(np.int32) or to floats first"
        )
    single = False
    if images.ndim == 2 and allow_2d and rgb is not True:
        images = images[None]
        single = True
    if images.ndim == 4:
        c = images.shape[3]
        if c != 3:
            hint = " (RGBA: pass images[..., :3])" if c == 4 else ""
            raise ValueError(
                f"{argname} with 4 dimensions must be (N, H, W, 3) RGB, got {c} channels{hint}"
            )
        if rgb is False:
            raise ValueError(f"{argname} must be grayscale (N, H, W), got RGB {images.shape}")
    elif images.ndim == 3:
        if rgb is True:
            raise ValueError(f"{argname} must be RGB (N, H, W, 3), got {images.shape}")
    else:
        if rgb:
            want = "(N, H, W, 3)"
        elif allow_2d:
            want = "(N, H, W), (N, H, W, 3) or one gray image (H, W)"
        else:
            want = "(N, H, W) or (N, H, W, 3)"
        raise ValueError(
            f"{argname} must be a batch {want}, got ndim={images.ndim} shape {images.shape}; "
            "pass one image as x[None]"
        )
    if images.shape[1] == 0 or images.shape[2] == 0:
        raise ValueError(f"{argname} has an empty image size {images.shape[1:3]}")
    if dt not in _FAST:
        images = _img_as_float(images, xp)
    return xp.ascontiguousarray(images), dt, single


def value_range(images) -> tuple[float, float]:
    """(min, max) of a float batch as Python floats (NaN when it holds a NaN)."""
    if not images.size:
        return 0.0, 0.0
    return float(images.min()), float(images.max())


def check_values(images, argname: str = "images", *, unit_range: bool = True):
    """Refuse NaN/inf (and, with ``unit_range``, values outside [0, 1]) in a float
    batch from :func:`as_image_batch` (integer batches always pass: their scaled
    values are finite, and in [0, 1] unless converted from a signed type)."""
    if images.dtype.kind != "f" or not images.size:
        return images
    lo, hi = value_range(images)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(f"{argname} contains NaN or inf values")
    if unit_range and (lo < 0.0 or hi > 1.0):
        raise ValueError(
            f"{argname} scaled to floats must lie in [0, 1] for this op, got values in "
            f"[{lo:g}, {hi:g}]; scale with x / 255 or np.clip(x, 0, 1)"
        )
    return images


def as_images(images: Any, argname: str = "images", *, rgb: bool | None = None,
              unit_range: bool = True):
    """:func:`as_image_batch` for the ops without a scikit-image anchor (batches
    only), then :func:`check_values`: finite values, in [0, 1] with ``unit_range``."""
    batch, _, _ = as_image_batch(images, argname, rgb=rgb, allow_2d=False)
    return check_values(batch, argname, unit_range=unit_range)


def unbatch(result, single: bool):
    """Drop the batch axis that :func:`as_image_batch` added to a 2-D image."""
    return result[0] if single else result


def as_kernel_layout(images):
    """(N, H, W, C) view: a gray batch gets a trailing axis of 1 (no copy)."""
    return images[..., None] if images.ndim == 3 else images


def check_bins(bins, argname: str = "bins") -> tuple[int, int, int]:
    """Normalise ``bins`` (int or three ints, each >= 1) to a 3-tuple of ints."""
    if isinstance(bins, (bool, np.bool_)):
        raise TypeError(f"{argname} must be an int or three ints, got {bins!r}")
    if isinstance(bins, (int, np.integer)):
        bins = (int(bins),) * 3
    try:
        out = tuple(bins)
    except TypeError:
        raise TypeError(f"{argname} must be an int or three ints, got {bins!r}") from None
    if len(out) != 3 or not all(
        isinstance(b, (int, np.integer)) and not isinstance(b, (bool, np.bool_)) for b in out
    ):
        raise TypeError(f"{argname} must be an int or three ints, got {bins!r}")
    if any(b <= 0 for b in out):
        raise ValueError(f"{argname} must be >= 1 in every channel, got {out}")
    if any(b > 65536 for b in out) or int(np.prod(out)) > 2**24:
        raise ValueError(f"{argname}={out} gives too many histogram cells (max 2**24)")
    return tuple(int(b) for b in out)


_MODES = ("reflect", "constant", "nearest", "mirror", "wrap")


def check_mode(mode, argname: str = "mode") -> int:
    """Mode name -> kernel code (scipy.ndimage's boundary modes)."""
    if mode not in _MODES:
        raise ValueError(f"{argname} must be one of {_MODES}, got {mode!r}")
    return _MODES.index(mode)


def check_real(value, argname: str) -> float:
    """A finite real number."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"{argname} must be a real number, got {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{argname} must be finite, got {value}")
    return value


_OUT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.uint8))


def check_dtype(dtype, default, argname: str = "dtype") -> np.dtype:
    """The output dtype of a colour conversion: None -> ``default`` (the float policy);
    float32, float64, or uint8 (``skimage.util.img_as_ubyte`` of the float result)."""
    if dtype is None:
        return np.dtype(default)
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"{argname} must be float32, float64 or uint8, got {dtype!r}") from exc
    if dt not in _OUT_DTYPES:
        raise TypeError(f"{argname} must be float32, float64 or uint8, got {dt}")
    return dt


def check_out(out, shape, dtype, backend: str, argname: str = "out"):
    """``out`` as given when it can take the result: an array of the backend's kind
    (NumPy for numpy/cpu, CuPy for cuda), C-contiguous and writeable, of exactly
    ``shape`` and ``dtype``. None stays None (the op allocates)."""
    if out is None:
        return None
    on_device = is_cupy_array(out)
    if not (isinstance(out, np.ndarray) or on_device):
        raise TypeError(f"{argname} must be an array, got {type(out).__name__}")
    if on_device != (backend == "cuda" and not cudasim_enabled()):
        where = "a CuPy array" if backend == "cuda" else "a NumPy array"
        raise TypeError(f"{argname} must be {where} for backend {backend!r}, got "
                        f"{type(out).__module__}.{type(out).__name__}")
    if tuple(out.shape) != tuple(shape):
        raise ValueError(f"{argname} must have shape {tuple(shape)}, got {tuple(out.shape)}")
    if out.dtype != dtype:
        raise ValueError(f"{argname} must have dtype {np.dtype(dtype)}, got {out.dtype}")
    if not out.flags.c_contiguous:
        raise ValueError(f"{argname} must be C-contiguous")
    if not on_device and not out.flags.writeable:
        raise ValueError(f"{argname} is read-only")
    return out


def anchor_dtype_max(dtype) -> float:
    """``skimage.util.dtype_limits(image)[1]`` of the input dtype: the value canny
    divides given thresholds by (1 for bool and floats, the integer maximum)."""
    dt = np.dtype(dtype)
    if dt.kind in "ui":
        return float(np.iinfo(dt).max)
    return 1.0


def check_mask(mask, batch_shape, backend: str, argname: str = "mask", *, single: bool = False):
    """``mask`` as a bool (M, H, W) array where ``backend`` computes, M = 1 (one mask for the
    batch) or N (one per image); None stays None.

    Any real dtype is accepted, nonzero meaning True (as ``scipy.ndimage``'s
    binary erosion and ``mask.astype(bool)`` read it). For a 2-D image only an
    (H, W) mask fits.
    """
    if mask is None:
        return None
    if not is_cupy_array(mask):
        if isinstance(mask, (str, bytes)):
            raise TypeError(f"{argname} must be an array of bools, got {type(mask).__name__}")
        mask = np.asarray(mask)
    if mask.dtype.kind not in "biuf":
        raise TypeError(f"{argname} must be an array of bools, got dtype {mask.dtype}")
    n, H, W = batch_shape
    fits = mask.shape == (H, W) or (not single and mask.ndim == 3 and mask.shape == (n, H, W))
    if not fits:
        want = f"({H}, {W})" if single else f"({H}, {W}) or ({n}, {H}, {W})"
        raise MaskShapeError(
            f"{argname} must have the images' shape {want}, got {tuple(mask.shape)}"
        )
    if mask.ndim == 2:
        mask = mask[None]
    mask = to_backend(mask, backend)
    return get_array_module(mask).ascontiguousarray(mask.astype(bool))


def erode_mask(mask, xp):
    """``scipy.ndimage.binary_erosion(m, generate_binary_structure(2, 2),
    border_value=0)`` of each (H, W) plane of a bool (M, H, W) mask: a pixel stays
    True when it and its 8 neighbours are True; the image border is always False."""
    out = xp.zeros_like(mask)
    H, W = mask.shape[1:]
    if H < 3 or W < 3:
        return out
    core = mask[:, 1:-1, 1:-1].copy()
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di or dj:
                core &= mask[:, 1 + di : H - 1 + di, 1 + dj : W - 1 + dj]
    out[:, 1:-1, 1:-1] = core
    return out


def check_axis(axis, argname: str = "axis"):
    """``sobel``'s axis: None -> None (the magnitude); an int -> (a,); a sequence
    -> a tuple, each in [-2, 1] (negative ones counted from the end, as NumPy)."""
    if axis is None:
        return None
    single = isinstance(axis, (int, np.integer)) and not isinstance(axis, (bool, np.bool_))
    items = (axis,) if single else axis
    try:
        items = tuple(items)
    except TypeError:
        raise TypeError(f"{argname} must be an int or a sequence of ints, got {axis!r}") from None
    out = []
    for a in items:
        if isinstance(a, (bool, np.bool_)) or not isinstance(a, (int, np.integer)):
            raise TypeError(f"{argname} must be an int or a sequence of ints, got {axis!r}")
        if not -2 <= a <= 1:
            raise np.exceptions.AxisError(int(a), 2, f"{argname} of a 2-D image")
        out.append(int(a) % 2)
    return tuple(out)


UBYTE_RANGE_MESSAGE = "Images of type float must be between -1 and 1."


def check_ubyte_range(values, argname: str):
    """``skimage.util.img_as_ubyte``'s refusal of floats outside [-1, 1] (NaN passes)."""
    if not values.size:
        return
    lo, hi = float(values.min()), float(values.max())
    if lo < -1.0 or hi > 1.0:
        raise ValueError(
            f"{argname} with dtype=uint8 (img_as_ubyte) needs results in [-1, 1], got "
            f"values in [{lo:g}, {hi:g}]: {UBYTE_RANGE_MESSAGE}"
        )
