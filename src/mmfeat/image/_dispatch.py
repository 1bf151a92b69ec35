"""Backend name -> the module holding that backend's ``_impl`` functions.

Every impl module exposes the same functions with the same (validated)
arguments: ``_reference`` (numpy), ``_cpu`` (Numba), ``_cuda`` (CuPy + Numba
CUDA, imported on first use so that importing mmfeat never touches the GPU stack).
"""

from __future__ import annotations

import importlib

import numpy as np

from ..backend import device_xp, require_cuda

_MODULES = {"numpy": "._reference", "cpu": "._cpu", "cuda": "._cuda"}


def impl(backend: str):
    if backend == "cuda":
        require_cuda()
    return importlib.import_module(_MODULES[backend], __package__)


def xp(backend: str):
    """Array module where ``backend`` keeps its results."""
    return device_xp() if backend == "cuda" else np
