"""FeaturePipeline: in-memory dicts and doctored manifests, every row accounted for.

Until :class:`mmfeat.text.TextFeatures` exists the text block comes from a small
stand-in (scikit-learn's TF-IDF + truncated SVD); the tests that need the real
one are skipped with the reason.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError

from mmfeat import FeaturePipeline
from mmfeat.audio import AudioFeatures
from mmfeat.data import decode_audio, decode_images, demo_dataset, read_texts
from mmfeat.fusion import FeatureSet
from mmfeat.image import ImageFeatures
from mmfeat.pipeline import default_extractors

N = 24
SIZE = 16


class StandInText(TransformerMixin, BaseEstimator):
    """TF-IDF + truncated SVD from scikit-learn, with get_feature_names_out."""

    def __init__(self, n_components=6):
        self.n_components = n_components

    def fit(self, X, y=None):
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        X = list(X)
        self.tfidf_ = TfidfVectorizer().fit(X)
        self.svd_ = TruncatedSVD(self.n_components, random_state=0)
        self.svd_.fit(self.tfidf_.transform(X))
        return self

    def transform(self, X):
        return self.svd_.transform(self.tfidf_.transform(list(X))).astype(np.float32)

    def get_feature_names_out(self, input_features=None):
        return np.array([f"lsa{i}" for i in range(self.n_components)], dtype=object)


def _real_text_features():
    try:
        from mmfeat.text import TextFeatures
    except ImportError:
        return None
    return TextFeatures


needs_text_features = pytest.mark.skipif(
    _real_text_features() is None,
    reason="mmfeat.text.TextFeatures is not written yet (issue 3's text helper)",
)


@pytest.fixture(scope="module")
def demo():
    return demo_dataset(N, image_size=SIZE, seed=3)


def _extractors(sr, modalities=("image", "text", "audio")):
    ex = {"image": ImageFeatures(hsv_bins=4), "text": StandInText(), "audio": AudioFeatures(sr=sr)}
    return {m: ex[m] for m in modalities}


def _data(d, **override):
    out = {"image": d.images, "text": list(d.texts), "audio": list(d.audio),
           "id": d.ids, "label": d.labels}
    out.update(override)
    return out


@pytest.fixture(scope="module")
def reference(demo):
    """fit_transform of the whole demo (batch_size 7), and the pipeline."""
    pipe = FeaturePipeline(_extractors(demo.sr), batch_size=7)
    return pipe, pipe.fit_transform(_data(demo))


# -- in-memory ----------------------------------------------------------------------
def test_blocks_ids_labels_and_direct_calls(demo, reference):
    pipe, fs = reference
    assert isinstance(fs, FeatureSet)
    assert fs.modalities == ["image", "text", "audio"]
    assert fs.blocks["image"].shape == (N, 83)
    assert fs.blocks["text"].shape == (N, 6)
    assert fs.blocks["audio"].shape[0] == N
    assert list(fs.ids) == list(demo.ids)
    np.testing.assert_array_equal(fs.labels, demo.labels)
    names = pipe.get_feature_names_out()
    assert names.dtype == object and list(names) == fs.feature_names
    assert pipe.summary_ == {"input": N, "kept": N, "rejected": 0, "by_reason": {}}
    assert len(pipe.rejects_) == 0
    assert set(pipe.timings_) >= {"clean", "decode", "image", "text", "audio"}
    # each block is what the extractor gives on the whole batch at once
    np.testing.assert_allclose(
        fs.blocks["image"], ImageFeatures(hsv_bins=4).fit_transform(demo.images), atol=1e-6)
    np.testing.assert_allclose(
        fs.blocks["audio"], AudioFeatures(sr=demo.sr).fit_transform(demo.audio),
        rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        fs.blocks["text"], StandInText().fit(demo.texts).transform(demo.texts), atol=1e-6)
    # the pipeline cloned its extractors: the ones passed in stay unfitted
    assert not hasattr(pipe.extractors["text"], "tfidf_")
    assert hasattr(pipe.extractors_["text"], "tfidf_")


def test_fit_then_transform_equals_fit_transform(demo, reference):
    _, fs = reference
    pipe = FeaturePipeline(_extractors(demo.sr), batch_size=7).fit(_data(demo))
    again = pipe.transform(_data(demo))
    np.testing.assert_array_equal(again.to_numpy(), fs.to_numpy())
    assert list(again.ids) == list(fs.ids)
    # y= overrides the dict's labels
    relabelled = pipe.transform(_data(demo), y=demo.labels + 10)
    np.testing.assert_array_equal(relabelled.labels, demo.labels + 10)


@pytest.mark.parametrize("batch_size", [5, 1000])
def test_batch_size_does_not_change_features(demo, reference, batch_size):
    _, fs = reference
    got = FeaturePipeline(_extractors(demo.sr), batch_size=batch_size).fit_transform(_data(demo))
    assert list(got.ids) == list(fs.ids)
    for m in fs.blocks:
        np.testing.assert_allclose(got.blocks[m], fs.blocks[m], rtol=1e-5, atol=1e-6,
                                   err_msg=m)


def test_batch_size_one(demo, reference):
    pipe, fs = reference
    one = pipe.set_params(batch_size=1)
    try:
        got = one.transform(_data(demo, image=demo.images[:9], text=demo.texts[:9],
                                  audio=demo.audio[:9], id=demo.ids[:9], label=demo.labels[:9]))
    finally:
        pipe.set_params(batch_size=7)
    assert list(got.ids) == list(fs.ids[:9])
    for m in fs.blocks:
        np.testing.assert_allclose(got.blocks[m], fs.blocks[m][:9], rtol=1e-5, atol=1e-6,
                                   err_msg=m)


def test_iter_batches_streams_every_row(demo, reference):
    pipe, fs = reference
    parts = list(pipe.iter_batches(_data(demo)))
    assert [len(f) for f, _ in parts] == [7, 7, 7, 3]
    assert [i for f, _ in parts for i in f.ids] == list(fs.ids)


def test_missing_values_rejected(demo):
    texts = list(demo.texts)
    audio = list(demo.audio)
    texts[3] = None
    texts[10] = float("nan")  # pandas' missing value counts too
    audio[5] = None
    audio[10] = None  # one row, two missing values: rejected once
    pipe = FeaturePipeline(_extractors(demo.sr), batch_size=4)
    fs = pipe.fit_transform(_data(demo, text=texts, audio=audio))
    bad = {3, 5, 10}
    assert list(fs.ids) == [demo.ids[i] for i in range(N) if i not in bad]
    np.testing.assert_array_equal(fs.labels, np.delete(demo.labels, sorted(bad)))
    rej = pipe.rejects_.sort_values("row")
    assert rej["row"].tolist() == [3, 5, 10]
    assert rej["id"].tolist() == [demo.ids[i] for i in (3, 5, 10)]
    assert rej["modality"].tolist() == ["text", "audio", "text"]
    assert set(rej["reason"]) == {"missing value"}
    assert pipe.summary_ == {"input": N, "kept": N - 3, "rejected": 3,
                             "by_reason": {"missing value": 3}}
    assert pipe.summary_["kept"] == len(fs)


def test_missing_values_imputed(demo, reference):
    _, full = reference
    texts = list(demo.texts)
    audio = list(demo.audio)
    texts[3] = None
    audio[5] = None
    audio[20] = None
    pipe = FeaturePipeline(_extractors(demo.sr), batch_size=4, on_missing="impute")
    fs = pipe.fit_transform(_data(demo, text=texts, audio=audio))
    assert len(fs) == N and pipe.summary_["rejected"] == 0
    assert fs.block_columns["text"][-1] == "text_missing"
    assert fs.block_columns["audio"][-1] == "audio_missing"
    assert fs.block_columns["image"][-1] == "image_missing"
    np.testing.assert_array_equal(np.flatnonzero(fs.blocks["text"][:, -1]), [3])
    np.testing.assert_array_equal(np.flatnonzero(fs.blocks["audio"][:, -1]), [5, 20])
    assert not fs.blocks["image"][:, -1].any()
    assert set(np.unique(fs.blocks["audio"][:, -1])) == {0.0, 1.0}
    # zeros where the value is missing, the real features elsewhere
    assert not fs.blocks["text"][3, :-1].any() and not fs.blocks["audio"][5, :-1].any()
    np.testing.assert_allclose(np.delete(fs.blocks["audio"][:, :-1], [5, 20], axis=0),
                               np.delete(full.blocks["audio"], [5, 20], axis=0),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fs.blocks["image"][:, :-1], full.blocks["image"], atol=1e-6)
    frame = fs.to_frame()
    assert frame["audio_missing"].tolist() == [float(i in (5, 20)) for i in range(N)]


def test_image_list_and_non_string_text(demo):
    images = list(demo.images)
    images[2] = None
    texts = list(demo.texts)
    texts[4] = 5
    pipe = FeaturePipeline(_extractors(demo.sr, ("image", "text")), batch_size=5)
    fs = pipe.fit_transform({"image": images, "text": texts, "id": demo.ids})
    assert pipe.rejects_[["row", "modality", "reason"]].values.tolist() == [
        [2, "image", "missing value"], [4, "text", "not a string"]]
    keep = [i for i in range(N) if i not in (2, 4)]
    np.testing.assert_allclose(
        fs.blocks["image"], ImageFeatures(hsv_bins=4).fit_transform(demo.images[keep]),
        atol=1e-6)
    imp = FeaturePipeline(_extractors(demo.sr, ("image", "text")), on_missing="impute")
    fs = imp.fit_transform({"image": images, "text": demo.texts})
    assert np.flatnonzero(fs.blocks["image"][:, -1]).tolist() == [2]


def test_impute_rejects_a_row_with_nothing(demo):
    pipe = FeaturePipeline(_extractors(demo.sr, ("text", "audio")), on_missing="impute")
    texts, audio = list(demo.texts), list(demo.audio)
    texts[2] = audio[2] = None
    fs = pipe.fit_transform({"text": texts, "audio": audio, "id": demo.ids})
    assert len(fs) == N - 1
    assert pipe.rejects_[["row", "reason"]].values.tolist() == [[2, "all modalities missing"]]


def test_everything_rejected_raises(demo):
    pipe = FeaturePipeline(_extractors(demo.sr, ("audio",)))
    with pytest.raises(ValueError, match="no rows left"):
        pipe.fit({"audio": [None] * 4})
    assert pipe.summary_["rejected"] == 4
    # text is fitted before any batch: the same message, not the vectorizer's
    pipe = FeaturePipeline(_extractors(demo.sr, ("text",)))
    with pytest.raises(ValueError, match="no rows left to fit on: all 3 were rejected"):
        pipe.fit({"text": [None, "", float("nan")]})
    assert pipe.summary_ == {"input": 3, "kept": 0, "rejected": 3,
                             "by_reason": {"missing value": 3}}
    pipe = FeaturePipeline(_extractors(demo.sr, ("text", "audio")), on_missing="impute")
    with pytest.raises(ValueError, match="no text to fit the text extractor on"):
        pipe.fit({"text": [None] * 3, "audio": demo.audio[:3]})


def test_bad_arguments_raise_clear_errors(demo):
    ex = _extractors(demo.sr)
    with pytest.raises(ValueError, match="same length"):
        FeaturePipeline(ex).fit(_data(demo, text=list(demo.texts)[:-1]))
    with pytest.raises(ValueError, match=r"data\['id'\] must have"):
        FeaturePipeline(ex).fit(_data(demo, id=demo.ids[:3]))
    with pytest.raises(ValueError, match="labels must have"):
        FeaturePipeline(ex).fit(_data(demo, label=demo.labels[:3]))
    with pytest.raises(ValueError, match=r"data has no \['audio'\]"):
        FeaturePipeline(ex).fit({"image": demo.images, "text": demo.texts})
    with pytest.raises(ValueError, match="unknown modalities.*video"):
        FeaturePipeline({"video": ImageFeatures()}).fit(_data(demo))
    with pytest.raises(TypeError, match="extractors must be a non-empty dict"):
        FeaturePipeline([ImageFeatures()]).fit(_data(demo))
    with pytest.raises(TypeError, match="extractors must be a non-empty dict"):
        FeaturePipeline({}).fit(_data(demo))
    with pytest.raises(TypeError, match=r"extractors\['image'\] must have fit and transform"):
        FeaturePipeline({"image": object()}).fit(_data(demo))
    for bad in (0, -3):
        with pytest.raises(ValueError, match="batch_size must be >= 1"):
            FeaturePipeline(ex, batch_size=bad).fit(_data(demo))
    for bad in (2.5, True, "8"):
        with pytest.raises(TypeError, match="batch_size must be an int"):
            FeaturePipeline(ex, batch_size=bad).fit(_data(demo))
    with pytest.raises(ValueError, match="on_missing must be one of"):
        FeaturePipeline(ex, on_missing="drop").fit(_data(demo))
    with pytest.raises(TypeError, match="data must be a dict"):
        FeaturePipeline(ex).fit(demo.images)


def test_not_fitted(demo):
    pipe = FeaturePipeline(_extractors(demo.sr))
    with pytest.raises(NotFittedError):
        pipe.transform(_data(demo))
    with pytest.raises(NotFittedError):
        pipe.get_feature_names_out()
    with pytest.raises(NotFittedError):
        next(pipe.iter_batches(_data(demo)))


def test_numpy_and_cpu_backends_agree(demo):
    data = _data(demo)
    ex = _extractors(demo.sr, ("image", "audio"))
    ref = FeaturePipeline(ex, backend="numpy", batch_size=10).fit_transform(data)
    cpu = FeaturePipeline(ex, backend="cpu", batch_size=10).fit_transform(data)
    assert ref.feature_names == cpu.feature_names
    np.testing.assert_allclose(cpu.blocks["image"], ref.blocks["image"], rtol=1e-4, atol=1e-4)
    # dB-scaled and delta statistics: float32 sums in another order
    np.testing.assert_allclose(cpu.blocks["audio"], ref.blocks["audio"], rtol=1e-3, atol=2e-3)


# -- manifests ----------------------------------------------------------------------
def _doctored_manifest(d, root):
    """demo items as files with text_path, split and one problem per row 1..9.

    Returns (manifest path, {row: expected reason}, rows where the audio cell is empty).
    """
    path = d.write_manifest(root)
    m = pd.read_csv(path)
    (root / "texts").mkdir()
    text_paths = []
    for i, (item, text) in enumerate(zip(m["id"], m["text"], strict=True)):
        p = root / "texts" / f"{item}.txt"
        p.write_bytes(b"caf\xe9 \xff\xfe broken" if i == 7 else text.encode())
        text_paths.append(f"texts/{item}.txt")
    m = m.drop(columns=["text"]).assign(text_path=text_paths)
    m.insert(2, "split", ["train", "test"] * (len(m) // 2) + ["train"] * (len(m) % 2))
    m["flag_missing"] = np.arange(len(m)) % 3 == 0  # a user's column, not clean's flag
    expected = {}
    m.loc[1, "image"] = "images/nope.png"
    expected[1] = "file not found"
    png = (root / m.loc[2, "image"]).read_bytes()
    (root / m.loc[2, "image"]).write_bytes(png[: len(png) // 2])  # truncated PNG
    expected[2] = "corrupt image"
    (root / m.loc[3, "audio"]).write_bytes(b"")
    expected[3] = "empty file"
    sf.write(root / m.loc[4, "audio"], np.zeros(0, np.float32), d.sr)  # header, no samples
    expected[4] = "empty audio"
    m.loc[5, "id"] = m.loc[0, "id"]
    expected[5] = "duplicate id"
    outside = root.parent / f"{root.name}-outside.png"
    outside.write_bytes(png)
    m.loc[6, "image"] = f"../{outside.name}"
    expected[6] = "path outside manifest folder"
    expected[7] = "undecodable text"
    (root / m.loc[8, "audio"]).write_bytes(b"RIFF0000WAVEjunkjunkjunk")
    expected[8] = "corrupt audio"
    m.loc[9, "audio"] = None
    expected[9] = "missing value"
    m.to_csv(path, index=False)
    return path, expected, [9]


def _reason_head(reason):
    return reason.split(":")[0]


@pytest.mark.parametrize("batch_size", [3, 64])
def test_manifest_every_row_accounted_for(demo, tmp_path, batch_size):
    d = demo
    root = tmp_path / "data"
    path, expected, _ = _doctored_manifest(d, root)
    pipe = FeaturePipeline(_extractors(d.sr), batch_size=batch_size, image_size=SIZE, sr=d.sr)
    fs = pipe.fit_transform(path)
    rej = pipe.rejects_.sort_values("row").reset_index(drop=True)
    got = {int(r): _reason_head(reason) for r, reason in zip(rej["row"], rej["reason"],
                                                              strict=True)}
    assert got == expected
    assert len(rej) == len(expected)  # each row rejected once
    kept_rows = [i for i in range(N) if i not in expected]
    assert list(fs.ids) == [d.ids[i] for i in kept_rows]
    assert len(fs) + len(rej) == N
    assert pipe.summary_["input"] == N
    assert pipe.summary_["kept"] == len(fs) and pipe.summary_["rejected"] == len(rej)
    assert sum(pipe.summary_["by_reason"].values()) == len(rej)
    assert rej.loc[rej["row"] == 5, "id"].item() == d.ids[0]  # the duplicate's own id
    modality = dict(zip(rej["row"], rej["modality"], strict=True))
    assert (modality[2], modality[4], modality[7], modality[6]) == (
        "image", "audio", "text", "image")
    # the extra manifest column passes through to the FeatureSet and its frames
    assert list(fs.extra.columns) == ["split", "flag_missing"]
    assert fs.extra["split"].tolist() == [["train", "test"][i % 2] for i in kept_rows]
    frame = fs.to_frame("pandas")
    assert frame["split"].tolist() == fs.extra["split"].tolist()
    assert frame["flag_missing"].tolist() == [i % 3 == 0 for i in kept_rows]
    assert frame["label"].tolist() == [int(d.labels[i]) for i in kept_rows]
    assert not {"_row", "_outside", "text_path", "image", "audio"} & set(frame.columns)


def test_manifest_impute_keeps_empty_cells(demo, tmp_path):
    d = demo
    path, expected, empty = _doctored_manifest(d, tmp_path / "data")
    pipe = FeaturePipeline(_extractors(d.sr), batch_size=5, image_size=SIZE, sr=d.sr,
                           on_missing="impute")
    fs = pipe.fit_transform(path)
    still = {r: v for r, v in expected.items() if r not in empty}
    assert dict(zip(pipe.rejects_["row"], pipe.rejects_["reason"].map(_reason_head),
                    strict=True)) == still
    assert list(fs.extra.columns) == ["split", "flag_missing"]  # not clean's audio_missing
    pos = list(fs.ids).index(d.ids[9])
    assert fs.blocks["audio"][pos, -1] == 1.0 and not fs.blocks["audio"][pos, :-1].any()
    assert fs.blocks["audio"][:, -1].sum() == 1.0


def test_manifest_features_equal_in_memory_features(demo, tmp_path):
    """Extraction from files == extraction from the same decoded arrays in memory."""
    d = demo
    root = tmp_path / "data"
    path, expected, _ = _doctored_manifest(d, root)
    pipe = FeaturePipeline(_extractors(d.sr), batch_size=4, image_size=SIZE, sr=d.sr)
    fs = pipe.fit_transform(path)
    m = pd.read_csv(path)
    kept = [i for i in range(N) if i not in expected]
    images, fails = decode_images([root / m.loc[i, "image"] for i in kept], SIZE)
    clips, fails2 = decode_audio([root / m.loc[i, "audio"] for i in kept], d.sr)
    texts, fails3 = read_texts([root / m.loc[i, "text_path"] for i in kept])
    assert fails == fails2 == fails3 == []
    # PNG is lossless: the decoded images are the generated ones
    np.testing.assert_array_equal(images, d.images[kept])
    mem = pipe.transform({"image": images, "text": texts, "audio": clips,
                          "id": [d.ids[i] for i in kept]})
    assert list(mem.ids) == list(fs.ids)
    for mod in fs.blocks:
        np.testing.assert_allclose(mem.blocks[mod], fs.blocks[mod], rtol=1e-5, atol=1e-6,
                                   err_msg=mod)


def test_manifest_frame_and_labels_argument(demo, tmp_path):
    from mmfeat.data import read_manifest

    d = demo
    path = d.write_manifest(tmp_path / "ok")
    pipe = FeaturePipeline(_extractors(d.sr, ("image", "audio")), image_size=SIZE, sr=d.sr)
    fs = pipe.fit_transform(read_manifest(path), y=np.arange(N))
    assert list(fs.labels) == list(range(N)) and len(fs) == N
    # an image resized on decoding still gives one row of the same width
    small = FeaturePipeline(_extractors(d.sr, ("image",)), image_size=(8, 12)).fit_transform(path)
    assert small.blocks["image"].shape == fs.blocks["image"].shape


# -- the real extractors -------------------------------------------------------------
def test_default_extractors_image_audio():
    ex = default_extractors(["audio", "image"], sr=8000)
    assert list(ex) == ["audio", "image"]
    assert isinstance(ex["image"], ImageFeatures) and isinstance(ex["audio"], AudioFeatures)
    assert ex["audio"].sr == 8000
    with pytest.raises(ValueError, match="unknown modality 'video'"):
        default_extractors(["video"])


@needs_text_features
def test_default_extractors_with_real_text_features(demo):
    TextFeatures = _real_text_features()
    ex = default_extractors(sr=demo.sr, text_components=5)
    assert isinstance(ex["text"], TextFeatures)
    pipe = FeaturePipeline(ex, batch_size=10)
    fs = pipe.fit_transform(_data(demo))
    assert fs.blocks["text"].shape == (N, 5)
    assert fs.blocks["text"].dtype == np.float32
    names = [str(n) for n in pipe.extractors_["text"].get_feature_names_out()]
    assert fs.block_columns["text"] == [n if n.startswith("text_") else f"text_{n}"
                                        for n in names]
    assert not any(c.startswith("text_text_") for c in fs.feature_names)
    # TextFeatures is fitted on the whole corpus: batches of one give the same rows
    head = {k: v[:6] for k, v in _data(demo).items()}
    one = pipe.set_params(batch_size=1).transform(head)
    np.testing.assert_allclose(one.to_numpy(), fs.to_numpy()[:6], rtol=1e-5, atol=1e-5)
    texts = list(demo.texts)
    texts[4] = None
    imp = FeaturePipeline(default_extractors(sr=demo.sr, text_components=5),
                          on_missing="impute").fit_transform(_data(demo, text=texts))
    assert np.flatnonzero(imp.blocks["text"][:, -1]).tolist() == [4]


# -- the demo dataset -----------------------------------------------------------------
def test_demo_dataset_shapes_and_dtypes():
    d = demo_dataset(30, n_classes=4, image_size=20, sr=11025, seed=2)
    assert len(d) == 30
    assert d.images.shape == (30, 20, 20, 3) and d.images.dtype == np.uint8
    assert d.labels.dtype == np.int64 and set(d.labels) <= set(range(4))
    assert len(set(d.labels)) > 1
    assert len(set(d.ids)) == 30 and all(isinstance(i, str) for i in d.ids)
    assert len(d.texts) == 30 and all(isinstance(t, str) and t for t in d.texts)
    assert len(d.audio) == 30 and d.sr == 11025
    lengths = [len(a) for a in d.audio]
    assert all(a.dtype == np.float32 and a.ndim == 1 for a in d.audio)
    assert min(lengths) >= int(0.3 * d.sr) and max(lengths) <= int(0.8 * d.sr) + 1
    assert len(set(lengths)) > 10  # lengths vary
    assert all(np.isfinite(a).all() and 0 < np.abs(a).max() <= 1 for a in d.audio)
    assert d.class_names == ["class_0", "class_1", "class_2", "class_3"]
    assert d.modalities["image"] is d.images and d.modalities["text"] is d.texts
    assert d.images.std() > 10  # not blank


def test_demo_dataset_is_deterministic_and_seeded():
    a, b = demo_dataset(12, seed=4), demo_dataset(12, seed=4)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.texts == b.texts
    assert all(np.array_equal(x, y) for x, y in zip(a.audio, b.audio, strict=True))
    c = demo_dataset(12, seed=5)
    assert not np.array_equal(a.images, c.images) and a.texts != c.texts


def test_demo_dataset_chunks_do_not_depend_on_n(monkeypatch):
    import mmfeat.data.demo as demo_module

    monkeypatch.setattr(demo_module, "CHUNK", 8)
    small, big = demo_dataset(16, image_size=SIZE), demo_dataset(27, image_size=SIZE)
    np.testing.assert_array_equal(big.images[:16], small.images)
    np.testing.assert_array_equal(big.labels[:16], small.labels)
    assert big.texts[:16] == small.texts
    assert all(np.array_equal(x, y) for x, y in zip(big.audio, small.audio, strict=False))
    # chunks come from different streams: the second is not a copy of the first
    assert not np.array_equal(big.images[:8], big.images[8:16])
    # labels are drawn for a whole chunk, so even a partial chunk keeps them
    np.testing.assert_array_equal(demo_dataset(5, image_size=SIZE).labels, small.labels[:5])


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"n": 0}, ValueError, "n must be >= 1"),
    ({"n": 2.5}, TypeError, "n must be an int"),
    ({"n": True}, TypeError, "n must be an int"),
    ({"n_classes": 1}, ValueError, "n_classes must be >= 2"),
    ({"n_classes": 11}, ValueError, "n_classes must be at most 10"),
    ({"image_size": 7}, ValueError, "image_size must be >= 8"),
    ({"sr": 4000}, ValueError, "sr must be >= 8000"),
    ({"seed": 1, "sr": 8000.0}, TypeError, "sr must be an int"),
])
def test_demo_dataset_bad_arguments(kwargs, error, match):
    kwargs = {"n": 4, **kwargs}
    with pytest.raises(error, match=match):
        demo_dataset(**kwargs)


def test_demo_each_modality_imperfect_and_fusion_better():
    """The demo's promise on 1000 items: no view alone is enough, early fusion beats each.

    (A linear SVM with strong regularisation: the same ranking as the demo's
    logistic regression at a fraction of the fitting time.)
    """
    from mmfeat.models import ablation

    d = demo_dataset(1000, seed=0)
    if _real_text_features() is not None:
        ex = default_extractors(sr=d.sr)
    else:  # until TextFeatures lands: the same TF-IDF + LSA idea from scikit-learn
        ex = {**default_extractors(["image", "audio"], sr=d.sr), "text": StandInText(32)}
        ex = {m: ex[m] for m in ("image", "text", "audio")}
    fs = FeaturePipeline(ex).fit_transform({**d.modalities, "id": d.ids})
    table = ablation(fs, d.labels, model="linear_svm", fusion=("early",), C=0.01)
    acc = dict(zip(table["setting"], table["accuracy"], strict=True))
    chance = np.bincount(d.labels).max() / len(d)
    for m in ("image", "text", "audio"):
        assert chance + 0.05 < acc[m] < 0.9, (m, acc)  # informative, clearly imperfect
    best = max(acc[m] for m in ("image", "text", "audio"))
    assert acc["all"] > best + 0.03, acc


def test_a_fitted_pipeline_does_not_hold_its_training_data(demo):
    """In-memory arrays are used during a call only: after fit, transform and an
    abandoned iterator the caller's arrays can be freed, and pickling the fitted
    pipeline does not carry them (it once kept them as ``_memory``)."""
    import gc
    import pickle
    import weakref

    images = demo.images.copy()
    alive = weakref.ref(images)
    pipe = FeaturePipeline(_extractors(demo.sr, ("image",)), batch_size=7)
    pipe.fit_transform({"image": images, "id": demo.ids})
    pipe.transform({"image": images, "id": demo.ids})
    batches = pipe.iter_indexed({"image": images, "id": demo.ids})
    next(batches)
    del batches
    size = len(pickle.dumps(pipe))
    assert size < images.nbytes / 4
    del images
    gc.collect()
    assert alive() is None, "the fitted pipeline keeps the in-memory images alive"
