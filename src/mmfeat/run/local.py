"""The local executor: :class:`ExtractJob`, a manifest -> one Parquet file, resumable.

It runs the :class:`~mmfeat.pipeline.FeaturePipeline` over the manifest batch
by batch in this process and writes every batch as a numbered part of a
:class:`~mmfeat.run.parts.PartStore` under ``OUTPUT.parts/``. Killed, it
resumes (``run(resume=True)``): the fitted pipeline is reloaded and only the
batches without a part are decoded and extracted. At the end the parts are
checked to add up, joined into ``OUTPUT`` and the rejects file, the fitted
pipeline is kept beside them (``OUTPUT`` with the suffix ``.pipeline.joblib``,
see :func:`~mmfeat.run.parts.fitted_pipeline_path`), and the folder is removed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .parts import PartStore, atomic_write, file_fingerprint, fitted_pipeline_path
from .spec import ExtractSpec, manifest_modalities


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
    spec : ExtractSpec, optional
        The settings; default ``ExtractSpec(**settings)``.
    progress : bool, optional
        Progress bar; default when stderr is a terminal.
    extractors : dict, optional
        Replace :func:`~mmfeat.pipeline.default_extractors`.
    fitted : FeaturePipeline, optional
        An already fitted pipeline: applied as it is, never refitted (a new
        manifest through the vocabulary, basis and settings of an earlier
        extraction); the spec then comes from it.
    post : callable, optional
        ``post(features) -> DataFrame`` applied to every batch before it is
        written: the output then holds its tables (``mmfeat predict`` writes
        predictions this way) and no fitted pipeline is kept beside it.
    **settings
        ``batch_size``, ``image_size``, ``sr``, ``text_components``,
        ``on_missing``, ``allow_outside``, ``backend``: see
        :class:`~mmfeat.run.spec.ExtractSpec` (when ``spec`` is not given).
    """

    def __init__(self, manifest, output, *, rejects=None, spec: ExtractSpec | None = None,
                 progress=None, extractors=None, fitted=None, post=None, **settings):
        if spec is not None and settings:
            raise TypeError(f"give spec or settings, not both (got {sorted(settings)})")
        if fitted is not None:
            fitted.get_feature_names_out()  # NotFittedError for an unfitted pipeline
            spec = ExtractSpec.of_pipeline(fitted)
        self.spec = spec if spec is not None else ExtractSpec(**settings)
        self.fitted = fitted
        self.post = post
        self.manifest = Path(manifest)
        self.output = Path(output)
        self.rejects = Path(rejects) if rejects else self.output.with_suffix(".rejects.csv")
        self.parts = self.output.with_name(self.output.name + ".parts")
        self.store = PartStore(self.parts)
        self.progress = progress
        self.extractors = extractors

    def _settings(self) -> dict:
        out = {"manifest": str(self.manifest.resolve()),
               "manifest_sha256": file_fingerprint(self.manifest), **self.spec.settings()}
        if self.fitted is not None:
            import joblib

            out["fitted_pipeline"] = joblib.hash(self.fitted)
        return out

    def run(self, *, resume: bool = False) -> dict:
        """Extract everything; returns ``{"input", "kept", "rejected", "by_reason"}``."""
        from ..data import read_manifest

        self.store.begin(self._settings(), resume=resume)
        frame = read_manifest(self.manifest, allow_outside=self.spec.allow_outside)
        n_input = len(frame)
        pipe = self.fitted if self.fitted is not None else self.store.load_pipeline()
        if pipe is not None:
            pipe.progress = self.progress
            # At most this many batches: cleaning may leave fewer rows than the manifest has.
            done = self.store.done(max(1, -(-n_input // self.spec.batch_size)))
            batches = pipe.iter_indexed(frame, skip=done)
        else:
            pipe = self.spec.pipeline(manifest_modalities(frame), extractors=self.extractors,
                                      progress=self.progress)
            batches = self._fit(pipe, frame, n_input)
        for i, features, rejects in batches:
            self.store.write(i, features if self.post is None else self.post(features), rejects)
        return self._finish(n_input, pipe.n_batches_)

    def _fit(self, pipe, frame, n_input: int):
        """Fit ``pipe`` and yield every batch of the same pass.

        The pipeline is fitted on the first non-empty batch (and the whole corpus
        for text) and saved before that batch is yielded, so a part on disk always
        has its pipeline beside it, and no batch is decoded twice.
        """
        try:
            batches = pipe.iter_indexed(frame, fit=True)
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
        self.store.save_pipeline(pipe)
        if first is not None:
            yield first
            yield from batches

    def _finish(self, n_input: int, n_batches: int) -> dict:
        import pyarrow as pa
        import pyarrow.parquet as pq

        tables, rejects, summary = self.store.collect(n_batches, n_input)
        meta = tables[0].schema.metadata
        table = pa.concat_tables(tables, promote_options="permissive")
        table = table.replace_schema_metadata(meta)
        self.output.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(self.output, lambda p: pq.write_table(table, p))
        self.rejects.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(self.rejects, lambda p: rejects.to_csv(p, index=False))
        if self.post is None:
            if self.fitted is not None:
                self.store.save_pipeline(self.fitted)
            self.store.keep_pipeline(fitted_pipeline_path(self.output))
        shutil.rmtree(self.parts)
        return summary
