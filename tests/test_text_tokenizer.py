"""The compiled analyzers equal Python: re.findall on doc.lower(), scikit-learn char n-grams.

The word tokenizer must equal ``re.findall(r"(?u)\\b\\w\\w+\\b", doc.lower())`` on
all of Unicode, including characters whose lower case is longer (U+0130) and
the context-dependent final sigma; checked on every code point and on
hypothesis-drawn text.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction import text as sk

import mmfeat.text as mt
from mmfeat.text import _cpu, _input

TOKEN = re.compile(r"(?u)\b\w\w+\b")


def compiled_tokens(docs: list[str], lowercase: bool = True) -> list[list[str]]:
    """Tokens of the compiled word analyzer (its processed text: tokens + one space each)."""
    tb = _input.to_buffers(docs)
    an = _cpu.Analysis("word", lowercase, (1, 1), None)
    out, out_start, plen, _ = _cpu._stage1(tb, an)
    res = []
    for d in range(len(docs)):
        text = bytes(out[out_start[d]: out_start[d] + plen[d]]).decode("utf-8")
        res.append(text.split(" ")[:-1])
    return res


def all_code_points(step: int = 1) -> list[str]:
    """Every code point but the surrogates, in documents of 4096 characters."""
    cps = [c for c in range(0, 0x110000, step) if not 0xD800 <= c < 0xE000]
    text = "".join(map(chr, cps))
    return [text[i:i + 4096] for i in range(0, len(text), 4096)]


def test_tokenizer_on_every_code_point():
    docs = all_code_points()
    for lower in (True, False):
        got = compiled_tokens(docs, lower)
        for doc, toks in zip(docs, got, strict=True):
            assert toks == TOKEN.findall(doc.lower() if lower else doc)


def test_bmp_map_is_pythons_lower_case_and_word_class():
    # the fast path for 2- and 3-byte characters writes bmp_map's code point
    word = re.compile(r"(?u)\w")
    for lower in (True, False):
        table = _cpu._bmp_map(lower)
        fast = 0
        for cp in range(0x80, 0x10000):
            if 0xD800 <= cp < 0xE000 or table[cp] < 0:
                continue
            fast += 1
            ch, c = chr(cp), chr(int(table[cp]) >> 1)
            assert c == (ch.lower() if lower else ch), hex(cp)
            assert len(c.encode()) == len(ch.encode()), hex(cp)
            assert bool(table[cp] & 1) == bool(word.match(c)), hex(cp)
        assert fast > 0.95 * (0x10000 - 0x80 - 0x800)  # nearly every BMP character
    assert _cpu._bmp_map(True)[0x3A3] == -1  # capital sigma: its lower case needs context


def test_tokenizer_on_every_code_point_between_letters():
    # each character alone between two word characters, and after a capital sigma
    cps = [c for c in range(0x80, 0x110000) if not 0xD800 <= c < 0xE000]
    docs = ["".join(f"A{chr(c)}Σ " for c in cps[i:i + 2048]) for i in range(0, len(cps), 2048)]
    for doc, toks in zip(docs, compiled_tokens(docs), strict=True):
        assert toks == TOKEN.findall(doc.lower())


SPECIAL = "ΣσςΑΒİIıi\u0307ß.·'’\u0345\u02b0 \t\n_-0١Ǆǅǆ"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
                | st.text(st.sampled_from(SPECIAL), max_size=30), max_size=6))
def test_tokenizer_equals_re_findall_on_random_text(docs):
    for doc, toks in zip(docs, compiled_tokens(docs), strict=True):
        assert toks == TOKEN.findall(doc.lower())


def _compiled_counts(doc: str, **params) -> Counter:
    cv = mt.CountVectorizer(**params)
    try:
        X = cv.fit_transform([doc])
    except ValueError:  # empty vocabulary
        return Counter()
    names = cv.get_feature_names_out()
    return Counter({names[j]: int(v) for j, v in zip(X.indices, X.data, strict=True)})


@settings(max_examples=40, deadline=None)
@given(
    doc=st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
    | st.text(st.sampled_from(SPECIAL + "  \u3000\u2003ab"), max_size=30),
    analyzer=st.sampled_from(["char", "char_wb", "word"]),
    lo=st.integers(1, 3),
    span=st.integers(0, 2),
    lowercase=st.booleans(),
)
def test_analyzers_equal_sklearn_on_random_text(doc, analyzer, lo, span, lowercase):
    params = dict(analyzer=analyzer, ngram_range=(lo, lo + span), lowercase=lowercase)
    expect = Counter(sk.CountVectorizer(**params).build_analyzer()(doc))
    assert _compiled_counts(doc, **params) == expect


@settings(max_examples=25, deadline=None)
@given(st.lists(st.text(st.sampled_from("ab cd\u00e9\u0130 \u03a3"), max_size=12), min_size=1,
                max_size=8),
       st.integers(1, 64), st.booleans())
def test_hashing_equals_sklearn_on_random_text(docs, n_features, alternate_sign):
    params = dict(n_features=n_features, alternate_sign=alternate_sign, norm=None,
                  analyzer="char_wb", ngram_range=(1, 3))
    a = mt.HashingVectorizer(**params).transform(docs)
    b = sk.HashingVectorizer(**params).transform(docs)
    np.testing.assert_array_equal(a.indptr, b.indptr)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.data, b.data)


def test_murmurhash_equals_sklearn():
    from mmfeat.kernels import text as K
    from sklearn.utils import murmurhash3_32

    words = ["", "a", "ab", "abc", "abcd", "abcde", "straße", "東京タワー", "🙂🙂🙂", "x" * 101]
    for w in words:
        b = np.frombuffer(w.encode("utf-8"), np.uint8) if w else np.zeros(0, np.uint8)
        assert K.murmur3_32(b, 0, b.shape[0]) == murmurhash3_32(w.encode("utf-8"), seed=0)


@pytest.mark.parametrize("analyzer", ["word", "char_wb"])
def test_stop_words_after_lowercasing(analyzer):
    docs = ["The THE the Über über", "ÜBER alles"]
    params = dict(stop_words=["the", "über"], analyzer=analyzer)
    a = mt.CountVectorizer(**params)
    b = sk.CountVectorizer(**params)
    Xa, Xb = a.fit_transform(docs), b.fit_transform(docs)
    assert a.vocabulary_ == b.vocabulary_
    np.testing.assert_array_equal(Xa.toarray(), Xb.toarray())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from("ab\x00é\u20ac\U0001f642 "), max_size=20),
                unique=True, max_size=60))
def test_term_sort_is_pythons_str_order(terms):
    """Sorting the vocabulary by 8-byte prefixes, then byte by byte, is ``sorted(str)``
    (code-point order), including shared prefixes longer than 8 bytes and NULs."""
    import pyarrow as pa

    from mmfeat.text import _cpu

    arr = pa.array(terms, type=pa.large_string())
    order = _cpu.sort_terms(arr)
    assert [terms[i] for i in order] == sorted(terms)


def test_term_sort_with_long_shared_prefixes():
    import pyarrow as pa

    from mmfeat.text import _cpu

    terms = ["a" * 20, "a" * 20 + "\x00", "a" * 19, "a" * 20 + "b", "a" * 16, "a" * 16 + "\x00",
             "a" * 15 + "\x00", "b", "", "a" * 8 + "é" * 5, "a" * 8 + "e" * 9]
    terms += [f"prefix shared by all {i:05d}" for i in range(300)][::-1]
    arr = pa.array(terms, type=pa.large_string())
    assert [terms[i] for i in _cpu.sort_terms(arr)] == sorted(terms)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.binary(max_size=12), max_size=40), st.integers(0, 3))
def test_prefix_keys_are_the_first_seven_bytes_big_endian(terms, lead):
    """The vocabulary sort's first digit (NumPy, no kernel): each string's first 7 bytes
    as a big-endian number, zero-padded, whatever its length and wherever it ends in
    the buffer (the last string's 8-byte read runs past the end)."""
    from mmfeat.text import _cpu

    buf = np.frombuffer(b"x" * lead + b"".join(terms), np.uint8)
    offs = lead + np.concatenate([[0], np.cumsum([len(t) for t in terms])]).astype(np.int64)
    want = [int.from_bytes(t[:7].ljust(7, b"\0"), "big") for t in terms]
    got = _cpu._prefix_keys(buf, offs)
    assert got.dtype == np.int64
    assert got.tolist() == want


@settings(max_examples=120, deadline=None)
@given(
    st.lists(
        st.one_of(st.integers(0, 300), st.integers(0, 2**40)), min_size=0, max_size=400
    ),
    st.integers(0, 5),
    st.integers(0, 3),
)
def test_radix_sort_pairs_is_a_stable_sort_inside_the_range(keys, lo, tail):
    """The in-row sort of fill_csr, the hashed rows and the vocabulary's ties (radix
    beyond 32 pairs): keys ascending, equal keys in their original order, nothing
    outside [lo, hi) touched, keys of 1 to 6 bytes (passes ending in the scratch or in
    place)."""
    from mmfeat.kernels import text as K

    k = np.array(keys, np.int64)
    v = np.arange(k.size, dtype=np.int64)
    lo = min(lo, k.size)
    hi = max(lo, k.size - tail)
    k0, v0 = k.copy(), v.copy()
    n = hi - lo
    K.radix_sort_pairs(k, v, lo, hi, np.empty(n, np.int64), np.empty(n, np.int64),
                       np.empty(256, np.int64))
    order = np.argsort(k0[lo:hi], kind="stable")
    np.testing.assert_array_equal(k[lo:hi], k0[lo:hi][order])
    np.testing.assert_array_equal(v[lo:hi], v0[lo:hi][order])
    assert (k[:lo] == k0[:lo]).all() and (k[hi:] == k0[hi:]).all()
    assert (v[:lo] == v0[:lo]).all() and (v[hi:] == v0[hi:]).all()
