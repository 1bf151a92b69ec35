"""The pipeline on Dask against the single-process pipeline, on the demo dataset.

Writes the demo dataset as PNG/WAV files plus a manifest (``--n`` items), then
times, on the same files in the same run:

- ``single``: :class:`mmfeat.FeaturePipeline` ``fit_transform`` on the manifest
  plus ``FeatureSet.write_parquet`` in one process (what ``mmfeat extract`` does);
- ``dask_W``: :func:`mmfeat.distributed.extract` on a ``LocalCluster`` of W
  worker processes (one thread each; Numba gets cores / W threads per worker),
  for each W in ``--workers``.

Both sides are warmed first on a small manifest (Numba loads its cache, workers
import mmfeat), so the figures compare steady-state extraction; the cluster's
start-up is reported on its own. It reports rows/s, the scaling efficiency
``T(1 worker) / (W * T(W workers))`` and the overhead of Dask with one worker
``T(dask_1) / T(single) - 1`` (the issue's target: under 15 %), and checks
that the outputs agree.

    python benchmarks/bench_distributed.py --n 20000 --workers 1 2 \\
        --json benchmarks/results/cpu_distributed.json

The issue asks for N = 200,000 (``--n 200000``: about 2.5 GB of files); on the
shared 2-core machine of this repository we measure smaller N and say so.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np


def _settings(sr):
    return {"batch_size": 2048, "image_size": (64, 64), "sr": sr, "text_components": 64}


def _single(manifest, settings):
    from mmfeat import FeaturePipeline
    from mmfeat.data import read_manifest
    from mmfeat.pipeline import default_extractors

    frame = read_manifest(manifest)
    pipe = FeaturePipeline(
        default_extractors(sr=settings["sr"], text_components=settings["text_components"]),
        batch_size=settings["batch_size"], image_size=settings["image_size"],
        sr=settings["sr"], progress=False,
    )
    features = pipe.fit_transform(frame)
    return features, pipe.summary_


def _time_single(manifest, settings, out):
    t0 = time.perf_counter()
    features, summary = _single(manifest, settings)
    features.write_parquet(out)
    return time.perf_counter() - t0, features, summary


def _time_dask(manifest, settings, client, out):
    from mmfeat import distributed

    t0 = time.perf_counter()
    summary = distributed.extract(manifest, client=client, output=out, overwrite=True,
                                  **settings)
    return time.perf_counter() - t0, summary


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000, help="items (default: %(default)s)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=1, help="timed runs each (best is kept)")
    ap.add_argument("--data", help="folder for the demo files (default: a temporary one)")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)

    from mmfeat import distributed
    from mmfeat.data import demo_dataset
    from mmfeat.fusion import read_parquet

    root = Path(args.data or tempfile.mkdtemp(prefix="mmfeat-bench-dist-"))
    t0 = time.perf_counter()
    data = demo_dataset(args.n, seed=0)
    manifest = data.write_manifest(root / "demo")
    write_s = time.perf_counter() - t0
    warm = demo_dataset(64, seed=1).write_manifest(root / "warm")
    settings = _settings(data.sr)
    print(f"{args.n} items written in {write_s:.1f} s to {manifest.parent}")

    _time_single(warm, settings, root / "warm-single.parquet")
    single = []
    for _ in range(args.repeat):
        secs, features, summary = _time_single(manifest, settings, root / "single.parquet")
        single.append(secs)
    t_single = min(single)
    print(f"single process      {t_single:8.2f} s  {args.n / t_single:8.0f} rows/s")

    results = {}
    for w in args.workers:
        t0 = time.perf_counter()
        with distributed.make_client(workers=w) as client:
            start_s = time.perf_counter() - t0
            _time_dask(warm, settings, client, root / "warm-dask")
            runs = []
            for _ in range(args.repeat):
                secs, dsummary = _time_dask(manifest, settings, client, root / f"dask{w}")
                runs.append(secs)
        t = min(runs)
        got = read_parquet(root / f"dask{w}")
        assert list(got.ids) == list(features.ids), "row order differs from the single run"
        diff = {m: float(np.abs(got.blocks[m] - features.blocks[m]).max())
                for m in features.blocks}
        assert dsummary["kept"] == summary["kept"] and dsummary["input"] == summary["input"]
        results[w] = {"seconds": t, "rows_per_s": args.n / t, "cluster_start_s": start_s,
                      "partitions": dsummary["partitions"], "max_abs_diff": diff,
                      "runs": runs}
        print(f"dask, {w} worker(s)  {t:8.2f} s  {args.n / t:8.0f} rows/s  "
              f"(cluster start {start_s:.1f} s, {dsummary['partitions']} partitions, "
              f"max |diff| {max(diff.values()):.2g})")

    base = results.get(1, {}).get("seconds")
    for w, r in results.items():
        if base:
            r["scaling_efficiency"] = base / (w * r["seconds"])
        r["overhead_vs_single"] = r["seconds"] / t_single - 1.0
    for w, r in results.items():
        eff = r.get("scaling_efficiency")
        print(f"  {w} worker(s): overhead vs single {100 * r['overhead_vs_single']:+.1f} %"
              + (f", scaling efficiency {100 * eff:.0f} %" if eff is not None else ""))
    report = {
        "n": args.n,
        "settings": {**settings, "image_size": list(settings["image_size"])},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(),
                    "load_average_at_end": list(os.getloadavg())},
        "single": {"seconds": t_single, "rows_per_s": args.n / t_single, "runs": single},
        "dask": {str(w): r for w, r in results.items()},
        "write_manifest_s": write_s,
    }
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.json}")
    return report


if __name__ == "__main__":
    main()
