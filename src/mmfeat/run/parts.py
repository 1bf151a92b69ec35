""":class:`PartStore`: the folder of parts both executors write, and the final check.

One layout for the local and the Dask executor::

    FOLDER/part-000000.parquet      features of batch / partition 0 (written last)
    FOLDER/_rejects/part-000000.csv its rejected rows (written before the part)
    FOLDER/_rejects/clean.csv       rows the global cleaning rejected (Dask)
    FOLDER/_state.json              the run's settings, for --resume
    FOLDER/_pipeline.joblib         the fitted pipeline, for --resume

Every file is written under a temporary name and renamed, so a file exists
whole or not at all, and a part's presence means its rejects are on disk too.
Names starting with ``_`` or ``.`` are skipped by Parquet dataset readers, so
the Dask output folder reads as a dataset while a run is unfinished too.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from .._files import atomic_write, file_fingerprint

__all__ = ["PartStore", "atomic_write", "file_fingerprint", "fitted_pipeline_path",
           "frame_fingerprint", "read_rejects"]

_STATE = "_state.json"
_PIPELINE = "_pipeline.joblib"
_REJECTS = "_rejects"


def frame_fingerprint(frame: pd.DataFrame) -> str:
    """sha256 of a manifest frame's columns and values."""
    h = hashlib.sha256(json.dumps([str(c) for c in frame.columns]).encode())
    h.update(pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy().tobytes())
    return h.hexdigest()


def fitted_pipeline_path(output) -> Path:
    """Where an extraction keeps its fitted pipeline: beside ``output``, named like it
    with the suffix ``.pipeline.joblib`` (``features.parquet`` ->
    ``features.pipeline.joblib``). ``mmfeat train --save`` bundles it with the model;
    ``mmfeat extract --pipeline`` applies it to a new manifest."""
    return Path(output).with_suffix(".pipeline.joblib")


def read_rejects(path: Path) -> pd.DataFrame:
    """A rejects CSV as written here (ids and details kept as text)."""
    return pd.read_csv(path, dtype={"id": str, "detail": str}, keep_default_na=False)


class PartStore:
    """The numbered parts of one extraction under ``folder`` (see the module docstring)."""

    def __init__(self, folder):
        self.folder = Path(folder)

    # -- names ----------------------------------------------------------------------
    def part(self, i: int) -> Path:
        return self.folder / f"part-{i:06d}.parquet"

    def rejects_part(self, i: int) -> Path:
        return self.folder / _REJECTS / f"part-{i:06d}.csv"

    @property
    def state_path(self) -> Path:
        return self.folder / _STATE

    @property
    def pipeline_path(self) -> Path:
        return self.folder / _PIPELINE

    @property
    def clean_rejects_path(self) -> Path:
        return self.folder / _REJECTS / "clean.csv"

    # -- run state --------------------------------------------------------------------
    def unfinished(self) -> bool:
        """An earlier run started here and did not finish."""
        return self.state_path.exists()

    def finished_parts(self) -> list[Path]:
        """Parts present without run state: the output of a finished run."""
        if not self.folder.is_dir() or self.unfinished():
            return []
        return sorted(self.folder.glob("part-*.parquet"))

    def begin(self, settings: dict, *, resume: bool, overwrite: bool = False,
              resume_hint: str = "pass --resume to finish it") -> dict:
        """Start (or, with ``resume``, continue) a run of ``settings``.

        Returns the earlier run's state when resuming one (``{}`` otherwise).
        An unfinished run is an error without ``resume``/``overwrite``; resuming
        with other settings is an error naming them.
        """
        if self.folder.exists() and not self.folder.is_dir():
            raise FileExistsError(f"{self.folder} exists and is not a folder")
        before = {}
        if overwrite:
            self.clear()
        elif self.unfinished():
            if not resume:
                raise FileExistsError(
                    f"{self.folder} holds an unfinished earlier run: {resume_hint}, "
                    "or delete that folder to start again"
                )
            before = json.loads(self.state_path.read_text())
            changed = [k for k in settings if before.get(k) != settings[k]]
            if changed:
                raise ValueError(
                    f"--resume: the earlier run in {self.folder} used different "
                    f"{', '.join(changed)}; delete that folder to start again"
                )
        (self.folder / _REJECTS).mkdir(parents=True, exist_ok=True)
        self.write_state({**before, **settings})
        return before

    def write_state(self, state: dict) -> None:
        atomic_write(self.state_path, lambda p: p.write_text(json.dumps(state, indent=2)))

    def clear(self) -> None:
        """Remove every part and all bookkeeping (other files in the folder stay)."""
        if not self.folder.is_dir():
            return
        for p in self.folder.glob("part-*.parquet"):
            p.unlink()
        self.forget_run()

    def forget_run(self) -> None:
        """Remove the bookkeeping of a run: rejects parts, state, pipeline, temp files."""
        shutil.rmtree(self.folder / _REJECTS, ignore_errors=True)
        for p in (self.state_path, self.pipeline_path):
            p.unlink(missing_ok=True)
        for tmp in self.folder.glob(".*.tmp-*"):  # left by a writer killed mid-write
            tmp.unlink(missing_ok=True)

    # -- parts --------------------------------------------------------------------------
    def done(self, n: int) -> set[int]:
        """The indices below ``n`` whose part is on disk."""
        return {i for i in range(n) if self.part(i).exists()}

    def write(self, i: int, table, rejects: pd.DataFrame) -> None:
        """Part ``i``: its rejects first, then the table (its presence marks the part
        done). ``table``: a FeatureSet, or a DataFrame (predictions)."""
        atomic_write(self.rejects_part(i), lambda p: rejects.to_csv(p, index=False))
        if isinstance(table, pd.DataFrame):
            atomic_write(self.part(i), lambda p: table.to_parquet(p, index=False))
        else:
            atomic_write(self.part(i), table.write_parquet)

    def write_clean_rejects(self, rejects: pd.DataFrame) -> None:
        atomic_write(self.clean_rejects_path, lambda p: rejects.to_csv(p, index=False))

    def save_pipeline(self, pipe) -> None:
        import joblib

        atomic_write(self.pipeline_path, lambda p: joblib.dump(pipe, p))

    def load_pipeline(self):
        """The fitted pipeline of the unfinished run, or None before it was fitted."""
        import joblib

        if not self.pipeline_path.exists():
            return None
        return joblib.load(self.pipeline_path)  # written by this run: a trusted file

    def keep_pipeline(self, path) -> None:
        """Move the run's fitted pipeline to ``path`` (it outlives the run)."""
        if self.pipeline_path.exists():
            os.replace(self.pipeline_path, path)

    # -- the final check ------------------------------------------------------------------
    def collect(self, n_parts: int, n_input: int, *, columns=None):
        """Read parts 0..n_parts-1 and every rejects file; check that the rows add up.

        Returns ``(tables, rejects, summary)``: the parts as pyarrow tables (only
        ``columns`` when given), the joined rejects and
        :func:`mmfeat.data.summarize`'s counts. Raises RuntimeError (the folder
        is kept for inspection) when a part is missing, a part is left over, the
        kept and rejected rows do not add up to ``n_input``, or an id repeats.
        """
        import pyarrow.parquet as pq

        from ..data import summarize
        from ..data.clean import empty_rejects

        missing = [i for i in range(n_parts) if not self.part(i).exists()]
        if missing:
            raise RuntimeError(
                f"parts {missing} are missing in {self.folder}; run again with --resume"
            )
        expected = {self.part(i).name for i in range(n_parts)}
        stray = sorted(p.name for p in self.folder.glob("part-*.parquet")
                       if p.name not in expected)
        if stray:
            raise RuntimeError(f"unexpected parts in {self.folder}: {stray}")
        tables = [pq.read_table(self.part(i), columns=columns) for i in range(n_parts)]
        paths = [self.clean_rejects_path] + [self.rejects_part(i) for i in range(n_parts)]
        frames = [read_rejects(p) for p in paths if p.exists()]
        frames = [f for f in frames if len(f)]
        rejects = pd.concat(frames, ignore_index=True) if frames else empty_rejects()
        summary = summarize(n_input, rejects)
        n_kept = sum(t.num_rows for t in tables)
        if summary["kept"] != n_kept:
            raise RuntimeError(
                f"row counts do not add up: {n_input} input rows, {len(rejects)} rejected, "
                f"{n_kept} extracted; the parts in {self.folder} are kept for inspection"
            )
        ids = np.concatenate(
            [t.column("id").to_numpy(zero_copy_only=False).astype(str) for t in tables]
        ) if tables else np.zeros(0, str)
        if len(np.unique(ids)) != len(ids):
            raise RuntimeError(f"duplicated ids in the parts in {self.folder}; they are kept")
        return tables, rejects, summary
