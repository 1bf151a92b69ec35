"""benchmarks/run_gpu.sh runs end to end without a GPU, and its plan fits 7 minutes.

The whole script runs under Numba's CUDA simulator at tiny sizes
(``MMFEAT_GPU_SCRIPT_TINY=1``, ``NUMBA_ENABLE_CUDASIM=1``): every step writes its
JSON, and the steps that need CuPy, a GPU or ncu say "skipped" with the reason
instead of failing. The Numba cache lives in a fixed folder
(``$MMFEAT_RUN_GPU_TEST_WORK``, default ``~/.cache/mmfeat-run-gpu-test``) so that a
second run reuses its compiled CPU kernels.

The end-to-end run takes minutes on a shared 2-core machine (the simulator runs
one Python thread per CUDA thread, the benchmarks compile their CPU kernels; the
pipeline step takes the cpu backend there, see run_gpu.sh), so
it runs in CI (``CI=true``) and where ``MMFEAT_RUN_GPU_SCRIPT_TEST=1``; the plan
check always runs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "run_gpu.sh"
STEPS = ("device", "tests", "kernels", "image", "ncu", "audio", "text", "pipeline")

pytestmark = pytest.mark.skipif(shutil.which("bash") is None or shutil.which("timeout") is None,
                                reason="needs bash and coreutils' timeout")


def test_plan_fits_seven_minutes():
    out = subprocess.run(["bash", str(SCRIPT), "--plan"], capture_output=True, text=True,
                         check=True).stdout
    budgets = [int(m.group(1)) for m in re.finditer(r"^\d+\s+\S+\s+(\d+)s", out, re.M)]
    names = re.findall(r"^\d+\s+(\S+)", out, re.M)
    assert names == ["setup", *STEPS]
    assert sum(budgets) <= 420
    assert f"total {sum(budgets)}s" in out


@pytest.mark.skipif(os.environ.get("CI", "").lower() not in ("1", "true")
                    and os.environ.get("MMFEAT_RUN_GPU_SCRIPT_TEST") != "1",
                    reason="minutes long: runs in CI, or with MMFEAT_RUN_GPU_SCRIPT_TEST=1")
@pytest.mark.skipif(os.environ.get("MMFEAT_SIM_SUITES") == "skip",
                    reason="MMFEAT_SIM_SUITES=skip (CI): minutes long; "
                           "MMFEAT_RUN_GPU_SCRIPT_TEST=1 runs it")
def test_whole_script_under_the_simulator(tmp_path):
    work = Path(os.environ.get("MMFEAT_RUN_GPU_TEST_WORK",
                               Path.home() / ".cache" / "mmfeat-run-gpu-test"))
    env = dict(os.environ, OUT=str(tmp_path / "out"), MMFEAT_GPU_WORK=str(work),
               MMFEAT_GPU_SCRIPT_TINY="1", NUMBA_ENABLE_CUDASIM="1", PYTHON=sys.executable)
    env.pop("NUMBA_CACHE_DIR", None)
    proc = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, env=env,
                          timeout=1800)
    log = proc.stdout[-6000:] + proc.stderr[-2000:]
    docs = {}
    for i, name in enumerate(STEPS, 1):
        path = tmp_path / "out" / f"{i:02d}_{name}.json"
        assert path.is_file(), f"{path.name} missing\n{log}"
        docs[name] = json.loads(path.read_text())
    for name, d in docs.items():
        assert d["status"] in ("ok", "skipped"), (name, d["status"], d.get("reason"),
                                                   d.get("log", "")[-2000:])
        if d["status"] == "skipped":
            assert d["reason"], name
    assert proc.returncode == 0, log
    # what needs a GPU says so; what runs in the simulator ran
    assert docs["kernels"]["status"] == "skipped" and "SIM" in docs["kernels"]["reason"]
    assert docs["ncu"]["status"] == "skipped"
    for name in ("device", "tests", "image", "audio", "text", "pipeline"):
        assert docs[name]["status"] == "ok", name
    assert docs["device"]["result"]["mmfeat_file"].endswith("mmfeat/__init__.py")
    assert docs["tests"]["result"]["failures"] == 0 and docs["tests"]["result"]["errors"] == 0
    assert docs["text"]["result"]["results"], "text benchmark wrote no rows"
