"""``mmfeat bench image``: each image op beside OpenCV and scikit-image.

The batch, the anchors' wrappers and the timing live in ``mmfeat._bench``;
this module parses, runs and prints.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .args import UserError, int_at_least
from .tables import fmt_ratio, fmt_seconds, text_table


def add_bench(sub):
    from .._bench import DEFAULT_N, DEFAULT_SIZE, DEFAULT_SKIMAGE_N, OPS
    from ..backend import BACKENDS

    bench = sub.add_parser(
        "bench",
        help="quick benchmarks against OpenCV and scikit-image",
        description="Quick benchmarks of mmfeat against the libraries it replaces.",
    )
    bench_sub = bench.add_subparsers(dest="suite", metavar="SUITE")
    bench_sub.required = True
    img = bench_sub.add_parser(
        "image",
        help="image ops vs OpenCV and scikit-image",
        description="Time each image op on a "
        "batch of photographs generated from scikit-image's samples, beside OpenCV and "
        "scikit-image on the same batch. scikit-image runs on --skimage-n images and is "
        "scaled per image. After a warm-up call each, --repeat rounds time mmfeat and "
        "every anchor once (interleaved, so that both meet the same machine load); the "
        "best round of each is kept. "
        "Ratio = anchor time / mmfeat time (> 1: mmfeat is faster).",
    )
    img.add_argument(
        "--n",
        type=int_at_least(1),
        default=DEFAULT_N,
        help="images in the batch (default: %(default)s)",
    )
    img.add_argument(
        "--size",
        type=int_at_least(1),
        default=DEFAULT_SIZE,
        help="image height and width (default: %(default)s)",
    )
    img.add_argument(
        "--repeat",
        type=int_at_least(1),
        default=3,
        help="timed rounds, the best of each call is kept (default: %(default)s)",
    )
    img.add_argument(
        "--backend", choices=BACKENDS, default="cpu", help="mmfeat backend (default: %(default)s)"
    )
    img.add_argument(
        "--ops",
        default=None,
        help="comma-separated subset of: " + ", ".join(OPS) + " (default: all)",
    )
    img.add_argument(
        "--skimage-n",
        type=int_at_least(1),
        default=DEFAULT_SKIMAGE_N,
        help="images scikit-image runs on, its time scaled to --n (default: %(default)s)",
    )
    img.add_argument("--no-anchors", action="store_true", help="time mmfeat only")
    img.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    img.add_argument("--plot", metavar="PATH",
                     help="also draw the ratios against each anchor, per op, to PATH (.png, "
                     ".svg or .pdf; needs matplotlib: pip install 'mmfeat[report]')")
    img.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    img.set_defaults(func=cmd_bench_image, parser=img)


def cmd_bench_image(args: argparse.Namespace) -> int:
    from .. import _bench
    from ..backend import BackendUnavailableError, require_cuda

    parser: argparse.ArgumentParser = args.parser
    if args.ops is None:
        ops = list(_bench.OPS)
    else:
        ops = [o.strip() for o in args.ops.split(",") if o.strip()]
    bad = [o for o in ops if o not in _bench.OPS]
    if not ops or bad:
        what = f"unknown op(s) {', '.join(map(repr, bad))}" if bad else "no op given"
        parser.error(f"--ops: {what}; choose from {', '.join(_bench.OPS)}")
    if args.backend == "cuda":
        try:
            require_cuda()
        except BackendUnavailableError as exc:
            parser.error(f"--backend cuda: {exc}")
    if args.plot is not None:
        _check_plot(args)
    log = None if args.quiet else (lambda s: print(s, file=sys.stderr, flush=True))
    report = _bench.run_image_bench(
        n=args.n,
        size=args.size,
        repeat=args.repeat,
        backend=args.backend,
        ops=ops,
        skimage_n=args.skimage_n,
        anchors=not args.no_anchors,
        log=log,
    )
    print(format_image_bench(report))
    if args.json:
        try:
            _bench.write_json(report, args.json)
        except OSError as exc:
            print(f"mmfeat bench: error: cannot write {args.json}: {exc}", file=sys.stderr)
            return 1
        print(f"\nwrote {args.json}")
    if args.plot is not None:
        from ..report import write_bench_plot

        try:
            write_bench_plot(report, args.plot)
        except ValueError as exc:  # every anchor skipped: nothing to draw
            raise UserError(f"--plot: {exc}") from None
        except OSError as exc:
            raise UserError(f"--plot: cannot write {args.plot}: {exc}") from None
        print(f"\nwrote {args.plot}")
    return 0


def _check_plot(args: argparse.Namespace) -> None:
    """--plot's problems, said before the benchmark runs."""
    from ..report import INSTALL_HINT, plot_format, require_matplotlib
    from .args import check_out_dir

    if args.no_anchors:
        args.parser.error("--plot draws the ratios against the anchors: drop --no-anchors")
    try:
        plot_format(args.plot)
    except ValueError as exc:
        args.parser.error(f"--plot: {exc}")
    check_out_dir(args.plot, "--plot")
    try:
        require_matplotlib()
    except ImportError:
        raise UserError(f"--plot {args.plot} needs matplotlib: {INSTALL_HINT}") from None



def _family_cell(row: dict[str, Any], family: str) -> str:
    cells = []
    for name, t in row["anchors"].items():
        if name.split("+")[0] == family:
            cells.append(f"{fmt_ratio(row['ratios'][name])} ({fmt_seconds(t)})")
    for name in row["skipped"]:
        if name.split("+")[0] == family:
            cells.append("skipped")
    return ", ".join(cells) if cells else "-"


def format_image_bench(report: dict[str, Any]) -> str:
    """The human-readable table of :func:`run_image_bench`'s report."""
    cfg = report["config"]
    head = ("op", "backend", "mmfeat", "Mpix/s", "vs OpenCV", "vs scikit-image")
    rows = [head]
    for r in report["results"]:
        rows.append(
            (
                r["op"],
                r["backend"],
                fmt_seconds(r["seconds"]),
                f"{r['mpix_per_s']:.4g}",
                _family_cell(r, "opencv"),
                _family_cell(r, "skimage"),
            )
        )
    lines = [
        f"batch: {cfg['n']} x {cfg['size']}x{cfg['size']} RGB uint8 ({cfg['data']}); "
        f"best of {cfg['repeat']} interleaved rounds; "
        f"scikit-image on {cfg['skimage_n']} image(s), scaled",
        "ratio = anchor time / mmfeat time (> 1: mmfeat is faster); anchor time in ()",
        "versions: " + ", ".join(f"{k} {v}" for k, v in
                                 report.get("machine", {}).get("versions", {}).items() if v),
        "",
    ]
    lines += text_table(rows)
    skipped = [
        f"  {r['op']} / {name}: {why}"
        for r in report["results"]
        for name, why in r["skipped"].items()
    ]
    if skipped:
        lines += ["", "skipped anchors:", *skipped]
    return "\n".join(lines)


