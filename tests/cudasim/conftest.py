"""CUDA-simulator tests: ``NUMBA_ENABLE_CUDASIM=1 pytest tests/cudasim`` (own process).

The simulator has to be switched on before numba is first imported, so these
tests cannot share a process with the main run: without the variable every test
in this directory is skipped. Launch shapes are shrunk so that the simulator
(one Python thread per CUDA thread) stays fast, and restored afterwards.
"""

from __future__ import annotations

import os
import pathlib

import pytest

SIMULATOR = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
HERE = pathlib.Path(__file__).resolve().parent

SMALL_CONFIG = dict(
    THREADS_PER_BLOCK=32,
    TILE_X=8,
    TILE_Y=4,
    HIST_BLOCKS_PER_IMAGE=2,
)


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
