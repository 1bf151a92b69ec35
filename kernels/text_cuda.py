"""Numba CUDA kernels for the text vectorizers; imported only on first GPU use.

Layout contract as in :mod:`kernels.text` (CPU): documents arrive Arrow-style
(``buf`` uint8 valid UTF-8, ``offs`` int64 n_docs + 1), ``cls``/``low``/``low_ext``
are the Unicode tables of :mod:`mmfeat.text._tables` on the device.

The scalar functions are device twins of the CPU kernels' (the CPU ones are
``njit`` dispatchers that call other dispatchers, which a CUDA kernel cannot):
UTF-8 decode/encode, CPython's Final_Sigma rule, the lower-case lookup and
MurmurHash3_x86_32. ``tests/cudasim/test_text_sim.py`` checks each twin against
its CPU original on the same bytes, so they cannot drift unnoticed.

Kernels (one thread per document, grid-stride):

* ``preprocess_word``: the default word analyzer's processed text, the kept
  tokens (>= 2 word characters of the lower-cased text) each followed by one
  space, so that a word n-gram is the contiguous span ``" ".join(tokens)``;
  writes its byte length and its token count.
* ``hash_word_ngrams``: for every n-gram, its HashingVectorizer key
  ``row * n_features + column`` and sign (MurmurHash3, seed 0, of its bytes).
* ``count_word_ngrams``: the same walk, each n-gram looked up in the fitted
  vocabulary (an open-addressing table on the device): key ``row * n_cols + column``.
* ``ngram_spans``, ``verify_groups``, ``gather_spans``: fitting the vocabulary
  (each n-gram's 64-bit hash and span in scikit-learn's order; the byte check of
  each group of equal hashes after CuPy's sort; the distinct terms' bytes).
* ``insert_terms``: a fitted vocabulary's lookup table filled on the device from the
  terms its fit left there (no host round trip of the vocabulary).
* ``tfidf_rows``: sublinear tf, idf and l1 / l2 per CSR row, accumulating in float64 and skipping
  all-zero rows, as scikit-learn's ``inplace_csr_row_normalize_l1/l2``.

Every kernel is compiled with ``cache=True`` (numba-cuda's on-disk cache, keyed by
signature and compute capability: a new process loads the cubin instead of running
NVVM; the simulator accepts and ignores the flag). The grid-stride loops are
``while`` loops: ``range(start, n, stride)`` computes its trip count with a 64-bit
division subroutine call.
"""

import math

import numpy as np

# numba-cuda (0.2x) still names np.row_stack, which NumPy 2.5 removed; its typing
# registry then fails to load and no kernel compiles. It was an alias of vstack.
if not hasattr(np, "row_stack"):
    np.row_stack = np.vstack

from numba import cuda  # noqa: E402

WORD = 1
CASE_IGNORABLE = 8
CASED = 16

_M32 = np.uint64(0xFFFFFFFF)
_SEED2 = 0x9747B28C  # hash64's second seed


# --- scalar device functions (twins of kernels/text.py) ---------------------------


@cuda.jit(device=True)
def decode(buf, i):
    """(code point, byte length) of the UTF-8 sequence starting at buf[i]."""
    b = np.int64(buf[i])
    if b < 0x80:
        return b, np.int64(1)
    if b < 0xE0:
        return ((b & 0x1F) << 6) | (np.int64(buf[i + 1]) & 0x3F), np.int64(2)
    if b < 0xF0:
        return (((b & 0x0F) << 12) | ((np.int64(buf[i + 1]) & 0x3F) << 6)
                | (np.int64(buf[i + 2]) & 0x3F)), np.int64(3)
    return (((b & 0x07) << 18) | ((np.int64(buf[i + 1]) & 0x3F) << 12)
            | ((np.int64(buf[i + 2]) & 0x3F) << 6) | (np.int64(buf[i + 3]) & 0x3F)), np.int64(4)


@cuda.jit(device=True)
def encode(cp, out, o):
    """Write code point cp as UTF-8 at out[o]; return the number of bytes."""
    if cp < 0x80:
        out[o] = cp
        return np.int64(1)
    if cp < 0x800:
        out[o] = 0xC0 | (cp >> 6)
        out[o + 1] = 0x80 | (cp & 0x3F)
        return np.int64(2)
    if cp < 0x10000:
        out[o] = 0xE0 | (cp >> 12)
        out[o + 1] = 0x80 | ((cp >> 6) & 0x3F)
        out[o + 2] = 0x80 | (cp & 0x3F)
        return np.int64(3)
    out[o] = 0xF0 | (cp >> 18)
    out[o + 1] = 0x80 | ((cp >> 12) & 0x3F)
    out[o + 2] = 0x80 | ((cp >> 6) & 0x3F)
    out[o + 3] = 0x80 | (cp & 0x3F)
    return np.int64(4)


@cuda.jit(device=True)
def final_sigma(buf, b0, b1, i, cls):
    """CPython's Final_Sigma test for the U+03A3 at buf[i] (2 bytes) in doc [b0, b1)."""
    j = i
    found = False
    while j > b0:
        j -= 1
        while (buf[j] & 0xC0) == 0x80:
            j -= 1
        cp, _ = decode(buf, j)
        c = cls[cp]
        if c & CASE_IGNORABLE:
            continue
        found = (c & CASED) != 0
        break
    if not found:
        return False
    j = i + 2
    while j < b1:
        cp, n = decode(buf, j)
        c = cls[cp]
        if c & CASE_IGNORABLE:
            j += n
            continue
        return (c & CASED) == 0
    return True


@cuda.jit(device=True)
def lower_at(buf, i, b0, b1, cls, low, low_ext, lower):
    """Code points of the (lower-cased) character at buf[i]: (n, c0, c1, c2, bytes)."""
    cp, nb = decode(buf, i)
    none = np.int64(-1)
    if not lower:
        return np.int64(1), cp, none, none, nb
    if cp < 0x80:  # str.lower() maps exactly A-Z in ASCII
        if 65 <= cp <= 90:
            cp += 32
        return np.int64(1), cp, none, none, nb
    m = np.int64(low[cp])
    if m >= 0:
        if cp == 0x3A3 and final_sigma(buf, b0, b1, i, cls):
            return np.int64(1), np.int64(0x3C2), none, none, nb
        return np.int64(1), m, none, none, nb
    r = -m - 1
    w = low_ext.shape[1]
    c0 = np.int64(low_ext[r, 0])
    c1 = np.int64(low_ext[r, 1]) if w > 1 else none
    c2 = np.int64(low_ext[r, 2]) if w > 2 else none
    n = np.int64(1)
    if c1 >= 0:
        n += 1
    if c2 >= 0:
        n += 1
    return n, c0, c1, c2, nb


@cuda.jit(device=True)
def _rotl32(x, r):
    return ((x << np.uint64(r)) | (x >> np.uint64(32 - r))) & _M32


@cuda.jit(device=True)
def _mix_k(k):
    k = (k * np.uint64(0xCC9E2D51)) & _M32
    k = _rotl32(k, 15)
    return (k * np.uint64(0x1B873593)) & _M32


@cuda.jit(device=True)
def murmur3_u32(buf, s, e):
    """MurmurHash3_x86_32 (seed 0) of buf[s:e], unsigned (in a uint64)."""
    return murmur3_u32_seeded(buf, s, e, np.uint64(0))


@cuda.jit(device=True)
def hash64(buf, s, e):
    """A 64-bit hash of buf[s:e] for the vocabulary sort: MurmurHash3 with two seeds
    side by side (32-bit arithmetic only, as the simulator's NumPy scalars need).
    Equal hashes are confirmed byte by byte (``verify_groups``)."""
    return (murmur3_u32_seeded(buf, s, e, np.uint64(0)) << np.uint64(32)) | murmur3_u32_seeded(
        buf, s, e, np.uint64(_SEED2)
    )


@cuda.jit(device=True)
def murmur3_u32_seeded(buf, s, e, seed):
    """MurmurHash3_x86_32 of buf[s:e] with a 32-bit ``seed``, unsigned (in a uint64)."""
    h = seed
    n = e - s
    nblocks = n // 4
    for b in range(nblocks):
        p = s + 4 * b
        k = (np.uint64(buf[p]) | (np.uint64(buf[p + 1]) << np.uint64(8))
             | (np.uint64(buf[p + 2]) << np.uint64(16)) | (np.uint64(buf[p + 3]) << np.uint64(24)))
        h ^= _mix_k(k)
        h = _rotl32(h, 13)
        h = (h * np.uint64(5) + np.uint64(0xE6546B64)) & _M32
    t = s + 4 * nblocks
    rem = n & 3
    k = np.uint64(0)
    if rem == 3:
        k ^= np.uint64(buf[t + 2]) << np.uint64(16)
    if rem >= 2:
        k ^= np.uint64(buf[t + 1]) << np.uint64(8)
    if rem >= 1:
        k ^= np.uint64(buf[t])
        h ^= _mix_k(k)
    h ^= np.uint64(n)
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x85EBCA6B)) & _M32
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(0xC2B2AE35)) & _M32
    h ^= h >> np.uint64(16)
    return h


@cuda.jit(device=True)
def murmur3_32(buf, s, e):
    """MurmurHash3_x86_32 (seed 0) of buf[s:e] as a signed int32 (scikit-learn's)."""
    v = np.int64(murmur3_u32(buf, s, e))
    if v >= 0x80000000:
        v -= 0x100000000
    return v


@cuda.jit(device=True)
def hashed_column(h, n_features):
    """scikit-learn's column of a signed 32-bit hash (abs(INT_MIN) special-cased).

    In 32 bits: scikit-learn bounds ``n_features`` by 2**31 - 1, so both remainders'
    operands are below 2**31 (no 64-bit division subroutine)."""
    n = np.uint32(n_features)
    if h == -2147483648:
        return np.int64(np.uint32(np.uint32(2147483647) - (n - np.uint32(1))) % n)
    return np.int64(np.uint32(abs(h)) % n)


# --- stage 1: the word analyzer's processed text ----------------------------------


@cuda.jit(device=True)
def _close_run(out, o, run_start, run_len, has_stop, stop_table, stop_hash, stop_off, stop_buf):
    """End of a run of word characters: keep it (>= 2 characters and not a stop word,
    then a space) or drop it."""
    if run_len >= 2 and not (has_stop and lookup_term(out, run_start, o, stop_table, stop_hash,
                                                      stop_off, stop_buf) >= 0):
        out[o] = 32
        return o + 1, np.int64(1)
    return run_start, np.int64(0)


@cuda.jit(cache=True)
def preprocess_word(buf, offs, cls, low, low_ext, lower, has_stop, stop_table, stop_hash,
                    stop_off, stop_buf, out_start, out, plen, ntok):
    """Per document: kept tokens of ``(?u)\\b\\w\\w+\\b`` on ``doc.lower()``, each + " ".

    Tokens found in the stop-word table (``has_stop``) are dropped before n-grams
    are formed, as scikit-learn does."""
    d = cuda.grid(1)
    stride = cuda.gridsize(1)
    while d < plen.shape[0]:
        b0 = offs[d]
        b1 = offs[d + 1]
        o0 = out_start[d]
        o = o0
        run_start = o0
        run_len = 0
        nt = 0
        i = b0
        while i < b1:
            ne, c0, c1, c2, nb = lower_at(buf, i, b0, b1, cls, low, low_ext, lower)
            i += nb
            for q in range(ne):
                c = c0
                if q == 1:
                    c = c1
                elif q == 2:
                    c = c2
                if cls[c] & WORD:
                    if run_len == 0:
                        run_start = o
                    o += encode(c, out, o)
                    run_len += 1
                elif run_len > 0:
                    o, kept = _close_run(out, o, run_start, run_len, has_stop, stop_table,
                                         stop_hash, stop_off, stop_buf)
                    nt += kept
                    run_len = 0
        if run_len > 0:
            o, kept = _close_run(out, o, run_start, run_len, has_stop, stop_table, stop_hash,
                                 stop_off, stop_buf)
            nt += kept
        plen[d] = o - o0
        ntok[d] = nt
        d += stride


# --- stage 2: hashed n-grams ------------------------------------------------------------


@cuda.jit(device=True)
def _extend_left(out, s, p):
    """Start of the n-gram one token longer than the one starting at ``p`` in the
    processed text starting at ``s`` (tokens each followed by one space); -1 when
    ``p`` is the first token."""
    if p == s:
        return -1
    p -= 1  # the space ending the previous token
    while p > s and out[p - 1] != 32:
        p -= 1
    return p


@cuda.jit(cache=True)
def hash_word_ngrams(out, out_start, plen, min_n, max_n, ng_off, n_features, alternate_sign,
                     keys, signs):
    """Per document d: key ``d * n_features + column`` and sign of every word n-gram.

    The n-grams ending at a token are found by walking back over the spaces of the
    processed text, so no per-thread array of token starts is needed.
    """
    d = cuda.grid(1)
    stride = cuda.gridsize(1)
    while d < plen.shape[0]:
        s = out_start[d]
        e = s + plen[d]
        g = ng_off[d]
        t0 = s  # start of the current token
        for k in range(s, e):
            if out[k] != 32:
                continue
            p = t0  # start of the n-gram ending with this token
            for n in range(1, max_n + 1):
                if n > 1:
                    p = _extend_left(out, s, p)
                    if p < 0:
                        break
                if n >= min_n:
                    h = murmur3_32(out, p, k)
                    keys[g] = np.int64(d) * n_features + hashed_column(h, n_features)
                    if alternate_sign and h < 0:
                        signs[g] = -1
                    else:
                        signs[g] = 1
                    g += 1
            t0 = k + 1
        d += stride


@cuda.jit(device=True)
def _same_bytes(a, s1, n1, b, s2, n2):
    if n1 != n2:
        return False
    for k in range(n1):
        if a[s1 + k] != b[s2 + k]:
            return False
    return True


@cuda.jit(device=True)
def lookup_term(out, s, e, table, term_hash, term_off, term_buf):
    """Column of the term out[s:e] in the vocabulary's open-addressing table, or -1.

    ``table[slot]`` holds column + 1 (0: empty), linear probing from
    ``hash & (size - 1)``; ``term_hash`` is MurmurHash3 (unsigned) per column and a
    hash hit is confirmed byte by byte, so colliding terms are never merged.
    """
    h = murmur3_u32(out, s, e)
    mask = table.shape[0] - 1
    slot = np.int64(h & np.uint64(mask))
    while True:
        t = np.int64(table[slot]) - 1
        if t < 0:
            return np.int64(-1)
        if term_hash[t] == h and _same_bytes(out, s, e - s, term_buf, term_off[t],
                                             term_off[t + 1] - term_off[t]):
            return t
        slot = (slot + 1) & mask


@cuda.jit(cache=True)
def count_word_ngrams(out, out_start, plen, min_n, max_n, ng_off, table, term_hash, term_off,
                      term_buf, n_cols, keys):
    """Per document d: key ``d * n_cols + column`` of every word n-gram in the
    vocabulary, -1 for the others (walked as in ``hash_word_ngrams``)."""
    d = cuda.grid(1)
    stride = cuda.gridsize(1)
    while d < plen.shape[0]:
        s = out_start[d]
        e = s + plen[d]
        g = ng_off[d]
        t0 = s
        for k in range(s, e):
            if out[k] != 32:
                continue
            p = t0
            for n in range(1, max_n + 1):
                if n > 1:
                    p = _extend_left(out, s, p)
                    if p < 0:
                        break
                if n >= min_n:
                    t = lookup_term(out, p, k, table, term_hash, term_off, term_buf)
                    if t >= 0:
                        keys[g] = np.int64(d) * n_cols + t
                    else:
                        keys[g] = -1
                    g += 1
            t0 = k + 1
        d += stride


# --- fitting the vocabulary --------------------------------------------------------------


@cuda.jit(cache=True)
def ngram_spans(out, out_start, plen, ntok, min_n, max_n, ng_off, hashes, starts, lens):
    """Per document d: every word n-gram's ``hash64``, start and length in ``out``,
    stored at its position in scikit-learn's analyzer order, by n then by first token:
    ``ng_off[d]`` + (n-grams of the sizes min_n .. n - 1) + (index of its first token).

    The n-grams are walked as in ``hash_word_ngrams`` (ending token by ending token);
    the position puts them back in the order scikit-learn meets them, which fixes
    the vocabulary's first-occurrence order.
    """
    d = cuda.grid(1)
    stride = cuda.gridsize(1)
    while d < plen.shape[0]:
        s = out_start[d]
        e = s + plen[d]
        T = ntok[d]
        g0 = ng_off[d]
        t0 = s
        j = 0  # index of the token ending at k
        for k in range(s, e):
            if out[k] != 32:
                continue
            p = t0
            base = 0  # n-grams of the sizes min_n .. n - 1 in this document
            for n in range(1, max_n + 1):
                if n > 1:
                    p = _extend_left(out, s, p)
                    if p < 0:
                        break
                if n >= min_n:
                    pos = g0 + base + (j - n + 1)
                    hashes[pos] = hash64(out, p, k)
                    starts[pos] = p
                    lens[pos] = k - p
                    base += max(T - n + 1, 0)
            t0 = k + 1
            j += 1
        d += stride


@cuda.jit(cache=True)
def verify_groups(out, starts, lens, order, group_first, gid, bad):
    """bad[0] = 1 if some n-gram differs in bytes from the first n-gram of its group
    of equal hashes (``order``: positions sorted by hash; ``group_first[g]``: index in
    ``order`` where group g starts; ``gid``: group of each sorted entry)."""
    i = cuda.grid(1)
    stride = cuda.gridsize(1)
    while i < order.shape[0]:
        a = order[i]
        r = order[group_first[gid[i]]]
        if not _same_bytes(out, starts[a], lens[a], out, starts[r], lens[r]):
            bad[0] = 1
        i += stride


@cuda.jit(cache=True)
def gather_spans(out, t_start, t_len, t_off, term_buf):
    """term_buf[t_off[t]:t_off[t + 1]] = out[t_start[t]:t_start[t] + t_len[t]] per term t."""
    t = cuda.grid(1)
    stride = cuda.gridsize(1)
    while t < t_start.shape[0]:
        o = t_off[t]
        a = t_start[t]
        for q in range(t_len[t]):
            term_buf[o + q] = out[a + q]
        t += stride


@cuda.jit(cache=True)
def insert_terms(term_hash, table):
    """``lookup_term``'s open-addressing table of a vocabulary on the device:
    ``table`` (zeros, a power of two >= 2 n slots) gets t + 1 for every term t, by
    linear probing from ``term_hash[t] & (size - 1)``.

    A slot is claimed by compare-and-swap, so the inserts may run in any order: every
    slot on a term's probe path was taken when the term claimed its own, and slots are
    never emptied, so ``lookup_term`` meets the term before an empty slot."""
    t = cuda.grid(1)
    stride = cuda.gridsize(1)
    mask = table.shape[0] - 1
    while t < term_hash.shape[0]:
        slot = np.int64(term_hash[t] & np.uint64(mask))
        v = np.int32(t + 1)
        while cuda.atomic.cas(table, slot, np.int32(0), v) != 0:
            slot = (slot + 1) & mask
        t += stride


# --- normalisation -----------------------------------------------------------------------


@cuda.jit(cache=True)
def tfidf_rows(indptr, indices, data, idf, use_idf, sublinear, norm):
    """In place, per row: tf -> 1 + log(tf), times idf, then l1 (norm 1) / l2 (norm 2).

    The norm accumulates in float64 and all-zero rows are left alone, as scikit-learn's
    ``inplace_csr_row_normalize_l1/l2`` (and the CPU kernel ``tfidf_rows``).
    """
    i = cuda.grid(1)
    stride = cuda.gridsize(1)
    while i < indptr.shape[0] - 1:
        a = indptr[i]
        b = indptr[i + 1]
        for j in range(a, b):
            x = data[j]
            if sublinear:
                x = math.log(x) + 1.0
            if use_idf:
                x = x * idf[indices[j]]
            data[j] = x
        if norm != 0:
            _normalise_row(data, a, b, norm)
        i += stride


@cuda.jit(device=True)
def _normalise_row(data, a, b, norm):
    """data[a:b] /= its l1 (norm 1) or l2 (norm 2) norm, summed in float64; an all-zero
    row is left alone."""
    s = 0.0
    for j in range(a, b):
        x = np.float64(data[j])
        if norm == 1:
            s += abs(x)
        else:
            s += x * x
    if s == 0.0:
        return
    if norm == 2:
        s = math.sqrt(s)
    for j in range(a, b):
        data[j] = data[j] / s
