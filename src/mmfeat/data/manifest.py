"""Reading a dataset manifest: one row per item, its id, label and modality values.

A manifest is a CSV, Parquet or JSON Lines file with the columns

=============  ==========================================================
``id``         required; the item's identifier (CSV ids stay strings, so ``007`` keeps its zeros)
``label``      optional; the target
``image``      path of an image file (PNG, JPEG, ... anything Pillow reads)
``text``       the text itself
``text_path``  path of a UTF-8 text file (instead of ``text``)
``audio``      path of an audio file (WAV, FLAC, OGG)
=============  ==========================================================

Any other column (a split, a source) is kept as it is. Relative paths resolve
against the manifest's folder; every path is then resolved (``..`` and
symlinks) and must stay inside that folder unless ``allow_outside=True``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

__all__ = [
    "MODALITIES",
    "MODALITY_COLUMNS",
    "PATH_COLUMNS",
    "ROW_COLUMN",
    "OUTSIDE_COLUMN",
    "modality_columns",
    "read_manifest",
]

MODALITIES = ("image", "text", "audio")
# manifest column -> the modality its values feed
MODALITY_COLUMNS = {"image": "image", "text": "text", "text_path": "text", "audio": "audio"}
PATH_COLUMNS = ("image", "text_path", "audio")
# bookkeeping columns added by read_manifest; clean() consumes OUTSIDE_COLUMN
ROW_COLUMN = "_row"
OUTSIDE_COLUMN = "_outside"

_SUFFIXES = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
# compression pandas infers from the last suffix; the one before names the format
_COMPRESSED = (".gz", ".bz2", ".xz", ".zst", ".zip")
# pandas' default NA spellings, kept for the columns that are not ids, paths or text
_DEFAULT_NA = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
    "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
]


def modality_columns(frame: pd.DataFrame, modalities=None) -> dict[str, str]:
    """The modality columns present in ``frame``, as {column: modality}.

    Parameters
    ----------
    frame : DataFrame
    modalities : iterable of {"image", "text", "audio"}, optional
        Restrict to these modalities; ``None`` takes every one present.

    Raises
    ------
    ValueError
        An unknown modality name, a requested modality with no column, or both
        ``text`` and ``text_path`` present.
    """
    if modalities is not None:
        if isinstance(modalities, str):
            modalities = [modalities]
        modalities = list(modalities)
        unknown = [m for m in modalities if m not in MODALITIES]
        if unknown:
            raise ValueError(f"modalities must be among {MODALITIES}, got {unknown}")
    found = {c: m for c, m in MODALITY_COLUMNS.items() if c in frame.columns}
    if "text" in found and "text_path" in found:
        raise ValueError(
            "the manifest has both 'text' and 'text_path' columns; give the text either "
            "inline ('text') or as files ('text_path'), not both"
        )
    if modalities is None:
        return found
    lacking = [m for m in modalities if m not in found.values()]
    if lacking:
        raise ValueError(
            f"modalities {lacking} requested but the manifest has no column for them "
            f"(columns: {list(frame.columns)})"
        )
    return {c: m for c, m in found.items() if m in modalities}


def _read_table(path: Path, kind: str) -> pd.DataFrame:
    if kind == "csv":
        header = pd.read_csv(path, nrows=0).columns
        # ids, paths and texts are strings as written: "007" stays "007", "NA" is a text;
        # only an empty cell is missing there. Other columns get pandas' usual parsing.
        raw = [c for c in header if c == "id" or c in MODALITY_COLUMNS]
        return pd.read_csv(
            path,
            dtype={c: str for c in raw},
            keep_default_na=False,
            na_values={c: ([""] if c in raw else _DEFAULT_NA) for c in header},
        )
    if kind == "parquet":
        return pd.read_parquet(path)
    # dtype=False: keep JSON's own types (no guessing dates or numbers from strings)
    return pd.read_json(path, lines=True, dtype=False)


def _is_missing(value) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # array-like cells
        return False


def _inside(path: str, root: str) -> bool:
    try:
        return os.path.commonpath([path, root]) == root
    except ValueError:  # different drives on Windows
        return False


class _Resolver:
    """``os.path.realpath(join(root, value))`` with each folder resolved once.

    realpath walks every component with a system call; a manifest's files
    share a few folders, so the folder is resolved once and only the last
    component is checked for being a symlink.
    """

    def __init__(self, root: str):
        self.root = root
        self.folders: dict[str, str] = {}

    def __call__(self, value: str) -> str:
        joined = os.path.join(self.root, os.path.expanduser(value))
        head, tail = os.path.split(joined)
        folder = self.folders.get(head)
        if folder is None:
            folder = self.folders[head] = os.path.realpath(head)
        full = os.path.join(folder, tail)
        if tail in ("", ".", "..") or os.path.islink(full):
            full = os.path.realpath(full)
        return full


def read_manifest(path, *, allow_outside: bool = False) -> pd.DataFrame:
    """Read a manifest into a DataFrame with resolved file paths.

    Parameters
    ----------
    path : str or path-like
        ``.csv``, ``.parquet`` / ``.pq`` or ``.jsonl`` / ``.ndjson``; CSV and
        JSON Lines may be compressed (``.csv.gz``, ``.jsonl.zst``, ...).
    allow_outside : bool, default False
        Accept paths that resolve outside the manifest's folder (absolute
        paths elsewhere, ``../``, symlinks pointing out).

    Returns
    -------
    frame : DataFrame, one row per data row of the file, in file order
        The manifest's columns, with ``image``, ``text_path`` and ``audio``
        values made absolute and resolved (missing values stay missing), plus

        - ``_row``: the 0-based data row number in the file (header excluded),
          carried into every rejects table;
        - ``_outside``: for a row with a path outside the folder (and
          ``allow_outside=False``), the first offending column's modality, else
          None. Such a row is not dropped here: :func:`mmfeat.data.clean` rejects it
          with reason ``"path outside manifest folder"``, so the counts of the
          whole file add up in one place. Its path is kept as written.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError
        Unknown suffix, no ``id`` column, no modality column, both ``text``
        and ``text_path``, a path column holding non-strings, or a file that
        cannot be parsed.
    TypeError
        ``path`` is not a string or path-like.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from mmfeat.data import read_manifest
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> rows = ["id,label,image,text", "007,cat,a.png,hi", "8,dog,../b.png,yo"]
    >>> _ = (d / "m.csv").write_text("\\n".join(rows) + "\\n")
    >>> m = read_manifest(d / "m.csv")
    >>> m["id"].tolist(), m["_row"].tolist(), m["_outside"].tolist()
    (['007', '8'], [0, 1], [None, 'image'])
    >>> m["image"][0] == str((d / "a.png").resolve())
    True
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a string or path-like, got {type(path).__name__}")
    path = Path(path)
    suffixes = [s.lower() for s in path.suffixes]
    compressed = bool(suffixes) and suffixes[-1] in _COMPRESSED
    fmt = suffixes[-2] if compressed and len(suffixes) > 1 else ""
    if not compressed:
        fmt = suffixes[-1] if suffixes else ""
    kind = _SUFFIXES.get(fmt)
    if kind is None or (compressed and kind == "parquet"):  # parquet compresses inside
        shown = "".join(suffixes[-2:]) if compressed else fmt
        raise ValueError(
            f"manifest {str(path)!r} has suffix {shown!r}; expected one of "
            f"{sorted(_SUFFIXES)} (CSV, Parquet or JSON Lines; CSV and JSON Lines "
            f"may be compressed: {', '.join(_COMPRESSED)})"
        )
    if not path.is_file():
        raise FileNotFoundError(f"manifest {str(path)!r} does not exist or is not a file")
    try:
        frame = _read_table(path, kind)
    except Exception as exc:  # parser errors differ per format and engine
        raise ValueError(f"could not read manifest {str(path)!r} as {kind}: {exc}") from exc
    if len(frame.columns) == 0:
        raise ValueError(f"manifest {str(path)!r} is empty (no columns, no rows)")
    if "id" not in frame.columns:
        raise ValueError(
            f"manifest {str(path)!r} has no 'id' column (columns: {list(frame.columns)})"
        )
    cols = modality_columns(frame)
    if not cols:
        raise ValueError(
            f"manifest {str(path)!r} has no modality column; expected at least one of "
            f"{list(MODALITY_COLUMNS)} (columns: {list(frame.columns)})"
        )
    for reserved in (ROW_COLUMN, OUTSIDE_COLUMN):
        if reserved in frame.columns:
            raise ValueError(f"manifest {str(path)!r} uses the reserved column name {reserved!r}")

    root = os.path.realpath(path.parent)
    resolve = _Resolver(root)
    frame = frame.reset_index(drop=True)
    outside: list[str | None] = [None] * len(frame)
    for col in PATH_COLUMNS:
        if col not in cols:
            continue
        values = frame[col].tolist()
        resolved = []
        for i, value in enumerate(values):
            if _is_missing(value):
                resolved.append(None)
                continue
            if not isinstance(value, str):
                raise ValueError(
                    f"manifest {str(path)!r} column {col!r} row {i} holds "
                    f"{type(value).__name__} {value!r}; expected a file path string"
                )
            full = resolve(value)
            if not allow_outside and not _inside(full, root):
                if outside[i] is None:
                    outside[i] = MODALITY_COLUMNS[col]
                resolved.append(value)  # left as written: it will not be opened
            else:
                resolved.append(full)
        frame[col] = pd.Series(resolved, index=frame.index, dtype=object)
    frame[ROW_COLUMN] = range(len(frame))
    frame[OUTSIDE_COLUMN] = pd.Series(outside, index=frame.index, dtype=object)
    return frame
