"""Which Numba threading layer runs the CPU kernels, and with how many threads.

Numba picks its threading layer once per process, at the first parallel kernel
launch. Its default on Linux is GNU OpenMP whenever TBB cannot be loaded, and
OpenMP is not fork-safe: a process forked after a parallel kernel ran (a PyTorch
``DataLoader`` worker, a ``multiprocessing`` pool with the ``fork`` start method)
is killed by libgomp the moment it runs one itself. Numba's ``workqueue`` layer
survives a fork but terminates the process when two threads launch kernels at
once. TBB is both fork-safe and thread-safe, and measured fastest here.

pip's ``tbb`` wheel installs ``libtbb.so.12`` in the environment's ``lib/``,
where the dynamic loader does not look, so Numba cannot find it in a plain
virtualenv. :func:`ensure_safe_layer` loads it by its installed path (a library
already loaded under its soname satisfies every later ``dlopen`` of that name,
Numba's included) and selects the ``tbb`` layer, unless:

* the user chose a layer (``NUMBA_THREADING_LAYER``, ``NUMBA_THREADING_LAYER_PRIORITY``
  or ``numba.config.THREADING_LAYER`` set in code): theirs is kept, silently (TBB
  is still loaded, so that a choice of ``tbb`` or ``safe`` finds it);
* Numba's threads are already running (something launched a parallel kernel before
  mmfeat loaded): the layer can no longer change;
* no compatible TBB loads: one :class:`ThreadingLayerWarning` says so and names
  the consequence, and Numba's default is left in place.

Numba 0.59-0.68 load TBB 2021.6 or later within 2021.x only (TBB 2022 changed the
ABI its ``tbbpool`` extension links against), hence the pin in ``pyproject.toml``.

This module imports nothing from mmfeat (kernels are self-contained) and does not
import numba at module level: :func:`apply_thread_count_env` must run first.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
import warnings

#: the oldest TBB interface Numba accepts (TBB 2021 update 6)
_MIN_TBB_INTERFACE = 12060
_SONAME = "libtbb.so.12"

_lock = threading.Lock()
#: what ensure_safe_layer decided: None until it ran, then a dict (see state())
_decision: dict | None = None


class ThreadingLayerWarning(RuntimeWarning):
    """No fork-safe and thread-safe Numba threading layer could be loaded."""


def apply_thread_count_env() -> str | None:
    """Honour ``OMP_NUM_THREADS`` as Numba's thread count when ``NUMBA_NUM_THREADS``
    is unset, as OpenMP programs and scikit-learn do.

    Numba reads ``NUMBA_NUM_THREADS`` when it is imported and launches that many
    threads, whatever its layer; under TBB it would ignore ``OMP_NUM_THREADS``, the
    variable users set in DataLoader and Dask workers to avoid oversubscription.
    Must run before numba is imported (it then returns the value applied); once
    numba is loaded its thread count is fixed and this returns None.
    """
    if "numba" in sys.modules or os.environ.get("NUMBA_NUM_THREADS"):
        return None
    omp = os.environ.get("OMP_NUM_THREADS", "")
    # OpenMP allows a nesting list ("4,2"): the outer level is the one that counts
    first = omp.split(",")[0].strip()
    if not first.isdigit() or int(first) < 1:
        return None
    os.environ["NUMBA_NUM_THREADS"] = first
    return first


def _find_libtbb() -> str | None:
    """The installed path of ``libtbb.so.12`` from the ``tbb`` wheel, or None."""
    try:
        from importlib import metadata

        files = metadata.distribution("tbb").files or ()
    except Exception:  # not installed, or broken metadata
        files = ()
    for f in files:
        if f.name == _SONAME:
            path = str(f.locate())
            if os.path.exists(path):
                return path
    return None


def _load_tbb(path: str | None) -> str | None:
    """Load TBB so Numba's ``tbbpool`` resolves against it; None, or why not."""
    try:
        lib = ctypes.CDLL(path or _SONAME, mode=ctypes.RTLD_GLOBAL)
    except OSError as exc:
        where = path or "the loader's search path"
        return f"{_SONAME} could not be loaded from {where} ({exc})"
    version = lib.TBB_runtime_interface_version
    version.restype = ctypes.c_int
    found = version()
    if found < _MIN_TBB_INTERFACE:
        return f"TBB interface {found} is older than the {_MIN_TBB_INTERFACE} Numba needs"
    try:
        from numba.np.ufunc import tbbpool  # noqa: F401 - links against libtbb.so.12
    except ImportError as exc:
        return f"Numba's TBB layer does not load with TBB interface {found} ({exc})"
    return None


def ensure_safe_layer() -> dict:
    """Select Numba's TBB threading layer for this process if nothing else decided.

    Idempotent and thread-safe; cheap after the first call. Returns :func:`state`.
    """
    global _decision
    with _lock:
        if _decision is not None:
            return dict(_decision)
        from . import _cache_lock, _prebuilt

        # every kernel module calls this before its first kernel compiles: one
        # writer at a time in the on-disk cache, across processes; and the kernels
        # compiled when the wheel was built, consulted first
        _cache_lock.install()
        _prebuilt.install()
        import numba
        from numba.np.ufunc import parallel

        user = os.environ.get("NUMBA_THREADING_LAYER") or os.environ.get(
            "NUMBA_THREADING_LAYER_PRIORITY")
        if not sys.platform.startswith("linux"):
            # elsewhere Numba finds the wheel's TBB itself, and its OpenMP
            # (Intel's or LLVM's) survives a fork
            _decision = {"chosen_by": "numba default", "problem": None}
        elif parallel._is_initialized:
            _decision = {"chosen_by": "already running", "problem": None}
        else:
            # loaded whoever chooses: a user's NUMBA_THREADING_LAYER=tbb (or "safe")
            # needs the library found just as much as mmfeat's own choice does
            problem = _load_tbb(_find_libtbb())
            if user or str(numba.config.THREADING_LAYER).lower() != "default":
                _decision = {"chosen_by": "user", "problem": problem}
            elif problem is None:
                numba.config.THREADING_LAYER = "tbb"
                _decision = {"chosen_by": "mmfeat", "problem": None}
            else:
                _decision = {"chosen_by": "numba default", "problem": problem}
                warnings.warn(
                    f"mmfeat could not load TBB, its fork- and thread-safe threading "
                    f"layer: {problem}. Numba falls back to OpenMP, under which a process "
                    "forked after mmfeat has run (a DataLoader worker, a multiprocessing "
                    "Pool using 'fork') is killed when it calls mmfeat. Install "
                    "'tbb>=2021.6,<2022', or start workers with 'spawn'/'forkserver'.",
                    ThreadingLayerWarning,
                    stacklevel=3,
                )
        return dict(_decision)


def state() -> dict:
    """The decision of :func:`ensure_safe_layer`: ``chosen_by`` ("mmfeat", "user",
    "already running" or "numba default") and ``problem`` (why TBB did not load,
    or None); ``{}`` before it ran."""
    return dict(_decision) if _decision is not None else {}
