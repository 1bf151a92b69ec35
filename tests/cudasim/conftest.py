"""CUDA-simulator tests: ``NUMBA_ENABLE_CUDASIM=1 pytest tests/cudasim`` (own process).

The simulator has to be switched on before numba is first imported, so these
tests cannot share a process with the main run: without the variable every test
in this directory is skipped. Launch shapes are shrunk so that the simulator
(one Python thread per CUDA thread) stays fast, and restored afterwards.
"""

from __future__ import annotations

import os
import pathlib
import time

import pytest

SIMULATOR = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
HERE = pathlib.Path(__file__).resolve().parent

SMALL_CONFIG = dict(
    THREADS_PER_BLOCK=32,
    TILE_X=8,
    TILE_Y=4,
    HIST_BLOCKS_PER_IMAGE=2,
)


def _poll_without_holding_the_gil():
    """Let the simulator's block manager hand the GIL over while it polls.

    Numba's simulator runs a block as one Python thread per CUDA thread, and its
    ``BlockManager.run`` polls them in a loop (``syncthreads_blocked``, then
    ``is_alive()`` of each) that never blocks: it keeps the GIL until the
    interpreter's switch interval (5 ms) forces it out. A thread released from a
    barrier waits those 5 ms for its turn, and the kernels here meet the block at
    a barrier many times (every simulated warp shuffle is two), so most of the
    suite's time went to waiting: 22 minutes, 8.5 with this. ``time.sleep(0)``
    releases the GIL at each poll, so a woken thread runs at once. Scheduling
    only: what each simulated thread computes, the barrier logic and the
    results are unchanged. Skipped (the suite is then only slower) where the
    simulator has no ``BlockThread``."""
    try:
        from numba.cuda.simulator import kernel as simulator
    except ImportError:
        return
    thread_type = getattr(simulator, "BlockThread", None)
    if thread_type is None or getattr(thread_type, "_mmfeat_polls_politely", False):
        return
    alive = thread_type.is_alive

    def is_alive(self):
        time.sleep(0)  # releases the GIL: a thread woken at a barrier runs now
        return alive(self)

    thread_type.is_alive = is_alive
    thread_type._mmfeat_polls_politely = True


if SIMULATOR:
    _poll_without_holding_the_gil()


def pytest_collection_modifyitems(config, items):
    if SIMULATOR:
        return
    skip = pytest.mark.skip(
        reason="CUDA simulator tests run in their own process: "
        "NUMBA_ENABLE_CUDASIM=1 pytest tests/cudasim"
    )
    for item in items:
        if HERE in pathlib.Path(str(item.path)).resolve().parents:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def small_launch_config(monkeypatch):
    """Shrink mmfeat.config for the simulator; monkeypatch restores it after each test."""
    from mmfeat import config

    for name, value in SMALL_CONFIG.items():
        monkeypatch.setattr(config, name, value)
    yield config
