"""How many threads mmfeat's CPU kernels use, and which threading layer Numba uses.

mmfeat's CPU kernels release the GIL and run over ranges of their work on a small
pool of Python threads (``mmfeat._workers``): the pool starts afresh in a forked
child (a PyTorch ``DataLoader`` worker, a ``multiprocessing`` pool), and calls
from many threads at once (web servers, joblib and Dask threads) are safe. For
Numba's own ``parallel=True`` code mmfeat selects the TBB threading layer, which
survives ``fork`` and serves concurrent callers too (see
``mmfeat.kernels._threading``); a layer chosen by the user
(``NUMBA_THREADING_LAYER``) is kept.

Thread counts, from the outside in:

* ``NUMBA_NUM_THREADS`` fixes how many threads Numba starts (default: all cores);
  when it is unset, ``OMP_NUM_THREADS`` stands in for it, read when mmfeat's
  kernels are first imported (before that, a user's own ``import numba`` fixes it);
* :class:`set_num_threads` bounds the threads of calls made from the current
  thread, for a ``with`` block or from then on.

Examples
--------
>>> import mmfeat
>>> with mmfeat.set_num_threads(1):      # e.g. in a DataLoader's worker_init_fn
...     n = mmfeat.get_num_threads()
>>> n
1
"""

from __future__ import annotations

import numbers
import os
import sys

from .kernels import ThreadingLayerWarning, ensure_safe_layer, threading_layer_state

__all__ = ["set_num_threads", "get_num_threads", "threading_info", "ThreadingLayerWarning"]


def _numba():
    # the layer must be settled before numba launches its threads
    ensure_safe_layer()
    import numba

    return numba


def get_num_threads() -> int:
    """Threads mmfeat's parallel CPU kernels use when called from this thread."""
    return int(_numba().get_num_threads())


class set_num_threads:
    """Bound the threads of mmfeat's CPU kernels called from the current thread.

    Works as a call (the bound stays) and as a context manager (the previous
    bound comes back at the end of the block, also on an exception).

    Parameters
    ----------
    n : int
        Threads, at least 1. More than Numba started (``NUMBA_NUM_THREADS``)
        is clipped to that number, as no more threads exist.

    Notes
    -----
    The bound is per calling thread, as Numba's ``set_num_threads`` is: a bound
    set in the main thread does not apply to calls from other threads, and each
    worker thread sets its own. Forked and spawned workers start from
    ``NUMBA_NUM_THREADS`` (or ``OMP_NUM_THREADS``) again: set the bound in a
    ``worker_init_fn`` / pool ``initializer``, or the environment variable. BLAS
    threads (used by ``TextFeatures``' SVD) are threadpoolctl's to bound.

    Examples
    --------
    >>> import numpy as np, mmfeat
    >>> imgs = np.zeros((2, 32, 32, 3), np.uint8)
    >>> with mmfeat.set_num_threads(1):
    ...     edges = mmfeat.image.sobel(imgs)
    """

    def __init__(self, n: int):
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise TypeError(f"n must be an int, got {type(n).__name__}")
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        numba = _numba()
        self.previous = int(numba.get_num_threads())
        self.n = min(int(n), int(numba.config.NUMBA_NUM_THREADS))
        numba.set_num_threads(self.n)

    def __enter__(self) -> set_num_threads:
        return self

    def __exit__(self, *exc) -> None:
        _numba().set_num_threads(self.previous)

    def __repr__(self) -> str:
        return f"set_num_threads({self.n})"


def threading_info() -> dict:
    """The threading layer in use and the thread counts, as ``mmfeat info`` shows.

    Returns
    -------
    dict
        ``layer`` (Numba's threading layer: "tbb", "omp" or "workqueue"),
        ``chosen_by`` ("mmfeat", "user", "already running" or "numba default"),
        ``problem`` (why TBB did not load, or None), ``fork_safe`` and
        ``thread_safe`` (of that layer on this platform), ``max_threads``
        (threads Numba started), ``num_threads`` (the calling thread's bound),
        ``cpu_count``, and the environment variables that decide them.
    """
    numba = _numba()
    numba.get_num_threads()  # launches the threads, so the layer is known
    layer = numba.threading_layer()
    decision = threading_layer_state()
    gnu_omp = layer == "omp" and sys.platform.startswith("linux")
    return {
        "layer": layer,
        "chosen_by": decision.get("chosen_by"),
        "problem": decision.get("problem"),
        "fork_safe": layer == "tbb" or layer == "workqueue" or (layer == "omp" and not gnu_omp),
        "thread_safe": layer != "workqueue",
        "max_threads": int(numba.config.NUMBA_NUM_THREADS),
        "num_threads": int(numba.get_num_threads()),
        "cpu_count": os.cpu_count(),
        "env": {k: os.environ.get(k) for k in (
            "NUMBA_THREADING_LAYER", "NUMBA_NUM_THREADS", "OMP_NUM_THREADS")},
    }
