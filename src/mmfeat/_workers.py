"""Python threads for kernels that release the GIL (``@njit(nogil=True)``).

A ``parallel=True`` driver costs seconds of parfor lowering at its first call;
a plain nogil worker run on a few threads costs none, and balances as well when
the workers claim their items from a shared atomic counter.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

_POOL: ThreadPoolExecutor | None = None
_POOL_PID = -1


def _pool(size: int) -> ThreadPoolExecutor:
    global _POOL, _POOL_PID
    # a forked child inherits the executor but not its threads: start a new one there
    if _POOL is None or _POOL_PID != os.getpid() or _POOL._max_workers < size:
        _POOL_PID = os.getpid()
        _POOL = ThreadPoolExecutor(max_workers=size, thread_name_prefix="mmfeat-worker")
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
    futures = [_pool(n_workers - 1).submit(worker, *args) for _ in range(n_workers - 1)]
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
