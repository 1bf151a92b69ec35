"""The pipeline on Dask: partitioned extraction, a globally exact TF-IDF, batch-axis array ops.

Three entry points, all built on :mod:`dask` / :mod:`distributed` (and
``dask_cuda`` for GPU clusters) rather than a scheduler of our own:

- :func:`extract`: a manifest -> a Parquet dataset (one file per partition)
  plus a rejects table, equal row for row to the single-machine
  :class:`~mmfeat.pipeline.FeaturePipeline`;
- :func:`fit_tfidf` / :func:`transform_tfidf`: a TF-IDF vectorizer fitted on
  partitions of documents whose vocabulary and ``idf_`` equal scikit-learn's
  single-machine fit on all of them (``min_df``, ``max_df`` and
  ``max_features`` are applied to the global counts, not per partition as
  dask-ml's ``CountVectorizer`` does);
- :func:`map_images` / :func:`map_audio`: any batch-first op over the batch
  axis of a dask array with ``map_blocks`` semantics (NumPy or CuPy chunks).

How :func:`extract` runs
------------------------
1. On the client: the manifest is read and cleaned once
   (:func:`mmfeat.data.read_manifest`, :func:`mmfeat.data.clean`), so duplicate
   ids are found across the whole manifest, not per partition; the kept rows
   are cut into contiguous pandas partitions, which travel inside the task
   specs (not scattered), so the scheduler can rerun any task whose worker
   died, its inputs included.
2. The text extractor is fitted with global statistics: each partition's
   texts are loaded on its worker (kept there), per-partition document and
   term frequencies are tree-reduced, and the vocabulary and idf follow from
   the totals. A TF-IDF + SVD extractor (``TextFeatures``, or a scikit-learn
   ``Pipeline`` starting with a ``TfidfVectorizer``) then fits its SVD on the
   client, on the full sparse TF-IDF matrix gathered from the partitions (the
   single-machine fit sees exactly this matrix, so the components agree).
   Any other text extractor is fitted on the client on all gathered texts.
3. The image and audio extractors are fitted on the client on the first
   decodable rows (up to 16 at a time): they learn nothing from data (their
   ``fit`` checks parameters), see :class:`~mmfeat.pipeline.FeaturePipeline`.
   An extractor that did learn from its first batch would see 16 rows here
   instead of ``batch_size``.
4. The fitted pipeline is one task result that every worker fetches (and the
   scheduler can recompute); one task per partition
   runs ``pipeline.transform(partition)`` and writes ``part-XXXXX.parquet``
   (and its rejects) under a temporary name, then renames it. A task whose
   worker dies is rerun by the scheduler and rewrites the same file, so a
   partition is on disk once or not at all.
5. The client checks that every row is accounted for (kept + rejected ==
   input, ids unique, every cleaned id either extracted or rejected) and
   writes the joined rejects table.
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from numbers import Integral
from pathlib import Path

import numpy as np
import pandas as pd

from .. import config
from ..text.from_counts import counting_vectorizer, tfidf_from_counts
from .parts import (
    PartStore,
    atomic_write,
    file_fingerprint,
    fitted_pipeline_path,
    frame_fingerprint,
    read_rejects,
)
from .spec import ExtractSpec, manifest_modalities

__all__ = [
    "extract",
    "fit_tfidf",
    "transform_tfidf",
    "map_images",
    "map_audio",
    "make_client",
]




# ---------------------------------------------------------------------------------
# clients and clusters
# ---------------------------------------------------------------------------------
@contextmanager
def make_client(client=None, *, workers=None, scheduler=None, cluster=None,
                threads_per_worker=1, **cluster_kwargs):
    """A :class:`distributed.Client` for one job, closed afterwards if started here.

    Parameters
    ----------
    client : distributed.Client, optional
        Used as it is (and left open).
    workers : int, optional
        Start a local cluster with this many worker processes.
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``) to connect to.
    cluster : {"local", "cuda"} or a dask Cluster, optional
        ``"cuda"`` starts ``dask_cuda.LocalCUDACluster`` (one worker per GPU;
        ``workers`` limits it to the first N GPUs of ``CUDA_VISIBLE_DEVICES``).
        A cluster object is connected to and left running.
    threads_per_worker : int, default 1
        Threads of each local worker process (the kernels are parallel already).
    **cluster_kwargs
        Passed on to ``LocalCluster`` / ``LocalCUDACluster``
        (``CUDA_VISIBLE_DEVICES``, ``rmm_pool_size``, ``memory_limit``, ...).

    With nothing given, the current default client is used when there is one
    (``distributed.get_client``), else a local cluster with one worker process
    per CPU core is started.
    """
    from distributed import Client

    if client is not None:
        yield client
        return
    if scheduler is not None:
        with Client(scheduler) as c:
            yield c
        return
    if cluster is not None and not isinstance(cluster, str):
        with Client(cluster) as c:
            yield c
        return
    if cluster not in (None, "local", "cuda"):
        raise ValueError(f"cluster must be 'local', 'cuda' or a dask Cluster, got {cluster!r}")
    if cluster is None and workers is None:
        try:
            from distributed import default_client

            yield default_client()
            return
        except ValueError:
            pass  # no client yet: start a local cluster below
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, Integral)
                                or workers < 1):
        raise ValueError(f"workers must be an int >= 1, got {workers!r}")
    if cluster == "cuda":
        local = _cuda_cluster(workers, threads_per_worker, **cluster_kwargs)
    else:
        from distributed import LocalCluster

        n_workers = workers or os.cpu_count() or 1
        cluster_kwargs.setdefault("env", _worker_env(n_workers * threads_per_worker))
        local = LocalCluster(
            n_workers=n_workers, threads_per_worker=threads_per_worker, processes=True,
            **cluster_kwargs,
        )
    with local, Client(local) as c:
        yield c


_THREAD_VARIABLES = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                     "OPENBLAS_NUM_THREADS")


def _worker_env(total_threads: int) -> dict:
    """Numba and BLAS threads per local worker process: the cores shared out among the
    worker threads. Oversubscribed parallel kernels stall at their barriers, and
    distributed's default of one BLAS thread would leave a lone worker slower than
    the single-process pipeline. Variables the user set are passed on as they are."""
    per_worker = str(max(1, (os.cpu_count() or 1) // max(1, total_threads)))
    return {k: os.environ.get(k, per_worker) for k in _THREAD_VARIABLES}


def _cuda_cluster(workers, threads_per_worker, **kwargs):
    """``dask_cuda.LocalCUDACluster``: one worker process per visible GPU."""
    try:
        from dask_cuda import LocalCUDACluster
    except ImportError as exc:
        raise ImportError(
            "cluster='cuda' needs dask-cuda (pip install dask-cuda, or conda install "
            "-c rapidsai dask-cuda) on a machine with NVIDIA GPUs"
        ) from exc
    # n_workers=None means one worker per GPU in CUDA_VISIBLE_DEVICES
    return LocalCUDACluster(n_workers=workers, threads_per_worker=threads_per_worker, **kwargs)


def _n_threads(client) -> int:
    info = client.scheduler_info()
    workers = info.get("workers", {})
    return max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))


# ---------------------------------------------------------------------------------
# globally exact TF-IDF
# ---------------------------------------------------------------------------------
@dataclass
class _Stats:
    """Counts of a set of documents: terms in first-occurrence order, their document
    frequency and total count."""

    n_docs: int
    terms: np.ndarray  # object array of str
    df: np.ndarray  # int64
    tf: np.ndarray  # int64


def _doc_stats(docs, vec) -> _Stats:
    """Per-partition statistics of ``docs`` under ``vec``'s analyzer (and vocabulary)."""
    docs = list(docs)
    if vec.vocabulary is not None:
        counter = counting_vectorizer(vec, vocabulary=vec.vocabulary)
        X = counter.fit_transform(docs)
        terms = np.empty(len(counter.vocabulary_), dtype=object)
        cols = np.fromiter(counter.vocabulary_.values(), np.int64, len(counter.vocabulary_))
        terms[:] = list(counter.vocabulary_)
    else:
        counter = counting_vectorizer(vec)
        try:
            X = counter.fit_transform(docs)
        except ValueError as exc:
            if "empty vocabulary" not in str(exc):
                raise
            # a partition without a single term is fine; the whole corpus is checked later
            return _Stats(len(docs), np.empty(0, object), np.zeros(0, np.int64),
                          np.zeros(0, np.int64))
        vocab = counter.vocabulary_  # insertion order = first occurrence in docs
        terms = np.empty(len(vocab), dtype=object)
        terms[:] = list(vocab)
        cols = np.fromiter(vocab.values(), np.int64, len(vocab))
    X = X.tocsr()
    df = np.bincount(X.indices, minlength=X.shape[1]).astype(np.int64)[cols]
    tf = np.asarray(X.sum(axis=0), dtype=np.int64).ravel()[cols]
    return _Stats(len(docs), terms, df, tf)


def _merge_stats(*parts: _Stats) -> _Stats:
    """Add statistics, keeping the terms in the order they first occur across ``parts``."""
    acc = parts[0]
    terms, df, tf, n = acc.terms, acc.df, acc.tf, acc.n_docs
    for b in parts[1:]:
        n += b.n_docs
        if not len(b.terms):
            continue
        if not len(terms):
            terms, df, tf = b.terms, b.df, b.tf
            continue
        # hash join of the term lists (both hold unique terms)
        loc = pd.Index(terms, dtype=object).get_indexer(pd.Index(b.terms, dtype=object))
        new = loc < 0
        old = ~new
        df = np.concatenate([df, b.df[new]])
        tf = np.concatenate([tf, b.tf[new]])
        df[loc[old]] += b.df[old]
        tf[loc[old]] += b.tf[old]
        terms = np.concatenate([terms, b.terms[new]])
    return _Stats(n, terms, df, tf)


def _as_parts(documents):
    """Partitions of documents as things a delayed call accepts (Delayed, Future, list)."""
    import dask.bag as db

    if isinstance(documents, db.Bag):
        return list(documents.to_delayed())
    if isinstance(documents, (str, bytes)):
        raise TypeError("documents must be partitions of documents, got one string")
    parts = list(documents)
    if not parts:
        raise ValueError("documents must hold at least one partition")
    for p in parts:
        if isinstance(p, (str, bytes)):
            raise TypeError(
                "documents must be a dask Bag or a list of partitions (each a list of "
                "str, a Delayed or a Future), got a list of str; wrap it as [docs]"
            )
    return parts


def _compute(obj, client):
    if client is not None:
        return client.gather(client.compute(obj))
    import dask

    return dask.compute(obj)[0]


def _new_vectorizer(vectorizer, params):
    from sklearn.feature_extraction.text import TfidfVectorizer as SkTfidf

    if vectorizer is not None:
        if params:
            raise TypeError("give either vectorizer= or TF-IDF parameters, not both")
        if not isinstance(vectorizer, SkTfidf):
            raise TypeError(
                "vectorizer must be a TfidfVectorizer (mmfeat.text's or scikit-learn's), "
                f"got {type(vectorizer).__name__}"
            )
        return vectorizer
    from ..text import TfidfVectorizer

    return TfidfVectorizer(**params)


def _stats_tree(parts, vec, split_every):
    """A delayed tree: per-partition statistics merged ``split_every`` at a time, in order."""
    from dask import delayed

    vec_d = delayed(vec, pure=False)  # one key, shipped once per worker
    level = [delayed(_doc_stats, pure=False)(p, vec_d) for p in parts]
    while len(level) > 1:
        level = [delayed(_merge_stats, pure=False)(*level[i:i + split_every])
                 for i in range(0, len(level), split_every)]
    return level[0]


def fit_tfidf(documents, client=None, *, vectorizer=None, split_every=None,
              **tfidf_params):
    """Fit a TF-IDF vectorizer on partitioned documents with global statistics.

    Each partition's document frequencies, term counts and document count are
    computed where the partition lives and tree-reduced; ``min_df``,
    ``max_df`` and ``max_features`` are then applied to the corpus totals, as
    scikit-learn's single-machine ``fit`` does, and the ``idf_`` follows from
    the global document frequencies.

    Parameters
    ----------
    documents : dask.bag.Bag or list of partitions
        A Bag of str, or a list whose items are partitions: each a list (or
        array, Series) of str, a ``dask.delayed`` object or a ``Future``
        resolving to one.
    client : distributed.Client, optional
        Where to run; default: the current default scheduler (a Client when one
        exists, else dask's local threads).
    vectorizer : TfidfVectorizer, optional
        An unfitted :class:`mmfeat.text.TfidfVectorizer` or scikit-learn
        ``TfidfVectorizer`` whose parameters to use (it is not modified).
    split_every : int, optional
        Default ``mmfeat.config.DASK_SPLIT_EVERY`` (8).
        Fan-in of the reduction tree.
    **tfidf_params
        Parameters of :class:`mmfeat.text.TfidfVectorizer` (scikit-learn's):
        ``min_df``, ``max_df``, ``max_features``, ``ngram_range``, ``vocabulary``, ...

    Returns
    -------
    TfidfVectorizer
        Fitted: ``vocabulary_`` and ``idf_`` equal those of
        ``TfidfVectorizer(**tfidf_params).fit(all documents)`` (the vocabulary
        in the same first-occurrence order, ties of ``max_features`` broken the
        same way, idf to the bit), so ``transform`` gives the same matrix.

    See Also
    --------
    transform_tfidf : the matrix of each partition, computed where it lives.

    Notes
    -----
    dask-ml's ``CountVectorizer`` applies the pruning per partition and has no
    TF-IDF; cuML's Dask module has only the transformer. Memory: the client
    receives one (term, df, tf) table for the whole corpus, the size of the
    unpruned vocabulary.

    Examples
    --------
    >>> from mmfeat.distributed import fit_tfidf
    >>> vec = fit_tfidf([["the cat sat", "the dog"], ["a cat"]], min_df=2)
    >>> vec.vocabulary_  # as TfidfVectorizer(min_df=2).fit(all three documents)
    {'the': 1, 'cat': 0}
    >>> transform_tfidf(vec, [["the cat"], ["dog"]])[1].nnz
    0
    """
    vec = _new_vectorizer(vectorizer, tfidf_params)
    if split_every is None:
        split_every = config.DASK_SPLIT_EVERY
    if isinstance(split_every, bool) or not isinstance(split_every, Integral) or split_every < 2:
        raise ValueError(f"split_every must be an int >= 2, got {split_every!r}")
    vec._validate_params()
    parts = _as_parts(documents)
    stats = _compute(_stats_tree(parts, vec, split_every), client)
    return tfidf_from_counts(vec, stats.terms, stats.df, stats.tf, stats.n_docs)


def _transform_part(vec, docs):
    docs = list(docs)
    if not docs:  # scikit-learn's transformers refuse 0 samples; a partition may have none
        import scipy.sparse as sp

        return sp.csr_matrix((0, len(vec.vocabulary_)), dtype=vec.dtype)
    return vec.transform(docs)


def transform_tfidf(vectorizer, documents, client=None, *, compute=True):
    """The TF-IDF matrix of each partition, computed where the partition lives.

    Parameters
    ----------
    vectorizer : fitted TfidfVectorizer
        From :func:`fit_tfidf` (or any fitted vectorizer with ``transform``).
    documents : dask.bag.Bag or list of partitions
        As in :func:`fit_tfidf`.
    client : distributed.Client, optional
    compute : bool, default True
        Return the matrices; with False, the ``dask.delayed`` objects.

    Returns
    -------
    list of scipy.sparse.csr_matrix
        One (n_documents_in_partition, n_terms) matrix per partition, in order;
        ``scipy.sparse.vstack`` of them is the single-machine matrix.
    """
    from dask import delayed

    parts = _as_parts(documents)
    vec_d = delayed(vectorizer, pure=False)
    out = [delayed(_transform_part, pure=False)(vec_d, p) for p in parts]
    if not compute:
        return out
    return list(_compute(out, client))


# ---------------------------------------------------------------------------------
# text extractors inside the pipeline
# ---------------------------------------------------------------------------------
class _Prefitted:
    """An extractor fitted outside the pipeline: ``fit`` and ``clone`` keep it as it is,
    so ``FeaturePipeline.fit`` does not refit it on the client."""

    def __init__(self, estimator):
        self.estimator = estimator

    def __sklearn_clone__(self):
        return self

    def fit(self, X=None, y=None, **kwargs):
        return self

    def transform(self, X, *args, **kwargs):
        return self.estimator.transform(X, *args, **kwargs)

    def get_feature_names_out(self, input_features=None):
        return self.estimator.get_feature_names_out()

    def __repr__(self) -> str:
        return f"fitted({self.estimator!r})"


def _tfidf_split(est):
    """(TF-IDF vectorizer, the steps after it) when ``est`` starts with a TF-IDF, else None.

    Recognised: a TfidfVectorizer, a scikit-learn Pipeline whose first step is
    one, and :class:`mmfeat.text.TextFeatures` (TF-IDF then truncated SVD).
    """
    from sklearn.feature_extraction.text import TfidfVectorizer as SkTfidf
    from sklearn.pipeline import Pipeline

    if isinstance(est, SkTfidf):
        return est, None
    if isinstance(est, Pipeline) and est.steps and isinstance(est.steps[0][1], SkTfidf):
        return est.steps[0][1], est
    return None


def _load_texts(pipe, frame):
    """The texts of ``frame`` exactly as ``FeaturePipeline.fit`` reads them (NFC, files
    read), without the missing ones and the ones that fail."""
    texts, failures = pipe.read_modality("text", frame)
    failed = {i for i, _ in failures}
    return [t for i, t in enumerate(texts) if t is not None and i not in failed]


def _fit_text(est, text_parts, client):
    """Fit the text extractor on every partition's texts; returns the fitted estimator."""
    from sklearn.base import clone
    from sklearn.pipeline import Pipeline

    from ..text import TextFeatures

    if isinstance(est, TextFeatures) and est.embedding is None:
        return _fit_text_features(est, text_parts, client)
    split = _tfidf_split(est)
    if split is None:
        # unknown text extractor: fit it on the client on the whole corpus
        texts = [t for part in client.gather(text_parts) for t in part]
        return clone(est).fit(texts)
    vec, pipeline = split
    fitted = fit_tfidf(text_parts, client, vectorizer=clone(vec))
    if pipeline is None:
        return fitted
    import scipy.sparse as sp

    # the rest (an SVD) is fitted on the client on the full TF-IDF matrix, which the
    # single-machine fit sees too: the components then agree
    X = sp.vstack(transform_tfidf(fitted, text_parts, client), format="csr")
    rest = [(name, clone(step)) for name, step in pipeline.steps[1:]]
    for i, (_, step) in enumerate(rest):
        X = step.fit_transform(X) if i + 1 < len(rest) else step.fit(X)
    return Pipeline([(pipeline.steps[0][0], fitted), *rest])


def _fit_text_features(est, text_parts, client):
    """:class:`mmfeat.text.TextFeatures` fitted as its ``fit`` does, with the TF-IDF fitted
    on global statistics and the SVD on the gathered (N, n_terms) TF-IDF matrix."""
    import scipy.sparse as sp
    from sklearn.base import clone

    out = clone(est)
    # est.vectorizer's parameters (and est.backend) exactly as TextFeatures.fit uses them
    vec = fit_tfidf(text_parts, client, vectorizer=out.build_vectorizer())
    X = sp.vstack(transform_tfidf(vec, text_parts, client), format="csr")
    # the same clamping and SVD settings as TextFeatures.fit
    return out.fit_from_tfidf(vec, X)


# ---------------------------------------------------------------------------------
# extract
# ---------------------------------------------------------------------------------
def _extract_partition(pipe, frame, index: int, output: str, post=None):
    """Worker task: features of one partition (``post(features)`` when given) -> part
    ``index`` of the store at ``output``."""
    t0 = time.perf_counter()
    pipe = copy.copy(pipe)  # transform sets attributes; tasks on one worker share pipe
    pipe.progress = False
    pipe.set_output(transform="default")  # a FeatureSet, whatever the user's setting
    features = pipe.transform(frame)
    PartStore(output).write(index, features if post is None else post(features),
                            pipe.rejects_)
    timings = dict(pipe.timings_, total=time.perf_counter() - t0)
    return {"index": index, "input": len(frame), "kept": len(features), "timings": timings}


def _default_npartitions(n_rows: int, n_threads: int, batch_size: int) -> int:
    """Partitions of ``config.DASK_BATCHES_PER_PARTITION`` pipeline batches where possible (each
    partition starts with a decode nothing overlaps, and every extractor call has a
    fixed cost), ``config.DASK_PARTITIONS_PER_THREAD`` per thread at most (balance, and little to
    redo when a worker is lost), a whole number per thread, at most ``config.DASK_PARTITION_ROWS``
    rows each."""
    n = min(config.DASK_PARTITIONS_PER_THREAD * n_threads,
            math.ceil(n_rows / (config.DASK_BATCHES_PER_PARTITION * batch_size)))
    n = math.ceil(max(n, 1) / n_threads) * n_threads
    n = max(n, math.ceil(n_rows / config.DASK_PARTITION_ROWS))
    return max(1, min(n, n_rows))


def _split(frame: pd.DataFrame, npartitions: int) -> list[pd.DataFrame]:
    bounds = np.linspace(0, len(frame), npartitions + 1).round().astype(int)
    return [frame.iloc[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]


class _NothingDecodes(Exception):
    """No row of the manifest decodes: nothing to fit the extractors on."""

    def __init__(self, rejects):
        super().__init__("no row decodes")
        self.rejects = rejects


def _fit_pipeline(pipeline, kept, text_extractor):
    """Fit ``pipeline`` on the client with the text extractor already fitted.

    The image/audio extractors are fitted on the first rows that decode, as
    ``FeaturePipeline.fit`` does on its first non-empty batch (they only check
    their parameters); only a few rows are decoded here.
    """
    from sklearn.base import clone

    extractors = dict(pipeline.extractors)
    if text_extractor is not None:
        extractors["text"] = _Prefitted(text_extractor)
    pipe = clone(pipeline).set_params(extractors=extractors)
    batch_size = pipe.batch_size
    n = min(config.DASK_FIT_ROWS, batch_size)
    while True:
        pipe.set_params(batch_size=min(batch_size, n))
        try:
            pipe.fit(kept.iloc[:n])
            break
        except ValueError:
            if getattr(pipe, "summary_", {}).get("kept", 1) != 0:
                raise
            if n >= len(kept):
                raise _NothingDecodes(pipe.rejects_) from None
            n = min(len(kept), n * 8)  # every row so far failed to decode: look further
    pipe.set_params(batch_size=batch_size, progress=False)
    return pipe


def _settings(manifest, frame, pipeline, spec, fitted) -> dict:
    """What a resumed run must share with the run it finishes."""
    if isinstance(manifest, (str, os.PathLike)):
        source = {"manifest": str(Path(manifest).resolve()),
                  "manifest_sha256": file_fingerprint(manifest)}
    else:
        source = {"manifest": "<DataFrame>", "manifest_sha256": frame_fingerprint(frame)}
    out = {**source, **spec.settings(),
           "extractors": {m: repr(e) for m, e in pipeline.extractors.items()}}
    if fitted is not None:
        import joblib

        out["fitted_pipeline"] = joblib.hash(fitted)
    return out


def extract(manifest, pipeline=None, client=None, output=None, *, rejects=None,
            npartitions=None, workers=None, scheduler=None, cluster=None, overwrite=False,
            resume=False, retries=2, spec=None, fitted=None, post=None, **settings) -> dict:
    """Run the feature pipeline over a manifest on a Dask cluster.

    Parameters
    ----------
    manifest : path or DataFrame
        A manifest file (CSV, Parquet, JSON Lines; see
        :func:`mmfeat.data.read_manifest`) or the frame ``read_manifest`` returns.
    pipeline : FeaturePipeline, optional
        Unfitted; cloned and fitted here (``batch_size``, ``image_size``,
        ``sr``, ``on_missing``, ``allow_outside`` and ``backend`` then come
        from it). Default: ``spec.pipeline(...)``, the default extractors for
        the manifest's modalities, as ``mmfeat extract`` builds them.
    client : distributed.Client, optional
        The cluster to run on; else ``scheduler``, ``workers`` or ``cluster``
        say which (see :func:`make_client`).
    output : path
        A folder: one ``part-XXXXXX.parquet`` per partition (a Parquet dataset:
        ``pyarrow.parquet.read_table(output)``, ``pandas.read_parquet``,
        ``dask.dataframe.read_parquet`` and :func:`mmfeat.fusion.read_parquet`
        read it, rows in manifest order), laid out by
        :class:`~mmfeat.run.parts.PartStore`. Parts of a finished earlier run
        are an error unless ``overwrite``; an unfinished one unless ``resume``
        or ``overwrite``.
    rejects : path, optional
        CSV of every rejected row (``id``, ``row``, ``modality``, ``reason``,
        ``detail``); default ``OUTPUT`` with the suffix ``.rejects.csv``.
    npartitions : int, optional
        Default: one per worker thread or more, up to 4 per thread while each
        still holds 4 batches of ``batch_size`` rows, and at most 20,000 rows
        each. A resumed run keeps the earlier run's partitions.
    workers, scheduler, cluster
        See :func:`make_client`: ``workers=N`` starts a local cluster of N
        processes, ``scheduler="tcp://..."`` joins a running one,
        ``cluster="cuda"`` starts ``dask_cuda.LocalCUDACluster``.
    overwrite : bool, default False
    resume : bool, default False
        Finish an interrupted run into the same ``output`` (same manifest and
        settings): its fitted pipeline is reloaded and only the partitions
        without a part run.
    retries : int, default 2
        Reruns of a partition task that raised (a task whose worker died is
        rerun by the scheduler anyway).
    spec : ExtractSpec, optional
        The settings when ``pipeline`` is None; default
        ``ExtractSpec(batch_size=2048, **settings)``.
    fitted : FeaturePipeline, optional
        An already fitted pipeline (instead of ``pipeline``): applied as it is on
        every partition, never refitted.
    post : callable, optional
        ``post(features) -> DataFrame`` applied to each partition before it is
        written (``mmfeat predict``); runs on the workers, so it must pickle.
    **settings
        ``batch_size`` (default 2048 here), ``image_size``, ``sr``,
        ``text_components``, ``on_missing``, ``allow_outside``, ``backend``:
        see :class:`~mmfeat.run.spec.ExtractSpec`.

    Returns
    -------
    dict
        ``{"input", "kept", "rejected", "by_reason", "partitions", "output",
        "rejects", "client_seconds", "worker_seconds"}``; ``kept + rejected ==
        input``. ``client_seconds``: wall time of each phase (``clean``,
        ``start``, ``fit_text``, ``fit_other``, ``transform``, ``finish``);
        ``worker_seconds``: the pipeline's stage times summed over the
        partitions this call ran.

    Raises
    ------
    ValueError
        Nothing left to extract (every row rejected: the rejects file says why).
    RuntimeError
        The parts on disk do not add up to the input (never expected; the parts
        are kept for inspection).

    Notes
    -----
    On a multi-machine cluster the manifest's files and ``output`` must be
    reachable under the same paths from the client and every worker (a shared
    file system): workers decode the files and write the parts, the client
    reads the parts back to check them.

    Equal to ``FeaturePipeline.fit_transform`` on one machine: same rows in the
    same order, same rejects, features equal to float32 rounding (see the
    module docstring for how each extractor is fitted). With
    ``cluster="cuda"`` (or a dask-cuda cluster as ``client``) give
    ``backend="cuda"``: each worker extracts on its GPU and the blocks stay
    there up to the Parquet write. The manifest partitions stay pandas frames:
    they hold paths and short texts, nothing to compute on.
    """
    from ..data import clean, read_manifest, summarize
    from ..pipeline import FeaturePipeline

    if output is None:
        raise TypeError("extract() needs output=PATH (a folder for the Parquet parts)")
    output = Path(output)
    rejects_path = Path(rejects) if rejects else output.with_suffix(".rejects.csv")
    if npartitions is not None and (isinstance(npartitions, bool)
                                    or not isinstance(npartitions, Integral) or npartitions < 1):
        raise ValueError(f"npartitions must be an int >= 1, got {npartitions!r}")
    if pipeline is not None and not isinstance(pipeline, FeaturePipeline):
        raise TypeError(f"pipeline must be a FeaturePipeline, got {type(pipeline).__name__}")
    if fitted is not None:
        if pipeline is not None:
            raise TypeError("give pipeline (to fit) or fitted, not both")
        fitted.get_feature_names_out()  # NotFittedError for an unfitted pipeline
        pipeline = fitted
    if spec is not None and settings:
        raise TypeError(f"give spec or settings, not both (got {sorted(settings)})")
    if pipeline is not None:
        spec = ExtractSpec.of_pipeline(pipeline)
    elif spec is None:
        spec = ExtractSpec(**{"batch_size": 2048, **settings})

    if isinstance(manifest, (str, os.PathLike)):
        frame = read_manifest(manifest, allow_outside=spec.allow_outside)
    elif isinstance(manifest, pd.DataFrame):
        frame = manifest
    else:
        raise TypeError(
            f"manifest must be a path or a DataFrame, got {type(manifest).__name__}"
        )
    if pipeline is None:
        pipeline = spec.pipeline(manifest_modalities(frame), progress=False)
    pipeline.check_params()
    modalities = list(pipeline.extractors)
    missing_cols = [m for m in modalities if m not in manifest_modalities(frame)]
    if missing_cols:
        raise ValueError(f"manifest has no column for the extractors' modalities {missing_cols}")

    store = PartStore(output)
    finished = store.finished_parts()
    if finished and not overwrite:
        raise FileExistsError(
            f"{output} holds {len(finished)} parts of an earlier run; pass overwrite=True "
            "(--overwrite) or choose another folder"
        )
    before = store.begin(_settings(manifest, frame, pipeline, spec, fitted), resume=resume,
                         overwrite=overwrite,
                         resume_hint="pass resume=True (--resume) to finish it, "
                         "overwrite=True (--overwrite) to start again")
    n_input = len(frame)
    clock = _Clock()
    # one global cleaning pass: duplicates are found across partitions
    kept, clean_rejects = clean(frame, modalities=modalities, on_missing=pipeline.on_missing)
    store.write_clean_rejects(clean_rejects)

    def finish_empty(rejected):
        _write_rejects(rejects_path, rejected)
        store.clear()
        summary = summarize(n_input, rejected)
        raise ValueError(
            f"no rows left to extract: all {n_input} rows were rejected "
            f"({summary['by_reason']}); see {rejects_path}"
        )

    if not len(kept):
        finish_empty(clean_rejects)
    clock.lap("clean")

    with make_client(client, workers=workers, scheduler=scheduler, cluster=cluster) as c:
        if "npartitions" in before:
            npartitions = before["npartitions"]  # a resumed run keeps its partitions
        elif npartitions is None:
            npartitions = _default_npartitions(len(kept), _n_threads(c), pipeline.batch_size)
        # Partitions and the pipeline travel inside the task specs (not scattered):
        # the scheduler can then rerun any task whose worker died, inputs included.
        frames = _split(kept, min(npartitions, len(kept)))
        store.write_state({**json.loads(store.state_path.read_text()),
                           "npartitions": npartitions})
        clock.lap("start")
        if fitted is None:
            fitted = store.load_pipeline()
        if fitted is None:
            fitted = _fit_everything(pipeline, kept, frames, c, clock, clean_rejects,
                                     finish_empty)
        store.save_pipeline(fitted)
        done = store.done(len(frames))
        pipe_fut = c.submit(_identity, fitted, pure=False)
        futures = [
            c.submit(_extract_partition, pipe_fut, f, i, str(output), post, retries=retries,
                     pure=False)
            for i, f in enumerate(frames) if i not in done
        ]
        results = c.gather(futures)
        clock.lap("transform")
    keep = fitted_pipeline_path(output) if post is None else None
    summary = _finish(store, rejects_path, n_input, kept, len(frames), results, keep)
    clock.lap("finish")
    summary["client_seconds"] = clock.laps
    return summary


def _fit_everything(pipeline, kept, frames, client, clock, clean_rejects, finish_empty):
    """The pipeline fitted on the cluster's partitions (text) and a few rows (the rest)."""
    text_est = None
    if "text" in pipeline.extractors:
        loader = client.submit(_identity, _text_loader(pipeline), pure=False)
        text_futs = [client.submit(_load_texts, loader, f, pure=False) for f in frames]
        text_est = _fit_text(pipeline.extractors["text"], text_futs, client)
        del text_futs, loader
        clock.lap("fit_text")
    try:
        fitted = _fit_pipeline(pipeline, kept, text_est)
    except _NothingDecodes as exc:
        finish_empty(pd.concat([clean_rejects, exc.rejects], ignore_index=True))
    clock.lap("fit_other")
    return fitted


class _Clock:
    """Seconds per phase of a run, for the summary (where the time of a run goes)."""

    def __init__(self):
        self.laps = {}
        self._t = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = now - self._t
        self._t = now


def _identity(obj):
    return obj


def _text_loader(pipeline):
    """A copy of the pipeline used only to read texts on the workers (no extractors)."""
    from sklearn.base import clone

    return clone(pipeline).set_params(extractors={"text": _Prefitted(None)})


def _write_rejects(path: Path, rejects: pd.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda p: rejects.to_csv(p, index=False))


def _finish(store, rejects_path, n_input, kept, n_parts, results, keep_pipeline) -> dict:
    """Check the parts on disk against the input, write the joined rejects and keep
    the fitted pipeline at ``keep_pipeline`` (unless None)."""
    tables, rejects, summary = store.collect(n_parts, n_input, columns=["id"])
    ids = np.concatenate([t.column("id").to_numpy(zero_copy_only=False).astype(str)
                          for t in tables])
    # rows the partitions rejected (not the cleaning's: a duplicate id is rejected
    # while the row it repeats is kept)
    late = {str(i) for k in range(n_parts) for i in read_rejects(store.rejects_part(k))["id"]}
    expected = {str(i) for i in kept["id"]} - late
    if expected != set(ids):
        raise RuntimeError(f"the ids in {store.folder} are not the cleaned manifest's ids")
    _write_rejects(rejects_path, rejects)
    if keep_pipeline is not None:
        store.keep_pipeline(keep_pipeline)
    store.forget_run()
    timings = {}
    for r in results:
        for k, v in r["timings"].items():
            timings[k] = timings.get(k, 0.0) + v
    summary.update(partitions=n_parts, output=str(store.folder), rejects=str(rejects_path),
                   worker_seconds=timings)
    return summary


# ---------------------------------------------------------------------------------
# dask arrays: batch-axis ops
# ---------------------------------------------------------------------------------
def _map_batches(op, array, what, out_shape, dtype, kwargs):
    import dask.array as da

    if not isinstance(array, da.Array):
        raise TypeError(f"{what} must be a dask array, got {type(array).__name__}")
    if array.ndim < 2:
        raise ValueError(f"{what} must be batch-first with at least 2 axes, got {array.ndim}")
    n = array.shape[0]
    # the op sees whole items: one chunk along every axis but the batch axis
    array = array.rechunk({i: -1 for i in range(1, array.ndim)})
    aligned = {k: v for k, v in kwargs.items() if isinstance(v, da.Array)}
    static = {k: v for k, v in kwargs.items() if k not in aligned}
    for k, v in aligned.items():
        if v.ndim != 1 or v.shape[0] != n:
            raise ValueError(f"{k} must be a 1-D dask array of {n} entries, got {v.shape}")
    aligned = {k: v.rechunk((array.chunks[0],)) for k, v in aligned.items()}
    names = list(aligned)

    def call(block, *extra):
        return op(block, **dict(zip(names, extra, strict=True)), **static)

    if out_shape is None or dtype is None:
        # one real item tells the output's trailing shape, dtype and array type
        first = call(array[:1].compute(), *[v[:1].compute() for v in aligned.values()])
        out_shape = tuple(first.shape[1:]) if out_shape is None else tuple(out_shape)
        dtype = first.dtype if dtype is None else np.dtype(dtype)
        meta = first[:0]
    else:
        out_shape = tuple(out_shape)
        dtype = np.dtype(dtype)
        meta = np.empty((0,) * (1 + len(out_shape)), dtype=dtype, like=array._meta)
    in_ind = "a" + "bcdefghi"[: array.ndim - 1]
    out_ind = "a" + "pqrstuvw"[: len(out_shape)]
    args = [array, in_ind]
    for v in aligned.values():
        args += [v, "a"]
    return da.blockwise(
        call, out_ind, *args, dtype=dtype, meta=meta, concatenate=True,
        new_axes={out_ind[1 + j]: s for j, s in enumerate(out_shape)},
    )


def map_images(op, images, *, out_shape=None, dtype=None, **kwargs):
    """Apply a batch-first image op to a dask array of images, chunk by chunk.

    Parameters
    ----------
    op : callable
        ``op(batch, **kwargs) -> (n, ...)`` for a batch of n images, e.g.
        :func:`mmfeat.image.sobel`, :func:`mmfeat.image.color_histogram`, or
        the ``transform`` of a fitted :class:`mmfeat.image.ImageFeatures`.
    images : dask.array.Array
        (N, H, W) grayscale or (N, H, W, 3) RGB, NumPy or CuPy chunks; rechunked
        so that each chunk holds whole images (chunked along N only).
    out_shape : tuple, optional
        The output's shape after the batch axis; with ``dtype``, skips the
        one-image trial call that otherwise finds shape, dtype and array type.
    dtype : dtype, optional
    **kwargs
        Passed to ``op``; a 1-D dask array of N entries is split along with the
        batch (a per-image argument).

    Returns
    -------
    dask.array.Array
        (N, *out_shape), chunked along N like ``images``; CuPy chunks in give
        CuPy chunks out when ``op`` keeps them on the device.

    Examples
    --------
    >>> import dask.array as da, numpy as np
    >>> from mmfeat.image import rgb_to_gray
    >>> x = da.from_array(np.zeros((10, 8, 8, 3), np.uint8), chunks=(4, 8, 8, 3))
    >>> map_images(rgb_to_gray, x).chunks
    ((4, 4, 2), (8,), (8,))
    """
    return _map_batches(op, images, "images", out_shape, dtype, kwargs)


def map_audio(op, y, *, out_shape=None, dtype=None, **kwargs):
    """Apply a batch-first audio op to a dask array of clips (N, T), chunk by chunk.

    Parameters
    ----------
    op : callable
        ``op(y, **kwargs)`` for a batch (n, T), e.g. :func:`mmfeat.audio.mfcc`
        (-> (n, n_mfcc, frames)) or a fitted ``AudioFeatures().transform``
        (-> (n, D)).
    y : dask.array.Array
        (N, T) zero-padded clips, NumPy or CuPy chunks; rechunked along N only.
    out_shape, dtype
        As in :func:`map_images`.
    **kwargs
        Passed to ``op``; a 1-D dask array of N entries (``lengths=``, the true
        length of each clip) is split along with the batch.

    Returns
    -------
    dask.array.Array
        (N, *out_shape), chunked along N like ``y``.
    """
    return _map_batches(op, y, "y", out_shape, dtype, kwargs)
