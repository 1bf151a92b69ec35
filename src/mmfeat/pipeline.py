"""``FeaturePipeline``: clean -> convert -> extract per modality -> one FeatureSet.

The pipeline takes either an in-memory dataset::

    {"image": (N, H, W, 3) array, "text": list of N str, "audio": list of N 1-D arrays,
     "id": optional N ids, "label": optional N labels}

or a manifest (a path, or the frame :func:`mmfeat.data.read_manifest` returns).
Every row ends up either in the returned :class:`~mmfeat.fusion.FeatureSet` or
in ``rejects_`` with its reason, and ``summary_`` counts them.

Rows are processed in batches of ``batch_size`` items: the next batch is
decoded on a background thread while the current one is extracted (Pillow,
soundfile and the Numba kernels release the GIL), and a tqdm progress bar shows
the rows done when stderr is a terminal.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, clone

from .backend import get_array_module, use_backend
from .data import clean, empty_rejects, read_manifest, reject_failures, summarize
from .data.convert import decode_audio, decode_images, normalize_text, read_texts
from .data.manifest import MODALITIES, ROW_COLUMN
from .fusion import FeatureSet, column_name, concat

_INTERNAL = (ROW_COLUMN, "_outside", "_pos")


def default_extractors(
    modalities=MODALITIES,
    *,
    sr: int = 16000,
    text_components: int = 64,
    image_grid=(4, 4),
    backend: str | None = None,
) -> dict:
    """The extractors ``mmfeat demo`` and ``mmfeat extract`` use, per modality.

    - image: :class:`~mmfeat.image.ImageFeatures` on an ``image_grid`` of
      cells: per cell a coarse HSV histogram (4 x 2 x 2), colour moments, edge
      density and a 9-bin gradient histogram (a HOG-like description of shape);
    - text: :class:`~mmfeat.text.TextFeatures` (TF-IDF + LSA) with
      ``text_components`` components; with ``backend="cuda"`` the TF-IDF is built
      on the GPU and the LSA on the host, whose block then joins the others on the
      device (:class:`~mmfeat.fusion.FeatureSet` moves it);
    - audio: :class:`~mmfeat.audio.AudioFeatures` at ``sr`` (25 ms windows,
      10 ms hop, MFCC and deltas pooled, spectral and waveform statistics).

    Returns
    -------
    dict[str, transformer]
    """
    out = {}
    for m in modalities:
        if m == "image":
            from .image import ImageFeatures

            out[m] = ImageFeatures(hsv_bins=(4, 2, 2), grid=image_grid, backend=backend)
        elif m == "text":
            from .text import TextFeatures

            # on cuda the TF-IDF is built on the GPU and the LSA runs on the host
            out[m] = TextFeatures(n_components=text_components, backend=backend)
        elif m == "audio":
            from .audio import AudioFeatures

            out[m] = AudioFeatures(sr=sr, backend=backend)
        else:
            raise ValueError(f"unknown modality {m!r}; expected one of {MODALITIES}")
    return out
_ON_MISSING = ("reject", "impute")
_OUTPUTS = ("default", "pandas", "polars")


# auto_wrap_output_keys=None: transform returns a FeatureSet, which scikit-learn's
# output wrapping cannot take; set_output below gives the frames instead
class FeaturePipeline(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Extract and fuse features of several modalities, batch by batch.

    Parameters
    ----------
    extractors : dict[str, transformer]
        ``{"image": ImageFeatures(...), "text": TextFeatures(...),
        "audio": AudioFeatures(sr=...)}``, any subset; each maps a batch of its
        modality to an (n, d) array and has ``get_feature_names_out()``.
        They are cloned on ``fit`` (``extractors_`` holds the fitted ones).
    batch_size : int, default 2048
        Rows decoded and extracted at a time.
    on_missing : {"reject", "impute"}, default "reject"
        A missing modality value rejects the row, or (impute) gives zeros in
        that block plus a ``<modality>_missing`` indicator column set to 1.
    image_size : int or (H, W), default (64, 64)
        Size images are decoded to (manifests only; in-memory images are used
        as they are).
    sr : int, default 16000
        Rate audio files are decoded to (manifests only).
    allow_outside : bool, default False
        Manifest paths may resolve outside the manifest's folder.
    backend : {"numpy", "cpu", "cuda"}, optional
        Set with :func:`mmfeat.use_backend` around every extractor call; on
        cuda the blocks stay on the device.
    progress : bool, optional
        Show a progress bar; default: when stderr is a terminal.

    Attributes
    ----------
    extractors_ : dict[str, transformer]
    rejects_ : DataFrame
        Columns ``id``, ``row``, ``modality``, ``reason``, ``detail`` of the
        last ``transform``.
    summary_ : dict
        ``{"input", "kept", "rejected", "by_reason"}`` of the last ``transform``.
    timings_ : dict[str, float]
        Seconds per stage of the last ``fit``/``transform``: ``clean``,
        ``decode`` and one per modality.
    n_batches_ : int
        Batches of the last pass (cut after cleaning; at least 1), set when its
        first batch is decoded.

    The fitted pipeline holds the fitted extractors and these results, never
    the data it was fitted on (in-memory arrays are used during a call only).

    Notes
    -----
    ``fit`` fits the text extractor on every text (TF-IDF needs the whole
    corpus), and the others on the first batch: image and audio extractors
    learn nothing from data, they only check their parameters.

    Output: ``transform`` and ``fit_transform`` return a
    :class:`~mmfeat.fusion.FeatureSet`; after ``set_output(transform="pandas")``
    (or ``"polars"``) they return its frame, ``FeatureSet.to_frame(library)``:
    ``id`` first (rows can be rejected, so the ids say which rows came out), then
    the feature columns, which are ``get_feature_names_out()``, then ``label``
    and the manifest's passthrough columns. Unlike scikit-learn's transformers
    the pipeline follows only its own ``set_output``, not
    ``sklearn.set_config(transform_output=...)``: mmfeat's runners and bundles
    need the FeatureSet. ``iter_batches``/``iter_indexed`` always yield
    FeatureSets.

    Examples
    --------
    >>> from mmfeat import FeaturePipeline
    >>> from mmfeat.data import demo_dataset
    >>> from mmfeat.image import ImageFeatures
    >>> d = demo_dataset(16)
    >>> fs = FeaturePipeline({"image": ImageFeatures(hsv_bins=4)}).fit_transform(
    ...     {"image": d.images, "id": d.ids, "label": d.labels})
    >>> fs.blocks["image"].shape
    (16, 83)
    """

    def __init__(
        self,
        extractors,
        *,
        batch_size: int = 2048,
        on_missing: str = "reject",
        image_size=(64, 64),
        sr: int = 16000,
        allow_outside: bool = False,
        backend: str | None = None,
        progress: bool | None = None,
    ):
        self.extractors = extractors
        self.batch_size = batch_size
        self.on_missing = on_missing
        self.image_size = image_size
        self.sr = sr
        self.allow_outside = allow_outside
        self.backend = backend
        self.progress = progress

    # -- public -----------------------------------------------------------------
    def fit(self, data, y=None):
        """Fit the extractors on ``data`` (see the class docstring); returns self."""
        self._fit_and_iter(data, y, transform=False)
        return self

    def fit_transform(self, data, y=None):
        """``fit`` then ``transform`` in one pass over the data."""
        fs = self._collect((f, r) for _, f, r in self.iter_indexed(data, y, fit=True))
        return self._output(fs)

    def transform(self, data, y=None):
        """Features of every row of ``data`` that survives cleaning and decoding: a
        FeatureSet, or its frame after ``set_output`` (see the class Notes)."""
        self._check_fitted()
        return self._output(self._collect(self.iter_batches(data, y)))

    def set_output(self, *, transform=None):
        """Make ``transform`` and ``fit_transform`` return a frame; returns self.

        Parameters
        ----------
        transform : {"default", "pandas", "polars"}, optional
            ``"default"``: the :class:`~mmfeat.fusion.FeatureSet`; ``"pandas"``
            or ``"polars"``: ``FeatureSet.to_frame(transform)`` (``id``, the
            feature columns, ``label``, passthrough columns). None leaves the
            setting as it is. ``clone`` and pickling keep it.
        """
        if transform is None:
            return self
        if transform not in _OUTPUTS:
            raise ValueError(f"transform must be one of {_OUTPUTS}, got {transform!r}")
        # a new dict, not an update: a shallow copy of the pipeline keeps its own setting
        self._sklearn_output_config = {**getattr(self, "_sklearn_output_config", {}),
                                       "transform": transform}
        return self

    def _output(self, fs: FeatureSet):
        library = getattr(self, "_sklearn_output_config", {}).get("transform", "default")
        return fs if library == "default" else fs.to_frame(library)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # a dict of modality arrays, or a manifest (path or frame): not a table of features
        tags.input_tags.two_d_array = False
        tags.input_tags.dict = True
        tags.transformer_tags.preserves_dtype = []
        return tags

    def iter_batches(self, data, y=None) -> Iterator[tuple[FeatureSet, pd.DataFrame]]:
        """Yield ``(features, rejects)`` per batch (fitted pipeline; streaming).

        The rejects of the cleaning step come with the first batch. After the
        last batch ``rejects_``, ``summary_`` and ``timings_`` are set.
        """
        for _, features, rejects in self.iter_indexed(data, y):
            yield features, rejects

    def iter_indexed(self, data, y=None, *, skip=(), fit: bool = False
                     ) -> Iterator[tuple[int, FeatureSet, pd.DataFrame]]:
        """Yield ``(batch index, features, rejects)`` per batch: what the executors of
        :mod:`mmfeat.run` write as numbered parts.

        ``skip``: batch indices left out, neither decoded nor extracted (a resumed
        run has them already; the cleaning rejects travel with batch 0). ``fit``:
        fit first, in the same pass (the text extractor on every text before the
        first batch, the others on the first non-empty batch), so no batch is
        decoded twice; the pipeline is fitted when the first batch is yielded.
        An empty result still yields one empty batch 0 (unless skipped).
        """
        if fit:
            if skip:
                raise ValueError("skip needs a fitted pipeline: pass fit=False")
            return self._fit_and_iter(data, y, transform=True)
        self._check_fitted()
        frame, rejects, n_input, memory = self._prepare(data, y)
        return self._run(frame, rejects, n_input, memory, skip=frozenset(skip))

    def read_modality(self, m: str, frame: pd.DataFrame):
        """Values of modality ``m`` for the rows of a manifest frame (paths decoded,
        texts read and normalised): ``(values, failures)``, ``None`` where missing,
        failures as ``(position, reason)``."""
        return self._load_modality(m, frame, None)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """The feature columns of the output table, block after block, in extractor order.

        Parameters
        ----------
        input_features : ignored
            The input is a dataset, not named features; accepted for
            scikit-learn's signature.

        Returns
        -------
        ndarray of str objects
            ``FeatureSet.feature_names`` of what ``transform`` returns
            (``<modality>_<feature>``), as scikit-learn returns names.
        """
        self._check_fitted()
        names = [column_name(m, c) for m, cols in self._block_columns().items() for c in cols]
        return np.asarray(names, dtype=object)

    # -- validation -------------------------------------------------------------
    def check_params(self):
        """Raise TypeError/ValueError naming the first bad parameter (``fit`` calls it)."""
        if not isinstance(self.extractors, Mapping) or not self.extractors:
            raise TypeError(
                "extractors must be a non-empty dict {modality: transformer}, "
                f"got {type(self.extractors).__name__}"
            )
        unknown = [m for m in self.extractors if m not in MODALITIES]
        if unknown:
            raise ValueError(f"extractors: unknown modalities {unknown}; expected {MODALITIES}")
        for m, est in self.extractors.items():
            if not (hasattr(est, "transform") and hasattr(est, "fit")):
                raise TypeError(f"extractors[{m!r}] must have fit and transform")
        if self.on_missing not in _ON_MISSING:
            raise ValueError(f"on_missing must be one of {_ON_MISSING}, got {self.on_missing!r}")
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, (int, np.integer)):
            raise TypeError(f"batch_size must be an int, got {type(self.batch_size).__name__}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")

    def _check_fitted(self):
        if not hasattr(self, "extractors_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("this FeaturePipeline is not fitted yet; call fit first")

    # -- input -> one frame of rows -----------------------------------------------
    def _prepare(self, data, y):
        """(kept rows, rejects, number of input rows) with one column per modality.

        Manifest columns hold paths or texts; in-memory columns hold each
        item's position in the arrays (``None`` where the item is missing).
        """
        t0 = time.perf_counter()
        modalities = list(self.extractors)
        memory = None
        if isinstance(data, (str, Path)):
            data = read_manifest(data, allow_outside=self.allow_outside)
        if isinstance(data, pd.DataFrame):
            frame = data
            if y is not None:
                frame = frame.assign(label=np.asarray(y))
        elif isinstance(data, Mapping):
            frame, memory = self._frame_from_memory(data, y, modalities)
        else:
            raise TypeError(
                "data must be a dict of arrays, a manifest path or a manifest DataFrame, "
                f"got {type(data).__name__}"
            )
        n_input = len(frame)
        kept, rejects = clean(
            frame, modalities=modalities, on_missing=self.on_missing,
            check_files=memory is None,
        )
        self.timings_ = {"clean": time.perf_counter() - t0}
        return kept, rejects, n_input, memory

    def _frame_from_memory(self, data, y, modalities):
        """(frame of positions, {modality: the caller's values}) for in-memory data."""
        missing = [m for m in modalities if m not in data]
        if missing:
            raise ValueError(f"data has no {missing} entries, which extractors need")
        lengths = {m: len(data[m]) for m in modalities}
        n = next(iter(lengths.values()))
        if any(v != n for v in lengths.values()):
            raise ValueError(f"data's modalities must have the same length, got {lengths}")
        ids = data.get("id")
        ids = np.arange(n).astype(str) if ids is None else np.asarray(ids, dtype=object)
        if len(ids) != n:
            raise ValueError(f"data['id'] must have {n} entries, got {len(ids)}")
        columns = {"id": ids, ROW_COLUMN: np.arange(n)}
        labels = y if y is not None else data.get("label")
        if labels is not None:
            labels = np.asarray(labels)
            if len(labels) != n:
                raise ValueError(f"labels must have {n} entries, got {len(labels)}")
            columns["label"] = labels
        memory = {}
        for m in modalities:
            values = data[m]
            memory[m] = values
            present = [_present(v) for v in values] if m != "image" or _is_list(values) else None
            pos = np.arange(n, dtype=object)
            if present is not None:
                pos[~np.asarray(present, dtype=bool)] = None
            columns[m] = pos
        return pd.DataFrame(columns), memory

    # -- fitting ------------------------------------------------------------------
    def _fit_and_iter(self, data, y, *, transform: bool):
        self.check_params()
        frame, rejects, n_input, memory = self._prepare(data, y)
        self.extractors_ = {m: clone(est) for m, est in self.extractors.items()}
        self._n_out = {}
        context = use_backend(self.backend) if self.backend else nullcontext()
        with context:
            if "text" in self.extractors_:
                # TF-IDF needs the whole corpus: read every text first; rows
                # whose text fails to read are rejected before any batch runs.
                t0 = time.perf_counter()
                texts, failures = self._load_modality("text", frame, memory)
                frame, rejects = reject_failures(frame, rejects, failures, "text")
                failed = {f[0] for f in failures}
                texts = [t for i, t in enumerate(texts) if i not in failed]
                present = [t for t in texts if t is not None]
                if not present:
                    # Say why instead of the vectorizer's "empty vocabulary".
                    self.rejects_, self.summary_ = rejects, summarize(n_input, rejects)
                    if not len(frame):
                        raise ValueError(
                            f"no rows left to fit on: all {n_input} were rejected "
                            f"({self.summary_['by_reason']}); see rejects_"
                        )
                    raise ValueError(
                        f"no text to fit the text extractor on: none of the {len(frame)} "
                        "kept rows has a text"
                    )
                self.extractors_["text"].fit(present)
                self.timings_["text"] = time.perf_counter() - t0
            self._fitted_first_batch = False
        gen = self._run(frame, rejects, n_input, memory, fitting=True, fit_only=not transform)
        if transform:
            return gen
        for _ in gen:  # decodes up to the first non-empty batch, fits on it, stops
            pass
        return None

    # -- the batch loop -------------------------------------------------------------
    def _run(self, frame, rejects, n_input, memory, *, fitting: bool = False,
             fit_only: bool = False, skip=frozenset()):
        """Decode and extract batch by batch, yielding (index, features, rejects).

        ``fitting``: the first non-empty batch fits the batch-fitted extractors
        first. ``fit_only``: stop right there, with nothing extracted and no next
        batch decoded ahead (``fit``); every batch is decoded once either way.
        """
        modalities = list(self.extractors_)
        size = self.batch_size
        batches = [frame.iloc[i : i + size] for i in range(0, len(frame), size)]
        # Batches are cut after cleaning: the executors need their count, not the manifest's.
        self.n_batches_ = max(1, len(batches))
        todo = [b for b in range(len(batches)) if b not in skip]
        timings = self.timings_
        for key in ["decode", *modalities]:
            timings.setdefault(key, 0.0)
        show = self.progress if self.progress is not None else sys.stderr.isatty()
        from tqdm.auto import tqdm

        bar = tqdm(total=len(frame), disable=not show, unit="row", desc="extract")
        context = use_backend(self.backend) if self.backend else nullcontext()
        collected = []
        yielded = False
        # The cleaning rejects travel with batch 0 (already written when it is skipped).
        pending = empty_rejects() if 0 in skip else rejects
        with ThreadPoolExecutor(max_workers=1) as pool, context:
            future = None
            for k, b in enumerate(todo):
                batch = batches[b]
                if future is None:
                    future = pool.submit(self._decode, batch, memory)
                decoded, failures, decode_s = future.result()
                future = None
                if k + 1 < len(todo) and not fit_only:
                    # decode the next batch while this one extracts
                    future = pool.submit(self._decode, batches[todo[k + 1]], memory)
                timings["decode"] += decode_s
                for m in modalities:
                    batch, pending, keep = reject_failures(batch, pending, failures[m], m,
                                                           return_kept=True)
                    decoded = {k: [v[i] for i in keep] for k, v in decoded.items()}
                    failures = {k: _remap(f, keep) for k, f in failures.items()}
                bar.update(len(batches[b]))
                if fitting and not self._fitted_first_batch:
                    if not len(batch):
                        continue  # nothing to fit on yet; its rejects go with the next batch
                    for m in modalities:
                        if m != "text":
                            self.extractors_[m].fit(
                                _stack(m, [v for v in decoded[m] if v is not None])
                            )
                    self._fitted_first_batch = True
                    if fit_only:
                        bar.close()
                        return
                blocks = {}
                for m in modalities:
                    t0 = time.perf_counter()
                    blocks[m] = self._extract(m, decoded[m])
                    timings[m] += time.perf_counter() - t0
                collected.append(pending)
                yielded = True
                yield b, self._feature_set(batch, blocks), pending
                pending = empty_rejects()
        bar.close()
        if not yielded and not skip:
            collected.append(pending)
        nonempty = [r for r in collected if len(r)]
        self.rejects_ = pd.concat(nonempty, ignore_index=True) if nonempty else empty_rejects()
        self.summary_ = summarize(n_input, self.rejects_)
        if not yielded:
            if fitting and not self._fitted_first_batch and modalities != ["text"]:
                raise ValueError(
                    f"no rows left to fit on: all {n_input} were rejected "
                    f"({self.summary_['by_reason']}); see rejects_"
                )
            if not skip:
                yield 0, self._feature_set(frame.iloc[:0], {m: None for m in modalities}), pending

    def _decode(self, batch, memory):
        """Load every modality of one batch: (values per modality, failures, seconds)."""
        t0 = time.perf_counter()
        decoded, failures = {}, {}
        for m in self.extractors_:
            decoded[m], failures[m] = self._load_modality(m, batch, memory)
        return decoded, failures, time.perf_counter() - t0

    def _load_modality(self, m, frame, memory):
        """Values of modality ``m`` for the rows of ``frame``; None where missing.
        ``memory``: the caller's in-memory values per modality (``frame`` then
        holds positions into them), or None for a manifest frame."""
        missing_col = f"{m}_missing"
        absent = (
            frame[missing_col].to_numpy(bool) if missing_col in frame.columns
            else np.zeros(len(frame), bool)
        )
        if memory is not None:
            values = memory[m]
            pos = frame[m].tolist()
            if m == "image" and not _is_list(values):
                return [None if a else values[p] for p, a in zip(pos, absent, strict=True)], []
            out = [
                None if (a or p is None) else values[p]
                for p, a in zip(pos, absent, strict=True)
            ]
            if m == "text":
                return _normalize_present(out)
            return out, []
        if m == "text":
            if "text" in frame.columns:
                texts = frame["text"].tolist()
                texts = [None if a else t for t, a in zip(texts, absent, strict=True)]
                return _normalize_present(texts)
            paths = frame["text_path"].tolist()
            idx = [i for i in range(len(frame)) if not absent[i]]
            texts, failures = read_texts([paths[i] for i in idx])
            out = [None] * len(frame)
            for j, i in enumerate(idx):
                out[i] = texts[j]
            return out, [(idx[j], r) for j, r in failures]
        idx = [i for i in range(len(frame)) if not absent[i]]
        paths = frame[m].tolist()
        if m == "image":
            arr, failures = decode_images([paths[i] for i in idx], self.image_size)
            values = list(arr)
        else:
            values, failures = decode_audio([paths[i] for i in idx], self.sr)
        out = [None] * len(frame)
        for j, i in enumerate(idx):
            out[i] = values[j]
        return out, [(idx[j], r) for j, r in failures]

    def _extract(self, m, values):
        """(n, d) block of modality ``m``; zero rows (+ indicator) where a value is None."""
        est = self.extractors_[m]
        present = np.array([v is not None for v in values], dtype=bool)
        d = self._n_features(m)
        if present.all() and len(values):
            block = est.transform(_stack(m, values))
        else:
            xp = np
            block = None
            if present.any():
                sub = est.transform(_stack(m, [v for v in values if v is not None]))
                xp = get_array_module(sub)
                block = xp.zeros((len(values), d), dtype=np.float32)
                block[xp.asarray(np.flatnonzero(present))] = sub
            else:
                block = np.zeros((len(values), d), dtype=np.float32)
        xp = get_array_module(block)
        block = xp.asarray(block, dtype=np.float32)
        if self.on_missing == "impute":
            indicator = xp.asarray((~present).astype(np.float32))[:, None]
            block = xp.concatenate([block, indicator], axis=1)
        return block

    def _n_features(self, m) -> int:
        if m not in self._n_out:
            self._n_out[m] = len(self.extractors_[m].get_feature_names_out())
        return self._n_out[m]

    def _block_columns(self) -> dict[str, list[str]]:
        cols = {}
        for m, est in self.extractors_.items():
            names = [str(n) for n in est.get_feature_names_out()]
            if self.on_missing == "impute":
                names.append("missing")
            cols[m] = names
        return cols

    def _feature_set(self, batch, blocks) -> FeatureSet:
        names = self._block_columns()
        blocks = {
            m: (np.zeros((len(batch), len(names[m])), np.float32) if b is None else b)
            for m, b in blocks.items()
        }
        labels = batch["label"].to_numpy() if "label" in batch.columns else None
        extra_cols = [
            c for c in batch.columns
            if c not in ("id", "label", "text_path", *MODALITIES, *_INTERNAL)
            and c not in {f"{m}_missing" for m in MODALITIES}  # clean's flags, not the user's
        ]
        extra = batch[extra_cols].reset_index(drop=True) if extra_cols else None
        return FeatureSet(blocks, names, batch["id"].to_numpy(), labels, extra)

    def _collect(self, batches) -> FeatureSet:
        sets = [fs for fs, _ in batches]
        return sets[0] if len(sets) == 1 else concat(sets)


# -- helpers -----------------------------------------------------------------------
def _is_list(values) -> bool:
    return isinstance(values, (list, tuple))


def _present(v) -> bool:
    if v is None:
        return False
    return not (isinstance(v, float) and np.isnan(v))


def _normalize_present(texts):
    idx = [i for i, t in enumerate(texts) if t is not None]
    normalized, failures = normalize_text([texts[i] for i in idx])
    out = [None] * len(texts)
    for j, i in enumerate(idx):
        out[i] = normalized[j]
    return out, [(idx[j], r) for j, r in failures]


def _stack(m, values):
    """The batch an extractor takes: an (n, H, W, 3) array for images, else a list."""
    if m == "image":
        return np.stack(values) if values else np.zeros((0, 1, 1, 3), np.uint8)
    return list(values)


def _remap(failures, keep):
    """Failures' positions after keeping only the rows ``keep`` (old positions)."""
    new = {old: i for i, old in enumerate(keep)}
    return [(new[i], r) for i, r in failures if i in new]


