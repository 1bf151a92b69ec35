"""The pipeline on Dask (public import path; the code lives in :mod:`mmfeat.run.dask`).

- :func:`extract`: a manifest -> a Parquet dataset (one file per partition)
  plus a rejects table, equal row for row to the single-machine
  :class:`~mmfeat.pipeline.FeaturePipeline`, resumable;
- :func:`fit_tfidf` / :func:`transform_tfidf`: a TF-IDF vectorizer fitted on
  partitions of documents, equal to scikit-learn's single-machine fit;
- :func:`map_images` / :func:`map_audio`: batch-first ops over the batch axis
  of a dask array;
- :func:`make_client`: a client for one job.
"""

from .run.dask import extract, fit_tfidf, make_client, map_audio, map_images, transform_tfidf

__all__ = ["extract", "fit_tfidf", "transform_tfidf", "map_images", "map_audio", "make_client"]
