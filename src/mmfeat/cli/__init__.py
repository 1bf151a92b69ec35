"""The ``mmfeat`` command.

``mmfeat info``
    what is usable on this machine (:func:`mmfeat.backends`).
``mmfeat compile``
    compile and cache the CPU kernels ahead of their first use (``mmfeat._warmup``);
    ``--record-signatures FILE`` lists the signatures reached (for the wheel build).
``mmfeat bench image``
    each image op's time and throughput beside OpenCV and scikit-image on a
    generated batch of photographs (:mod:`mmfeat.cli.bench`; the timing code
    lives in ``mmfeat._bench``).
``mmfeat demo`` / ``mmfeat extract`` / ``mmfeat train`` / ``mmfeat predict``
    the multimodal pipeline (:mod:`mmfeat.cli.pipeline` over :mod:`mmfeat.run`).

:mod:`mmfeat.cli.args` holds the argument types and the error convention,
:mod:`mmfeat.cli.tables` the table formatter.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence


def _build_parser() -> argparse.ArgumentParser:
    from .. import __version__

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

    from . import bench as _bench_cmd

    _bench_cmd.add_bench(sub)

    comp = sub.add_parser(
        "compile",
        help="compile and cache the CPU kernels ahead of their first use",
        description="Call every CPU op once on tiny inputs so that Numba compiles its "
        "kernels and caches the machine code (beside the installed kernels, in "
        "NUMBA_CACHE_DIR, or in a user cache folder where those are read-only). Later "
        "processes load them instead of compiling. A wheel install already ships "
        "the kernels these calls reach, compiled at build time (`mmfeat info` says "
        "whether they are in use); this compiles them where they are not (an editable "
        "install, a wheel built on another CPU model).",
    )
    comp.add_argument(
        "modalities", nargs="*", metavar="MODALITY",
        help="any of image, text, audio, pipeline (default: all)",
    )
    comp.add_argument(
        "--record-signatures", metavar="FILE", default=None,
        help="run every modality, then write the kernel signatures reached to FILE "
        "(for developers: kernels/prebuilt_signatures.txt lists what setup.py compiles "
        "into the wheel)",
    )
    comp.set_defaults(func=_cmd_compile, parser=comp)

    from . import pipeline as _pipeline_cmds

    _pipeline_cmds.add_demo(sub)
    _pipeline_cmds.add_extract(sub)
    _pipeline_cmds.add_train(sub)
    _pipeline_cmds.add_predict(sub)
    return parser


def _cmd_info(args: argparse.Namespace) -> int:
    from ..backend import backends

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

    from .._warmup import MODALITIES, compile_kernels

    bad = [m for m in args.modalities if m not in MODALITIES]
    if bad:
        args.parser.error(f"unknown modality {', '.join(map(repr, bad))}; choose from "
                          f"{', '.join(MODALITIES)}")
    t = time.perf_counter()
    if args.record_signatures:
        from .._warmup import record_signatures

        if args.modalities:
            args.parser.error("--record-signatures runs every modality: name none")
        n = record_signatures(args.record_signatures)
        print(f"{n} kernel signatures written to {args.record_signatures} "
              f"in {time.perf_counter() - t:.1f} s")
        return 0
    compile_kernels(args.modalities or MODALITIES, log=print)
    print(f"{'total':9s} {time.perf_counter() - t:6.1f} s")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mmfeat`` console script; returns the exit status.

    Bad arguments print a message naming the argument and exit with status 2
    (argparse's convention).
    """
    from .args import run

    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        return int(run(args.func, args, args.command) or 0)
    except BrokenPipeError:  # `mmfeat info | head`: stop quietly, as Unix tools do
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the interpreter closes it
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
