"""``mmfeat extract`` (resumable), ``mmfeat train`` and ``mmfeat demo``, in-process and as a
real process (exit codes).

The manifests here hold image and audio only, so the real default extractors
run; where text is needed and :class:`mmfeat.text.TextFeatures` does not exist
yet, a scikit-learn stand-in replaces it (said so in each test).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmfeat.cli import main
from mmfeat.data import demo_dataset
from mmfeat.fusion import FeatureSet, read_parquet

N = 40
SIZE = 16
SR = 8000
COMMON = ["--image-size", str(SIZE), "--sr", str(SR), "--quiet"]


def _has_text_features() -> bool:
    try:
        from mmfeat.text import TextFeatures  # noqa: F401
    except ImportError:
        return False
    return True


class _StandInText:
    """TF-IDF + truncated SVD (scikit-learn) for when mmfeat.text.TextFeatures is missing."""

    def __new__(cls, n_components=16):
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import make_pipeline

        return make_pipeline(TfidfVectorizer(), TruncatedSVD(n_components, random_state=0))


@pytest.fixture
def text_extractor(monkeypatch):
    """default_extractors with the real TextFeatures, or the stand-in until it exists."""
    if _has_text_features():
        return "TextFeatures"
    import mmfeat.pipeline as pipeline

    real = pipeline.default_extractors

    def patched(modalities=("image", "text", "audio"), **kw):
        comps = kw.pop("text_components", 16)
        out = real([m for m in modalities if m != "text"], **kw)
        if "text" in modalities:
            out["text"] = _StandInText(min(comps, 16))
        return {m: out[m] for m in modalities}

    monkeypatch.setattr(pipeline, "default_extractors", patched)
    return "stand-in"


@pytest.fixture(scope="module")
def dataset():
    return demo_dataset(N, n_classes=3, image_size=SIZE, sr=SR, seed=5)


@pytest.fixture(scope="module")
def data_dir(dataset, tmp_path_factory):
    """The demo items as files, written once; each test gets its own manifest in it."""
    root = tmp_path_factory.mktemp("cli") / "data"
    path = dataset.write_manifest(root)
    m = pd.read_csv(path).drop(columns=["text"])
    m["split"] = np.where(np.arange(N) % 4 == 0, "test", "train")
    m.loc[6, "image"] = "images/gone.png"
    m.loc[11, "id"] = m.loc[10, "id"]
    m.to_csv(path, index=False)
    return root


@pytest.fixture
def manifest(data_dir, request):
    """image + audio manifest with a split column, a missing file and a duplicate id."""
    path = data_dir / f"{request.node.name.replace('[', '-').strip(']')}.csv"
    path.write_bytes((data_dir / "manifest.csv").read_bytes())
    return path


@pytest.fixture(scope="module")
def extract_run(data_dir, tmp_path_factory):
    """``mmfeat extract --batch-size 8`` of the shared manifest, run once: (output, stdout)."""
    import contextlib
    import io

    out = tmp_path_factory.mktemp("features") / "features.parquet"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        rc = main(["extract", str(data_dir / "manifest.csv"), "-o", str(out),
                   "--image-size", f"{SIZE}x{SIZE}", "--sr", str(SR), "--batch-size", "8"])
    assert rc == 0
    return out, printed.getvalue()


@pytest.fixture(scope="module")
def features(extract_run):
    return extract_run[0]


def _extract(manifest, out, *extra):
    return main(["extract", str(manifest), "-o", str(out), *COMMON, *extra])


# -- extract ---------------------------------------------------------------------
def test_extract_writes_features_and_rejects(extract_run, dataset):
    out, printed = extract_run
    assert f"rows: {N} in, {N - 2} kept, 2 rejected" in printed
    assert f"({N - 2} rows)" in printed and "(2 rows)" in printed
    rejects_path = out.with_suffix(".rejects.csv")
    assert rejects_path.is_file() and not out.with_name(out.name + ".parts").exists()
    fs = read_parquet(out)
    rejects = pd.read_csv(rejects_path)
    assert len(fs) + len(rejects) == N
    assert sorted(zip(rejects["row"], rejects["reason"], strict=True)) == [
        (6, "file not found"), (11, "duplicate id")]
    assert list(fs.ids) == [dataset.ids[i] for i in range(N) if i not in (6, 11)]
    assert fs.modalities == ["image", "audio"]
    assert fs.blocks["image"].dtype == np.float32
    frame = pd.read_parquet(out)
    assert {"id", "label", "split"} <= set(frame.columns)
    assert not {"image", "audio", "_row"} & set(frame.columns)
    kept = [i for i in range(N) if i not in (6, 11)]
    assert frame["split"].tolist() == ["test" if i % 4 == 0 else "train" for i in kept]
    assert frame["label"].tolist() == [int(dataset.labels[i]) for i in kept]


def test_extract_on_dask_equals_the_single_machine_run(manifest, features, tmp_path, capsys):
    """``--workers 1``: a local Dask cluster; a folder of parts with the same rows and values."""
    out = tmp_path / "dask.parquet"
    assert main(["extract", str(manifest), "-o", str(out), "--image-size", f"{SIZE}x{SIZE}",
                 "--sr", str(SR), "--batch-size", "8", "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert f"rows: {N} in, {N - 2} kept, 2 rejected" in printed
    assert out.is_dir() and list(out.glob("part-*.parquet"))
    single, on_dask = read_parquet(features), read_parquet(out)
    assert list(on_dask.ids) == list(single.ids)
    np.testing.assert_allclose(on_dask.to_numpy(), single.to_numpy(), rtol=1e-5, atol=1e-6)
    # a finished run's folder is not silently resumed or replaced
    assert main(["extract", str(manifest), "-o", str(out), "--image-size", f"{SIZE}x{SIZE}",
                 "--sr", str(SR), "--batch-size", "8", "--workers", "1", "--resume"]) == 1
    assert "parts of an earlier run; pass overwrite=True (--overwrite)" in capsys.readouterr().err


def test_extract_rejects_option_and_impute(manifest, tmp_path):
    m = pd.read_csv(manifest)
    m.loc[3, "audio"] = None
    m.loc[5, "split"] = None  # an empty cell in a passthrough text column
    m.to_csv(manifest, index=False)
    out, rej = tmp_path / "f.parquet", tmp_path / "r" / "bad.csv"
    assert _extract(manifest, out, "--rejects", str(rej), "--on-missing", "impute") == 0
    fs = read_parquet(out)
    split = fs.extra["split"]
    assert split.isna().tolist() == [i == 5 for i in range(N) if i not in (6, 11)]
    assert fs.block_columns["audio"][-1] == "audio_missing"
    assert fs.blocks["audio"][list(fs.ids).index(m.loc[3, "id"]), -1] == 1.0
    assert len(pd.read_csv(rej)) == 2 and len(fs) == N - 2


class _Killed(BaseException):
    """Stands in for SIGKILL: not an Exception, so nothing on the way catches it."""


def test_killed_run_resumes_without_lost_or_duplicated_rows(manifest, features, tmp_path,
                                                             monkeypatch, capsys):
    full = features  # the same manifest extracted in one go, same batch size

    out = tmp_path / "resumed.parquet"
    calls = {"n": 0}
    real_write = FeatureSet.write_parquet

    def dying_write(self, path):
        calls["n"] += 1
        if calls["n"] == 3:  # the third part: its rejects part is already on disk
            raise _Killed
        return real_write(self, path)

    monkeypatch.setattr(FeatureSet, "write_parquet", dying_write)
    with pytest.raises(_Killed):
        _extract(manifest, out, "--batch-size", "8")
    parts = out.with_name(out.name + ".parts")
    assert sorted(p.name for p in parts.glob("part-*")) == [
        "part-000000.parquet", "part-000001.parquet"]
    assert (parts / "_rejects" / "part-000002.csv").exists()
    assert not out.exists()
    monkeypatch.setattr(FeatureSet, "write_parquet", real_write)

    # a leftover parts folder without --resume is an error, not a silent restart
    assert _extract(manifest, out, "--batch-size", "8") == 1
    assert "pass --resume" in capsys.readouterr().err
    # --resume with other settings refuses
    assert _extract(manifest, out, "--batch-size", "7", "--resume") == 1
    err = capsys.readouterr().err
    assert err.startswith("mmfeat extract: error: --resume") and "batch_size" in err
    assert parts.exists()

    # --resume reuses the fitted pipeline and only the missing batches are extracted
    import mmfeat.pipeline as pipeline

    extracted = []
    real_fs = pipeline.FeaturePipeline._feature_set

    def counting(self, batch, blocks):
        extracted.append(len(batch))
        return real_fs(self, batch, blocks)

    monkeypatch.setattr(pipeline.FeaturePipeline, "_feature_set", counting)
    assert _extract(manifest, out, "--batch-size", "8", "--resume") == 0
    assert sum(extracted) == (N - 2) - 16  # 38 kept rows, 2 parts of 8 were done
    assert not parts.exists()

    a, b = read_parquet(full), read_parquet(out)
    assert list(b.ids) == list(a.ids) and len(set(b.ids)) == len(b.ids) == N - 2
    np.testing.assert_array_equal(b.to_numpy(), a.to_numpy())
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(full))
    ra = pd.read_csv(full.with_suffix(".rejects.csv"))
    rb = pd.read_csv(out.with_suffix(".rejects.csv"))
    pd.testing.assert_frame_equal(rb, ra)


def test_extract_decodes_each_batch_once(manifest, features, tmp_path, monkeypatch):
    # fitting happens on the first batch of the extraction pass itself: no batch is
    # decoded for the fit and again for the features
    import mmfeat.pipeline as pipeline

    decoded = []
    real_decode = pipeline.FeaturePipeline._decode

    def counting(self, batch, memory):
        decoded.append(list(batch["id"]))
        return real_decode(self, batch, memory)

    monkeypatch.setattr(pipeline.FeaturePipeline, "_decode", counting)
    out = tmp_path / "once.parquet"
    assert _extract(manifest, out, "--batch-size", "8") == 0
    ids = [i for batch in decoded for i in batch]
    assert len(decoded) == 5 and len(ids) == len(set(ids)) == N - 2
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(features))

    # FeaturePipeline.fit alone decodes the one batch it fits on
    decoded.clear()
    pipe = pipeline.FeaturePipeline(
        pipeline.default_extractors(["image", "audio"], sr=SR), batch_size=8,
        image_size=(SIZE, SIZE), sr=SR,
    )
    pipe.fit(manifest)
    assert len(decoded) == 1 and len(decoded[0]) == 8


def test_resume_after_manifest_changed_refuses(manifest, tmp_path, monkeypatch, capsys):
    out = tmp_path / "f.parquet"
    monkeypatch.setattr(FeatureSet, "write_parquet",
                        lambda self, path: (_ for _ in ()).throw(_Killed()))
    with pytest.raises(_Killed):
        _extract(manifest, out, "--batch-size", "5")
    monkeypatch.undo()
    with open(manifest, "a") as f:
        f.write("extra_row,0,images/x.png,audio/x.wav,train\n")
    assert _extract(manifest, out, "--batch-size", "5", "--resume") == 1
    assert "manifest_sha256" in capsys.readouterr().err


def test_extract_batches_emptied_by_cleaning(manifest, tmp_path):
    # cleaning removes 25 of 40 rows: 2 batches of 10, not the manifest's 4
    m = pd.read_csv(manifest)
    m.loc[15:, "image"] = "images/missing.png"
    m.to_csv(manifest, index=False)
    out = tmp_path / "f.parquet"
    assert _extract(manifest, out, "--batch-size", "10") == 0
    fs = read_parquet(out)
    rejects = pd.read_csv(out.with_suffix(".rejects.csv"))
    assert len(fs) == 13 and len(fs) + len(rejects) == N


def test_extract_everything_rejected(manifest, tmp_path, capsys):
    m = pd.read_csv(manifest)
    m["image"] = "images/missing.png"
    m.to_csv(manifest, index=False)
    out = tmp_path / "f.parquet"
    assert _extract(manifest, out) == 1
    err = capsys.readouterr().err
    assert err.startswith("mmfeat extract: error: no rows left") and err.count("\n") == 1
    assert len(pd.read_csv(out.with_suffix(".rejects.csv"))) == N
    assert not out.with_name(out.name + ".parts").exists()


def test_extract_no_text_at_all(tmp_path, capsys, text_extractor):
    # every text missing: the rows' reasons, not the vectorizer's "empty vocabulary"
    manifest = tmp_path / "m.csv"
    manifest.write_text("id,label,text\na,0,\nb,1,\n")
    out = tmp_path / "f.parquet"
    assert _extract(manifest, out) == 1
    err = capsys.readouterr().err
    assert "no rows left to extract: all 2 rows were rejected" in err
    assert pd.read_csv(out.with_suffix(".rejects.csv"))["reason"].tolist() == ["missing value"] * 2
    # a failed fit leaves nothing to resume, so nothing blocks the next run
    assert not out.with_name(out.name + ".parts").exists()
    assert _extract(manifest, out, "--on-missing", "impute") == 1
    assert "all modalities missing" in capsys.readouterr().err


def test_extract_user_errors(tmp_path, manifest, capsys):
    assert _extract(tmp_path / "nope.csv", tmp_path / "f.parquet") == 1
    err = capsys.readouterr().err
    assert err.startswith("mmfeat extract: error: manifest") and "nope.csv" in err
    bad = tmp_path / "bad.csv"
    bad.write_text("name,image\nx,a.png\n")
    assert _extract(bad, tmp_path / "f.parquet") == 1
    assert "no 'id' column" in capsys.readouterr().err
    for args, name in [(["--batch-size", "0"], "--batch-size"),
                       (["--image-size", "axb"], "--image-size"),
                       (["--on-missing", "drop"], "--on-missing")]:
        with pytest.raises(SystemExit) as exc:
            main(["extract", str(manifest), "-o", str(tmp_path / "f.parquet"), *args])
        assert exc.value.code == 2
        assert name in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["extract", str(manifest)])
    assert exc.value.code == 2 and "-o/--output" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["demo", "extract", "train"])
def test_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: mmfeat {command}")
    assert "--backend" in out


# -- train ----------------------------------------------------------------------
_METRICS = ("accuracy", "precision_macro", "recall_macro", "f1_macro")


def test_train_report_with_split_column(features, tmp_path, capsys):
    report_path = tmp_path / "r.json"
    assert main(["train", str(features), "--label", "label", "--split-col", "split",
                 "--report", str(report_path)]) == 0
    out = capsys.readouterr().out
    assert "accuracy" in out and "ablation" in out and "confusion matrix" in out
    report = json.loads(report_path.read_text())
    for key in _METRICS:
        assert 0.0 <= report[key] <= 1.0
    frame = pd.read_parquet(features)
    n_test = int((frame["split"] == "test").sum())
    assert (report["n_train"], report["n_test"]) == (len(frame) - n_test, n_test)
    cm = np.array(report["confusion_matrix"])
    assert cm.shape == (3, 3) and cm.sum() == n_test
    assert report["accuracy"] == pytest.approx(np.trace(cm) / n_test)
    settings = {(r["setting"], r["fusion"]) for r in report["ablation"]}
    assert {("image", "none"), ("audio", "none"), ("all", "early"), ("all", "late")} <= settings
    assert report["tuning"] is None


def test_train_test_size_tune_and_save(features, tmp_path):
    from mmfeat.models import load_bundle

    report_path, model_path = tmp_path / "r.json", tmp_path / "m.mmb"
    assert main(["train", str(features), "--label", "label", "--test-size", "0.3",
                 "--tune", "--model", "knn", "--save", str(model_path),
                 "--report", str(report_path)]) == 0
    report = json.loads(report_path.read_text())
    assert report["n_test"] == int(np.ceil(0.3 * (N - 2)))
    assert report["tuning"]["best_params"].keys() == {"n_neighbors", "weights"}
    bundle = load_bundle(model_path)  # the model with the pipeline extract kept
    model = bundle.model
    X = read_parquet(features).to_numpy()
    assert model.predict(X).shape == (N - 2,)
    assert model[-1].n_neighbors == report["tuning"]["best_params"]["n_neighbors"]
    assert bundle.feature_names == read_parquet(features).feature_names


def test_train_on_another_label_column(features, tmp_path):
    # any non-feature column can be the target: here the split itself
    report_path = tmp_path / "r.json"
    assert main(["train", str(features), "--label", "split", "--report", str(report_path)]) == 0
    assert sorted(json.loads(report_path.read_text())["labels"]) == ["test", "train"]


def test_train_user_errors(features, tmp_path, capsys):
    assert main(["train", str(tmp_path / "none.parquet"), "--label", "label"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mmfeat train: error: features file") and err.count("\n") == 1
    assert main(["train", str(features), "--label", "colour"]) == 1
    err = capsys.readouterr().err
    assert "--label" in err and "'colour'" in err and err.count("\n") == 1
    assert main(["train", str(features), "--label", "label", "--split-col", "fold"]) == 1
    assert "--split-col" in capsys.readouterr().err
    for bad in ("1.5", "0", "x"):
        with pytest.raises(SystemExit) as exc:
            main(["train", str(features), "--label", "label", "--test-size", bad])
        assert exc.value.code == 2 and "--test-size" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["train", str(features), "--label", "label", "--split-col", "split",
              "--test-size", "0.2"])
    assert exc.value.code == 2 and "not allowed with" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["train", str(features)])
    assert exc.value.code == 2 and "--label" in capsys.readouterr().err
    assert main(["train", str(features), "--label", "label", "--model", "xgboost"]) == 1
    assert "xgboost" in capsys.readouterr().err
    # outputs in a folder that does not exist: said before training, not as a traceback after
    for opt in ("--report", "--save"):
        assert main(["train", str(features), "--label", "label",
                     opt, str(tmp_path / "no" / "such" / "file")]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"mmfeat train: error: {opt}: folder") and err.count("\n") == 1


# -- a real process ------------------------------------------------------------------
def _cli(*args, cwd):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "mmfeat.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=120)


def test_real_process_exit_code(tmp_path):
    # one real process (the others run main() in-process): the status reaches the shell
    missing = _cli("extract", "nope.csv", "-o", "f.parquet", cwd=tmp_path)
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines() == [
        "mmfeat extract: error: manifest 'nope.csv' not found"]
    assert not (tmp_path / "f.parquet").exists()


# -- demo -------------------------------------------------------------------------
def test_demo_prints_ablation_and_writes_manifest(tmp_path, capsys, text_extractor):
    """``mmfeat demo --n 300`` (TextFeatures, or the stand-in until it exists), then
    ``mmfeat extract`` on the manifest it wrote."""
    result, mdir = tmp_path / "demo.json", tmp_path / "demo"
    assert main(["demo", "--n", "300", "--classes", "4", "--model", "knn",
                 "--write-manifest", str(mdir), "--json", str(result)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("mmfeat demo: 300 items, 4 classes, backend cpu")
    assert "stage times" in out and "ablation (knn" in out
    assert "best single modality" in out and "fused (" in out
    table = pd.DataFrame(json.loads(result.read_text())["ablation"])
    assert set(table.loc[table["fusion"] == "none", "setting"]) == {"image", "text", "audio"}
    for line in table["setting"]:
        assert line in out
    manifest = mdir / "manifest.csv"
    m = pd.read_csv(manifest)
    assert list(m.columns) == ["id", "label", "image", "text", "audio"] and len(m) == 300
    assert (mdir / m.loc[0, "image"]).is_file() and (mdir / m.loc[0, "audio"]).is_file()

    small = m.iloc[:30]
    small.to_csv(mdir / "small.csv", index=False)
    feats = tmp_path / "demo.parquet"
    assert main(["extract", str(mdir / "small.csv"), "-o", str(feats), "--image-size", "32",
                 "--text-components", "8", "--quiet"]) == 0
    fs = read_parquet(feats)
    assert fs.modalities == ["image", "text", "audio"] and len(fs) == 30
    assert fs.blocks["text"].shape[1] == 8


def test_demo_eval_max_samples_the_ablation(tmp_path, capsys):
    """Above --eval-max items the ablation runs on a stratified sample of that size."""
    result = tmp_path / "demo.json"
    assert main(["demo", "--n", "120", "--classes", "3", "--model", "knn",
                 "--eval-max", "80", "--json", str(result)]) == 0
    out = capsys.readouterr().out
    assert "a stratified sample of 80" in out
    # the test part of the 75/25 split of 80 rows: 20 rows, so accuracies are k/20
    acc = pd.DataFrame(json.loads(result.read_text())["ablation"])["accuracy"]
    assert np.allclose(acc * 20, np.round(acc * 20))


def test_resume_with_another_backend_refuses(manifest, tmp_path, monkeypatch, capsys):
    out = tmp_path / "f.parquet"
    monkeypatch.setattr(FeatureSet, "write_parquet",
                        lambda self, path: (_ for _ in ()).throw(_Killed()))
    with pytest.raises(_Killed):
        _extract(manifest, out, "--batch-size", "5", "--backend", "numpy")
    monkeypatch.undo()
    assert _extract(manifest, out, "--batch-size", "5", "--resume") == 1
    assert "backend" in capsys.readouterr().err


def test_demo_bad_arguments(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--n", "0"])
    assert exc.value.code == 2 and "--n" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--classes", "11"])
    assert exc.value.code == 2 and "--classes" in capsys.readouterr().err
    assert main(["demo", "--n", "10", "--model", "xgboost"]) == 1
    assert "--model" in capsys.readouterr().err
    assert main(["demo", "--n", "10", "--json", "/no/such/folder/r.json"]) == 1
    assert "--json: folder" in capsys.readouterr().err


def test_demo_write_manifest_is_what_extract_reads(tmp_path):
    d = demo_dataset(6, image_size=SIZE, sr=SR)
    path = d.write_manifest(tmp_path / "m")
    assert path == tmp_path / "m" / "manifest.csv"
    from mmfeat.data import decode_audio, read_manifest

    frame = read_manifest(path)
    assert frame["id"].tolist() == list(d.ids)
    assert frame["text"].tolist() == d.texts
    clips, failures = decode_audio(frame["audio"].tolist(), SR)
    assert failures == []
    for a, b in zip(clips, d.audio, strict=True):
        assert len(a) == len(b)
        np.testing.assert_allclose(a, b, atol=1 / 32767 + 1e-6)  # 16-bit PCM
    assert Path(frame["image"][0]).suffix == ".png"


def test_demo_and_extract_compile_later_modalities_in_the_background(
        data_dir, tmp_path, monkeypatch, capsys):
    """On the CPU backend, demo and a local extract hand the modalities they reach
    after the first to a background compile, and end it when they are done."""
    import mmfeat._warmup as warmup

    asked, stopped = [], []
    monkeypatch.setattr(warmup, "compile_in_background",
                        lambda steps: asked.append(list(steps)) or "proc")
    monkeypatch.setattr(warmup, "stop_background", stopped.append)
    assert main(["demo", "--n", "40", "--classes", "2", "--model", "knn"]) == 0
    m = pd.read_csv(data_dir / "manifest.csv")
    only = data_dir / "image_audio.csv"  # beside the files its paths name
    m.drop(columns=[c for c in ("text", "text_path") if c in m]).to_csv(only, index=False)
    assert _extract(only, tmp_path / "f.parquet") == 0
    capsys.readouterr()
    assert asked == [["pipeline-image", "pipeline-audio"], ["pipeline-audio"]]
    assert stopped == ["proc", "proc"]
