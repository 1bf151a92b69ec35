"""Train once, predict on new data: ``mmfeat train --save`` writes a model bundle (the
fitted feature pipeline + the model), ``mmfeat predict`` and ``load_bundle`` apply it
to a new manifest without refitting anything."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import joblib
import numpy as np
import pandas as pd
import pytest

from mmfeat.bundle import BundleError, BundleVersionWarning, load_bundle
from mmfeat.cli import main
from mmfeat.data import demo_dataset
from mmfeat.fusion import read_parquet

N = 48
OPTS = ["--image-size", "16", "--sr", "8000", "--text-components", "8", "--quiet"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The demo as files with a split column; extracted, trained with --save."""
    root = tmp_path_factory.mktemp("bundle")
    data = demo_dataset(N, n_classes=3, seed=5, sr=8000)
    manifest = data.write_manifest(root / "data")
    m = pd.read_csv(manifest)
    m["split"] = ["test" if i % 4 == 0 else "train" for i in range(len(m))]
    m.to_csv(manifest, index=False)
    m[m["split"] == "test"].drop(columns=["label"]).to_csv(root / "data" / "test.csv",
                                                            index=False)
    features, bundle, report = root / "f.parquet", root / "model.mmb", root / "report.json"
    assert main(["extract", str(manifest), "-o", str(features), *OPTS]) == 0
    assert (root / "f.pipeline.joblib").is_file()
    assert main(["train", str(features), "--label", "label", "--split-col", "split",
                 "--model", "logistic", "--save", str(bundle), "--report", str(report)]) == 0
    return {"root": root, "manifest": manifest, "features": features, "bundle": bundle,
            "report": json.loads(report.read_text()), "test": root / "data" / "test.csv"}


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "mmfeat.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})


def test_predict_in_a_fresh_process_equals_trainings_evaluation(trained):
    out = trained["root"] / "pred.parquet"
    done = _cli("predict", str(trained["test"]), "--model", str(trained["bundle"]), "-o",
                str(out), "--batch-size", "5", "--quiet", cwd=trained["root"])
    assert done.returncode == 0, done.stderr
    pred = pd.read_parquet(out)
    fs = read_parquet(trained["features"])
    test = fs.extra["split"].to_numpy() == "test"
    assert list(pred["id"]) == list(fs.ids[test])
    assert list(pred.columns[:2]) == ["id", "prediction"]
    assert [c for c in pred.columns if c.startswith("proba_")] == ["proba_0", "proba_1",
                                                                    "proba_2"]
    np.testing.assert_allclose(pred.filter(like="proba_").sum(axis=1), 1.0, rtol=1e-6)
    # the model train evaluated, on the features train evaluated it on
    model = load_bundle(trained["bundle"]).model
    np.testing.assert_array_equal(pred["prediction"], model.predict(fs.to_numpy()[test]))
    # ... and the confusion matrix of these predictions is the one train reported
    report = trained["report"]
    labels = report["labels"]
    truth = fs.labels[test]
    cm = [[int(np.sum((truth == a) & (pred["prediction"].to_numpy() == b))) for b in labels]
          for a in labels]
    assert cm == report["confusion_matrix"]
    assert "split" in pred.columns  # the manifest's other columns come along


def test_python_api_predict_transform_and_proba(trained):
    bundle = load_bundle(trained["bundle"])
    assert "3 classes" in repr(bundle)
    pred_cli = trained["root"] / "api.parquet"
    assert main(["predict", str(trained["test"]), "--model", str(trained["bundle"]), "-o",
                 str(pred_cli), "--quiet"]) == 0
    expected = pd.read_parquet(pred_cli)
    np.testing.assert_array_equal(bundle.predict(str(trained["test"])), expected["prediction"])
    proba = bundle.predict_proba(str(trained["test"]))
    np.testing.assert_allclose(proba, expected.filter(like="proba_").to_numpy())
    assert bundle.summary_["kept"] == len(expected) and len(bundle.rejects_) == 0
    fs = bundle.transform(str(trained["test"]))
    assert fs.feature_names == bundle.feature_names


def test_extract_with_the_fitted_pipeline_never_refits(trained, tmp_path):
    """``extract --pipeline``: the test rows alone give the columns of the full
    extraction (one TF-IDF vocabulary, one LSA basis), to float32 rounding."""
    out = tmp_path / "again.parquet"
    pipe_path = trained["root"] / "f.pipeline.joblib"
    assert main(["extract", str(trained["test"]), "-o", str(out), "--pipeline", str(pipe_path),
                 "--quiet"]) == 0
    again, full = read_parquet(out), read_parquet(trained["features"])
    test = full.extra["split"].to_numpy() == "test"
    assert list(again.ids) == list(full.ids[test])
    assert again.feature_names == full.feature_names
    np.testing.assert_allclose(again.to_numpy(), full.to_numpy()[test], rtol=1e-5, atol=1e-6)
    # a bundle works as --pipeline too, and the same pipeline is kept beside the output
    assert (tmp_path / "again.pipeline.joblib").is_file()
    out2 = tmp_path / "from_bundle.parquet"
    assert main(["extract", str(trained["test"]), "-o", str(out2), "--pipeline",
                 str(trained["bundle"]), "--quiet"]) == 0
    np.testing.assert_allclose(read_parquet(out2).to_numpy(), again.to_numpy())


def test_unseen_words_map_through_the_fitted_vocabulary(trained):
    bundle = load_bundle(trained["bundle"])
    text = bundle.pipeline.extractors_["text"]
    vocab = dict(text.vectorizer_.vocabulary_)
    m = pd.read_csv(trained["test"]).iloc[:3].copy()
    m["text"] = ["zqxv wqzz plohk", "zqxv " + str(m["text"].iloc[1]), m["text"].iloc[2]]
    m["id"] = ["unseen", "mixed", "same"]
    path = trained["root"] / "data" / "unseen.csv"
    m.to_csv(path, index=False)
    fs = bundle.transform(str(path))
    assert dict(text.vectorizer_.vocabulary_) == vocab  # nothing refitted
    block = fs.blocks["text"]
    np.testing.assert_allclose(block[0], 0.0, atol=1e-7)  # no known word: the zero vector
    # an unseen word changes nothing: the mixed text embeds as its known words do
    known = text.transform([str(pd.read_csv(trained["test"])["text"].iloc[1])])
    np.testing.assert_allclose(block[1], known[0], rtol=1e-5, atol=1e-6)
    assert len(bundle.predict(str(path))) == 3


@pytest.mark.parametrize("on_missing", ["reject", "impute"])
def test_a_missing_modality_is_handled_as_at_training(trained, tmp_path, on_missing):
    pipe = joblib.load(trained["root"] / "f.pipeline.joblib")
    if on_missing == "impute":  # a pipeline fitted to impute, as extract --on-missing impute
        from sklearn.base import clone

        pipe = clone(pipe).set_params(on_missing="impute").fit(str(trained["manifest"]))
    m = pd.read_csv(trained["test"]).iloc[:4].copy()
    m.loc[m.index[1], "audio"] = ""
    path = trained["root"] / "data" / f"missing_{on_missing}.csv"
    m.to_csv(path, index=False)
    from mmfeat.run import ExtractJob

    out = tmp_path / "f.parquet"
    summary = ExtractJob(path, out, fitted=pipe).run()
    assert summary["input"] == 4 and summary["kept"] + summary["rejected"] == 4
    got = pd.read_parquet(out)
    if on_missing == "reject":
        assert summary["rejected"] == 1 and m["id"].iloc[1] not in set(got["id"])
        rejects = pd.read_csv(tmp_path / "f.rejects.csv")
        assert rejects[["modality", "reason"]].values.tolist() == [["audio", "missing value"]]
    else:
        assert summary["rejected"] == 0
        assert got.loc[got["id"] == m["id"].iloc[1], "audio_missing"].item() == 1.0
        assert got.loc[got["id"] != m["id"].iloc[1], "audio_missing"].eq(0.0).all()


def _rewrite_header(src, dst, **changes):
    raw = src.read_bytes()
    line, _, body = raw.partition(b"\n")
    header = json.loads(line)
    header.update(changes)
    dst.write_bytes(json.dumps(header).encode() + b"\n" + body)


def test_a_bundle_from_other_versions_warns_naming_them(trained, tmp_path, capsys):
    header = json.loads(trained["bundle"].read_bytes().partition(b"\n")[0])
    versions = {**header["versions"], "mmfeat": "0.0.1", "scikit-learn": "0.99"}
    old = tmp_path / "old.mmb"
    _rewrite_header(trained["bundle"], old, versions=versions)
    with pytest.warns(BundleVersionWarning, match=r"mmfeat 0\.0\.1 \(now .*scikit-learn 0\.99"):
        bundle = load_bundle(old)
    assert bundle.versions["mmfeat"] == "0.0.1"
    assert main(["predict", str(trained["test"]), "--model", str(old), "-o",
                 str(tmp_path / "p.parquet"), "--quiet"]) == 0
    assert "mmfeat predict: warning:" in capsys.readouterr().err


@pytest.mark.parametrize("damage", ["truncated", "flipped", "not_a_bundle", "empty",
                                    "future_format"])
def test_a_damaged_bundle_fails_cleanly(trained, tmp_path, capsys, damage):
    raw = trained["bundle"].read_bytes()
    bad = tmp_path / "bad.mmb"
    if damage == "truncated":
        bad.write_bytes(raw[: len(raw) - 100])
        match = "truncated or damaged"
    elif damage == "flipped":
        i = len(raw) - 50
        bad.write_bytes(raw[:i] + bytes([raw[i] ^ 0xFF]) + raw[i + 1:])
        match = "truncated or damaged"
    elif damage == "not_a_bundle":
        joblib.dump({"model": 1}, bad)  # a plain pickle is refused before unpickling
        match = "not an mmfeat model bundle"
    elif damage == "empty":
        bad.write_bytes(b"")
        match = "not an mmfeat model bundle"
    else:
        _rewrite_header(trained["bundle"], bad, format_version=99)
        match = "format version 99"
    with pytest.raises(BundleError, match=match):
        load_bundle(bad)
    assert main(["predict", str(trained["test"]), "--model", str(bad), "-o",
                 str(tmp_path / "p.parquet"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mmfeat predict: error: --model:") and err.count("\n") == 1
    assert not (tmp_path / "p.parquet").exists()


def test_save_needs_the_fitted_pipeline(trained, tmp_path, capsys):
    lone = tmp_path / "lone.parquet"
    lone.write_bytes(trained["features"].read_bytes())
    assert main(["train", str(lone), "--label", "label", "--save",
                 str(tmp_path / "m.mmb")]) == 1
    err = capsys.readouterr().err
    assert "lone.pipeline.joblib does not exist" in err and "--pipeline" in err
    assert main(["train", str(lone), "--label", "label", "--save", str(tmp_path / "m.mmb"),
                 "--pipeline", str(trained["root"] / "f.pipeline.joblib")]) == 0
    assert load_bundle(tmp_path / "m.mmb").feature_names == read_parquet(lone).feature_names
