"""argparse types and checks shared by the commands, and the error convention.

User errors (a missing file, a bad column, nothing left after cleaning) print
one line ``mmfeat <command>: error: ...`` and return 1; argparse's own errors
exit 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


class UserError(Exception):
    """A problem with the user's input; printed as one line, exit status 1."""


def say(*parts, file=None):
    print(*parts, file=file or sys.stdout, flush=True)


def int_at_least(minimum: int):
    """An argparse ``type=`` accepting integers >= ``minimum``, with a clear message."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected an integer >= {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {value}")
        return value

    return parse


positive_int = int_at_least(1)


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {value}")
    return value


def image_size(text: str):
    try:
        parts = [int(p) for p in text.lower().replace("x", ",").split(",") if p]
    except ValueError:
        parts = []
    if len(parts) not in (1, 2) or min(parts) < 1:
        raise argparse.ArgumentTypeError(f"expected SIZE or HxW (e.g. 64 or 64x96), got {text!r}")
    return (parts[0], parts[-1])


def add_backend(p):
    from ..backend import BACKENDS

    p.add_argument("--backend", choices=BACKENDS, default=None,
                   help="compute backend (default: cpu; cuda needs CuPy and a GPU)")


def check_backend(backend):
    if backend == "cuda":
        from ..backend import BackendUnavailableError, require_cuda

        try:
            require_cuda()
        except BackendUnavailableError as exc:
            raise UserError(f"--backend cuda: {exc}") from None


def check_out_dir(path, argname: str) -> None:
    """Fail before the work, not after it, when an output's folder does not exist."""
    if path is not None and not Path(path).resolve().parent.is_dir():
        raise UserError(f"{argname}: folder {str(Path(path).parent)!r} does not exist")


def run(func, args, command: str) -> int:
    """Run ``func(args)``; a UserError becomes one line on stderr and status 1."""
    from ..backend import BackendUnavailableError

    try:
        return func(args)
    except (BackendUnavailableError, UserError) as exc:
        print(f"mmfeat {command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"mmfeat {command}: interrupted", file=sys.stderr)
        return 130
