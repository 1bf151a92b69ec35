"""The jobs behind ``mmfeat extract`` and ``mmfeat train``, usable from Python too.

:class:`ExtractJob` runs the :class:`~mmfeat.pipeline.FeaturePipeline` over a
manifest batch by batch and survives being killed: every batch is written as
its own Parquet part (and its rejects as a CSV part) under ``OUTPUT.parts/``,
each file first to a temporary name and then renamed, so a part either exists
whole or not at all. ``run(resume=True)`` reloads the fitted pipeline, skips the
batches whose part exists and finishes the rest; the parts are then joined
into ``OUTPUT`` and the rejects file, and the row counts are checked to add up.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

_STATE = "state.json"
_PIPELINE = "pipeline.joblib"


def _atomic_write(path: Path, write) -> None:
    """``write(tmp_path)`` then rename onto ``path`` (same folder, so the rename is atomic)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _fingerprint(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class ExtractJob:
    """Manifest -> features Parquet + rejects CSV, resumable.

    Parameters
    ----------
    manifest : path
        CSV, Parquet or JSON Lines (see :func:`mmfeat.data.read_manifest`).
    output : path
        The features Parquet file.
    rejects : path, optional
        Default: ``OUTPUT`` with the suffix ``.rejects.csv``.
    batch_size, image_size, sr, on_missing, allow_outside, backend, progress
        As in :class:`~mmfeat.pipeline.FeaturePipeline`.
    text_components : int
        LSA dimensions of :class:`~mmfeat.text.TextFeatures`.
    extractors : dict, optional
        Replace :func:`~mmfeat.pipeline.default_extractors`.
    """

    def __init__(self, manifest, output, *, rejects=None, batch_size=1024, image_size=(64, 64),
                 sr=16000, text_components=64, on_missing="reject", allow_outside=False,
                 backend=None, progress=None, extractors=None):
        self.manifest = Path(manifest)
        self.output = Path(output)
        self.rejects = Path(rejects) if rejects else self.output.with_suffix(".rejects.csv")
        self.parts = self.output.with_name(self.output.name + ".parts")
        self.batch_size = batch_size
        self.image_size = tuple(image_size) if not isinstance(image_size, int) else image_size
        self.sr = sr
        self.text_components = text_components
        self.on_missing = on_missing
        self.allow_outside = allow_outside
        self.backend = backend
        self.progress = progress
        self.extractors = extractors

    def _settings(self) -> dict:
        return {
            "manifest": str(self.manifest.resolve()),
            "manifest_sha256": _fingerprint(self.manifest),
            "batch_size": self.batch_size,
            "image_size": list(self.image_size) if not isinstance(self.image_size, int)
            else self.image_size,
            "sr": self.sr,
            "text_components": self.text_components,
            "on_missing": self.on_missing,
            "allow_outside": self.allow_outside,
            "backend": self.backend,
        }

    def _pipeline(self, frame):
        from .data.manifest import modality_columns
        from .pipeline import FeaturePipeline, default_extractors

        modalities = list(dict.fromkeys(modality_columns(frame).values()))
        extractors = self.extractors or default_extractors(
            modalities, sr=self.sr, text_components=self.text_components, backend=self.backend
        )
        return FeaturePipeline(
            extractors, batch_size=self.batch_size, on_missing=self.on_missing,
            image_size=self.image_size, sr=self.sr, allow_outside=self.allow_outside,
            backend=self.backend, progress=self.progress,
        )

    def run(self, *, resume: bool = False) -> dict:
        """Extract everything; returns ``{"input", "kept", "rejected", "by_reason"}``."""
        import joblib

        from .data import read_manifest

        settings = self._settings()
        state_path = self.parts / _STATE
        if self.parts.exists() and not resume:
            raise FileExistsError(
                f"{self.parts} holds an unfinished earlier run: pass --resume to finish it, "
                "or delete that folder to start again"
            )
        if resume and state_path.exists():
            before = json.loads(state_path.read_text())
            changed = [k for k in settings if before.get(k) != settings[k]]
            if changed:
                raise ValueError(
                    f"--resume: the earlier run in {self.parts} used different "
                    f"{', '.join(changed)}; delete that folder to start again"
                )
        self.parts.mkdir(parents=True, exist_ok=True)
        _atomic_write(state_path, lambda p: p.write_text(json.dumps(settings, indent=2)))

        frame = read_manifest(self.manifest, allow_outside=self.allow_outside)
        n_input = len(frame)
        pipe_path = self.parts / _PIPELINE
        if pipe_path.exists():
            pipe = joblib.load(pipe_path)  # written by this job, a trusted file
            # At most this many batches: cleaning may leave fewer rows than the manifest has.
            n_max = max(1, -(-len(frame) // self.batch_size))
            done = {i for i in range(n_max) if (self.parts / _part(i)).exists()}
            batches = pipe._iter_indexed(frame, skip=done)
        else:
            pipe = self._pipeline(frame)
            batches = self._fit(pipe, frame, n_input, pipe_path)
        for i, features, rejects in batches:
            _atomic_write(self.parts / _rejects_part(i),
                          lambda p, r=rejects: r.to_csv(p, index=False))
            _atomic_write(self.parts / _part(i), lambda p, f=features: f.write_parquet(p))
        return self._finish(n_input, pipe._n_batches)

    def _fit(self, pipe, frame, n_input: int, pipe_path: Path):
        """Fit ``pipe`` and yield every batch of the same pass.

        The pipeline is fitted on the first non-empty batch (and the whole corpus
        for text) and saved before that batch is yielded, so a part on disk always
        has its pipeline beside it, and no batch is decoded twice.
        """
        import joblib

        try:
            batches = pipe._fit_and_iter(frame, None, transform=True)
            first = next(batches, None)
        except ValueError:
            if getattr(pipe, "summary_", {}).get("kept", 1) == 0:
                # Nothing survived: the rejects still say why, row by row.
                self.rejects.parent.mkdir(parents=True, exist_ok=True)
                pipe.rejects_.to_csv(self.rejects, index=False)
                shutil.rmtree(self.parts)
                raise ValueError(
                    f"no rows left to extract: all {n_input} rows were rejected "
                    f"({pipe.summary_['by_reason']}); see {self.rejects}"
                ) from None
            shutil.rmtree(self.parts)  # nothing to resume: no pipeline was fitted
            raise
        _atomic_write(pipe_path, lambda p: joblib.dump(pipe, p))
        if first is not None:
            yield first
            yield from batches

    def _finish(self, n_input: int, n_batches: int) -> dict:
        import pyarrow as pa
        import pyarrow.parquet as pq

        from .data import summarize
        from .data.clean import empty_rejects

        missing = [i for i in range(n_batches) if not (self.parts / _part(i)).exists()]
        if missing:
            raise RuntimeError(f"batches {missing} have no output part; run again with --resume")
        tables = [pq.read_table(self.parts / _part(i)) for i in range(n_batches)]
        meta = tables[0].schema.metadata
        table = pa.concat_tables(tables, promote_options="permissive")
        table = table.replace_schema_metadata(meta)
        reject_frames = [
            pd.read_csv(self.parts / _rejects_part(i), dtype={"id": str, "detail": str},
                        keep_default_na=False)
            for i in range(n_batches)
        ]
        reject_frames = [r for r in reject_frames if len(r)]
        rejects = pd.concat(reject_frames, ignore_index=True) if reject_frames else empty_rejects()
        summary = summarize(n_input, rejects)
        if summary["kept"] != table.num_rows:
            raise RuntimeError(
                f"row counts do not add up: {n_input} input rows, {len(rejects)} rejected, "
                f"{table.num_rows} extracted; the parts in {self.parts} are kept for inspection"
            )
        ids = table.column("id").to_numpy(zero_copy_only=False)
        if len(np.unique(ids)) != len(ids):
            raise RuntimeError(f"duplicated ids in the output; the parts in {self.parts} are kept")
        self.output.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(self.output, lambda p: pq.write_table(table, p))
        self.rejects.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(self.rejects, lambda p: rejects.to_csv(p, index=False))
        shutil.rmtree(self.parts)
        return summary


def _part(i: int) -> str:
    return f"part-{i:06d}.parquet"


def _rejects_part(i: int) -> str:
    return f"rejects-{i:06d}.csv"


# -- train -------------------------------------------------------------------------
def train(features_path, *, label: str, model: str = "logistic", split_col=None,
          test_size: float = 0.2, tune: bool = False, save=None, seed: int = 0,
          backend=None, log=print) -> dict:
    """Train and evaluate ``model`` on a features Parquet file; returns the report.

    The report holds ``accuracy``, ``precision_macro``, ``recall_macro``,
    ``f1_macro``, ``per_class_recall``, ``confusion_matrix``, ``labels``, the
    model and library, the split sizes, the tuning result (with ``tune``) and
    the per-modality ``ablation`` on the same split.
    """
    from sklearn.model_selection import train_test_split

    from . import models
    from .fusion import read_parquet

    fs = read_parquet(features_path)
    if label == "label" and fs.labels is not None:
        y = pd.Series(fs.labels)
    elif fs.extra is not None and label in fs.extra.columns:
        y = fs.extra[label].reset_index(drop=True)
    else:
        cols = ["label"] if fs.labels is not None else []
        cols += [] if fs.extra is None else list(fs.extra.columns)
        raise ValueError(f"--label: no column {label!r}; non-feature columns: {cols or 'none'}")
    keep = ~y.isna().to_numpy()
    if not keep.all():
        log(f"{int((~keep).sum())} rows without a label are left out")
    idx = np.flatnonzero(keep)
    y = y.to_numpy()[keep]
    if split_col is not None:
        if fs.extra is None or split_col not in fs.extra.columns:
            raise ValueError(f"--split-col: no column {split_col!r}")
        split = fs.extra[split_col].astype(str).str.strip().str.lower().to_numpy()[keep]
        test_mask = split == "test"
        train_pos, test_pos = np.flatnonzero(~test_mask), np.flatnonzero(test_mask)
        if not len(train_pos) or not len(test_pos):
            raise ValueError(f"--split-col {split_col}: need rows marked 'test' and other rows; "
                             f"got {len(test_pos)} test and {len(train_pos)} training rows")
    else:
        _, counts = np.unique(y, return_counts=True)
        stratify = y if counts.min() >= 2 else None
        train_pos, test_pos = train_test_split(
            np.arange(len(y)), test_size=test_size, random_state=seed, stratify=stratify
        )
    blocks = {m: b[idx] for m, b in fs.blocks.items()}
    X = np.concatenate(list(blocks.values()), axis=1)
    log(f"{len(train_pos)} training rows, {len(test_pos)} test rows, "
        f"{X.shape[1]} features ({', '.join(f'{m} {b.shape[1]}' for m, b in blocks.items())})")
    tuned = None
    if tune:
        est, tuned = models.tune(model, X[train_pos], y[train_pos], backend=backend,
                                 random_state=seed)
        log(f"tuned {model}: {tuned['best_params']} (cv {tuned['scoring']} "
            f"{tuned['best_score']:.3f})")
    else:
        est = models.make_model(model, backend, random_state=seed).fit(X[train_pos], y[train_pos])
    report = models.evaluate(est, X[test_pos], y[test_pos])
    library = models.model_library(est)
    table = models.ablation(blocks, y, model=model, backend=backend, random_state=seed,
                            split=(train_pos, test_pos))
    log(f"\nmodel: {model} ({library})")
    for key in ("accuracy", "precision_macro", "recall_macro", "f1_macro"):
        log(f"  {key:<16} {report[key]:.4f}")
    log("confusion matrix (rows: true, columns: predicted; labels "
        f"{', '.join(map(str, report['labels']))}):")
    for row in report["confusion_matrix"]:
        log("  " + " ".join(f"{v:6d}" for v in row))
    from ._cli_pipeline import _format_table

    log("\nablation (same split)\n" + _format_table(table))
    if save:
        models.save_model(est, save)
        log(f"saved the model to {save} (joblib: load only files you trust)")
    report.update(
        model=model, library=library, n_train=int(len(train_pos)), n_test=int(len(test_pos)),
        tuning=tuned, ablation=table.to_dict(orient="records"),
    )
    return report
