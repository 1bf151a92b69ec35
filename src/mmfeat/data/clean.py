"""Cleaning a manifest: every row is either kept or rejected with its reason.

The checks, in the order a row meets them (a row is rejected once, for the
first problem found):

1. ``missing id`` — the id is empty or missing;
2. ``duplicate id`` — an id seen on an earlier row (the first one is kept);
3. per modality column, in manifest column order:
   ``path outside manifest folder`` (flagged by :func:`read_manifest`),
   ``missing value`` (only with ``on_missing="reject"``), ``file not found``,
   ``not a file``, ``empty file``, ``unreadable file``;
4. ``all modalities missing`` — with ``on_missing="impute"``, a row with no
   modality value at all has nothing to extract.

Files are checked with ``stat`` and ``os.access`` only; whether they decode is
found out by :mod:`mmfeat.data.convert`, whose failures
:func:`reject_failures` moves into the same rejects table.
"""

from __future__ import annotations

import os
import stat as _stat
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from .manifest import (
    MODALITY_COLUMNS,
    OUTSIDE_COLUMN,
    PATH_COLUMNS,
    ROW_COLUMN,
    _is_missing,
    modality_columns,
)

__all__ = [
    "REJECT_COLUMNS",
    "clean",
    "empty_rejects",
    "format_summary",
    "reject_failures",
    "summarize",
]

REJECT_COLUMNS = ("id", "row", "modality", "reason", "detail")
_ON_MISSING = ("reject", "impute")


def empty_rejects() -> pd.DataFrame:
    """A rejects table with no rows: columns id, row, modality, reason, detail."""
    return pd.DataFrame(
        {
            "id": pd.Series([], dtype=object),
            "row": pd.Series([], dtype="int64"),
            "modality": pd.Series([], dtype=object),
            "reason": pd.Series([], dtype=object),
            "detail": pd.Series([], dtype=object),
        }
    )


def _rejects_frame(records: list[tuple]) -> pd.DataFrame:
    if not records:
        return empty_rejects()
    ids, rows, modalities, reasons, details = zip(*records, strict=True)
    # object columns: ids keep their type (and None stays None, not NaN)
    return pd.DataFrame(
        {
            "id": pd.Series(ids, dtype=object),
            "row": pd.Series(rows, dtype="int64"),
            "modality": pd.Series(modalities, dtype=object),
            "reason": pd.Series(reasons, dtype=object),
            "detail": pd.Series(details, dtype=object),
        }
    )


def _file_problem(path: str) -> tuple[str, str] | None:
    """(reason, detail) for a path that cannot be read, else None. Never opens the file."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "file not found", path
    except OSError as exc:  # permission on a parent folder, name too long, ...
        return "unreadable file", f"{path}: {exc.strerror or exc}"
    if not _stat.S_ISREG(st.st_mode):
        return "not a file", path
    if st.st_size == 0:
        return "empty file", path
    if not os.access(path, os.R_OK):
        return "unreadable file", f"{path}: permission denied"
    return None


def _check_files(paths: list[str], n_jobs: int) -> list[tuple[str, str] | None]:
    # On a local disk a stat is a microsecond and threads only add GIL hand-offs
    # (5x slower measured); on network file systems they hide the latency.
    if n_jobs <= 1 or len(paths) < 64:
        return [_file_problem(p) for p in paths]
    with ThreadPoolExecutor(max_workers=n_jobs) as pool:
        return list(pool.map(_file_problem, paths, chunksize=256))


def clean(
    manifest: pd.DataFrame,
    *,
    modalities=None,
    on_missing: str = "reject",
    check_files: bool = True,
    n_jobs: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a manifest into the rows to extract and the rows rejected, with reasons.

    Parameters
    ----------
    manifest : DataFrame
        As returned by :func:`read_manifest` (an in-memory frame works too:
        without ``_row`` the row number is the position, and its paths are
        used as given).
    modalities : iterable of {"image", "text", "audio"}, optional
        The modalities to check; default every modality column present. Other
        modality columns are carried along unchecked.
    on_missing : {"reject", "impute"}, default "reject"
        What a missing value (empty cell, None, NaN) in a modality column does:
        ``"reject"`` rejects the row; ``"impute"`` keeps it and sets
        ``<modality>_missing`` True, so the pipeline puts zeros plus that
        indicator. Files that are named but absent, empty or unreadable are
        rejected either way, as are paths outside the manifest folder.
    check_files : bool, default True
        ``stat`` every path (exists, regular file, not empty, readable).
    n_jobs : int, default 1
        Threads for the file checks: worth it on network file systems only
        (on a local disk they are slower than one loop).

    Returns
    -------
    clean : DataFrame
        The kept rows in manifest order, index reset, without ``_outside``;
        with ``_row`` (added from the position when the input had none).
        With ``on_missing="impute"``, a boolean ``<modality>_missing``
        column per checked modality.
    rejects : DataFrame
        One row per rejected manifest row, in manifest order: ``id``, ``row``
        (0-based data row), ``modality`` (None for id problems), ``reason``,
        ``detail`` (the offending path or value). ``len(clean) + len(rejects)
        == len(manifest)``.

    Raises
    ------
    TypeError
        ``manifest`` is not a DataFrame.
    ValueError
        No ``id`` column, bad ``on_missing``, unknown or absent modalities.

    See Also
    --------
    summarize, format_summary : the counts per reason.
    reject_failures : move decoding failures into the rejects table.

    Examples
    --------
    >>> import pandas as pd
    >>> from mmfeat.data import clean
    >>> m = pd.DataFrame({"id": ["a", "b", "a", None], "text": ["hi", None, "yo", "x"]})
    >>> kept, rejects = clean(m)
    >>> kept["id"].tolist()
    ['a']
    >>> rejects[["id", "row", "reason"]].values.tolist()
    [['b', 1, 'missing value'], ['a', 2, 'duplicate id'], [None, 3, 'missing id']]
    >>> m = pd.DataFrame({"id": ["a", "b"], "text": ["hi", None], "audio": [None, None]})
    >>> kept, rejects = clean(m, on_missing="impute")
    >>> kept[["id", "text_missing", "audio_missing"]].values.tolist()
    [['a', False, True]]
    >>> rejects["reason"].tolist()
    ['all modalities missing']
    """
    if not isinstance(manifest, pd.DataFrame):
        raise TypeError(f"manifest must be a pandas DataFrame, got {type(manifest).__name__}")
    if on_missing not in _ON_MISSING:
        raise ValueError(f"on_missing must be 'reject' or 'impute', got {on_missing!r}")
    if "id" not in manifest.columns:
        raise ValueError(f"manifest has no 'id' column (columns: {list(manifest.columns)})")
    cols = modality_columns(manifest, modalities)
    if not cols:
        raise ValueError(
            f"manifest has no modality column; expected one of {list(MODALITY_COLUMNS)}"
        )
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        raise ValueError(f"n_jobs must be a positive integer, got {n_jobs!r}")

    frame = manifest.reset_index(drop=True)
    n = len(frame)
    if ROW_COLUMN not in frame.columns:
        frame[ROW_COLUMN] = range(n)  # so later rejects still name the original row
    rows = frame[ROW_COLUMN].tolist()
    ids = frame["id"].tolist()
    outside = frame[OUTSIDE_COLUMN].tolist() if OUTSIDE_COLUMN in frame.columns else [None] * n

    problem: list[tuple[str | None, str, str] | None] = [None] * n
    seen: set = set()
    for i, ident in enumerate(ids):
        if _is_missing(ident):
            problem[i] = (None, "missing id", "")
            ids[i] = None  # NaN, NA and "" all read as a missing id
        elif ident in seen:
            problem[i] = (None, "duplicate id", str(ident))
        else:
            seen.add(ident)

    missing = {m: np.zeros(n, dtype=bool) for m in cols.values()}
    for col, modality in cols.items():
        values = frame[col].tolist()
        to_stat = []
        for i, value in enumerate(values):
            if problem[i] is not None:
                continue
            if outside[i] == modality:
                problem[i] = (modality, "path outside manifest folder", str(value))
            elif _is_missing(value):
                if on_missing == "reject":
                    problem[i] = (modality, "missing value", col)
                else:
                    missing[modality][i] = True
            elif col in PATH_COLUMNS and check_files:
                to_stat.append(i)
        if to_stat:
            found = _check_files([str(values[i]) for i in to_stat], n_jobs)
            for i, bad in zip(to_stat, found, strict=True):
                if bad is not None:
                    problem[i] = (modality, bad[0], bad[1])

    if on_missing == "impute":
        for i in range(n):
            if problem[i] is None and all(missing[m][i] for m in missing):
                problem[i] = (None, "all modalities missing", "")

    bad_rows = [i for i in range(n) if problem[i] is not None]
    rejects = _rejects_frame(
        [(ids[i], rows[i], problem[i][0], problem[i][1], problem[i][2]) for i in bad_rows]
    )
    keep = np.array([p is None for p in problem], dtype=bool)
    out = frame.loc[keep].drop(columns=[OUTSIDE_COLUMN], errors="ignore")
    if on_missing == "impute":
        for modality, mask in missing.items():
            out[f"{modality}_missing"] = mask[keep]
    return out.reset_index(drop=True), rejects


def reject_failures(
    clean_frame: pd.DataFrame,
    rejects: pd.DataFrame,
    failures,
    modality: str,
    *,
    positions=None,
    return_kept: bool = False,
):
    """Move rows whose decoding failed from the kept table to the rejects table.

    Parameters
    ----------
    clean_frame : DataFrame
        The kept rows (``clean``'s first output, or a batch of it).
    rejects : DataFrame
        The rejects so far.
    failures : iterable of (index, reason)
        As returned by the ``convert`` functions. ``reason`` may carry a detail
        after ``": "`` (``"corrupt image: broken PNG file"``); the part before
        is the reason, the rest the detail.
    modality : str
        Recorded in the ``modality`` column.
    positions : sequence of int, optional
        The rows of ``clean_frame`` that were decoded, in the order given to
        the decoder (``index`` points into it); default every row in order.
    return_kept : bool, default False
        Also return the positions (in ``clean_frame``) of the rows kept, for
        callers that carry values aligned with its rows (the pipeline's decoded
        batches).

    Returns
    -------
    clean, rejects : DataFrame
        ``clean_frame`` without the failed rows (index reset) and ``rejects``
        with them appended in row order (a row's first failure), ``row`` taken
        from ``_row`` when present.
    kept : list of int
        With ``return_kept``.
    """
    failures = list(failures)
    if not failures:
        kept = list(range(len(clean_frame)))
        return (clean_frame, rejects, kept) if return_kept else (clean_frame, rejects)
    n = len(clean_frame)
    positions = list(range(n)) if positions is None else list(positions)
    rows = clean_frame[ROW_COLUMN].tolist() if ROW_COLUMN in clean_frame.columns else None
    ids = clean_frame["id"].tolist()
    drop = np.zeros(n, dtype=bool)
    records = {}
    for index, reason in failures:
        pos = positions[index]
        if drop[pos]:
            continue
        drop[pos] = True
        head, sep, detail = str(reason).partition(": ")
        records[pos] = (ids[pos], rows[pos] if rows is not None else pos, modality, head, detail)
    added = _rejects_frame([records[pos] for pos in sorted(records)])
    rejects = added if len(rejects) == 0 else pd.concat([rejects, added], ignore_index=True)
    kept = np.flatnonzero(~drop)
    out = clean_frame.iloc[kept].reset_index(drop=True)
    return (out, rejects, kept.tolist()) if return_kept else (out, rejects)


def summarize(n_input: int, rejects: pd.DataFrame) -> dict:
    """Counts of a cleaning run: input, kept, rejected and rejects per reason.

    Parameters
    ----------
    n_input : int
        Rows in the manifest.
    rejects : DataFrame
        The rejects table.

    Returns
    -------
    dict
        ``{"input": n, "kept": k, "rejected": r, "by_reason": {reason: count}}``
        with ``k + r == n``; reasons sorted by count, then name.

    Examples
    --------
    >>> import pandas as pd
    >>> from mmfeat.data import clean, summarize
    >>> m = pd.DataFrame({"id": ["a", "a", "b"], "text": ["x", "y", None]})
    >>> summarize(len(m), clean(m)[1])
    {'input': 3, 'kept': 1, 'rejected': 2, 'by_reason': {'duplicate id': 1, 'missing value': 1}}
    """
    counts = rejects["reason"].value_counts() if len(rejects) else pd.Series(dtype="int64")
    by_reason = {str(k): int(v) for k, v in counts.items()}
    by_reason = dict(sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0])))
    rejected = int(len(rejects))
    if rejected > n_input:
        raise ValueError(f"{rejected} rejects for {n_input} input rows: the counts do not add up")
    return {
        "input": int(n_input),
        "kept": int(n_input) - rejected,
        "rejected": rejected,
        "by_reason": by_reason,
    }


def format_summary(summary: dict) -> str:
    """The summary as a few lines of text, for printing.

    Examples
    --------
    >>> from mmfeat.data import format_summary
    >>> s = {"input": 3, "kept": 1, "rejected": 2, "by_reason": {"duplicate id": 2}}
    >>> print(format_summary(s))
    rows: 3 in, 1 kept, 2 rejected
      duplicate id: 2
    """
    lines = [f"rows: {summary['input']} in, {summary['kept']} kept, {summary['rejected']} rejected"]
    width = max((len(r) for r in summary["by_reason"]), default=0)
    for reason, count in summary["by_reason"].items():
        lines.append(f"  {reason + ':':<{width + 1}} {count}")
    return "\n".join(lines)
