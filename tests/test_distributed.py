"""mmfeat.distributed: the pipeline on a Dask cluster equals the single-machine run.

The cluster tests share one ``distributed.LocalCluster`` of two worker
processes (module fixture); the TF-IDF and array tests run on dask's local
threads. A worker is killed mid-run with SIGKILL to check that retried
partitions neither lose nor duplicate rows.
"""

from __future__ import annotations

import os
import signal
import sys
import types

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

pytest.importorskip("distributed")

import dask.array as da  # noqa: E402
import dask.bag as db  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.decomposition import TruncatedSVD  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer as SkTfidf  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

from mmfeat import distributed as mdist  # noqa: E402
from mmfeat.audio import AudioFeatures  # noqa: E402
from mmfeat.data import clean, demo_dataset, read_manifest  # noqa: E402
from mmfeat.fusion import read_parquet  # noqa: E402
from mmfeat.image import ImageFeatures, color_histogram, rgb_to_gray  # noqa: E402
from mmfeat.pipeline import FeaturePipeline, default_extractors  # noqa: E402
from mmfeat.run import dask as run_dask  # noqa: E402
from mmfeat.text import TextFeatures, TfidfVectorizer  # noqa: E402

N_ITEMS = 40
N_PARTITIONS = 5
BAD_PARTITION = 2


# -- a corpus with many ties in term frequency ---------------------------------------
def _corpus(n_docs=240, seed=0):
    rng = np.random.default_rng(seed)
    words = np.array([f"w{i:03d}" for i in range(400)] + ["the", "and", "of"])
    p = 1.0 / np.arange(1, len(words) + 1)
    p /= p.sum()
    docs = []
    for _ in range(n_docs):
        k = int(rng.integers(0, 12))  # some empty documents too
        docs.append(" ".join(rng.choice(words, size=k, p=p)))
    return docs


def _partitions(docs, sizes=(1, 50, 0, 37, 60, 92)):
    out, start = [], 0
    for s in sizes:
        out.append(docs[start:start + s])
        start += s
    assert start == len(docs)
    return out


TFIDF_PARAMS = [
    {},
    {"min_df": 2},
    {"max_df": 0.9},
    {"max_df": 3, "min_df": 2},
    {"max_features": 50},
    {"ngram_range": (1, 2), "min_df": 2, "max_features": 120},
    {"binary": True, "max_features": 40, "sublinear_tf": True},
    {"min_df": 0.01, "max_df": 0.5, "norm": "l1", "smooth_idf": False},
    {"vocabulary": ["w001", "w000", "w399", "zzz"]},
]


@pytest.mark.parametrize("family", ["mmfeat", "sklearn"])
@pytest.mark.parametrize("params", TFIDF_PARAMS, ids=lambda p: str(p)[:40])
def test_fit_tfidf_equals_single_machine_sklearn(params, family):
    docs = _corpus()
    ref = SkTfidf(**params)
    expected = ref.fit_transform(docs).tocsr()
    vec = (TfidfVectorizer(**params) if family == "mmfeat" else SkTfidf(**params))
    fitted = mdist.fit_tfidf(_partitions(docs), vectorizer=vec, split_every=2)
    assert fitted is not vec and not hasattr(vec, "vocabulary_")
    assert fitted.vocabulary_ == ref.vocabulary_
    assert list(fitted.vocabulary_) == list(ref.vocabulary_)  # first-occurrence order too
    if ref.use_idf:
        np.testing.assert_array_equal(fitted.idf_, ref.idf_)
    got = sp.vstack(mdist.transform_tfidf(fitted, _partitions(docs)), format="csr")
    assert got.shape == expected.shape
    got.sort_indices()
    expected.sort_indices()
    np.testing.assert_array_equal(got.indptr, expected.indptr)
    np.testing.assert_array_equal(got.indices, expected.indices)
    np.testing.assert_allclose(got.data, expected.data, rtol=1e-12, atol=1e-15)


def test_fit_tfidf_max_features_ties_break_as_sklearn():
    # every term occurs exactly once: max_features picks among equal counts
    docs = [f"t{i:03d} u{i:03d}" for i in range(150)]
    ref = SkTfidf(max_features=37).fit(docs)
    fitted = mdist.fit_tfidf([docs[:40], docs[40:]], max_features=37)
    assert fitted.vocabulary_ == ref.vocabulary_


def test_fit_tfidf_bag_and_params_and_errors():
    docs = _corpus(60)
    bag = db.from_sequence(docs, npartitions=4)
    fitted = mdist.fit_tfidf(bag, min_df=2)
    assert isinstance(fitted, TfidfVectorizer)
    assert fitted.vocabulary_ == SkTfidf(min_df=2).fit(docs).vocabulary_
    with pytest.raises(ValueError, match="max_df corresponds to < documents than min_df"):
        mdist.fit_tfidf([docs], min_df=5, max_df=2)
    with pytest.raises(ValueError, match="no terms remain"):
        mdist.fit_tfidf([docs[:5], docs[5:10]], min_df=1000, max_df=2000)
    with pytest.raises(ValueError, match="empty vocabulary"):
        mdist.fit_tfidf([["", " "], ["."]])
    with pytest.raises(TypeError, match="list of str"):
        mdist.fit_tfidf(docs)
    with pytest.raises(TypeError, match="not both"):
        mdist.fit_tfidf([docs], vectorizer=SkTfidf(), min_df=2)
    with pytest.raises(ValueError, match="split_every"):
        mdist.fit_tfidf([docs], split_every=1)


def test_text_extractors_fitted_on_partitions_equal_their_single_machine_fit():
    docs = _corpus(200, seed=4)
    parts = _partitions(docs, (50, 0, 70, 80))
    for est in (TextFeatures(vectorizer=TfidfVectorizer(min_df=2, ngram_range=(1, 2)),
                             n_components=8),
                TextFeatures(vectorizer=SkTfidf(min_df=2, sublinear_tf=True), n_components=5),
                make_pipeline(TfidfVectorizer(max_features=60), TruncatedSVD(5, random_state=0)),
                # one term: no SVD
                TextFeatures(vectorizer=TfidfVectorizer(max_features=1), n_components=4)):
        single = clone(est).fit(docs)
        fitted = run_dask._fit_text(est, parts, None)
        np.testing.assert_allclose(fitted.transform(docs), single.transform(docs),
                                   rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(fitted.get_feature_names_out(),
                                      single.get_feature_names_out())


# -- batch-axis array helpers ------------------------------------------------------------
def test_map_images_matches_direct_calls():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, size=(10, 12, 9, 3), dtype=np.uint8)
    dx = da.from_array(x, chunks=(3, 5, 9, 3))  # chunked inside images too: rechunked
    gray = mdist.map_images(rgb_to_gray, dx)
    assert gray.chunks == ((3, 3, 3, 1), (12,), (9,))
    assert gray.dtype == np.float32
    np.testing.assert_array_equal(gray.compute(), rgb_to_gray(x))
    hist = mdist.map_images(color_histogram, dx, bins=(4, 2, 2))
    assert hist.shape == (10, 16) and hist.chunks[0] == (3, 3, 3, 1)
    np.testing.assert_array_equal(hist.compute(), color_histogram(x, bins=(4, 2, 2)))
    given = mdist.map_images(color_histogram, dx, out_shape=(16,), dtype=np.float32,
                             bins=(4, 2, 2))
    np.testing.assert_array_equal(given.compute(), hist.compute())
    feats = ImageFeatures(hsv_bins=(4, 2, 2), grid=(2, 2)).fit()
    np.testing.assert_array_equal(mdist.map_images(feats.transform, dx).compute(),
                                  feats.transform(x))
    with pytest.raises(TypeError, match="dask array"):
        mdist.map_images(rgb_to_gray, x)


def test_map_audio_splits_per_clip_arguments_with_the_batch():
    rng = np.random.default_rng(2)
    y = (0.1 * rng.standard_normal((7, 4000))).astype(np.float32)
    lengths = np.array([4000, 3000, 2500, 4000, 1000, 3999, 2048])
    y[np.arange(4000)[None, :] >= lengths[:, None]] = 0.0
    feats = AudioFeatures(sr=8000).fit()
    got = mdist.map_audio(feats.transform, da.from_array(y, chunks=(3, 1000)),
                          lengths=da.from_array(lengths, chunks=2))
    assert got.chunks[0] == (3, 3, 1)
    np.testing.assert_allclose(got.compute(), feats.transform(y, lengths=lengths),
                               rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="lengths must be a 1-D dask array of 7"):
        mdist.map_audio(feats.transform, da.from_array(y), lengths=da.zeros(3))


# -- extract on a LocalCluster -------------------------------------------------------------
@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    # one Numba thread per worker: two workers share the two cores of CI
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0",
                      env={"NUMBA_NUM_THREADS": "1"}) as cluster, Client(cluster) as c:
        yield c


SETTINGS = {"batch_size": 8, "image_size": 32, "text_components": 6}


def _extractors(sr, image=None):
    """default_extractors(sr=sr, text_components=6), with another image extractor maybe."""
    out = default_extractors(sr=sr, text_components=SETTINGS["text_components"])
    if image is not None:
        out["image"] = image
    return out


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """A demo manifest with a duplicate id across partitions, a missing file and one
    partition whose every image is corrupt; plus the single-machine result."""
    root = tmp_path_factory.mktemp("dist")
    data = demo_dataset(N_ITEMS, seed=3)
    path = data.write_manifest(root / "data")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame = pd.concat([frame, frame.iloc[[3]]], ignore_index=True)  # duplicate id, last row
    frame.loc[5, "audio"] = "audio/nowhere.wav"
    frame.to_csv(path, index=False)
    kept, _ = clean(read_manifest(path), modalities=["image", "text", "audio"])
    bad = run_dask._split(kept, N_PARTITIONS)[BAD_PARTITION]
    for p in bad["image"]:
        with open(p, "wb") as f:
            f.write(b"this is not a PNG file")
    pipe = FeaturePipeline(_extractors(data.sr), batch_size=SETTINGS["batch_size"], sr=data.sr,
                           image_size=SETTINGS["image_size"])
    reference = pipe.fit_transform(path)
    return {"path": path, "root": root, "sr": data.sr, "pipe": pipe, "reference": reference,
            "rejects": pipe.rejects_, "bad_ids": set(bad["id"])}


def _assert_same(got, reference):
    assert list(got.ids) == list(reference.ids)
    assert list(got.labels) == list(reference.labels)
    assert got.block_columns == reference.block_columns
    for m in reference.blocks:
        np.testing.assert_allclose(got.blocks[m], reference.blocks[m], rtol=1e-5, atol=2e-6,
                                   err_msg=m)


def _rejects(path):
    r = pd.read_csv(path, dtype=str, keep_default_na=False)
    return sorted(zip(r["id"], r["reason"], strict=True))


def test_extract_equals_single_machine_with_an_all_bad_partition(client, dataset):
    out = dataset["root"] / "features.parquet"
    # pipeline=None: the extractors `mmfeat extract --workers N` builds
    summary = mdist.extract(dataset["path"], client=client, output=out, sr=dataset["sr"],
                            npartitions=N_PARTITIONS, **SETTINGS)
    ref_rejects = dataset["rejects"]
    assert summary["input"] == N_ITEMS + 1
    assert summary["kept"] == len(dataset["reference"])
    assert summary["rejected"] == len(ref_rejects)
    assert summary["partitions"] == N_PARTITIONS
    assert summary["by_reason"]["duplicate id"] == 1
    assert summary["by_reason"]["file not found"] == 1
    _assert_same(read_parquet(out), dataset["reference"])
    expected = sorted(zip(ref_rejects["id"].astype(str), ref_rejects["reason"], strict=True))
    assert _rejects(summary["rejects"]) == expected
    # the partition whose every image is corrupt became rejects, and its (empty) part exists
    bad = {i for i, reason in _rejects(summary["rejects"]) if "image" in reason}
    assert dataset["bad_ids"] <= bad
    parts = sorted(p.name for p in out.glob("part-*.parquet"))
    assert parts == [f"part-{i:06d}.parquet" for i in range(N_PARTITIONS)]
    assert pd.read_parquet(out / parts[BAD_PARTITION]).shape[0] == 0
    assert not list(out.glob(".*tmp*")) and not list(out.glob("_*"))
    with pytest.raises(FileExistsError, match="earlier run"):
        mdist.extract(dataset["path"], dataset["pipe"], client, output=out)


class KillOnce(ImageFeatures):
    """ImageFeatures whose first transform inside a Dask worker SIGKILLs that worker."""

    def __init__(self, *, marker="", hsv_bins=(4, 2, 2), grid=(4, 4)):
        super().__init__(hsv_bins=hsv_bins, grid=grid)
        self.marker = marker

    def transform(self, X):
        from distributed import get_worker

        try:
            get_worker()
        except ValueError:  # on the client (the fit): behave
            return super().transform(X)
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return super().transform(X)
        os.close(fd)
        os.kill(os.getpid(), signal.SIGKILL)


def test_extract_survives_a_killed_worker(client, dataset, tmp_path):
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers can't import tests/
    marker = tmp_path / "killed"
    pipe = FeaturePipeline(_extractors(dataset["sr"], KillOnce(marker=str(marker))),
                           batch_size=SETTINGS["batch_size"], sr=dataset["sr"],
                           image_size=SETTINGS["image_size"])
    out = tmp_path / "features"
    summary = mdist.extract(dataset["path"], pipe, client, output=out,
                            npartitions=N_PARTITIONS)
    assert marker.exists(), "no worker was killed"
    assert summary["kept"] + summary["rejected"] == summary["input"] == N_ITEMS + 1
    got = read_parquet(out)
    assert len(set(got.ids)) == len(got.ids)
    _assert_same(got, dataset["reference"])


class FailWhileMarked(ImageFeatures):
    """ImageFeatures whose transform fails on a worker while ``marker`` exists and the
    batch holds ``bad_id``: a run that dies part-way (its other parts get written)."""

    def __init__(self, *, marker="", bad_id="", hsv_bins=(4, 2, 2), grid=(4, 4)):
        super().__init__(hsv_bins=hsv_bins, grid=grid)
        self.marker = marker
        self.bad_id = bad_id

    def transform(self, X):
        from distributed import get_worker

        try:
            get_worker()
        except ValueError:  # on the client (the fit): behave
            return super().transform(X)
        if os.path.exists(self.marker) and len(X) and os.path.exists(self.bad_id):
            os.unlink(self.bad_id)  # fail once, in the first batch that comes
            raise RuntimeError("killed mid-run")
        return super().transform(X)


def test_extract_resumes_a_run_killed_mid_way(client, dataset, tmp_path):
    """A run that dies part-way leaves its finished parts, state and fitted pipeline;
    resume=True runs only the missing partitions and ends equal to the single run."""
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    marker, once = tmp_path / "marker", tmp_path / "once"
    marker.touch()
    once.touch()
    image = FailWhileMarked(marker=str(marker), bad_id=str(once))
    pipe = FeaturePipeline(_extractors(dataset["sr"], image), batch_size=SETTINGS["batch_size"],
                           sr=dataset["sr"], image_size=SETTINGS["image_size"])
    out = tmp_path / "features"
    with pytest.raises(RuntimeError, match="killed mid-run"):
        mdist.extract(dataset["path"], pipe, client, output=out, npartitions=N_PARTITIONS,
                      retries=0)
    done = {p.name: p.stat().st_mtime_ns for p in out.glob("part-*.parquet")}
    assert len(done) < N_PARTITIONS
    assert (out / "_state.json").exists() and (out / "_pipeline.joblib").exists()
    # not resuming is refused, and so is resuming with other settings
    with pytest.raises(FileExistsError, match="unfinished earlier run"):
        mdist.extract(dataset["path"], pipe, client, output=out)
    other = clone(pipe).set_params(batch_size=SETTINGS["batch_size"] + 1)
    with pytest.raises(ValueError, match="batch_size"):
        mdist.extract(dataset["path"], other, client, output=out, resume=True)

    summary = mdist.extract(dataset["path"], pipe, client, output=out, resume=True)
    assert summary["partitions"] == N_PARTITIONS  # the killed run's partitions, kept
    assert summary["kept"] + summary["rejected"] == summary["input"] == N_ITEMS + 1
    # the parts written before the failure were not redone
    assert {n: (out / n).stat().st_mtime_ns for n in done} == done
    assert len(summary["worker_seconds"]) and not list(out.glob("_*"))
    _assert_same(read_parquet(out), dataset["reference"])
    ref_rejects = dataset["rejects"]
    assert _rejects(summary["rejects"]) == sorted(
        zip(ref_rejects["id"].astype(str), ref_rejects["reason"], strict=True))


def test_predict_on_dask_equals_the_local_run(client, dataset, tmp_path):
    """A fitted pipeline and a model bundle's predictions (``mmfeat predict --workers``):
    nothing refitted, the same predictions as the local executor."""
    from mmfeat.bundle import ModelBundle
    from mmfeat.models import make_model
    from mmfeat.run import ExtractJob

    ref = dataset["reference"]
    model = make_model("logistic").fit(ref.to_numpy(), ref.labels)
    bundle = ModelBundle(dataset["pipe"], model, model.classes_, ref.feature_names)
    local = tmp_path / "local.parquet"
    ExtractJob(dataset["path"], local, fitted=dataset["pipe"], post=bundle.predictions_frame).run()
    out = tmp_path / "dask"
    summary = mdist.extract(dataset["path"], client=client, output=out, npartitions=3,
                            fitted=dataset["pipe"], post=bundle.predictions_frame)
    assert summary["kept"] == len(ref) and summary["partitions"] == 3
    got, want = pd.read_parquet(out), pd.read_parquet(local)
    assert list(got["id"]) == list(want["id"]) == list(ref.ids)
    np.testing.assert_array_equal(got["prediction"], model.predict(ref.to_numpy()))
    np.testing.assert_allclose(got.filter(like="proba_"), want.filter(like="proba_"),
                               rtol=1e-5, atol=1e-6)
    assert not (tmp_path / "dask.pipeline.joblib").exists()  # predictions keep no pipeline


# -- no cluster needed --------------------------------------------------------------------
def test_extract_everything_rejected_writes_rejects_and_raises(tmp_path):
    path = tmp_path / "m.csv"
    pd.DataFrame({"id": ["a", "b", "a"], "image": ["x.png", "y.png", "x.png"]}).to_csv(
        path, index=False)
    out = tmp_path / "out"
    pipe = FeaturePipeline({"image": ImageFeatures()})
    with pytest.raises(ValueError, match="no rows left to extract: all 3 rows"):
        mdist.extract(path, pipe, output=out)
    assert _rejects(out.with_suffix(".rejects.csv")) == [
        ("a", "duplicate id"), ("a", "file not found"), ("b", "file not found")]


def test_extract_argument_errors(tmp_path):
    with pytest.raises(TypeError, match="output"):
        mdist.extract(tmp_path / "m.csv")
    with pytest.raises(ValueError, match="npartitions"):
        mdist.extract(tmp_path / "m.csv", output=tmp_path / "o", npartitions=0)
    with pytest.raises(TypeError, match="FeaturePipeline"):
        mdist.extract(tmp_path / "m.csv", pipeline=ImageFeatures(), output=tmp_path / "o")
    with pytest.raises(ValueError, match="cluster must be"):
        with mdist.make_client(cluster="yarn"):
            pass
    with pytest.raises(ValueError, match="workers"):
        with mdist.make_client(workers=0):
            pass


def test_cuda_cluster_path_uses_local_cuda_cluster(monkeypatch):
    """``cluster="cuda"`` builds dask_cuda.LocalCUDACluster as documented; here a
    stand-in with CPU workers records the call and runs a job."""
    from distributed import LocalCluster

    calls = []

    class LocalCUDACluster(LocalCluster):
        def __init__(self, CUDA_VISIBLE_DEVICES=None, n_workers=None, threads_per_worker=1,
                     **kwargs):
            calls.append({"CUDA_VISIBLE_DEVICES": CUDA_VISIBLE_DEVICES, "n_workers": n_workers,
                          "threads_per_worker": threads_per_worker, **kwargs})
            super().__init__(n_workers=n_workers or 1, threads_per_worker=threads_per_worker,
                             processes=False, dashboard_address=":0")

    monkeypatch.setitem(sys.modules, "dask_cuda",
                        types.SimpleNamespace(LocalCUDACluster=LocalCUDACluster))
    docs = _corpus(40)
    with mdist.make_client(cluster="cuda", workers=1, CUDA_VISIBLE_DEVICES="0") as c:
        fitted = mdist.fit_tfidf([docs[:20], docs[20:]], c, min_df=2)
    assert calls == [{"CUDA_VISIBLE_DEVICES": "0", "n_workers": 1, "threads_per_worker": 1}]
    assert fitted.vocabulary_ == SkTfidf(min_df=2).fit(docs).vocabulary_
    monkeypatch.setitem(sys.modules, "dask_cuda", None)
    with pytest.raises(ImportError, match="dask-cuda"):
        with mdist.make_client(cluster="cuda"):
            pass
