"""One writer at a time in Numba's on-disk cache, across processes.

Numba saves a compiled kernel by reading the function's cache index, picking the
first free data-file number for a new signature, and writing the index and the
data file. Two processes that save different signatures of one function at the
same time both read the same index, pick the same number, and each overwrites the
other: the index can then name a data file holding another signature's machine
code, which a later process loads and calls (wrong results or a segmentation
fault). That happens whenever processes share a cache and compile at once: the
background compile of ``mmfeat demo``/``extract`` (:mod:`mmfeat._warmup`), Dask or
DataLoader workers started on a fresh install, two test runs.

:func:`install` wraps ``IndexDataCacheFile.save`` in an exclusive ``flock`` on a
lock file in the cache folder, so that each save reads the index the previous one
wrote. Loads need no lock: data files are written to a temporary name and renamed,
and an index entry whose data file is not there yet reads as a cache miss. Where
``fcntl`` is missing (Windows) nothing changes. Imports nothing from mmfeat.
"""

from __future__ import annotations

import os
import threading

_installed = False
_guard = threading.Lock()
LOCK_NAME = ".mmfeat-cache.lock"


def install() -> bool:
    """Patch Numba's cache saves (idempotent); True when the lock is in place."""
    global _installed
    with _guard:
        if _installed:
            return True
        try:
            import fcntl

            from numba.core import caching
        except ImportError:
            return False
        cls = caching.IndexDataCacheFile
        original = cls.save
        if getattr(original, "_mmfeat_locked", False):
            _installed = True
            return True

        def save(self, key, data):
            try:
                os.makedirs(self._cache_path, exist_ok=True)
                fd = os.open(os.path.join(self._cache_path, LOCK_NAME),
                             os.O_RDWR | os.O_CREAT, 0o666)
            except OSError:  # an unwritable folder: Numba's own save reports it
                return original(self, key, data)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                return original(self, key, data)
            finally:
                os.close(fd)  # closing releases the lock

        save._mmfeat_locked = True
        save.__wrapped__ = original
        cls.save = save
        _installed = True
        return True
