"""Models and evaluation: estimator factory (scikit-learn or cuML), fusion, metrics, tuning.

One import for the last two stages of the pipeline:

- :func:`make_model` builds ``logistic``, ``linear_svm``, ``random_forest`` or
  ``knn`` from cuML when the backend is ``"cuda"`` and cuML imports, else from
  scikit-learn, with the same parameters, behind a scaler; :func:`model_library`
  says which library it came from.
- :class:`EarlyFusion` (standardised blocks side by side, optionally weighted)
  and :class:`LateFusionClassifier` (one model per modality, probabilities
  averaged) fuse the per-modality feature blocks.
- :func:`evaluate`, :func:`ablation` and :func:`tune` measure and optimise.
- :func:`save_model` / :func:`load_model` keep a fitted model (pickle-based:
  trusted files only).

"Blocks" everywhere below means either a dict ``{modality: (N, d_m) array}`` or
any object with a ``.blocks`` attribute holding such a dict (a
:class:`mmfeat.FeatureSet`).

Notes
-----
The cuML branch follows cuML's documented API (``cuml.linear_model``,
``cuml.svm``, ``cuml.ensemble``, ``cuml.neighbors``, ``cuml.preprocessing``); it is
unit-tested with a stand-in ``cuml`` module, not on a real GPU.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.utils.validation import check_is_fitted

from .backend import is_cupy_array, resolve_backend

__all__ = [
    "MODEL_NAMES",
    "DropColumns",
    "make_model",
    "model_library",
    "evaluate",
    "EarlyFusion",
    "LateFusionClassifier",
    "ablation",
    "tune",
    "default_param_grid",
    "save_model",
    "load_model",
    "ModelBundle",
    "save_bundle",
    "load_bundle",
]

logger = logging.getLogger(__name__)

MODEL_NAMES = ("logistic", "linear_svm", "random_forest", "knn")

# (module, class) per model name and library; both libraries take the same
# parameter names for everything the factory and the grids set.
_SKLEARN = {
    "logistic": ("sklearn.linear_model", "LogisticRegression"),
    "linear_svm": ("sklearn.svm", "LinearSVC"),
    "random_forest": ("sklearn.ensemble", "RandomForestClassifier"),
    "knn": ("sklearn.neighbors", "KNeighborsClassifier"),
}
_CUML = {
    "logistic": ("cuml.linear_model", "LogisticRegression"),
    "linear_svm": ("cuml.svm", "LinearSVC"),
    "random_forest": ("cuml.ensemble", "RandomForestClassifier"),
    "knn": ("cuml.neighbors", "KNeighborsClassifier"),
}
# Which estimators take ``random_state``: cuML's documented signatures have it
# only on the random forest; KNN is deterministic in both libraries.
_TAKES_RANDOM_STATE = {
    "scikit-learn": {"logistic", "linear_svm", "random_forest"},
    "cuML": {"random_forest"},
}
# Defaults the factory sets where scikit-learn's own would get in the way:
# lbfgs needs more than 100 iterations on a few hundred standardised features
# (cuML's default is already 1000), and a forest should use every core.
_SKLEARN_DEFAULTS = {
    "logistic": {"max_iter": 1000},
    "random_forest": {"n_jobs": -1},
}

# Small grids: CI runs on two cores. Keys are the estimator's own parameter
# names; :func:`tune` addresses them through the pipeline step ``"model"``.
_GRIDS: dict[str, dict[str, list]] = {
    "logistic": {"C": [0.01, 0.1, 1.0, 10.0]},
    "linear_svm": {"C": [0.01, 0.1, 1.0, 10.0]},
    "random_forest": {"n_estimators": [50, 200], "max_depth": [None, 10]},
    "knn": {"n_neighbors": [3, 5, 9, 15], "weights": ["uniform", "distance"]},
}

MODEL_STEP = "model"
SCALER_STEP = "scaler"
DROP_STEP = "drop"


# --- the estimator factory --------------------------------------------------------


class DropColumns(TransformerMixin, BaseEstimator):
    """Drop named columns (default ``id``) from a data frame; pass arrays through.

    Lets a :func:`make_model` pipeline be fitted straight on
    :meth:`FeatureSet.to_frame`, whose ``id`` column is not a feature. Works on
    every frame narwhals knows (pandas, polars, pyarrow, cuDF); a pyarrow table
    leaves as a NumPy array because scikit-learn does not read pyarrow tables.
    Columns that are absent are ignored; nothing is learned.

    Parameters
    ----------
    columns : tuple of str, default ("id",)

    Examples
    --------
    >>> import pandas as pd
    >>> from mmfeat.models import DropColumns
    >>> DropColumns().fit_transform(pd.DataFrame({"id": ["a"], "f0": [1.0]})).columns.tolist()
    ['f0']
    """

    def __init__(self, columns=("id",)):
        self.columns = columns

    def fit(self, X, y=None):
        if isinstance(self.columns, str) or not all(isinstance(c, str) for c in self.columns):
            raise TypeError(f"columns must be a tuple of column names, got {self.columns!r}")
        return self

    def transform(self, X):
        if isinstance(X, np.ndarray) or is_cupy_array(X):
            return X
        import narwhals as nw

        frame = nw.from_native(X, eager_only=True, pass_through=True)
        if not isinstance(frame, nw.DataFrame):
            return X
        present = [c for c in self.columns if c in frame.columns]
        if present:
            frame = frame.drop(present)
        if type(X).__module__.split(".")[0] == "pyarrow":
            return frame.to_numpy()
        return frame.to_native()


def _check_model_name(name: Any, argname: str = "name") -> str:
    if not isinstance(name, str) or name not in MODEL_NAMES:
        raise ValueError(f"{argname} must be one of {MODEL_NAMES}, got {name!r}")
    return name


def _cuml_importable() -> tuple[bool, str]:
    """(importable, why not) for cuML; imported only when the cuda backend asks."""
    try:
        importlib.import_module("cuml")
    except Exception as exc:  # ImportError, or a RAPIDS install without a usable GPU
        return False, f"cuML is not importable ({type(exc).__name__}: {exc})"
    return True, ""


def _load_class(module: str, name: str):
    return getattr(importlib.import_module(module), name)


def _check_params(cls, params: dict, model_name: str) -> None:
    sig = inspect.signature(cls)
    if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        return  # some cuML versions take **kwargs: let the estimator judge
    unknown = sorted(set(params) - set(sig.parameters))
    if unknown:
        valid = sorted(k for k in sig.parameters if k != "self")
        raise TypeError(
            f"{cls.__module__}.{cls.__name__} ({model_name!r}) takes no parameter(s) "
            f"{unknown}; valid: {valid}"
        )


def make_model(
    name: str,
    backend: str | None = None,
    *,
    scale: bool = True,
    random_state: int | None = 0,
    drop=("id",),
    **params: Any,
):
    """A classifier from cuML on the GPU, else from scikit-learn, behind a scaler.

    Parameters
    ----------
    name : {"logistic", "linear_svm", "random_forest", "knn"}
        ``LogisticRegression``, ``LinearSVC``, ``RandomForestClassifier`` or
        ``KNeighborsClassifier``.
    backend : {"numpy", "cpu", "cuda"}, optional
        Resolved by :func:`mmfeat.backend.resolve_backend` (argument, then
        ``use_backend`` context, else ``"cpu"``). On ``"cuda"`` the estimator and
        the scaler come from cuML when ``import cuml`` succeeds; otherwise (and
        on every other backend) from scikit-learn, and the fallback is logged.
    scale : bool, default True
        Put a ``StandardScaler`` (cuML's on the GPU) in front of the model, as
        step ``"scaler"``.
    random_state : int or None, default 0
        Passed to the estimators that take one (scikit-learn's logistic
        regression, linear SVM and random forest; cuML's random forest).
    drop : tuple of str or None, default ("id",)
        Columns a data frame input loses first (step ``"drop"``,
        :class:`DropColumns`), so the pipeline fits straight on
        :meth:`FeatureSet.to_frame`; arrays pass through. None: no such step.
    **params
        The estimator's own parameters (``C=``, ``n_estimators=``, ...), passed
        unchanged to whichever library is chosen.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Steps ``[("drop", DropColumns), ("scaler", StandardScaler), ("model",
        estimator)]``, without ``"drop"`` when ``drop=None`` and without
        ``"scaler"`` when ``scale=False``; parameters are addressed as
        ``"model__C"``. :func:`model_library` names the library.

    Raises
    ------
    ValueError
        Unknown ``name`` or ``backend``.
    TypeError
        A parameter the chosen estimator does not take.

    See Also
    --------
    model_library, tune

    Notes
    -----
    Defaults that differ from the library's: scikit-learn's logistic regression
    gets ``max_iter=1000`` (cuML's default) and its random forest ``n_jobs=-1``;
    both can be overridden through ``**params``. Every other column of a frame
    must be a numeric feature.

    Examples
    --------
    >>> from mmfeat.models import make_model, model_library
    >>> m = make_model("logistic", C=0.5)
    >>> [step for step, _ in m.steps], m.get_params()["model__C"], model_library(m)
    (['drop', 'scaler', 'model'], 0.5, 'scikit-learn')
    """
    _check_model_name(name)
    if not isinstance(scale, bool):
        raise TypeError(f"scale must be a bool, got {type(scale).__name__}")
    resolved = resolve_backend(backend)
    library = "scikit-learn"
    if resolved == "cuda":
        ok, why = _cuml_importable()
        if ok:
            library = "cuML"
        else:
            logger.info("make_model(%r): backend 'cuda' but %s; using scikit-learn", name, why)
    table = _CUML if library == "cuML" else _SKLEARN
    cls = _load_class(*table[name])
    kwargs = dict(_SKLEARN_DEFAULTS.get(name, {})) if library == "scikit-learn" else {}
    if name in _TAKES_RANDOM_STATE[library]:
        kwargs["random_state"] = random_state
    kwargs.update(params)
    _check_params(cls, kwargs, name)
    estimator = cls(**kwargs)

    from sklearn.pipeline import Pipeline

    steps = []
    if drop is not None:
        if isinstance(drop, str):
            drop = (drop,)
        steps.append((DROP_STEP, DropColumns(tuple(drop))))
    if scale:
        scaler_module = "cuml.preprocessing" if library == "cuML" else "sklearn.preprocessing"
        steps.append((SCALER_STEP, _load_class(scaler_module, "StandardScaler")()))
    steps.append((MODEL_STEP, estimator))
    logger.info("make_model(%r): %s.%s", name, cls.__module__, cls.__name__)
    return Pipeline(steps)


def _final_estimator(model):
    """The estimator that does the predicting, through pipelines and searches."""
    seen = 0
    while seen < 16:  # guards against a self-referencing wrapper
        seen += 1
        if hasattr(model, "best_estimator_"):
            model = model.best_estimator_
        elif hasattr(model, "estimator") and (
            type(model).__name__.endswith("SearchCV")
            or type(model).__name__ == "CalibratedClassifierCV"
        ):
            model = model.estimator
        elif hasattr(model, "steps"):
            model = model.steps[-1][1]
        else:
            return model
    return model


def _library_of(est) -> str:
    return "cuML" if type(est).__module__.split(".")[0] == "cuml" else "scikit-learn"


def model_library(model) -> str:
    """``"cuML"`` or ``"scikit-learn"``: where the predicting estimator comes from.

    Looks through pipelines, ``GridSearchCV``/``RandomizedSearchCV`` and
    :class:`LateFusionClassifier` (its base model) to the estimator itself and
    reads the library off its module, so the answer survives ``clone``.

    Examples
    --------
    >>> from mmfeat.models import make_model, model_library
    >>> model_library(make_model("knn", backend="cpu"))
    'scikit-learn'
    """
    est = _final_estimator(model)
    if isinstance(est, LateFusionClassifier):
        fitted = getattr(est, "estimators_", None)
        if fitted:
            return model_library(next(iter(fitted.values())))
        base = est.base
        if isinstance(base, str):
            return model_library(make_model(base, est.backend))
        return model_library(base)
    return _library_of(est)


# --- host moves -------------------------------------------------------------------


def _host(x: Any) -> np.ndarray:
    """A NumPy array from NumPy/CuPy arrays, pandas/cuDF/polars objects or lists."""
    if is_cupy_array(x):
        return x.get()
    top = type(x).__module__.split(".")[0]
    if top in ("cudf", "pandas", "polars") and hasattr(x, "to_numpy"):
        return x.to_numpy()  # cuDF refuses np.asarray (no implicit device->host copy)
    return np.asarray(x)


def _on_device(x: Any) -> bool:
    top = type(x).__module__.split(".")[0]
    return is_cupy_array(x) or top == "cudf"


def _jsonable(v: Any) -> Any:
    """Plain Python scalars for a JSON report (NumPy scalars -> int/float/str/bool)."""
    if isinstance(v, np.generic):
        return v.item()
    return v


# --- evaluation -------------------------------------------------------------------


def evaluate(model, X, y, *, labels=None) -> dict[str, Any]:
    """Predict ``X`` with a fitted ``model`` and score against ``y``.

    Parameters
    ----------
    model : fitted classifier
        Anything with ``predict``: a :func:`make_model` pipeline (scikit-learn or
        cuML), a search from :func:`tune`, a :class:`LateFusionClassifier`.
    X : array-like (N, D), data frame, or blocks
        What ``model.predict`` takes. CuPy/cuDF input is given to a cuML model
        as is and moved to the host first for a scikit-learn one.
    y : array-like (N,)
        True labels (NumPy, CuPy, pandas/cuDF series or a list).
    labels : sequence, optional
        Label order of the confusion matrix and the per-class recall; default:
        the sorted union of ``y`` and the predictions.

    Returns
    -------
    dict
        JSON-serialisable: ``accuracy``, ``precision_macro``, ``recall_macro``,
        ``f1_macro`` (floats; macro averages over ``labels`` with
        ``zero_division=0``), ``per_class_recall`` (``{str(label): float}``),
        ``labels`` (list), ``confusion_matrix`` (list of lists of int, rows =
        true label, columns = predicted, in ``labels`` order), ``n_samples``.

    See Also
    --------
    sklearn.metrics.classification_report : the same numbers as text.

    Examples
    --------
    >>> import numpy as np
    >>> from mmfeat.models import make_model, evaluate
    >>> X = np.r_[np.zeros((10, 2)), np.ones((10, 2))]; y = np.r_[[0] * 10, [1] * 10]
    >>> r = evaluate(make_model("logistic").fit(X, y), X, y)
    >>> r["accuracy"], r["confusion_matrix"]
    (1.0, [[10, 0], [0, 10]])
    """
    from sklearn import metrics

    if not hasattr(model, "predict"):
        raise TypeError(f"model must have a predict method, got {type(model).__name__}")
    if not isinstance(X, Mapping) and not hasattr(X, "blocks"):
        X = _for_library(X, model_library(model))
    y_true = _host(y).ravel()
    y_pred = _host(model.predict(X)).ravel()
    if y_true.shape[0] != y_pred.shape[0]:
        raise ValueError(
            f"y has {y_true.shape[0]} labels but X gives {y_pred.shape[0]} predictions"
        )
    if labels is None:
        from sklearn.utils.multiclass import unique_labels

        labels = unique_labels(y_true, y_pred)
    labels = list(labels)
    if not labels:
        raise ValueError("labels must not be empty")
    p, r, f, _ = metrics.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average=None, zero_division=0
    )
    cm = metrics.confusion_matrix(y_true, y_pred, labels=labels)
    return {
        "accuracy": float(metrics.accuracy_score(y_true, y_pred)),
        "precision_macro": float(np.mean(p)),
        "recall_macro": float(np.mean(r)),
        "f1_macro": float(np.mean(f)),
        "per_class_recall": {
            str(_jsonable(lab)): float(v) for lab, v in zip(labels, r, strict=True)
        },
        "labels": [_jsonable(lab) for lab in labels],
        "confusion_matrix": [[int(c) for c in row] for row in cm],
        "n_samples": int(y_true.shape[0]),
    }


# --- blocks and fusion -------------------------------------------------------------


def _as_blocks(features: Any, argname: str = "features") -> dict[str, Any]:
    """``{modality: (N, d_m) array}`` from a dict or an object with ``.blocks``.

    NumPy-convertible blocks become NumPy arrays, CuPy blocks stay on the device;
    every block must be 2-D with the same N.
    """
    blocks = getattr(features, "blocks", features)
    if not isinstance(blocks, Mapping):
        raise TypeError(
            f"{argname} must be a dict {{modality: (N, d) array}} or have a .blocks dict, "
            f"got {type(features).__name__}"
        )
    if not blocks:
        raise ValueError(f"{argname} has no feature blocks")
    out: dict[str, Any] = {}
    n = None
    for key, block in blocks.items():
        if not isinstance(key, str):
            raise TypeError(f"{argname}: modality names must be str, got {key!r}")
        if hasattr(block, "tocsr") or hasattr(block, "toarray"):
            raise TypeError(
                f"{argname}[{key!r}] is a sparse matrix; fusion needs dense blocks "
                "(reduce it first, e.g. TextFeatures' LSA embedding)"
            )
        arr = block if is_cupy_array(block) else _host(block)
        if arr.ndim != 2:
            raise ValueError(f"{argname}[{key!r}] must be 2-D (N, d), got shape {arr.shape}")
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{argname}[{key!r}] must be numeric, got dtype {arr.dtype}")
        if n is None:
            n = arr.shape[0]
        elif arr.shape[0] != n:
            raise ValueError(
                f"{argname}: every block needs the same number of rows; "
                f"{key!r} has {arr.shape[0]}, the first has {n}"
            )
        out[key] = arr
    return out


def _check_weights(weights, modalities, argname: str = "weights") -> dict[str, float]:
    if weights is None:
        return dict.fromkeys(modalities, 1.0)
    if not isinstance(weights, Mapping):
        raise TypeError(f"{argname} must be a dict {{modality: weight}} or None")
    unknown = sorted(set(weights) - set(modalities))
    if unknown:
        raise ValueError(f"{argname} names unknown modalities {unknown}; have {list(modalities)}")
    out = {}
    for m in modalities:
        w = float(weights.get(m, 1.0))
        if not np.isfinite(w) or w < 0:
            raise ValueError(f"{argname}[{m!r}] must be a finite number >= 0, got {w}")
        out[m] = w
    if not any(out.values()):
        raise ValueError(f"{argname}: at least one weight must be > 0")
    return out


def _take(blocks: dict[str, Any], idx: np.ndarray) -> dict[str, Any]:
    out = {}
    for k, v in blocks.items():
        # CuPy wants its index array on the device too
        out[k] = v[_xp(v).asarray(idx)] if is_cupy_array(v) else v[idx]
    return out


def _for_library(x: Any, library: str) -> Any:
    """Device data moved to the host when a scikit-learn model is to see it."""
    return _host(x) if library == "scikit-learn" and _on_device(x) else x


def _xp(a):
    if is_cupy_array(a):
        import cupy

        return cupy
    return np


class EarlyFusion(TransformerMixin, BaseEstimator):
    """Early fusion: each block standardised, weighted and placed side by side.

    Parameters
    ----------
    weights : dict {modality: float}, optional
        Multiplies each standardised block (default 1 for every modality; a
        modality left out of the dict keeps 1). Weight 0 silences a modality.

    Attributes
    ----------
    modalities_ : list of str
        Block order of the output, as seen in ``fit``.
    weights_ : dict {modality: float}
        The weight applied to each block.
    n_features_in_blocks_ : dict {modality: int}
    mean_, scale_ : dict {modality: (d_m,) array}
        Per-feature mean and standard deviation learned in ``fit`` (a constant
        feature gets scale 1, as in ``sklearn.preprocessing.StandardScaler``).

    Notes
    -----
    ``fit`` and ``transform`` take blocks (a dict or an object with ``.blocks``)
    and return ``(N, sum d_m)``: column block ``m`` is
    ``weights[m] * (X_m - mean_m) / scale_m``. Float32 blocks give float32; CuPy
    blocks stay on the device. Without weights this equals a ``StandardScaler``
    on the concatenation.

    Examples
    --------
    >>> import numpy as np
    >>> from mmfeat.models import EarlyFusion
    >>> blocks = {"a": np.arange(6.0).reshape(3, 2), "b": np.ones((3, 1))}
    >>> EarlyFusion(weights={"a": 2.0}).fit_transform(blocks).round(3)
    array([[-2.449, -2.449,  0.   ],
           [ 0.   ,  0.   ,  0.   ],
           [ 2.449,  2.449,  0.   ]])
    """

    def __init__(self, *, weights=None):
        self.weights = weights

    def fit(self, X, y=None):
        blocks = _as_blocks(X, "X")
        self.weights_ = _check_weights(self.weights, list(blocks))
        self.modalities_ = list(blocks)
        self.n_features_in_blocks_ = {m: int(b.shape[1]) for m, b in blocks.items()}
        self.mean_, self.scale_ = {}, {}
        for m, b in blocks.items():
            xp = _xp(b)
            b64 = b.astype(xp.float64)
            mean = b64.mean(axis=0)
            std = b64.std(axis=0)
            # constant features: keep them (centred to 0) instead of dividing by 0
            std = xp.where(std > 10 * np.finfo(np.float64).eps * (1 + xp.abs(mean)), std, 1.0)
            self.mean_[m], self.scale_[m] = mean, std
        return self

    def transform(self, X):
        check_is_fitted(self, "modalities_")
        blocks = _as_blocks(X, "X")
        if list(blocks) != self.modalities_:
            raise ValueError(
                f"X has modalities {list(blocks)}, but fit saw {self.modalities_} (same order)"
            )
        parts = []
        dtype = np.result_type(np.float32, *[b.dtype for b in blocks.values()])
        for m, b in blocks.items():
            if b.shape[1] != self.n_features_in_blocks_[m]:
                raise ValueError(
                    f"X[{m!r}] has {b.shape[1]} features, fit saw {self.n_features_in_blocks_[m]}"
                )
            z = (b - self.mean_[m]) / self.scale_[m] * self.weights_[m]
            parts.append(z.astype(dtype, copy=False))
        return _xp(parts[0]).concatenate(parts, axis=1)

    def get_feature_names_out(self, input_features=None):
        """``"{modality}__{j}"`` for every output column, in output order."""
        check_is_fitted(self, "modalities_")
        sizes = self.n_features_in_blocks_
        names = [f"{m}__{j}" for m in self.modalities_ for j in range(sizes[m])]
        return np.asarray(names, dtype=object)


def _with_proba(est):
    """``est`` if it has ``predict_proba``, else wrapped in a calibrator that adds it."""
    final = _final_estimator(est)
    if hasattr(final, "predict_proba"):
        return est
    import sklearn
    from sklearn.calibration import CalibratedClassifierCV

    # LinearSVC has only decision_function; calibrating over 3 folds turns its
    # scores into probabilities that can be averaged with the other modalities'.
    # Temperature scaling (scikit-learn >= 1.8) fits one parameter for all
    # classes and keeps the argmax; per-class sigmoids are ~10x slower.
    major, minor = (int(p) for p in sklearn.__version__.split(".")[:2])
    method = "temperature" if (major, minor) >= (1, 8) else "sigmoid"
    return CalibratedClassifierCV(est, cv=3, method=method)


class LateFusionClassifier(ClassifierMixin, BaseEstimator):
    """Late fusion: one classifier per modality, class probabilities averaged.

    Parameters
    ----------
    base : str or estimator, default "logistic"
        A :func:`make_model` name (built with ``backend``, ``base_params`` and
        ``random_state``) or an estimator, cloned once per modality. A model
        without ``predict_proba`` (``linear_svm``) is wrapped in
        ``CalibratedClassifierCV(cv=3)`` (temperature scaling on scikit-learn
        >= 1.8, sigmoid before).
    weights : dict {modality: float}, optional
        Weight of each modality's probabilities (default: equal). The weighted
        mean is taken, so only the ratios matter.
    base_params : dict, optional
        Parameters for :func:`make_model` when ``base`` is a name.
    backend : {"numpy", "cpu", "cuda"}, optional
        As in :func:`make_model`.
    random_state : int or None, default 0

    Attributes
    ----------
    classes_ : ndarray (n_classes,)
        Sorted labels seen in ``fit``; column order of ``predict_proba``.
    modalities_ : list of str
    weights_ : dict {modality: float}
        The weights in use (before normalisation).
    estimators_ : dict {modality: fitted estimator}

    Notes
    -----
    ``fit(X, y)``, ``predict(X)`` and ``predict_proba(X)`` take blocks (a dict
    or an object with ``.blocks``). ``predict_proba`` returns ``(N, n_classes)``
    NumPy rows summing to 1; ``predict`` is ``classes_[argmax]``. Each modality's
    probability columns are mapped to ``classes_`` by label, so a model that
    orders its classes differently still lines up.

    Examples
    --------
    >>> import numpy as np
    >>> from mmfeat.models import LateFusionClassifier
    >>> rng = np.random.default_rng(0)
    >>> y = np.array(["cat", "dog"] * 20)
    >>> blocks = {"a": rng.normal(size=(40, 3)) + (y == "dog")[:, None],
    ...           "b": rng.normal(size=(40, 2))}
    >>> clf = LateFusionClassifier().fit(blocks, y)
    >>> clf.classes_.tolist(), bool(np.allclose(clf.predict_proba(blocks).sum(axis=1), 1))
    (['cat', 'dog'], True)
    """

    def __init__(
        self, base="logistic", *, weights=None, base_params=None, backend=None, random_state=0
    ):
        self.base = base
        self.weights = weights
        self.base_params = base_params
        self.backend = backend
        self.random_state = random_state

    def _make_base(self):
        if isinstance(self.base, str):
            _check_model_name(self.base, "base")
            params = dict(self.base_params or {})
            return make_model(
                self.base, self.backend, random_state=self.random_state, **params
            )
        if not hasattr(self.base, "fit") or not hasattr(self.base, "predict"):
            raise TypeError(
                f"base must be a model name {MODEL_NAMES} or an estimator, got {self.base!r}"
            )
        if self.base_params:
            raise ValueError("base_params applies only when base is a model name")
        return clone(self.base)

    def fit(self, X, y):
        blocks = _as_blocks(X, "X")
        y_host = _host(y).ravel()
        n = next(iter(blocks.values())).shape[0]
        if y_host.shape[0] != n:
            raise ValueError(f"y has {y_host.shape[0]} labels but X has {n} rows")
        self.weights_ = _check_weights(self.weights, list(blocks))
        self.classes_ = np.unique(y_host)
        if self.classes_.shape[0] < 2:
            raise ValueError("y must contain at least two classes")
        self.modalities_ = list(blocks)
        self.estimators_ = {}
        for m, b in blocks.items():
            est = _with_proba(self._make_base())
            library = model_library(est)
            # cuML takes labels where its data is; scikit-learn wants everything on the host
            y_fit = y if (_on_device(b) and library == "cuML") else y_host
            self.estimators_[m] = est.fit(_for_library(b, library), y_fit)
        return self

    def _block_proba(self, est, block) -> np.ndarray:
        proba = _host(est.predict_proba(_for_library(block, model_library(est))))
        out = np.zeros((proba.shape[0], self.classes_.shape[0]), dtype=np.float64)
        est_classes = _host(getattr(est, "classes_", self.classes_))
        idx = np.searchsorted(self.classes_, est_classes)
        out[:, idx] = proba
        return out

    def predict_proba(self, X):
        """Weighted mean of the per-modality class probabilities, (N, n_classes)."""
        check_is_fitted(self, "estimators_")
        blocks = _as_blocks(X, "X")
        if list(blocks) != self.modalities_:
            raise ValueError(
                f"X has modalities {list(blocks)}, but fit saw {self.modalities_} (same order)"
            )
        total = sum(self.weights_.values())
        acc = None
        for m in self.modalities_:
            w = self.weights_[m]
            if w == 0:
                continue
            p = self._block_proba(self.estimators_[m], blocks[m]) * (w / total)
            acc = p if acc is None else acc + p
        return acc

    def predict(self, X):
        """``classes_`` of the largest fused probability per row, (N,)."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


# --- ablation ---------------------------------------------------------------------


def ablation(
    features,
    y,
    *,
    model: str = "logistic",
    test_size: float = 0.25,
    random_state: int | None = 0,
    fusion=("early", "late"),
    stratify: bool = True,
    backend: str | None = None,
    split=None,
    **params: Any,
):
    """Accuracy and macro F1 of each modality alone, all together, and all but one.

    Every row is trained on the same training rows and scored on the same test
    rows (one split), so the rows compare.

    Parameters
    ----------
    features : blocks
        A dict ``{modality: (N, d_m) array}`` or an object with ``.blocks``.
    y : array-like (N,)
    model : str, default "logistic"
        A :func:`make_model` name; ``**params`` go to it.
    test_size : float in (0, 1), default 0.25
    random_state : int or None, default 0
        Seeds the split and the models.
    fusion : iterable of {"early", "late"}, default ("early", "late")
        Fusions used for the "all" row and the "all but one" rows.
    stratify : bool, default True
        Keep the class proportions equal in both parts of the split.
    backend : {"numpy", "cpu", "cuda"}, optional
        As in :func:`make_model`.
    split : (train_index, test_index), optional
        Row indices of a given split (a manifest's split column, say); then
        ``test_size`` and ``stratify`` are not used.

    Returns
    -------
    pandas.DataFrame
        One row per setting with columns ``setting`` (the modality name,
        ``"all"`` or ``"all - <modality>"``), ``modalities`` (``"+"``-joined),
        ``fusion`` (``"none"`` for a single modality, else ``"early"`` or
        ``"late"``), ``n_features``, ``accuracy``, ``f1_macro``. Rows: each
        modality alone; with two or more, "all" per fusion; with three or more,
        "all but one" per fusion and left-out modality. With one modality, one
        row.

    Examples
    --------
    >>> import numpy as np
    >>> from mmfeat.models import ablation
    >>> rng = np.random.default_rng(0)
    >>> y = np.arange(200) % 2
    >>> blocks = {"x": rng.normal(size=(200, 2)) + y[:, None], "noise": rng.normal(size=(200, 3))}
    >>> ablation(blocks, y)[["setting", "fusion", "n_features"]]
      setting fusion  n_features
    0       x   none           2
    1   noise   none           3
    2     all  early           5
    3     all   late           5
    """
    import pandas as pd
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import Pipeline

    blocks = _as_blocks(features)
    _check_model_name(model, "model")
    # CuPy blocks stay on the device for cuML and come to the host for scikit-learn
    library = model_library(make_model(model, backend, **params))
    blocks = {m: _for_library(b, library) for m, b in blocks.items()}
    if isinstance(fusion, str):
        fusion = (fusion,)
    fusion = tuple(fusion)
    bad = [f for f in fusion if f not in ("early", "late")]
    if bad or not fusion:
        raise ValueError(f"fusion must name 'early' and/or 'late', got {fusion!r}")
    if not (isinstance(test_size, float) and 0.0 < test_size < 1.0):
        raise ValueError(f"test_size must be a float in (0, 1), got {test_size!r}")
    y_host = _host(y).ravel()
    n = next(iter(blocks.values())).shape[0]
    if y_host.shape[0] != n:
        raise ValueError(f"y has {y_host.shape[0]} labels but features have {n} rows")

    if split is not None:
        idx_train, idx_test = (np.asarray(i, dtype=np.intp).ravel() for i in split)
        if not len(idx_train) or not len(idx_test):
            raise ValueError("split must hold non-empty train and test indices")
        if max(idx_train.max(), idx_test.max()) >= n or min(idx_train.min(), idx_test.min()) < 0:
            raise ValueError(f"split indices must lie in [0, {n})")
    else:
        idx_train, idx_test = train_test_split(
            np.arange(n),
            test_size=test_size,
            random_state=random_state,
            stratify=y_host if stratify else None,
        )
    y_train, y_test = y_host[idx_train], y_host[idx_test]
    train, test = _take(blocks, idx_train), _take(blocks, idx_test)
    labels = np.unique(y_host)

    def score(names: list[str], how: str) -> dict:
        sub_train = {m: train[m] for m in names}
        sub_test = {m: test[m] for m in names}
        if how == "none":
            est = make_model(model, backend, random_state=random_state, **params)
            est.fit(sub_train[names[0]], y_train)
            X_test = sub_test[names[0]]
        elif how == "early":
            inner = make_model(
                model, backend, scale=False, drop=None, random_state=random_state, **params
            )
            est = Pipeline([("fusion", EarlyFusion()), *inner.steps])
            est.fit(sub_train, y_train)
            X_test = sub_test
        else:
            est = LateFusionClassifier(
                model, base_params=params, backend=backend, random_state=random_state
            )
            est.fit(sub_train, y_train)
            X_test = sub_test
        r = evaluate(est, X_test, y_test, labels=labels)
        return {
            "modalities": "+".join(names),
            "fusion": how,
            "n_features": int(sum(blocks[m].shape[1] for m in names)),
            "accuracy": r["accuracy"],
            "f1_macro": r["f1_macro"],
        }

    modalities = list(blocks)
    rows = [{"setting": m, **score([m], "none")} for m in modalities]
    if len(modalities) >= 2:
        for how in fusion:
            rows.append({"setting": "all", **score(modalities, how)})
    if len(modalities) >= 3:
        for how in fusion:
            for left_out in modalities:
                rest = [m for m in modalities if m != left_out]
                rows.append({"setting": f"all - {left_out}", **score(rest, how)})
    columns = ["setting", "modalities", "fusion", "n_features", "accuracy", "f1_macro"]
    return pd.DataFrame(rows, columns=columns)


# --- tuning -----------------------------------------------------------------------


def default_param_grid(model_name: str) -> dict[str, list]:
    """The grid :func:`tune` searches for ``model_name`` (estimator parameter names).

    Examples
    --------
    >>> from mmfeat.models import default_param_grid
    >>> default_param_grid("knn")
    {'n_neighbors': [3, 5, 9, 15], 'weights': ['uniform', 'distance']}
    """
    _check_model_name(model_name, "model_name")
    return {k: list(v) for k, v in _GRIDS[model_name].items()}


def tune(
    model_name: str,
    X,
    y,
    *,
    cv: int = 3,
    n_iter: int | None = None,
    scoring: str = "f1_macro",
    backend: str | None = None,
    random_state: int | None = 0,
    param_grid: dict[str, list] | None = None,
    scale: bool = True,
    **params: Any,
):
    """Cross-validated search over a model's key parameters; refit on all of ``X``.

    Parameters
    ----------
    model_name : {"logistic", "linear_svm", "random_forest", "knn"}
    X : array-like (N, D) or data frame
    y : array-like (N,)
    cv : int >= 2, default 3
        Stratified folds (shuffled with ``random_state``).
    n_iter : int, optional
        When given, ``RandomizedSearchCV`` tries this many settings of the grid
        (at most all of them); else ``GridSearchCV`` tries every one.
    scoring : str, default "f1_macro"
        A scikit-learn scorer name.
    backend : {"numpy", "cpu", "cuda"}, optional
        As in :func:`make_model` (scikit-learn's searches accept cuML estimators).
    random_state : int or None, default 0
    param_grid : dict {parameter: list of values}, optional
        Estimator parameter names (``{"C": [...]}``); default
        :func:`default_param_grid` -- logistic and linear_svm: ``C``;
        random_forest: ``n_estimators``, ``max_depth``; knn: ``n_neighbors``,
        ``weights``.
    scale : bool, default True
    **params
        Fixed estimator parameters, as in :func:`make_model`.

    Returns
    -------
    best_estimator : sklearn.pipeline.Pipeline
        The :func:`make_model` pipeline with the best parameters, refitted on all rows.
    report : dict
        JSON-serialisable: ``model``, ``library``, ``best_params`` (estimator
        parameter names), ``best_score`` (mean cross-validated ``scoring``),
        ``scoring``, ``cv``, ``n_candidates`` (settings tried), ``search``
        (``"grid"`` or ``"random"``).

    Examples
    --------
    >>> import numpy as np
    >>> from mmfeat.models import tune
    >>> rng = np.random.default_rng(0)
    >>> y = np.arange(60) % 2; X = rng.normal(size=(60, 3)) + y[:, None]
    >>> best, report = tune("logistic", X, y, param_grid={"C": [0.1, 1.0]})
    >>> report["best_params"]["C"] in (0.1, 1.0), report["n_candidates"]
    (True, 2)
    """
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, StratifiedKFold

    _check_model_name(model_name, "model_name")
    if isinstance(cv, bool) or not isinstance(cv, (int, np.integer)) or cv < 2:
        raise ValueError(f"cv must be an int >= 2, got {cv!r}")
    if n_iter is not None and (
        isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or n_iter < 1
    ):
        raise ValueError(f"n_iter must be a positive int or None, got {n_iter!r}")
    if not isinstance(scoring, str):
        raise TypeError(f"scoring must be a scorer name (str), got {type(scoring).__name__}")
    grid = default_param_grid(model_name) if param_grid is None else param_grid
    if not isinstance(grid, Mapping) or not grid:
        raise ValueError(f"param_grid must be a non-empty dict of lists, got {grid!r}")
    for k, v in grid.items():
        if isinstance(v, (str, bytes)) or not hasattr(v, "__len__") or len(v) == 0:
            raise ValueError(f"param_grid[{k!r}] must be a non-empty list of values, got {v!r}")
        if k in params:
            raise ValueError(f"{k!r} is both searched (param_grid) and fixed (**params)")

    estimator = make_model(
        model_name, backend, scale=scale, random_state=random_state, **params
    )
    # validate the grid's names against the estimator now, not deep inside the search
    valid = estimator.named_steps[MODEL_STEP].get_params()
    unknown = sorted(set(grid) - set(valid))
    if unknown:
        raise ValueError(f"param_grid names unknown parameters {unknown} of {model_name!r}")
    prefixed = {f"{MODEL_STEP}__{k}": list(v) for k, v in grid.items()}
    total = int(np.prod([len(v) for v in prefixed.values()]))
    splitter = StratifiedKFold(n_splits=int(cv), shuffle=True, random_state=random_state)
    if n_iter is None:
        search = GridSearchCV(estimator, prefixed, scoring=scoring, cv=splitter, refit=True)
        kind = "grid"
    else:
        search = RandomizedSearchCV(
            estimator,
            prefixed,
            n_iter=min(int(n_iter), total),
            scoring=scoring,
            cv=splitter,
            refit=True,
            random_state=random_state,
        )
        kind = "random"
    library = model_library(estimator)
    X = _for_library(X, library)
    y_fit = y if (_on_device(y) and library == "cuML") else _host(y).ravel()
    search.fit(X, y_fit)
    best = {
        k.split("__", 1)[1]: _jsonable(v) for k, v in search.best_params_.items()
    }
    report = {
        "model": model_name,
        "library": library,
        "best_params": best,
        "best_score": float(search.best_score_),
        "scoring": scoring,
        "cv": int(cv),
        "n_candidates": int(len(search.cv_results_["params"])),
        "search": kind,
    }
    return search.best_estimator_, report


# --- model files ------------------------------------------------------------------


def save_model(model, path) -> str:
    """Write a fitted model to ``path`` with joblib (a pickle-based format).

    Only load such files from a source you trust: unpickling can run arbitrary
    code (see :func:`load_model`). cuML models pickle the same way and need cuML
    (and a GPU) to load.

    Parameters
    ----------
    model : estimator
    path : str or os.PathLike
        The file to write; its folder must exist.

    Returns
    -------
    str
        The path written.
    """
    import joblib

    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"path: folder {folder!r} does not exist")
    joblib.dump(model, path)
    return path


def load_model(path):
    """Read a model written by :func:`save_model`.

    .. warning::
       The file is a pickle: loading it runs whatever code its author put in
       it. Load only files from a trusted source (your own runs), never one
       downloaded or received from someone you do not trust.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    estimator
    """
    import joblib

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"path: no model file at {path!r}")
    return joblib.load(path)


# the model and its fitted feature pipeline as one file (mmfeat train --save)
from .bundle import ModelBundle, load_bundle, save_bundle  # noqa: E402
