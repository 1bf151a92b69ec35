"""Python threads for kernels that release the GIL (``@njit(nogil=True)``).

Every CPU kernel of mmfeat runs here: a ``parallel=True`` kernel costs 1-6 s of
parfor lowering at its first call, a plain nogil kernel over a range of jobs
costs none of that and runs as fast on a few threads taking ranges in turn.
The pool is as wide as Numba's thread count (``NUMBA_NUM_THREADS``, or
``OMP_NUM_THREADS`` when that is unset), each call uses at most
``numba.get_num_threads()`` of it (``mmfeat.set_num_threads``), and a forked
child starts a pool of its own. Kernels are reentrant, so calls from many
threads at once are safe.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

_POOL: ThreadPoolExecutor | None = None
_POOL_PID = -1
_POOL_LOCK = threading.Lock()


def _forget_pool_in_child() -> None:
    """After fork: the parent's threads are gone and its lock may have been held."""
    global _POOL, _POOL_PID, _POOL_LOCK
    _POOL, _POOL_PID, _POOL_LOCK = None, -1, threading.Lock()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_forget_pool_in_child)


def pool() -> ThreadPoolExecutor:
    """The process's worker threads: as many as Numba starts (``NUMBA_NUM_THREADS``),
    shared by every nogil kernel (image workers, text ranges, sparse products), so
    that concurrent calls queue instead of multiplying threads."""
    global _POOL, _POOL_PID
    with _POOL_LOCK:
        # a forked child inherits the executor but not its threads: start a new one there
        if _POOL is None or _POOL_PID != os.getpid():
            import numba

            _POOL_PID = os.getpid()
            _POOL = ThreadPoolExecutor(
                max_workers=max(int(numba.config.NUMBA_NUM_THREADS), 1),
                thread_name_prefix="mmfeat-worker")
        return _POOL


def run_workers(worker, n_workers: int, *args) -> None:
    """Run ``worker(*args)`` on ``n_workers`` threads at once and wait for all.

    The calling thread runs one of them. An exception in any worker is raised
    here after all have finished.
    """
    n_workers = max(1, int(n_workers))
    if n_workers == 1:
        worker(*args)
        return
    futures = [pool().submit(worker, *args) for _ in range(n_workers - 1)]
    error = None
    try:
        worker(*args)
    except BaseException as exc:  # noqa: BLE001 - re-raised below, after the others
        error = exc
    for f in futures:
        try:
            f.result()
        except BaseException as exc:  # noqa: BLE001
            error = error or exc
    if error is not None:
        raise error


def parallel_for(kernel, n: int, *args, min_step: int = 64, serial_below: int = 256) -> None:
    """Run ``kernel(j0, j1, *args)`` over [0, n) in ranges on the worker threads.

    ``get_num_threads()`` threads (``NUMBA_NUM_THREADS``, ``mmfeat.set_num_threads``)
    take ranges of about n / (4 * threads) items (at least ``min_step``) in turn,
    so that uneven items balance; no more than that many run this call at once.
    Below ``serial_below`` items the calling thread runs it alone.
    """
    import numba

    threads = numba.get_num_threads()
    if threads <= 1 or n < serial_below or n <= min_step:
        kernel(0, n, *args)
        return
    step = max(min_step, -(-n // (4 * threads)))
    starts = range(0, n, step)
    in_turn(lambda k: kernel(starts[k], min(n, starts[k] + step), *args), len(starts), threads)


def in_turn(job, n_jobs: int, n_workers: int) -> list:
    """[job(0), ..., job(n_jobs - 1)], the jobs claimed in turn by up to ``n_workers``
    threads (the calling one included), so that uneven jobs balance; the results in
    job order."""
    results = [None] * n_jobs
    claim = iter(range(n_jobs))
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                k = next(claim, None)
            if k is None:
                return
            results[k] = job(k)

    run_workers(worker, min(n_workers, n_jobs))
    return results
