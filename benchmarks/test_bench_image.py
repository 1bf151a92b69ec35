"""Image ops beside their anchors: one pytest-benchmark group per op, same batch.

Each group holds mmfeat (backend from ``MMFEAT_BENCH_BACKEND``, default cpu)
and the CPU libraries it replaces, all on the whole batch:

=====================  ==========================================================
group                  anchors
=====================  ==========================================================
sobel                  OpenCV (cvtColor + 2 Sobel CV_32F + magnitude), scikit-image
color_histogram_hsv    OpenCV (cvtColor HSV + calcHist [8,8,8]), skimage rgb2hsv +
                       np.histogramdd
canny                  scikit-image (rgb2gray + feature.canny), OpenCV (GaussianBlur
                       + Canny)
gradient_histogram     OpenCV Sobel + cartToPolar + np.bincount
rgb_to_gray            cv2.cvtColor, skimage.color.rgb2gray
rgb_to_hsv             cv2.cvtColor, skimage.color.rgb2hsv
=====================  ==========================================================

scikit-image is slow on the whole batch, so its entries run once
(``benchmark.pedantic(rounds=1)``) after a one-image warm-up. mmfeat is called
once before timing so that Numba's compilation (or cache load) is not measured.
``benchmarks/ratios.py`` turns the ``--benchmark-json`` output into ratios.
"""

from __future__ import annotations

import importlib

import pytest
from conftest import BENCH_BACKEND, BENCH_N, BENCH_SIZE

from mmfeat import _bench

CASES = [
    pytest.param(op, name, id=f"{op}-{name}")
    for op in _bench.OPS
    for name in (f"mmfeat_{BENCH_BACKEND}", *_bench.ANCHORS[op])
]


def _require(module: str) -> None:
    try:
        importlib.import_module(module)
    except Exception as exc:
        pytest.skip(f"{module} is not importable: {exc}")


@pytest.mark.parametrize(("op", "impl"), CASES)
def test_image_op(benchmark, batch, mmfeat_batch, op, impl):
    benchmark.group = op
    benchmark.extra_info.update({"op": op, "impl": impl, "n_images": BENCH_N, "size": BENCH_SIZE})
    if impl.startswith("mmfeat_"):
        fn = _bench.mmfeat_op(op, BENCH_BACKEND)
        sync = _bench.device_sync(BENCH_BACKEND)

        def run():
            out = fn(mmfeat_batch)
            if sync is not None:
                sync()
            return out

        run()  # warm-up: Numba compiles (or loads its cache) on the first call
        out = benchmark(run)
        assert out.shape[0] == BENCH_N
        return
    module, afn = _bench.ANCHORS[op][impl]
    _require(module)
    afn(batch[:1])  # warm-up: lazy imports, first-call set-up
    if _bench.is_slow_anchor(impl):
        out = benchmark.pedantic(afn, args=(batch,), rounds=1, iterations=1)
    else:
        out = benchmark(afn, batch)
    assert len(out) == BENCH_N
