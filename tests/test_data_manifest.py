"""read_manifest and clean: formats, path containment, every row accounted for."""

from __future__ import annotations

import bz2
import json
import os

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from mmfeat.data import clean, format_summary, read_manifest, reject_failures, summarize


def _png(path, value=128):
    Image.new("RGB", (6, 5), (value, value, value)).save(path)


def _write(rows, path):
    frame = pd.DataFrame(rows)
    if ".csv" in path.suffixes:
        frame.to_csv(path, index=False)  # compression inferred from the suffix
    elif path.suffix in (".parquet", ".pq"):
        frame.to_parquet(path, index=False)
    else:
        text = "".join(json.dumps(rec) + "\n" for rec in rows)
        if path.suffix == ".bz2":
            path.write_bytes(bz2.compress(text.encode()))
        else:
            path.write_text(text, encoding="utf-8")


@pytest.fixture
def dataset(tmp_path):
    """A folder with good and bad files and a manifest's rows describing them."""
    root = tmp_path / "ds"
    (root / "img").mkdir(parents=True)
    _png(root / "img" / "a.png")
    _png(root / "img" / "b.png")
    (root / "img" / "zero.png").write_bytes(b"")
    (root / "img" / "sub").mkdir()
    _png(tmp_path / "secret.png")  # outside the manifest folder
    os.symlink(tmp_path / "secret.png", root / "img" / "link.png")
    sf.write(root / "a.wav", np.zeros(100, np.int16), 8000)
    rows = [
        {"id": "001", "label": "x", "image": "img/a.png", "text": "hi", "audio": "a.wav"},
        {"id": "002", "label": "y", "image": "img/b.png", "text": "yo", "audio": "a.wav"},
        {"id": "001", "label": "x", "image": "img/b.png", "text": "dup", "audio": "a.wav"},
        {"id": "003", "label": "x", "image": "../secret.png", "text": "t", "audio": "a.wav"},
        {"id": "004", "label": "y", "image": "img/link.png", "text": "t", "audio": "a.wav"},
        {"id": "005", "label": "y", "image": "img/none.png", "text": "t", "audio": "a.wav"},
        {"id": "006", "label": "x", "image": "img/zero.png", "text": "t", "audio": "a.wav"},
        {"id": "007", "label": "x", "image": "img/sub", "text": "t", "audio": "a.wav"},
        {"id": "008", "label": "y", "image": None, "text": "t", "audio": "a.wav"},
        {"id": "009", "label": "y", "image": "img/a.png", "text": None, "audio": None},
        {"id": None, "label": "y", "image": "img/a.png", "text": "t", "audio": "a.wav"},
        {"id": "010", "label": "x", "image": "img/a.png", "text": "NA", "audio": "a.wav"},
        {"id": "011", "label": None, "image": str(tmp_path / "secret.png"), "text": "t",
         "audio": "a.wav"},
    ]
    return root, rows


EXPECTED_REJECT = {
    2: "duplicate id",
    3: "path outside manifest folder",
    4: "path outside manifest folder",
    5: "file not found",
    6: "empty file",
    7: "not a file",
    8: "missing value",
    9: "missing value",
    10: "missing id",
    12: "path outside manifest folder",
}


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl", ".csv.gz", ".ndjson.bz2"])
def test_every_row_accounted_for(dataset, suffix):
    root, rows = dataset
    path = root / f"manifest{suffix}"
    _write(rows, path)
    m = read_manifest(path)
    assert len(m) == len(rows)
    assert m["_row"].tolist() == list(range(len(rows)))
    assert m["image"][0] == str((root / "img" / "a.png").resolve())
    kept, rejects = clean(m)
    assert len(kept) + len(rejects) == len(rows)
    assert dict(zip(rejects["row"], rejects["reason"], strict=True)) == EXPECTED_REJECT
    assert kept["id"].tolist() == ["001", "002", "010"]
    assert kept["text"].tolist() == ["hi", "yo", "NA"]  # "NA" is a text, not a missing value
    assert "_outside" not in kept.columns and kept["_row"].tolist() == [0, 1, 11]
    assert list(rejects.columns) == ["id", "row", "modality", "reason", "detail"]
    by_row = rejects.set_index("row")
    assert by_row.loc[3, "modality"] == "image" and by_row.loc[2, "modality"] is None
    assert by_row.loc[2, "id"] == "001" and by_row.loc[10, "id"] is None
    s = summarize(len(m), rejects)
    assert s["kept"] == 3 and s["rejected"] == 10
    assert s["by_reason"]["path outside manifest folder"] == 3
    assert sum(s["by_reason"].values()) == s["rejected"]
    assert "13 in, 3 kept, 10 rejected" in format_summary(s)


def test_csv_ids_stay_strings(dataset):
    root, rows = dataset
    _write(rows, root / "m.csv")
    m = read_manifest(root / "m.csv")
    assert m["id"][0] == "001"
    assert m["label"].isna().tolist()[-1]  # other columns: pandas' usual missing values


def test_allow_outside(dataset):
    root, rows = dataset
    _write(rows, root / "m.csv")
    m = read_manifest(root / "m.csv", allow_outside=True)
    assert m["_outside"].isna().all()
    kept, rejects = clean(m)
    assert {3, 4, 12} <= set(kept["_row"])
    assert len(kept) + len(rejects) == len(rows)
    assert m["image"][3] == str((root.parent / "secret.png").resolve())


def test_impute_marks_missing(dataset):
    root, rows = dataset
    _write(rows, root / "m.jsonl")
    kept, rejects = clean(read_manifest(root / "m.jsonl"), on_missing="impute")
    assert len(kept) + len(rejects) == len(rows)
    # row 8 lacks its image, row 9 its text and audio: both kept and flagged
    flagged = kept.set_index("_row")
    assert flagged.loc[8, "image_missing"] and not flagged.loc[8, "text_missing"]
    assert flagged.loc[9, "text_missing"] and flagged.loc[9, "audio_missing"]
    assert not flagged.loc[0, ["image_missing", "text_missing", "audio_missing"]].any()
    assert kept["image_missing"].dtype == bool
    # files named but absent are still rejected
    assert set(rejects["reason"]) >= {"file not found", "empty file", "not a file"}


def test_impute_rejects_rows_with_nothing(tmp_path):
    m = pd.DataFrame({"id": [1, 2], "text": ["a", None]})
    kept, rejects = clean(m, on_missing="impute")
    assert kept["id"].tolist() == [1]
    assert rejects["reason"].tolist() == ["all modalities missing"]


def test_modalities_subset(dataset):
    root, rows = dataset
    _write(rows, root / "m.csv")
    kept, rejects = clean(read_manifest(root / "m.csv"), modalities=["text"])
    # only ids and text are checked; image problems are not looked at
    assert set(rejects["reason"]) == {"duplicate id", "missing id", "missing value"}
    assert len(kept) + len(rejects) == len(rows)
    with pytest.raises(ValueError, match="modalities must be among"):
        clean(read_manifest(root / "m.csv"), modalities=["video"])


def test_unreadable_file(tmp_path, monkeypatch):
    p = tmp_path / "a.png"
    _png(p)
    real_access = os.access
    # root reads any file whatever its mode, so make the permission check say no
    monkeypatch.setattr(
        os, "access", lambda f, mode: False if f == str(p) else real_access(f, mode)
    )
    kept, rejects = clean(pd.DataFrame({"id": [1, 2], "image": [str(p), str(p)]}))
    assert rejects["reason"].tolist() == ["unreadable file"] * 2 and len(kept) == 0


def test_many_rows_threaded_stat(tmp_path):
    for i in range(3):
        _png(tmp_path / f"{i}.png")
    paths = [str(tmp_path / f"{i % 4}.png") for i in range(200)]  # every 4th is absent
    kept, rejects = clean(pd.DataFrame({"id": range(200), "image": paths}), n_jobs=4)
    assert len(kept) == 150 and (rejects["row"] % 4 == 3).all()
    assert (rejects["reason"] == "file not found").all()


def test_read_manifest_errors(tmp_path):
    with pytest.raises(ValueError, match="suffix '.txt'"):
        read_manifest(tmp_path / "m.txt")
    with pytest.raises(ValueError, match="suffix '.parquet.gz'"):
        read_manifest(tmp_path / "m.parquet.gz")
    with pytest.raises(ValueError, match="suffix ''"):
        read_manifest(tmp_path / "manifest")
    with pytest.raises(FileNotFoundError, match="m.csv"):
        read_manifest(tmp_path / "m.csv")
    (tmp_path / "noid.csv").write_text("key,image\n1,a.png\n")
    with pytest.raises(ValueError, match="no 'id' column"):
        read_manifest(tmp_path / "noid.csv")
    (tmp_path / "nomod.csv").write_text("id,label\n1,a\n")
    with pytest.raises(ValueError, match="no modality column"):
        read_manifest(tmp_path / "nomod.csv")
    (tmp_path / "both.csv").write_text("id,text,text_path\n1,a,b.txt\n")
    with pytest.raises(ValueError, match="both 'text' and 'text_path'"):
        read_manifest(tmp_path / "both.csv")
    (tmp_path / "bad.jsonl").write_text('{"id": 1, "image": "a.png"}\n{not json\n')
    with pytest.raises(ValueError, match="could not read manifest"):
        read_manifest(tmp_path / "bad.jsonl")
    (tmp_path / "num.jsonl").write_text('{"id": 1, "image": 5}\n')
    with pytest.raises(ValueError, match="column 'image' row 0"):
        read_manifest(tmp_path / "num.jsonl")
    (tmp_path / "res.csv").write_text("id,text,_row\n1,a,0\n")
    with pytest.raises(ValueError, match="reserved"):
        read_manifest(tmp_path / "res.csv")
    with pytest.raises(TypeError, match="path must be"):
        read_manifest(3)
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(ValueError, match="is empty"):
        read_manifest(tmp_path / "empty.jsonl")
    (tmp_path / "header.csv").write_text("id,text\n")
    kept, rejects = clean(read_manifest(tmp_path / "header.csv"))
    assert len(kept) == len(rejects) == 0


def test_clean_errors():
    with pytest.raises(TypeError, match="DataFrame"):
        clean({"id": [1]})
    with pytest.raises(ValueError, match="no 'id' column"):
        clean(pd.DataFrame({"text": ["a"]}))
    with pytest.raises(ValueError, match="on_missing"):
        clean(pd.DataFrame({"id": [1], "text": ["a"]}), on_missing="drop")
    with pytest.raises(ValueError, match="no modality column"):
        clean(pd.DataFrame({"id": [1], "x": ["a"]}))


def test_reject_failures_moves_rows():
    m = pd.DataFrame({"id": ["a", "b", "c", "d"], "text": ["1", "2", "3", "4"],
                      "_row": [0, 2, 3, 5]})
    kept, rejects = clean(m)
    assert len(rejects) == 0
    kept, rejects = reject_failures(kept, rejects, [(1, "corrupt image: broken")], "image")
    kept, rejects = reject_failures(kept, rejects, [(0, "empty audio")], "audio",
                                    positions=[2, 0])
    # the second decoder saw kept rows [2, 0] (d, a) and failed on its item 0: d
    assert kept["id"].tolist() == ["a", "c"]
    assert rejects.values.tolist() == [
        ["b", 2, "image", "corrupt image", "broken"],
        ["d", 5, "audio", "empty audio", ""],
    ]
    assert summarize(4, rejects)["kept"] == 2


def test_symlinked_folder_and_dot_paths(tmp_path):
    root = tmp_path / "ds"
    (root / "img").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    _png(tmp_path / "elsewhere" / "x.png")
    _png(root / "img" / "a.png")
    os.symlink(tmp_path / "elsewhere", root / "lnk")
    os.symlink(root / "img", root / "inside")  # a link that stays inside is fine
    rows = ["lnk/x.png", "img/../img/a.png", "inside/a.png", "img/..", "./img/./a.png",
            "img/../../ds/img/a.png"]
    pd.DataFrame({"id": range(len(rows)), "image": rows}).to_csv(root / "m.csv", index=False)
    m = read_manifest(root / "m.csv")
    assert m["_outside"].tolist() == ["image", None, None, None, None, None]
    a = str((root / "img" / "a.png").resolve())
    assert m["image"].tolist()[1:] == [a, a, str(root.resolve()), a, a]
    kept, rejects = clean(m)
    assert dict(zip(rejects["row"], rejects["reason"], strict=True)) == {
        0: "path outside manifest folder", 3: "not a file"}
    assert kept["_row"].tolist() == [1, 2, 4, 5]


@settings(max_examples=60, deadline=None)
@given(
    ids=st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d", ""])), max_size=12),
    data=st.data(),
    on_missing=st.sampled_from(["reject", "impute"]),
)
def test_counts_always_add_up(ids, data, on_missing):
    n = len(ids)
    text = data.draw(st.lists(st.one_of(st.none(), st.just("t"), st.just(" ")),
                              min_size=n, max_size=n))
    frame = pd.DataFrame({"id": pd.Series(ids, dtype=object),
                          "text": pd.Series(text, dtype=object)})
    kept, rejects = clean(frame, on_missing=on_missing)
    assert len(kept) + len(rejects) == n
    assert set(kept["_row"]).isdisjoint(rejects["row"])  # positions when no _row came in
    assert sorted(rejects["row"].tolist()) == rejects["row"].tolist()
    assert kept["id"].is_unique
    first = {}
    for i, ident in enumerate(ids):
        if ident not in (None, "") and ident not in first:
            first[ident] = i
    expected_reasons = {
        i: ("missing id" if ident in (None, "") else
            "duplicate id" if first[ident] != i else
            ("missing value" if on_missing == "reject" else "all modalities missing")
            if text[i] in (None, " ") else None)
        for i, ident in enumerate(ids)
    }
    got = dict(zip(rejects["row"], rejects["reason"], strict=True))
    assert got == {i: r for i, r in expected_reasons.items() if r is not None}
    assert summarize(n, rejects)["kept"] == len(kept)
