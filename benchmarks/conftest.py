"""Shared data for the pytest-benchmark suites.

Run with ``pytest benchmarks --benchmark-only`` (``pytest`` alone collects only
``tests/``). The batch is 16 RGB 1024x1024 uint8 photographs from
``mmfeat._bench.make_batch``; shrink it for a quick check with
``MMFEAT_BENCH_N=4 MMFEAT_BENCH_SIZE=256``. ``MMFEAT_BENCH_BACKEND`` picks the
mmfeat backend (default ``cpu``).
"""

from __future__ import annotations

import os

import pytest

from mmfeat import _bench


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise pytest.UsageError(f"{name} must be a positive integer, got {text!r}") from None
    if value < 1:
        raise pytest.UsageError(f"{name} must be a positive integer, got {value}")
    return value


BENCH_N = _env_int("MMFEAT_BENCH_N", _bench.DEFAULT_N)
BENCH_SIZE = _env_int("MMFEAT_BENCH_SIZE", _bench.DEFAULT_SIZE)
BENCH_BACKEND = os.environ.get("MMFEAT_BENCH_BACKEND", "cpu")


def pytest_report_header(config):
    return (
        f"mmfeat benchmarks: {BENCH_N} x {BENCH_SIZE}x{BENCH_SIZE} RGB uint8 "
        f"({_bench.batch_source()}), mmfeat backend={BENCH_BACKEND}"
    )


@pytest.fixture(scope="session")
def batch():
    """The host batch, (N, H, W, 3) uint8 C-contiguous, shared by every entry."""
    return _bench.make_batch(BENCH_N, BENCH_SIZE)


@pytest.fixture(scope="session")
def mmfeat_batch(batch):
    """The batch where the mmfeat backend computes (device-resident for cuda)."""
    if BENCH_BACKEND not in ("numpy", "cpu", "cuda"):
        raise pytest.UsageError(
            f"MMFEAT_BENCH_BACKEND must be numpy, cpu or cuda, got {BENCH_BACKEND!r}"
        )
    if BENCH_BACKEND == "cuda":
        from mmfeat.backend import BackendUnavailableError, require_cuda

        try:
            require_cuda()
        except BackendUnavailableError as exc:
            pytest.skip(str(exc))
    return _bench.on_backend(batch, BENCH_BACKEND)
