"""Validation and the dtype policy for image batches, applied once at the public boundary.

Images are batch-first: 3-D ``(N, H, W)`` is grayscale, 4-D ``(N, H, W, 3)`` RGB.
Accepted dtypes: uint8 (0..255), uint16 (0..65535), float16/32/64 in [0, 1].

The one dtype policy (scikit-image's ``_supported_float_type``, plus integers
-> float32): float64 stays float64, everything else computes and returns float32.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._dtypes import float_dtype  # noqa: F401 - re-exported to the modality
from ..backend import cudasim_enabled, get_array_module, is_cupy_array

_INT_MAX = {np.dtype(np.uint8): 255, np.dtype(np.uint16): 65535}
_FLOATS = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


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


def as_images(images: Any, argname: str = "images", *, rgb: bool | None = None):
    """Validate an image batch; return it C-contiguous in a kernel-ready dtype.

    Parameters
    ----------
    images : array-like, (N, H, W) or (N, H, W, 3)
    rgb : True to require RGB, False to require gray, None for either.

    Returns
    -------
    ndarray (NumPy or CuPy, as given)
        C-contiguous; float16 is upcast to float32. Non-contiguous and
        negative-stride views are copied (documented behaviour, never an error).

    Raises
    ------
    TypeError
        not an array, or an unsupported dtype (bool, signed integers, complex, object).
    ValueError
        wrong ndim or channel count, empty H or W, floats outside [0, 1] or not finite.
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
    if dt not in _INT_MAX and dt not in _FLOATS:
        raise TypeError(
            f"{argname} must have dtype uint8, uint16 or float16/32/64, got {dt}"
            + (" (cast bool masks with .astype(np.uint8) * 255)" if dt == np.bool_ else "")
        )
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
        want = "(N, H, W, 3)" if rgb else "(N, H, W) or (N, H, W, 3)"
        raise ValueError(
            f"{argname} must be a batch {want}, got ndim={images.ndim} shape {images.shape}; "
            "pass one image as x[None]"
        )
    if images.shape[1] == 0 or images.shape[2] == 0:
        raise ValueError(f"{argname} has an empty image size {images.shape[1:3]}")
    if dt == np.float16:
        images = images.astype(np.float32)
    images = xp.ascontiguousarray(images)
    if dt.kind == "f" and images.size:
        lo = float(images.min())
        hi = float(images.max())
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise ValueError(f"{argname} contains NaN or inf values")
        if lo < 0.0 or hi > 1.0:
            raise ValueError(
                f"{argname} as floats must lie in [0, 1], got values in [{lo:g}, {hi:g}]; "
                "scale with x / 255 or np.clip(x, 0, 1)"
            )
    return images


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
