"""The float types the modalities compute and return in (one rule for all of them)."""

from __future__ import annotations

import numpy as np


def float_dtype(dtype) -> np.dtype:
    """Output/work float type for an input dtype: float64 stays float64, anything
    else (integers, float16, float32) computes and returns float32."""
    return np.dtype(np.float64) if np.dtype(dtype) == np.float64 else np.dtype(np.float32)


def complex_dtype(dtype) -> np.dtype:
    """The complex type of :func:`float_dtype`'s result (complex128 or complex64)."""
    return np.dtype(np.complex128) if np.dtype(dtype) == np.float64 else np.dtype(np.complex64)
