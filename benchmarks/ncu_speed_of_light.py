"""Nsight Compute's SpeedOfLight section for mmfeat's sobel and colour histogram kernels.

    python benchmarks/ncu_speed_of_light.py --n 64 --size 1024 --json ncu.json

Runs itself under ``ncu --section SpeedOfLight --clock-control none`` (the card's
clocks are left as they are) with ``--child``: one ``sobel`` and one
``color_histogram`` call on a device-resident batch of uint8 RGB photographs, after
a warm-up call each outside the profiled range (``--launch-skip``), and writes the
per-kernel rows of ncu's CSV (duration, memory and compute throughput in % of
peak, DRAM throughput, ...) as JSON. ``run_gpu.sh`` runs it as its "ncu" step,
where ncu exists.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import subprocess
import sys

KERNELS = "regex:sobel_kernel|color_histogram_kernel"


def child(n: int, size: int) -> None:
    import cupy

    import mmfeat.image as I
    from mmfeat import _bench

    imgs = cupy.asarray(_bench.make_batch(n, size))
    for _ in range(2):  # the first round compiles (and is skipped by ncu)
        I.sobel(imgs, backend="cuda")
        I.color_histogram(imgs, backend="cuda")
        cupy.cuda.Device().synchronize()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=64)
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--json", metavar="PATH")
    p.add_argument("--ncu", default="ncu")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(args.n, args.size)
        return 0
    cmd = [args.ncu, "--section", "SpeedOfLight", "--clock-control", "none",
           "--kernel-name-base", "mangled", "-k", KERNELS, "--launch-skip", "2",
           "--launch-count", "2", "--csv", "--page", "details",
           sys.executable, __file__, "--child", "--n", str(args.n), "--size", str(args.size)]
    print(" ".join(cmd), file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    sys.stderr.write(proc.stderr[-4000:])
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith('"')]
    rows = list(csv.DictReader(io.StringIO("\n".join(lines)))) if lines else []
    kernels: dict = {}
    for r in rows:
        name = r.get("Kernel Name", "?")
        short = "sobel" if "sobel" in name else "color_histogram" if "histogram" in name else name
        key = f"{short}#{r.get('ID', '')}"
        kernels.setdefault(key, {"kernel": name[:200]})[
            f"{r.get('Metric Name')} [{r.get('Metric Unit')}]"] = r.get("Metric Value")
    doc = {"command": cmd, "exit_code": proc.returncode, "kernels": kernels,
           "stdout_tail": proc.stdout[-3000:] if not kernels else None}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
    print(json.dumps(kernels, indent=1))
    return 0 if proc.returncode == 0 and kernels else 1


if __name__ == "__main__":
    sys.exit(main())
