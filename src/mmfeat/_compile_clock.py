"""How long Numba spent compiling (or loading cached) kernels during a block.

``mmfeat demo`` and ``mmfeat extract`` report it apart from the extraction
throughput: on a fresh install the first run compiles every kernel it meets, and
that one-off cost would otherwise read as slow extraction.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


class CompileTime:
    """Seconds Numba's dispatchers spent in compilation (cache loads included)."""

    def __init__(self):
        self.seconds = 0.0


@contextlib.contextmanager
def compile_clock() -> Iterator[CompileTime]:
    """Measure Numba's compile time inside the block (``numba:compile`` events,
    outermost only, so nested compilations are not counted twice)."""
    from numba.core import event

    result = CompileTime()
    listener = event.TimingListener()
    try:
        with event.install_listener("numba:compile", listener):
            yield result
    finally:
        result.seconds = listener.duration if listener.done else 0.0
