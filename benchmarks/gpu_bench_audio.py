"""GPU audio benchmark: mmfeat (cuda) vs torchaudio on the GPU and librosa on the CPU.

    python benchmarks/gpu_bench_audio.py --n 10000 --json $OUT/gpu_audio.json

One call on the whole batch (10,000 one-second clips at 16 kHz by default), the
issue's parameters: n_fft 512, hop 160, 64 mels, 20 MFCC, Hann, centred, constant
padding, Slaney mel scale with norm "slaney", power 2, top_db 80. torchaudio gets
the same (``MelSpectrogram(norm="slaney", mel_scale="slaney", center=True,
pad_mode="constant")``; ``MFCC(dct_type=2, norm="ortho", log_mels=False)``). Inputs
are device-resident before timing; every GPU entry synchronises before the clock
stops. librosa runs on ``--cpu-n`` clips (default 256) on the CPU and its time is
scaled per clip; so does mmfeat's cpu backend. Entries whose library is missing
are reported as skipped, so the CPU part runs anywhere.

Then, in their own ``--chroma-budget-s`` (low priority: the JSON is written before
and after each entry, so a run stopped there keeps the rest), issue 18's
``chroma_stft`` (tuning estimated) and ``spectral_contrast`` with the same frames:
mmfeat cuda on the batch against librosa on ``--cpu-n`` clips. torchaudio has no
equivalent of either (no chroma or spectral contrast transform): the report says
so.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_bench_audio import HOP, N_FFT, N_MELS, N_MFCC, SR, make_clips  # noqa: E402


def _timed(fn, sync, repeat):
    fn()
    sync()
    ts = []
    for _ in range(repeat):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        ts.append(time.perf_counter() - t0)
    return ts


def entries(y_host, cpu_n):
    """name -> (callable, sync, n_clips) for every entry that can run here."""
    import numpy as np

    import mmfeat.audio as A

    out, skipped = {}, {}
    kw = dict(sr=SR, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS)
    y_cpu = np.ascontiguousarray(y_host[:cpu_n])
    out["mfcc/mmfeat_cpu"] = (lambda: A.mfcc(y_cpu, n_mfcc=N_MFCC, **kw), None, cpu_n)
    out["melspectrogram/mmfeat_cpu"] = (lambda: A.melspectrogram(y_cpu, **kw), None, cpu_n)
    try:
        import librosa

        out["mfcc/librosa_cpu"] = (
            lambda: librosa.feature.mfcc(y=y_cpu, n_mfcc=N_MFCC, **kw), None, cpu_n)
        out["melspectrogram/librosa_cpu"] = (
            lambda: librosa.feature.melspectrogram(y=y_cpu, **kw), None, cpu_n)
    except ImportError as exc:
        skipped["librosa_cpu"] = str(exc)
    n = y_host.shape[0]
    try:
        import cupy

        from mmfeat.backend import require_cuda

        require_cuda()
        y_dev = cupy.asarray(y_host)
        sync = cupy.cuda.Device().synchronize
        out["mfcc/mmfeat_cuda"] = (
            lambda: A.mfcc(y_dev, n_mfcc=N_MFCC, backend="cuda", **kw), sync, n)
        out["melspectrogram/mmfeat_cuda"] = (
            lambda: A.melspectrogram(y_dev, backend="cuda", **kw), sync, n)
    except Exception as exc:
        skipped["mmfeat_cuda"] = f"{type(exc).__name__}: {exc}"
    try:
        import torch
        import torchaudio

        if not torch.cuda.is_available():
            raise RuntimeError("torch sees no CUDA device")
        melkw = dict(n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS, center=True,
                     pad_mode="constant", norm="slaney", mel_scale="slaney", power=2.0)
        mel_t = torchaudio.transforms.MelSpectrogram(sample_rate=SR, **melkw).cuda()
        mfcc_t = torchaudio.transforms.MFCC(sample_rate=SR, n_mfcc=N_MFCC, dct_type=2,
                                            norm="ortho", log_mels=False,
                                            melkwargs=melkw).cuda()
        y_t = torch.as_tensor(y_host).cuda()
        tsync = torch.cuda.synchronize

        def no_grad(fn):
            def run():
                with torch.inference_mode():
                    return fn(y_t)
            return run

        out["mfcc/torchaudio_cuda"] = (no_grad(mfcc_t), tsync, n)
        out["melspectrogram/torchaudio_cuda"] = (no_grad(mel_t), tsync, n)
    except Exception as exc:
        skipped["torchaudio_cuda"] = f"{type(exc).__name__}: {exc}"
    return out, skipped


def run(n, cpu_n, repeat):
    y = make_clips(n)
    es, skipped = entries(y, min(cpu_n, n))
    rows = []
    for name, (fn, sync, count) in es.items():
        ts = _timed(fn, sync or (lambda: None), repeat)
        op, impl = name.split("/")
        rows.append({"op": op, "impl": impl, "n_clips": count,
                     "seconds_median": statistics.median(ts), "seconds_all": ts,
                     "per_clip_us": statistics.median(ts) / count * 1e6})
    for op in {r["op"] for r in rows}:
        group = [r for r in rows if r["op"] == op]
        base = next((r for r in group if r["impl"] == "mmfeat_cuda"), None) or next(
            r for r in group if r["impl"] == "mmfeat_cpu")
        for r in group:
            r["ratio_vs_" + base["impl"]] = r["per_clip_us"] / base["per_clip_us"]
    from mmfeat import _bench

    return {"machine": _bench.machine_info(),
            "config": {"n_clips": n, "cpu_n_clips": min(cpu_n, n), "sr": SR, "n_fft": N_FFT,
                       "hop_length": HOP, "n_mels": N_MELS, "n_mfcc": N_MFCC,
                       "repeat": repeat,
                       "ratio": "entry time per clip / mmfeat time per clip (> 1: mmfeat "
                                "is faster)"},
            "skipped": skipped, "results": sorted(rows, key=lambda r: (r["op"], r["impl"]))}


#: issue 18's frame features: op -> (mmfeat fn(y, backend), librosa fn(y))
def chroma_entries():
    import mmfeat.audio as A

    kw = dict(sr=SR, n_fft=N_FFT, hop_length=HOP)
    return {
        "chroma_stft": (lambda y, be: A.chroma_stft(y, backend=be, **kw),
                        lambda lr, y: lr.feature.chroma_stft(y=y, **kw)),
        "spectral_contrast": (lambda y, be: A.spectral_contrast(y, backend=be, **kw),
                              lambda lr, y: lr.feature.spectral_contrast(y=y, **kw)),
    }


def chroma_rows(y_host, cpu_n, repeat, budget_s, save):
    """chroma_stft and spectral_contrast, mmfeat cuda vs librosa (CPU), until
    ``budget_s`` is spent (an entry once started runs to its end)."""
    t0 = time.perf_counter()
    rows, skipped = [], {}
    why_tv = ("torchaudio has no equivalent (no chroma or spectral contrast transform "
              "in torchaudio.transforms / torchaudio.functional)")
    try:
        import cupy

        from mmfeat.backend import require_cuda

        require_cuda()
        y_dev, sync = cupy.asarray(y_host), cupy.cuda.Device().synchronize
    except Exception as exc:
        y_dev = sync = None
        skipped["mmfeat_cuda"] = f"{type(exc).__name__}: {exc}"
    try:
        import librosa
    except ImportError as exc:
        librosa = None
        skipped["librosa_cpu"] = str(exc)
    y_cpu = y_host[:cpu_n]
    for op, (fn, lr_fn) in chroma_entries().items():
        skipped[f"{op}/torchaudio_cuda"] = why_tv
        group = []
        for impl, run, count, s in (
                ("mmfeat_cuda", y_dev is not None and (lambda fn=fn: fn(y_dev, "cuda")),
                 y_host.shape[0], sync),
                ("librosa_cpu", librosa is not None
                 and (lambda f=lr_fn: f(librosa, y_cpu)),
                 len(y_cpu), None)):
            if not run:
                continue
            if time.perf_counter() - t0 > budget_s:
                skipped[f"{op}/{impl}"] = f"chroma budget of {budget_s:.0f} s spent"
                continue
            try:
                ts = _timed(run, s or (lambda: None), repeat)
            except Exception as exc:
                skipped[f"{op}/{impl}"] = f"{type(exc).__name__}: {str(exc)[:300]}"
                continue
            group.append({"op": op, "impl": impl, "n_clips": count,
                          "seconds_median": statistics.median(ts), "seconds_all": ts,
                          "per_clip_us": statistics.median(ts) / count * 1e6})
        base = next((r for r in group if r["impl"] == "mmfeat_cuda"), None)
        for r in group:
            if base is not None:
                r["ratio_vs_mmfeat_cuda"] = r["per_clip_us"] / base["per_clip_us"]
        rows += group
        save(rows, skipped)
    return rows, skipped


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=10000, help="clips for the GPU entries")
    p.add_argument("--cpu-n", type=int, default=256, help="clips for the CPU entries")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--chroma-budget-s", type=float, default=10.0,
                   help="seconds for chroma_stft and spectral_contrast, timed last "
                        "(0: skip them)")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    report = run(args.n, args.cpu_n, args.repeat)

    def save(rows=None, skipped=None):
        if rows is not None:
            report["chroma"] = {"results": rows, "skipped": skipped,
                                "budget_s": args.chroma_budget_s}
        if args.json:
            tmp = args.json + ".tmp"
            with open(tmp, "w") as fh:
                json.dump(report, fh, indent=2)
                fh.write("\n")
            os.replace(tmp, args.json)

    save([], {})
    if args.chroma_budget_s > 0:
        y = make_clips(args.n)
        chroma_rows(y, min(args.cpu_n, args.n), args.repeat, args.chroma_budget_s, save)
    for r in report["results"] + report["chroma"]["results"]:
        ratio = {k: v for k, v in r.items() if k.startswith("ratio_vs_")}
        print(f"{r['op']:15s} {r['impl']:16s} {r['n_clips']:6d} clips  "
              f"{r['seconds_median'] * 1e3:9.1f} ms  {r['per_clip_us']:8.1f} us/clip  "
              + " ".join(f"{k}={v:.2f}" for k, v in ratio.items()))
    for k, why in {**report["skipped"], **report["chroma"]["skipped"]}.items():
        print(f"skipped {k}: {why}")
    save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
