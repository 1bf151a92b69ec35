"""The ``mmfeat`` command.

``mmfeat info``
    what is usable on this machine (:func:`mmfeat.backends`).
``mmfeat compile``
    compile and cache the CPU kernels ahead of their first use (``mmfeat._warmup``).
``mmfeat bench image``
    each image op's time and throughput beside OpenCV and scikit-image on a
    generated batch of photographs (the code lives in ``mmfeat._bench``).
``mmfeat demo`` / ``mmfeat extract`` / ``mmfeat train``
    the multimodal pipeline (``mmfeat._cli_pipeline``, ``mmfeat.jobs``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence


def _build_parser() -> argparse.ArgumentParser:
    from . import __version__
    from ._bench import DEFAULT_N, DEFAULT_SIZE, DEFAULT_SKIMAGE_N, OPS, int_at_least
    from .backend import BACKENDS

    parser = argparse.ArgumentParser(
        prog="mmfeat",
        description="Classic image, text and audio features on NumPy, Numba CPU and CUDA.",
    )
    parser.add_argument("--version", action="version", version=f"mmfeat {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    info = sub.add_parser(
        "info",
        help="show which backends and optional libraries are usable here",
        description="Show which backends (numpy, cpu, cuda) and optional libraries "
        "(cuDF, cuML, Dask) are usable on this machine, and why not.",
    )
    info.add_argument("--json", action="store_true", help="print JSON instead of a table")
    info.set_defaults(func=_cmd_info)

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
    img.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    img.set_defaults(func=_cmd_bench_image, parser=img)

    comp = sub.add_parser(
        "compile",
        help="compile and cache the CPU kernels ahead of their first use",
        description="Call every CPU op once on tiny inputs so that Numba compiles its "
        "kernels and caches the machine code (beside the installed kernels, in "
        "NUMBA_CACHE_DIR, or in a user cache folder where those are read-only). Later "
        "processes load them instead of compiling: run it once after installing, or "
        "when building a container image.",
    )
    comp.add_argument(
        "modalities", nargs="*", metavar="MODALITY",
        help="any of image, text, audio, pipeline (default: all)",
    )
    comp.set_defaults(func=_cmd_compile, parser=comp)

    from . import _cli_pipeline

    _cli_pipeline.add_demo(sub)
    _cli_pipeline.add_extract(sub)
    _cli_pipeline.add_train(sub)
    return parser


def _cmd_info(args: argparse.Namespace) -> int:
    from .backend import backends

    report = backends()
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    rows = [("backend", "available", "detail")]
    rows += [(name, "yes" if r["available"] else "no", r["detail"]) for name, r in report.items()]
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    for i, (name, ok, detail) in enumerate(rows):
        print(f"{name:<{w0}}  {ok:<{w1}}  {detail}")
        if i == 0:
            print(f"{'-' * w0}  {'-' * w1}  {'-' * 6}")
    return 0


def _cmd_compile(args: argparse.Namespace) -> int:
    import time

    from ._warmup import MODALITIES, compile_kernels

    bad = [m for m in args.modalities if m not in MODALITIES]
    if bad:
        args.parser.error(f"unknown modality {', '.join(map(repr, bad))}; choose from "
                          f"{', '.join(MODALITIES)}")
    t = time.perf_counter()
    compile_kernels(args.modalities or MODALITIES, log=print)
    print(f"{'total':9s} {time.perf_counter() - t:6.1f} s")
    return 0


def _cmd_bench_image(args: argparse.Namespace) -> int:
    from . import _bench
    from .backend import BackendUnavailableError, require_cuda

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
    print(_bench.format_table(report))
    if args.json:
        try:
            _bench.write_json(report, args.json)
        except OSError as exc:
            print(f"mmfeat bench: error: cannot write {args.json}: {exc}", file=sys.stderr)
            return 1
        print(f"\nwrote {args.json}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mmfeat`` console script; returns the exit status.

    Bad arguments print a message naming the argument and exit with status 2
    (argparse's convention).
    """
    from ._cli_pipeline import run

    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        return int(run(args.func, args, args.command) or 0)
    except BrokenPipeError:  # `mmfeat info | head`: stop quietly, as Unix tools do
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the interpreter closes it
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
