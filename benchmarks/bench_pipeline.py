"""The demo's extraction, mmfeat against the same features computed the usual way.

    python benchmarks/bench_pipeline.py --n 20000 --json benchmarks/results/cpu_pipeline.json
    python benchmarks/bench_pipeline.py --realistic --n 3000 \
        --json benchmarks/results/cpu_pipeline_realistic.json

"The usual way" is what a user writes today: a Python loop over the items
calling scikit-image (rgb2hsv, rgb2gray, canny, sobel_h/sobel_v, np.histogramdd
per cell, scipy.stats.skew) and librosa (mfcc, delta, spectral_*, zero-crossing
rate, rms) per item, and scikit-learn's TfidfVectorizer + TruncatedSVD for the
text (already batched). The loop runs on ``--baseline-n`` items and its time is
scaled to ``--n`` (per-item work, so the scaling is linear); mmfeat runs on all
``--n`` items through :class:`mmfeat.FeaturePipeline` with
:func:`mmfeat.pipeline.default_extractors`. Both are timed in the same process.

The script also checks that the two compute the same numbers on the baseline
items (largest absolute difference per modality block, image and audio).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def image_usual(images, grid=(4, 4), bins=(4, 2, 2), orientations=9):
    """ImageFeatures(hsv_bins=bins, grid=grid) the scikit-image way, one image at a time."""
    from scipy.stats import skew
    from skimage.color import rgb2gray, rgb2hsv
    from skimage.feature import canny
    from skimage.filters import sobel_h, sobel_v

    rows = []
    for img in images:
        hsv = rgb2hsv(img)
        gray = rgb2gray(img)
        edges = canny(gray, sigma=1.0)
        rgb = img.astype(np.float64) / 255.0
        h, w = gray.shape
        feats = []
        for r in range(grid[0]):
            for c in range(grid[1]):
                ys = slice(r * h // grid[0], (r + 1) * h // grid[0])
                xs = slice(c * w // grid[1], (c + 1) * w // grid[1])
                cell_hsv = hsv[ys, xs].reshape(-1, 3)
                hist = np.histogramdd(cell_hsv, bins=bins, range=[(0, 1)] * 3)[0].ravel()
                feats.append(hist / cell_hsv.shape[0])
                cell = rgb[ys, xs].reshape(-1, 3)
                feats.append(np.r_[cell.mean(0), cell.std(0), skew(cell, axis=0)])
                feats.append([edges[ys, xs].mean()])
                g = gray[ys, xs]
                gy, gx = sobel_h(g), sobel_v(g)
                ang = np.mod(np.arctan2(gy, gx), np.pi)
                mag = np.hypot(gx, gy)
                hist, _ = np.histogram(ang, bins=orientations, range=(0, np.pi), weights=mag)
                feats.append(hist / hist.sum() if hist.sum() > 0 else hist)
        rows.append(np.concatenate([np.ravel(f) for f in feats]))
    return np.asarray(rows, np.float32)


def audio_usual(clips, sr, n_mfcc=20, n_mels=40):
    """AudioFeatures(sr=sr) the librosa way, one clip at a time."""
    import librosa

    win = int(round(0.025 * sr))
    n_fft = 1 << (win - 1).bit_length()
    hop = int(round(0.010 * sr))
    rows = []
    for y in clips:
        S = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop, win_length=win))
        mel = librosa.feature.melspectrogram(S=S**2, sr=sr, n_mels=n_mels)
        m = librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=n_mfcc)
        blocks = [m, librosa.feature.delta(m), librosa.feature.delta(m, order=2)]
        spectral = np.vstack([
            librosa.feature.spectral_centroid(S=S, sr=sr, n_fft=n_fft),
            librosa.feature.spectral_bandwidth(S=S, sr=sr, n_fft=n_fft),
            librosa.feature.spectral_rolloff(S=S, sr=sr, n_fft=n_fft),
            librosa.feature.spectral_flatness(S=S),
            librosa.feature.zero_crossing_rate(y, frame_length=n_fft, hop_length=hop),
            librosa.feature.rms(y=y, frame_length=n_fft, hop_length=hop),
        ])
        feats = [np.r_[b.mean(1), b.std(1)] for b in blocks]
        feats.append(np.r_[spectral.mean(1), spectral.std(1)])
        peak = np.abs(y).max()
        rms = np.sqrt(np.mean(y.astype(np.float64) ** 2))
        zcr = np.mean(np.abs(np.diff(np.signbit(y))))
        feats.append([y.mean(), y.std(), peak, rms, zcr, peak / rms if rms > 0 else 0.0])
        rows.append(np.concatenate(feats))
    return np.asarray(rows, np.float32)


def text_usual(texts, n_components=64):
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    X = TfidfVectorizer().fit_transform(texts)
    k = min(n_components, X.shape[1] - 1)
    return TruncatedSVD(k, random_state=0).fit_transform(X).astype(np.float32)


def realistic_data(n: int, seed: int = 0) -> dict:
    """``n`` tri-modal items as users have them: 64x64 photographs with sensor noise
    (scikit-image's samples, ``mmfeat._bench.make_batch``), speech-like clips of
    log-normal length at 16 kHz (``bench_audio_varlen``) and English paragraphs
    (``bench_text_lsa``)."""
    from bench_audio_varlen import make_clips
    from bench_text_lsa import prose_paragraphs

    from mmfeat._bench import make_batch

    docs = prose_paragraphs(n)
    docs = (docs * (n // max(len(docs), 1) + 1))[:n]
    return {"image": make_batch(n, 64), "text": docs, "audio": make_clips(n, seed),
            "sr": 16000}


def _mmfeat_realistic(n: int) -> dict:
    """The default pipeline on :func:`realistic_data`: (seconds, compile seconds)."""
    from mmfeat import FeaturePipeline
    from mmfeat._compile_clock import compile_clock
    from mmfeat.pipeline import default_extractors

    d = realistic_data(n)
    pipe = FeaturePipeline(default_extractors(sr=d["sr"]), batch_size=4096)
    t0 = time.perf_counter()
    with compile_clock() as compiled:
        fs = pipe.fit_transform({m: d[m] for m in ("image", "text", "audio")})
    return {"seconds": time.perf_counter() - t0, "compile_seconds": compiled.seconds,
            "stages": {k: round(v, 3) for k, v in pipe.timings_.items()},
            "features": fs.n_features}


def realistic(args) -> int:
    """``--realistic``: cold (fresh process, empty Numba cache) and warm times of the
    default pipeline against the per-item loops, on :func:`realistic_data`."""
    import subprocess
    import tempfile

    n = args.n
    here = os.path.dirname(os.path.abspath(__file__))
    code = (f"import json, sys; sys.path.insert(0, {here!r}); import bench_pipeline as b; "
            f"print(json.dumps(b._mmfeat_realistic({n})))")
    with tempfile.TemporaryDirectory() as cache:
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env={**os.environ, "NUMBA_CACHE_DIR": cache}, timeout=3600)
        cold_wall = time.perf_counter() - t0
    if r.returncode != 0:
        print(r.stderr[-3000:], file=sys.stderr)
        return 1
    cold = json.loads(r.stdout.strip().splitlines()[-1])
    _mmfeat_realistic(min(n, 64))  # warm-up: compile (or load) in this process
    warm = _mmfeat_realistic(n)
    d = realistic_data(n)
    nb = min(args.baseline_n, n)
    # the loops warmed up too (librosa compiles some of its helpers with Numba)
    image_usual(d["image"][:2])
    audio_usual(d["audio"][:2], d["sr"])
    base = {}
    t0 = time.perf_counter()
    image_usual(d["image"][:nb])
    base["image"] = (time.perf_counter() - t0) * n / nb
    t0 = time.perf_counter()
    audio_usual(d["audio"][:nb], d["sr"])
    base["audio"] = (time.perf_counter() - t0) * n / nb
    t0 = time.perf_counter()
    text_usual(d["text"])
    base["text"] = time.perf_counter() - t0
    base_s = sum(base.values())
    out = {"n": n, "baseline_n": nb, "usual_seconds": base, "usual_total_seconds": base_s,
           "mmfeat_warm": warm, "mmfeat_cold": cold, "mmfeat_cold_process_wall_s": cold_wall,
           "ratio_warm": base_s / warm["seconds"], "ratio_cold": base_s / cold["seconds"],
           "ratio_cold_with_process_start": base_s / cold_wall,
           "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}}
    print(f"{n} realistic items; usual way " + ", ".join(f"{k} {v:.1f} s" for k, v in
                                                       base.items())
          + f" (image and audio scaled from {nb}): {base_s:.1f} s")
    print(f"mmfeat warm {warm['seconds']:.1f} s ({out['ratio_warm']:.1f}x); cold "
          f"{cold['seconds']:.1f} s of which compile {cold['compile_seconds']:.1f} s "
          f"({out['ratio_cold']:.2f}x; {cold_wall:.1f} s with interpreter start and "
          f"data generation)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
        print(f"wrote {args.json}")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--realistic", action="store_true",
                   help="noisy photographs, variable-length speech-like clips and real "
                        "paragraphs; cold (fresh process, empty Numba cache) and warm")
    p.add_argument("--n", type=int, default=20000)
    p.add_argument("--baseline-n", type=int, default=1000,
                   help="items the per-item loops run on, scaled to --n")
    p.add_argument("--backend", default=None, help="mmfeat backend (default: cpu)")
    p.add_argument("--skip-baseline", action="store_true",
                   help="time mmfeat only (per-stage times), e.g. at large --n on a GPU")
    p.add_argument("--json", metavar="PATH")
    args = p.parse_args(argv)
    if args.realistic:
        return realistic(args)

    from mmfeat import FeaturePipeline
    from mmfeat.data import demo_dataset
    from mmfeat.pipeline import default_extractors

    t0 = time.perf_counter()
    data = demo_dataset(args.n)
    gen_s = time.perf_counter() - t0
    nb = min(args.baseline_n, args.n)
    print(f"generated {args.n} items in {gen_s:.1f} s; baseline loops on {nb}", flush=True)

    # Warm-up on a few items so Numba's compilation (cached on disk after the
    # first run) is not in the timing.
    warm = demo_dataset(64, seed=1)
    FeaturePipeline(default_extractors(sr=warm.sr, backend=args.backend),
                    backend=args.backend).fit_transform(warm.modalities)

    pipe = FeaturePipeline(default_extractors(sr=data.sr, backend=args.backend),
                           batch_size=4096, backend=args.backend)
    t0 = time.perf_counter()
    fs = pipe.fit_transform(data.modalities)
    mm_s = time.perf_counter() - t0
    stages = {k: round(v, 3) for k, v in pipe.timings_.items()}
    print(f"mmfeat: {mm_s:.2f} s for {args.n} items ({args.n / mm_s:.0f} items/s); "
          f"stages {stages}", flush=True)

    if args.skip_baseline:
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"n": args.n, "backend": args.backend or "cpu",
                           "generate_seconds": gen_s, "mmfeat_seconds": mm_s,
                           "items_per_second": args.n / mm_s, "mmfeat_stages": stages}, f,
                          indent=2)
            print(f"wrote {args.json}")
        return 0

    base = {}
    t0 = time.perf_counter()
    img_ref = image_usual(data.images[:nb])
    base["image"] = (time.perf_counter() - t0) * args.n / nb
    t0 = time.perf_counter()
    aud_ref = audio_usual(data.audio[:nb], data.sr)
    base["audio"] = (time.perf_counter() - t0) * args.n / nb
    t0 = time.perf_counter()
    text_usual(data.texts)
    base["text"] = time.perf_counter() - t0
    base_s = sum(base.values())
    print("usual way: " + ", ".join(f"{k} {v:.1f} s" for k, v in base.items())
          + f" (image and audio scaled from {nb} items); total {base_s:.1f} s", flush=True)

    diffs = {
        "image": float(np.abs(fs.blocks["image"][:nb] - img_ref).max()),
        "audio_max_rel": float(
            (np.abs(fs.blocks["audio"][:nb] - aud_ref) / (np.abs(aud_ref) + 1.0)).max()
        ),
    }
    ratio = base_s / mm_s
    print(f"ratio (usual / mmfeat): {ratio:.1f}x; agreement on the baseline items: {diffs}")
    per_stage = {m: base[m] / max(stages.get(m, 0.0), 1e-9) for m in base}
    print("per modality (usual / mmfeat extraction stage): "
          + ", ".join(f"{m} {r:.1f}x" for m, r in per_stage.items()))
    if args.json:
        out = {
            "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                        "platform": platform.platform()},
            "n": args.n, "baseline_n": nb, "mmfeat_seconds": mm_s, "mmfeat_stages": stages,
            "usual_seconds": base, "usual_total_seconds": base_s, "ratio": ratio,
            "ratio_per_modality_stage": per_stage, "max_abs_diff": diffs,
        }
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
