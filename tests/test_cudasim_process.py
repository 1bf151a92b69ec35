"""Runs the CUDA-simulator suite (tests/cudasim) in its own pytest process.

``NUMBA_ENABLE_CUDASIM=1`` must be set before numba is imported, so those tests
cannot share this process; running them from here keeps one test command for
everything.

Where numba-cuda, NVRTC and libNVVM are installed (the ``ptx`` extra brings them
as wheels; no GPU or driver needed), the suite runs through
``tests/cudasim/ptx_check.py``: the same tests, with every kernel launch also
compiled for a real GPU (sm_90), so a kernel the simulator accepts but Numba
CUDA cannot compile fails here instead of on a lent GPU. Elsewhere the suite
runs in the plain simulator and says that the compile check was skipped.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

SIM_DIR = Path(__file__).parent / "cudasim"
PTX_CHECK = SIM_DIR / "ptx_check.py"


def _can_compile_ptx() -> tuple[bool, str]:
    """Whether a fresh process can compile a kernel to PTX (without a GPU)."""
    probe = (
        "import numba_cuda\n"  # the numba-cuda package, as on the GPU machines
        "from numba import cuda, types\n"
        "def k(a):\n"
        "    a[0] = 1.0\n"
        "cuda.compile_ptx(k, (types.float32[::1],), cc=(9, 0))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    proc = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                          text=True, timeout=300)
    return proc.returncode == 0, (proc.stderr.strip().splitlines() or [""])[-1]


@pytest.mark.skipif(os.environ.get("NUMBA_ENABLE_CUDASIM") == "1",
                    reason="already inside the simulator run")
@pytest.mark.skipif(os.environ.get("MMFEAT_SIM_SUITES") == "skip",
                    reason="MMFEAT_SIM_SUITES=skip: CI runs the simulator suite once, "
                           "beside the other tests (it takes minutes on one core)")
def test_cuda_kernels_under_the_simulator():
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    compiles, why = _can_compile_ptx()
    if compiles:
        env.pop("NUMBA_ENABLE_CUDASIM", None)  # ptx_check sets the simulator up itself
        cmd = [sys.executable, str(PTX_CHECK), str(SIM_DIR)]
    else:
        env["NUMBA_ENABLE_CUDASIM"] = "1"
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(SIM_DIR)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1500)
    tail = (proc.stdout + proc.stderr)[-8000:]
    print(tail)
    if not compiles:
        print(f"PTX compile check skipped: cannot compile PTX here ({why})")
    assert proc.returncode == 0, f"simulator suite failed (exit {proc.returncode}):\n{tail}"
    assert " passed" in proc.stdout, tail
    if compiles:
        assert "ptx_check:" in proc.stdout and " 0 failed" in proc.stdout, tail
