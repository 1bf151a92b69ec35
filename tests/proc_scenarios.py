"""Every public op family on one small batch, for the process-model tests.

``test_process_models.py`` runs these in forked, spawned and forkserver children,
in thread pools, in Dask and joblib workers, and compares with serial results.
This file is a plain module (not collected by pytest) so that spawned children can
import it by name; ``python proc_scenarios.py MODE`` runs one scenario in a fresh
interpreter and exits non-zero on any difference, which is how the tests keep
their parent processes free of whatever the test session loaded.

With ``PROC_SCENARIO_USER_PARFOR=1`` every task also runs a user's own
``parallel=True`` Numba kernel, the code that meets Numba's threading layer.

Inputs are small but large enough that the parallel paths run: 300 documents go
through the text kernels' thread ranges (256 or more), images and clips through
``prange`` loops over several rows and clips.
"""

from __future__ import annotations

import functools
import os
import sys

import numpy as np

FAMILIES = ("image", "text", "audio", "transformers", "pipeline")

_WORDS = ("river stone light market engine quiet rapid golden window harbor signal "
          "forest copper winter silver garden bridge thunder pocket candle").split()


def make_batch(seed: int = 0) -> dict:
    """One batch of each modality (deterministic in ``seed``)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (6, 48, 40, 3), dtype=np.uint8)
    docs = [" ".join(rng.choice(_WORDS, rng.integers(3, 12))) for _ in range(300)]
    sr = 8000
    t = np.arange(sr // 2) / sr
    audio = np.stack([np.sin(2 * np.pi * (200 + 50 * k) * t) * (0.5 + 0.1 * k)
                      + 0.01 * rng.standard_normal(t.size) for k in range(5)]).astype(np.float32)
    return {"images": images, "docs": docs, "audio": audio, "sr": sr}


def _dense(x) -> np.ndarray:
    return x.toarray() if hasattr(x, "toarray") else np.asarray(x)


def compute(family: str, seed: int = 0) -> dict[str, np.ndarray]:
    """The results of one op family on :func:`make_batch` ``(seed)``."""
    import mmfeat

    b = make_batch(seed)
    imgs, docs, y, sr = b["images"], b["docs"], b["audio"], b["sr"]
    if family == "image":
        im = mmfeat.image
        return {
            "gray": im.rgb_to_gray(imgs),
            "hsv": im.rgb_to_hsv(imgs),
            "sobel": im.sobel(imgs),
            "canny": im.canny(imgs, sigma=1.5),
            "hist": im.color_histogram(imgs, bins=(4, 4, 4), space="hsv"),
            "grad": im.gradient_histogram(imgs),
        }
    if family == "text":
        from mmfeat.text import CountVectorizer, HashingVectorizer, TfidfVectorizer

        return {
            "tfidf": _dense(TfidfVectorizer(ngram_range=(1, 2)).fit_transform(docs)),
            "counts": _dense(CountVectorizer(analyzer="char_wb").fit_transform(docs)),
            "hashing": _dense(HashingVectorizer(n_features=256).transform(docs)),
        }
    if family == "audio":
        au = mmfeat.audio
        return {
            "mel": au.melspectrogram(y=y, sr=sr, n_fft=256, hop_length=80, n_mels=32),
            "mfcc": au.mfcc(y=y, sr=sr, n_mfcc=13, n_fft=256, hop_length=80, n_mels=32),
            "centroid": au.spectral_centroid(y=y, sr=sr, n_fft=256, hop_length=80),
            "rms": au.rms(y=y, frame_length=256, hop_length=80),
            "zcr": au.zero_crossing_rate(y, frame_length=256, hop_length=80),
        }
    if family == "transformers":
        from mmfeat.audio import AudioFeatures
        from mmfeat.image import ImageFeatures
        from mmfeat.text import TextFeatures

        return {
            "image": ImageFeatures(grid=(2, 2)).fit_transform(imgs),
            "text": TextFeatures(n_components=8).fit_transform(docs),
            "audio": AudioFeatures(sr=sr).fit_transform([y[k, : 2500 + 300 * k] for k in range(5)]),
        }
    if family == "pipeline":
        from mmfeat.data import demo_dataset
        from mmfeat.pipeline import default_extractors

        d = demo_dataset(40, seed=seed)
        pipe = mmfeat.FeaturePipeline(default_extractors(sr=d.sr, text_components=8))
        fs = pipe.fit_transform({**d.modalities, "id": d.ids, "label": d.labels})
        return {"features": fs.to_numpy()}
    raise ValueError(f"unknown family {family!r}")


@functools.cache
def _user_parfor():
    """A user's own ``parallel=True`` kernel, for scenarios run with
    ``PROC_SCENARIO_USER_PARFOR=1``: mmfeat's kernels run on its own threads, so
    it is this code that meets Numba's threading layer, which mmfeat set to TBB."""
    import numba

    @numba.njit(parallel=True, cache=False)
    def total(x):
        s = 0.0
        for i in numba.prange(x.shape[0]):
            s += x[i] * x[i]
        return s

    return total


def _run_user_parfor(seed: int) -> np.ndarray:
    # integer values (the sum is exact in any order the threads add it), long and
    # repeated enough that concurrent callers overlap inside the parallel region
    x = (np.arange(2_000_000) % 1000 + seed).astype(np.float64)
    kernel = _user_parfor()
    return np.array([kernel(x) for _ in range(10)])


def compute_all(seed: int = 0) -> dict[str, dict[str, np.ndarray]]:
    out = {f: compute(f, seed) for f in FAMILIES}
    if os.environ.get("PROC_SCENARIO_USER_PARFOR") == "1":
        out["user"] = {"parfor": _run_user_parfor(seed)}
    return out


def compute_task(task: tuple[str, int]) -> dict[str, np.ndarray]:
    """Picklable entry point for pools: ``(family, seed)`` -> results."""
    out = compute(*task)
    if os.environ.get("PROC_SCENARIO_USER_PARFOR") == "1":
        out["user_parfor"] = _run_user_parfor(task[1])
    return out


def differences(a: dict, b: dict, where: str = "") -> list[str]:
    """Names of results that are not bit-identical (NaN equal to NaN)."""
    out = []
    for k in a:
        if isinstance(a[k], dict):
            out += differences(a[k], b.get(k, {}), f"{where}{k}.")
        elif k not in b or not np.array_equal(np.asarray(a[k]), np.asarray(b[k]),
                                               equal_nan=np.asarray(a[k]).dtype.kind == "f"):
            out.append(where + k)
    return out


# --- scenarios run in a fresh interpreter -------------------------------------------


def _fork_child() -> list[str]:
    """The parent uses every family, then a child forked from it does the same."""
    serial = compute_all()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report through the exit code, never return into the caller
        os.close(r)
        try:
            bad = differences(serial, compute_all())
            os.write(w, ",".join(bad).encode())
            os._exit(1 if bad else 0)
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            os.write(w, f"raised {exc!r}".encode())
            os._exit(2)
    os.close(w)
    _, status = os.waitpid(pid, 0)
    said = os.read(r, 65536).decode()
    code = os.waitstatus_to_exitcode(status)
    return [] if code == 0 else [f"forked child exit {code}: {said}"]


def _pool(method: str) -> list[str]:
    """A pool of the given start method maps over batches, as a DataLoader does."""
    import multiprocessing as mp

    tasks = _tasks()
    serial = [compute_task(t) for t in tasks]  # the parent has used mmfeat first
    with mp.get_context(method).Pool(2) as pool:
        got = pool.map_async(compute_task, tasks).get(timeout=240)
    return _compare(tasks, serial, got)


def _tasks() -> list[tuple[str, int]]:
    return [(f, s) for s in (0, 1) for f in FAMILIES]


def _compare(tasks, serial, got) -> list[str]:
    return [f"{t}: {d}" for t, a, b in zip(tasks, serial, got, strict=True)
            if (d := differences(a, b))]


def _threads(n_threads: int = 8) -> list[str]:
    """``n_threads`` threads call every family at once, each task several times."""
    from concurrent.futures import ThreadPoolExecutor

    tasks = _tasks()
    serial = [compute_task(t) for t in tasks]
    many = tasks * 3
    with ThreadPoolExecutor(n_threads) as ex:
        got = list(ex.map(compute_task, many))
    return _compare(many, serial * 3, got)


def _dask() -> list[str]:
    """A threaded Dask worker process (4 threads) runs the tasks concurrently."""
    from distributed import Client, LocalCluster

    tasks = _tasks()
    serial = [compute_task(t) for t in tasks]
    with LocalCluster(n_workers=1, threads_per_worker=4, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        got = client.gather(client.map(compute_task, tasks, pure=False))
    return _compare(tasks, serial, got)


def _joblib() -> list[str]:
    """joblib's thread backend runs the tasks on 4 threads."""
    from joblib import Parallel, delayed

    tasks = _tasks()
    serial = [compute_task(t) for t in tasks]
    got = Parallel(n_jobs=4, prefer="threads")(delayed(compute_task)(t) for t in tasks)
    return _compare(tasks, serial, got)


SCENARIOS = {
    "fork": _fork_child,
    "pool-fork": lambda: _pool("fork"),
    "pool-spawn": lambda: _pool("spawn"),
    "pool-forkserver": lambda: _pool("forkserver"),
    "threads": _threads,
    "dask": _dask,
    "joblib": _joblib,
}


if __name__ == "__main__":
    # run the scenario from the module imported by name, so that pools pickle its
    # functions by reference (a spawned child imports it from the same sys.path)
    import proc_scenarios

    problems = proc_scenarios.SCENARIOS[sys.argv[1]]()
    import numba

    print(f"layer={numba.threading_layer()}")
    for p in problems:
        print("DIFF", p)
    sys.exit(1 if problems else 0)
