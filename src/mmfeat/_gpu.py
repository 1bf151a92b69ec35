"""What every CUDA backend shares: kernel arguments, launch shapes, device tables.

Used by ``image/_cuda.py``, ``audio/_cuda.py`` and ``text/_cuda.py``; the
kernels themselves live in ``kernels/*_cuda.py``.
"""

from __future__ import annotations

import math

import numpy as np

from . import config
from .backend import cudasim_enabled, device_xp

#: the grid's z (and y) extent limit: per-image grids are launched in slices of this
MAX_GRID_Z = 65535
#: blocks of a 1-D grid-stride launch: enough to fill a GPU (an H100 keeps about
#: 1000 blocks of 256 threads resident), few enough to stay cheap to schedule
MAX_BLOCKS_1D = 8192

_TABLES: dict = {}


def kernel_arg(a):
    """A kernel argument: CuPy arrays go in without Numba's per-launch stream sync
    (CuPy and Numba both use the legacy default stream, so ordering holds);
    NumPy arrays (simulator) and Python numbers as they are."""
    if cudasim_enabled() or not hasattr(a, "__cuda_array_interface__"):
        return a
    from numba import cuda

    return cuda.as_cuda_array(a, sync=False)


def launch_1d(kernel, total, *args):
    """``kernel`` over ``total`` items, ``config.THREADS_PER_BLOCK`` threads a block,
    at most :data:`MAX_BLOCKS_1D` blocks (the kernels loop grid-stride)."""
    tpb = int(config.THREADS_PER_BLOCK)
    blocks = max(1, min(math.ceil(max(total, 1) / tpb), MAX_BLOCKS_1D))
    kernel[blocks, tpb](*[kernel_arg(a) for a in args])


def device_tables(key, build) -> tuple:
    """Host tables (``build()`` -> a tuple of arrays) copied to the current device
    once per (key, device) and kept: the look-up tables of the kernels."""
    dev = 0 if cudasim_enabled() else device_xp().cuda.Device().id
    if (key, dev) not in _TABLES:
        xp = device_xp()
        _TABLES[(key, dev)] = tuple(xp.asarray(np.ascontiguousarray(t)) for t in build())
    return _TABLES[(key, dev)]


def device_table(key, build):
    """:func:`device_tables` of one array."""
    return device_tables(key, lambda: (build(),))[0]
