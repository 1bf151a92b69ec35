"""Ratios from a pytest-benchmark JSON file: each entry against mmfeat's in its group.

Usage::

    pytest benchmarks --benchmark-only --benchmark-json=bench.json
    python benchmarks/ratios.py bench.json [--stat mean|median|min]

For each group (one per op) it prints every entry's time per call and
``ratio = entry time / mmfeat time``: the anchor's slowdown against mmfeat, so a
ratio above 1 means mmfeat is that many times faster, below 1 slower. When
entries ran on different numbers of images (``extra_info["n_images"]``) the
times are compared per image.
"""

from __future__ import annotations

import argparse
import json
import sys

from mmfeat.cli.tables import fmt_seconds


def _impl(entry: dict) -> str:
    extra = entry.get("extra_info") or {}
    if extra.get("impl"):
        return str(extra["impl"])
    name = entry.get("name", "?")
    # test_image_op[sobel-opencv] -> opencv
    if "[" in name and name.endswith("]"):
        return name[name.index("[") + 1 : -1].split("-", 1)[-1]
    return name


def ratios(data: dict, stat: str = "mean") -> dict[str, list[dict]]:
    """group -> rows ``{impl, seconds, per_image, ratio}`` (ratio None without mmfeat)."""
    groups: dict[str, list[dict]] = {}
    for entry in data.get("benchmarks", []):
        stats = entry.get("stats") or {}
        if stat not in stats:
            continue
        n = (entry.get("extra_info") or {}).get("n_images") or 1
        groups.setdefault(entry.get("group") or "(no group)", []).append(
            {"impl": _impl(entry), "seconds": float(stats[stat]), "per_image": stats[stat] / n}
        )
    for rows in groups.values():
        ref = next((r for r in rows if r["impl"].startswith("mmfeat")), None)
        for r in rows:
            r["ratio"] = r["per_image"] / ref["per_image"] if ref and ref["per_image"] else None
        rows.sort(key=lambda r: (not r["impl"].startswith("mmfeat"), r["per_image"]))
    return groups


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("json_file", help="output of pytest --benchmark-json=FILE")
    parser.add_argument(
        "--stat",
        choices=("mean", "median", "min"),
        default="mean",
        help="which statistic to compare (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    try:
        with open(args.json_file, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, json.JSONDecodeError) as exc:
        parser.error(f"cannot read {args.json_file}: {exc}")
    groups = ratios(data, args.stat)
    if not groups:
        print(f"no benchmarks with a {args.stat!r} statistic in {args.json_file}", file=sys.stderr)
        return 1
    width = max(len(r["impl"]) for rows in groups.values() for r in rows)
    print(f"{args.stat} time per call; ratio = entry / mmfeat (> 1: mmfeat is faster)")
    for group in sorted(groups):
        print(f"\n{group}")
        for r in groups[group]:
            ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}x"
            print(f"  {r['impl']:<{width}}  {fmt_seconds(r['seconds']):>10}  {ratio:>8}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
