"""The reports people look at: ``mmfeat train --report x.html``, ``mmfeat demo --report``,
``mmfeat bench image --plot`` (:mod:`mmfeat.report`), and the message without matplotlib.

The train tests run on a small synthetic features file (three modalities, so the
ablation has its all-but-one rows); one demo and one tiny benchmark run for real.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import re
import sys

import numpy as np
import pandas as pd
import pytest

from mmfeat.cli import main
from mmfeat.report import bench_figure, html_report, write_report

#: the charts need the report extra; the tests of the message without it run anyway
needs_matplotlib = pytest.mark.skipif(
    importlib.util.find_spec("matplotlib") is None,
    reason="matplotlib is not installed: pip install 'mmfeat[report]'")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HINT = "pip install 'mmfeat[report]'"
LABELS = ["cat", "dog", "<b>bird</b>"]  # one label that must be escaped in the page


@pytest.fixture(scope="module")
def features(tmp_path_factory):
    """120 rows, 3 classes; image separates the classes, text partly, audio is noise."""
    rng = np.random.default_rng(0)
    n = 120
    y = np.arange(n) % 3
    cols = {"id": [f"r{i}" for i in range(n)], "label": [LABELS[k] for k in y]}
    for j in range(4):
        cols[f"image_{j}"] = (rng.normal(size=n) + 2.0 * (y == j % 3)).astype(np.float32)
    for j in range(3):
        cols[f"text_{j}"] = (rng.normal(size=n) + 0.7 * (y == j)).astype(np.float32)
    for j in range(2):
        cols[f"audio_{j}"] = rng.normal(size=n).astype(np.float32)
    cols["split"] = np.where(np.arange(n) % 4 == 0, "test", "train")
    path = tmp_path_factory.mktemp("report") / "features.parquet"
    pd.DataFrame(cols).to_parquet(path)
    return path


def _images(page: str) -> dict[str, bytes]:
    """{img id: decoded PNG bytes} of every embedded image of the page."""
    found = re.findall(r'<img id="([^"]+)"[^>]*\ssrc="data:image/png;base64,([A-Za-z0-9+/=]+)"',
                       page)
    return {eid: base64.b64decode(data) for eid, data in found}


def _assert_self_contained(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    # every src/href is an embedded data: URI; nothing is fetched
    for attr in re.findall(r"""\b(?:src|href)\s*=\s*["']?([^"'\s>]*)""", page, flags=re.I):
        assert attr.startswith("data:"), attr
    lowered = page.lower()
    for needle in ("http://", "https://", "<script", "<link", "<iframe", "@import", "url("):
        assert needle not in lowered, needle


def _train(features, *extra):
    return main(["train", str(features), "--label", "label", "--model", "knn", *extra])


# -- train -------------------------------------------------------------------------
@needs_matplotlib
def test_train_html_report_tuned(features, tmp_path, capsys):
    page_path = tmp_path / "report.html"
    assert _train(features, "--split-col", "split", "--tune", "--report", str(page_path)) == 0
    assert f"wrote {page_path}" in capsys.readouterr().out
    page = page_path.read_text(encoding="utf-8")
    _assert_self_contained(page)
    images = _images(page)
    assert set(images) == {"confusion-matrix", "per-class-recall", "ablation-chart"}
    for png in images.values():
        assert png.startswith(PNG_MAGIC) and len(png) > 2000
    assert "<b>knn</b> (scikit-learn)" in page
    # the tuned parameters, as the JSON report would have them
    tuned = re.search(r'<div id="tuned-params">(.*?)</div>', page, flags=re.S).group(1)
    cells = re.findall(r"<td>([^<]*)</td>", tuned)
    params = dict(zip(cells[::2], cells[1::2], strict=True))
    assert set(params) == {"n_neighbors", "weights"}
    assert params["weights"] in ("uniform", "distance") and int(params["n_neighbors"]) >= 1
    assert "cross-validated grid search, scoring f1_macro" in page
    # the stage times of the training
    times = re.search(r'<div id="times">(.*?)</div>', page, flags=re.S).group(1)
    stages = re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td>", times)
    assert [s for s, _ in stages] == ["read", "fit", "evaluate", "ablation"]
    assert all(re.fullmatch(r"[\d.]+ (s|ms|us)", t) for _, t in stages)
    # the ablation table beside its chart: each modality, both fusions, all but one
    for setting in ("image", "text", "audio", "all", "all - image", "all - text",
                    "all - audio"):
        assert f"<td>{setting}</td>" in page
    assert "<td>early</td>" in page and "<td>late</td>" in page
    # labels are escaped, never markup
    assert "<b>bird</b>" not in page.replace("<b>knn</b>", "")
    assert "&lt;b&gt;bird&lt;/b&gt;" in page


@needs_matplotlib
def test_train_html_without_tune_and_htm_suffix(features, tmp_path):
    page_path = tmp_path / "r.HTM"
    assert _train(features, "--report", str(page_path)) == 0
    page = page_path.read_text(encoding="utf-8")
    _assert_self_contained(page)
    assert "default parameters (not tuned)" in page and "tuned-params" not in page
    assert set(_images(page)) == {"confusion-matrix", "per-class-recall", "ablation-chart"}


def test_train_json_report_keeps_todays_keys(features, tmp_path):
    from mmfeat.run import train

    path = tmp_path / "r.json"
    assert _train(features, "--split-col", "split", "--report", str(path)) == 0
    got = json.loads(path.read_text())
    want = train(features, label="label", model="knn", split_col="split")
    assert isinstance(want, dict) and got.keys() == want.keys()
    for key in ("accuracy", "precision_macro", "recall_macro", "f1_macro", "per_class_recall",
                "confusion_matrix", "labels", "model", "library", "n_train", "n_test",
                "n_unlabeled", "blocks", "tuning", "ablation", "saved"):
        assert got[key] == want[key], key
    assert list(got["seconds"]) == ["read", "fit", "evaluate", "ablation"]
    assert all(v >= 0 for v in got["seconds"].values())
    # a suffix other than .html/.htm: JSON, even when it looks like a page
    other = tmp_path / "r.txt"
    assert _train(features, "--report", str(other)) == 0
    assert json.loads(other.read_text())["model"] == "knn"


class _FittedStandIn:
    """What ``train(save=...)`` needs of a fitted pipeline: its column names and
    modalities (a real one needs real files to extract from)."""

    def __init__(self, names):
        self.names = names
        self.extractors_ = {"image": None, "text": None, "audio": None}

    def get_feature_names_out(self):
        return np.array(self.names)


def test_train_save_is_timed(features, tmp_path):
    import joblib

    from mmfeat.fusion import read_parquet
    from mmfeat.run import train

    pipe = tmp_path / "p.joblib"
    joblib.dump(_FittedStandIn(list(read_parquet(features).feature_names)), pipe)
    report = train(features, label="label", model="knn", save=tmp_path / "m.bundle",
                   pipeline=pipe)
    assert (tmp_path / "m.bundle").is_file()
    assert list(report["seconds"]) == ["read", "fit", "evaluate", "ablation", "save"]


# -- demo --------------------------------------------------------------------------
@needs_matplotlib
def test_demo_html_report(tmp_path, capsys):
    page_path, json_path = tmp_path / "demo.html", tmp_path / "demo.json"
    assert main(["demo", "--n", "200", "--classes", "3", "--model", "knn",
                 "--report", str(page_path), "--json", str(json_path)]) == 0
    out = capsys.readouterr().out
    assert f"wrote {page_path}" in out and f"wrote {json_path}" in out
    page = page_path.read_text(encoding="utf-8")
    _assert_self_contained(page)
    images = _images(page)
    assert set(images) == {"confusion-matrix", "per-class-recall", "ablation-chart"}
    assert all(png.startswith(PNG_MAGIC) for png in images.values())
    assert "<b>knn</b> (scikit-learn)" in page and "mmfeat demo: 200 items" in page
    times = re.search(r'<div id="times">(.*?)</div>', page, flags=re.S).group(1)
    stages = [s for s in re.findall(r"<tr><td>([^<]+)</td>", times)]
    assert {"generate", "extract", "train + evaluate (ablation)"} <= set(stages)
    # --json as before: no report-only keys
    plain = json.loads(json_path.read_text())
    assert set(plain) == {"n", "classes", "backend", "model", "seconds", "ablation"}
    # the page's confusion matrix is the ablation's "all (early)" model on its test rows
    table = pd.DataFrame(plain["ablation"])
    early = table[(table["setting"] == "all") & (table["fusion"] == "early")].iloc[0]
    shown = float(re.search(r"<td>accuracy</td><td class=\"num\">([\d.]+)</td>", page)[1])
    assert shown == pytest.approx(early["accuracy"], abs=1e-4)
    assert "50 test rows" in page  # 25% of 200


def test_demo_json_report(tmp_path):
    path = tmp_path / "demo.json"
    assert main(["demo", "--n", "60", "--classes", "3", "--model", "knn",
                 "--report", str(path)]) == 0
    report = json.loads(path.read_text())
    assert {"n", "classes", "backend", "model", "seconds", "ablation"} <= set(report)
    cm = np.array(report["confusion_matrix"])
    assert cm.shape == (3, 3) and cm.sum() == report["n_test"] == 15
    early = [r for r in report["ablation"] if (r["setting"], r["fusion"]) == ("all", "early")]
    assert report["accuracy"] == pytest.approx(early[0]["accuracy"])
    assert report["n_train"] == 45 and report["blocks"].keys() == {"image", "text", "audio"}


# -- bench ---------------------------------------------------------------------------
@needs_matplotlib
def test_bench_plot(tmp_path, capsys):
    pytest.importorskip("cv2")
    pytest.importorskip("skimage")
    import matplotlib.image

    plot, result = tmp_path / "bench.png", tmp_path / "bench.json"
    assert main(["bench", "image", "--n", "2", "--size", "16", "--repeat", "1", "--quiet",
                 "--ops", "sobel,gradient_histogram", "--plot", str(plot),
                 "--json", str(result)]) == 0
    assert f"wrote {plot}" in capsys.readouterr().out
    assert plot.read_bytes().startswith(PNG_MAGIC)
    h, w = matplotlib.image.imread(plot).shape[:2]
    assert h > 200 and w > 300
    # the figure draws one bar per ratio of the report, at its value
    report = json.loads(result.read_text())
    fig = bench_figure(report)
    tops = sorted(round(p.get_y() + p.get_height(), 9) for p in fig.axes[0].patches)
    ratios = sorted(round(v, 9) for r in report["results"] for v in r["ratios"].values())
    assert np.allclose(tops, ratios)
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == [
        "OpenCV", "scikit-image"]


@needs_matplotlib
def test_bench_plot_bad_options(tmp_path, capsys, monkeypatch):
    from mmfeat import _bench

    def never(**kw):
        raise AssertionError("the benchmark ran before the options were checked")

    monkeypatch.setattr(_bench, "run_image_bench", never)
    base = ["bench", "image", "--n", "2", "--size", "16", "--ops", "sobel"]
    with pytest.raises(SystemExit) as exc:
        main([*base, "--no-anchors", "--plot", str(tmp_path / "b.png")])
    assert exc.value.code == 2 and "--plot" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main([*base, "--plot", str(tmp_path / "b.gif")])
    assert exc.value.code == 2 and ".png, .svg or .pdf" in capsys.readouterr().err
    assert main([*base, "--plot", str(tmp_path / "no" / "b.png")]) == 1
    assert "--plot: folder" in capsys.readouterr().err


@needs_matplotlib
def test_bench_figure_without_ratios():
    report = {"config": {}, "results": [
        {"op": "sobel", "ratios": {}, "skipped": {"opencv": "cv2 is not importable"}}]}
    with pytest.raises(ValueError, match="no anchor times"):
        bench_figure(report)


# -- without matplotlib ---------------------------------------------------------------
@pytest.fixture
def no_matplotlib(monkeypatch):
    """Every ``import matplotlib...`` fails, as where the extra is not installed."""
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)


def _forbid(monkeypatch, module, name):
    def never(*a, **kw):
        raise AssertionError(f"{name} ran before the missing matplotlib was reported")

    monkeypatch.setattr(module, name, never)


def test_missing_matplotlib_message(no_matplotlib, features, tmp_path, capsys, monkeypatch):
    import mmfeat.data.demo
    import mmfeat.run
    from mmfeat import _bench

    _forbid(monkeypatch, mmfeat.run, "train")
    _forbid(monkeypatch, mmfeat.data.demo, "demo_dataset")
    _forbid(monkeypatch, _bench, "run_image_bench")
    page = tmp_path / "report.html"
    assert _train(features, "--report", str(page)) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"mmfeat train: error: --report {page} needs matplotlib: {HINT}"]
    assert main(["demo", "--n", "30", "--report", str(page)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"mmfeat demo: error: --report {page} needs matplotlib: {HINT}"]
    plot = tmp_path / "b.png"
    assert main(["bench", "image", "--n", "2", "--ops", "sobel", "--plot", str(plot)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"mmfeat bench: error: --plot {plot} needs matplotlib: {HINT}"]
    assert not page.exists() and not plot.exists()
    with pytest.raises(ImportError, match=re.escape(HINT)):
        html_report({"model": "knn", "ablation": []})


def test_json_report_needs_no_matplotlib(no_matplotlib, features, tmp_path):
    path = tmp_path / "r.json"
    assert _train(features, "--report", str(path)) == 0
    assert json.loads(path.read_text())["model"] == "knn"


@needs_matplotlib
def test_write_report_by_suffix(tmp_path):
    report = {"model": "logistic", "library": "scikit-learn", "tuning": None,
              "ablation": [{"setting": "image", "fusion": "none", "n_features": 3,
                            "accuracy": 0.5, "f1_macro": 0.4}],
              "seconds": {"fit": 0.25}}
    assert write_report(report, tmp_path / "a.html", title="t <1>") == "HTML"
    page = (tmp_path / "a.html").read_text(encoding="utf-8")
    _assert_self_contained(page)
    assert "<title>t &lt;1&gt;</title>" in page
    assert set(_images(page)) == {"ablation-chart"}  # no evaluation: no confusion matrix
    assert write_report(report, tmp_path / "a.json") == "JSON"
    assert json.loads((tmp_path / "a.json").read_text()) == report
