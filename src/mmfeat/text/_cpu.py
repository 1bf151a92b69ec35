"""The compiled (Numba) CPU path: launch the kernels of ``mmfeat.kernels.text`` chunk by chunk.

Documents are processed in chunks of about :data:`CHUNK_BYTES` of text so that the
per-n-gram work arrays stay small; the vocabulary (hash table, term bytes, document
and term frequencies) accumulates across chunks, which is also how ``fit`` reads an
iterable of batches in one pass.

The functions :mod:`mmfeat.text._dispatch` lists (``count``, ``hashing_transform``,
``tfidf``, ...) take a :class:`~mmfeat.text._spec.TextSpec` and raise
:class:`~mmfeat.text._input.NeedsReference` where only the reference can honour the
parameters or the documents (the caller then runs :mod:`mmfeat.text._reference`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import numpy as np
import pyarrow as pa

from .._workers import parallel_for
from ..kernels import text as K
from . import _reference
from ._input import NeedsReference, TextBuffers, to_buffers
from ._reference import Counted
from ._spec import TextSpec
from ._tables import get_tables
from ._vocabulary import PendingVocabulary

#: input bytes per chunk (the n-gram work arrays take ~40 bytes per n-gram). 1 MiB:
#: on 8 MB corpora it grew peak memory by 52 MB where 4 MiB grew it by 91 MB (bigrams
#: 91 against 140), in the same time within the noise (the Workspace reuses the
#: arrays, so more chunks fault in no more pages).
CHUNK_BYTES = 1 << 20

KINDS = {"word": K.KIND_WORD, "char": K.KIND_CHAR, "char_wb": K.KIND_CHAR_WB}


class HashCollision(NeedsReference):
    """Two different n-grams share a 64-bit hash: the caller falls back to the reference."""


class Workspace:
    """Scratch arrays of one call, reused from chunk to chunk.

    A fresh array's pages are faulted in when first written, and on the virtual
    machines this was measured on a fault costs ~7 us per 4 KiB: the n-gram
    arrays of one 4 MiB chunk (~20 MiB) cost more to fault in than ``word_terms``
    takes to fill them. Arrays taken here are only valid until the next ``take``
    of the same name; results that outlive a chunk are allocated normally.
    """

    def __init__(self):
        self._arrays: dict[str, np.ndarray] = {}

    def take(self, name: str, n: int, dtype) -> np.ndarray:
        """An uninitialised (n,) array of ``dtype``.

        Allocated at twice the size asked for: the next chunks' sizes vary around
        this one's, and pages never written are never faulted in, so the slack
        costs address space, not memory.
        """
        a = self._arrays.get(name)
        if a is None or a.shape[0] < n or a.dtype != np.dtype(dtype):
            a = self._arrays[name] = np.empty(max(2 * n, 1), dtype)
        return a[:n]


@functools.lru_cache(maxsize=1)
def _growth() -> tuple[int, int]:
    """(num, den): lower-casing turns n UTF-8 bytes into at most n * num / den bytes."""
    den = 2  # a small rational bound >= the ratio (1.5 today: U+0130, U+023A, ...)
    return int(np.ceil(get_tables().growth * den)), den


def _utf8_ok(word: str) -> bool:
    try:
        word.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@functools.lru_cache(maxsize=2)
def _bmp_map(lower: bool) -> np.ndarray:
    t = get_tables()
    return K.bmp_word_map(t.cls, t.low, lower)


class Analysis:
    """The compiled analyzer: kind, lower-casing, n-gram range and stop words."""

    def __init__(self, analyzer: str, lowercase: bool, ngram_range, stop_words):
        self.kind = KINDS[analyzer]
        self.lower = bool(lowercase)
        self.ascii_map = K.ascii_word_map(get_tables().cls, self.lower)
        self.bmp_map = _bmp_map(self.lower)
        self.min_n, self.max_n = int(ngram_range[0]), int(ngram_range[1])
        # only str stop words can equal a token; one UTF-8 cannot encode (a lone
        # surrogate) can only equal tokens of documents that take the reference path
        words = sorted(w for w in stop_words if isinstance(w, str) and _utf8_ok(w)) if (
            stop_words and self.kind == K.KIND_WORD) else []
        #: None (no stop words: the kernels compile without that code), or the
        #: (sorted hashes, bytes, offsets) of the stop words that K._is_stop reads
        self.stop = _stop_table(words) if words else None


def _stop_table(words: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tb = _arrow_buffers(pa.array(words, type=pa.large_string()))
    h = np.empty(len(words), np.uint64)
    parallel_for(K.hash_spans, len(words), tb.buf, tb.offs, h)
    order = np.argsort(h, kind="stable")
    tb = _arrow_buffers(pa.array([words[i] for i in order], type=pa.large_string()))
    buf = np.ascontiguousarray(tb.buf[int(tb.offs[0]) : int(tb.offs[-1])])
    return (np.ascontiguousarray(h[order]), buf if buf.shape[0] else np.zeros(1, np.uint8),
            np.ascontiguousarray(tb.offs - tb.offs[0]))


def _arrow_buffers(arr: pa.Array) -> TextBuffers:
    from ._input import _from_arrow

    return _from_arrow(arr)


def _chunks(tb: TextBuffers, factor: int) -> Iterable[tuple[int, int]]:
    n = len(tb)
    if n == 0:
        return
    limit = max(CHUNK_BYTES // max(factor, 1), 1 << 16)
    starts = (
        np.searchsorted(
            tb.offs, tb.offs[0] + np.arange(0, int(tb.offs[-1] - tb.offs[0]), limit), side="right"
        )
        - 1
    )
    bounds = np.unique(np.concatenate([np.clip(starts, 0, n), [n]]))
    if bounds[0] != 0:
        bounds = np.concatenate([[0], bounds])
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        if b > a:
            yield int(a), int(b)


def _stage1(tb: TextBuffers, an: Analysis, ws: Workspace | None = None):
    ws = ws or Workspace()
    t = get_tables()
    num, den = _growth()
    lens = np.diff(tb.offs)
    bound = (lens * num + den - 1) // den + 2
    out_start = ws.take("out_start", len(tb) + 1, np.int64)
    out_start[0] = 0
    np.cumsum(bound, out=out_start[1:])
    out = ws.take("out", max(int(out_start[-1]), 1), np.uint8)
    plen = ws.take("plen", len(tb), np.int64)
    ng = ws.take("ng", len(tb), np.int64)
    # one kernel per analyzer family, so that a call compiles only its own
    if an.kind == K.KIND_WORD:
        parallel_for(K.preprocess_word, len(tb), tb.buf, tb.offs, t.cls, t.low, t.low_ext,
                     an.lower, an.stop, an.min_n, an.max_n, out_start, out, plen, ng,
                     an.ascii_map, an.bmp_map)
    else:
        parallel_for(K.preprocess_char, len(tb), tb.buf, tb.offs, t.cls, t.low, t.low_ext,
                     an.kind, an.lower, an.min_n, an.max_n, out_start, out, plen, ng)
    ng_off = ws.take("ng_off", len(tb) + 1, np.int64)
    ng_off[0] = 0
    np.cumsum(ng, out=ng_off[1:])
    return out, out_start, plen, ng_off


def _factor(an: Analysis) -> int:
    return (an.max_n - an.min_n + 1) * (4 if an.kind != K.KIND_WORD else 1)


class DocEntries:
    """One chunk's distinct n-grams per document, in ``word_terms``' gapped layout."""

    def __init__(self, out, ng_off, n_unique, u_hash, u_count, u_start, u_len):
        self.out = out
        self.ng_off = ng_off
        self.n_unique = n_unique
        self.u_hash = u_hash
        self.u_count = u_count
        self.u_start = u_start
        self.u_len = u_len

    def packed(self, u_term: np.ndarray):
        """(doc_off, term, count) without the gaps."""
        doc_off = np.zeros(self.n_unique.shape[0] + 1, np.int64)
        np.cumsum(self.n_unique, out=doc_off[1:])
        m = int(doc_off[-1])
        terms = np.empty(m, np.int32)  # term ids < 2**31: the hash table's int64 slots
        counts = np.empty(m, np.int32)
        parallel_for(
            K.compact,
            self.n_unique.shape[0],
            self.ng_off,
            self.n_unique,
            doc_off,
            u_term,
            terms,
            self.u_count,
            counts,
        )
        return doc_off, terms, counts


def doc_entries(tb: TextBuffers, an: Analysis, ws: Workspace | None = None) -> DocEntries:
    """Distinct n-grams per document of one chunk: hashes, counts, spans."""
    ws = ws or Workspace()
    out, out_start, plen, ng_off = _stage1(tb, an, ws)
    total = int(ng_off[-1])
    u_hash = ws.take("u_hash", total, np.uint64)
    u_count = ws.take("u_count", total, np.int32)
    u_start = ws.take("u_start", total, np.int64)
    u_len = ws.take("u_len", total, np.int32)
    n_unique = ws.take("n_unique", len(tb), np.int64)
    collision = ws.take("collision", len(tb), np.bool_)
    if an.kind == K.KIND_WORD:
        parallel_for(K.word_terms, len(tb), out, out_start, plen, an.min_n, an.max_n, ng_off,
                     u_hash, u_count, u_start, u_len, n_unique, collision)
    else:
        parallel_for(K.char_terms, len(tb), out, out_start, plen, an.kind, an.min_n, an.max_n,
                     ng_off, u_hash, u_count, u_start, u_len, n_unique, collision)
    if collision.any():
        raise HashCollision
    return DocEntries(out, ng_off, n_unique, u_hash, u_count, u_start, u_len)


def _pow2_at_least(n: int) -> int:
    return 1 << max(int(n - 1).bit_length(), 4)


class VocabularyBuilder:
    """Distinct n-grams in order of first occurrence, with document and term frequencies."""

    def __init__(self):
        self.slots = np.zeros(2 * 16, np.int64)  # (term id + 1, hash) * 16: K.merge_vocabulary
        self.n_terms = 0
        self.term_off = np.zeros(1, np.int64)
        self.term_buf = np.zeros(16, np.uint8)
        self.term_hash = np.zeros(0, np.uint64)
        self.counts = np.zeros((0, 2), np.int64)  # (document frequency, term frequency)

    @property
    def df(self) -> np.ndarray:
        return self.counts[: self.n_terms, 0]

    @property
    def tf(self) -> np.ndarray:
        return self.counts[: self.n_terms, 1]

    def _reserve(self, n_new: int, n_bytes: int) -> None:
        need = self.n_terms + n_new
        if self.term_hash.shape[0] < need:
            cap = max(need, 2 * self.term_hash.shape[0])
            for name in ("term_hash", "counts"):
                old = getattr(self, name)
                new = np.zeros((cap,) + old.shape[1:], old.dtype)
                new[: self.n_terms] = old[: self.n_terms]
                setattr(self, name, new)
            off = np.zeros(cap + 1, np.int64)
            off[: self.n_terms + 1] = self.term_off[: self.n_terms + 1]
            self.term_off = off
        used = int(self.term_off[self.n_terms])
        if self.term_buf.shape[0] < used + n_bytes:
            buf = np.zeros(max(used + n_bytes, 2 * self.term_buf.shape[0]), np.uint8)
            buf[:used] = self.term_buf[:used]
            self.term_buf = buf
        if self.slots.shape[0] // 2 < 2 * need:
            self.slots = np.zeros(2 * _pow2_at_least(2 * need), np.int64)
            if self.n_terms:  # (the first chunk's table starts empty: nothing to compile)
                K.rehash_slots(self.term_hash, self.n_terms, self.slots)

    def merge(self, de: DocEntries, ws: Workspace | None = None) -> np.ndarray:
        """Term id of every entry of the chunk (gapped layout), new terms added.

        Document ranges are reduced to their distinct n-grams in parallel first, so
        the serial insertion (which fixes the ids' first-occurrence order) sees each
        n-gram once per range instead of once per document; the byte checks of the
        hash matches run in parallel afterwards.
        """
        ws = ws or Workspace()
        n_docs = de.n_unique.shape[0]
        total = de.u_hash.shape[0]
        u_term = ws.take("u_term", total, np.int64)
        # per range slot: its first entry, document and term frequency in the range
        # (bounded by the chunk's n-grams, as u_count is), and later its term id
        l_first = ws.take("l_first", total, np.int64)
        l_df = ws.take("l_df", total, np.int32)
        l_tf = ws.take("l_tf", total, np.int32)
        n_local = ws.take("n_local", n_docs, np.int64)
        l_bytes = ws.take("l_bytes", n_docs, np.int64)
        bad = ws.take("bad", n_docs, np.bool_)
        bad[:] = False
        parallel_for(
            K.local_vocabulary,
            n_docs,
            de.ng_off,
            de.n_unique,
            de.u_hash,
            de.u_count,
            de.u_start,
            de.u_len,
            de.out,
            u_term,
            l_first,
            l_df,
            l_tf,
            n_local,
            l_bytes,
            bad,
        )
        if bad.any():
            raise HashCollision
        starts = n_local >= 0  # n_local and l_bytes are set at each range's first document
        self._reserve(int(n_local[starts].sum()), int(l_bytes[starts].sum()))
        l_term = ws.take("l_term", total, np.int32)  # term ids < 2**31, as in DocEntries.packed
        n, _ = K.merge_vocabulary(
            de.ng_off,
            n_local,
            l_first,
            l_df,
            l_tf,
            de.u_hash,
            de.u_start,
            de.u_len,
            de.out,
            self.slots,
            self.n_terms,
            self.term_off,
            self.term_buf,
            self.term_hash,
            self.counts,
            l_term,
        )
        self.n_terms = int(n)
        parallel_for(
            K.remap_terms,
            n_docs,
            de.ng_off,
            de.n_unique,
            n_local,
            l_first,
            l_term,
            de.u_start,
            de.u_len,
            de.out,
            self.term_off,
            self.term_buf,
            u_term,
            bad,
        )
        if bad.any():
            raise HashCollision
        return u_term

    def terms(self) -> pa.LargeStringArray:
        n = self.n_terms
        off = self.term_off[: n + 1]
        return pa.LargeStringArray.from_buffers(
            n, pa.py_buffer(off), pa.py_buffer(self.term_buf[: int(off[-1])])
        )


def count_fit(batches: Iterable[TextBuffers], an: Analysis, keep_entries: bool):
    """Vocabulary of all batches; with keep_entries, each document's (term, count) too."""
    vb = VocabularyBuilder()
    ws = Workspace()
    offs, terms, counts = [], [], []
    n_docs = 0
    for tb in batches:
        for a, b in _chunks(tb, _factor(an)):
            de = doc_entries(tb.slice(a, b), an, ws)
            u_term = vb.merge(de, ws)
            n_docs += b - a
            if keep_entries:
                doc_off, t, c = de.packed(u_term)
                offs.append(doc_off)
                terms.append(t)
                counts.append(c)
    entries = _join_entries(offs, terms, counts) if keep_entries else None
    return vb, n_docs, entries


def _join_entries(offs, terms, counts, dtype=np.int32):
    if not offs:
        return np.zeros(1, np.int64), np.zeros(0, dtype), np.zeros(0, dtype)
    if len(offs) == 1:
        return offs[0], terms[0], counts[0]
    shift = 0
    parts = [np.zeros(1, np.int64)]
    for o in offs:
        parts.append(o[1:] + shift)
        shift += int(o[-1])
    return np.concatenate(parts), np.concatenate(terms), np.concatenate(counts)


class FixedVocabulary:
    """A hash table over given terms (id = position), for ``transform``."""

    def __init__(self, terms: list[str] | pa.Array):
        if isinstance(terms, pa.Array):
            arr = terms.cast(pa.large_string())
        else:
            arr = pa.array(terms, type=pa.large_string())  # UnicodeEncodeError: caller falls back
        tb = _arrow_buffers(arr)
        self.term_off = tb.offs - tb.offs[0]
        self.term_buf = np.ascontiguousarray(tb.buf[int(tb.offs[0]) : int(tb.offs[-1])])
        if self.term_buf.shape[0] == 0:
            self.term_buf = np.zeros(1, np.uint8)
        n = len(terms)
        self.table = np.zeros(_pow2_at_least(2 * n + 2), np.int64)
        self.term_hash = np.empty(n, np.uint64)
        if not K.build_table(self.term_buf, self.term_off, n, self.table, self.term_hash):
            raise HashCollision

    def lookup(self, de: DocEntries, ws: Workspace | None = None) -> np.ndarray:
        u_term = (ws or Workspace()).take("u_term", de.u_hash.shape[0], np.int64)
        parallel_for(
            K.lookup_terms,
            de.n_unique.shape[0],
            de.ng_off,
            de.n_unique,
            de.u_hash,
            de.u_start,
            de.u_len,
            de.out,
            self.table,
            self.term_hash,
            self.term_off,
            self.term_buf,
            u_term,
        )
        return u_term


def count_transform(tb: TextBuffers, an: Analysis, vocab: FixedVocabulary):
    ws = Workspace()
    offs, terms, counts = [], [], []
    for a, b in _chunks(tb, _factor(an)):
        de = doc_entries(tb.slice(a, b), an, ws)
        doc_off, t, c = de.packed(vocab.lookup(de, ws))
        offs.append(doc_off)
        terms.append(t)
        counts.append(c)
    return _join_entries(offs, terms, counts)


def sort_terms(names: pa.LargeStringArray | list) -> np.ndarray:
    """Term ids in code-point (= UTF-8 byte) order, Python's ``sorted`` order for str
    (a list of terms, from the reference path, is sorted by Python).

    NumPy sorts the first 7 bytes as integers; only the runs that share them are
    sorted further, by 7 bytes at a time (a few times faster than sorting the strings).
    All in NumPy: the vocabulary is sorted once per fit, and a Numba kernel for the
    ties cost ~1.5 s of compilation on the first fit.
    """
    if isinstance(names, list):
        return _reference.alphabetical(names)
    tb = _arrow_buffers(names)
    words = _byte_words(tb.buf)
    keys = _digits(words, tb.offs, None, 0)
    order = np.argsort(keys)  # distinct terms: ties below
    _sort_prefix_ties(order, keys[order], words, tb.offs)
    return order


def _byte_words(buf: np.ndarray) -> np.ndarray:
    """(len(buf) + 1,) big-endian uint64 view: element i holds bytes i .. i + 7 of
    ``buf`` (zero past its end), read through a byte-strided view of a padded copy."""
    padded = np.zeros(buf.shape[0] + 8, np.uint8)
    padded[: buf.shape[0]] = buf
    return np.ndarray((buf.shape[0] + 1,), dtype=">u8", buffer=padded, strides=(1,))


def _digits(words: np.ndarray, offs: np.ndarray, t, depth: int) -> np.ndarray:
    """Bytes 7 * depth .. 7 * depth + 6 of strings ``t`` (ids; None: all) as big-endian
    int64s, zero-padded past each string's end (0 once it is used up)."""
    start = offs[:-1] if t is None else offs[t]
    length = np.diff(offs) if t is None else offs[t + 1] - offs[t]
    avail = np.clip(length - 7 * depth, 0, 7)
    drop = (8 * (7 - avail)).astype(np.uint64)
    w = words[np.minimum(start + 7 * depth, words.shape[0] - 1)]
    return ((w >> np.uint64(8) >> drop) << drop).astype(np.int64)


def _prefix_keys(buf: np.ndarray, offs: np.ndarray) -> np.ndarray:
    """Each string's first 7 bytes as a big-endian int64, zero-padded (the first
    digit of :func:`sort_terms`)."""
    return _digits(_byte_words(buf), offs, None, 0)


def _sort_prefix_ties(order: np.ndarray, d: np.ndarray, words: np.ndarray,
                      offs: np.ndarray) -> None:
    """Finish, in place, a byte-order sort of distinct strings: ``order`` is sorted by
    each string's first 7 bytes, ``d`` (those bytes as :func:`_digits` at depth 0, in
    ``order``'s order); each run of equal ones is sorted by the next 7
    bytes, and so on, every run of a level at once (MSD radix by 7-byte digits, each
    string read once per level it needs). A run whose strings are all used up
    (equal once zero-padded: each a prefix of the longer, NULs aside) is sorted by
    length, as Python orders a string before its extensions."""
    lengths = np.diff(offs)
    pos = np.arange(order.shape[0])
    new_run = np.ones(order.shape[0], dtype=bool)
    new_run[1:] = d[1:] != d[:-1]
    depth = 1
    while True:
        run = np.cumsum(new_run) - 1
        tied = np.bincount(run)[run] > 1
        if not tied.any():
            return
        pos, run = pos[tied], run[tied]  # still ascending, each run contiguous
        t = order[pos]
        starts = np.flatnonzero(np.r_[True, run[1:] != run[:-1]])
        longest = np.maximum.reduceat(lengths[t], starts)
        used_up = np.repeat(7 * depth >= longest, np.diff(np.r_[starts, run.shape[0]]))
        d = np.where(used_up, lengths[t], _digits(words, offs, t, depth))
        perm = np.lexsort((d, run))  # by run, then digit: the runs keep their places
        order[pos] = t[perm]
        d, run, used_up = d[perm], run[perm], used_up[perm]
        new_run = np.ones(pos.shape[0], dtype=bool)
        new_run[1:] = (run[1:] != run[:-1]) | (d[1:] != d[:-1])
        new_run |= used_up  # sorted by length: distinct strings, nothing left to tie
        depth += 1


def _keeps_all(u_term: np.ndarray, col_of: np.ndarray) -> bool:
    """Does every entry name a term (>= 0) that has a column (col_of >= 0)?"""
    return bool(col_of.shape[0] == 0 or col_of.min() >= 0) and bool(
        u_term.shape[0] == 0 or u_term.min() >= 0)


def assemble_csr(n_docs, doc_off, u_term, u_count, col_of, order_key, binary, n_cols, dtype):
    """scipy CSR: row d = its kept terms (col_of >= 0) in order of ``order_key[term]``."""
    import scipy.sparse as sp

    indptr = np.zeros(n_docs + 1, np.int64)
    if _keeps_all(u_term, col_of):  # a fit without pruning: no entry to drop, no kernel
        indptr[1:] = doc_off[1:] - doc_off[0]
    else:
        nnz = np.empty(n_docs, np.int64)
        parallel_for(K.row_nnz, n_docs, doc_off, u_term, col_of, nnz)
        np.cumsum(nnz, out=indptr[1:])
    total = int(indptr[-1])
    idx_t = (
        np.int32
        if total <= np.iinfo(np.int32).max and n_cols <= np.iinfo(np.int32).max
        else np.int64
    )
    # written once in their final dtypes (no int64 copies to convert)
    indices = np.empty(total, idx_t)
    data = np.empty(total, dtype)
    parallel_for(
        K.fill_csr,
        n_docs,
        doc_off,
        u_term,
        u_count,
        col_of,
        order_key,
        bool(binary),
        indptr,
        indices,
        data,
    )
    X = sp.csr_matrix((n_docs, n_cols), dtype=dtype)
    X.data = data
    X.indices = indices
    X.indptr = indptr.astype(idx_t)
    return X


def hashing_counts(tb: TextBuffers, an: Analysis, n_features: int, alternate_sign: bool):
    """(indptr int64, indices int64, values int64) of the hashed count matrix."""
    ws = Workspace()
    offs, idxs, vals = [], [], []
    for a, b in _chunks(tb, _factor(an)):
        sub = tb.slice(a, b)
        out, out_start, plen, ng_off = _stage1(sub, an, ws)
        total = int(ng_off[-1])
        h_index = ws.take("h_index", total, np.int64)
        h_value = ws.take("h_value", total, np.int64)
        n_unique = ws.take("n_unique", len(sub), np.int64)
        if an.kind == K.KIND_WORD:
            parallel_for(K.hashed_word, len(sub), out, out_start, plen, an.min_n, an.max_n,
                         ng_off, int(n_features), bool(alternate_sign), h_index, h_value,
                         n_unique)
        else:
            parallel_for(K.hashed_char, len(sub), out, out_start, plen, an.kind, an.min_n,
                         an.max_n, ng_off, int(n_features), bool(alternate_sign), h_index,
                         h_value, n_unique)
        doc_off = np.zeros(len(sub) + 1, np.int64)
        np.cumsum(n_unique, out=doc_off[1:])
        m = int(doc_off[-1])
        ci = np.empty(m, np.int64)
        cv = np.empty(m, np.int64)
        parallel_for(K.compact, len(sub), ng_off, n_unique, doc_off, h_index, ci, h_value, cv)
        offs.append(doc_off)
        idxs.append(ci)
        vals.append(cv)
    return _join_entries(offs, idxs, vals, np.int64)


# --- the backend functions (see mmfeat.text._dispatch) ---------------------------------

check_params = _reference.check_params
document_frequencies = _reference.document_frequencies
vstack = _reference.vstack
_NORM_CODE = {None: 0, "l1": 1, "l2": 2}


def analysis(spec: TextSpec) -> Analysis:
    """The compiled analyzer of ``spec`` (NeedsReference if the kernels cannot run it)."""
    if not spec.compiled:
        raise NeedsReference("parameters only scikit-learn's analyzer implements")
    return Analysis(spec.analyzer, spec.lowercase, spec.ngram_range, spec.stop_words)


def _buffers(docs, spec: TextSpec) -> TextBuffers:
    return to_buffers(docs, spec.encoding, spec.decode_error)


def vocabulary_table(vocabulary) -> FixedVocabulary:
    """The hash table :func:`count` looks terms up in, of a fitted or given vocabulary
    (a dict term -> column, or a PendingVocabulary); NeedsReference for terms it cannot
    hold (not str, not UTF-8, a 64-bit hash collision)."""
    if isinstance(vocabulary, PendingVocabulary):
        terms = vocabulary.terms_by_column()
    else:
        terms = [None] * len(vocabulary)
        for term, col in vocabulary.items():
            if not isinstance(term, str):  # e.g. bytes: matches no token (scikit-learn)
                raise NeedsReference("a vocabulary term that is not a str")
            terms[int(col)] = term  # scikit-learn accepts integral floats (0.0)
    try:
        return FixedVocabulary(terms)
    except (UnicodeEncodeError, TypeError, HashCollision):
        raise NeedsReference("vocabulary terms the compiled path cannot hold") from None


def count(docs, spec: TextSpec, batches: bool, table, keep_entries: bool, dtype=None,
          stage=None) -> Counted:
    """Terms counted per document by the kernels (see :func:`_reference.count`).

    ``table``: None (learn the vocabulary: its terms are a pyarrow string array) or
    :func:`vocabulary_table`'s; with ``keep_entries`` False a fit keeps only the
    vocabulary. ``docs`` may be (``batches``) an iterable of collections, read once.
    """
    an = analysis(spec)
    if table is not None:
        if batches:
            return _stack_counted([count(b, spec, False, table, True) for b in docs])
        tb = _buffers(docs, spec)
        doc_off, u_term, u_count = count_transform(tb, an, table)
        return Counted(len(tb), None, None, None, doc_off, u_term, u_count)
    stream = (_buffers(b, spec) for b in docs) if batches else [_buffers(docs, spec)]
    vb, n_docs, entries = count_fit(stream, an, keep_entries)
    n = vb.n_terms
    return Counted(n_docs, vb.terms(), vb.df[:n].copy(), vb.tf[:n].copy(),
                   *(entries or (None, None, None)))


def _stack_counted(parts: list[Counted]) -> Counted:
    shift = 0
    offs = [np.zeros(1, np.int64)]
    for p in parts:
        offs.append(p.doc_off[1:] + shift)
        shift += int(p.doc_off[-1])
    return Counted(
        sum(p.n_docs for p in parts),
        None,
        None,
        None,
        np.concatenate(offs),
        np.concatenate([p.u_term for p in parts]) if parts else np.zeros(0, np.int64),
        np.concatenate([p.u_count for p in parts]) if parts else np.zeros(0, np.int64),
    )


def hashing_transform(docs, spec: TextSpec, n_features: int, alternate_sign: bool,
                      binary: bool, norm, dtype):
    """HashingVectorizer's (n_documents, n_features) CSR, counted and normalised by the
    kernels."""
    parts = hashing_counts(_buffers(docs, spec), analysis(spec), int(n_features),
                           bool(alternate_sign))
    return _reference.hashed_csr(parts, int(n_features), dtype, binary, norm, tfidf)


def tfidf(X, idf, sublinear: bool, norm):
    """In place on scipy CSR X (float), one parallel pass per row: 1 + log(tf), times
    ``idf`` (None: none), then l1 / l2 (sums in float64, all-zero rows left alone).
    Returns X."""
    idf_arr = idf if idf is not None else np.ones(1, X.dtype)
    parallel_for(K.tfidf_rows, X.shape[0], X.indptr, X.indices, X.data, idf_arr,
                 idf is not None, bool(sublinear), _NORM_CODE[norm])
    return X
