"""Joining separate per-modality tables on their id, with a report of who lacks what."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .manifest import MODALITY_COLUMNS, OUTSIDE_COLUMN, ROW_COLUMN

__all__ = ["IntegrationReport", "integrate"]

_HOW = ("inner", "left")
_SHOW = 5  # ids quoted in an error message


@dataclass(frozen=True)
class IntegrationReport:
    """What a join kept and lost.

    Attributes
    ----------
    how : {"inner", "left"}
    n_rows : int
        Rows of the joined table.
    missing : dict of {table name: list of ids}
        For each table, the ids found in some other table but not in it, in
        order of first appearance (first table first).
    dropped : list of ids
        Ids found in some table but absent from the joined table.
    """

    how: str
    n_rows: int
    missing: dict = field(default_factory=dict)
    dropped: list = field(default_factory=list)

    def to_dict(self) -> dict:
        """Plain dict (JSON-friendly when the ids are)."""
        return {
            "how": self.how,
            "n_rows": self.n_rows,
            "missing": {k: list(v) for k, v in self.missing.items()},
            "dropped": list(self.dropped),
        }

    def __str__(self) -> str:
        lines = [f"{self.how} join: {self.n_rows} rows, {len(self.dropped)} ids dropped"]
        for name, ids in self.missing.items():
            shown = ", ".join(map(str, ids[:_SHOW])) + (", ..." if len(ids) > _SHOW else "")
            lines.append(f"  {name}: lacks {len(ids)} ids" + (f" ({shown})" if ids else ""))
        return "\n".join(lines)


def _names(tables) -> tuple[list[str], list[pd.DataFrame]]:
    if isinstance(tables, pd.DataFrame):
        raise TypeError("tables must be a dict or a list of DataFrames, got one DataFrame")
    if isinstance(tables, dict):
        names, frames = [str(k) for k in tables], list(tables.values())
    elif isinstance(tables, (list, tuple)):
        frames = list(tables)
        names = []
        for i, frame in enumerate(frames):
            found = (
                {m for c, m in MODALITY_COLUMNS.items() if c in frame.columns}
                if isinstance(frame, pd.DataFrame)
                else set()
            )
            name = found.pop() if len(found) == 1 else f"table{i}"
            names.append(name if name not in names else f"table{i}")
    else:
        raise TypeError(
            f"tables must be a dict or a list of DataFrames, got {type(tables).__name__}"
        )
    if not frames:
        raise ValueError("tables is empty; give at least one table")
    for name, frame in zip(names, frames, strict=True):
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(
                f"table {name!r} must be a pandas DataFrame, got {type(frame).__name__}"
            )
    return names, frames


def _check_keys(name: str, frame: pd.DataFrame, on: str) -> None:
    if on not in frame.columns:
        raise ValueError(f"table {name!r} has no {on!r} column (columns: {list(frame.columns)})")
    keys = frame[on]
    if keys.isna().any():
        rows = [int(i) for i in keys.index[keys.isna()][:_SHOW]]
        raise ValueError(
            f"table {name!r} has {int(keys.isna().sum())} missing {on!r} values "
            f"(at index {rows}); clean it first"
        )
    dup = keys[keys.duplicated()]
    if len(dup):
        shown = list(dict.fromkeys(dup.tolist()))[:_SHOW]
        raise ValueError(
            f"table {name!r} has {len(dup)} duplicated {on!r} values (e.g. {shown}); "
            "ids must be unique within each table (clean() keeps the first of each)"
        )


def _same_kind(a: pd.Series, b: pd.Series) -> bool:
    num = pd.api.types.is_numeric_dtype
    return num(a) == num(b)


def integrate(tables, on: str = "id", how: str = "inner"):
    """Join per-modality tables on their id and report the ids each one lacks.

    Parameters
    ----------
    tables : dict of {name: DataFrame} or list of DataFrames
        Typically ``{"image": ..., "text": ..., "audio": ...}``. A list's
        tables are named after their single modality column (``image``,
        ``text``/``text_path``, ``audio``), else ``table<i>``.
    on : str, default "id"
        The key column; it must be unique and non-missing within each table.
    how : {"inner", "left"}, default "inner"
        ``"inner"``: the ids every table has. ``"left"``: every id of the first
        table, with a boolean ``<name>_missing`` column per other table (True
        where that table lacks the id, its columns then missing), ready for
        imputation.

    Returns
    -------
    joined : DataFrame
        One row per kept id, in the first table's order. Columns: the key, then
        each table's columns in order. A column found in several tables (a
        ``label``, say) appears once, with the first table's value, filled from
        later tables where it is missing; ``<x>_missing`` flags found in several
        tables are or-ed; ``_row`` (a manifest row number) is the first table's.
    report : IntegrationReport
        Ids each table lacks, ids dropped, the row count.

    Raises
    ------
    ValueError
        A table without the key column, with missing or duplicated keys (the
        message quotes a few); keys of different kinds (numbers in one table,
        strings in another); a shared column whose values disagree for an id;
        bad ``how``.
    TypeError
        ``tables`` is not a dict or list of DataFrames.

    Examples
    --------
    >>> import pandas as pd
    >>> from mmfeat.data import integrate
    >>> img = pd.DataFrame({"id": [1, 2, 3], "image": ["a.png", "b.png", "c.png"]})
    >>> txt = pd.DataFrame({"id": [3, 1, 4], "text": ["x", "y", "z"]})
    >>> joined, report = integrate({"image": img, "text": txt})
    >>> joined.values.tolist()
    [[1, 'a.png', 'y'], [3, 'c.png', 'x']]
    >>> report.missing, report.dropped
    ({'image': [4], 'text': [2]}, [2, 4])
    >>> joined, _ = integrate({"image": img, "text": txt}, how="left")
    >>> joined["text_missing"].tolist()
    [False, True, False]
    """
    if how not in _HOW:
        raise ValueError(f"how must be 'inner' or 'left', got {how!r}")
    if not isinstance(on, str):
        raise TypeError(f"on must be a column name (str), got {type(on).__name__}")
    names, frames = _names(tables)
    for name, frame in zip(names, frames, strict=True):
        _check_keys(name, frame, on)
    first = frames[0]
    for name, frame in zip(names[1:], frames[1:], strict=True):
        if not _same_kind(first[on], frame[on]):
            raise ValueError(
                f"tables {names[0]!r} and {name!r} hold {on!r} values of different kinds "
                f"({first[on].dtype} and {frame[on].dtype}); convert them to one type first"
            )

    union = pd.concat([f[on] for f in frames], ignore_index=True).drop_duplicates()
    missing = {
        name: union[~union.isin(f[on])].tolist() for name, f in zip(names, frames, strict=True)
    }

    joined = first.reset_index(drop=True).copy()
    joined = joined[[on] + [c for c in joined.columns if c != on]]
    for name, frame in zip(names[1:], frames[1:], strict=True):
        frame = frame.drop(columns=[ROW_COLUMN, OUTSIDE_COLUMN], errors="ignore")
        shared = [c for c in frame.columns if c != on and c in joined.columns]
        tmp = {c: f"\0{c}" for c in shared}
        part = frame.rename(columns=tmp)
        present = joined[on].isin(frame[on]).to_numpy()
        joined = joined.merge(part, on=on, how=how, sort=False, validate="one_to_one")
        if how == "inner":
            present = present[present]
        for c in shared:
            ours, theirs = joined[c], joined[tmp[c]]
            if c.endswith("_missing"):
                joined[c] = ours.fillna(False).astype(bool) | theirs.fillna(False).astype(bool)
            else:
                both = ours.notna() & theirs.notna()
                differ = both & (ours.astype(object) != theirs.astype(object))
                if differ.any():
                    bad = joined.loc[differ, on].tolist()[:_SHOW]
                    raise ValueError(
                        f"column {c!r} disagrees between tables {names[0]!r}.. and {name!r} "
                        f"for {int(differ.sum())} ids (e.g. {bad}); rename or drop one of them"
                    )
                joined[c] = ours.where(ours.notna(), theirs)
            joined = joined.drop(columns=[tmp[c]])
        if how == "left":
            flag = f"{name}_missing"
            absent = pd.Series(~present, index=joined.index)
            if flag in joined.columns:
                absent = absent | joined[flag].fillna(False).astype(bool)
            joined[flag] = absent.astype(bool)

    kept = set(joined[on].tolist())
    dropped = [i for i in union.tolist() if i not in kept]
    report = IntegrationReport(how=how, n_rows=len(joined), missing=missing, dropped=dropped)
    return joined, report
