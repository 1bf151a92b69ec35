"""``FeatureSet``: named feature blocks per modality -> one table.

A FeatureSet holds one (N, d_m) float32 block per modality, all on the same
device (NumPy on the CPU backends, CuPy on cuda), the ``ids`` of the N rows,
optional ``labels`` and any passthrough columns of the manifest (a split column,
say). It turns into one frame with one float32 column per feature plus ``id``
through narwhals, so pandas, polars, pyarrow and cuDF all come out the same way.

Column names are ``<modality>_<feature>`` (a feature name that already starts
with its modality keeps its name), so the modality of every column can be read
back from the name; ``write_parquet`` also records the blocks in the file's
schema metadata, and :func:`read_parquet` restores them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .backend import is_cupy_array, to_host

FRAME_LIBRARIES = ("pandas", "polars", "pyarrow", "cudf")
_METADATA_KEY = b"mmfeat.featureset"


def column_name(modality: str, feature: str) -> str:
    """The table column of ``feature`` in block ``modality``."""
    feature = str(feature)
    return feature if feature.startswith(f"{modality}_") else f"{modality}_{feature}"


class FeatureSet:
    """Named feature blocks of N rows, with ids, optional labels and extra columns.

    Parameters
    ----------
    blocks : dict[str, (N, d_m) array]
        One block per modality, NumPy or CuPy, converted to float32.
    feature_names : dict[str, sequence of str]
        ``d_m`` names per block (without the modality prefix, which is added).
    ids : (N,) array-like
    labels : (N,) array-like, optional
    extra : pandas.DataFrame, optional
        Passthrough columns, N rows, in the same order as ``ids``.

    Attributes
    ----------
    blocks : dict[str, array]
    block_columns : dict[str, list[str]]
        The table columns of each block.
    feature_names : list[str]
        All table columns, block after block, in ``blocks`` order.
    """

    def __init__(self, blocks, feature_names, ids, labels=None, extra=None):
        if not blocks:
            raise ValueError("blocks must hold at least one modality")
        self.ids = np.asarray(ids, dtype=object)
        n = len(self.ids)
        self.blocks = {}
        self.block_columns = {}
        for name, block in blocks.items():
            if block.ndim != 2 or block.shape[0] != n:
                raise ValueError(
                    f"block {name!r} must have shape ({n}, d), got {tuple(block.shape)}"
                )
            names = list(feature_names[name])
            if len(names) != block.shape[1]:
                raise ValueError(
                    f"block {name!r} has {block.shape[1]} columns but {len(names)} feature names"
                )
            self.blocks[name] = block.astype(np.float32, copy=False)
            self.block_columns[name] = [column_name(name, f) for f in names]
        if any(is_cupy_array(b) for b in self.blocks.values()):
            # one device for all blocks (an extractor without a GPU path, audio say,
            # gives NumPy): the set lives where most of the work happened
            import cupy as cp

            self.blocks = {m: cp.asarray(b) for m, b in self.blocks.items()}
        self.feature_names = [c for cols in self.block_columns.values() for c in cols]
        if len(set(self.feature_names)) != len(self.feature_names):
            raise ValueError("feature names must be unique across blocks")
        self.labels = None if labels is None else np.asarray(to_host(labels))
        if self.labels is not None and len(self.labels) != n:
            raise ValueError(f"labels must have {n} entries, got {len(self.labels)}")
        self.extra = extra
        if extra is not None and len(extra) != n:
            raise ValueError(f"extra must have {n} rows, got {len(extra)}")

    # -- shape ------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.ids)

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    @property
    def modalities(self) -> list[str]:
        return list(self.blocks)

    def __repr__(self) -> str:
        dims = ", ".join(f"{k}: {v.shape[1]}" for k, v in self.blocks.items())
        return f"FeatureSet({len(self)} rows; {dims})"

    def select(self, modalities) -> FeatureSet:
        """The FeatureSet of only ``modalities`` (a name or a list of names)."""
        if isinstance(modalities, str):
            modalities = [modalities]
        unknown = [m for m in modalities if m not in self.blocks]
        if unknown:
            raise ValueError(f"unknown modalities {unknown}; this set has {self.modalities}")
        return FeatureSet(
            {m: self.blocks[m] for m in modalities},
            {m: self.block_columns[m] for m in modalities},
            self.ids, self.labels, self.extra,
        )

    # -- arrays -----------------------------------------------------------------
    def to_numpy(self) -> np.ndarray:
        """(N, D) float32 NumPy array, the blocks side by side (copied to the host)."""
        return np.concatenate([to_host(b) for b in self.blocks.values()], axis=1)

    def to_cupy(self):
        """(N, D) float32 CuPy array (blocks already on the device stay there)."""
        _require("to_cupy()", "cupy")
        import cupy as cp

        return cp.concatenate([cp.asarray(b) for b in self.blocks.values()], axis=1)

    # -- frames -----------------------------------------------------------------
    def to_frame(self, library: str = "pandas", *, label: bool = True, extra: bool = True):
        """One frame: ``id``, the feature columns (float32), ``label`` and extra columns.

        Parameters
        ----------
        library : {"pandas", "polars", "pyarrow", "cudf"}
            Built through narwhals. With ``"cudf"`` the feature columns go
            from device memory straight into the frame.
        label, extra : bool
            Whether to include the ``label`` column and the passthrough columns.
        """
        import narwhals as nw

        if library not in FRAME_LIBRARIES:
            raise ValueError(f"library must be one of {FRAME_LIBRARIES}, got {library!r}")
        on_device = library == "cudf"
        if on_device:
            _require("to_frame('cudf')", "cupy", "cudf")
        data = {"id": self.ids.astype(str)}
        for name, block in self.blocks.items():
            if on_device:
                import cupy as cp

                block = cp.asarray(block)
            else:
                block = to_host(block)
            for j, col in enumerate(self.block_columns[name]):
                data[col] = block[:, j]
        if label and self.labels is not None:
            data["label"] = _nulls_as_none(self.labels)
        if extra and self.extra is not None:
            for col in self.extra.columns:
                if col not in data:
                    data[col] = _nulls_as_none(self.extra[col].to_numpy())
        return nw.from_dict(data, backend=library).to_native()

    def metadata(self) -> dict:
        """What ``write_parquet`` stores in the schema: the columns of each block."""
        return {
            "blocks": self.block_columns,
            "label": "label" if self.labels is not None else None,
            "extra": [] if self.extra is None else [str(c) for c in self.extra.columns],
        }

    def write_parquet(self, path) -> Path:
        """Write :meth:`to_frame` (pyarrow) as one Parquet file, blocks in the metadata."""
        import pyarrow.parquet as pq

        table = self.to_frame("pyarrow")
        meta = dict(table.schema.metadata or {})
        meta[_METADATA_KEY] = json.dumps(self.metadata()).encode()
        path = Path(path)
        pq.write_table(table.replace_schema_metadata(meta), path)
        return path


def _nulls_as_none(values: np.ndarray) -> np.ndarray:
    """An object column's NaN / pd.NA as None: pyarrow and polars read None as null but
    refuse a float NaN among strings (an empty cell of a CSV text column)."""
    if values.dtype != object:
        return values
    import pandas as pd

    missing = pd.isna(values)
    if missing.any():
        values = values.copy()
        values[missing] = None
    return values


def _require(what: str, *modules: str) -> None:
    """A clear ImportError, naming the missing GPU library, instead of a bare one."""
    import importlib

    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise ImportError(
                f"{what} needs {name}, which does not import here ({exc}); it comes with "
                "mmfeat[gpu] on a machine with an NVIDIA GPU"
            ) from exc


def read_parquet(path) -> FeatureSet:
    """Read a file written by :meth:`FeatureSet.write_parquet` (or ``mmfeat extract``).

    The blocks come from the schema metadata; a file without it (written by
    other tools) is split by column-name prefix: ``image_``, ``text_``, ``audio_``.
    """
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    frame = table.to_pandas()
    meta = (table.schema.metadata or {}).get(_METADATA_KEY)
    if meta is not None:
        info = json.loads(meta)
        block_columns = info["blocks"]
    else:
        block_columns = infer_blocks(frame.columns)
        info = {"label": "label" if "label" in frame.columns else None, "extra": None}
    if "id" not in frame.columns:
        raise ValueError(f"{path}: no 'id' column")
    feature_cols = {c for cols in block_columns.values() for c in cols}
    label_col = info.get("label")
    extra_cols = [c for c in frame.columns if c not in feature_cols and c not in ("id", label_col)]
    return FeatureSet(
        {m: frame[cols].to_numpy(np.float32) for m, cols in block_columns.items()},
        block_columns,
        frame["id"].to_numpy(),
        labels=None if label_col is None else frame[label_col].to_numpy(),
        extra=frame[extra_cols].reset_index(drop=True) if extra_cols else None,
    )


def infer_blocks(columns, modalities=("image", "text", "audio")) -> dict[str, list[str]]:
    """Group feature columns by their ``<modality>_`` prefix."""
    blocks = {m: [c for c in columns if str(c).startswith(f"{m}_")] for m in modalities}
    return {m: cols for m, cols in blocks.items() if cols}


def concat(sets) -> FeatureSet:
    """Row-wise concatenation of FeatureSets with the same blocks and columns."""
    sets = list(sets)
    if not sets:
        raise ValueError("concat needs at least one FeatureSet")
    first = sets[0]
    for s in sets[1:]:
        if s.block_columns != first.block_columns:
            raise ValueError("FeatureSets to concatenate must have the same blocks and columns")
    blocks = {}
    for m in first.blocks:
        parts = [s.blocks[m] for s in sets]
        if any(is_cupy_array(p) for p in parts):
            import cupy as cp

            blocks[m] = cp.concatenate([cp.asarray(p) for p in parts])
        else:
            blocks[m] = np.concatenate(parts)
    with_labels = [s.labels is not None for s in sets]
    if any(with_labels) and not all(with_labels):
        raise ValueError("FeatureSets to concatenate must all have labels or all have none")
    labels = None if first.labels is None else np.concatenate([s.labels for s in sets])
    extra = None
    if first.extra is not None:
        import pandas as pd

        extra = pd.concat([s.extra for s in sets], ignore_index=True)
    return FeatureSet(
        blocks, first.block_columns, np.concatenate([s.ids for s in sets]), labels, extra
    )
