"""CPU kernels compiled when the wheel is built, loaded instead of compiled on first use.

Numba compiles a kernel on its first call for each combination of argument types:
0.3-10 s a kernel, about a minute for what a first ``mmfeat demo`` reaches, on a
2-core machine. Its on-disk cache makes every later process load the machine code
instead (~0.05 s a kernel), but only once something has paid for the compile.

Building the wheel (``pip install .``, ``pip wheel .``; ``setup.py``) pays it: the
kernel signatures that the public ops, the feature transformers and the default
pipeline reach for the common input types (``prebuilt_signatures.txt``, recorded
by ``mmfeat compile --record-signatures`` from that command's workload) are compiled into
``mmfeat/kernels/_prebuilt/``, a read-only second cache that :func:`install` puts
in front of Numba's own. A kernel found there is loaded; any other signature
compiles, and is cached, as before. Nothing is ever written there after the build,
so a read-only site-packages, an empty or per-worker ``NUMBA_CACHE_DIR`` and a
fresh container all start with the kernels compiled.

What keeps a shipped kernel from running where it must not:

* Numba's own cache key: the argument types, the function's bytecode, and the
  target triple, CPU name and CPU features. A wheel built on another CPU model
  misses for every kernel and Numba compiles as if nothing were shipped (correct,
  only slower on the first call).
* The index stamp: a digest of every kernel source file at build time (Numba's
  stamp is the file's time, which pip does not keep), checked again at import.
* The build record (``BUILD.json``): the same Numba and llvmlite versions, Python
  ``major.minor`` and NumPy major version, or the shipped kernels are ignored.

``MMFEAT_PREBUILT=0`` ignores them (a first call then compiles, as on an editable
install); ``MMFEAT_PREBUILD=0`` skips building them (``pip install`` is then faster);
``MMFEAT_PREBUILT_DIR`` points at another folder built by :func:`build`.

Imports nothing from mmfeat and nothing from numba at module level.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import subprocess
import sys
import threading
import time
import warnings

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
SIGNATURES_FILE = os.path.join(PACKAGE_DIR, "prebuilt_signatures.txt")
MANIFEST = "BUILD.json"
USE_ENV = "MMFEAT_PREBUILT"
BUILD_ENV = "MMFEAT_PREBUILD"
DIR_ENV = "MMFEAT_PREBUILT_DIR"
_PKG = (__spec__.name if __spec__ else __name__).rpartition(".")[0]  # "mmfeat.kernels"
# the CPU kernel modules (the *_cuda ones compile for the GPU, at launch)
CPU_MODULES = ("image", "image_texture", "audio", "audio_chroma", "text")

_lock = threading.Lock()
_state: dict = {"installed": False, "active": False, "reason": "not installed yet",
                "dir": None, "loads": 0}


def shipped_dir() -> str:
    """The folder :func:`install` reads (``MMFEAT_PREBUILT_DIR`` or the package's)."""
    return os.environ.get(DIR_ENV) or os.path.join(PACKAGE_DIR, "_prebuilt")


def kernels_digest(directory: str = PACKAGE_DIR) -> str:
    """sha256 over every ``.py`` file of the kernels package (names and bytes).

    Any edit of any kernel source changes it: a kernel's machine code also holds
    the helpers it inlines from the other modules.
    """
    h = hashlib.sha256()
    for name in sorted(os.listdir(directory)):
        if name.endswith(".py"):
            with open(os.path.join(directory, name), "rb") as f:
                data = f.read()
            h.update(name.encode() + b"\0" + len(data).to_bytes(8, "little") + data)
    return h.hexdigest()


def _versions() -> dict:
    import llvmlite
    import numba
    import numpy as np

    return {"numba": numba.__version__, "llvmlite": llvmlite.__version__,
            "numpy": np.__version__, "python": "{}.{}".format(*sys.version_info[:2]),
            "abiflags": getattr(sys, "abiflags", "")}


def _problem(manifest: dict, digest: str) -> str | None:
    """Why the shipped kernels built as ``manifest`` cannot serve this process."""
    now = _versions()
    for key in ("numba", "llvmlite", "python", "abiflags"):
        if manifest.get(key) != now[key]:
            return f"built with {key} {manifest.get(key)!r}, running {now[key]!r}"
    if str(manifest.get("numpy", "")).split(".")[0] != now["numpy"].split(".")[0]:
        return f"built with NumPy {manifest.get('numpy')}, running {now['numpy']}"
    if manifest.get("digest") != digest:
        return "the kernel sources changed since the build"
    return None


def _shipped_cache_class():
    """Numba's ``FunctionCache`` over a fixed folder, stamped with the kernels' digest."""
    from numba.core import caching

    class _Locator(caching._CacheLocator):
        def __init__(self, py_func, py_file, root, stamp):
            self._py_file = py_file
            self._lineno = py_func.__code__.co_firstlineno
            self._root = root
            self._stamp = stamp

        def ensure_cache_path(self):  # only a build writes here
            os.makedirs(self._root, exist_ok=True)

        def get_cache_path(self):
            return self._root

        def get_source_stamp(self):
            return self._stamp

        def get_disambiguator(self):
            return str(self._lineno)

        @classmethod
        def from_function(cls, py_func, py_file):  # never chosen by Numba's own search
            return None

    class _Impl(caching.CompileResultCacheImpl):
        def __init__(self, py_func, root, stamp):  # Numba's, without the locator search
            self._lineno = py_func.__code__.co_firstlineno
            path = inspect.getfile(py_func)
            self._locator = _Locator(py_func, path, root, stamp)
            modname = os.path.splitext(os.path.basename(path))[0]
            self._filename_base = self.get_filename_base(
                f"{modname}.{py_func.__qualname__}", getattr(sys, "abiflags", ""))

    class ShippedCache(caching.FunctionCache):
        def __init__(self, py_func, root, stamp):
            self._name = repr(py_func)
            self._py_func = py_func
            self._impl = _Impl(py_func, root, stamp)
            self._cache_path = root
            self._cache_file = caching.IndexDataCacheFile(
                cache_path=root, filename_base=self._impl.filename_base, source_stamp=stamp)
            self.enable()

        # Numba's own, not install()'s patch of FunctionCache (which calls this)
        load_overload = caching.Cache.load_overload

    return ShippedCache


def install() -> bool:
    """Consult the shipped kernels before Numba's cache (idempotent).

    True when they are in use; otherwise :func:`state` says why not. Called by
    :func:`mmfeat.kernels._threading.ensure_safe_layer`, before any kernel compiles.
    """
    with _lock:
        if _state["installed"]:
            return _state["active"]
        _state["installed"] = True
        root = shipped_dir()
        _state["dir"] = root
        if os.environ.get(USE_ENV, "1") == "0":
            _state["reason"] = f"{USE_ENV}=0"
            return False
        try:
            with open(os.path.join(root, MANIFEST)) as f:
                manifest = json.load(f)
        except FileNotFoundError:
            _state["reason"] = f"not built (an editable install, or {BUILD_ENV}=0)"
            return False
        except (OSError, ValueError) as exc:
            _state["reason"] = f"unreadable {MANIFEST}: {exc}"
            return False
        digest = kernels_digest()
        problem = _problem(manifest, digest)
        if problem is not None:
            _state["reason"] = problem
            return False
        from numba.core import caching

        cls = caching.FunctionCache
        original = cls.load_overload
        if getattr(original, "_mmfeat_shipped", False):  # a second copy of this module
            _state.update(active=True, reason=None)
            return True
        ShippedCache = _shipped_cache_class()
        stamp = (_PKG, digest)
        unset = object()

        def load_overload(self, sig, target_context):
            shipped = self.__dict__.get("_mmfeat_shipped", unset)
            if shipped is unset:
                shipped = None
                if getattr(self._py_func, "__module__", "").startswith(_PKG + "."):
                    shipped = ShippedCache(self._py_func, root, stamp)
                self._mmfeat_shipped = shipped
            if shipped is not None:
                try:
                    data = shipped.load_overload(sig, target_context)
                except Exception as exc:  # noqa: BLE001 - a damaged file: compile instead
                    warnings.warn(f"mmfeat: a shipped kernel did not load ({exc}); "
                                  "compiling it instead", RuntimeWarning, stacklevel=2)
                    self._mmfeat_shipped = data = None
                if data is not None:
                    _state["loads"] += 1
                    return data
            return original(self, sig, target_context)

        load_overload._mmfeat_shipped = True
        load_overload.__wrapped__ = original
        cls.load_overload = load_overload
        _state.update(active=True, reason=None, signatures=manifest.get("signatures"),
                      open=lambda py_func: ShippedCache(py_func, root, stamp))
        return True


def state() -> dict:
    """Whether shipped kernels are in use: ``active``, ``reason`` (when not), ``dir``,
    ``loads`` (kernels loaded from there by this process)."""
    return {k: v for k, v in _state.items() if k != "open"}


def describe() -> str:
    """One line for ``mmfeat info``: are kernels shipped, and if not, why not."""
    s = state()
    if s["active"]:
        return f"{s['signatures']} kernel signatures compiled at install ({s['dir']})"
    return f"no compiled kernels shipped: {s['reason']}; first calls compile"


def is_shipped(py_func) -> bool:
    """True when the shipped kernels are in use and hold some signature of ``py_func``."""
    shipped = _state.get("open")
    return shipped is not None and os.path.exists(shipped(py_func)._cache_file._index_path)


# --- which signatures to ship ------------------------------------------------------


def _kernel_dispatchers():
    """{dispatcher: (module, name)} for every CPU kernel a kernels module binds."""
    import importlib

    from numba.core.registry import CPUDispatcher

    for short in CPU_MODULES:
        importlib.import_module(f"{_PKG}.{short}")
    found = {}
    # the modules' own order first (a kernel is named by the module that binds it)
    names = [f"{_PKG}.{short}" for short in CPU_MODULES] + sorted(
        m for m in list(sys.modules) if m.startswith(_PKG + ".") and not m.endswith("_cuda"))
    for modname in dict.fromkeys(names):
        mod = sys.modules.get(modname)
        if mod is None:
            continue
        for name, obj in sorted(vars(mod).items()):
            if isinstance(obj, CPUDispatcher) and obj not in found:
                found[obj] = (mod.__name__, name)
    return found


def _sig_text(sig) -> str | None:
    """``repr`` of a signature when it evaluates back to the same types, else None
    (literal arguments: such kernels are compiled by the kernels that call them)."""
    from numba.core import types

    text = repr(tuple(sig))
    try:
        back = eval(text, dict(vars(types)))  # noqa: S307 - our own repr of Numba types
    except Exception:  # noqa: BLE001
        return None
    return text if tuple(back) == tuple(sig) else None


def signature_lines() -> list[str]:
    """Every signature this process compiled or loaded for a CPU kernel, one
    ``module<TAB>kernel<TAB>argument types`` line each, sorted.

    ``mmfeat compile --record-signatures FILE`` runs the workload, then writes these.
    """
    lines = set()
    for disp, (module, name) in _kernel_dispatchers().items():
        for sig in disp.signatures:
            text = _sig_text(sig)
            if text is not None:
                lines.add(f"{module}\t{name}\t{text}")
    return sorted(lines)


def write_signatures(path: str, lines: list[str]) -> None:
    """Write ``lines`` (:func:`signature_lines`) as a signatures file."""
    with open(path, "w") as f:
        f.write("# module\tkernel\targument types: compiled into the wheel "
                "(kernels/_prebuilt.py)\n")
        f.write("# regenerate: mmfeat compile --record-signatures "
                "kernels/prebuilt_signatures.txt\n")
        f.writelines(line + "\n" for line in lines)


def read_signatures(path: str = SIGNATURES_FILE) -> list[tuple[str, str, str]]:
    """The (module, kernel, argument types) lines of a signatures file."""
    out = []
    with open(path) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                module, name, text = line.rstrip("\n").split("\t")
                out.append((module, name, text))
    return out


# --- the build ---------------------------------------------------------------------


def _build_part(out_dir: str, signatures: str, modules: str) -> None:
    """Compile the lines of ``signatures`` for ``modules`` into ``out_dir`` (a child)."""
    from numba.core import types

    from . import _cache_lock

    _cache_lock.install()  # the other part saves into the same folder
    ShippedCache = _shipped_cache_class()
    stamp = (_PKG, kernels_digest())
    dispatchers = _kernel_dispatchers()
    for disp in dispatchers:  # callees too: they are saved as they compile
        if type(disp._cache).__name__ != "NullCache":
            disp._cache = ShippedCache(disp.py_func, out_dir, stamp)
    by_name = {v: k for k, v in dispatchers.items()}
    wanted = set(modules.split(","))
    ns = dict(vars(types))
    t0, n = time.process_time(), 0
    for module, name, text in read_signatures(signatures):
        if module in wanted:
            by_name[(module, name)].compile(eval(text, ns))  # noqa: S307
            n += 1
    print(f"mmfeat: {n} signatures of {modules} compiled in "
          f"{time.process_time() - t0:.1f} s of CPU", flush=True)


# CPU seconds each module's shipped signatures took to compile, one process each
# (2026-12-07, 2.45 GHz EPYC): image's Canny and colour kernels weigh most
_COMPILE_SECONDS = {"image": 53.0, "text": 23.0, "audio": 22.0, "image_texture": 21.0,
                    "audio_chroma": 20.0}


def _split(entries: list[tuple[str, str, str]], jobs: int) -> list[list[str]]:
    """Modules in ``jobs`` groups of about equal compile time (a signature count
    stands in for modules not in :data:`_COMPILE_SECONDS`)."""
    counts: dict[str, float] = {}
    for module, _, _ in entries:
        counts[module] = counts.get(module, 0) + 1
    for module in counts:
        counts[module] = _COMPILE_SECONDS.get(module.rpartition(".")[2], counts[module])
    groups: list[list[str]] = [[] for _ in range(jobs)]
    loads = [0] * jobs
    for module in sorted(counts, key=counts.get, reverse=True):
        i = loads.index(min(loads))
        groups[i].append(module)
        loads[i] += counts[module]
    return [g for g in groups if g]


def build(out_dir: str | None = None, signatures: str = SIGNATURES_FILE,
          jobs: int | None = None, log=print) -> dict:
    """Compile every line of ``signatures`` into ``out_dir`` (default: the package's
    ``_prebuilt``) and write its ``BUILD.json``; returns that record.

    ``jobs`` child processes (default: up to 2, one per CPU) share the modules;
    Numba compiles one kernel at a time per process.
    """
    out_dir = out_dir or os.path.join(PACKAGE_DIR, "_prebuilt")
    entries = read_signatures(signatures)
    jobs = max(1, min(jobs or min(2, os.cpu_count() or 1), len(entries) or 1))
    os.makedirs(out_dir, exist_ok=True)
    for name in os.listdir(out_dir):  # a previous build's (setuptools reuses build/)
        if name.endswith((".nbi", ".nbc")) or name == MANIFEST:
            os.remove(os.path.join(out_dir, name))
    root = os.path.dirname(PACKAGE_DIR)
    code = ("import sys, types\n"
            "if 'mmfeat' not in sys.modules:  # the kernels alone, not mmfeat's __init__\n"
            "    m = types.ModuleType('mmfeat'); m.__path__ = [sys.argv[1]]\n"
            "    sys.modules['mmfeat'] = m\n"
            "from mmfeat.kernels import _prebuilt\n"
            "_prebuilt._build_part(*sys.argv[2:])\n")
    t0 = time.perf_counter()
    env = {**os.environ, USE_ENV: "0", "PYTHONWARNINGS": "ignore"}
    procs = [subprocess.Popen([sys.executable, "-c", code, root, out_dir, signatures,
                               ",".join(group)], env=env)
             for group in _split(entries, jobs)]
    failed = [p.args[-1] for p in procs if p.wait() != 0]
    if failed:
        raise RuntimeError(f"compiling the shipped kernels of {failed} failed (see above)")
    record_ = {**_versions(), "digest": kernels_digest(), "signatures": len(entries),
               "jobs": len(procs), "seconds": round(time.perf_counter() - t0, 1),
               "built": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    with open(os.path.join(out_dir, MANIFEST), "w") as f:
        json.dump(record_, f, indent=1)
    if log is not None:
        log(f"mmfeat: compiled {len(entries)} kernel signatures into {out_dir} "
            f"in {record_['seconds']} s ({len(procs)} processes)")
    return record_


def main(argv: list[str] | None = None) -> int:
    """``build [OUT_DIR] [--signatures FILE] [--jobs N]``."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m mmfeat.kernels._prebuilt")
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="compile the signatures into a shipped-kernels folder")
    b.add_argument("out_dir", nargs="?", default=None)
    b.add_argument("--signatures", default=SIGNATURES_FILE)
    b.add_argument("--jobs", type=int, default=None)
    args = p.parse_args(argv)
    build(args.out_dir, args.signatures, args.jobs)
    return 0


if __name__ == "__main__":  # python -m: run the package's copy of this module
    import importlib

    sys.exit(importlib.import_module(f"{_PKG}._prebuilt").main())
