"""Runs the CUDA-simulator suite (tests/cudasim) in its own pytest process.

``NUMBA_ENABLE_CUDASIM=1`` must be set before numba is imported, so those tests
cannot share this process; running them from here keeps one test command for
everything.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

SIM_DIR = Path(__file__).parent / "cudasim"


@pytest.mark.skipif(os.environ.get("NUMBA_ENABLE_CUDASIM") == "1",
                    reason="already inside the simulator run")
def test_cuda_kernels_under_the_simulator():
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", PYTHONUNBUFFERED="1")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(SIM_DIR)],
        env=env, capture_output=True, text=True, timeout=1200,
    )
    tail = (proc.stdout + proc.stderr)[-6000:]
    print(tail)
    assert proc.returncode == 0, f"simulator suite failed (exit {proc.returncode}):\n{tail}"
    assert " passed" in proc.stdout, tail
