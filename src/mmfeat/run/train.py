"""``train``: a features Parquet file -> a fitted, evaluated model and its report.

The report is a dict (JSON values); printing it is the CLI's business
(:func:`mmfeat.cli.pipeline.format_train_report`).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd


def _labels(fs, label: str) -> pd.Series:
    if label == "label" and fs.labels is not None:
        return pd.Series(fs.labels)
    if fs.extra is not None and label in fs.extra.columns:
        return fs.extra[label].reset_index(drop=True)
    cols = ["label"] if fs.labels is not None else []
    cols += [] if fs.extra is None else list(fs.extra.columns)
    raise ValueError(f"--label: no column {label!r}; non-feature columns: {cols or 'none'}")


def _split(fs, y, keep, split_col, test_size, seed):
    """(train positions, test positions) among the labelled rows."""
    from sklearn.model_selection import train_test_split

    if split_col is not None:
        if fs.extra is None or split_col not in fs.extra.columns:
            raise ValueError(f"--split-col: no column {split_col!r}")
        split = fs.extra[split_col].astype(str).str.strip().str.lower().to_numpy()[keep]
        test_mask = split == "test"
        train_pos, test_pos = np.flatnonzero(~test_mask), np.flatnonzero(test_mask)
        if not len(train_pos) or not len(test_pos):
            raise ValueError(f"--split-col {split_col}: need rows marked 'test' and other rows; "
                             f"got {len(test_pos)} test and {len(train_pos)} training rows")
        return train_pos, test_pos
    _, counts = np.unique(y, return_counts=True)
    stratify = y if counts.min() >= 2 else None
    return train_test_split(np.arange(len(y)), test_size=test_size, random_state=seed,
                            stratify=stratify)


def _fitted_pipeline(features_path, pipeline):
    """The fitted pipeline the features came from (for the bundle)."""
    import joblib

    from .parts import fitted_pipeline_path

    path = Path(pipeline) if pipeline is not None else fitted_pipeline_path(features_path)
    if not path.is_file():
        raise ValueError(
            f"--save bundles the model with the fitted pipeline its features came from, "
            f"and {path} does not exist (`mmfeat extract` writes it beside its output); "
            "give it with --pipeline"
        )
    return joblib.load(path)  # written by mmfeat extract: a trusted file


def train(features_path, *, label: str, model: str = "logistic", split_col=None,
          test_size: float = 0.2, tune: bool = False, save=None, pipeline=None, seed: int = 0,
          backend=None) -> dict:
    """Train and evaluate ``model`` on a features Parquet file; returns the report.

    The report holds ``accuracy``, ``precision_macro``, ``recall_macro``,
    ``f1_macro``, ``per_class_recall``, ``confusion_matrix``, ``labels``, the
    ``model`` and its ``library``, ``n_train``, ``n_test``, ``n_unlabeled`` (rows
    left out), ``blocks`` (features per modality), the ``tuning`` result (with
    ``tune``), the per-modality ``ablation`` on the same split (records),
    ``saved`` (the path the model bundle was saved to, or None) and ``seconds``,
    the wall time of each stage: ``read`` (the Parquet file), ``fit`` (with
    ``tune``: the cross-validated search and the refit), ``evaluate`` (the test
    rows), ``ablation`` and, with ``save``, ``save``.

    ``save``: write a :class:`~mmfeat.bundle.ModelBundle` there: the model with the
    fitted feature pipeline (``pipeline``, default the one ``mmfeat extract`` kept
    beside ``features_path``), the classes and the feature names, ready for
    ``mmfeat predict``.
    """
    from .. import models
    from ..fusion import read_parquet

    seconds = {}
    t0 = time.perf_counter()
    fitted = _fitted_pipeline(features_path, pipeline) if save else None
    fs = read_parquet(features_path)
    y = _labels(fs, label)
    keep = ~y.isna().to_numpy()
    idx = np.flatnonzero(keep)
    y = y.to_numpy()[keep]
    train_pos, test_pos = _split(fs, y, keep, split_col, test_size, seed)
    blocks = {m: b[idx] for m, b in fs.blocks.items()}
    X = np.concatenate(list(blocks.values()), axis=1)
    seconds["read"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    tuned = None
    if tune:
        est, tuned = models.tune(model, X[train_pos], y[train_pos], backend=backend,
                                 random_state=seed)
    else:
        est = models.make_model(model, backend, random_state=seed).fit(X[train_pos], y[train_pos])
    seconds["fit"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = models.evaluate(est, X[test_pos], y[test_pos])
    seconds["evaluate"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    table = models.ablation(blocks, y, model=model, backend=backend, random_state=seed,
                            split=(train_pos, test_pos))
    seconds["ablation"] = time.perf_counter() - t0
    if save:
        t0 = time.perf_counter()
        from ..bundle import ModelBundle, save_bundle

        if list(fitted.get_feature_names_out()) != list(fs.feature_names):
            raise ValueError(f"the fitted pipeline does not make the columns of {features_path}; "
                             "give the one its features came from with --pipeline")
        classes = getattr(est, "classes_", np.unique(y))
        save_bundle(ModelBundle(fitted, est, classes, fs.feature_names, label=label), save)
        seconds["save"] = time.perf_counter() - t0
    report.update(
        model=model, library=models.model_library(est), n_train=int(len(train_pos)),
        n_test=int(len(test_pos)), n_unlabeled=int((~keep).sum()),
        blocks={m: int(b.shape[1]) for m, b in blocks.items()}, tuning=tuned,
        ablation=table.to_dict(orient="records"), saved=str(save) if save else None,
        seconds=seconds,
    )
    return report
