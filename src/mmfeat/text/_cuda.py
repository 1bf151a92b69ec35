"""The ``cuda`` backend of the text vectorizers: ``HashingVectorizer`` on the device.

Documents go to the device as Arrow-style buffers (UTF-8 bytes + int64 offsets,
built on the host by :func:`mmfeat.text._input.to_buffers`). The Numba CUDA
kernels of :mod:`mmfeat.kernels.text_cuda` tokenize (one thread per document,
with the Unicode tables copied to the device once) and hash every n-gram; CuPy's
sort, a segmented sum (scan) and a row count then assemble the CSR matrix, and a
kernel normalises its rows. Arrays are CuPy (NumPy under
``NUMBA_ENABLE_CUDASIM=1``); the result is a ``cupyx.scipy.sparse.csr_matrix``
(``scipy.sparse.csr_matrix`` under the simulator).

What runs here: the default word analyzer (``analyzer="word"``, the default
``token_pattern``, no ``tokenizer``/``preprocessor``/``strip_accents``/
``stop_words``, ``input="content"``) with any ``lowercase``, ``ngram_range``,
``n_features``, ``alternate_sign``, ``binary``, ``norm`` and ``dtype``. Anything
else raises a ValueError naming the parameter, never a silent CPU fallback.
"""

from __future__ import annotations

import math

import numpy as np

from .. import config
from ..backend import cudasim_enabled, device_xp
from ._input import NeedsReference, TextBuffers
from ._tables import get_tables

_TABLES: dict = {}
_NORM_CODE = {"l1": 1, "l2": 2}


def check_hashing_params(vec) -> None:
    """ValueError naming the first parameter the cuda path does not implement."""
    default_pattern = r"(?u)\b\w\w+\b"
    checks = [
        ("input", vec.input == "content", "'content'"),
        ("analyzer", isinstance(vec.analyzer, str) and vec.analyzer == "word", "'word'"),
        ("tokenizer", vec.tokenizer is None, "None"),
        ("preprocessor", vec.preprocessor is None, "None"),
        ("strip_accents", not vec.strip_accents, "None"),
        ("stop_words", vec.stop_words is None, "None"),
        ("token_pattern", vec.token_pattern == default_pattern, repr(default_pattern)),
        # cupyx.scipy.sparse holds only floating (and complex) data
        ("dtype", np.dtype(vec.dtype) in (np.float32, np.float64), "float32 or float64"),
    ]
    for name, ok, supported in checks:
        if not ok:
            raise ValueError(
                f"backend='cuda': {name}={getattr(vec, name)!r} is not implemented on the GPU "
                f"for text yet (supported: {name}={supported}); use backend='cpu'"
            )


def _arg(a):
    """Kernel argument: CuPy arrays go in without Numba's per-launch stream sync
    (CuPy and Numba both use the legacy default stream, so ordering holds)."""
    if cudasim_enabled() or not hasattr(a, "__cuda_array_interface__"):
        return a
    from numba import cuda

    return cuda.as_cuda_array(a, sync=False)


def _launch(kernel, n_threads, *args):
    """One thread per item (grid-stride loops inside the kernels)."""
    tpb = int(config.THREADS_PER_BLOCK)
    blocks = max(1, min(math.ceil(max(n_threads, 1) / tpb), 8192))
    kernel[blocks, tpb](*[_arg(a) for a in args])


def _device_tables():
    """The Unicode tables on the device, copied once per device."""
    xp = device_xp()
    dev = 0 if cudasim_enabled() else xp.cuda.Device().id
    if dev not in _TABLES:
        t = get_tables()
        _TABLES[dev] = tuple(
            xp.asarray(np.ascontiguousarray(a)) for a in (t.cls, t.low, t.low_ext)
        )
    return _TABLES[dev]


def _growth_bound(lens, xp):
    """Bytes each document's processed text may need (lower-casing can grow it)."""
    g = get_tables().growth
    num, den = int(math.ceil(g * 2)), 2
    return (lens * num + den - 1) // den + 2


def _kernels():
    from ..kernels import text_cuda

    return text_cuda


def hashed_pairs(tb: TextBuffers, lowercase: bool, ngram_range, n_features: int,
                 alternate_sign: bool):
    """(keys, signs) on the device: ``row * n_features + column`` and +-1 per n-gram."""
    K = _kernels()
    xp = device_xp()
    n_docs = len(tb)
    lo, hi = int(tb.offs[0]), int(tb.offs[-1])
    buf = xp.asarray(np.ascontiguousarray(tb.buf[lo:hi]) if hi > lo else np.zeros(1, np.uint8))
    offs = xp.asarray(np.ascontiguousarray(tb.offs - lo, dtype=np.int64))
    cls, low, low_ext = _device_tables()
    bound = _growth_bound(offs[1:] - offs[:-1], xp)
    out_start = xp.zeros(n_docs + 1, np.int64)
    xp.cumsum(bound, out=out_start[1:])
    out = xp.empty(max(int(out_start[-1]), 1), np.uint8)
    plen = xp.empty(n_docs, np.int64)
    ntok = xp.empty(n_docs, np.int64)
    _launch(K.preprocess_word, n_docs, buf, offs, cls, low, low_ext, bool(lowercase),
            out_start, out, plen, ntok)
    min_n, max_n = int(ngram_range[0]), int(ngram_range[1])
    ng = xp.zeros(n_docs, np.int64)
    for n in range(min_n, max_n + 1):
        ng += xp.maximum(ntok - (n - 1), 0)
    ng_off = xp.zeros(n_docs + 1, np.int64)
    xp.cumsum(ng, out=ng_off[1:])
    total = int(ng_off[-1])
    keys = xp.empty(max(total, 1), np.int64)
    signs = xp.empty(max(total, 1), np.int8)
    _launch(K.hash_word_ngrams, n_docs, out, out_start, plen, min_n, max_n, ng_off,
            np.int64(n_features), bool(alternate_sign), keys, signs)
    return keys[:total], signs[:total]


def pairs_to_csr(keys, signs, n_docs: int, n_features: int, dtype, binary: bool, norm):
    """Sum the +-1 of equal keys (sort, then a scan), CSR with sorted column indices."""
    xp = device_xp()
    order = xp.argsort(keys)
    k = keys[order]
    v = signs[order].astype(np.int64)
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
    if norm is not None and nnz:
        _launch(_kernels().normalize_rows, n_docs, indptr, data, _NORM_CODE[norm])
    return _csr(data, cols.astype(idx_t), indptr, (n_docs, n_features))


def _csr(data, indices, indptr, shape):
    if cudasim_enabled():
        import scipy.sparse as sp

        X = sp.csr_matrix((data, indices, indptr), shape=shape)
    else:
        import cupyx.scipy.sparse as csp

        X = csp.csr_matrix((data, indices, indptr), shape=shape)
    # the columns of each row come out of the sort ascending (scikit-learn's order)
    X.has_sorted_indices = True
    return X


def vstack(blocks):
    """Stack device CSR matrices (batches) into one."""
    if cudasim_enabled():
        import scipy.sparse as sp

        return sp.vstack(blocks, format="csr")
    import cupyx.scipy.sparse as csp

    return csp.vstack(blocks, format="csr")


def hashing_transform(vec, docs):
    """``HashingVectorizer.transform`` on the device (parameters validated by the caller)."""
    check_hashing_params(vec)
    try:
        tb = vec._buffers(docs)
    except NeedsReference:
        raise ValueError(
            "backend='cuda': raw_documents contain text that UTF-8 cannot encode (lone "
            "surrogates); use backend='cpu'"
        ) from None
    n_docs = len(tb)
    if n_docs == 0:
        raise ValueError("Cannot vectorize empty sequence.")
    keys, signs = hashed_pairs(tb, vec.lowercase, vec.ngram_range, int(vec.n_features),
                               vec.alternate_sign)
    return pairs_to_csr(keys, signs, n_docs, int(vec.n_features), vec.dtype, vec.binary,
                        vec.norm)
