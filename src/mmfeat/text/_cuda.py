"""The ``cuda`` backend of the text vectorizers (word analyzer) on the device.

``HashingVectorizer.transform``; ``CountVectorizer``/``TfidfVectorizer``
``fit``, ``transform`` and ``fit_transform`` (the vocabulary is counted on the
device by :func:`count_fit`, sorted and pruned on the host, then looked up on the
device in an open-addressing table built on the device from the terms the fit left
there: only the column -> term id map goes up, never the terms); and
``TfidfTransformer`` on a device CSR.

Host <-> device copies of documents and of the counted vocabulary go through the
pinned staging buffers of :func:`mmfeat._gpu.to_device` / :func:`~mmfeat._gpu.to_host`
(reused across batches; pageable copies ran at 1.7-1.9 GB/s on the H100 host).

Documents go to the device as Arrow-style buffers (UTF-8 bytes + int64 offsets,
built on the host by :func:`mmfeat.text._input.to_buffers`). The Numba CUDA
kernels of :mod:`mmfeat.kernels.text_cuda` tokenize (one thread per document,
with the Unicode tables copied to the device once) and hash every n-gram; CuPy's
sort, a segmented sum (scan) and a row count then assemble the CSR matrix, and a
kernel normalises its rows. Arrays are CuPy (NumPy under
``NUMBA_ENABLE_CUDASIM=1``); the result is a ``cupyx.scipy.sparse.csr_matrix``
(``scipy.sparse.csr_matrix`` under the simulator).

What runs here: the default word analyzer (``analyzer="word"``, the default
``token_pattern``, no ``tokenizer``/``preprocessor``/``strip_accents``,
``input="content"``) with any ``lowercase``, ``stop_words``, ``ngram_range``,
``n_features``, ``alternate_sign``, ``binary``, ``norm`` and ``dtype``. Anything
else raises a ValueError naming the parameter, never a silent CPU fallback.

The functions take documents, arrays, scalars and a
:class:`~mmfeat.text._spec.TextSpec` (the functions :mod:`mmfeat.text._dispatch`
lists, plus the device steps of ``CountVectorizer.fit_transform``), never an
estimator; a vocabulary fit that must run on the host (a parameter or a hash
collision the device path does not take) goes to :mod:`mmfeat.text._cpu`.
"""

from __future__ import annotations

import math

import numpy as np

from .._gpu import device_tables, launch_1d, to_device, to_host
from ..backend import cudasim_enabled, device_xp
from . import _cpu, _reference
from ._cpu import HashCollision
from ._input import NeedsReference, TextBuffers, to_buffers
from ._spec import TextSpec
from ._tables import get_tables

_NORM_CODE = {None: 0, "l1": 1, "l2": 2}


def check_params(spec: TextSpec, dtype) -> None:
    """ValueError naming the first parameter the cuda path does not implement."""
    default_pattern = r"(?u)\b\w\w+\b"
    checks = [
        ("input", spec.input, spec.input == "content", "'content'"),
        ("analyzer", spec.analyzer, isinstance(spec.analyzer, str) and spec.analyzer == "word",
         "'word'"),
        ("tokenizer", spec.tokenizer, spec.tokenizer is None, "None"),
        ("preprocessor", spec.preprocessor, spec.preprocessor is None, "None"),
        ("strip_accents", spec.strip_accents, not spec.strip_accents, "None"),
        ("token_pattern", spec.token_pattern, spec.token_pattern == default_pattern,
         repr(default_pattern)),
        # cupyx.scipy.sparse holds only floating (and complex) data
        ("dtype", dtype, np.dtype(dtype) in (np.float32, np.float64), "float32 or float64"),
    ]
    for name, value, ok, supported in checks:
        if not ok:
            raise ValueError(
                f"backend='cuda' is not available for the text vectorizers with "
                f"{name}={value!r} (the GPU path supports {name}={supported}); "
                "use backend='cpu'"
            )


def _supported(spec: TextSpec, dtype) -> bool:
    try:
        check_params(spec, dtype)
    except ValueError:
        return False
    return True


def _device_tables():
    """The Unicode tables on the device, copied once per device."""
    def build():
        t = get_tables()
        return (t.cls, t.low, t.low_ext)

    return device_tables("unicode", build)


def _growth_bound(lens, xp):
    """Bytes each document's processed text may need (lower-casing can grow it)."""
    g = get_tables().growth
    num, den = int(math.ceil(g * 2)), 2
    return (lens * num + den - 1) // den + 2


def _kernels():
    from ..kernels import text_cuda

    return text_cuda


def _table_size(n: int) -> int:
    """Slots of the open-addressing table of ``n`` terms: a power of two >= 2 n (>= 16)."""
    size = 16
    while size < 2 * max(n, 1):
        size *= 2
    return size


def _term_table(term_buf: np.ndarray, term_off: np.ndarray):
    """(table, term_hash, term_off, term_buf) on the device for ``lookup_term``: an
    open-addressing table (linear probing from MurmurHash3 & (size - 1)) of term ids,
    built on the host (:func:`_host_term_table`) and copied to the device.

    ``term_buf`` / ``term_off`` (n + 1, from 0): term t is term_buf[off[t]:off[t + 1]].
    """
    return tuple(to_device(a) for a in _host_term_table(term_buf, term_off))


def _host_term_table(term_buf: np.ndarray, term_off: np.ndarray):
    """:func:`_term_table`'s arrays on the host."""
    from .._workers import parallel_for
    from ..kernels import text as K

    n = term_off.shape[0] - 1
    term_hash = np.empty(n, np.uint64)
    parallel_for(K.murmur_spans, n, term_buf, term_off, term_hash)  # compiled: vocabularies
    table = np.zeros(_table_size(n), np.int32)
    K.rehash(term_hash, n, table)  # the CPU kernel probes exactly as lookup_term
    # writable copies (term_buf may view a bytes object; the simulator writes back)
    return tuple(np.array(a, order="C") for a in (table, term_hash, term_off, term_buf))


def _stop_table(spec: TextSpec):
    """(has_stop, table...) of the stop words (checked against the preprocessing, with
    scikit-learn's warning, by the estimator that made ``spec``), built and copied to
    the device once per list of words and device, not once per batch."""
    stop = spec.stop_words
    words = sorted(stop) if stop else []
    try:
        joined = _joined_bytes([w.encode("utf-8") for w in words])
    except (UnicodeEncodeError, AttributeError):
        raise ValueError(
            "backend='cuda' is not available for the text vectorizers with stop words that "
            "are not UTF-8 encodable str; use backend='cpu'"
        ) from None
    key = ("stop_words", joined[0].tobytes(), joined[1].tobytes())
    return bool(words), device_tables(key, lambda: _host_term_table(*joined))


def _stage1(tb: TextBuffers, spec: TextSpec):
    """Documents to the device, processed text (``preprocess_word``), n-gram offsets."""
    K = _kernels()
    xp = device_xp()
    n_docs = len(tb)
    lo, hi = int(tb.offs[0]), int(tb.offs[-1])
    # new device arrays (the Arrow buffers are read-only; the simulator writes arguments
    # back) through pinned staging buffers: asynchronous DMAs, the host goes on to the
    # stop-word table while they run
    buf = to_device(tb.buf[lo:hi] if hi > lo else np.zeros(1, np.uint8))
    offs = to_device(tb.offs - lo, np.int64)
    cls, low, low_ext = _device_tables()
    bound = _growth_bound(offs[1:] - offs[:-1], xp)
    out_start = xp.zeros(n_docs + 1, np.int64)
    out_start[1:] = xp.cumsum(bound)
    out = xp.empty(max(int(out_start[-1]), 1), np.uint8)
    plen = xp.empty(n_docs, np.int64)
    ntok = xp.empty(n_docs, np.int64)
    has_stop, stop = _stop_table(spec)
    launch_1d(K.preprocess_word, n_docs, buf, offs, cls, low, low_ext, bool(spec.lowercase),
            has_stop, *stop, out_start, out, plen, ntok)
    min_n, max_n = int(spec.ngram_range[0]), int(spec.ngram_range[1])
    ng = xp.zeros(n_docs, np.int64)
    for n in range(min_n, max_n + 1):
        ng += xp.maximum(ntok - (n - 1), 0)
    ng_off = xp.zeros(n_docs + 1, np.int64)
    ng_off[1:] = xp.cumsum(ng)
    return out, out_start, plen, ntok, ng_off, min_n, max_n


def hashed_pairs(tb: TextBuffers, spec: TextSpec, n_features: int, alternate_sign: bool):
    """(keys, signs) on the device: ``row * n_features + column`` and +-1 per n-gram."""
    xp = device_xp()
    out, out_start, plen, _, ng_off, min_n, max_n = _stage1(tb, spec)
    total = int(ng_off[-1])
    keys = xp.empty(max(total, 1), np.int64)
    signs = xp.empty(max(total, 1), np.int8)
    launch_1d(_kernels().hash_word_ngrams, len(tb), out, out_start, plen, min_n, max_n, ng_off,
            np.int64(n_features), bool(alternate_sign), keys, signs)
    return keys[:total], signs[:total]


def pairs_to_csr(keys, signs, n_docs: int, n_features: int, dtype, binary: bool, norm):
    """Sum the signs (None: 1 each) of equal keys (sort, then a scan); negative keys are
    dropped. CSR with sorted column indices (scikit-learn's order)."""
    xp = device_xp()
    order = xp.argsort(keys)
    k = keys[order]
    v = signs[order].astype(np.int64) if signs is not None else xp.ones(k.shape[0], np.int64)
    first_kept = int((k < 0).sum())  # the dropped keys sort first
    k = k[first_kept:]
    v = v[first_kept:]
    m = k.shape[0]
    if m:
        first = xp.empty(m, dtype=bool)
        first[0] = True
        xp.not_equal(k[1:], k[:-1], out=first[1:])
        starts = xp.flatnonzero(first)
        csum = xp.cumsum(v)
        ends = xp.concatenate([starts[1:] - 1, xp.asarray([m - 1], dtype=starts.dtype)])
        sums = csum[ends] - csum[starts] + v[starts]
        uk = k[starts]
    else:
        sums = xp.zeros(0, np.int64)
        uk = xp.zeros(0, np.int64)
    rows = uk // n_features
    cols = uk - rows * n_features
    counts = xp.bincount(rows, minlength=n_docs) if uk.shape[0] else xp.zeros(n_docs, np.int64)
    nnz = int(uk.shape[0])
    idx_t = np.int32 if nnz <= np.iinfo(np.int32).max and n_features <= np.iinfo(np.int32).max \
        else np.int64
    indptr = xp.zeros(n_docs + 1, idx_t)
    indptr[1:] = xp.cumsum(counts)
    data = sums.astype(dtype)
    if binary:
        data.fill(1)
    indices = cols.astype(idx_t)
    if norm is not None and nnz:
        launch_1d(_kernels().tfidf_rows, n_docs, indptr, indices, data, xp.ones(1, data.dtype),
                False, False, _NORM_CODE[norm])
    return _csr(data, indices, indptr, (n_docs, n_features))


def _csr(data, indices, indptr, shape):
    if cudasim_enabled():
        import scipy.sparse as sp

        X = sp.csr_matrix((data, indices, indptr), shape=shape)
    else:
        import cupyx.scipy.sparse as csp

        X = csp.csr_matrix((data, indices, indptr), shape=shape)
    # the columns of each row come out of the sort ascending (scikit-learn's order)
    _mark_sorted(X, True)
    return X


def _mark_sorted(X, flag: bool) -> None:
    try:
        X.has_sorted_indices = flag
    except AttributeError:  # a sparse class without the setter: it checks when asked
        pass


def vstack(blocks):
    """Stack device CSR matrices (batches) into one."""
    if cudasim_enabled():
        import scipy.sparse as sp

        return sp.vstack(blocks, format="csr")
    import cupyx.scipy.sparse as csp

    return csp.vstack(blocks, format="csr")


def _host_buffers(spec: TextSpec, docs) -> TextBuffers:
    """The documents' Arrow buffers (host), or the cuda backend's error for text that
    UTF-8 cannot carry (the reference path it would need runs on the CPU only)."""
    try:
        return to_buffers(docs, spec.encoding, spec.decode_error)
    except NeedsReference:
        raise ValueError(
            "backend='cuda': raw_documents contain text that UTF-8 cannot encode (lone "
            "surrogates); use backend='cpu'"
        ) from None


def hashing_transform(docs, spec: TextSpec, n_features: int, alternate_sign: bool,
                      binary: bool, norm, dtype):
    """``HashingVectorizer.transform`` on the device (the other parameters validated by
    the caller)."""
    check_params(spec, dtype)
    tb = _host_buffers(spec, docs)
    n_docs = len(tb)
    if n_docs == 0:
        raise ValueError("Cannot vectorize empty sequence.")
    keys, signs = hashed_pairs(tb, spec, int(n_features), alternate_sign)
    return pairs_to_csr(keys, signs, n_docs, int(n_features), dtype, binary, norm)


# --- CountVectorizer / TfidfVectorizer with a fitted vocabulary -------------------------

#: the host steps of counting (a vocabulary learnt on the host, a fallback)
vocabulary_table = _cpu.vocabulary_table
sort_terms = _cpu.sort_terms
assemble_csr = _cpu.assemble_csr


def _joined_bytes(terms: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """(buf, off) of byte strings laid end to end."""
    off = np.zeros(len(terms) + 1, np.int64)
    off[1:] = np.cumsum([len(t) for t in terms])
    return np.frombuffer(b"".join(terms) or b"\0", np.uint8), off


def _arrow_bytes(arr) -> tuple[np.ndarray, np.ndarray]:
    """(buf, off from 0) of a pyarrow string array, without Python strings."""
    from ._cpu import _arrow_buffers

    tb = _arrow_buffers(arr)
    off = np.ascontiguousarray(tb.offs - tb.offs[0])
    buf = np.ascontiguousarray(tb.buf[int(tb.offs[0]) : int(tb.offs[-1])])
    return (buf if buf.shape[0] else np.zeros(1, np.uint8)), off


def device_id() -> int:
    """The current device (what a :func:`device_vocabulary` table lives on)."""
    return 0 if cudasim_enabled() else device_xp().cuda.Device().id


def device_vocabulary(vocab):
    """``_term_table`` of a fitted vocabulary (term id = column) on the current device:
    a PendingVocabulary (built on the device from the terms its fit left there, else
    from its Arrow terms, so the dict and its Python strings are never made) or a dict
    term -> column."""
    from ._vocabulary import PendingVocabulary

    if isinstance(vocab, PendingVocabulary):
        dev = getattr(vocab, "device_terms", None)
        if dev is not None and dev.device == device_id():
            return _device_term_table(dev, vocab)
        buf, off = _arrow_bytes(vocab.terms_by_column())
    else:
        terms = [b""] * len(vocab)
        try:
            for term, col in vocab.items():
                terms[int(col)] = term.encode("utf-8")
        except (UnicodeEncodeError, AttributeError):
            raise ValueError(
                "backend='cuda' is not available for the text vectorizers with a "
                "vocabulary_ term that is not a UTF-8 encodable str; use backend='cpu'"
            ) from None
        buf, off = _joined_bytes(terms)
    return _term_table(buf, off)


def _device_term_table(dev: DeviceTerms, vocab):
    """:func:`_term_table` of a fitted PendingVocabulary from the terms its fit left on
    the device: only the term id of each column goes up (8 bytes a term); the kept
    terms' bytes and hashes are gathered into column order and the open-addressing
    table is filled (``insert_terms``) on the device."""
    K = _kernels()
    xp = device_xp()
    n = len(vocab)
    ids = np.empty(n, np.int64)
    ids[vocab.cols] = vocab.kept  # the term id of each column
    # the kept terms' byte count, from the host copy of the offsets (no device sync)
    host_off = np.frombuffer(vocab.names.buffers()[1], np.int64)[
        vocab.names.offset : vocab.names.offset + len(vocab.names) + 1]
    n_bytes = int((host_off[ids + 1] - host_off[ids]).sum())
    ids_d = to_device(ids)
    c_start = dev.off[ids_d]
    c_len = dev.off[ids_d + 1] - c_start
    c_off = xp.zeros(n + 1, np.int64)
    c_off[1:] = xp.cumsum(c_len)
    c_buf = xp.empty(max(n_bytes, 1), np.uint8)
    launch_1d(K.gather_spans, n, dev.buf, c_start, c_len, c_off, c_buf)
    c_hash = xp.ascontiguousarray(dev.hash[ids_d])
    table = xp.zeros(_table_size(n), np.int32)
    launch_1d(K.insert_terms, n, c_hash, table)
    return table, c_hash, c_off, c_buf


def device_stage(spec: TextSpec, docs):
    """(n_docs, stage-1 arrays): the documents copied to the device and tokenized once,
    for :func:`count_fit` and :func:`count_matrix` to share in ``fit_transform``."""
    tb = _host_buffers(spec, docs)
    return len(tb), _stage1(tb, spec)


def count_matrix(stage, vocabulary, n_cols: int, dtype, binary: bool):
    """The count matrix of the tokenized documents (``stage``) over a fitted vocabulary
    (:func:`device_vocabulary`'s table, ``n_cols`` terms)."""
    n_docs, (out, out_start, plen, _, ng_off, min_n, max_n) = stage
    xp = device_xp()
    table, term_hash, term_off, term_buf = vocabulary
    total = int(ng_off[-1])
    keys = xp.empty(max(total, 1), np.int64)
    launch_1d(_kernels().count_word_ngrams, n_docs, out, out_start, plen, min_n, max_n, ng_off,
            table, term_hash, term_off, term_buf, np.int64(n_cols), keys)
    return pairs_to_csr(keys[:total], None, n_docs, n_cols, dtype, binary, None)


def _stable_argsort(xp, a):
    """argsort keeping equal keys in index order: CuPy's always is (its documented
    ``kind=None``); NumPy's (the simulator) must be asked."""
    return np.argsort(a, kind="stable") if xp is np else xp.argsort(a)


def _to_host(a) -> np.ndarray:
    return a.get() if hasattr(a, "get") else np.asarray(a)


def count(docs, spec: TextSpec, batches: bool, table, keep_entries: bool, dtype=None,
          stage=None) -> _reference.Counted:
    """Terms counted per document (see :func:`mmfeat.text._reference.count`): a fit's
    vocabulary alone (no ``table``, no batches, ``keep_entries`` False) on the device
    (:func:`count_fit`) where the parameters allow, everything else on the host
    (:func:`mmfeat.text._cpu.count`, ``table`` being its vocabulary table)."""
    if table is None and not (batches or keep_entries) and _supported(spec, dtype):
        try:
            return count_fit(spec, docs, stage)
        except HashCollision:
            pass  # a 64-bit collision: counted on the CPU below
    return _cpu.count(docs, spec, batches, table, keep_entries)


def count_fit(spec: TextSpec, docs, stage=None) -> _reference.Counted:
    """The vocabulary of ``docs`` counted on the device: its terms (a pyarrow string
    array, in order of first occurrence), document and term frequencies.

    Every n-gram gets a 64-bit hash and its span, stored in scikit-learn's analyzer
    order (``ngram_spans``); CuPy's stable sort groups equal hashes with their first
    occurrence first, every member of a group is checked byte by byte against it
    (``verify_groups``; a 64-bit collision raises ``HashCollision`` and the caller
    counts on the CPU), a scan over the sorted documents gives the document
    frequencies, and the distinct terms' bytes are gathered in first-occurrence
    order. Only the vocabulary (terms, df, tf) comes back to the host, where
    :meth:`CountVectorizer._learn_vocabulary` sorts and prunes it as on the CPU.
    ``stage``: :func:`device_stage` of ``docs`` when the caller has it already.
    """
    import pyarrow as pa

    K = _kernels()
    xp = device_xp()
    n_docs, (out, out_start, plen, ntok, ng_off, min_n, max_n) = stage or device_stage(spec, docs)
    total = int(ng_off[-1])
    if total == 0:
        empty = pa.array([], type=pa.large_string())
        return _reference.Counted(n_docs, empty, np.zeros(0, np.int64), np.zeros(0, np.int64),
                                  None, None, None)
    hashes = xp.empty(total, np.uint64)
    starts = xp.empty(total, np.int64)
    lens = xp.empty(total, np.int64)
    launch_1d(K.ngram_spans, n_docs, out, out_start, plen, ntok, min_n, max_n, ng_off, hashes,
            starts, lens)
    order = _stable_argsort(xp, hashes)  # equal hashes: first occurrence first
    h = hashes[order]
    first = xp.empty(total, dtype=bool)
    first[0] = True
    xp.not_equal(h[1:], h[:-1], out=first[1:])
    gid = xp.cumsum(first) - 1
    group_first = xp.flatnonzero(first)
    n_groups = int(group_first.shape[0])
    bad = xp.zeros(1, np.int32)
    launch_1d(K.verify_groups, total, out, starts, lens, order, group_first, gid, bad)
    if int(_to_host(bad)[0]):
        raise HashCollision
    # a group's entries are in position order, so its documents ascend: count changes
    doc = xp.searchsorted(ng_off[1:], order, side="right")
    new_doc = first.copy()
    xp.logical_or(new_doc[1:], doc[1:] != doc[:-1], out=new_doc[1:])
    df = xp.bincount(gid[new_doc], minlength=n_groups)
    tf = xp.bincount(gid, minlength=n_groups)
    first_pos = order[group_first]
    by_first = xp.argsort(first_pos)  # term ids: groups in order of first occurrence
    t_pos = first_pos[by_first]
    t_start = starts[t_pos]
    t_len = lens[t_pos]
    t_off = xp.zeros(n_groups + 1, np.int64)
    t_off[1:] = xp.cumsum(t_len)
    term_buf = xp.empty(max(int(t_off[-1]), 1), np.uint8)
    launch_1d(K.gather_spans, n_groups, out, t_start, t_len, t_off, term_buf)
    # the one trip of the vocabulary to the host (its sort and pruning run there, and it
    # becomes vocabulary_), through the pinned staging buffers; the terms stay on the
    # device too (DeviceTerms), for device_vocabulary to build the lookup table from
    off = to_host(t_off)
    terms = pa.LargeStringArray.from_buffers(
        n_groups, pa.py_buffer(off), pa.py_buffer(to_host(term_buf[: int(off[-1])])),
    )
    freq = to_host(xp.stack([df[by_first], tf[by_first]]).astype(np.int64))
    c = _reference.Counted(n_docs, terms, freq[0], freq[1], None, None, None)
    # hash64's high word is lookup_term's MurmurHash3 (seed 0) of the same bytes
    term_hash = h[group_first][by_first] >> np.uint64(32)
    c.device_terms = DeviceTerms(device_id(), term_buf, t_off, term_hash)
    return c


class DeviceTerms:
    """The terms counted by :func:`count_fit`, kept on the device (``device``): term t
    (id in order of first occurrence) is ``buf[off[t]:off[t + 1]]`` with
    ``lookup_term``'s hash ``hash[t]``. :func:`device_vocabulary` builds the fitted
    vocabulary's lookup table from them, so the vocabulary is never copied back up."""

    __slots__ = ("device", "buf", "off", "hash")

    def __init__(self, device: int, buf, off, hash_):
        self.device = device
        self.buf = buf
        self.off = off
        self.hash = hash_


def first_occurrence_order(X, cols: np.ndarray):
    """Each row's entries in the order of their terms' first occurrence in the corpus.

    scikit-learn's fit_transform sorts a row by term id (ids given in order of first
    occurrence), then renames ids to alphabetical columns without re-sorting. The
    fitted vocabulary lists its terms in that first-occurrence order
    (``CountVectorizer._learn_vocabulary`` keeps them so): ``cols`` (n_cols,), the
    column of each term in that order, gives the rank.
    """
    xp = device_xp()
    n_docs, n_cols = X.shape
    rank = np.empty(n_cols, np.int64)
    rank[cols] = np.arange(n_cols)
    rank = to_device(rank)  # pinned staging, as every other copy of the text path
    # row of each entry (cupy.repeat takes no array of repeats)
    rows = xp.searchsorted(X.indptr[1:], xp.arange(X.indices.shape[0]), side="right")
    order = xp.argsort(rows * n_cols + rank[X.indices])
    Y = _csr(X.data[order], X.indices[order], X.indptr, X.shape)
    _mark_sorted(Y, False)
    return Y


# --- TfidfTransformer on a device CSR ---------------------------------------------------


def is_device_csr(X) -> bool:
    return type(X).__module__.split(".")[0] == "cupyx"


def as_device_csr(X, dtype=None):
    """A float CSR on the device (cupyx; scipy under the simulator), a copy of X's data."""
    if cudasim_enabled():
        import scipy.sparse as sp

        X = sp.csr_matrix(X)
    else:
        import cupyx.scipy.sparse as csp

        X = csp.csr_matrix(X) if is_device_csr(X) else csp.csr_matrix(_host_csr(X))
    if dtype is None:
        dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
    return X.astype(dtype) if X.dtype != dtype else X.copy()


def _host_csr(X):
    import scipy.sparse as sp

    return sp.csr_matrix(X)


def document_frequencies(X):
    """(df on the host, n_samples) of a device CSR: its nonzeros per column."""
    xp = device_xp()
    X = as_device_csr(X)
    df = xp.bincount(X.indices, minlength=X.shape[1])
    return to_host(df), int(X.shape[0])


def tfidf(X, idf, sublinear: bool, norm):
    """sublinear tf, idf and row normalisation of a device CSR, in place on a copy."""
    xp = device_xp()
    X = as_device_csr(X)
    use_idf = idf is not None
    idf_dev = to_device(idf, X.dtype) if use_idf else xp.ones(1, X.dtype)
    launch_1d(_kernels().tfidf_rows, X.shape[0], X.indptr, X.indices, X.data, idf_dev, use_idf,
            bool(sublinear), _NORM_CODE[norm])
    return X
