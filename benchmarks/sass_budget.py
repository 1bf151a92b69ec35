"""Machine-code budget of every CUDA kernel, for sm_90, without a GPU.

    python benchmarks/sass_budget.py                      # check, write the table
    python benchmarks/sass_budget.py --json out.json --md out.md --no-check

1. **Signatures.** The launchers of ``mmfeat/{image,audio,text}/_cuda.py`` run a
   small representative workload under Numba's CUDA simulator: the kernels of
   ``image_cuda`` and ``image_texture_cuda`` (hog, local_binary_pattern in every
   method, lbp_histogram, graycomatrix + graycoprops) on uint8 RGB and gray images,
   of ``audio_cuda`` and ``audio_chroma_cuda`` (chroma_stft with estimated and
   given tuning, spectral_contrast) on float32 audio, of ``text_cuda`` with the
   default word analyzer. It runs with ``mmfeat.config``'s
   production launch shapes (so factory kernels get their real shared-memory
   sizes and unroll counts), through a hybrid ``numba.cuda.jit`` (the idea of
   ``tests/cudasim/ptx_check.py``): kernels execute in the simulator, and every
   launch records its kernel and argument types, as a GPU launch would type
   them (CuPy and NumPy arrays both type as ``Array(dtype, ndim, layout)``).
2. **Machine code.** Each (kernel, signature) is compiled to PTX for compute
   capability 9.0 by numba-cuda (``cuda.compile_ptx``, the kernel's own jit
   options), assembled by ``ptxas -arch=sm_90 -v`` (registers, spills, stack,
   shared memory) and the cubin disassembled by ``nvdisasm`` (or
   ``cuobjdump -sass``).
3. **Counts** (see :mod:`mmfeat.kernels.cuda_budgets` for the definitions):
   64-bit integer division call sites, CAS spin loops, float64 instructions and
   the hot-loop instructions per output element. Loops are the backward branches
   of the kernel body (``BRA`` to a lower address); subroutines
   (``$__internal_*``, reached by ``CALL.REL``) are not part of the body.

Writes ``--json`` (default ``benchmarks/results/sass_budget_sm90.json``) and a
Markdown table (``--md``, default the same name with ``.md``); the exit status is
1 when a kernel exceeds its budget (``--no-check``: 0), 2 when the toolchain is
missing. Needs numba-cuda and its NVVM (``pip install ".[ptx]"``) plus a
``ptxas`` that accepts that NVVM's PTX and ``nvdisasm``/``cuobjdump``: the CUDA
toolkit's, or the pip wheels ``nvidia-cuda-nvcc`` and ``nvidia-cuda-nvdisasm``
of the same version as ``nvidia-nvvm``. No GPU and no driver are needed.
"""

from __future__ import annotations

import argparse
import datetime
import glob
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
CC = (9, 0)

# --- toolchain -------------------------------------------------------------------------


def _tool_candidates(name: str) -> list[str]:
    """``name`` from the nvidia pip wheels first (their version follows nvidia-nvvm's),
    then $CUDA_HOME, the PATH and /usr/local/cuda*."""
    cands = []
    for entry in sys.path:
        cands += sorted(glob.glob(os.path.join(entry, "nvidia", "cu*", "bin", name)))
        cands += sorted(glob.glob(os.path.join(entry, "nvidia", "cuda_nvcc", "bin", name)))
    home = os.environ.get("CUDA_HOME") or os.environ.get("CUDA_PATH")
    if home:
        cands.append(os.path.join(home, "bin", name))
    found = shutil.which(name)
    if found:
        cands.append(found)
    cands += sorted(glob.glob(f"/usr/local/cuda*/bin/{name}"), reverse=True)
    out = []
    for c in cands:
        if os.path.isfile(c) and os.access(c, os.X_OK) and os.path.realpath(c) not in (
                os.path.realpath(o) for o in out):
            out.append(c)
    return out


def _version(exe: str) -> str:
    try:
        text = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
    except OSError:
        return "?"
    m = re.search(r"release ([\d.]+), V([\d.]+)", text)
    return m.group(2) if m else text.strip().splitlines()[-1] if text.strip() else "?"


def toolchain_problem() -> str | None:
    """Why the check cannot run here (None: it can): numba-cuda, ptxas, a disassembler."""
    try:
        import numba_cuda  # noqa: F401
    except ImportError:
        return ("numba-cuda is not installed (numba's built-in CUDA target cannot compile "
                "for sm_90 here): pip install \".[ptx]\" nvidia-cuda-nvcc nvidia-cuda-nvdisasm "
                "in a separate environment")
    if not _tool_candidates("ptxas"):
        return "no ptxas found (CUDA toolkit or the nvidia-cuda-nvcc wheel)"
    if not (_tool_candidates("nvdisasm") or _tool_candidates("cuobjdump")):
        return "no nvdisasm or cuobjdump found (CUDA toolkit or the nvidia-cuda-nvdisasm wheel)"
    return None


class Toolchain:
    """ptxas and a disassembler; the first ptxas that accepts numba-cuda's PTX wins
    (a ptxas older than the NVVM that wrote the PTX rejects its ``.version``)."""

    def __init__(self):
        self.ptxas_all = _tool_candidates("ptxas")
        self.ptxas = None
        self.nvdisasm = next(iter(_tool_candidates("nvdisasm")), None)
        self.cuobjdump = next(iter(_tool_candidates("cuobjdump")), None)
        self.rejected: dict[str, str] = {}

    def assemble(self, ptx: str, workdir: Path) -> tuple[Path, str]:
        src = workdir / "k.ptx"
        src.write_text(ptx)
        cubin = workdir / "k.cubin"
        order = [self.ptxas] if self.ptxas else self.ptxas_all
        for exe in order:
            proc = subprocess.run(
                [exe, f"-arch=sm_{CC[0]}{CC[1]}", "-v", str(src), "-o", str(cubin)],
                capture_output=True, text=True,
            )
            if proc.returncode == 0:
                self.ptxas = exe
                return cubin, proc.stderr
            self.rejected[exe] = proc.stderr.strip().splitlines()[0] if proc.stderr else "?"
            if self.ptxas:
                break
        raise RuntimeError(f"ptxas failed: {self.rejected}")

    def disassemble(self, cubin: Path) -> str:
        if self.nvdisasm:
            cmd = [self.nvdisasm, "-c", str(cubin)]
        else:
            cmd = [self.cuobjdump, "-sass", str(cubin)]
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout

    def versions(self) -> dict:
        return {
            "ptxas": self.ptxas, "ptxas_version": _version(self.ptxas) if self.ptxas else None,
            "disassembler": self.nvdisasm or self.cuobjdump,
            "disassembler_version": _version(self.nvdisasm or self.cuobjdump),
            "ptxas_rejected": self.rejected,
        }


# --- signatures: the launchers under the simulator, recorded --------------------------


def _install_recording_jit(records: list):
    """``numba.cuda.jit`` -> simulator kernels that record (kernel, argument types) at
    each launch. Must run before any ``mmfeat.kernels.*_cuda`` module is imported."""
    from numba import cuda
    from numba.cuda.simulator.kernel import FakeCUDAKernel

    real_jit = cuda.jit
    real_of = {}
    seen = set()

    def make(fn, device, opts):
        real = real_jit(device=device, **opts)(fn)
        fake = FakeCUDAKernel(fn, device=device, fastmath=bool(opts.get("fastmath", False)))
        fake._numba_type_ = real._numba_type_  # real kernels then call real device functions
        real_of[id(fake)] = (real, opts)
        return fake

    def recording_jit(func_or_sig=None, device=False, **opts):
        if callable(func_or_sig):
            return make(func_or_sig, device, opts)
        if func_or_sig is not None:
            raise NotImplementedError("sass_budget: eager signatures are not supported")
        return lambda fn: make(fn, device, opts)

    cuda.jit = recording_jit
    # host allocations that the simulator serves from NumPy but the real target from
    # the driver (mmfeat._gpu's pinned staging pool): NumPy arrays here, no driver
    import numpy as np

    def host_array(shape, dtype=np.float64, strides=None, order="C", **_):
        return np.empty(shape, dtype=dtype, order=order)

    cuda.pinned_array = host_array
    cuda.mapped_array = host_array
    _hide_simulator_from_numba()
    from types import SimpleNamespace

    # device functions compile for the current device's capability: name the target's
    dispatcher_module = sys.modules[type(real_jit(lambda: None)).__module__]
    dispatcher_module.get_current_device = lambda: SimpleNamespace(compute_capability=CC)
    sim_call = FakeCUDAKernel.__call__

    def recorded_call(self, *args):
        entry = real_of.get(id(self))
        if entry is not None and not self._device:
            real, opts = entry
            argtypes = tuple(real.typeof_pyval(a) for a in args)
            key = (id(self), argtypes)
            if key not in seen:
                seen.add(key)
                records.append((self.fn, argtypes, opts))
        return sim_call(self, *args)

    FakeCUDAKernel.__call__ = recorded_call


def _hide_simulator_from_numba():
    """mmfeat reads NUMBA_ENABLE_CUDASIM=1 to take its simulator paths (NumPy as the
    device array module); Numba re-reads its environment and would then hand out
    simulator kernels from the real ``cuda.jit``: hide the variable from Numba."""
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


def run_workload():
    """Every launcher once on tiny inputs, in the representative types: uint8 RGB
    images (the pipeline's), float32 audio, the default word analyzer (1- and
    2-grams, with and without stop words). Sizes do not change the signatures."""
    import numpy as np

    import mmfeat.audio as A
    import mmfeat.image as I
    import mmfeat.text as T

    rng = np.random.default_rng(0)
    # 2 images of 36x40: interior and border tiles of the production 32x32 tiles
    img = rng.integers(0, 256, (2, 36, 40, 3), dtype=np.uint8)
    I.rgb_to_gray(img, backend="cuda")
    I.rgb_to_hsv(img, backend="cuda")
    I.sobel(img, backend="cuda")
    I.sobel(img, dtype=np.float16, backend="cuda")
    I.color_histogram(img, backend="cuda")
    I.color_histogram(img, space="rgb", backend="cuda")
    I.gradient_histogram(img, backend="cuda")
    I.canny(img[:1], backend="cuda")  # the fused front end (canny_front_kernel)
    # the staged front end it falls back to (quantile thresholds need the magnitude plane)
    I.canny(img[:1], low_threshold=0.5, high_threshold=0.8, use_quantiles=True, backend="cuda")
    texture_workload(img)

    t = np.arange(400) / 8000.0
    y = np.stack([np.sin(2 * np.pi * 440 * t), rng.standard_normal(400) * 0.1])
    y = y.astype(np.float32)
    fr = dict(n_fft=64, hop_length=32)
    kw = dict(sr=8000, n_mels=8, **fr)
    A.stft(y, **fr, backend="cuda")
    A.spectrogram(y, **fr, power=2.0, backend="cuda")
    A.melspectrogram(y, **kw, backend="cuda")
    M = A.mfcc(y, **kw, n_mfcc=5, backend="cuda")
    S = np.abs(A.stft(y, **fr, backend="cuda")).astype(np.float32)
    A.power_to_db(S * S, backend="cuda")
    A.amplitude_to_db(S, backend="cuda")
    A.spectral_centroid(S=S, sr=8000, backend="cuda")
    A.zero_crossing_rate(y, frame_length=64, hop_length=32, backend="cuda")
    A.rms(y=y, frame_length=64, hop_length=32, backend="cuda")
    A.delta(M, width=3, backend="cuda")
    A.AudioFeatures(sr=8000, n_mels=8, n_mfcc=5, n_fft=64, win_length=64, hop_length=32,
                    backend="cuda").fit_transform(y)
    chroma_workload(y)

    docs = ["The quick brown fox jumps over the lazy dog.",
            "ΣΊΣΥΦΟΣ and the dog: Straße, naïve café", "", "fox fox dog"]
    T.TfidfVectorizer(ngram_range=(1, 2), backend="cuda").fit_transform(docs)
    T.TfidfVectorizer(stop_words="english", backend="cuda").fit(docs).transform(docs)
    T.HashingVectorizer(n_features=64, backend="cuda").transform(docs)


def texture_workload(img):
    """Issue 18's texture descriptors on uint8 images: HOG of RGB (the per-pixel
    channel pick) and gray (every block norm), LBP in every method and its pooled
    histogram, GLCM counts (symmetric and normed) and a property of each kind."""
    import numpy as np

    import mmfeat.image as I

    gray = np.ascontiguousarray(img[..., 0])
    I.hog(img, pixels_per_cell=(8, 8), cells_per_block=(2, 2), channel_axis=-1,
          backend="cuda")
    for norm in ("L1", "L1-sqrt", "L2", "L2-Hys"):
        I.hog(gray, pixels_per_cell=(8, 8), cells_per_block=(2, 2), block_norm=norm,
              backend="cuda")
    for method in ("default", "ror", "uniform", "nri_uniform", "var"):
        I.local_binary_pattern(gray, 8, 1, method, backend="cuda")
    I.lbp_histogram(gray, 8, 1, "uniform", backend="cuda")
    dist, ang = [1, 2], [0.0, np.pi / 4, np.pi / 2]
    P = I.graycomatrix(gray, dist, ang, symmetric=True, backend="cuda")
    Pn = I.graycomatrix(gray, dist, ang, normed=True, backend="cuda")
    for prop in ("contrast", "ASM", "entropy", "correlation"):  # each kernel mode
        I.graycoprops(P, prop, backend="cuda")  # uint32 counts
        I.graycoprops(Pn, prop, backend="cuda")  # float64 normed


def chroma_workload(y):
    """chroma_stft (estimated tuning: the peak kernel too; then a given one) and
    spectral_contrast on float32 clips."""
    import numpy as np

    import mmfeat.audio as A

    y2 = np.concatenate([y, y], axis=-1)
    A.chroma_stft(y2, sr=8000, n_fft=256, hop_length=64, backend="cuda")
    A.chroma_stft(y2, sr=8000, n_fft=256, hop_length=64, tuning=0.0, norm=2,
                  backend="cuda")
    A.spectral_contrast(y2, sr=8000, n_fft=256, hop_length=64, n_bands=3, backend="cuda")


def collect_signatures() -> list:
    """[(python function, argument types, jit options)] of every launch of
    :func:`run_workload`, in launch order (own process: the simulator is switched on)."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        raise SystemExit("sass_budget: run without NUMBA_ENABLE_CUDASIM (it sets up the "
                         "simulator itself)")
    records: list = []
    _install_recording_jit(records)
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_workload()
    return records


def kernel_key(fn) -> str:
    """``image_cuda.sobel_kernel`` for a factory's kernel, ``audio_cuda.power`` else."""
    module = fn.__module__.rsplit(".", 1)[-1]
    parts = fn.__qualname__.split(".<locals>.")
    return f"{module}.{parts[0]}"


# --- SASS analysis --------------------------------------------------------------------

_INSTR = re.compile(r"/\*([0-9a-f]{4,})\*/\s+(.*?)\s*;")
_LABEL = re.compile(r"^\s*(\S+):\s*$")
_TARGET = re.compile(r"`\(([^)]+)\)")
_DIV64 = re.compile(r"__cuda_sm\d+_(div|rem)_[su]64")
_FP64_OPS = {"DADD", "DMUL", "DFMA", "DSETP", "DMNMX", "DSET", "DMMA"}


def _fp64(op: str, operands: str) -> bool:
    base, _, mods = op.partition(".")
    if base in _FP64_OPS:
        return True
    if base in ("F2F", "I2F", "F2I", "FRND"):
        return "F64" in mods
    if base == "MUFU":
        return "64H" in mods
    return False


def parse_sass(text: str) -> list[dict]:
    """Instructions of the (single) kernel in a disassembly: address, opcode, operands,
    predicate, the label(s) just before it and whether it lies in a subroutine."""
    out = []
    pending: list[str] = []
    in_sub = False
    started = False
    for line in text.splitlines():
        if line.lstrip().startswith(".text.") and line.rstrip().endswith(":"):
            started = True  # the kernel's section
            continue
        m = _LABEL.match(line)
        if m:
            name = m.group(1)
            pending.append(name)
            if name.startswith("$") or name.startswith("__internal"):
                in_sub = True
            continue
        m = _INSTR.search(line)
        if not m:
            continue
        started = True
        body = m.group(2).strip()
        pred = ""
        if body.startswith("@"):
            pred, _, body = body.partition(" ")
        op, _, operands = body.partition(" ")
        out.append({"addr": int(m.group(1), 16), "op": op, "args": operands.strip(),
                    "pred": pred, "labels": pending, "sub": in_sub})
        pending = []
    if not started:
        raise ValueError("no instructions found in the disassembly")
    return out


def analyse(instrs: list[dict], hot_region: str, outputs: float | None = None,
            stores_per_output: int | None = None) -> dict:
    """Counts of one kernel's SASS (see the module docstring of cuda_budgets)."""
    label_addr = {}
    for ins in instrs:
        for lab in ins["labels"]:
            label_addr[lab] = ins["addr"]
    body = [i for i in instrs if not i["sub"]]
    body_addrs = {i["addr"] for i in body}
    # loops: backward branches inside the body; (head, latch) address ranges
    loops = []
    for ins in body:
        if ins["op"].split(".")[0] not in ("BRA", "BRX"):
            continue
        m = _TARGET.search(ins["args"])
        if not m or m.group(1) not in label_addr:
            continue
        head = label_addr[m.group(1)]
        if head <= ins["addr"] and head in body_addrs:
            loops.append((head, ins["addr"]))
    loops = sorted(set(loops))

    def size(lo, hi):
        return sum(1 for i in body if lo <= i["addr"] <= hi and i["op"] != "NOP")

    def contains(a, b):  # loop a strictly contains loop b
        return a != b and a[0] <= b[0] and b[1] <= a[1]

    top = [lp for lp in loops if not any(contains(o, lp) for o in loops)]
    inner = [lp for lp in loops if not any(contains(lp, o) for o in loops)]
    # CAS spin loops: the innermost loop around each CAS instruction
    cas_instr = [i for i in instrs if ".CAS" in i["op"] or "CAST.SPIN" in i["op"]]
    cas_loops = set()
    all_loops = loops + _sub_loops(instrs, label_addr)
    for ins in cas_instr:
        around = [lp for lp in all_loops if lp[0] <= ins["addr"] <= lp[1]]
        if around:
            cas_loops.add(min(around, key=lambda lp: lp[1] - lp[0]))
    div64_calls = sum(
        1 for i in body if i["op"].startswith("CALL") and _DIV64.search(i["args"]))
    fp64 = sum(1 for i in instrs if _fp64(i["op"], i["args"]))
    n_body = sum(1 for i in body if i["op"] != "NOP")
    # loop-resident 64-bit division call sites (per element, not once per thread)
    div64_loop = sum(
        1 for i in body if i["op"].startswith("CALL") and _DIV64.search(i["args"])
        and any(lo <= i["addr"] <= hi for lo, hi in loops))
    if hot_region == "body":
        region, hot = None, n_body
    elif hot_region.startswith("after_sync:"):
        # the phase after the k-th block barrier, up to the next one (or the end): the
        # compute phase of a tiled kernel that loads its tile, then synchronises
        k = int(hot_region.split(":")[1])
        syncs = [i["addr"] for i in body if i["op"].startswith("BAR.SYNC")]
        if len(syncs) < k:
            raise ValueError(f"hot_region {hot_region}: only {len(syncs)} barriers")
        lo = syncs[k - 1]
        hi = syncs[k] if len(syncs) > k else body[-1]["addr"]
        region, hot = (lo, hi), size(lo, hi)
    else:
        cands = top if hot_region == "loop" else inner
        if not cands:
            region, hot = None, n_body  # no loop in the machine code: the whole body
        else:
            region = max(cands, key=lambda lp: size(*lp))
            hot = size(*region)
    stores = None
    if region is not None:
        stores = sum(1 for i in body if region[0] <= i["addr"] <= region[1]
                     and (i["op"].startswith("STG") or i["op"].startswith("ST.")))
    if stores_per_output:
        # ptxas unrolls simple grid-stride loops (4x): count the outputs by their stores
        outputs = max(1, (stores or 0) // stores_per_output)
    outputs = float(outputs or 1)
    return {
        "instructions": n_body,
        "subroutine_instructions": sum(1 for i in instrs if i["sub"] and i["op"] != "NOP"),
        "loops": len(loops),
        "div64": div64_calls,
        "div64_in_loops": div64_loop,
        "cas": len(cas_loops),
        "cas_instructions": len(cas_instr),
        "fp64": fp64,
        "hot_region": hot_region if region is not None or hot_region == "body" else "body",
        "hot_region_instructions": hot,
        "hot_region_range": [f"{region[0]:04x}", f"{region[1]:04x}"] if region else None,
        "hot_region_global_stores": stores,
        "outputs": outputs,
        "hot": round(hot / outputs, 1),
    }


def _sub_loops(instrs, label_addr):
    out = []
    for ins in instrs:
        if not ins["sub"] or ins["op"].split(".")[0] != "BRA":
            continue
        m = _TARGET.search(ins["args"])
        if m and m.group(1) in label_addr and label_addr[m.group(1)] <= ins["addr"]:
            out.append((label_addr[m.group(1)], ins["addr"]))
    return out


def parse_ptxas(stderr: str) -> dict:
    info = {"regs": None, "spill_stores": 0, "spill_loads": 0, "stack": 0, "smem": 0,
            "barriers": 0}
    for line in stderr.splitlines():
        m = re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill "
                      r"loads", line)
        if m:
            info["stack"], info["spill_stores"], info["spill_loads"] = map(int, m.groups())
        m = re.search(r"Used (\d+) registers", line)
        if m:
            info["regs"] = int(m.group(1))
            s = re.search(r"(\d+) bytes smem", line)
            info["smem"] = int(s.group(1)) if s else 0
            b = re.search(r"used (\d+) barriers", line)
            info["barriers"] = int(b.group(1)) if b else 0
    return info


# --- compile, check, report -----------------------------------------------------------


def compile_one(fn, argtypes, opts, tools: Toolchain, budgets: dict, dump=None) -> dict:
    from numba import cuda

    key = kernel_key(fn)
    row = budgets.get(key, {})
    rec = {"kernel": key, "args": [str(t) for t in argtypes]}
    keep = {k: v for k, v in opts.items() if k in ("fastmath", "lineinfo", "debug", "opt")}
    t0 = time.perf_counter()
    try:
        ptx, _ = cuda.compile_ptx(fn, argtypes, cc=CC, **keep)
        with tempfile.TemporaryDirectory() as d:
            cubin, log = tools.assemble(ptx, Path(d))
            sass = tools.disassemble(cubin)
        if dump is not None:
            dump.mkdir(parents=True, exist_ok=True)
            n = len(list(dump.glob(f"{key}.*.sass")))
            (dump / f"{key}.{n}.sass").write_text(
                f"// {key}({', '.join(rec['args'])})\n{log}\n{sass}")
    except Exception as exc:  # report it, carry on with the others
        rec["error"] = f"{type(exc).__name__}: {exc}"[-2000:]
        return rec
    rec["compile_s"] = round(time.perf_counter() - t0, 2)
    rec.update(parse_ptxas(log))
    rec.update(analyse(parse_sass(sass), row.get("hot_region", "loop"), row.get("outputs"),
                       row.get("stores_per_output")))
    return rec


def check(records: list[dict], budgets: dict, max_spill: int) -> list[str]:
    """Every excess over the budget table, as one line each."""
    problems = []
    seen = set()
    for r in records:
        seen.add(r["kernel"])
        where = f"{r['kernel']}({', '.join(r['args'])})"
        if "error" in r:
            problems.append(f"{where}: did not compile: {r['error'][:300]}")
            continue
        row = budgets.get(r["kernel"])
        if row is None:
            problems.append(f"{r['kernel']}: no budget in kernels/cuda_budgets.py")
            continue
        for name in ("regs", "smem", "div64", "cas", "fp64", "hot"):
            if r[name] > row[name]:
                problems.append(f"{where}: {name} {r[name]} > budget {row[name]}")
        spill = r["spill_stores"] + r["spill_loads"]
        if spill > max_spill:
            problems.append(f"{where}: spills {spill} bytes > budget {max_spill}")
    for name in budgets:
        if name not in seen:
            problems.append(f"{name}: in the budget table but never launched by the workload")
    return problems


def worst_per_kernel(records: list[dict]) -> dict:
    """Per kernel, the largest figure over its signatures."""
    out: dict = {}
    for r in records:
        if "error" in r:
            continue
        w = out.setdefault(r["kernel"], {"signatures": 0})
        w["signatures"] += 1
        for name in ("regs", "spill_stores", "spill_loads", "smem", "div64", "div64_in_loops",
                     "cas", "fp64", "hot", "instructions"):
            w[name] = max(w.get(name, r[name]), r[name])
    return out


def markdown(records, worst, budgets, problems, meta) -> str:
    lines = [
        f"# SASS budget, sm_{CC[0]}{CC[1]}",
        "",
        f"numba-cuda {meta['numba_cuda']}, NVVM PTX assembled by ptxas "
        f"{meta['toolchain']['ptxas_version']}; {len(records)} launch signatures of "
        f"{len(worst)} kernels. Written by `benchmarks/sass_budget.py` "
        f"({meta['date']}); budgets in `kernels/cuda_budgets.py`.",
        "",
        "Per kernel, the largest figure over its signatures, then its budget. `hot`: SASS "
        "instructions per output element in the hot region (static; see the budget "
        "module's docstring); `div64`: 64-bit integer division call sites; `cas`: "
        "compare-and-swap spin loops; `fp64`: float64 instructions. `div64 in loops`: the "
        "division call sites inside a loop (run per element, not once per thread).",
        "",
        "| kernel | sig | regs | spill B | smem B | hot instr/output | div64 | div64 in loops "
        "| CAS loops | fp64 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for k in sorted(worst):
        w, b = worst[k], budgets.get(k, {})

        def cell(name, w=w, b=b):
            return f"{w[name]} / {b[name]}" if name in b else f"{w[name]} / -"

        lines.append(
            f"| `{k}` | {w['signatures']} | {cell('regs')} | "
            f"{w['spill_stores'] + w['spill_loads']} | {cell('smem')} | {cell('hot')} | "
            f"{cell('div64')} | {w['div64_in_loops']} | {cell('cas')} | {cell('fp64')} |")
    lines += ["", "Cells: measured / budget.", ""]
    lines.append("**Check: " + ("passed**" if not problems else
                                f"{len(problems)} excess(es)**"))
    lines += [f"- {p}" for p in problems]
    return "\n".join(lines) + "\n"


def load_budgets():
    """(BUDGETS, MAX_SPILL_BYTES) of kernels/cuda_budgets.py, read by path (plain data:
    neither mmfeat nor numba is imported)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "_mmfeat_cuda_budgets", ROOT / "kernels" / "cuda_budgets.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.BUDGETS, mod.MAX_SPILL_BYTES


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", default=str(RESULTS / f"sass_budget_sm{CC[0]}{CC[1]}.json"))
    ap.add_argument("--md", default=None, help="Markdown table (default: --json with .md)")
    ap.add_argument("--no-check", action="store_true", help="exit 0 even over budget")
    ap.add_argument("--dump", metavar="DIR", help="also write each signature's ptxas log and "
                    "SASS to DIR/<kernel>.<i>.sass")
    args = ap.parse_args(argv)
    why = toolchain_problem()
    if why:
        print(f"sass_budget: skipped: {why}", file=sys.stderr)
        return 2
    import numba
    import numba_cuda

    budgets, max_spill = load_budgets()
    t0 = time.perf_counter()
    sigs = collect_signatures()
    t_sim = time.perf_counter() - t0
    tools = Toolchain()
    dump = Path(args.dump) if args.dump else None
    records = [compile_one(fn, at, opts, tools, budgets, dump) for fn, at, opts in sigs]
    records.sort(key=lambda r: (r["kernel"], r["args"]))
    problems = check(records, budgets, max_spill)
    worst = worst_per_kernel(records)
    meta = {
        "date": datetime.date.today().isoformat(),
        "target": f"sm_{CC[0]}{CC[1]}",
        "numba": numba.__version__,
        "numba_cuda": numba_cuda.__version__,
        "python": platform.python_version(),
        "toolchain": tools.versions(),
        "workload_s": round(t_sim, 1),
        "compile_s": round(time.perf_counter() - t0 - t_sim, 1),
        "definitions": "see kernels/cuda_budgets.py",
    }
    doc = {"meta": meta, "budgets": budgets, "max_spill_bytes": max_spill,
           "per_kernel": worst, "signatures": records, "problems": problems}
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1, default=str) + "\n")
    md = Path(args.md) if args.md else out.with_suffix(".md")
    md.write_text(markdown(records, worst, budgets, problems, meta))
    print(md.read_text())
    print(f"sass_budget: {len(records)} signatures, {len(worst)} kernels; wrote {out} and {md}")
    return 1 if problems and not args.no_check else 0


if __name__ == "__main__":
    sys.exit(main())
