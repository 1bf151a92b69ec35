"""FeatureSet: named blocks -> frames (pandas, polars, pyarrow), Parquet round trips, concat."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mmfeat.fusion import FeatureSet, column_name, concat, infer_blocks, read_parquet


def _make(n=5, seed=0, with_extra=True, labels=True, id_prefix="r"):
    rng = np.random.default_rng(seed)
    blocks = {
        "image": rng.random((n, 3)),  # float64 in: stored as float32
        "text": rng.random((n, 2)).astype(np.float32),
        "audio": rng.random((n, 4)).astype(np.float32),
    }
    names = {
        "image": ["hsv_0", "hsv_1", "edge"],
        "text": ["lsa0", "text_lsa1"],  # one already prefixed: kept as is
        "audio": ["mfcc_0", "mfcc_1", "rms", "zcr"],
    }
    ids = [f"{id_prefix}{i}" for i in range(n)]
    extra = (
        pd.DataFrame({"split": ["train", "test"] * (n // 2) + ["train"] * (n % 2),
                      "source": [f"s{i % 2}" for i in range(n)]})
        if with_extra else None
    )
    return FeatureSet(blocks, names, ids, np.arange(n) % 3 if labels else None, extra)


def test_columns_dtypes_and_names():
    fs = _make()
    assert len(fs) == 5 and fs.n_features == 9
    assert fs.modalities == ["image", "text", "audio"]
    assert fs.block_columns["image"] == ["image_hsv_0", "image_hsv_1", "image_edge"]
    assert fs.block_columns["text"] == ["text_lsa0", "text_lsa1"]
    assert fs.feature_names[:3] == fs.block_columns["image"]
    assert all(b.dtype == np.float32 for b in fs.blocks.values())
    X = fs.to_numpy()
    assert X.shape == (5, 9) and X.dtype == np.float32
    np.testing.assert_array_equal(X[:, 3:5], fs.blocks["text"])
    assert "image: 3" in repr(fs)
    assert column_name("audio", "audio_rms") == "audio_rms"
    assert column_name("audio", "rms") == "audio_rms"


@pytest.mark.parametrize("library", ["pandas", "polars", "pyarrow"])
def test_to_frame_each_library(library):
    import narwhals as nw

    fs = _make()
    native = fs.to_frame(library)
    frame = nw.from_native(native, eager_only=True)
    mod = {"pandas": "pandas", "polars": "polars", "pyarrow": "pyarrow"}[library]
    assert type(native).__module__.split(".")[0] == mod
    assert frame.columns == ["id", *fs.feature_names, "label", "split", "source"]
    schema = frame.schema
    for col in fs.feature_names:
        assert schema[col] == nw.Float32, (col, schema[col])
    assert frame["id"].to_list() == [f"r{i}" for i in range(5)]
    assert frame["label"].to_list() == [0, 1, 2, 0, 1]
    assert frame["split"].to_list() == ["train", "test", "train", "test", "train"]
    got = np.column_stack([frame[c].to_numpy() for c in fs.feature_names])
    np.testing.assert_array_equal(got, fs.to_numpy())
    # without label / extra
    bare = nw.from_native(fs.to_frame(library, label=False, extra=False), eager_only=True)
    assert bare.columns == ["id", *fs.feature_names]


@pytest.mark.parametrize("library", ["pandas", "polars", "pyarrow"])
def test_missing_values_in_text_columns(library, tmp_path):
    # an empty cell in a CSV's text column arrives as NaN among strings
    import narwhals as nw

    extra = pd.DataFrame({"split": ["train", np.nan, "test"],
                          "n": pd.array([1, None, 3], dtype="Int64")})
    fs = FeatureSet({"image": np.ones((3, 2))}, {"image": ["a", "b"]}, ["x", "y", "z"],
                    labels=np.array(["cat", None, "dog"], dtype=object), extra=extra)
    frame = nw.from_native(fs.to_frame(library), eager_only=True)
    assert frame["split"].to_list()[::2] == ["train", "test"]
    assert frame["split"].is_null().to_list() == [False, True, False] or library == "pandas"
    assert frame["label"].to_list()[::2] == ["cat", "dog"]
    if library == "pyarrow":
        back = read_parquet(fs.write_parquet(tmp_path / "f.parquet"))
        assert back.extra["split"].isna().tolist() == [False, True, False]
        assert list(back.labels[::2]) == ["cat", "dog"]


def test_to_frame_bad_library():
    with pytest.raises(ValueError, match="library must be one of"):
        _make().to_frame("excel")


def test_gpu_outputs_without_gpu_libraries_say_what_is_missing():
    import importlib.util

    if importlib.util.find_spec("cudf") is not None:
        pytest.skip("cuDF is installed here")
    with pytest.raises(ImportError, match=r"to_frame\('cudf'\) needs (cupy|cudf)"):
        _make().to_frame("cudf")
    if importlib.util.find_spec("cupy") is None:
        with pytest.raises(ImportError, match=r"to_cupy\(\) needs cupy"):
            _make().to_cupy()


def test_parquet_round_trip_with_metadata(tmp_path):
    import pyarrow.parquet as pq

    fs = _make(n=6)
    path = fs.write_parquet(tmp_path / "f.parquet")
    meta = json.loads(pq.read_schema(path).metadata[b"mmfeat.featureset"])
    assert meta["blocks"] == fs.block_columns
    back = read_parquet(path)
    assert back.block_columns == fs.block_columns
    for m in fs.blocks:
        np.testing.assert_array_equal(back.blocks[m], fs.blocks[m])
        assert back.blocks[m].dtype == np.float32
    assert list(back.ids) == list(fs.ids)
    np.testing.assert_array_equal(back.labels, fs.labels)
    pd.testing.assert_frame_equal(back.extra, fs.extra)


def test_parquet_metadata_beats_prefixes(tmp_path):
    # A block name that is not a modality prefix ("depth") can only come back
    # from the metadata: prefix inference would drop it.
    fs = FeatureSet({"image": np.ones((2, 2)), "depth": np.zeros((2, 1))},
                    {"image": ["a", "b"], "depth": ["mean"]}, ["a", "b"])
    path = fs.write_parquet(tmp_path / "x.parquet")
    back = read_parquet(path)
    assert back.block_columns == {"image": ["image_a", "image_b"], "depth": ["depth_mean"]}
    assert back.labels is None and back.extra is None
    # the same table without the metadata: depth_mean is no feature any more
    import pyarrow.parquet as pq

    plain = tmp_path / "plain.parquet"
    pq.write_table(pq.read_table(path).replace_schema_metadata(None), plain)
    assert read_parquet(plain).block_columns == {"image": ["image_a", "image_b"]}
    assert list(read_parquet(plain).extra.columns) == ["depth_mean"]


def test_parquet_without_metadata_uses_prefixes(tmp_path):
    frame = pd.DataFrame({
        "id": ["a", "b", "c"],
        "image_f0": [1.0, 2.0, 3.0],
        "text_f0": [0.5, 0.5, 0.5],
        "image_f1": [4.0, 5.0, 6.0],
        "label": ["x", "y", "x"],
        "split": ["train", "test", "train"],
    })
    path = tmp_path / "plain.parquet"
    frame.to_parquet(path, index=False)
    fs = read_parquet(path)
    assert fs.block_columns == {"image": ["image_f0", "image_f1"], "text": ["text_f0"]}
    np.testing.assert_array_equal(fs.blocks["image"], [[1, 4], [2, 5], [3, 6]])
    assert fs.blocks["image"].dtype == np.float32
    assert list(fs.labels) == ["x", "y", "x"]
    assert list(fs.extra.columns) == ["split"]
    assert infer_blocks(["id", "audio_a", "label"]) == {"audio": ["audio_a"]}


def test_read_parquet_needs_id(tmp_path):
    path = tmp_path / "noid.parquet"
    pd.DataFrame({"image_f0": [1.0]}).to_parquet(path, index=False)
    with pytest.raises(ValueError, match="no 'id' column"):
        read_parquet(path)


def test_select():
    fs = _make()
    sub = fs.select(["audio", "image"])
    assert sub.modalities == ["audio", "image"]
    assert sub.feature_names == fs.block_columns["audio"] + fs.block_columns["image"]
    np.testing.assert_array_equal(sub.blocks["audio"], fs.blocks["audio"])
    assert list(sub.ids) == list(fs.ids) and sub.extra is fs.extra
    assert fs.select("text").n_features == 2
    with pytest.raises(ValueError, match="unknown modalities"):
        fs.select(["video"])


def test_concat_rows_in_order():
    a, b = _make(n=3, seed=1, id_prefix="a"), _make(n=4, seed=2, id_prefix="b")
    c = concat([a, b])
    assert len(c) == 7
    assert list(c.ids) == ["a0", "a1", "a2", "b0", "b1", "b2", "b3"]
    np.testing.assert_array_equal(c.to_numpy(), np.vstack([a.to_numpy(), b.to_numpy()]))
    np.testing.assert_array_equal(c.labels, np.concatenate([a.labels, b.labels]))
    assert c.extra["split"].tolist() == a.extra["split"].tolist() + b.extra["split"].tolist()
    assert c.extra.index.tolist() == list(range(7))
    with pytest.raises(ValueError, match="at least one"):
        concat([])
    with pytest.raises(ValueError, match="same blocks"):
        concat([a, a.select(["image", "text"])])
    unlabelled = _make(n=2, seed=3, labels=False, id_prefix="u")
    for pair in ([a, unlabelled], [unlabelled, a]):
        with pytest.raises(ValueError, match="all have labels or all have none"):
            concat(pair)


def test_bad_shapes_and_names_raise():
    ok = np.zeros((3, 2))
    with pytest.raises(ValueError, match="at least one"):
        FeatureSet({}, {}, [])
    with pytest.raises(ValueError, match=r"block 'image' must have shape \(3, d\)"):
        FeatureSet({"image": np.zeros((2, 2))}, {"image": ["a", "b"]}, ["x", "y", "z"])
    with pytest.raises(ValueError, match="must have shape"):
        FeatureSet({"image": np.zeros(3)}, {"image": ["a"]}, ["x", "y", "z"])
    with pytest.raises(ValueError, match="2 columns but 3 feature names"):
        FeatureSet({"image": ok}, {"image": ["a", "b", "c"]}, ["x", "y", "z"])
    with pytest.raises(ValueError, match="unique"):
        FeatureSet({"image": ok}, {"image": ["a", "a"]}, ["x", "y", "z"])
    with pytest.raises(ValueError, match="labels must have 3"):
        FeatureSet({"image": ok}, {"image": ["a", "b"]}, ["x", "y", "z"], labels=[1, 2])
    with pytest.raises(ValueError, match="extra must have 3 rows"):
        FeatureSet({"image": ok}, {"image": ["a", "b"]}, ["x", "y", "z"],
                   extra=pd.DataFrame({"s": [1]}))
