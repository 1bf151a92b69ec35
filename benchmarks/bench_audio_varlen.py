"""AudioFeatures on speech-like clips of varied length, against librosa per clip.

    python benchmarks/bench_audio_varlen.py --n 3000 --json benchmarks/results/cpu_audio_varlen.json

Clips: harmonic sources (f0 90-250 Hz) through three formants with syllable-rate
envelopes and noise, as in ``test_bench_audio.py``, with log-normal lengths like
recorded spoken digits (median 0.42 s, clipped to 0.14-2.3 s: the longest over
5x the median) at 16 kHz. Entries, timed in interleaved rounds (best kept):

- ``mmfeat``: ``AudioFeatures(sr=16000).transform(clips)``, length buckets on
  (``config.AUDIO_MAX_PADDING``, 15%);
- ``mmfeat_padded``: the same with one batch padded to the longest clip (what
  mmfeat did before buckets);
- ``librosa``: the same features the usual way, one clip at a time
  (``bench_pipeline.audio_usual``), on ``--baseline-n`` random clips, scaled to
  all clips by their share of the samples.

The first call (compile or cache load included) is reported beside the warm one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))

SR = 16000


def speech_lengths(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    sec = np.clip(rng.lognormal(np.log(0.42), 0.55, n), 0.14, 2.3)
    return (sec * SR).astype(np.int64)


def speech_clip(length: int, rng) -> np.ndarray:
    t = np.arange(length) / SR
    f0 = rng.uniform(90, 250)
    formants = rng.uniform([300, 900, 2200], [900, 2300, 3200])
    y = np.zeros(length)
    for k in range(1, 30):
        fk = k * f0
        gain = sum(1.0 / (1.0 + ((fk - f) / 120.0) ** 2) for f in formants)
        y += gain / k * np.sin(2 * np.pi * fk * t + rng.uniform(0, 2 * np.pi))
    y *= 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(2, 5) * t) ** 2
    y += 0.01 * rng.standard_normal(length)
    return (0.3 * y / max(np.abs(y).max(), 1e-9)).astype(np.float32)


def make_clips(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed + 1)
    return [speech_clip(int(n_k), rng) for n_k in speech_lengths(n, seed)]


def _best(fn, rounds):
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def run(n: int, baseline_n: int, repeat: int) -> dict:
    import librosa
    import numba
    import sklearn
    from bench_pipeline import audio_usual

    import mmfeat
    from mmfeat.audio import AudioFeatures
    from mmfeat.audio._buckets import length_buckets

    clips = make_clips(n)
    lengths = np.array([c.size for c in clips])
    buckets = length_buckets(lengths, mmfeat.config.AUDIO_MAX_PADDING)
    real = int(lengths.sum())
    feats = AudioFeatures(sr=SR).fit(clips[:1])

    t = time.perf_counter()
    first = feats.transform(clips)
    first_s = time.perf_counter() - t

    rng = np.random.default_rng(7)
    sub = rng.choice(n, size=min(baseline_n, n), replace=False)
    sub_clips = [clips[i] for i in sub]
    scale = real / float(lengths[sub].sum())
    # the numbers agree (same features, librosa per clip)
    ref = audio_usual(sub_clips, SR)
    err = float(np.max(np.abs(first[sub] - ref) / (1.0 + np.abs(ref))))

    def padded():
        old = mmfeat.config.AUDIO_MAX_PADDING
        mmfeat.config.AUDIO_MAX_PADDING = float("inf")
        try:
            feats.transform(clips)
        finally:
            mmfeat.config.AUDIO_MAX_PADDING = old

    entries = {"mmfeat": lambda: feats.transform(clips), "mmfeat_padded": padded,
               "librosa": lambda: audio_usual(sub_clips, SR)}
    for fn in entries.values():  # warm-up on the full batch (pages, caches)
        fn()
    best = {k: float("inf") for k in entries}
    for _ in range(repeat):  # interleaved rounds: every entry meets the same load
        for k, fn in entries.items():
            best[k] = min(best[k], _best(fn, 1))
    best["librosa"] *= scale
    return {
        "n_clips": n, "sr": SR, "baseline_n": int(sub.size),
        "median_s": float(np.median(lengths) / SR), "max_s": float(lengths.max() / SR),
        "longest_over_median": float(lengths.max() / np.median(lengths)),
        "padding_whole_batch": float(n * lengths.max() / real - 1),
        "padding_buckets": float(sum(b.size * lengths[b].max() for b in buckets) / real - 1),
        "n_buckets": len(buckets),
        "first_call_s": first_s,
        "warm_s": best,
        "ratio_vs_librosa": best["librosa"] / best["mmfeat"],
        "ratio_padded_vs_librosa": best["librosa"] / best["mmfeat_padded"],
        "speedup_from_buckets": best["mmfeat_padded"] / best["mmfeat"],
        "max_rel_diff_vs_librosa": err,
        "versions": {"mmfeat": mmfeat.__version__, "librosa": librosa.__version__,
                     "numpy": np.__version__, "numba": numba.__version__,
                     "scikit-learn": sklearn.__version__, "python": platform.python_version(),
                     "threading_layer": mmfeat.threading_info()["layer"]},
        "cpus": os.cpu_count(),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--baseline-n", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    rep = run(a.n, a.baseline_n, a.repeat)
    print(f"versions: {rep['versions']}")
    print(f"{rep['n_clips']} clips, median {rep['median_s']:.2f} s, longest {rep['max_s']:.2f} s "
          f"({rep['longest_over_median']:.1f}x the median)")
    print(f"padding: {rep['padding_whole_batch']:.0%} to the longest clip, "
          f"{rep['padding_buckets']:.0%} in {rep['n_buckets']} buckets")
    print(f"first call {rep['first_call_s']:.2f} s (compile or cache load included)")
    for k, v in rep["warm_s"].items():
        print(f"  {k:14s} {v:8.3f} s  ratio librosa/entry {rep['warm_s']['librosa'] / v:6.2f}")
    print(f"largest relative difference from librosa: {rep['max_rel_diff_vs_librosa']:.2e}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rep, f, indent=2)
        print(f"wrote {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
