"""mmfeat.models: the estimator factory (scikit-learn, and cuML through a stand-in module),
evaluation against sklearn.metrics, early/late fusion, ablation, tuning and model files.

Data: scikit-learn's digits (shipped with it) cut into "modalities": the left and
right halves of the 8x8 pixels and a block of pure noise.
"""

from __future__ import annotations

import json
import sys
import types

import numpy as np
import pandas as pd
import pytest
from sklearn import ensemble, linear_model, metrics, neighbors, preprocessing, svm
from sklearn.base import BaseEstimator, ClassifierMixin

from mmfeat import models
from mmfeat.models import (
    EarlyFusion,
    LateFusionClassifier,
    ablation,
    evaluate,
    load_model,
    make_model,
    model_library,
    save_model,
    tune,
)


@pytest.fixture(scope="module")
def digits():
    """(blocks, y): 900 digits as left half, right half and noise blocks."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X, y = X[:900].astype(np.float32), y[:900]
    img = X.reshape(-1, 8, 8)
    rng = np.random.default_rng(0)
    blocks = {
        "left": img[:, :, :4].reshape(len(X), -1),
        "right": img[:, :, 4:].reshape(len(X), -1),
        "noise": rng.normal(size=(len(X), 6)).astype(np.float32),
    }
    return blocks, y


@pytest.fixture(scope="module")
def split(digits):
    blocks, y = digits
    idx = np.random.default_rng(1).permutation(len(y))
    tr, te = idx[:600], idx[600:]
    return (
        {k: v[tr] for k, v in blocks.items()},
        {k: v[te] for k, v in blocks.items()},
        y[tr],
        y[te],
    )


class _Features:
    """Stands in for FeatureSet: only ``.blocks`` matters to the models module."""

    def __init__(self, blocks):
        self.blocks = blocks


# --- make_model -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "cls", "params"),
    [
        ("logistic", linear_model.LogisticRegression, {"C": 0.3}),
        ("linear_svm", svm.LinearSVC, {"C": 2.0}),
        ("random_forest", ensemble.RandomForestClassifier, {"n_estimators": 7, "max_depth": 3}),
        ("knn", neighbors.KNeighborsClassifier, {"n_neighbors": 4, "weights": "distance"}),
    ],
)
def test_make_model_sklearn(name, cls, params):
    m = make_model(name, "cpu", random_state=5, **params)
    assert [s for s, _ in m.steps] == ["drop", "scaler", "model"]
    assert type(m.named_steps["scaler"]) is preprocessing.StandardScaler
    est = m.named_steps["model"]
    assert type(est) is cls
    got = est.get_params()
    for k, v in params.items():
        assert got[k] == v
    if "random_state" in got:
        assert got["random_state"] == 5
    assert model_library(m) == "scikit-learn"
    bare = make_model(name, scale=False, drop=None, **params)
    assert [s for s, _ in bare.steps] == ["model"]


@pytest.mark.parametrize("library", ["pandas", "polars", "pyarrow"])
def test_make_model_fits_a_feature_frame_with_id(library, split):
    tr, te, y_tr, _ = split
    pytest.importorskip(library)

    def frame(X):
        cols = {"id": [f"item{i}" for i in range(len(X))]}
        cols.update({f"f{j}": X[:, j] for j in range(X.shape[1])})
        df = pd.DataFrame(cols)
        if library == "polars":
            import polars

            return polars.from_pandas(df)
        if library == "pyarrow":
            import pyarrow

            return pyarrow.Table.from_pandas(df)
        return df

    ref = make_model("logistic").fit(tr["left"], y_tr).predict_proba(te["left"])
    m = make_model("logistic").fit(frame(tr["left"]), y_tr)
    # a frame may reach the model as float64 where the array stays float32: solver-level gaps
    np.testing.assert_allclose(m.predict_proba(frame(te["left"])), ref, atol=1e-3)
    with pytest.raises(ValueError):  # without the drop step the string ids reach the scaler
        make_model("logistic", drop=None).fit(frame(tr["left"]), y_tr)


def test_make_model_sklearn_defaults_overridable():
    assert make_model("logistic").named_steps["model"].max_iter == 1000
    assert make_model("logistic", max_iter=50).named_steps["model"].max_iter == 50
    assert make_model("random_forest").named_steps["model"].n_jobs == -1


def test_make_model_errors():
    with pytest.raises(ValueError, match="logistic.*linear_svm.*random_forest.*knn"):
        make_model("xgboost")
    with pytest.raises(ValueError, match="backend"):
        make_model("logistic", backend="gpu")
    with pytest.raises(TypeError, match="n_neighbours"):
        make_model("knn", n_neighbours=3)
    with pytest.raises(TypeError, match="scale"):
        make_model("knn", scale="yes")
    with pytest.raises(TypeError, match="columns"):
        make_model("knn", drop=(1,)).fit(np.ones((4, 2)), [0, 1, 0, 1])


def _fake_cuml(monkeypatch):
    """A ``cuml`` package whose classes are scikit-learn's under cuML's module names."""

    def sub(base, module):
        return type(base.__name__, (base,), {"__module__": module})

    classes = {
        "cuml.linear_model": {"LogisticRegression": sub(linear_model.LogisticRegression,
                                                        "cuml.linear_model")},
        "cuml.svm": {"LinearSVC": sub(svm.LinearSVC, "cuml.svm")},
        "cuml.ensemble": {
            "RandomForestClassifier": sub(ensemble.RandomForestClassifier, "cuml.ensemble")
        },
        "cuml.neighbors": {
            "KNeighborsClassifier": sub(neighbors.KNeighborsClassifier, "cuml.neighbors")
        },
        "cuml.preprocessing": {
            "StandardScaler": sub(preprocessing.StandardScaler, "cuml.preprocessing")
        },
    }
    root = types.ModuleType("cuml")
    monkeypatch.setitem(sys.modules, "cuml", root)
    for modname, members in classes.items():
        mod = types.ModuleType(modname)
        for k, v in members.items():
            setattr(mod, k, v)
        setattr(root, modname.split(".")[1], mod)
        monkeypatch.setitem(sys.modules, modname, mod)
    return classes


def test_make_model_picks_cuml_on_cuda(monkeypatch, digits):
    classes = _fake_cuml(monkeypatch)
    m = make_model("logistic", "cuda", C=0.25)
    assert type(m.named_steps["model"]) is classes["cuml.linear_model"]["LogisticRegression"]
    assert type(m.named_steps["scaler"]) is classes["cuml.preprocessing"]["StandardScaler"]
    assert model_library(m) == "cuML"
    params = m.named_steps["model"].get_params()
    assert params["C"] == 0.25
    # cuML's LogisticRegression takes no random_state and keeps its own max_iter default
    assert params["random_state"] is None and params["max_iter"] == 100
    rf = make_model("random_forest", "cuda", random_state=3, n_estimators=5)
    rf_est = rf.named_steps["model"]
    assert type(rf_est) is classes["cuml.ensemble"]["RandomForestClassifier"]
    assert rf_est.random_state == 3 and rf_est.n_estimators == 5 and rf_est.n_jobs is None
    knn = make_model("knn", "cuda", n_neighbors=2)
    assert type(knn.named_steps["model"]) is classes["cuml.neighbors"]["KNeighborsClassifier"]
    svc = make_model("linear_svm", "cuda")
    assert type(svc.named_steps["model"]) is classes["cuml.svm"]["LinearSVC"]
    # the context manager picks the backend too, and the choice survives fitting
    import mmfeat

    blocks, y = digits
    with mmfeat.use_backend("cuda"):
        fitted = make_model("knn").fit(blocks["left"], y)
    assert model_library(fitted) == "cuML"
    # the library is read off the class, so a LateFusionClassifier reports it as well
    assert model_library(LateFusionClassifier("knn", backend="cuda")) == "cuML"
    # other backends keep scikit-learn even with cuML importable
    assert model_library(make_model("logistic", "cpu")) == "scikit-learn"


def test_make_model_cuda_without_cuml_falls_back(monkeypatch):
    monkeypatch.setitem(sys.modules, "cuml", None)  # import cuml -> ImportError
    m = make_model("random_forest", "cuda", n_estimators=3)
    assert type(m.named_steps["model"]) is ensemble.RandomForestClassifier
    assert model_library(m) == "scikit-learn"


# --- evaluate ---------------------------------------------------------------------


def test_evaluate_matches_sklearn_metrics(split):
    tr, te, y_tr, y_te = split
    m = make_model("logistic").fit(tr["left"], y_tr)
    r = evaluate(m, te["left"], y_te)
    pred = m.predict(te["left"])
    assert r["n_samples"] == len(y_te)
    assert r["accuracy"] == pytest.approx(metrics.accuracy_score(y_te, pred))
    for avg in ("precision", "recall", "f1"):
        fn = getattr(metrics, f"{avg}_score")
        assert r[f"{avg}_macro"] == pytest.approx(fn(y_te, pred, average="macro", zero_division=0))
    labels = list(range(10))
    assert r["labels"] == labels
    assert r["confusion_matrix"] == metrics.confusion_matrix(y_te, pred).tolist()
    per = metrics.recall_score(y_te, pred, average=None, labels=labels)
    expected = {str(k): pytest.approx(v) for k, v in zip(labels, per, strict=True)}
    assert r["per_class_recall"] == expected
    json.dumps(r)  # plain Python types throughout
    assert all(type(v) is float for k, v in r.items() if k.endswith(("macro", "accuracy")))


def test_evaluate_labels_and_inputs(split):
    tr, te, y_tr, y_te = split
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                      "nine"])
    m = make_model("knn").fit(tr["right"], names[y_tr])
    order = ["nine", "zero", "five", "absent"]  # a subset, with a label nobody has
    r = evaluate(m, pd.DataFrame(te["right"]), pd.Series(names[y_te]), labels=order)
    pred = m.predict(te["right"])
    cm = metrics.confusion_matrix(names[y_te], pred, labels=order)
    assert r["labels"] == order and r["confusion_matrix"] == cm.tolist()
    assert r["per_class_recall"]["absent"] == 0.0
    assert r["precision_macro"] == pytest.approx(
        metrics.precision_score(names[y_te], pred, labels=order, average="macro", zero_division=0)
    )
    json.dumps(r)
    with pytest.raises(ValueError, match="labels"):
        evaluate(m, te["right"], list(names[y_te])[:-1])
    with pytest.raises(TypeError, match="predict"):
        evaluate(object(), te["right"], y_te)


# --- early fusion -------------------------------------------------------------------


def test_early_fusion_is_weighted_standardisation(split):
    tr, te, _, _ = split
    fused = EarlyFusion().fit(tr)
    ref = preprocessing.StandardScaler().fit(np.hstack(list(tr.values())))
    got = fused.transform(te)
    assert got.dtype == np.float32 and got.shape == (300, 32 + 32 + 6)
    np.testing.assert_allclose(got, ref.transform(np.hstack(list(te.values()))), atol=1e-4)
    w = EarlyFusion(weights={"noise": 0.0, "left": 2.0}).fit(_Features(tr)).transform(te)
    np.testing.assert_allclose(w[:, :32], 2 * got[:, :32], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(w[:, 32:64], got[:, 32:64])
    assert not w[:, 64:].any()
    names = fused.get_feature_names_out()
    assert names[0] == "left__0" and names[-1] == "noise__5" and len(names) == got.shape[1]


def test_early_fusion_errors(split):
    tr, te, _, _ = split
    fused = EarlyFusion().fit(tr)
    with pytest.raises(ValueError, match="modalities"):
        fused.transform({"left": te["left"], "right": te["right"]})
    with pytest.raises(ValueError, match="features"):
        fused.transform({**te, "noise": te["noise"][:, :2]})
    with pytest.raises(ValueError, match="same number of rows"):
        EarlyFusion().fit({"a": np.ones((3, 2)), "b": np.ones((4, 2))})
    with pytest.raises(ValueError, match="2-D"):
        EarlyFusion().fit({"a": np.ones(3)})
    with pytest.raises(TypeError, match=r"\.blocks"):
        EarlyFusion().fit(np.ones((3, 2)))
    with pytest.raises(ValueError, match="no feature blocks"):
        EarlyFusion().fit({})
    with pytest.raises(ValueError, match="unknown modalities"):
        EarlyFusion(weights={"audio": 1.0}).fit(tr)
    with pytest.raises(ValueError, match=">= 0"):
        EarlyFusion(weights={"left": -1.0}).fit(tr)
    import scipy.sparse

    with pytest.raises(TypeError, match="sparse"):
        EarlyFusion().fit({"text": scipy.sparse.csr_matrix(np.eye(3))})


# --- late fusion --------------------------------------------------------------------


class _ReversedClasses(ClassifierMixin, BaseEstimator):
    """A logistic regression that lists its classes (and probability columns) backwards."""

    def fit(self, X, y):
        self.inner_ = make_model("logistic").fit(X, y)
        self.classes_ = self.inner_.classes_[::-1]
        return self

    def predict_proba(self, X):
        return self.inner_.predict_proba(X)[:, ::-1]

    def predict(self, X):
        return self.inner_.predict(X)


def test_late_fusion_probabilities_and_classes(split):
    tr, te, y_tr, y_te = split
    words = np.array([f"digit-{d}" for d in range(10)])
    clf = LateFusionClassifier("logistic").fit(_Features(tr), words[y_tr])
    assert clf.classes_.tolist() == sorted(words.tolist())
    proba = clf.predict_proba(te)
    assert proba.shape == (300, 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    assert (clf.predict(te) == clf.classes_[proba.argmax(axis=1)]).all()
    # the mean of the per-modality models' probabilities
    singles = [make_model("logistic").fit(tr[m], words[y_tr]).predict_proba(te[m]) for m in tr]
    np.testing.assert_allclose(proba, np.mean(singles, axis=0), atol=1e-6)
    # columns are matched by label, not by position
    rev = LateFusionClassifier(_ReversedClasses()).fit(tr, words[y_tr])
    np.testing.assert_allclose(rev.predict_proba(te), proba, atol=1e-6)
    # a zero weight drops a modality; weights are normalised
    only_left = LateFusionClassifier(weights={"right": 0, "noise": 0}).fit(tr, words[y_tr])
    np.testing.assert_allclose(only_left.predict_proba(te), singles[0], atol=1e-6)
    fused = evaluate(clf, te, words[y_te])["accuracy"]
    left = evaluate(only_left, te, words[y_te])["accuracy"]
    assert fused > left > 0.5


def test_late_fusion_linear_svm_is_calibrated(split):
    tr, te, y_tr, _ = split
    clf = LateFusionClassifier("linear_svm").fit(tr, y_tr)
    np.testing.assert_allclose(clf.predict_proba(te).sum(axis=1), 1.0, atol=1e-9)
    assert model_library(clf) == "scikit-learn"


def test_late_fusion_errors(split):
    tr, te, y_tr, _ = split
    with pytest.raises(ValueError, match="base"):
        LateFusionClassifier("boosting").fit(tr, y_tr)
    with pytest.raises(TypeError, match="base"):
        LateFusionClassifier(42).fit(tr, y_tr)
    with pytest.raises(ValueError, match="labels"):
        LateFusionClassifier().fit(tr, y_tr[:-1])
    with pytest.raises(ValueError, match="two classes"):
        LateFusionClassifier().fit(tr, np.zeros_like(y_tr))
    clf = LateFusionClassifier("knn").fit(tr, y_tr)
    with pytest.raises(ValueError, match="modalities"):
        clf.predict({"left": te["left"]})


# --- ablation -----------------------------------------------------------------------


def test_ablation_table(digits):
    blocks, y = digits
    table = ablation(_Features(blocks), y, model="knn")
    assert list(table.columns) == [
        "setting", "modalities", "fusion", "n_features", "accuracy", "f1_macro"
    ]
    # 3 singles, all x (early, late), all-but-one x 3 x (early, late)
    assert len(table) == 3 + 2 + 6
    assert table["setting"].tolist()[:5] == ["left", "right", "noise", "all", "all"]
    row = table.set_index(["setting", "fusion"])
    single = table[table["fusion"] == "none"].set_index("setting")["accuracy"]
    assert single["noise"] < 0.3 < single["left"]  # noise is at chance level (10 classes)
    for how in ("early", "late"):
        assert row.loc[("all", how), "accuracy"] > single.max()
        assert row.loc[("all - noise", how), "accuracy"] > single.max()
        assert row.loc[("all - noise", how), "n_features"] == 64
    assert table[["accuracy", "f1_macro"]].apply(lambda c: c.between(0, 1).all()).all()


def test_ablation_sizes_and_errors(digits):
    blocks, y = digits
    one = ablation({"left": blocks["left"]}, y, model="knn")
    assert one["setting"].tolist() == ["left"] and one["fusion"].tolist() == ["none"]
    two = ablation({"left": blocks["left"], "right": blocks["right"]}, y, fusion="early",
                   model="knn", n_neighbors=3)
    assert two[["setting", "fusion"]].values.tolist() == [
        ["left", "none"], ["right", "none"], ["all", "early"]
    ]
    with pytest.raises(ValueError, match="fusion"):
        ablation(blocks, y, fusion=("middle",))
    with pytest.raises(ValueError, match="test_size"):
        ablation(blocks, y, test_size=2)
    with pytest.raises(ValueError, match="model"):
        ablation(blocks, y, model="svm")
    with pytest.raises(ValueError, match="labels"):
        ablation(blocks, y[:10])


# --- tune ---------------------------------------------------------------------------


def test_tune_grid_and_random(split):
    tr, _, y_tr, _ = split
    X = np.hstack([tr["left"], tr["right"]])
    best, report = tune("knn", X, y_tr, cv=3)
    grid = models.default_param_grid("knn")
    assert report["best_params"]["n_neighbors"] in grid["n_neighbors"]
    assert report["best_params"]["weights"] in grid["weights"]
    assert report["n_candidates"] == 8 and report["search"] == "grid"
    assert report["scoring"] == "f1_macro" and report["cv"] == 3
    assert report["library"] == "scikit-learn"
    assert 0.8 < report["best_score"] <= 1.0
    est = best.named_steps["model"]
    assert est.n_neighbors == report["best_params"]["n_neighbors"]
    json.dumps(report)
    _, rnd = tune("logistic", X, y_tr, n_iter=2, scoring="accuracy", param_grid={"C": [0.1, 1]})
    assert rnd["search"] == "random" and rnd["n_candidates"] == 2
    assert rnd["best_params"]["C"] in (0.1, 1)
    rf_grid = {"n_estimators": [10, 20], "max_depth": [None, 4]}
    _, rf = tune("random_forest", X, y_tr, n_iter=1, cv=2, param_grid=rf_grid)
    assert rf["n_candidates"] == 1 and rf["best_params"]["n_estimators"] in (10, 20)
    assert set(rf["best_params"]) == {"n_estimators", "max_depth"}


def test_tune_errors(split):
    tr, _, y_tr, _ = split
    X = tr["left"]
    with pytest.raises(ValueError, match="cv"):
        tune("knn", X, y_tr, cv=1)
    with pytest.raises(ValueError, match="n_iter"):
        tune("knn", X, y_tr, n_iter=0)
    with pytest.raises(ValueError, match="unknown parameters"):
        tune("knn", X, y_tr, param_grid={"k": [1, 2]})
    with pytest.raises(ValueError, match="non-empty"):
        tune("knn", X, y_tr, param_grid={"n_neighbors": []})
    with pytest.raises(ValueError, match="both"):
        tune("logistic", X, y_tr, C=1.0)
    with pytest.raises(ValueError, match="model_name"):
        tune("tree", X, y_tr)


# --- model files --------------------------------------------------------------------


def test_save_load_round_trip(tmp_path, split):
    tr, te, y_tr, _ = split
    for model in (make_model("random_forest", n_estimators=5).fit(tr["left"], y_tr),
                  LateFusionClassifier().fit(tr, y_tr)):
        path = save_model(model, tmp_path / "m.joblib")
        back = load_model(path)
        X = te["left"] if not isinstance(model, LateFusionClassifier) else te
        np.testing.assert_array_equal(back.predict(X), model.predict(X))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_model(model, tmp_path / "nope" / "m.joblib")
    with pytest.raises(FileNotFoundError, match="no model file"):
        load_model(tmp_path / "missing.joblib")
    assert "trusted" in load_model.__doc__ and "trust" in save_model.__doc__


# --- device inputs (without a GPU: objects that look like CuPy / cuDF to mmfeat) ------------


class _DeviceArray:
    """Looks like a CuPy array to ``is_cupy_array``; ``.get()`` is the only way out."""

    __module__ = "cupy._core.core"

    def __init__(self, a):
        self._a = np.asarray(a)

    def get(self):
        return self._a.copy()

    def __array__(self, *args, **kwargs):
        raise TypeError("implicit device->host conversion")


class _CudfSeries:
    """Looks like a cuDF series: ``to_numpy()`` works, ``np.asarray`` refuses."""

    __module__ = "cudf.core.series"

    def __init__(self, a):
        self._a = np.asarray(a)

    def to_numpy(self):
        return self._a.copy()

    def __array__(self, *args, **kwargs):
        raise TypeError("Implicit conversion to a host NumPy array via __array__ is not allowed")


class _DevicePredictor(ClassifierMixin, BaseEstimator):
    """Returns its predictions as a device array, like a cuML model given CuPy input."""

    def fit(self, X, y):
        self.inner_ = make_model("logistic").fit(X, y)
        self.classes_ = self.inner_.classes_
        return self

    def predict(self, X):
        return _DeviceArray(self.inner_.predict(X))


def test_evaluate_moves_device_data_to_host(split):
    tr, te, y_tr, y_te = split
    m = make_model("logistic").fit(tr["left"], y_tr)
    ref = evaluate(m, te["left"], y_te)
    # scikit-learn model, device X and y: both come to the host
    assert evaluate(m, _DeviceArray(te["left"]), _DeviceArray(y_te)) == ref
    assert evaluate(m, te["left"], _CudfSeries(y_te)) == ref
    # device predictions come to the host
    dev = _DevicePredictor().fit(tr["left"], y_tr)
    assert evaluate(dev, te["left"], _CudfSeries(y_te)) == ref
