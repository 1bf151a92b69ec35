"""What every CUDA backend shares: kernel arguments, launch shapes, device tables,
pinned host staging buffers.

Used by ``image/_cuda.py``, ``audio/_cuda.py`` and ``text/_cuda.py``; the
kernels themselves live in ``kernels/*_cuda.py``.
"""

from __future__ import annotations

import math
import threading

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


# --- pinned host staging ---------------------------------------------------------------
# Host <-> device copies from pageable memory go through the driver's own small pinned
# bounce buffer (1.7-1.9 GB/s measured on an H100 host); from page-locked memory the
# DMA engine reads the host buffer directly (~25 GB/s on a PCIe 5 / NVLink-C2C host
# link) and the copy is asynchronous to the host. Page-locking is slow (cudaHostAlloc
# maps and pins every page: ~1 ms per 100 MB), so the buffers are allocated once and
# reused across batches from a small pool.

#: the smallest staging buffer; larger ones are the next power of two (geometric growth)
PINNED_MIN_BYTES = 1 << 16
#: the pool keeps at most this many bytes of free buffers (pinned memory is taken from
#: the host's physical memory: a large pool starves the OS page cache)
PINNED_POOL_MAX_BYTES = 1 << 30


def _size_class(nbytes: int) -> int:
    return max(PINNED_MIN_BYTES, 1 << (max(int(nbytes), 1) - 1).bit_length())


def _alloc_pinned(nbytes: int) -> np.ndarray:
    """``nbytes`` of page-locked host memory as a uint8 array: CuPy's pinned allocator
    on a GPU, the simulator's ``numba.cuda.pinned_array`` (a NumPy array) under it."""
    if cudasim_enabled():
        from numba import cuda
        from numba.core import config as numba_config

        if numba_config.ENABLE_CUDASIM:
            return cuda.pinned_array(nbytes, dtype=np.uint8)
        # mmfeat simulated on a real numba.cuda (benchmarks/sass_budget.py): NumPy
        return np.empty(nbytes, np.uint8)
    import cupy

    mem = cupy.cuda.alloc_pinned_memory(nbytes)
    return np.frombuffer(mem, np.uint8, nbytes)  # keeps ``mem`` (and the pinning) alive


class PinnedPool:
    """Page-locked host buffers by size class (powers of two from
    :data:`PINNED_MIN_BYTES`), reused across batches.

    :meth:`take` hands out a free buffer of at least the size asked (the smallest one
    whose last copy has finished; else it waits for one, or allocates a new one of the
    request's size class); :meth:`give` puts it back once its copy is queued, with an
    event recorded on the current stream, so a buffer is never refilled while the DMA
    engine may still read it. Buffers are whole: a caller uses a prefix and must never
    read past what it wrote (a reused buffer holds the previous batch's bytes).
    Thread-safe: a buffer is owned by one caller between take and give.
    """

    def __init__(self, max_bytes: int = PINNED_POOL_MAX_BYTES):
        self.max_bytes = int(max_bytes)
        self._free: list = []  # [(buffer, event or None)], smallest first
        self._lock = threading.Lock()
        self.allocated = 0  # buffers allocated so far (for tests and reports)

    def free_bytes(self) -> int:
        with self._lock:
            return sum(b.nbytes for b, _ in self._free)

    def take(self, nbytes: int) -> np.ndarray:
        """A page-locked uint8 buffer of at least ``nbytes`` (its contents are stale)."""
        nbytes = int(nbytes)
        with self._lock:
            fits = [i for i, (b, _) in enumerate(self._free) if b.nbytes >= nbytes]
            ready = [i for i in fits if self._free[i][1] is None or self._free[i][1].done]
            pick = ready[0] if ready else (fits[0] if fits else None)
            if pick is not None:
                buf, event = self._free.pop(pick)
            else:
                buf, event = None, None
        if buf is None:
            buf = _alloc_pinned(_size_class(nbytes))
            with self._lock:
                self.allocated += 1
        elif event is not None:
            event.synchronize()  # its last copy is still reading it
        return buf

    def give(self, buf: np.ndarray, event=None) -> None:
        """Return ``buf``; ``event``: recorded after the last copy that reads it."""
        with self._lock:
            if buf.nbytes > self.max_bytes:
                return  # too large to keep: freed when the last reference goes
            self._free.append((buf, event))
            self._free.sort(key=lambda e: e[0].nbytes)
            total = sum(b.nbytes for b, _ in self._free)
            while total > self.max_bytes:  # drop the smallest (cheapest to re-pin)
                dropped, _ = self._free.pop(0 if self._free[0][0] is not buf else 1)
                total -= dropped.nbytes

    def clear(self) -> None:
        with self._lock:
            self._free.clear()


_POOL = PinnedPool()


def pinned_pool() -> PinnedPool:
    """The process's :class:`PinnedPool`."""
    return _POOL


def _copy_event():
    """An event on the current stream (None under the simulator: copies are done)."""
    if cudasim_enabled():
        return None
    import cupy

    ev = cupy.cuda.Event(block=False, disable_timing=True, interprocess=False)
    ev.record(cupy.cuda.get_current_stream())
    return ev


def _view(buf: np.ndarray, shape, dtype) -> np.ndarray:
    dtype = np.dtype(dtype)
    n = int(np.prod(shape, dtype=np.int64))
    return buf[: n * dtype.itemsize].view(dtype).reshape(shape)


def to_device(a, dtype=None):
    """A device copy of the host array ``a`` (as ``dtype``) through a pinned staging
    buffer of :func:`pinned_pool`: one host copy into page-locked memory, then an
    asynchronous DMA on the current stream (the kernels launched after it on that
    stream see the data; the host goes on at once). A new, writable array: CuPy, or
    NumPy under the simulator."""
    a = np.asarray(a)
    dtype = a.dtype if dtype is None else np.dtype(dtype)
    xp = device_xp()
    if a.size == 0:
        return xp.empty(a.shape, dtype)
    buf = _POOL.take(a.size * dtype.itemsize)
    try:
        staged = _view(buf, a.shape, dtype)
        np.copyto(staged, a, casting="unsafe")  # the one host pass (and any cast)
        if cudasim_enabled():
            out = staged.copy()
        else:
            out = xp.empty(a.shape, dtype)
            out.set(staged, stream=xp.cuda.get_current_stream())
    except BaseException:
        _POOL.give(buf)
        raise
    _POOL.give(buf, _copy_event())
    return out


def to_host(x) -> np.ndarray:
    """A NumPy copy of the device array ``x`` through a pinned staging buffer: the DMA
    into page-locked memory on the current stream (waited for), then one host copy out
    of it (the staging buffer goes back to the pool, so the result never aliases it).
    NumPy input (the simulator) takes the same two copies. An object with ``get()``
    but no shape or dtype (a stand-in for a device array) is copied by ``get()``."""
    if hasattr(x, "get") and not (hasattr(x, "shape") and hasattr(x, "dtype")):
        return np.asarray(x.get())
    shape, dtype = tuple(x.shape), np.dtype(x.dtype)
    n = int(np.prod(shape, dtype=np.int64))
    if n == 0:
        return np.empty(shape, dtype)
    buf = _POOL.take(n * dtype.itemsize)
    try:
        staged = _view(buf, shape, dtype)
        if hasattr(x, "get"):  # CuPy
            import cupy

            stream = cupy.cuda.get_current_stream()
            cupy.ascontiguousarray(x).get(stream=stream, out=staged)
            stream.synchronize()
        else:
            np.copyto(staged, np.asarray(x))
        return staged.copy()
    finally:
        _POOL.give(buf)
