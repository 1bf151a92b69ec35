"""chroma_stft and spectral_contrast on a batch of clips, against librosa per clip.

    python benchmarks/bench_audio_chroma.py --n 300 --json benchmarks/results/cpu_audio_chroma.json

Clips at 22050 Hz, 1 to 3 s (uniform), half speech-like (harmonic sources through
formants with syllable envelopes and noise, as ``bench_audio_varlen.speech_clip``),
half music-like (notes with five harmonics and decaying envelopes, the clip
detuned by up to 0.4 semitone, in a little noise), librosa's default parameters
(n_fft 2048, hop 512, tuning estimated). Entries, timed in interleaved rounds
(best kept):

- ``mmfeat_chroma`` / ``mmfeat_contrast``: one call on the zero-padded batch with
  ``lengths=`` (backend cpu);
- ``librosa_chroma`` / ``librosa_contrast``: ``librosa.feature.chroma_stft`` /
  ``spectral_contrast`` one clip at a time, on ``--baseline-n`` random clips, scaled
  to all clips by their share of the samples.

The first call of each mmfeat op (compilation or cache load included: run with an
empty ``NUMBA_CACHE_DIR`` for the cold figure) is reported beside the warm one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))

SR = 22050


def music_clip(n: int, rng) -> np.ndarray:
    t = np.arange(n) / SR
    y = np.zeros(n)
    detune = rng.uniform(-0.4, 0.4)
    n_notes = int(rng.integers(2, 5))
    seg = n // n_notes
    for i in range(n_notes):
        f0 = 440 * 2 ** ((int(rng.integers(48, 80)) + detune - 69) / 12)
        s = slice(i * seg, n if i == n_notes - 1 else (i + 1) * seg)
        tt = t[s] - t[s][0]
        env = np.exp(-tt * rng.uniform(1, 4))
        for h in range(1, 6):
            y[s] += env * np.sin(2 * np.pi * h * f0 * tt + rng.uniform(0, 2 * np.pi)) / h
    y += 0.003 * rng.standard_normal(n)
    return (0.4 * y / np.abs(y).max()).astype(np.float32)


def make_clips(n: int, seed: int = 0) -> list[np.ndarray]:
    from bench_audio_varlen import speech_clip

    rng = np.random.default_rng(seed)
    lengths = rng.integers(SR, 3 * SR + 1, n)
    return [speech_clip(int(L), rng) if i % 2 == 0 else music_clip(int(L), rng)
            for i, L in enumerate(lengths)]


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def _frame_err(got, ref):
    scale = np.maximum(np.abs(ref).max(axis=0, keepdims=True), 1e-30)
    return float((np.abs(got - ref) / scale).max())


def run(n: int, baseline_n: int, repeat: int) -> dict:
    import librosa
    import numba
    import scipy

    import mmfeat
    import mmfeat.audio as A

    clips = make_clips(n)
    y, lengths = A.pad_batch(clips)
    real = int(lengths.sum())
    rng = np.random.default_rng(7)
    sub = np.sort(rng.choice(n, size=min(baseline_n, n), replace=False))
    sub_clips = [clips[i] for i in sub]
    scale = real / float(lengths[sub].sum())

    ops = {
        "chroma": (lambda: A.chroma_stft(y, sr=SR, lengths=lengths, backend="cpu"),
                   lambda: [librosa.feature.chroma_stft(y=c, sr=SR) for c in sub_clips]),
        "contrast": (lambda: A.spectral_contrast(y, sr=SR, lengths=lengths, backend="cpu"),
                     lambda: [librosa.feature.spectral_contrast(y=c, sr=SR)
                              for c in sub_clips]),
    }
    first, err = {}, {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, (ours, theirs) in ops.items():
            first[name], got = _timed(ours)
            ref = theirs()
            err[name] = max(_frame_err(got[i][:, : r.shape[1]], r)
                            for i, r in zip(sub, ref, strict=True))
        entries = {}
        for name, (ours, theirs) in ops.items():
            entries[f"mmfeat_{name}"] = ours
            entries[f"librosa_{name}"] = theirs
        for fn in entries.values():  # warm-up (pages, caches, filterbanks)
            fn()
        best = {k: float("inf") for k in entries}
        for _ in range(repeat):  # interleaved rounds: every entry meets the same load
            for k, fn in entries.items():
                best[k] = min(best[k], _timed(fn)[0])
    for name in ops:
        best[f"librosa_{name}"] *= scale
    ratios = {name: best[f"librosa_{name}"] / best[f"mmfeat_{name}"] for name in ops}
    return {
        "n_clips": n, "sr": SR, "baseline_n": int(sub.size),
        "seconds_of_audio": real / SR, "padding_whole_batch": float(y.size / real - 1),
        "first_call_s": first, "warm_s": best, "ratio_vs_librosa": ratios,
        "per_clip_ms": {k: 1e3 * v / n for k, v in best.items()},
        "max_frame_rel_diff_vs_librosa": err,
        "numba_cache_dir": os.environ.get("NUMBA_CACHE_DIR", "(default)"),
        "versions": {"mmfeat": mmfeat.__version__, "librosa": librosa.__version__,
                     "numpy": np.__version__, "scipy": scipy.__version__,
                     "numba": numba.__version__, "python": platform.python_version()},
        "cpus": os.cpu_count(),
        "load_avg_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--baseline-n", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    rep = run(a.n, a.baseline_n, a.repeat)
    print(f"versions: {rep['versions']}")
    print(f"{rep['n_clips']} clips, {rep['seconds_of_audio']:.0f} s of audio at {SR} Hz "
          f"(padding of the batch: {rep['padding_whole_batch']:.0%})")
    for name in ("chroma", "contrast"):
        print(f"{name}: first call {rep['first_call_s'][name]:.2f} s (compile or cache "
              f"load included), warm mmfeat {rep['warm_s'][f'mmfeat_{name}']:.3f} s, "
              f"librosa {rep['warm_s'][f'librosa_{name}']:.3f} s, ratio "
              f"{rep['ratio_vs_librosa'][name]:.2f}, largest difference "
              f"{rep['max_frame_rel_diff_vs_librosa'][name]:.1e} of a frame's peak")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rep, f, indent=2)
        print(f"wrote {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
