"""Audio ops beside librosa (and scipy.signal for the STFT): one pytest-benchmark
group per op, all on the same batch of speech-like clips.

The batch (issue 4): 512 one-second clips at 16 kHz, n_fft=512, hop 160, 64 mels,
20 MFCC, librosa's other defaults (Hann, centred, constant padding, Slaney mel with
norm "slaney"). librosa gets the whole (N, T) batch in one call, its fastest use.

=============  ===================================================================
group          entries
=============  ===================================================================
mfcc           mmfeat.audio.mfcc, librosa.feature.mfcc
melspectrogram mmfeat.audio.melspectrogram, librosa.feature.melspectrogram
stft           mmfeat.audio.stft, librosa.stft, scipy.signal.stft (zero boundary)
=============  ===================================================================

Run::

    pytest benchmarks/test_bench_audio.py --benchmark-only      # pytest-benchmark groups
    python benchmarks/test_bench_audio.py --json benchmarks/results/cpu_audio.json

The script form times every entry interleaved (round-robin, so load from other
processes hits all entries alike) and writes the ratios. ``MMFEAT_AUDIO_BENCH_N``
shrinks the batch (default 512); ``MMFEAT_BENCH_BACKEND`` picks mmfeat's backend.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import pytest

SR = 16000
N_FFT = 512
HOP = 160
N_MELS = 64
N_MFCC = 20
N_CLIPS = int(os.environ.get("MMFEAT_AUDIO_BENCH_N", "512") or 512)
BACKEND = os.environ.get("MMFEAT_BENCH_BACKEND", "cpu")


def make_clips(n: int = N_CLIPS, seconds: float = 1.0, sr: int = SR, seed: int = 0):
    """(n, T) float32 speech-like clips: harmonic sources (f0 90-250 Hz) shaped by
    three formant peaks, syllable-rate amplitude envelopes, and noise."""
    rng = np.random.default_rng(seed)
    T = int(seconds * sr)
    t = np.arange(T) / sr
    y = np.zeros((n, T), dtype=np.float64)
    f0 = rng.uniform(90, 250, (n, 1))
    formants = rng.uniform([300, 900, 2200], [900, 2300, 3200], (n, 3))
    for k in range(1, 30):
        fk = k * f0
        gain = sum(1.0 / (1.0 + ((fk - formants[:, j : j + 1]) / 120.0) ** 2) for j in range(3))
        y += gain / k * np.sin(2 * np.pi * fk * t + rng.uniform(0, 2 * np.pi, (n, 1)))
    y *= 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(2, 5, (n, 1)) * t) ** 2
    y += 0.01 * rng.standard_normal((n, T))
    y /= np.abs(y).max(axis=1, keepdims=True)
    return np.ascontiguousarray(0.5 * y, dtype=np.float32)


def _mmfeat(op):
    import mmfeat.audio as A

    if op == "mfcc":
        return lambda y: A.mfcc(y, sr=SR, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS,
                                n_mfcc=N_MFCC, backend=BACKEND)
    if op == "melspectrogram":
        return lambda y: A.melspectrogram(y, sr=SR, n_fft=N_FFT, hop_length=HOP,
                                          n_mels=N_MELS, backend=BACKEND)
    return lambda y: A.stft(y, n_fft=N_FFT, hop_length=HOP, backend=BACKEND)


def _librosa(op):
    import librosa

    if op == "mfcc":
        return lambda y: librosa.feature.mfcc(y=y, sr=SR, n_fft=N_FFT, hop_length=HOP,
                                              n_mels=N_MELS, n_mfcc=N_MFCC)
    if op == "melspectrogram":
        return lambda y: librosa.feature.melspectrogram(y=y, sr=SR, n_fft=N_FFT,
                                                        hop_length=HOP, n_mels=N_MELS)
    return lambda y: librosa.stft(y, n_fft=N_FFT, hop_length=HOP)


def _scipy_stft():
    import scipy.signal

    return lambda y: scipy.signal.stft(y, nperseg=N_FFT, noverlap=N_FFT - HOP, nfft=N_FFT,
                                       window="hann", boundary="zeros", padded=True)[2]


IMPLS = {
    "mfcc": {"mmfeat": lambda: _mmfeat("mfcc"), "librosa": lambda: _librosa("mfcc")},
    "melspectrogram": {"mmfeat": lambda: _mmfeat("melspectrogram"),
                       "librosa": lambda: _librosa("melspectrogram")},
    "stft": {"mmfeat": lambda: _mmfeat("stft"), "librosa": lambda: _librosa("stft"),
             "scipy": _scipy_stft},
}
CASES = [pytest.param(op, impl, id=f"{op}-{impl}") for op in IMPLS for impl in IMPLS[op]]


@pytest.fixture(scope="module")
def clips():
    return make_clips()


@pytest.mark.parametrize(("op", "impl"), CASES)
def test_audio_op(benchmark, clips, op, impl):
    try:
        fn = IMPLS[op][impl]()
    except ImportError as exc:
        pytest.skip(f"{impl} is not importable: {exc}")
    name = f"mmfeat_{BACKEND}" if impl == "mmfeat" else impl
    benchmark.group = op
    benchmark.extra_info.update({"op": op, "impl": name, "n_images": len(clips),
                                 "n_clips": len(clips), "seconds_per_clip": 1.0})
    fn(clips[:2])  # warm-up: Numba compile or cache load, lazy imports
    out = benchmark(fn, clips)
    assert out.shape[0] == len(clips)


def run(n: int = N_CLIPS, repeat: int = 7) -> dict:
    """Interleaved timings of every entry; ratio = anchor time / mmfeat time."""
    load_before = os.getloadavg()
    y = make_clips(n)
    fns = {(op, impl): make() for op in IMPLS for impl, make in IMPLS[op].items()}
    for fn in fns.values():
        fn(y)  # warm-up on the full batch (page faults, plans, JIT caches)
    times: dict = {k: [] for k in fns}
    for _ in range(repeat):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn(y)
            times[k].append(time.perf_counter() - t0)
    results = []
    for op in IMPLS:
        base = statistics.median(times[(op, "mmfeat")])
        base_min = min(times[(op, "mmfeat")])
        for impl in IMPLS[op]:
            ts = times[(op, impl)]
            results.append({
                "op": op, "impl": f"mmfeat_{BACKEND}" if impl == "mmfeat" else impl,
                "seconds_median": statistics.median(ts), "seconds_min": min(ts),
                "seconds_all": ts,
                "ratio_median": statistics.median(ts) / base,
                "ratio_min": min(ts) / base_min,
            })
    from mmfeat import _bench

    return {
        "machine": _bench.machine_info(),
        "config": {
            "n_clips": n, "sr": SR, "seconds_per_clip": 1.0, "n_fft": N_FFT,
            "hop_length": HOP, "n_mels": N_MELS, "n_mfcc": N_MFCC, "backend": BACKEND,
            "repeat": repeat, "librosa": _version("librosa"),
            "timer": "time.perf_counter, entries interleaved round-robin after a warm-up",
            "ratio": "anchor seconds / mmfeat seconds (> 1: mmfeat is faster)",
            # other processes share the 2 cores: parallel code (mmfeat) loses more to
            # them than single-threaded librosa, so ratios fall as the load rises
            "loadavg_1_5_15_before": load_before, "loadavg_1_5_15_after": os.getloadavg(),
        },
        "results": results,
    }


def _summary(reports):
    """Per (op, impl): the median ratio of each run, with that run's 1-minute load."""
    out = {}
    for rep in reports:
        load = rep["config"]["loadavg_1_5_15_before"][0]
        for r in rep["results"]:
            key = f"{r['op']}/{r['impl']}"
            out.setdefault(key, []).append({"ratio_median": round(r["ratio_median"], 3),
                                            "load1": round(load, 2)})
    return out


def _version(name):
    try:
        return __import__(name).__version__
    except Exception:
        return None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="mmfeat audio vs librosa (CPU)")
    p.add_argument("--n", type=int, default=N_CLIPS)
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--runs", type=int, default=1, help="independent runs to record")
    p.add_argument("--json", default=None, help="write the report here")
    args = p.parse_args(argv)
    reports = [run(args.n, args.repeat) for _ in range(max(1, args.runs))]
    report = reports[0] if len(reports) == 1 else {
        "machine": reports[0]["machine"], "runs": reports,
        "summary": _summary(reports)}
    for r in (rr for rep in reports for rr in rep["results"]):
        print(f"{r['op']:15s} {r['impl']:12s} median {r['seconds_median'] * 1e3:8.1f} ms  "
              f"min {r['seconds_min'] * 1e3:8.1f} ms  ratio(median) {r['ratio_median']:5.2f}  "
              f"ratio(min) {r['ratio_min']:5.2f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)
            fh.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
