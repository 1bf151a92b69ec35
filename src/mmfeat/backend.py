"""Which backend runs a call, the array module of an input, host/device moves.

Three backends:

``"numpy"``
    the reference: plain NumPy/SciPy; the oracle in tests.
``"cpu"``
    Numba ``@njit(nogil=True, cache=True)`` kernels from ``mmfeat.kernels``, over
    ranges of their jobs on mmfeat's worker threads (``mmfeat._workers``).
``"cuda"``
    CuPy arrays and Numba ``@cuda.jit`` kernels. Under ``NUMBA_ENABLE_CUDASIM=1``
    the same kernels and launch code run in Numba's simulator on NumPy arrays
    (NumPy stands in for CuPy), so the CUDA path is testable without a GPU.

Choice: the ``backend=`` argument, else ``with mmfeat.use_backend(...)``, else
the input's array type (CuPy -> cuda, anything else -> cpu). Importing this module
imports neither CuPy nor ``numba.cuda``.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import importlib
import importlib.util
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from . import config

BACKENDS = ("numpy", "cpu", "cuda")

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "mmfeat_backend", default=None
)


class BackendUnavailableError(RuntimeError):
    """The requested backend cannot run on this machine; the message says why."""


def _check_name(name: str, argname: str = "backend") -> str:
    if not isinstance(name, str) or name not in BACKENDS:
        raise ValueError(f"{argname} must be one of {BACKENDS}, got {name!r}")
    return name


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[str]:
    """Run every mmfeat call in the ``with`` block on backend ``name``.

    An explicit ``backend=`` argument still wins.

    Examples
    --------
    >>> import mmfeat, numpy as np
    >>> with mmfeat.use_backend("numpy"):
    ...     g = mmfeat.image.rgb_to_gray(np.zeros((1, 4, 4, 3), np.uint8))
    """
    _check_name(name)
    token = _current.set(name)
    try:
        yield name
    finally:
        _current.reset(token)


def is_cupy_array(x: Any) -> bool:
    """True for a CuPy array, decided without importing CuPy."""
    return type(x).__module__.split(".")[0] == "cupy"


def cudasim_enabled() -> bool:
    """True when Numba's CUDA simulator is switched on for this process."""
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") == "1"


def resolve_backend(backend: str | None, *arrays: Any) -> str:
    """The backend a call runs on: argument, then context, then input type."""
    if backend is not None:
        return _check_name(backend)
    ctx = _current.get()
    if ctx is not None:
        return ctx
    if any(is_cupy_array(a) for a in arrays):
        return "cuda"
    return "cpu"


# --- the CUDA runtime ---------------------------------------------------------

#: the process in which mmfeat initialised the CUDA driver (None: not yet). A CUDA
#: context does not survive ``fork``: in a forked child every driver call fails or
#: hangs, so the child must be told to use ``spawn`` before it touches the GPU.
_CUDA_PID: int | None = None
#: True in a process created by ``fork`` (whoever initialised CUDA in the parent)
_FORKED_CHILD = False


def _note_fork() -> None:
    global _FORKED_CHILD
    _FORKED_CHILD = True


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_note_fork)

_SPAWN_HINT = (
    "a CUDA context does not survive fork(): start the workers with the 'spawn' or "
    "'forkserver' method (multiprocessing.get_context('spawn'), "
    "DataLoader(..., multiprocessing_context='spawn')), or use backend='cpu' in them"
)


def _check_not_forked_from_cuda() -> None:
    if _CUDA_PID is not None and _CUDA_PID != os.getpid():
        raise BackendUnavailableError(
            f"backend 'cuda' is not available in this process: it was forked from process "
            f"{_CUDA_PID}, which had already initialised CUDA; {_SPAWN_HINT}"
        )


@functools.lru_cache(maxsize=1)
def _cuda_probe() -> tuple[bool, str]:
    """(usable, reason or description) for the cuda backend; imports lazily."""
    if cudasim_enabled():
        return True, "Numba CUDA simulator (NUMBA_ENABLE_CUDASIM=1; NumPy arrays)"
    try:
        cupy = importlib.import_module("cupy")
    except Exception as exc:  # ImportError, or a broken CUDA install
        return False, f"CuPy is not importable ({exc.__class__.__name__}: {exc}); " \
            "install mmfeat[cuda12] or mmfeat[cuda13]"
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        hint = f"; if the parent process used CUDA, {_SPAWN_HINT}" if _FORKED_CHILD else ""
        return False, f"no CUDA device visible to CuPy ({exc}){hint}"
    global _CUDA_PID
    _CUDA_PID = os.getpid()  # the driver is initialised from here on
    if n == 0:
        return False, "no CUDA device visible to CuPy"
    try:
        from numba import cuda as ncuda

        if not ncuda.is_available():
            return False, "numba.cuda finds no usable GPU/driver"
    except Exception as exc:
        return False, f"numba.cuda is not usable ({exc})"
    props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
    name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
    free, total = cupy.cuda.runtime.memGetInfo()
    return True, f"{name}, {total / 2**30:.1f} GiB ({free / 2**30:.1f} GiB free)"


def require_cuda() -> None:
    """Raise :class:`BackendUnavailableError` naming what is missing.

    In a process forked after CUDA was initialised (by mmfeat) the error says to
    use the ``spawn`` start method, instead of a hang or a driver error later.
    """
    _check_not_forked_from_cuda()
    ok, why = _cuda_probe()
    if not ok:
        raise BackendUnavailableError(f"backend 'cuda' is not available: {why}")


def device_xp():
    """The array module of the cuda backend: CuPy, or NumPy under the simulator."""
    require_cuda()
    if cudasim_enabled():
        return np
    import cupy

    return cupy


def get_array_module(x: Any):
    """``cupy`` for a CuPy array, else ``numpy``."""
    if is_cupy_array(x):
        return sys.modules["cupy"]
    return np


def to_host(x: Any) -> np.ndarray:
    """A NumPy array with the values of ``x`` (a copy only when ``x`` is on a GPU)."""
    if is_cupy_array(x):
        return x.get()
    return np.asarray(x)


def to_backend(x: Any, backend: str):
    """``x`` moved to where ``backend`` computes (host for numpy/cpu)."""
    if backend == "cuda":
        xp = device_xp()
        return xp.asarray(x)
    return to_host(x)


# --- GPU chunking -------------------------------------------------------------


def _is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    name = type(exc).__name__
    if name == "OutOfMemoryError":  # cupy.cuda.memory.OutOfMemoryError
        return True
    return "CUDA_ERROR_OUT_OF_MEMORY" in str(exc)


def free_device_bytes() -> int | None:
    """Free device memory in bytes (None under the simulator or without a GPU)."""
    if cudasim_enabled() or "cupy" not in sys.modules:
        return None
    cupy = sys.modules["cupy"]
    free, _ = cupy.cuda.runtime.memGetInfo()
    pool = cupy.get_default_memory_pool()
    return int(free + pool.free_bytes())


def chunk_size(n_items: int, bytes_per_item: int) -> int:
    """Items per GPU chunk so that one chunk uses a fraction of free memory."""
    n = max(int(n_items), 1)
    free = free_device_bytes()
    if free is not None and bytes_per_item > 0:
        n = min(n, max(1, int(free * config.GPU_MEMORY_FRACTION) // int(bytes_per_item)))
    if config.GPU_MAX_CHUNK_ITEMS is not None:
        n = min(n, max(1, int(config.GPU_MAX_CHUNK_ITEMS)))
    return n


def map_chunks(
    fn: Callable[[Any], Any],
    x: Any,
    bytes_per_item: int,
    xp=np,
) -> Any:
    """Apply ``fn`` to ``x`` in chunks along axis 0 and concatenate the results.

    The chunk size is chosen from free device memory; an out-of-memory error
    halves the chunk and retries the same items, so a batch never fails for
    being large (only a single item that does not fit raises).
    """
    n = x.shape[0]
    if n == 0:
        return fn(x)
    size = chunk_size(n, bytes_per_item)
    if size >= n:
        try:
            return fn(x)
        except Exception as exc:
            if not _is_out_of_memory(exc) or n == 1:
                raise
            size = max(1, n // 2)
    parts = []
    start = 0
    while start < n:
        stop = min(n, start + size)
        try:
            parts.append(fn(x[start:stop]))
        except Exception as exc:
            if not _is_out_of_memory(exc) or stop - start == 1:
                raise
            _release_pool()
            size = max(1, (stop - start) // 2)
            continue
        start = stop
    return xp.concatenate(parts, axis=0)


def _release_pool() -> None:
    if "cupy" in sys.modules:
        try:
            sys.modules["cupy"].get_default_memory_pool().free_all_blocks()
        except Exception:
            pass


# --- report ---------------------------------------------------------------------


def backends() -> dict[str, dict[str, Any]]:
    """What is usable on this machine and why not.

    Returns
    -------
    dict
        name -> ``{"available": bool, "detail": str}`` for ``numpy``, ``cpu``,
        ``cuda``, and the optional libraries ``cudf``, ``cuml`` and ``dask``;
        ``cpu`` also has ``"threading"``: :func:`mmfeat.threading_info`, and
        ``"prebuilt"``: whether kernels compiled at install are in use
        (``kernels/_prebuilt.py``).
    """
    out: dict[str, dict[str, Any]] = {}
    out["numpy"] = {"available": True, "detail": f"NumPy {np.__version__}"}
    try:
        import numba

        from .threads import threading_info

        t = threading_info()
        safety = ("fork- and thread-safe" if t["fork_safe"] and t["thread_safe"]
                  else "not fork-safe" if t["thread_safe"] else "not thread-safe")
        chosen = f", chosen by {t['chosen_by']}" if t["chosen_by"] else ""
        problem = f"; TBB did not load: {t['problem']}" if t["problem"] else ""
        from .kernels import prebuilt_describe, prebuilt_state

        out["cpu"] = {
            "available": True,
            "detail": f"Numba {numba.__version__}, {t['layer']} threading layer ({safety}"
            f"{chosen}), {t['num_threads']} of {t['max_threads']} threads, "
            f"{t['cpu_count']} CPUs{problem}; {prebuilt_describe()}",
            "threading": t,
            "prebuilt": prebuilt_state(),
        }
    except Exception as exc:  # pragma: no cover - numba is a dependency
        out["cpu"] = {"available": False, "detail": f"Numba not importable: {exc}"}
    try:
        _check_not_forked_from_cuda()
        ok, why = _cuda_probe()
    except BackendUnavailableError as exc:
        ok, why = False, str(exc)
    out["cuda"] = {"available": ok, "detail": why}
    for lib, hint in (("cudf", "RAPIDS cuDF"), ("cuml", "RAPIDS cuML"), ("dask", "Dask")):
        spec = importlib.util.find_spec(lib)
        if spec is None:
            out[lib] = {"available": False, "detail": f"{hint} is not installed"}
            continue
        try:
            mod = importlib.import_module(lib)
            out[lib] = {"available": True, "detail": f"{hint} {getattr(mod, '__version__', '')}"}
        except Exception as exc:
            out[lib] = {"available": False, "detail": f"{hint} fails to import: {exc}"}
    return out
