"""Every CUDA kernel within its machine-code budget (kernels/cuda_budgets.py), for sm_90.

``benchmarks/sass_budget.py`` compiles each kernel for the launch signatures its
launcher uses (numba-cuda -> PTX -> ptxas -> nvdisasm; no GPU needed) and counts
registers, spills, shared memory, hot-loop instructions per output, 64-bit
divisions, CAS spin loops and float64 instructions. Skipped, with the reason,
where numba-cuda (not in the ``test`` extra: it replaces numba.cuda), ptxas or a
disassembler is missing. Where they are (a separate environment with
``pip install -e ".[test,ptx]" nvidia-cuda-nvcc nvidia-cuda-nvdisasm``)::

    pytest tests/test_sass_budget.py
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "benchmarks" / "sass_budget.py"


def _tool():
    spec = importlib.util.spec_from_file_location("_sass_budget", TOOL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_budget_table_is_well_formed():
    """Runs everywhere: every row names the figures the check bounds, and a region."""
    budgets, max_spill = _tool().load_budgets()
    assert max_spill == 0
    for name, row in budgets.items():
        module = name.split(".")[0]
        assert module.endswith("_cuda") and (ROOT / "kernels" / f"{module}.py").exists(), name
        for key in ("regs", "smem", "div64", "cas", "fp64", "hot"):
            assert isinstance(row[key], int) and row[key] >= 0, (name, key)
        region = row["hot_region"]
        assert region in ("loop", "inner", "body") or region.startswith("after_sync:"), name


def test_every_kernel_module_and_kernel_has_a_budget():
    """Runs everywhere: every ``kernels/*_cuda.py`` has rows, and every kernel it
    defines at module level (``@cuda.jit`` without ``device=True``; factory kernels
    are keyed by their factory and checked by the workload) has its own row, so a
    new kernel cannot miss the table (and with it the workload) unnoticed."""
    import re

    budgets, _ = _tool().load_budgets()
    for path in sorted((ROOT / "kernels").glob("*_cuda.py")):
        module = path.stem
        assert any(k.startswith(module + ".") for k in budgets), f"{module}: no budget rows"
        found = re.findall(r"^@cuda\.jit(?:\(([^)]*)\))?\ndef (\w+)\(", path.read_text(), re.M)
        missing = [name for opts, name in found
                   if "device=True" not in opts and f"{module}.{name}" not in budgets]
        assert not missing, f"{module}: kernels without a budget row: {missing}"


def test_sass_analysis_counts_a_known_listing():
    """The counters on a hand-checked excerpt of nvdisasm output (no toolchain needed)."""
    sass = """
        .text._Z1k:
_Z1k:
        /*0000*/                   S2R R0, SR_TID.X ;
        /*0010*/                   CALL.REL.NOINC `($__internal_0_$__cuda_sm20_div_s64) ;
.L_x_1:
        /*0020*/                   LDG.E R2, desc[UR4][R4.64] ;
        /*0030*/                   DADD R6, R6, R2 ;
        /*0040*/                   STG.E desc[UR4][R8.64], R2 ;
        /*0050*/                   CALL.REL.NOINC `($__internal_0_$__cuda_sm20_div_s64) ;
        /*0060*/               @P0 BRA `(.L_x_1) ;
.L_x_2:
        /*0070*/                   ATOMS.CAST.SPIN R3, [R5], R6, R7 ;
        /*0080*/               @!P1 BRA `(.L_x_2) ;
        /*0090*/                   EXIT ;
$__internal_0_$__cuda_sm20_div_s64:
        /*00a0*/                   MUFU.RCP64H R1, R2 ;
        /*00b0*/                   RET.REL.NODEC R20 `(_Z1k) ;
"""
    sb = _tool()
    r = sb.analyse(sb.parse_sass(sass), "loop", stores_per_output=1)
    assert r["instructions"] == 10  # the body, without the subroutine
    assert r["div64"] == 2 and r["div64_in_loops"] == 1
    assert r["cas"] == 1
    assert r["fp64"] == 2  # DADD, MUFU.RCP64H
    assert r["loops"] == 2
    assert r["hot_region_instructions"] == 5 and r["outputs"] == 1 and r["hot"] == 5


def test_every_kernel_within_budget(tmp_path):
    problem = _tool().toolchain_problem()
    if problem:
        pytest.skip(f"sass budget: {problem}")
    out = tmp_path / "sass.json"
    # own process: the tool switches the CUDA simulator on to record launch signatures
    proc = subprocess.run([sys.executable, str(TOOL), "--json", str(out), "--no-check"],
                          capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads(out.read_text())
    errors = [r for r in doc["signatures"] if "error" in r]
    assert not errors, errors
    budgets = doc["budgets"]
    launched = {r["kernel"] for r in doc["signatures"]}
    assert launched == set(budgets), (launched ^ set(budgets))
    assert not doc["problems"], "\n".join(doc["problems"])
