"""scikit-learn's conventions for the feature transformers (issue 17, item 2).

ImageFeatures, AudioFeatures, TextFeatures and FeaturePipeline take images, clips,
documents and datasets, not (n_samples, n_features) tables, and say so in their
tags. scikit-learn then yields none of its data checks for them
(``check_estimator`` warns "Can't test estimator ..."), so
``test_estimator_checks`` enumerates the checks it would run on a tabular
transformer, runs those that do not depend on the input's format, and names the
others with the reason in ``NOT_APPLICABLE``; the tests below it are the
non-tabular versions of the data checks that matter (fit returns self, params
untouched, idempotent fit, sample order and subset invariance, read-only
input, clone and pickle round trips), on real input.
"""

from __future__ import annotations

import copy
import pickle
import warnings

import joblib
import numpy as np
import pandas as pd
import polars as pl
import pytest
import scipy.sparse as sp
import sklearn
from sklearn.base import clone
from sklearn.exceptions import NotFittedError, SkipTestWarning
from sklearn.feature_extraction.text import TfidfVectorizer as SkTfidfVectorizer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import estimator_checks_generator

from mmfeat.audio import AudioFeatures
from mmfeat.fusion import FeatureSet
from mmfeat.image import ImageFeatures
from mmfeat.pipeline import FeaturePipeline
from mmfeat.text import CountVectorizer, TextFeatures, TfidfVectorizer

_rng = np.random.default_rng(17)
N = 6
IMAGES = _rng.integers(0, 256, (N, 16, 16, 3), dtype=np.uint8)
CLIPS = [(_rng.standard_normal(n) * 0.1).astype(np.float32)
         for n in (800, 1600, 1200, 3000, 400, 2400)]
DOCS = ["the cat sat on the mat", "dogs chase cats in the park", "the mat is red",
        "a dog and a cat are friends", "red trees in the park", "cats sleep all day"]
IDS = [f"r{i}" for i in range(N)]
LABELS = np.array([0, 1, 0, 1, 0, 1])


def _image():
    return ImageFeatures(hsv_bins=(2, 2, 2), grid=(2, 1))


def _audio():
    return AudioFeatures(sr=8000, n_mfcc=6, n_mels=12)


def _text():
    return TextFeatures(vectorizer=TfidfVectorizer(ngram_range=(1, 2)), n_components=3)


def _pipeline():
    return FeaturePipeline({"image": _image(), "text": _text(), "audio": _audio()},
                           batch_size=4, progress=False)


def _dataset(idx=None):
    idx = np.arange(N) if idx is None else np.asarray(idx)
    return {"image": IMAGES[idx], "text": [DOCS[i] for i in idx],
            "audio": [CLIPS[i] for i in idx], "id": [IDS[i] for i in idx],
            "label": LABELS[idx]}


# name -> (unfitted estimator, input of N rows, rows ``idx`` of that input)
CASES = {
    "ImageFeatures": (_image, lambda: IMAGES, lambda idx: IMAGES[np.asarray(idx)]),
    "AudioFeatures": (_audio, lambda: CLIPS, lambda idx: [CLIPS[i] for i in idx]),
    "TextFeatures": (_text, lambda: DOCS, lambda idx: [DOCS[i] for i in idx]),
    "FeaturePipeline": (_pipeline, _dataset, _dataset),
}
case = pytest.mark.parametrize("name", list(CASES))


def _values(out) -> np.ndarray:
    """The (n, D) numbers of a transform's output (a FeatureSet: its ids must be the
    rows' own, which ``_check_ids`` asserts)."""
    if isinstance(out, FeatureSet):
        return out.to_numpy()
    assert isinstance(out, np.ndarray), type(out)
    return out


def _check_ids(out, idx):
    if isinstance(out, FeatureSet):
        assert list(out.ids) == [IDS[i] for i in idx]


# -- scikit-learn's own checks ------------------------------------------------------------
APPLICABLE = {
    "check_estimator_cloneable",
    "check_estimator_tags_renamed",
    "check_valid_tag_types",
    "check_estimator_repr",
    "check_no_attributes_set_in_init",
    "check_do_not_raise_errors_in_init_or_set_params",
    "check_mixin_order",
    "check_transformers_unfitted",  # transform raises NotFittedError before reading X
    "check_parameters_default_constructible",
    "check_get_params_invariance",
    "check_set_params",
}

_TABLE = "fits on a numeric (n_samples, n_features) table, which is not this input"
NOT_APPLICABLE = {
    "check_fit_score_takes_y": _TABLE,
    "check_estimators_overwrite_params": _TABLE + "; here: test_fit_returns_self_and_keeps_params",
    "check_dont_overwrite_parameters": _TABLE + "; here: test_fit_sets_only_fitted_attributes",
    "check_estimators_fit_returns_self": _TABLE + "; here: test_fit_returns_self_and_keeps_params",
    "check_readonly_memmap_input": _TABLE + "; here: test_read_only_input",
    "check_estimators_unfitted": "checks predict/decision_function/predict_proba, which a "
                                 "transformer has none of (check_transformers_unfitted runs)",
    "check_n_features_in_after_fitting": "n_features_in_ counts a table's columns; images, "
                                         "clips, documents and datasets have none",
    "check_positive_only_tag_during_fit": "fits on the iris table shifted negative",
    "check_estimators_dtypes": _TABLE + "; here: test_output_is_float32",
    "check_complex_data": _TABLE,
    "check_dtype_object": _TABLE,
    "check_estimators_empty_data_messages": "expects the messages of an empty table "
                                            "(0 samples or 0 features)",
    "check_pipeline_consistency": _TABLE,
    "check_estimators_nan_inf": _TABLE + " (with NaN and inf)",
    "check_estimator_sparse_tag": "feeds a scipy.sparse table; the input is never sparse",
    "check_estimator_sparse_array": "feeds a scipy.sparse table; the input is never sparse",
    "check_estimator_sparse_matrix": "feeds a scipy.sparse table; the input is never sparse",
    "check_estimators_pickle": _TABLE + "; here: test_pickle_round_trip",
    "check_array_api_input": "array API namespaces over a numeric table (CuPy input selects "
                             "the cuda backend instead)",
    "check_f_contiguous_array_estimator": _TABLE,
    "check_transformer_data_not_an_array": _TABLE,
    "check_transformer_general": _TABLE + "; here: test_fit_transform_equals_fit_then_transform",
    "check_transformer_preserve_dtypes": _TABLE + "; here: test_output_is_float32",
    "check_transformer_n_iter": "only for estimators with a max_iter parameter",
    "check_methods_sample_order_invariance": _TABLE + "; here: test_sample_order_and_subsets",
    "check_methods_subset_invariance": _TABLE + "; here: test_sample_order_and_subsets",
    "check_fit2d_1sample": _TABLE,
    "check_fit2d_1feature": _TABLE,
    "check_dict_unchanged": _TABLE + "; here: test_transform_leaves_the_estimator_unchanged",
    "check_fit_idempotent": _TABLE + "; here: test_fit_is_idempotent",
    "check_fit_check_is_fitted": _TABLE + "; here: test_unfitted_then_fitted",
    "check_n_features_in": "n_features_in_ counts a table's columns; this input has none",
    "check_fit1d": _TABLE + " (expects a 1-D array to be refused)",
    "check_fit2d_predict1d": _TABLE,
}
# scikit-learn yields check_transformer_preserve_dtypes only for a non-empty
# transformer_tags.preserves_dtype: documents and datasets have no dtype to preserve
NOT_YIELDED = {
    "TextFeatures": {"check_transformer_preserve_dtypes"},
    "FeaturePipeline": {"check_transformer_preserve_dtypes"},
}


def _tabular_view(est):
    """``est`` under a subclass whose tags claim tabular input: the checks scikit-learn
    runs on a tabular transformer of this kind (it yields none for the real tags)."""
    cls = type(est)

    def tags(self):
        t = cls.__sklearn_tags__(self)
        t.input_tags.two_d_array = True
        t.input_tags.string = t.input_tags.dict = t.input_tags.three_d_array = False
        return t

    return type(cls.__name__, (cls,), {"__sklearn_tags__": tags})(**est.get_params(deep=False))


def _checks(est) -> dict:
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _, check in estimator_checks_generator(_tabular_view(est), legacy=True):
            out.setdefault(check.func.__name__, []).append(check)
    return out


@case
def test_estimator_checks(name):
    est = CASES[name][0]()
    tags = get_tags(est)
    assert not tags.input_tags.two_d_array and tags.transformer_tags is not None
    # with the real tags scikit-learn only checks that the estimator clones
    with pytest.warns(SkipTestWarning, match="Can't test estimator"):
        yielded = [c.func.__name__ for _, c in estimator_checks_generator(est)]
    assert yielded == ["check_estimator_cloneable"]

    checks = _checks(est)
    assert APPLICABLE <= set(checks)
    assert APPLICABLE.isdisjoint(NOT_APPLICABLE)
    assert set(checks) - APPLICABLE == set(NOT_APPLICABLE) - NOT_YIELDED.get(name, set())
    for check_name in sorted(APPLICABLE):
        for check in checks[check_name]:
            check(est)


def test_tags_describe_the_input():
    image, audio, text, pipe = (get_tags(CASES[n][0]()).input_tags for n in CASES)
    assert image.three_d_array and not image.string
    assert not audio.string and not audio.three_d_array
    assert text.string and not text.dict
    assert pipe.dict and not pipe.string
    for name in ("ImageFeatures", "AudioFeatures"):
        assert get_tags(CASES[name][0]()).transformer_tags.preserves_dtype == ["float32"]


# -- the data checks on real input --------------------------------------------------------
@case
def test_unfitted_then_fitted(name):
    make, data, _ = CASES[name]
    est = make()
    for call in (lambda: est.transform(data()), est.get_feature_names_out):
        with pytest.raises(NotFittedError):
            call()
    est.fit(data())
    assert est.transform(data()) is not None


@case
def test_fit_returns_self_and_keeps_params(name):
    make, data, _ = CASES[name]
    est = make()
    before = joblib.hash(est.get_params())
    assert est.fit(data()) is est
    assert joblib.hash(est.get_params()) == before


@case
def test_fit_sets_only_fitted_attributes(name):
    make, data, _ = CASES[name]
    est = make()
    before = set(vars(est))
    est.fit(data())
    added = {k for k in set(vars(est)) - before if not k.startswith("_")}
    assert added and all(k.endswith("_") for k in added), added


@case
def test_transform_leaves_the_estimator_unchanged(name):
    make, data, _ = CASES[name]
    est = make().fit(data())
    if name == "FeaturePipeline":
        # it records rejects_, summary_, timings_ and n_batches_ of the last pass
        # (documented); what it learned must stay as it was
        before = joblib.hash(est.extractors_)
        est.transform(data())
        assert joblib.hash(est.extractors_) == before
        return
    before = joblib.hash(vars(est))
    est.transform(data())
    assert joblib.hash(vars(est)) == before


@case
def test_fit_is_idempotent(name):
    make, data, _ = CASES[name]
    est = make()
    first = _values(est.fit(data()).transform(data()))
    second = _values(est.fit(data()).transform(data()))
    np.testing.assert_array_equal(first, second)


@case
def test_fit_transform_equals_fit_then_transform(name):
    make, data, _ = CASES[name]
    a = make().fit_transform(data())
    b = make().fit(data()).transform(data())
    np.testing.assert_allclose(_values(a), _values(b), rtol=1e-5, atol=1e-6)
    _check_ids(a, range(N))


@case
def test_sample_order_and_subsets(name):
    make, data, take = CASES[name]
    est = make().fit(data())
    full = _values(est.transform(data()))
    for idx in ([3, 0, 5, 1, 4, 2], [0, 1], [2, 3, 4], [5]):
        out = est.transform(take(idx))
        _check_ids(out, idx)
        np.testing.assert_allclose(_values(out), full[idx], rtol=1e-5, atol=1e-6)


@case
def test_output_is_float32(name):
    make, data, _ = CASES[name]
    est = make().fit(data())
    assert _values(est.transform(data())).dtype == np.float32
    if name in ("ImageFeatures", "AudioFeatures"):  # float32 in, float32 out
        x = (IMAGES / 255).astype(np.float32) if name == "ImageFeatures" else CLIPS
        assert est.transform(x).dtype == np.float32


@case
def test_read_only_input(name):
    make, data, take = CASES[name]
    est = make().fit(data())
    want = _values(est.transform(data()))
    images = IMAGES.copy()
    images.flags.writeable = False
    clips = [c.copy() for c in CLIPS]
    for c in clips:
        c.flags.writeable = False
    if name == "FeaturePipeline":
        x = {**data(), "image": images, "audio": clips}
    else:
        x = {"ImageFeatures": images, "AudioFeatures": clips, "TextFeatures": DOCS}[name]
    np.testing.assert_array_equal(_values(est.transform(x)), want)


# -- clone and pickle --------------------------------------------------------------------
@case
def test_clone_round_trip(name):
    make, data, _ = CASES[name]
    est = make()
    c = clone(est)
    assert c is not est and repr(c) == repr(est)
    assert joblib.hash(c.get_params()) == joblib.hash(est.get_params())
    fitted = make().fit(data())
    again = clone(fitted)  # a clone is unfitted, with the same parameters
    with pytest.raises(NotFittedError):
        again.transform(data())
    np.testing.assert_array_equal(_values(again.fit(data()).transform(data())),
                                  _values(fitted.transform(data())))


@case
def test_pickle_round_trip(name):
    make, data, _ = CASES[name]
    est = make()
    unfitted = pickle.loads(pickle.dumps(est))
    assert repr(unfitted) == repr(est)
    with pytest.raises(NotFittedError):
        unfitted.transform(data())
    est.fit(data())
    want = est.transform(data())
    loaded = pickle.loads(pickle.dumps(est))
    got = loaded.transform(data())
    np.testing.assert_array_equal(_values(got), _values(want))
    _check_ids(got, range(N))
    np.testing.assert_array_equal(loaded.get_feature_names_out(), est.get_feature_names_out())
    np.testing.assert_array_equal(_values(unfitted.fit(data()).transform(data())),
                                  _values(want))


# -- get_feature_names_out and set_output ---------------------------------------------------
@case
def test_get_feature_names_out(name):
    make, data, _ = CASES[name]
    est = make()
    out = est.fit_transform(data())
    names = est.get_feature_names_out()
    assert isinstance(names, np.ndarray) and names.dtype == object
    assert all(isinstance(n, str) for n in names)
    assert len(set(names)) == len(names) == _values(out).shape[1]
    np.testing.assert_array_equal(est.get_feature_names_out(input_features=None), names)
    if isinstance(out, FeatureSet):
        assert list(names) == out.feature_names


@pytest.mark.parametrize("library", ["pandas", "polars"])
@pytest.mark.parametrize("name", ["ImageFeatures", "AudioFeatures", "TextFeatures"])
def test_set_output_frames(name, library):
    make, data, _ = CASES[name]
    frame_type = pd.DataFrame if library == "pandas" else pl.DataFrame
    want = make().fit_transform(data())
    est = make().set_output(transform=library)
    for out in (est.fit_transform(data()), est.transform(data()),
                clone(est).fit(data()).transform(data()),  # clone keeps the setting
                pickle.loads(pickle.dumps(est)).transform(data())):  # and so does pickle
        assert isinstance(out, frame_type)
        assert list(out.columns) == list(est.get_feature_names_out())
        np.testing.assert_array_equal(out.to_numpy(), want)
    back = est.set_output(transform="default").transform(data())
    assert isinstance(back, np.ndarray)
    with sklearn.config_context(transform_output=library):  # the global setting too
        assert isinstance(make().fit_transform(data()), frame_type)


@pytest.mark.parametrize("library", ["pandas", "polars"])
def test_feature_pipeline_set_output(library):
    pipe = _pipeline()
    fs = pipe.fit_transform(_dataset())
    assert isinstance(fs, FeatureSet)
    pipe.set_output(transform=library)
    want = fs.to_frame(library)
    for out in (pipe.transform(_dataset()), clone(pipe).fit_transform(_dataset()),
                pickle.loads(pickle.dumps(pipe)).transform(_dataset())):
        assert type(out) is type(want)
        assert list(out.columns) == ["id", *pipe.get_feature_names_out(), "label"]
        if library == "pandas":
            pd.testing.assert_frame_equal(out, want)
        else:
            assert out.equals(want)
    assert pipe.set_output() is pipe and isinstance(pipe.transform(_dataset()), type(want))
    copy.copy(pipe).set_output(transform="default")  # a shallow copy has its own setting
    assert isinstance(pipe.transform(_dataset()), type(want))
    assert isinstance(pipe.set_output(transform="default").transform(_dataset()), FeatureSet)
    with pytest.raises(ValueError, match="transform must be one of"):
        pipe.set_output(transform="pyarrow")


def test_feature_pipeline_ignores_the_global_output_setting():
    want = _pipeline().fit_transform(_dataset())
    with sklearn.config_context(transform_output="polars"):
        # the extractors inside give polars frames; the pipeline still gives a FeatureSet
        fs = _pipeline().fit_transform(_dataset())
    assert isinstance(fs, FeatureSet)
    np.testing.assert_array_equal(fs.to_numpy(), want.to_numpy())
    extractors = {"image": _image().set_output(transform="pandas"), "text": _text()}
    fs = FeaturePipeline(extractors, progress=False).fit_transform(_dataset())
    np.testing.assert_array_equal(fs.blocks["image"], want.blocks["image"])


def test_names_flow_through_a_scikit_learn_pipeline():
    pipe = make_pipeline(_image(), StandardScaler()).set_output(transform="pandas")
    out = pipe.fit_transform(IMAGES)
    names = _image().fit(IMAGES).get_feature_names_out()
    assert list(out.columns) == list(names)
    np.testing.assert_array_equal(pipe.get_feature_names_out(), names)


class _DeviceArray:
    """Stands for a CuPy result (what the cuda backend returns): ``.get()`` copies it."""

    def __init__(self, values):
        self.values = values

    def get(self):
        return self.values


_DeviceArray.__module__ = "cupy._stand_in"  # how mmfeat.backend recognises CuPy arrays


@pytest.mark.parametrize("name", ["ImageFeatures", "AudioFeatures"])
def test_frame_output_copies_a_device_result_to_the_host(name, monkeypatch):
    make, data, _ = CASES[name]
    est = make().fit(data())
    want = est.transform(data())
    device = _DeviceArray(want)
    monkeypatch.setattr(est, "_transform", lambda *args: device)
    assert est.transform(data()) is device  # default output: it stays on the device
    out = est.set_output(transform="pandas").transform(data())
    np.testing.assert_array_equal(out.to_numpy(), want)


# -- TextFeatures composes a vectorizer --------------------------------------------------
def test_text_features_old_keywords_say_what_to_write():
    with pytest.raises(TypeError, match=r"^TextFeatures no longer takes TF-IDF parameters "
                                        r"directly: pass vectorizer=TfidfVectorizer\(min_df=2\)$"):
        TextFeatures(min_df=2)
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) \['mindf'\]"):
        TextFeatures(n_components=2, mindf=2)
    with pytest.raises(TypeError, match="positional"):
        TextFeatures(8)
    assert TextFeatures._get_param_names() == [
        "backend", "embedding", "n_components", "random_state", "vectorizer"]


def test_text_features_vectorizer_parameters_and_defaults():
    tf = TextFeatures(vectorizer=TfidfVectorizer(min_df=2), n_components=2)
    assert tf.get_params()["vectorizer__min_df"] == 2
    tf.set_params(vectorizer__min_df=1, vectorizer__sublinear_tf=True)
    Z = tf.fit_transform(DOCS)
    want = TextFeatures(vectorizer=TfidfVectorizer(sublinear_tf=True), n_components=2)
    np.testing.assert_array_equal(Z, want.fit_transform(DOCS))
    assert tf.vectorizer_ is not tf.vectorizer  # fit fits a clone
    assert tf.vectorizer_.sublinear_tf and len(tf.vectorizer_.vocabulary_) > 2
    # the default is mmfeat's TfidfVectorizer() with TextFeatures' backend
    vec = TextFeatures(backend="numpy").build_vectorizer()
    assert isinstance(vec, TfidfVectorizer) and vec.backend == "numpy"
    assert repr(clone(vec)) == repr(TfidfVectorizer(backend="numpy"))


def test_text_features_with_scikit_learns_vectorizer():
    ours = TextFeatures(vectorizer=TfidfVectorizer(ngram_range=(1, 2)), n_components=3)
    theirs = TextFeatures(vectorizer=SkTfidfVectorizer(ngram_range=(1, 2)), n_components=3)
    np.testing.assert_allclose(theirs.fit_transform(DOCS), ours.fit_transform(DOCS),
                               rtol=1e-5, atol=1e-6)
    assert type(theirs.vectorizer_) is SkTfidfVectorizer


def test_text_features_backend_meets_the_vectorizers():
    vec = TextFeatures(vectorizer=TfidfVectorizer(min_df=2), backend="numpy").build_vectorizer()
    assert vec.backend == "numpy" and vec.min_df == 2
    same = TextFeatures(vectorizer=TfidfVectorizer(backend="cpu"), backend="cpu")
    assert same.build_vectorizer().backend == "cpu"
    with pytest.raises(ValueError, match="backend='numpy' conflicts with the vectorizer's "
                                         "backend='cpu'"):
        TextFeatures(vectorizer=TfidfVectorizer(backend="cpu"), backend="numpy").fit(DOCS)
    sk_vec = TextFeatures(vectorizer=SkTfidfVectorizer(), backend="numpy").build_vectorizer()
    assert type(sk_vec) is SkTfidfVectorizer  # no backend to give it
    with pytest.raises(TypeError, match="vectorizer must be a TfidfVectorizer .* got "
                                        "CountVectorizer"):
        TextFeatures(vectorizer=CountVectorizer()).fit(DOCS)


def test_text_features_fit_from_tfidf_equals_fit():
    est = _text()
    vec = est.build_vectorizer().fit(DOCS)
    X = vec.transform(DOCS)
    fitted = clone(est).fit_from_tfidf(vec, X)
    assert fitted.vectorizer_ is vec
    np.testing.assert_array_equal(fitted.transform(DOCS), clone(est).fit(DOCS).transform(DOCS))
    np.testing.assert_array_equal(fitted.get_feature_names_out(),
                                  ["text_lsa_0", "text_lsa_1", "text_lsa_2"])
    one = TextFeatures(n_components=4)
    vec1 = one.build_vectorizer().fit(["aa aa", "aa"])
    assert one.fit_from_tfidf(vec1, vec1.transform(["aa aa", "aa"])).svd_ is None
    with pytest.raises(ValueError, match=r"X must be the vectorizer's TF-IDF matrix, \(N, "):
        clone(est).fit_from_tfidf(vec, sp.csr_matrix((6, 2)))
    with pytest.raises(NotFittedError):
        clone(est).fit_from_tfidf(TfidfVectorizer(), X)
    with pytest.raises(ValueError, match="has an embedding"):
        TextFeatures(embedding=len).fit_from_tfidf(vec, X)
