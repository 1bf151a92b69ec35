"""A trained model and the fitted feature pipeline it was trained on, as one file.

``mmfeat train --save model.mmb`` writes a :class:`ModelBundle`;
``mmfeat predict`` and :func:`load_bundle` read it. A new manifest then goes
through the same cleaning, the same fitted TF-IDF vocabulary, LSA basis and
feature settings, and the same scaler and model: never refitted.

File format
-----------
One line of JSON (the header: format, format version, the library versions
that wrote it, label classes, feature count, and the payload's size and
sha256), then the payload: the pipeline, model, classes and feature names,
pickled with joblib. The header is read and the payload's size and digest
checked before anything is unpickled, so a file that is not a bundle, or is
truncated or altered in transit, fails with :class:`BundleError` and runs
nothing.

.. warning::
   The payload is a pickle. The digest catches damage, not malice: whoever can
   write a bundle can make loading it run code. Load only bundles you (or
   someone you trust) made. skops' safer format cannot hold the fitted text
   vectorizers (their vocabulary is an Arrow array), so mmfeat does not use it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

MAGIC = "mmfeat-bundle"
FORMAT_VERSION = 1
#: libraries whose versions a bundle records; a different one at load time warns
VERSIONED = ("mmfeat", "numpy", "scipy", "scikit-learn", "pandas", "pyarrow", "numba",
             "pillow", "soxr", "scikit-image", "librosa", "opencv-python-headless", "cuml")


class BundleError(ValueError):
    """The file is not a complete mmfeat model bundle."""


class BundleVersionWarning(UserWarning):
    """The bundle was written with other library versions than the ones loading it."""


def library_versions() -> dict[str, str | None]:
    """Installed versions of :data:`VERSIONED` (None where not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in VERSIONED:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


class ModelBundle:
    """A fitted :class:`~mmfeat.pipeline.FeaturePipeline` and the model trained on its
    features.

    Parameters
    ----------
    pipeline : FeaturePipeline
        Fitted; ``transform`` only, never refitted here.
    model : estimator
        Fitted on the pipeline's features, scaler included (``mmfeat.models.make_model``).
    classes : sequence
        The label classes, in the model's order (``predict_proba``'s columns).
    feature_names : sequence of str
        The feature columns the model was trained on, in order.
    label : str, default "label"
        The manifest column the labels came from.
    versions : dict, optional
        Library versions at training time; default: the installed ones.

    Attributes
    ----------
    rejects_ : DataFrame
        Rows of the last call that were not predicted, with their reasons.
    summary_ : dict
        ``{"input", "kept", "rejected", "by_reason"}`` of the last call.
    """

    def __init__(self, pipeline, model, classes, feature_names, *, label="label",
                 versions=None):
        self.pipeline = pipeline
        self.model = model
        self.classes = list(classes)
        self.feature_names = [str(c) for c in feature_names]
        self.label = label
        self.versions = dict(versions) if versions is not None else library_versions()

    def __repr__(self) -> str:
        mods = ", ".join(self.pipeline.extractors_)
        return (f"ModelBundle({type(self.model).__name__}; {len(self.classes)} classes; "
                f"{len(self.feature_names)} features from {mods})")

    # -- features ---------------------------------------------------------------------
    def transform(self, data):
        """Features of ``data`` (a manifest path or frame, or in-memory arrays as
        ``FeaturePipeline`` takes them) with the fitted pipeline: a FeatureSet."""
        import copy

        pipe = copy.copy(self.pipeline).set_output(transform="default")  # a FeatureSet
        features = pipe.transform(data)
        self.rejects_, self.summary_ = pipe.rejects_, pipe.summary_
        return features

    def _matrix(self, features) -> np.ndarray:
        if list(features.feature_names) != self.feature_names:
            raise BundleError(
                "the pipeline's features are not the ones the model was trained on "
                f"({len(features.feature_names)} columns against {len(self.feature_names)})"
            )
        return features.to_numpy()

    # -- predictions ------------------------------------------------------------------
    def predict(self, data) -> np.ndarray:
        """Predicted class of every row of ``data`` that survives cleaning and decoding
        (in order; ``rejects_`` lists the others)."""
        features = self.transform(data)
        if not len(features):
            return np.asarray([], dtype=np.asarray(self.classes).dtype)
        return np.asarray(self.model.predict(self._matrix(features)))

    def predict_proba(self, data) -> np.ndarray:
        """(n, n_classes) class probabilities, columns in ``classes`` order."""
        if not hasattr(self.model, "predict_proba"):
            raise AttributeError(f"{type(self.model).__name__} gives no probabilities")
        features = self.transform(data)
        if not len(features):
            return np.zeros((0, len(self.classes)))
        return np.asarray(self.model.predict_proba(self._matrix(features)))

    def predictions_frame(self, features) -> pd.DataFrame:
        """The table ``mmfeat predict`` writes for a FeatureSet of the fitted pipeline:
        ``id``, ``prediction``, ``proba_<class>`` per class (where the model has
        probabilities), then the manifest's other columns (``label`` included)."""
        out = {"id": np.asarray(features.ids, dtype=object)}
        if len(features):
            X = self._matrix(features)
            out["prediction"] = np.asarray(self.model.predict(X))
            proba = (np.asarray(self.model.predict_proba(X))
                     if hasattr(self.model, "predict_proba") else None)
        else:
            out["prediction"] = np.asarray([], dtype=np.asarray(self.classes).dtype)
            proba = np.zeros((0, len(self.classes))) if hasattr(
                self.model, "predict_proba") else None
        if proba is not None:
            for j, c in enumerate(self.classes):
                out[f"proba_{c}"] = proba[:, j].astype(np.float64)
        frame = pd.DataFrame(out)
        if features.labels is not None:
            frame["label"] = features.labels
        if features.extra is not None:
            for col in features.extra.columns:
                if col not in frame.columns:
                    frame[col] = features.extra[col].to_numpy()
        return frame


# -- files ------------------------------------------------------------------------------
def save_bundle(bundle: ModelBundle, path) -> Path:
    """Write ``bundle`` to ``path`` (see the module docstring for the format)."""
    import joblib

    from ._files import atomic_write

    payload = io.BytesIO()
    state = {"pipeline": _without_last_call(bundle.pipeline), "model": bundle.model,
             "classes": bundle.classes, "feature_names": bundle.feature_names,
             "label": bundle.label}
    joblib.dump(state, payload)
    body = payload.getvalue()
    header = {
        "format": MAGIC, "format_version": FORMAT_VERSION, "versions": bundle.versions,
        "classes": [str(c) for c in bundle.classes], "n_features": len(bundle.feature_names),
        "modalities": list(bundle.pipeline.extractors_), "label": bundle.label,
        "payload_bytes": len(body), "payload_sha256": hashlib.sha256(body).hexdigest(),
    }
    path = Path(path)

    def write(tmp):
        with open(tmp, "wb") as f:
            f.write(json.dumps(header).encode() + b"\n")
            f.write(body)

    atomic_write(path, write)
    return path


def _without_last_call(pipe):
    """The fitted pipeline without the results of its last call (rejects, timings)."""
    import copy

    out = copy.copy(pipe)
    for name in ("rejects_", "summary_", "timings_"):
        out.__dict__.pop(name, None)
    return out


def read_header(path) -> dict:
    """The bundle's JSON header, checked; nothing is unpickled."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            line = f.readline(1 << 20)
    except OSError as exc:
        raise BundleError(f"cannot read the model bundle {path}: {exc}") from None
    try:
        header = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError):
        header = None
    if not isinstance(header, dict) or header.get("format") != MAGIC:
        raise BundleError(f"{path} is not an mmfeat model bundle (written by "
                          "`mmfeat train --save`)")
    if header.get("format_version") != FORMAT_VERSION:
        raise BundleError(f"{path} is a bundle of format version "
                          f"{header.get('format_version')}; this mmfeat reads version "
                          f"{FORMAT_VERSION}")
    return header


def load_bundle(path, *, warn: bool = True) -> ModelBundle:
    """Read a :class:`ModelBundle` written by :func:`save_bundle` / ``mmfeat train --save``.

    Raises :class:`BundleError` (a ValueError) for a file that is not a bundle, a
    truncated or altered one, or an unknown format version; warns
    :class:`BundleVersionWarning`, naming each library, when it was written with
    other versions than the installed ones. The payload is a pickle: load only
    bundles you trust (see the module docstring).
    """
    import joblib

    path = Path(path)
    header = read_header(path)
    with open(path, "rb") as f:
        f.readline(1 << 20)
        body = f.read()
    if len(body) != header.get("payload_bytes") or (
            hashlib.sha256(body).hexdigest() != header.get("payload_sha256")):
        raise BundleError(f"{path} is truncated or damaged: its payload does not match the "
                          f"size and sha256 its header records ({len(body)} of "
                          f"{header.get('payload_bytes')} bytes)")
    if warn:
        now = library_versions()
        then = header.get("versions", {})
        differ = [f"{k} {then.get(k)} (now {now.get(k)})" for k in sorted(set(then) | set(now))
                  if then.get(k) != now.get(k)]
        if differ:
            warnings.warn(
                f"{os.fspath(path)} was written with other library versions: "
                f"{', '.join(differ)}; its features and predictions may differ",
                BundleVersionWarning, stacklevel=2,
            )
    try:
        state = joblib.load(io.BytesIO(body))
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a bad bundle
        raise BundleError(f"{path}: the payload does not load ({type(exc).__name__}: {exc}); "
                          "a bundle loads with the libraries it was written with") from None
    return ModelBundle(state["pipeline"], state["model"], state["classes"],
                       state["feature_names"], label=state.get("label", "label"),
                       versions=header.get("versions"))
