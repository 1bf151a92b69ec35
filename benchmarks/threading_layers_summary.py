"""Per-op ratios against the anchors under each threading layer
(``bench_threading_layers.sh``), and the image A/B pairs' median times.

    python benchmarks/threading_layers_summary.py OUTDIR [SUMMARY.json]
"""

import glob
import json
import os
import statistics
import sys


def _load(path):
    with open(path) as f:
        return json.load(f)


def collect(d: str) -> dict:
    rows: dict = {}

    def add(key, layer, val):
        rows.setdefault(key, {}).setdefault(layer, []).append(val)

    for layer in ("tbb", "omp"):
        for f in sorted(glob.glob(f"{d}/image_{layer}_*.json")):
            for row in _load(f)["results"]:
                add(f"image {row['op']} vs OpenCV", layer,
                    row["ratios"].get("opencv", float("nan")))
                add(f"image {row['op']} ms", layer, row["seconds"] * 1e3)
        for f in sorted(glob.glob(f"{d}/audio_{layer}_*.json")):
            res = _load(f)["results"]
            for row in res:
                if row["impl"] != "librosa":
                    continue
                mm = next(x for x in res
                          if x["op"] == row["op"] and x["impl"].startswith("mmfeat"))
                add(f"audio {row['op']} vs librosa", layer,
                    row["seconds_min"] / mm["seconds_min"])
                add(f"audio {row['op']} ms", layer, mm["seconds_min"] * 1e3)
        for f in sorted(glob.glob(f"{d}/text_{layer}_*.json")):
            for row in _load(f)["results"]:
                add(f"text {row['corpus']} {row['op']} vs sklearn", layer, row["speedup"])
                add(f"text {row['corpus']} {row['op']} ms", layer, row["mmfeat_s"] * 1e3)
    ab: dict = {}
    for f in sorted(glob.glob(f"{d}/ab_*.json")):
        layer = os.path.basename(f).split("_")[1]
        for row in _load(f)["results"]:
            ab.setdefault(row["op"], {}).setdefault(layer, []).append(row["seconds"] * 1e3)
    return {"runs": rows, "image_ab_ms": ab}


def _fmt(xs) -> str:
    return " / ".join(f"{x:.2f}" for x in xs)


def main(argv) -> int:
    out = collect(argv[1])
    print(f"{'entry':45s} {'tbb':>18s} {'omp':>18s}")
    for k, v in out["runs"].items():
        print(f"{k:45s} {_fmt(v.get('tbb', [])):>18s} {_fmt(v.get('omp', [])):>18s}")
    if out["image_ab_ms"]:
        print("\nimage A/B pairs, ms per batch (median of the runs)")
        for op, v in out["image_ab_ms"].items():
            t = statistics.median(v.get("tbb", [float("nan")]))
            o = statistics.median(v.get("omp", [float("nan")]))
            print(f"  {op:22s} tbb {t:7.1f}   omp {o:7.1f}")
    if len(argv) > 2:
        with open(argv[2], "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
