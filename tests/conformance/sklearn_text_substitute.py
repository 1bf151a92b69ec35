"""A pytest plugin: scikit-learn's own text tests, run against mmfeat's vectorizers.

Loaded with ``-p sklearn_text_substitute`` (this folder on ``sys.path``). At
``pytest_configure``, before any test module is imported, the four vectorizer
classes of ``sklearn.feature_extraction.text`` are replaced by mmfeat's; the
installed ``sklearn/feature_extraction/tests/test_text.py`` then imports them
by name and tests mmfeat, not scikit-learn. Nothing of scikit-learn's test file
is copied. Helpers the tests use by module path (``sklearn.feature_extraction.
text._VectorizerMixin`` etc.) keep pointing at scikit-learn's.
"""

from __future__ import annotations

SUBSTITUTED = ("CountVectorizer", "HashingVectorizer", "TfidfTransformer", "TfidfVectorizer")


def pytest_configure(config):
    import sklearn.feature_extraction as fe
    import sklearn.feature_extraction.text as sk_text

    import mmfeat.text as mm_text

    for name in SUBSTITUTED:
        setattr(sk_text, name, getattr(mm_text, name))
        if hasattr(fe, name):
            setattr(fe, name, getattr(mm_text, name))
    config.stash[_KEY] = {name: getattr(mm_text, name) for name in SUBSTITUTED}


def pytest_report_header(config):
    return "sklearn_text_substitute: " + ", ".join(
        f"{n} -> {c.__module__}.{c.__qualname__}" for n, c in config.stash[_KEY].items())


import pytest  # noqa: E402

_KEY = pytest.StashKey[dict]()
