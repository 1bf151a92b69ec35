"""Compile every CUDA kernel launch of the simulator suite for a real GPU, without one.

The simulator (``NUMBA_ENABLE_CUDASIM=1``) runs kernels as Python, so it never
types or lowers them: a kernel that Numba CUDA cannot compile (an unsupported
NumPy call, a type that does not unify, a shared array of non-constant shape)
passes every simulator test and fails on the first GPU launch. This script runs
the simulator suite with a hybrid ``numba.cuda.jit``: kernels still execute in
the simulator (the suite's assertions hold as usual), and every launch is also
compiled by the real numba-cuda compiler, for the argument types of that launch,
to PTX for ``--cc`` (default 9.0, H100/H200), then assembled by ``ptxas`` when
it is on the PATH or under ``$CUDA_HOME/bin`` (registers, spills, shared memory).

Needs numba-cuda, cuda-bindings, NVRTC and libNVVM (``pip install ".[test,ptx]"``
brings them as wheels); no GPU and no driver::

    python tests/cudasim/ptx_check.py [--cc 9.0] [--report ptx.json] [pytest args]

With no pytest arguments it runs ``tests/cudasim``. The exit status is non-zero
when a kernel fails to compile or the suite fails. Launch argument types match a
real launch's: the simulator hands the kernels NumPy arrays where a GPU run hands
CuPy arrays, and both type as ``Array(dtype, ndim, layout)``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _install_hybrid_jit(cc, records):
    """Replace ``numba.cuda.jit`` by a decorator that returns a simulator kernel
    which also compiles itself for real at each launch. Must run before any
    ``mmfeat.kernels.*_cuda`` module is imported."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        sys.exit("ptx_check: run without NUMBA_ENABLE_CUDASIM (it sets the simulator up itself)")
    try:
        import numba_cuda  # noqa: F401
    except ImportError:
        sys.exit("ptx_check needs numba-cuda (as on the GPU machines), not numba's built-in "
                 "CUDA target: pip install \".[test,ptx]\"")
    from numba import cuda
    from numba.cuda.simulator.kernel import FakeCUDAKernel

    real_jit = cuda.jit
    real_of = {}  # id(fake) -> (real dispatcher, jit options)
    seen = set()

    def make(fn, device, opts):
        real = real_jit(device=device, **opts)(fn)
        fake = FakeCUDAKernel(fn, device=device, fastmath=bool(opts.get("fastmath", False)))
        # typing a call to a device function resolves the global through _numba_type_,
        # so real kernels calling simulator device functions compile the real ones
        fake._numba_type_ = real._numba_type_
        real_of[id(fake)] = (real, opts)
        return fake

    def hybrid_jit(func_or_sig=None, device=False, **opts):
        if callable(func_or_sig):
            return make(func_or_sig, device, opts)
        if func_or_sig is not None:
            raise NotImplementedError("ptx_check: eager signatures are not supported")
        return lambda fn: make(fn, device, opts)

    cuda.jit = hybrid_jit
    _keep_numba_off_the_simulator()
    # device functions are compiled for the current device's compute capability;
    # there is none here, so name the target's
    from types import SimpleNamespace

    dispatcher_module = sys.modules[type(real_jit(lambda: None)).__module__]
    dispatcher_module.get_current_device = lambda: SimpleNamespace(compute_capability=cc)
    sim_call = FakeCUDAKernel.__call__

    def checked_call(self, *args):
        entry = real_of.get(id(self))
        if entry is not None and not self._device:
            real, opts = entry
            argtypes = tuple(real.typeof_pyval(a) for a in args)
            key = (id(self), argtypes)
            if key not in seen:
                seen.add(key)
                records.append(_compile(self.fn, argtypes, opts, cc))
        return sim_call(self, *args)

    FakeCUDAKernel.__call__ = checked_call


def _keep_numba_off_the_simulator():
    """mmfeat and the suite read NUMBA_ENABLE_CUDASIM=1 to take their simulator
    paths; Numba re-reads its environment at each compilation and would then hand
    out simulator kernels from ``cuda.jit``: hide the variable from Numba alone."""
    import importlib

    for name in ("numba.core.config", "numba.cuda.core.config"):
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        reloader = mod._env_reloader
        original = reloader.process_environ

        def process_environ(environ, _original=original):
            _original({k: v for k, v in environ.items() if k != "NUMBA_ENABLE_CUDASIM"})

        reloader.process_environ = process_environ


def _compile(fn, argtypes, opts, cc):
    from numba import cuda

    name = f"{fn.__module__}.{fn.__qualname__}"
    rec = {"kernel": name, "args": [str(t) for t in argtypes]}
    keep = {k: v for k, v in opts.items() if k in ("fastmath", "lineinfo", "debug", "opt")}
    t0 = time.perf_counter()
    try:
        ptx, _ = cuda.compile_ptx(fn, argtypes, cc=cc, **keep)
    except Exception as exc:  # the point of the tool: report it, carry on
        import traceback
        rec["error"] = "".join(traceback.format_exception(exc))[-4000:]
        return rec
    rec["compile_s"] = round(time.perf_counter() - t0, 3)
    rec.update(_ptxas(ptx, cc))
    return rec


def _ptxas_path():
    found = shutil.which("ptxas")
    if found:
        return found
    home = os.environ.get("CUDA_HOME") or os.environ.get("CUDA_PATH")
    cands = [Path(home, "bin", "ptxas")] if home else []
    cands += sorted(Path("/usr/local").glob("cuda*/bin/ptxas"), reverse=True)
    return next((str(c) for c in cands if c.exists()), None)


def _ptxas(ptx, cc):
    exe = _ptxas_path()
    if exe is None:
        return {}
    with tempfile.TemporaryDirectory() as d:
        src = Path(d, "k.ptx")
        src.write_text(ptx)
        proc = subprocess.run(
            [exe, f"-arch=sm_{cc[0]}{cc[1]}", "-v", str(src), "-o", str(Path(d, "k.cubin"))],
            capture_output=True, text=True,
        )
    if proc.returncode != 0:
        # informational only: a ptxas older than the NVVM that wrote the PTX rejects
        # its .version, which says nothing about the kernel
        return {"ptxas_error": proc.stderr.strip()[-500:]}
    info = {}
    for line in proc.stderr.splitlines():
        # "Used 40 registers, used 1 barriers, 2304 bytes smem, 380 bytes cmem[0]"
        # "0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads"
        if "registers" in line or "spill stores" in line:
            for part in line.split(":")[-1].split(","):
                words = part.replace("Used", "").replace("used", "").split()
                if len(words) >= 2 and words[0].isdigit():
                    info[" ".join(words[1:])] = int(words[0])
    return {"ptxas": info}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cc", default="9.0", help="compute capability to compile for")
    ap.add_argument("--report", help="write every launch signature and its resources as JSON")
    args, pytest_args = ap.parse_known_args(argv)
    cc = tuple(int(p) for p in args.cc.split("."))

    records: list[dict] = []
    _install_hybrid_jit(cc, records)
    # mmfeat reads this to take its simulator paths (NumPy as the device array module);
    # numba itself was imported above, without the simulator
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"
    import pytest

    status = pytest.main(["-q", "-p", "no:cacheprovider", *(pytest_args or [str(HERE)])])

    failed = [r for r in records if "error" in r]
    kernels = sorted({r["kernel"] for r in records})
    print(f"\nptx_check: {len(records)} launch signatures of {len(kernels)} kernels compiled "
          f"for sm_{cc[0]}{cc[1]}; {len(failed)} failed")
    worst = sorted((r for r in records if "ptxas" in r),
                   key=lambda r: -r["ptxas"].get("registers", 0))[:8]
    for r in worst:
        print(f"  {r['kernel']}: {r['ptxas']}")
    ptxas_failed = [r for r in records if "ptxas_error" in r]
    if ptxas_failed:
        print(f"  (ptxas could not assemble {len(ptxas_failed)} of them, e.g. "
              f"{ptxas_failed[0]['ptxas_error'].splitlines()[-1]})")
    for r in failed:
        print(f"\nFAILED {r['kernel']}({', '.join(r['args'])})\n{r['error']}")
    if args.report:
        Path(args.report).write_text(json.dumps(records, indent=1))
    return 1 if failed or status != 0 else 0


if __name__ == "__main__":
    sys.exit(main())
