"""integrate: inner/left joins of per-modality tables and the report of lacking ids."""

from __future__ import annotations

import pandas as pd
import pytest

from mmfeat.data import IntegrationReport, integrate


@pytest.fixture
def tables():
    img = pd.DataFrame({"id": ["a", "b", "c", "d"], "image": ["1", "2", "3", "4"],
                        "label": ["x", "y", None, "x"], "_row": [0, 1, 2, 3]})
    txt = pd.DataFrame({"id": ["d", "c", "a", "e"], "text": ["t4", "t3", "t1", "t5"],
                        "label": ["x", "y", "x", "y"], "_row": [9, 8, 7, 6]})
    aud = pd.DataFrame({"id": ["c", "a", "d", "f"], "audio": ["w3", "w1", "w4", "w6"]})
    return {"image": img, "text": txt, "audio": aud}


def test_inner(tables):
    joined, report = integrate(tables)
    assert joined["id"].tolist() == ["a", "c", "d"]  # the first table's order
    assert list(joined.columns) == ["id", "image", "label", "_row", "text", "audio"]
    assert joined["text"].tolist() == ["t1", "t3", "t4"]
    assert joined["audio"].tolist() == ["w1", "w3", "w4"]
    assert joined["label"].tolist() == ["x", "y", "x"]  # c's label filled from the text table
    assert joined["_row"].tolist() == [0, 2, 3]  # the first table's row numbers
    assert report.missing == {"image": ["e", "f"], "text": ["b", "f"], "audio": ["b", "e"]}
    assert report.dropped == ["b", "e", "f"] and report.n_rows == 3
    # every id is either joined or dropped
    union = set().union(*(set(t["id"]) for t in tables.values()))
    assert set(joined["id"]) | set(report.dropped) == union
    assert "inner join: 3 rows, 3 ids dropped" in str(report)
    assert report.to_dict()["missing"]["text"] == ["b", "f"]


def test_left_flags_missing(tables):
    joined, report = integrate(tables, how="left")
    assert joined["id"].tolist() == ["a", "b", "c", "d"]
    assert joined["text_missing"].tolist() == [False, True, False, False]
    assert joined["audio_missing"].tolist() == [False, True, False, False]
    assert joined["text_missing"].dtype == bool
    assert joined["text"].isna().tolist() == [False, True, False, False]
    assert report.dropped == ["e", "f"]
    assert isinstance(report, IntegrationReport) and report.how == "left"


def test_left_ors_existing_flags():
    img = pd.DataFrame({"id": [1, 2, 3], "image": ["a", "b", "c"]})
    txt = pd.DataFrame({"id": [1, 2], "text": ["x", None], "text_missing": [False, True]})
    joined, _ = integrate({"image": img, "text": txt}, how="left")
    assert joined["text_missing"].tolist() == [False, True, True]


def test_list_input_names_tables(tables):
    joined, report = integrate(list(tables.values()))
    assert list(report.missing) == ["image", "text", "audio"]
    two, rep2 = integrate([tables["image"], tables["image"].drop(columns=["_row"])])
    assert list(rep2.missing) == ["image", "table1"]


def test_duplicate_ids_raise(tables):
    bad = pd.concat([tables["text"], tables["text"].iloc[:1]], ignore_index=True)
    msg = r"table 'text' has 1 duplicated 'id' values \(e.g. \['d'\]"
    with pytest.raises(ValueError, match=msg):
        integrate({"image": tables["image"], "text": bad})


def test_errors(tables):
    with pytest.raises(ValueError, match="how must be"):
        integrate(tables, how="outer")
    with pytest.raises(ValueError, match="no 'key' column"):
        integrate(tables, on="key")
    with pytest.raises(ValueError, match="missing 'id' values"):
        integrate({"a": pd.DataFrame({"id": ["x", None], "text": ["1", "2"]})})
    with pytest.raises(ValueError, match="different kinds"):
        integrate({"a": pd.DataFrame({"id": [1], "text": ["1"]}),
                   "b": pd.DataFrame({"id": ["1"], "audio": ["1"]})})
    clash = tables["text"].assign(label="z")
    with pytest.raises(ValueError, match="column 'label' disagrees"):
        integrate({"image": tables["image"], "text": clash})
    with pytest.raises(TypeError, match="dict or a list"):
        integrate(tables["image"])
    with pytest.raises(ValueError, match="empty"):
        integrate({})
    with pytest.raises(TypeError, match="must be a pandas DataFrame"):
        integrate({"a": [1, 2]})
