"""mmfeat's bare CUDA kernels timed with CUDA events, launch by launch, on a GPU.

    python benchmarks/gpu_kernel_events.py --json gpu_kernels.json          # full sizes
    python benchmarks/gpu_kernel_events.py --n 16 --clips 1000 --docs-mb 4  # reduced

Every op runs through its public function (``backend="cuda"``) on device-resident
data, so each kernel gets the launch shape its launcher gives it. While an op is
timed, every Numba CUDA launch is bracketed by two CUDA events on the stream it
runs on (the legacy default stream: CuPy's and the launchers'), and the time
between them is charged to that kernel; the op's own events bracket the whole
call (kernels, cuFFT, CuPy reductions and sorts). Reported per op: the median
over ``--repeat`` calls (after a warm-up call that compiles) of the op time, and
per kernel its launches per call and median milliseconds per call, with the
kernels' share of the op. The image kernels also report bytes moved (input read
+ output written) per second and the fraction of the device's peak bandwidth.

Needs CuPy and a GPU (numba-cuda's dispatcher is hooked: ``CUDADispatcher.call``);
elsewhere the JSON says ``skipped`` with the reason and the exit status is 0.
``benchmarks/run_gpu.sh`` runs it as its "kernels" step. The redesigned kernels
of issue 15 add their variants here, each beside the one it replaces.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import defaultdict


def why_not() -> str | None:
    """None when CuPy sees a GPU and the simulator is off, else why not."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return "NUMBA_ENABLE_CUDASIM=1: CUDA events need a real GPU"
    try:
        import cupy
    except Exception as exc:
        return f"CuPy is not importable ({type(exc).__name__}: {exc})"
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return "CuPy sees no CUDA device"
    except Exception as exc:
        return f"CuPy sees no CUDA device ({exc})"
    return None


class LaunchTimer:
    """Brackets every Numba CUDA kernel launch with CUDA events while active."""

    def __init__(self, cupy):
        self.cupy = cupy
        self.active = False
        self.events: list[tuple[str, object, object]] = []
        from numba.cuda import dispatcher

        cls = dispatcher.CUDADispatcher
        original = cls.call
        timer = self

        def call(disp, args, launch_config):
            if not timer.active:
                return original(disp, args, launch_config)
            name = _kernel_name(disp.py_func)
            start, end = cupy.cuda.Event(), cupy.cuda.Event()
            stream = _stream_of(cupy, launch_config)
            start.record(stream)
            try:
                return original(disp, args, launch_config)
            finally:
                end.record(stream)
                timer.events.append((name, start, end))

        cls.call = call

    def collect(self) -> dict[str, tuple[int, float]]:
        """{kernel: (launches, milliseconds)} since the last collect."""
        out: dict[str, list] = defaultdict(lambda: [0, 0.0])
        for name, start, end in self.events:
            end.synchronize()
            out[name][0] += 1
            out[name][1] += self.cupy.cuda.get_elapsed_time(start, end)
        self.events.clear()
        return {k: (v[0], v[1]) for k, v in out.items()}


def _stream_of(cupy, launch_config):
    stream = getattr(launch_config, "stream", 0)
    handle = getattr(stream, "handle", stream)
    handle = getattr(handle, "value", handle)
    if not handle:
        return cupy.cuda.Stream.null
    return cupy.cuda.ExternalStream(int(handle))


def _kernel_name(fn) -> str:
    module = fn.__module__.rsplit(".", 1)[-1]
    return f"{module}.{fn.__qualname__.split('.<locals>.')[0]}"


def time_op(cupy, timer: LaunchTimer, fn, repeat: int) -> dict:
    fn()  # compile (or load) every kernel, plan every FFT
    cupy.cuda.Device().synchronize()
    timer.collect()
    op_ms, per_kernel = [], defaultdict(list)
    launches = {}
    for _ in range(repeat):
        start, end = cupy.cuda.Event(), cupy.cuda.Event()
        timer.active = True
        start.record()
        fn()
        end.record()
        timer.active = False
        end.synchronize()
        op_ms.append(cupy.cuda.get_elapsed_time(start, end))
        for name, (n, ms) in timer.collect().items():
            per_kernel[name].append(ms)
            launches[name] = n
    kernels = {
        name: {"launches_per_call": launches[name], "ms_median": statistics.median(ms),
               "ms_all": ms}
        for name, ms in per_kernel.items()
    }
    op = statistics.median(op_ms)
    return {"op_ms_median": op, "op_ms_all": op_ms, "kernels": kernels,
            "kernel_share": sum(k["ms_median"] for k in kernels.values()) / op if op else None}


def run(args) -> dict:
    import cupy
    import numpy as np

    import mmfeat.audio as A
    import mmfeat.image as I
    import mmfeat.text as T
    from mmfeat import _bench

    timer = LaunchTimer(cupy)
    dev = cupy.cuda.Device()
    props = cupy.cuda.runtime.getDeviceProperties(dev.id)
    # peak DRAM bandwidth from the memory clock (kHz) and bus width (bits), DDR x2
    peak = 2.0 * props["memoryClockRate"] * 1e3 * props["memoryBusWidth"] / 8.0
    info = {"device": props["name"].decode() if isinstance(props["name"], bytes)
            else str(props["name"]), "sm_count": props["multiProcessorCount"],
            "peak_bandwidth_GBps_from_clocks": peak / 1e9}
    results = {}

    imgs = cupy.asarray(_bench.make_batch(args.n, args.size))  # uint8 RGB photographs
    px = args.n * args.size * args.size
    in_bytes = imgs.nbytes
    image_ops = {
        # the sliding window (issue 15), its float16 output, and the tile kernel it
        # replaced (config.SOBEL_WINDOW = False), side by side
        "sobel": (lambda: I.sobel(imgs, backend="cuda"), in_bytes + px * 4),
        "sobel_float16": (lambda: I.sobel(imgs, dtype="float16", backend="cuda"),
                          in_bytes + px * 2),
        "sobel_tile_before": (lambda: _with_config(SOBEL_WINDOW=False)(
            lambda: I.sobel(imgs, backend="cuda")), in_bytes + px * 4),
        # image_hist_cuda (issue 15): integer HSV bins, word loads, warp-aggregated counts
        "color_histogram_hsv": (lambda: I.color_histogram(imgs, backend="cuda"), in_bytes),
        "color_histogram_rgb": (lambda: I.color_histogram(imgs, space="rgb", backend="cuda"),
                                in_bytes),
        "gradient_histogram": (lambda: I.gradient_histogram(imgs, backend="cuda"), in_bytes),
        "rgb_to_gray": (lambda: I.rgb_to_gray(imgs, backend="cuda"), in_bytes + px * 4),
        # canny's bytes a pixel past the input (issue 15's fused front end and tiled
        # hysteresis): gray written 4 and read 4 by the front end, its candidate and
        # strong row masks (2 bits) written once and read by hyst_tile and
        # hyst_output, the bool output 1: about 10. Every launch has its own events,
        # so the stages show in "kernels"
        "canny": (lambda: I.canny(imgs, backend="cuda"), in_bytes + px * 10),
    }
    for name, (fn, moved) in image_ops.items():
        r = time_op(cupy, timer, fn, args.repeat)
        r["bytes_moved"] = moved
        r["GBps"] = moved / (r["op_ms_median"] * 1e-3) / 1e9
        r["fraction_of_peak"] = r["GBps"] * 1e9 / peak
        results[f"image/{name}"] = r
        _progress(name, r)

    rng = np.random.default_rng(0)
    y = cupy.asarray(rng.standard_normal((args.clips, 16000)).astype(np.float32) * 0.1)
    kw = dict(sr=16000, n_fft=512, hop_length=160, n_mels=64)
    for name, fn in {
        "melspectrogram": lambda: A.melspectrogram(y, **kw, backend="cuda"),
        "mfcc": lambda: A.mfcc(y, **kw, n_mfcc=20, backend="cuda"),
    }.items():
        r = time_op(cupy, timer, fn, args.repeat)
        results[f"audio/{name}"] = r
        _progress(name, r)

    docs = _docs(args.docs_mb)
    for name, fn in {
        "tfidf_fit_transform": lambda: T.TfidfVectorizer(backend="cuda").fit_transform(docs),
        "hashing_transform": lambda: T.HashingVectorizer(backend="cuda").transform(docs),
    }.items():
        r = time_op(cupy, timer, fn, args.repeat)
        results[f"text/{name}"] = r
        _progress(name, r)
    return {"device": info,
            "config": {"n": args.n, "size": args.size, "clips": args.clips,
                       "docs_mb": args.docs_mb, "repeat": args.repeat,
                       "timer": "CUDA events around each Numba launch and around each op "
                                "call; medians over repeat calls after one warm-up"},
            "results": results}


def _with_config(**values):
    """A call of ``fn`` with ``mmfeat.config`` values set, restored after."""
    from mmfeat import config

    def call(fn):
        old = {k: getattr(config, k) for k in values}
        for k, v in values.items():
            setattr(config, k, v)
        try:
            return fn()
        finally:
            for k, v in old.items():
                setattr(config, k, v)

    return call


def _docs(mb: float) -> list[str]:
    """Zipf-like English-ish documents, about ``mb`` MB."""
    import numpy as np

    rng = np.random.default_rng(1)
    words = np.array([f"w{i}" for i in range(20000)])
    p = 1.0 / np.arange(1, 20001)
    p /= p.sum()
    out, size = [], 0
    while size < mb * 1e6:
        d = " ".join(words[rng.choice(20000, 120, p=p)])
        out.append(d)
        size += len(d) + 1
    return out


def _progress(name, r):
    ks = ", ".join(f"{k.split('.')[-1]} {v['ms_median']:.3f} ms x{v['launches_per_call']}"
                   for k, v in sorted(r["kernels"].items(), key=lambda kv: -kv[1]["ms_median"]))
    print(f"{name}: op {r['op_ms_median']:.3f} ms; kernels: {ks}", file=sys.stderr, flush=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=64, help="images (default 64)")
    p.add_argument("--size", type=int, default=1024, help="image side (default 1024)")
    p.add_argument("--clips", type=int, default=10000, help="1 s clips at 16 kHz")
    p.add_argument("--docs-mb", type=float, default=16.0, help="text size in MB")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--json", metavar="PATH")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    why = why_not()
    doc = {"skipped": why} if why else run(args)
    doc["seconds"] = round(time.perf_counter() - t0, 2)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
    if why:
        print(f"gpu_kernel_events: skipped: {why}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
