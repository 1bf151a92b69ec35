"""What a text backend needs to know of a vectorizer's analysis: plain values, no estimator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple


class TextSpec(NamedTuple):
    """The analysis parameters of one call, checked by the estimator.

    Attributes
    ----------
    input, analyzer, tokenizer, preprocessor, strip_accents, token_pattern : as given
        The scikit-learn parameters (the cuda backend names the one it lacks).
    lowercase : bool
    ngram_range : (int, int)
    stop_words : frozenset or list of str, or None
        ``get_stop_words()`` of the word analyzer (None for the char analyzers).
    compiled : bool
        The kernels' built-in analyzers apply (``analyzer`` is "word" with the default
        token pattern, "char" or "char_wb", and nothing they do not implement is set).
    encoding, decode_error : str
        How bytes documents are decoded.
    build_analyzer : callable
        ``() -> analyze``: scikit-learn's analyzer (the reference path), built on use.
    """

    input: str
    analyzer: Any
    tokenizer: Any
    preprocessor: Any
    strip_accents: Any
    token_pattern: Any
    lowercase: bool
    ngram_range: tuple
    stop_words: Any
    compiled: bool
    encoding: str
    decode_error: str
    build_analyzer: Callable[[], Callable]
