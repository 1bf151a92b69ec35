"""GPU text benchmark: mmfeat's vectorizers (backend="cuda") against scikit-learn.

    python benchmarks/gpu_bench_text.py --json $OUT/gpu_text.json    # run_gpu.sh does it

Ops (as in ``test_bench_text.py``): ``tfidf`` (``TfidfVectorizer().fit_transform``),
``tfidf_ngram12`` (``ngram_range=(1, 2)``), ``hashing``
(``HashingVectorizer().transform``), all with scikit-learn's defaults.

Corpus: the documents of ``test_bench_text.py`` (its seeded Zipf ``generated``
corpus and the standard library's ``stdlib`` paragraphs, interleaved by default),
``--unique-mb`` of distinct text tiled to the largest ``--mb`` size and held as one
``pyarrow.large_string`` array on the host; each size is a zero-copy slice of it.
The tiling repeats documents, so the vocabulary of every size is the unique
part's (recorded in the JSON as ``corpus.unique_mb``).

Entries per op and size (seconds: best of the timed runs, each ended by a device
synchronize; at the first size the runs follow a warm-up call, which compiles):

- ``cuda_e2e``: a new mmfeat vectorizer with ``backend="cuda"``, ``fit_transform``
  (``transform`` for hashing) of the pyarrow array. End to end: the host -> device
  copy of the Arrow buffers, the vocabulary counted on the device (sorted and
  pruned on the host), the device transform; the result is a
  ``cupyx.scipy.sparse.csr_matrix`` left on the device.
- ``cuda_transform`` (tfidf ops): ``transform`` of the same array by a vectorizer
  fitted on it (fit not timed); still includes the host -> device copy.
- ``cpu_e2e``: the same call with ``backend="cpu"`` (up to ``--cpu-max-mb``).
- ``sklearn_e2e`` / ``sklearn_transform``: scikit-learn on the same documents as
  a Python list of str (its native input; building the list is not timed), at
  sizes up to ``--sklearn-max-mb``. Larger sizes use the largest measured
  sklearn time scaled linearly by bytes, and say so: ``sklearn_extrapolated_from_mb``.

Ratios are ``sklearn seconds / mmfeat seconds`` (> 1: mmfeat is faster). The
host -> device copy of each size's Arrow buffers is also timed alone (``h2d``).

Parity: on the first ``--parity-mb`` of the corpus, the cuda result (copied to
the host) must equal scikit-learn's: same shape, indptr and indices, data within
1e-6, and the same ``vocabulary_`` for the tfidf ops.

Time: ``--budget-s`` bounds the run (default 200 s: the whole script then stays
near 4 minutes). Sizes run smallest first; a size whose cost, predicted linearly
from the previous size, does not fit in what is left is replaced by the largest
size that does (at least twice the previous one) or skipped, and recorded as
such; a case whose first call is slow gets fewer timed runs (``--case-s``).
Every case catches its own exceptions (a compile error, a device out of memory)
and records them in the JSON, so one failure does not lose the other figures.
The exit status is 1 when a case failed or parity does not hold.

Without a GPU, ``NUMBA_ENABLE_CUDASIM=1`` runs the cuda backend in Numba's
simulator on NumPy arrays: a smoke test of this script (``--mb 0.02``).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gpu_bench import Budget, Device, _version  # noqa: E402
from test_bench_text import generated_corpus, stdlib_corpus  # noqa: E402

from mmfeat import _bench  # noqa: E402
from mmfeat import config as mm_config  # noqa: E402
from mmfeat.backend import BackendUnavailableError, require_cuda  # noqa: E402
from mmfeat.cli import tables  # noqa: E402
from mmfeat.cli.args import int_at_least  # noqa: E402

#: op -> (class name, parameters); tfidf ops fit a vocabulary, hashing does not
OPS: dict[str, tuple[str, dict[str, Any]]] = {
    "tfidf": ("TfidfVectorizer", {}),
    "tfidf_ngram12": ("TfidfVectorizer", {"ngram_range": (1, 2)}),
    "hashing": ("HashingVectorizer", {}),
}
CORPORA = ("mixed", "generated", "stdlib")
TARGET_RATIO = 20.0  # the GPU target against scikit-learn
MB = 1e6


# --- corpus ------------------------------------------------------------------------


def _interleave(a: list[str], b: list[str]) -> list[str]:
    """Documents of ``a`` and ``b`` alternately (the longer one's tail at the end), so
    that any prefix of the corpus holds both kinds (a short prefix: put the list of
    shorter documents first)."""
    out: list[str] = []
    for x, y in zip(a, b, strict=False):
        out += (x, y)
    k = min(len(a), len(b))
    return out + a[k:] + b[k:]


def unique_documents(kind: str, mb: float) -> list[str]:
    """About ``mb`` MB of distinct documents of corpus ``kind``."""
    if kind == "generated":
        return list(generated_corpus(mb))
    if kind == "stdlib":
        return list(stdlib_corpus(mb))
    # the stdlib holds ~12 MB of paragraphs: the generated part makes up the rest
    std = list(stdlib_corpus(mb / 2))
    std_mb = sum(map(len, std)) / MB
    return _interleave(std, list(generated_corpus(max(mb - std_mb, mb / 2))))


def tiled_corpus(docs: list[str], target_bytes: int):
    """A ``pyarrow.large_string`` array of ``docs`` repeated until it holds at least
    ``target_bytes`` UTF-8 bytes, cut at a document boundary. The repeats are built
    from the Arrow buffers (one memory copy), not from Python strings."""
    import pyarrow as pa

    base = pa.array(docs, type=pa.large_string())
    _, off_buf, data_buf = base.buffers()
    offs = np.frombuffer(off_buf, np.int64)[: len(base) + 1]
    nbytes = int(offs[-1])
    if nbytes == 0:
        raise ValueError("the corpus is empty")
    reps = max(1, math.ceil(target_bytes / nbytes))
    buf = np.tile(np.frombuffer(data_buf, np.uint8)[:nbytes], reps)
    shifts = np.arange(reps, dtype=np.int64)[:, None] * nbytes
    all_offs = np.concatenate([(offs[None, :-1] + shifts).ravel(), [reps * nbytes]])
    n = int(min(np.searchsorted(all_offs, target_bytes, side="left"), len(all_offs) - 1))
    n = max(n, 1)
    all_offs = np.ascontiguousarray(all_offs[: n + 1])
    buf = buf[: int(all_offs[-1])]
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(all_offs), pa.py_buffer(buf))


def prefix(arr, target_bytes: int):
    """The shortest leading slice of ``arr`` (zero-copy) with >= ``target_bytes`` bytes
    (all of ``arr`` when it is shorter)."""
    _, off_buf, _ = arr.buffers()
    offs = np.frombuffer(off_buf, np.int64)[arr.offset : arr.offset + len(arr) + 1]
    n = int(np.searchsorted(offs - offs[0], target_bytes, side="left"))
    n = min(max(n, 1), len(arr))
    return arr.slice(0, n)


def nbytes_of(arr) -> int:
    _, off_buf, _ = arr.buffers()
    offs = np.frombuffer(off_buf, np.int64)[arr.offset : arr.offset + len(arr) + 1]
    return int(offs[-1] - offs[0])


# --- timing ------------------------------------------------------------------------


def _err(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc)[:500]}"


def timed(fn: Callable[[], Any], sync, repeat: int, case_s: float,
          warmup: bool = True) -> dict[str, Any]:
    """One warm-up call, then up to ``repeat`` timed calls (fewer when the warm-up
    shows that ``repeat`` calls would take more than ``case_s`` seconds). Without
    ``warmup`` (scikit-learn: nothing to compile) the first timed call decides."""
    times: list[float] = []
    warm = None
    runs = repeat
    while len(times) < runs:
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        t = time.perf_counter() - t0
        if warmup and warm is None:
            warm = t
        else:
            times.append(t)
        if len(times) <= 1:
            runs = max(1, min(repeat, int(case_s // max(t, 1e-9))))
    return {
        "seconds": min(times),
        "median_seconds": statistics.median(times),
        "seconds_all": times,
        "warmup_seconds": warm,
        "runs": len(times),
    }


def make_vectorizer(lib: str, op: str, backend: str | None = None):
    cls_name, params = OPS[op]
    if lib == "mmfeat":
        import mmfeat.text as mod

        return getattr(mod, cls_name)(backend=backend, **params)
    from sklearn.feature_extraction import text as mod

    return getattr(mod, cls_name)(**params)


def e2e_call(op: str, vec, docs):
    """The op's end-to-end call: fit_transform, or transform for the stateless hasher."""
    return vec.transform(docs) if op == "hashing" else vec.fit_transform(docs)


# --- parity -------------------------------------------------------------------------


def parity(op: str, arr, dev: Device) -> dict[str, Any]:
    """The cuda result on ``arr`` against scikit-learn's on the same documents."""
    docs = arr.to_pylist()
    vec = make_vectorizer("mmfeat", op, "cuda")
    X = e2e_call(op, vec, arr)
    dev.sync()
    # cupyx CSR -> scipy CSR (the entries keep their order); scipy already under the simulator
    got = X.get() if type(X).__module__.split(".")[0] == "cupyx" else X
    sk = make_vectorizer("sklearn", op)
    want = e2e_call(op, sk, docs)
    res: dict[str, Any] = {
        "n_docs": len(docs),
        "mb": nbytes_of(arr) / MB,
        "shape": list(got.shape),
        "nnz": int(got.nnz),
        "same_shape": got.shape == want.shape,
        "same_dtype": got.dtype == want.dtype,
    }
    if res["same_shape"]:
        res["same_indptr"] = bool(np.array_equal(got.indptr, want.indptr))
        same_idx = res["same_indptr"] and np.array_equal(got.indices, want.indices)
        res["same_indices"] = bool(same_idx)
        res["max_abs_diff"] = (
            float(np.max(np.abs(got.data - want.data), initial=0.0)) if same_idx else None
        )
    if op != "hashing":
        res["same_vocabulary"] = vec.vocabulary_ == sk.vocabulary_
        res["idf_max_abs_diff"] = float(np.max(np.abs(np.asarray(vec.idf_) - sk.idf_)))
    diff = res.get("max_abs_diff")
    res["ok"] = bool(
        res["same_shape"]
        and res["same_dtype"]
        and res.get("same_indices", False)
        and diff is not None
        and diff <= 1e-6
        and res.get("same_vocabulary", True)
    )
    return res


# --- one size -------------------------------------------------------------------------


def time_h2d(arr, dev: Device) -> dict[str, Any]:
    """The host -> device copy of the Arrow buffers alone (what the cuda calls start
    with), best of 3."""
    _, off_buf, data_buf = arr.buffers()
    offs = np.frombuffer(off_buf, np.int64)[arr.offset : arr.offset + len(arr) + 1]
    buf = np.frombuffer(data_buf, np.uint8)[int(offs[0]) : int(offs[-1])]
    nbytes = buf.nbytes + offs.nbytes
    xp = dev.xp

    def copy():
        return xp.array(buf), xp.array(offs)

    t = timed(copy, dev.sync, 3, 10.0)
    return {"bytes": nbytes, "seconds": t["seconds"], "gb_per_s": nbytes / t["seconds"] / 1e9}


def bench_size(op: str, arr, args, dev: Device, budget: Budget, log, sk_ref,
               first: bool = True) -> dict[str, Any]:
    """All entries of one op at one size; ``sk_ref[op]`` carries the largest measured
    sklearn times for extrapolation. Warm-up calls (``--no-warmup`` aside) run at the
    ``first`` size only: by then every kernel is compiled, and at the big sizes a
    warm-up would double the cost of a case."""
    size_b = nbytes_of(arr)
    mb = size_b / MB
    row: dict[str, Any] = {"op": op, "mb": mb, "n_docs": len(arr), "entries": {}}
    ent = row["entries"]
    stateful = op != "hashing"

    def run(name, fn, sync, repeat=args.repeat, warmup=True):
        warmup = warmup and args.warmup and first
        if budget.spent():
            ent[name] = {"skipped": f"time budget of {budget.seconds:.0f} s spent"}
            return
        log(f"[{budget.elapsed:6.1f}s] {op} {mb:.4g} MB: {name} ...")
        try:
            ent[name] = timed(fn, sync, repeat, args.case_s, warmup)
            ent[name]["mb_per_s"] = mb / ent[name]["seconds"]
        except Exception as exc:
            ent[name] = {"error": _err(exc), "traceback": traceback.format_exc()[-2000:]}
            log(f"{op} {mb:.4g} MB: {name} failed: {ent[name]['error']}")
        finally:
            dev.free()

    last: dict[str, Any] = {}  # the vectorizer of each lib's last e2e call, fitted

    def e2e(lib, backend, docs):
        vec = last[lib] = make_vectorizer(lib, op, backend)
        return e2e_call(op, vec, docs)

    def transform_entry(name, e2e_name, lib, backend, docs, sync, repeat):
        """transform by the vectorizer entry ``e2e_name`` fitted (fitted here if that
        entry failed or did not run)."""
        if budget.spent():
            ent[name] = {"skipped": f"time budget of {budget.seconds:.0f} s spent"}
            return
        if "seconds" not in ent.get(e2e_name, {}):
            last.pop(lib, None)  # a failed call may have left it half fitted
        try:
            fit_s = 0.0
            if lib not in last:
                t0 = time.perf_counter()
                last[lib] = make_vectorizer(lib, op, backend).fit(docs)
                fit_s = time.perf_counter() - t0
            fitted = last.pop(lib)
            run(name, lambda: fitted.transform(docs), sync, repeat, warmup=lib == "mmfeat")
            if fit_s:
                ent[name]["fit_seconds_untimed"] = fit_s
        except Exception as exc:
            ent[name] = {"error": "fit: " + _err(exc)}
        dev.free()

    run("cuda_e2e", lambda: e2e("mmfeat", "cuda", arr), dev.sync)
    if stateful:
        transform_entry("cuda_transform", "cuda_e2e", "mmfeat", "cuda", arr, dev.sync,
                        args.repeat)
    last.clear()
    no_sync = lambda: None  # noqa: E731
    if mb <= args.cpu_max_mb:
        run("cpu_e2e", lambda: e2e_call(op, make_vectorizer("mmfeat", op, "cpu"), arr), no_sync)
    else:
        ent["cpu_e2e"] = {"skipped": f"size above --cpu-max-mb {args.cpu_max_mb}"}
    if mb <= args.sklearn_max_mb:
        docs = arr.to_pylist()
        run("sklearn_e2e", lambda: e2e("sklearn", None, docs), no_sync, args.sklearn_repeat,
            warmup=False)
        if stateful:
            transform_entry("sklearn_transform", "sklearn_e2e", "sklearn", None, docs,
                            no_sync, args.sklearn_repeat)
        last.clear()
        del docs
        measured = {k: ent[k]["seconds"] for k in ("sklearn_e2e", "sklearn_transform")
                    if "seconds" in ent.get(k, {})}
        if measured:
            sk_ref[op] = (size_b, measured)
        row["sklearn_extrapolated_from_mb"] = None
    elif op in sk_ref:
        ref_b, measured = sk_ref[op]
        row["sklearn_extrapolated_from_mb"] = ref_b / MB
        for k, s in measured.items():
            ent[k] = {
                "seconds": s * size_b / ref_b,
                "extrapolated_from_mb": ref_b / MB,
                "note": "not run at this size: the time measured at extrapolated_from_mb "
                "scaled linearly by bytes",
            }
    else:
        row["sklearn_extrapolated_from_mb"] = None
        for k in ("sklearn_e2e", "sklearn_transform") if stateful else ("sklearn_e2e",):
            ent[k] = {"skipped": "above --sklearn-max-mb and no smaller sklearn time to scale"}
    row["ratios"] = ratios(ent)
    r = row["ratios"].get("cuda_e2e_vs_sklearn")
    row["meets_20x"] = None if r is None else bool(r >= TARGET_RATIO)
    return row


def predict_seconds(results: list[dict[str, Any]], mb: float, args) -> float | None:
    """What the entries of the last size run would cost at ``mb``: each one's median
    scaled linearly by size, times the runs :func:`timed` would do, plus the untimed
    fits; entries that will not run at ``mb`` (sklearn and cpu above their limits)
    count nothing. Warm-ups (the JIT compilation) are not what is scaled: there are
    none after the first size. None: nothing to go by."""
    if not results:
        return None
    last = max(r["mb"] for r in results)
    scale = mb / last
    total = 0.0
    for r in results:
        if r["mb"] != last:
            continue
        for name, e in r["entries"].items():
            if "median_seconds" not in e:
                continue
            if name.startswith("sklearn") and mb > args.sklearn_max_mb:
                continue
            if name.startswith("cpu") and mb > args.cpu_max_mb:
                continue
            t = e["median_seconds"] * scale
            repeat = args.sklearn_repeat if name.startswith("sklearn") else args.repeat
            runs = max(1, min(repeat, int(args.case_s // max(t, 1e-9))))
            # no warm-up after the first size (see bench_size)
            total += runs * t + e.get("fit_seconds_untimed", 0.0) * scale
    return total


def _size_that_fits(results, mb: float, predicted: float | None, left: float) -> float | None:
    """The largest size (MB) predicted to fit in ``left`` seconds, with a 10% margin
    and in steps of 64 MB above 128 MB, when it is at least twice the largest size
    run so far (the corpus then still grows by a useful factor); else None."""
    if not results or predicted is None or left <= 0:
        return None
    fit = 0.9 * mb * left / predicted
    if fit >= 128:
        fit = math.floor(fit / 64) * 64
    return fit if fit >= 2 * max(r["mb"] for r in results) else None


def ratios(ent: dict[str, Any]) -> dict[str, float]:
    def s(name):
        return ent.get(name, {}).get("seconds")

    out = {}
    for key, num, den in (
        ("cuda_e2e_vs_sklearn", "sklearn_e2e", "cuda_e2e"),
        ("cuda_transform_vs_sklearn_transform", "sklearn_transform", "cuda_transform"),
        ("cpu_e2e_vs_sklearn", "sklearn_e2e", "cpu_e2e"),
        ("cuda_e2e_vs_cpu_e2e", "cpu_e2e", "cuda_e2e"),
    ):
        if s(num) is not None and s(den):
            out[key] = s(num) / s(den)
    return out


# --- report ----------------------------------------------------------------------------


def format_report(report: dict[str, Any]) -> str:
    dev = report["device"]
    cfg = report["config"]
    corpus = report.get("corpus", {})
    lines = [
        f"device: {dev.get('name', 'Numba CUDA simulator' if dev.get('simulator') else '?')}",
        f"corpus: {corpus.get('kind')} ({corpus.get('unique_mb', 0):.3g} MB unique, tiled), "
        f"pyarrow large_string on the host; best of up to {cfg['repeat']} "
        + ("after a warm-up" if cfg.get("warmup") else "(no warm-up)"),
        "ratio = scikit-learn time / mmfeat time (> 1: mmfeat is faster); "
        "e2e = fit_transform (hashing: transform), incl. host->device copy and the CPU fit",
        "",
    ]
    rows = [("op", "MB", "docs", "cuda e2e", "cuda transform", "cpu e2e", "sklearn e2e",
             "e2e vs sk", "transform vs sk", "cpu vs sk")]

    def cell(e):
        if "seconds" in e:
            return tables.fmt_seconds(e["seconds"]) + ("*" if "extrapolated_from_mb" in e else "")
        return "error" if "error" in e else "-"

    for r in report["results"]:
        e, q = r["entries"], r["ratios"]
        rows.append((
            r["op"], f"{r['mb']:.4g}", str(r["n_docs"]),
            cell(e.get("cuda_e2e", {})), cell(e.get("cuda_transform", {})),
            cell(e.get("cpu_e2e", {})), cell(e.get("sklearn_e2e", {})),
            *(tables.fmt_ratio(q[k]) if k in q else "-" for k in (
                "cuda_e2e_vs_sklearn", "cuda_transform_vs_sklearn_transform",
                "cpu_e2e_vs_sklearn")),
        ))
    lines += tables.text_table(rows)
    if any(r.get("sklearn_extrapolated_from_mb") for r in report["results"]):
        lines.append("* scikit-learn not run at this size: scaled linearly from the largest "
                     "size it ran at (sklearn_extrapolated_from_mb)")
    if any("seconds" in h for h in report.get("h2d", [])):
        lines += [""] + [
            f"host->device copy of the Arrow buffers, {h['mb']:.4g} MB: "
            f"{tables.fmt_seconds(h['seconds'])} ({h['gb_per_s']:.1f} GB/s)"
            for h in report["h2d"] if "seconds" in h
        ]
    lines.append("")
    for op, p in report["parity"].items():
        if "error" in p:
            lines.append(f"parity {op}: ERROR {p['error']}")
        else:
            lines.append(
                f"parity {op} ({p['n_docs']} docs, {p['mb']:.3g} MB): "
                f"{'OK' if p['ok'] else 'MISMATCH'} (max|diff| {p.get('max_abs_diff')}"
                + (f", same vocabulary: {p['same_vocabulary']}" if "same_vocabulary" in p
                   else "") + ")"
            )
    for s in report["skipped_sizes"]:
        lines.append(f"skipped {s['mb']:.4g} MB: {s['reason']}")
    for r in report["results"]:
        if "error" in r:
            lines.append(f"FAILED {r['op']} {r['mb']:.4g} MB: {r['error']}")
        for name, e in r["entries"].items():
            if "error" in e:
                lines.append(f"FAILED {r['op']} {r['mb']:.4g} MB {name}: {e['error']}")
            elif "skipped" in e:
                lines.append(f"skipped {r['op']} {r['mb']:.4g} MB {name}: {e['skipped']}")
    if "error" in report:
        lines.append(f"FAILED: {report['error']}")
    lines.append(f"total {report['elapsed_s']:.1f} s")
    return "\n".join(lines)


# --- main -----------------------------------------------------------------------------


def _mb_list(text: str) -> list[float]:
    try:
        vals = sorted({float(v) for v in text.split(",") if v.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated MB sizes, got {text!r}") from None
    if not vals or vals[0] <= 0:
        raise argparse.ArgumentTypeError(f"expected sizes > 0 MB, got {text!r}")
    return vals


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gpu_bench_text.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--mb", type=_mb_list, default=_mb_list("64,1024"),
                   help="corpus sizes in MB of UTF-8 text, comma-separated, run smallest "
                   "first; a size that does not fit the budget is replaced by the largest "
                   "one that does (default: 64,1024)")
    p.add_argument("--ops", default=",".join(OPS),
                   help="comma-separated subset of: " + ", ".join(OPS) + " (default: all)")
    p.add_argument("--corpus", choices=CORPORA, default="mixed",
                   help="generated, stdlib, or both interleaved (default: %(default)s)")
    p.add_argument("--unique-mb", type=float, default=32.0,
                   help="distinct text before tiling (default: %(default)s; the stdlib "
                   "alone has ~12 MB)")
    p.add_argument("--repeat", type=int_at_least(1), default=3,
                   help="timed mmfeat runs after a warm-up (default: %(default)s)")
    p.add_argument("--sklearn-repeat", type=int_at_least(1), default=1,
                   help="timed scikit-learn runs after a warm-up (default: %(default)s)")
    p.add_argument("--case-s", type=float, default=20.0,
                   help="fewer timed runs when they would take longer than this "
                   "(default: %(default)s)")
    p.add_argument("--sklearn-max-mb", type=float, default=64.0,
                   help="run scikit-learn up to this size, scale beyond (default: "
                   "%(default)s)")
    p.add_argument("--cpu-max-mb", type=float, default=64.0,
                   help="run mmfeat backend='cpu' up to this size (default: %(default)s)")
    p.add_argument("--parity-mb", type=float, default=2.0,
                   help="corpus prefix checked against scikit-learn (default: %(default)s)")
    p.add_argument("--budget-s", type=float, default=200.0,
                   help="skip the sizes predicted not to fit in this many seconds "
                   "(default: %(default)s)")
    p.add_argument("--no-warmup", dest="warmup", action="store_false",
                   help="time mmfeat's first call too (always so under the simulator, "
                   "where nothing compiles)")
    p.add_argument("--json", metavar="PATH", help="write the results as JSON to PATH")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    ops = [o.strip() for o in args.ops.split(",") if o.strip()]
    bad = [o for o in ops if o not in OPS]
    if not ops or bad:
        parser.error(f"--ops: unknown or no op {bad}; choose from {', '.join(OPS)}")
    if not args.budget_s > 0:
        parser.error(f"--budget-s must be > 0, got {args.budget_s}")
    log = (lambda s: None) if args.quiet else (lambda s: print(s, file=sys.stderr, flush=True))
    budget = Budget(args.budget_s)
    report: dict[str, Any] = {
        "config": {
            "mb": args.mb, "ops": {o: OPS[o][0] + str(OPS[o][1] or "()") for o in ops},
            "repeat": args.repeat, "sklearn_repeat": args.sklearn_repeat,
            "case_s": args.case_s, "sklearn_max_mb": args.sklearn_max_mb,
            "cpu_max_mb": args.cpu_max_mb, "parity_mb": args.parity_mb,
            "budget_s": args.budget_s,
            "input": "pyarrow large_string array on the host (mmfeat); a Python list of "
            "str (scikit-learn)",
            "timer": "time.perf_counter around a device synchronize; best of up to repeat "
            "runs (fewer when one takes over case_s / repeat), after one warm-up call at "
            "the first size only",
            "ratio": "scikit-learn seconds / mmfeat seconds (> 1: mmfeat is faster)",
            "e2e": "fit_transform (hashing: transform) with a new vectorizer: host->device "
            "copy, vocabulary counted on the device, transform on the device; output left "
            "on the device",
        },
        "machine": _bench.machine_info(),
        "device": {},
        "corpus": {},
        "parity": {},
        "parity_ok": None,
        "h2d": [],
        "results": [],
        "skipped_sizes": [],
    }
    report["machine"]["versions"]["sklearn"] = _version("scikit-learn")
    report["machine"]["versions"]["pyarrow"] = _version("pyarrow")
    try:
        require_cuda()
    except BackendUnavailableError as exc:
        report["error"] = str(exc)
        report["elapsed_s"] = budget.elapsed
        print(f"gpu_bench_text: {exc}\n(set NUMBA_ENABLE_CUDASIM=1 for a smoke run without "
              "a GPU)", file=sys.stderr)
        if args.json:
            _bench.write_json(report, args.json)
        return 1
    dev = Device()
    report["device"] = dev.info
    report["machine"]["versions"]["numba_cuda"] = _version("numba_cuda")
    saved_tpb = mm_config.THREADS_PER_BLOCK
    if dev.simulator:
        args.warmup = False  # the simulator interprets the kernels: nothing to compile
        # the simulator runs one Python thread per CUDA thread (as tests/cudasim does)
        mm_config.THREADS_PER_BLOCK = min(saved_tpb, 32)
    report["config"]["threads_per_block"] = mm_config.THREADS_PER_BLOCK
    report["config"]["warmup"] = args.warmup
    try:
        _run(args, ops, report, dev, budget, log)
    except Exception as exc:  # outside the per-case guards (the corpus, say): still report
        report["error"] = _err(exc)
        report["traceback"] = traceback.format_exc()[-3000:]
    finally:
        mm_config.THREADS_PER_BLOCK = saved_tpb
    report["elapsed_s"] = budget.elapsed
    print(format_report(report))
    if args.json:
        _bench.write_json(report, args.json)
        print(f"wrote {args.json}")
    failed = [e for r in report["results"] for e in r["entries"].values() if "error" in e]
    failed += [r for r in report["results"] if "error" in r]
    return 0 if report["parity_ok"] and not failed and "error" not in report else 1


def _run(args, ops, report, dev, budget, log) -> None:
    """Corpus, parity, then the sizes (see the module docstring)."""

    # corpus: the unique part, tiled once to the largest size; every size is a prefix
    top = max(args.mb)
    parity_mb = min(args.parity_mb, min(args.mb))
    unique_mb = min(args.unique_mb, top)
    log(f"[{budget.elapsed:6.1f}s] corpus: {args.corpus}, {unique_mb:.3g} MB unique, "
        f"tiled to {top:.4g} MB ...")
    uniq = unique_documents(args.corpus, unique_mb)
    full = tiled_corpus(uniq, int(top * MB))
    report["corpus"] = {
        "kind": args.corpus,
        "unique_docs": len(uniq),
        "unique_mb": sum(len(d.encode("utf-8")) for d in uniq) / MB,
        "tiled": True,
        "build_seconds": budget.elapsed,
    }
    del uniq

    # parity first: it is small, and a wrong result makes the timings moot
    for op in ops:
        log(f"[{budget.elapsed:6.1f}s] parity {op} ({parity_mb:.3g} MB; a first cuda "
            "call compiles) ...")
        try:
            report["parity"][op] = parity(op, prefix(full, int(parity_mb * MB)), dev)
        except Exception as exc:
            report["parity"][op] = {"ok": False, "error": _err(exc),
                                    "traceback": traceback.format_exc()[-2000:]}
            log(f"parity {op} failed: {report['parity'][op]['error']}")
        dev.free()
    report["parity_ok"] = all(p.get("ok") is True for p in report["parity"].values())

    sk_ref: dict[str, tuple[int, dict[str, float]]] = {}
    for size in args.mb:
        arr = prefix(full, int(size * MB))
        mb = nbytes_of(arr) / MB
        left = args.budget_s - budget.elapsed
        predicted = predict_seconds(report["results"], mb, args)
        if left <= 0 or (predicted is not None and predicted > left):
            why = (f"predicted {predicted:.0f} s (linear from the previous size) > "
                   f"{left:.0f} s left of --budget-s" if left > 0 else "time budget spent")
            smaller = _size_that_fits(report["results"], mb, predicted, left)
            if smaller is not None:
                why += f"; ran {smaller:.4g} MB instead"
            report["skipped_sizes"].append({"mb": mb, "reason": why})
            log(f"skip {mb:.4g} MB: {why}")
            if smaller is None:
                continue
            arr = prefix(full, int(smaller * MB))
            mb = nbytes_of(arr) / MB
        try:
            h = time_h2d(arr, dev) if dev.gpu else {}
            report["h2d"].append({"mb": mb, **h})
        except Exception as exc:
            report["h2d"].append({"mb": mb, "error": _err(exc)})
        dev.free()
        first = not report["results"]
        for op in ops:
            try:
                row = bench_size(op, arr, args, dev, budget, log, sk_ref, first)
            except Exception as exc:  # outside the per-entry guards: keep the rest
                row = {"op": op, "mb": mb, "n_docs": len(arr), "entries": {},
                       "ratios": {}, "error": _err(exc)}
            report["results"].append(row)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
