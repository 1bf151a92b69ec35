"""Numba CPU kernels for the text vectorizers (``@njit(parallel=True, cache=True)``).

Layout contract (the public layer guarantees it, kernels trust it):

* documents arrive Arrow-style: ``buf`` (uint8, valid UTF-8) and ``offs``
  (int64, n_docs + 1); document ``d`` is ``buf[offs[d]:offs[d + 1]]``.
* ``cls``, ``low``, ``low_ext`` are the Unicode tables of
  :mod:`mmfeat.text._tables` (class bits, lower-case mapping).
* analyzers: ``KIND_WORD`` (default token pattern ``(?u)\\b\\w\\w+\\b``),
  ``KIND_CHAR``, ``KIND_CHAR_WB``, with scikit-learn's n-gram order.

Stages: ``preprocess`` writes each document's processed text (lower-cased;
word: the kept tokens each followed by one space, so that a word n-gram is a
contiguous byte span equal to ``" ".join(tokens)``; char: white-space runs
collapsed; char_wb: the words as ``" w1 w2 ... "``) and counts its n-grams.
``doc_terms`` hashes every n-gram span (64-bit) and reduces each document to
its distinct n-grams in order of first occurrence. ``local_vocabulary``
(parallel over document ranges) reduces each range to its distinct n-grams, then
``merge_vocabulary`` (serial, over those only) gives each new n-gram the next id,
keeping its bytes; every hash hit is verified byte by byte, so a 64-bit
collision is detected, never merged.
``hashed_counts`` is HashingVectorizer's MurmurHash3 path.
"""

import numba
import numpy as np

_jit = dict(cache=True, error_model="numpy", fastmath=False)
# kernels over a range [d0, d1) of documents, GIL released: mmfeat.text._cpu.parallel_for
# runs ranges on threads (parallel=True loops cost ~40% more compilation for the same speed)
_pjit = dict(nogil=True, **_jit)
# tiny helpers: LLVM-level inlining (no IR-level inline="always", which compiles slowly)
_jit_inline = dict(forceinline=True, **_jit)

KIND_WORD = 0
KIND_CHAR = 1
KIND_CHAR_WB = 2

WORD = 1
RE_SPACE = 2
SPLIT_SPACE = 4
CASE_IGNORABLE = 8
CASED = 16

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_M32 = np.uint64(0xFFFFFFFF)


# --- UTF-8 ----------------------------------------------------------------------


@numba.njit(**_jit_inline)
def _decode(buf, i):
    """(code point, byte length) of the UTF-8 sequence starting at buf[i]."""
    b = np.int64(buf[i])
    if b < 0x80:
        return b, 1
    if b < 0xE0:
        return ((b & 0x1F) << 6) | (np.int64(buf[i + 1]) & 0x3F), 2
    if b < 0xF0:
        return (((b & 0x0F) << 12) | ((np.int64(buf[i + 1]) & 0x3F) << 6)
                | (np.int64(buf[i + 2]) & 0x3F)), 3
    return (((b & 0x07) << 18) | ((np.int64(buf[i + 1]) & 0x3F) << 12)
            | ((np.int64(buf[i + 2]) & 0x3F) << 6) | (np.int64(buf[i + 3]) & 0x3F)), 4


@numba.njit(**_jit_inline)
def _encode(cp, out, o):
    """Write code point cp as UTF-8 at out[o]; return the number of bytes."""
    if cp < 0x80:
        out[o] = cp
        return 1
    if cp < 0x800:
        out[o] = 0xC0 | (cp >> 6)
        out[o + 1] = 0x80 | (cp & 0x3F)
        return 2
    if cp < 0x10000:
        out[o] = 0xE0 | (cp >> 12)
        out[o + 1] = 0x80 | ((cp >> 6) & 0x3F)
        out[o + 2] = 0x80 | (cp & 0x3F)
        return 3
    out[o] = 0xF0 | (cp >> 18)
    out[o + 1] = 0x80 | ((cp >> 12) & 0x3F)
    out[o + 2] = 0x80 | ((cp >> 6) & 0x3F)
    out[o + 3] = 0x80 | (cp & 0x3F)
    return 4


@numba.njit(**_jit)
def _final_sigma(buf, b0, b1, i, cls):
    """CPython's Final_Sigma test for the U+03A3 at buf[i] (2 bytes) in doc [b0, b1)."""
    j = i
    found = False
    while j > b0:
        j -= 1
        while (buf[j] & 0xC0) == 0x80:
            j -= 1
        cp, _ = _decode(buf, j)
        c = cls[cp]
        if c & CASE_IGNORABLE:
            continue
        found = (c & CASED) != 0
        break
    if not found:
        return False
    j = i + 2
    while j < b1:
        cp, n = _decode(buf, j)
        c = cls[cp]
        if c & CASE_IGNORABLE:
            j += n
            continue
        return (c & CASED) == 0
    return True


# --- hashing --------------------------------------------------------------------


@numba.njit(**_jit_inline)
def hash64(buf, s, e):
    """64-bit FNV-1a of buf[s:e] with a final avalanche (murmur3's fmix64)."""
    h = _FNV_OFFSET
    for k in range(s, e):
        h = (h ^ np.uint64(buf[k])) * _FNV_PRIME
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    return h


@numba.njit(**_jit_inline)
def _rotl32(x, r):
    return ((x << np.uint64(r)) | (x >> np.uint64(32 - r))) & _M32


@numba.njit(**_jit)
def murmur3_32(buf, s, e):
    """MurmurHash3_x86_32 (seed 0) of buf[s:e] as a signed int32 (scikit-learn's)."""
    c1 = np.uint64(0xCC9E2D51)
    c2 = np.uint64(0x1B873593)
    h = np.uint64(0)
    n = e - s
    nblocks = n // 4
    for b in range(nblocks):
        p = s + 4 * b
        k = (np.uint64(buf[p]) | (np.uint64(buf[p + 1]) << np.uint64(8))
             | (np.uint64(buf[p + 2]) << np.uint64(16)) | (np.uint64(buf[p + 3]) << np.uint64(24)))
        k = (k * c1) & _M32
        k = _rotl32(k, 15)
        k = (k * c2) & _M32
        h ^= k
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
        k = (k * c1) & _M32
        k = _rotl32(k, 15)
        k = (k * c2) & _M32
        h ^= k
    h ^= np.uint64(n)
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x85EBCA6B)) & _M32
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(0xC2B2AE35)) & _M32
    h ^= h >> np.uint64(16)
    v = np.int64(h)
    if v >= 0x80000000:
        v -= 0x100000000
    return v


@numba.njit(**_jit_inline)
def _same_bytes(a, s1, n1, b, s2, n2):
    if n1 != n2:
        return False
    for k in range(n1):
        if a[s1 + k] != b[s2 + k]:
            return False
    return True


@numba.njit(**_jit)
def _is_stop(out, s, e, stop_h, stop_buf, stop_off):
    """Is out[s:e] one of the stop words (sorted hashes, bytes for the check)?"""
    if stop_h.shape[0] == 0:
        return False
    h = hash64(out, s, e)
    k = np.searchsorted(stop_h, h)
    while k < stop_h.shape[0] and stop_h[k] == h:
        if _same_bytes(out, s, e - s, stop_buf, stop_off[k], stop_off[k + 1] - stop_off[k]):
            return True
        k += 1
    return False


# --- stage 1: preprocessing -------------------------------------------------------


@numba.njit(**_jit)
def _lower_at(buf, i, b0, b1, cls, low, low_ext, lower):
    """Code points of the (lower-cased) non-ASCII character at buf[i]: (n, c0, c1, c2, bytes)."""
    cp, nb = _decode(buf, i)
    if not lower:
        return 1, cp, np.int64(-1), np.int64(-1), nb
    m = low[cp]
    if m >= 0:
        if cp == 0x3A3 and _final_sigma(buf, b0, b1, i, cls):
            return 1, np.int64(0x3C2), np.int64(-1), np.int64(-1), nb
        return 1, np.int64(m), np.int64(-1), np.int64(-1), nb
    r = -m - 1
    w = low_ext.shape[1]
    c0 = np.int64(low_ext[r, 0])
    c1 = np.int64(low_ext[r, 1]) if w > 1 else np.int64(-1)
    c2 = np.int64(low_ext[r, 2]) if w > 2 else np.int64(-1)
    n = 1 + np.int64(c1 >= 0) + np.int64(c2 >= 0)
    return n, c0, c1, c2, nb


def ascii_word_map(cls, lower):
    """256 bytes: an ASCII word byte -> itself (lower-cased if ``lower``), another ASCII
    byte -> 0, a byte >= 0x80 -> 0xFF (see :func:`_preprocess_word`)."""
    m = np.full(256, 0xFF, np.uint8)
    for b in range(128):
        if cls[b] & WORD:
            m[b] = b + 32 if (lower and 65 <= b <= 90) else b
        else:
            m[b] = 0
    return m


@numba.njit(**_jit_inline)
def _close_word(out, run_start, o, run_len, has_stop, stop_h, stop_buf, stop_off):
    """End of a run of word characters at out[o]: keep it (plus a space) or drop it."""
    if run_len >= 2 and not (has_stop and _is_stop(out, run_start, o, stop_h, stop_buf,
                                                   stop_off)):
        out[o] = 32
        return o + 1
    return run_start


@numba.njit(**_jit)
def _preprocess_word(buf, b0, b1, cls, low, low_ext, lower, stop_h, stop_buf, stop_off, out, o0,
                     ascii_map):
    """``_preprocess_one`` for the word analyzer, with runs of ASCII bytes in tight loops.

    Documents are mostly ASCII: ``ascii_map`` (256 bytes) maps an ASCII word
    byte to itself lower-cased (``str.lower`` maps exactly A-Z there), any other
    ASCII byte to 0 and every byte >= 0x80 to 0xFF, so a run of ASCII word bytes
    is copied with one table load and one compare per byte; the rest takes the
    general decode / lower-case / class path.
    """
    o = o0
    run_start = o0
    run_len = 0  # code points in the current run of word characters (only >= 2 matters)
    has_stop = stop_h.shape[0] > 0
    i = b0
    while i < b1:
        x = ascii_map[buf[i]]
        if x != 0xFF:
            if x != 0:  # a run of ASCII word bytes
                if run_len == 0:
                    run_start = o
                j = i
                while True:
                    out[o] = x
                    o += 1
                    j += 1
                    if j >= b1:
                        break
                    x = ascii_map[buf[j]]
                    if x == 0 or x == 0xFF:
                        break
                run_len += j - i
                i = j
            else:
                if run_len > 0:
                    o = _close_word(out, run_start, o, run_len, has_stop, stop_h, stop_buf,
                                    stop_off)
                    run_len = 0
                i += 1
            continue
        ne, c0, c1, c2, nb = _lower_at(buf, i, b0, b1, cls, low, low_ext, lower)
        i += nb
        for q in range(ne):
            c = c0 if q == 0 else (c1 if q == 1 else c2)
            if cls[c] & WORD:
                if run_len == 0:
                    run_start = o
                o += _encode(c, out, o)
                run_len += 1
            elif run_len > 0:
                o = _close_word(out, run_start, o, run_len, has_stop, stop_h, stop_buf, stop_off)
                run_len = 0
    if run_len > 0:
        o = _close_word(out, run_start, o, run_len, has_stop, stop_h, stop_buf, stop_off)
    return o - o0


@numba.njit(**_jit)
def _preprocess_one(buf, b0, b1, cls, low, low_ext, kind, lower, stop_h, stop_buf, stop_off,
                    out, o0, ascii_map):
    """Processed text of doc [b0, b1) written at out[o0:]; returns its byte length.

    word: the kept tokens each followed by one space; char: white-space runs
    collapsed to one space; char_wb: the ``str.split()`` words as ``" w1 w2 ... "``.
    """
    if kind == KIND_WORD:
        return _preprocess_word(buf, b0, b1, cls, low, low_ext, lower, stop_h, stop_buf,
                                stop_off, out, o0, ascii_map)
    o = o0
    space_run = 0  # char: consecutive re-\s characters seen (collapsed at >= 2)
    space_at = o0
    in_word = False  # char_wb: inside a str.split() word
    i = b0
    while i < b1:
        b = buf[i]
        if b < 0x80:  # ASCII, inline: str.lower() maps exactly A-Z
            ne = 1
            c0 = np.int64(b)
            if lower and 65 <= c0 <= 90:
                c0 += 32
            c1 = np.int64(-1)
            c2 = np.int64(-1)
            nb = 1
        else:
            ne, c0, c1, c2, nb = _lower_at(buf, i, b0, b1, cls, low, low_ext, lower)
        i += nb
        for q in range(ne):
            c = c0 if q == 0 else (c1 if q == 1 else c2)
            cc = cls[c]
            if kind == KIND_CHAR:
                if cc & RE_SPACE:
                    space_run += 1
                    if space_run == 1:
                        space_at = o
                        o += _encode(c, out, o)
                    elif space_run == 2:
                        o = space_at
                        out[o] = 32
                        o += 1
                else:
                    space_run = 0
                    o += _encode(c, out, o)
            else:  # char_wb: " w1 w2 ... wk " (one space between padded words)
                if cc & SPLIT_SPACE:
                    in_word = False
                else:
                    if not in_word:  # the padding space before the word
                        out[o] = 32
                        o += 1
                        in_word = True
                    o += _encode(c, out, o)
    if kind == KIND_CHAR_WB and o > o0:
        out[o] = 32
        o += 1
    return o - o0


@numba.njit(**_jit)
def _count_units(out, s, e, kind):
    """Tokens (word) or code points (char, char_wb) of a processed text."""
    n = 0
    if kind == KIND_WORD:
        for k in range(s, e):
            if out[k] == 32:
                n += 1
    else:
        for k in range(s, e):
            if (out[k] & 0xC0) != 0x80:
                n += 1
    return n


@numba.njit(**_jit)
def _unit_bounds(out, s, e, kind, starts):
    """starts[u] = byte offset of unit u, starts[n] = end (word: end of last token + 1)."""
    n = 0
    if kind == KIND_WORD:
        starts[0] = s
        for k in range(s, e):
            if out[k] == 32:
                n += 1
                starts[n] = k + 1
    else:
        for k in range(s, e):
            if (out[k] & 0xC0) != 0x80:
                starts[n] = k
                n += 1
        starts[n] = e
    return n


@numba.njit(**_jit)
def _n_windows(L, min_n, max_n):
    t = 0
    for n in range(min_n, max_n + 1):
        if L >= n:
            t += L - n + 1
    return t


@numba.njit(**_jit)
def _count_ngrams(out, s, e, kind, min_n, max_n):
    """Number of n-grams scikit-learn's analyzer yields for a processed text."""
    if kind != KIND_CHAR_WB:
        return _n_windows(_count_units(out, s, e, kind), min_n, max_n)
    # char_wb: per padded word of L code points, windows for n < L, and the whole
    # word once for the first n >= L
    t = 0
    L = 1  # the leading space
    for k in range(s + 1, e):
        if (out[k] & 0xC0) == 0x80:
            continue
        L += 1
        if out[k] == 32:
            for n in range(min_n, max_n + 1):
                if n >= L:
                    t += 1
                    break
                t += L - n + 1
            L = 1
    return t


@numba.njit(**_pjit)
def preprocess(d0, d1, buf, offs, cls, low, low_ext, kind, lower, stop_h, stop_buf, stop_off,
               min_n, max_n, out_start, out, plen, ngrams, ascii_map):
    """Stage 1 for every document (parallel): processed text, its length, its n-grams.

    ``out_start[d]`` is the region of doc d in ``out`` (the caller sizes it for the
    most that lower-casing can grow the text, plus the padding spaces);
    ``ascii_map`` is :func:`ascii_word_map`'s table for ``lower``.
    """
    for d in range(d0, d1):
        o0 = out_start[d]
        n = _preprocess_one(buf, offs[d], offs[d + 1], cls, low, low_ext, kind, lower,
                            stop_h, stop_buf, stop_off, out, o0, ascii_map)
        plen[d] = n
        ngrams[d] = _count_ngrams(out, o0, o0 + n, kind, min_n, max_n)


# --- stage 2: n-grams of one document -----------------------------------------------


@numba.njit(**_jit)
def _range_scratch(d0, d1, ng_off, plen):
    """Work arrays for a range of documents, allocated once rather than per document:
    a hash table big enough for the largest document, and its unit offsets."""
    m = 0
    n = 0
    for d in range(d0, d1):
        m = max(m, ng_off[d + 1] - ng_off[d])
        n = max(n, plen[d])
    size = 16
    while size < 2 * m:
        size *= 2
    return np.empty(size, np.int32), np.empty(n + 2, np.int64)


@numba.njit(**_jit_inline)
def _doc_table(tab_all, m):
    """A cleared power-of-two slice of ``tab_all`` at least twice the doc's n-grams."""
    size = 16
    while size < 2 * m:
        size *= 2
    tab = tab_all[:size]
    tab[:] = 0
    return tab


@numba.njit(**_jit_inline)
def _add_term(out, ss, ee, tab, g, nu, u_hash, u_count, u_start, u_len):
    """Count n-gram out[ss:ee] in the doc table; returns (distinct so far, collision)."""
    h = hash64(out, ss, ee)
    mask = tab.shape[0] - 1
    slot = np.int64(h & np.uint64(mask))
    while True:
        k = tab[slot]
        if k == 0:
            tab[slot] = nu + 1
            u_hash[g + nu] = h
            u_count[g + nu] = 1
            u_start[g + nu] = ss
            u_len[g + nu] = ee - ss
            return nu + 1, False
        r = g + k - 1
        if u_hash[r] == h:
            u_count[r] += 1
            return nu, not _same_bytes(out, ss, ee - ss, out, u_start[r], u_len[r])
        slot = (slot + 1) & mask


@numba.njit(**_pjit)
def doc_terms(d0, d1, out, out_start, plen, kind, min_n, max_n, ng_off,
              u_hash, u_count, u_start, u_len, n_unique, collision):
    """Stage 2 (parallel): each document's distinct n-grams, in order of first occurrence.

    Doc d writes ``n_unique[d]`` entries at ``ng_off[d]`` of ``u_hash`` (64-bit
    hash), ``u_count`` (occurrences in d), ``u_start``/``u_len`` (the bytes of
    its first occurrence in ``out``); ``collision[d]`` flags two different
    n-grams of d with one hash.
    """
    tab_all, starts = _range_scratch(d0, d1, ng_off, plen)
    for d in range(d0, d1):
        m = ng_off[d + 1] - ng_off[d]
        n_unique[d] = 0
        collision[d] = False
        if m == 0:
            continue
        s = out_start[d]
        e = s + plen[d]
        tab = _doc_table(tab_all, m)
        g = ng_off[d]
        nu = 0
        bad = False
        if kind != KIND_CHAR_WB:
            nunits = _unit_bounds(out, s, e, kind, starts)
            trim = 1 if kind == KIND_WORD else 0  # a token ends before its space
            for n in range(min_n, max_n + 1):
                for i in range(nunits - n + 1):
                    nu, c = _add_term(out, starts[i], starts[i + n] - trim, tab, g, nu,
                                      u_hash, u_count, u_start, u_len)
                    bad |= c
        else:
            nunits = _unit_bounds(out, s, e, KIND_CHAR, starts)
            w0 = 0
            for u in range(1, nunits):
                if out[starts[u]] != 32:
                    continue
                L = u - w0 + 1
                for n in range(min_n, max_n + 1):
                    if n >= L:
                        nu, c = _add_term(out, starts[w0], starts[u + 1], tab, g, nu,
                                          u_hash, u_count, u_start, u_len)
                        bad |= c
                        break
                    for i in range(w0, u - n + 2):
                        nu, c = _add_term(out, starts[i], starts[i + n], tab, g, nu,
                                          u_hash, u_count, u_start, u_len)
                        bad |= c
                w0 = u
        n_unique[d] = nu
        collision[d] = bad


@numba.njit(**_pjit)
def compact(d0, d1, ng_off, n_unique, new_off, src_a, dst_a, src_b, dst_b):
    """Move each doc's entries from src[ng_off[d]:] to dst[new_off[d]:] (parallel)."""
    for d in range(d0, d1):
        for q in range(n_unique[d]):
            dst_a[new_off[d] + q] = src_a[ng_off[d] + q]
            dst_b[new_off[d] + q] = src_b[ng_off[d] + q]


# --- the vocabulary: an open-addressing table of 64-bit hashes -> term id ----------


@numba.njit(**_pjit)
def local_vocabulary(d0, d1, ng_off, n_unique, u_hash, u_count, u_start, u_len, out,
                     u_local, l_first, l_df, l_tf, n_local, collision):
    """Parallel first half of the vocabulary merge: the distinct n-grams of a document range.

    The range's k-th distinct n-gram (first-occurrence order) lives at slot
    ``base + k`` of ``l_first`` (its first entry), ``l_df`` and ``l_tf``, with
    ``base = ng_off[d0]``; ``n_local[d0]`` is the count (-1 at other documents)
    and ``u_local[e] = base + k`` for every entry ``e`` of the range. Hash hits
    are checked byte by byte; ``collision[d0]`` flags a 64-bit collision.
    """
    base = ng_off[d0]
    m = 0
    for d in range(d0, d1):
        m += n_unique[d]
        n_local[d] = -1
    size = 16
    while size < 2 * m:
        size *= 2
    tab = np.zeros(size, np.int32)
    mask = size - 1
    k = 0
    bad = False
    for d in range(d0, d1):
        for e in range(ng_off[d], ng_off[d] + n_unique[d]):
            h = u_hash[e]
            slot = np.int64(h & np.uint64(mask))
            while True:
                j = tab[slot] - 1
                if j < 0:
                    j = k
                    tab[slot] = k + 1
                    l_first[base + j] = e
                    l_df[base + j] = 0
                    l_tf[base + j] = 0
                    k += 1
                    break
                f = l_first[base + j]
                if u_hash[f] == h:
                    if not _same_bytes(out, u_start[e], u_len[e], out, u_start[f], u_len[f]):
                        bad = True
                    break
                slot = (slot + 1) & mask
            l_df[base + j] += 1
            l_tf[base + j] += u_count[e]
            u_local[e] = base + j
    n_local[d0] = k
    collision[d0] = bad


@numba.njit(**_jit)
def merge_vocabulary(ng_off, n_local, l_first, l_df, l_tf, u_hash, u_start, u_len, out, slots,
                     n_terms, term_off, term_buf, term_hash, counts, l_term):
    """Serial second half: each range's distinct n-grams into the vocabulary, in range order.

    A new n-gram gets the next term id (so ids follow first occurrence in the
    corpus) and its bytes are kept; ``l_term[j]`` receives the term id of range
    slot ``j``. ``slots`` (size a power of two, at most half full: the caller
    grows it) holds (term id + 1, hash) per slot, 0 = empty, so a probe touches
    one cache line. Matches are by 64-bit hash here; ``remap_terms`` then checks
    every match byte by byte in parallel (a collision is detected, never merged).
    ``counts[t]`` accumulates (document frequency, term frequency). Returns
    (n_terms, bytes used).
    """
    mask = slots.shape[0] - 1
    nb = term_off[n_terms]
    for d0 in range(n_local.shape[0]):
        if n_local[d0] < 0:
            continue
        base = ng_off[d0]
        for j in range(base, base + n_local[d0]):
            e = l_first[j]
            h = u_hash[e]
            hs = np.int64(h)
            slot = np.int64(h & np.uint64(mask))
            while True:
                t = slots[slot, 0] - 1
                if t < 0:
                    t = n_terms
                    slots[slot, 0] = t + 1
                    slots[slot, 1] = hs
                    ln = u_len[e]
                    for q in range(ln):
                        term_buf[nb + q] = out[u_start[e] + q]
                    nb += ln
                    term_off[t + 1] = nb
                    term_hash[t] = h
                    counts[t, 0] = 0
                    counts[t, 1] = 0
                    n_terms += 1
                    break
                if slots[slot, 1] == hs:
                    break
                slot = (slot + 1) & mask
            counts[t, 0] += l_df[j]
            counts[t, 1] += l_tf[j]
            l_term[j] = t
    return n_terms, nb


@numba.njit(**_pjit)
def remap_terms(d0, d1, ng_off, n_unique, n_local, l_first, l_term, u_start, u_len, out,
                term_off, term_buf, u_local, bad):
    """Parallel: entry -> term id through its range slot; each slot's bytes checked.

    ``bad[d]`` flags a range (starting at d) one of whose n-grams only shares its
    64-bit hash with the vocabulary term it was matched to.
    """
    for d in range(d0, d1):
        if n_local[d] >= 0:
            base = ng_off[d]
            for j in range(base, base + n_local[d]):
                e = l_first[j]
                t = l_term[j]
                if not _same_bytes(out, u_start[e], u_len[e], term_buf, term_off[t],
                                   term_off[t + 1] - term_off[t]):
                    bad[d] = True
        for e in range(ng_off[d], ng_off[d] + n_unique[d]):
            u_local[e] = l_term[u_local[e]]


@numba.njit(**_jit)
def rehash_slots(term_hash, n_terms, slots):
    """Re-insert terms 0..n_terms-1 (hashes known) into empty, larger (id + 1, hash) slots."""
    mask = slots.shape[0] - 1
    for t in range(n_terms):
        h = term_hash[t]
        slot = np.int64(h & np.uint64(mask))
        while slots[slot, 0] != 0:
            slot = (slot + 1) & mask
        slots[slot, 0] = t + 1
        slots[slot, 1] = np.int64(h)


@numba.njit(**_jit)
def build_table(term_buf, term_off, n_terms, table, term_hash):
    """Insert terms 0..n_terms-1; returns False if two terms share a 64-bit hash."""
    mask = table.shape[0] - 1
    for t in range(n_terms):
        h = hash64(term_buf, term_off[t], term_off[t + 1])
        term_hash[t] = h
        slot = np.int64(h & np.uint64(mask))
        while table[slot] != 0:
            if term_hash[table[slot] - 1] == h:
                return False
            slot = (slot + 1) & mask
        table[slot] = t + 1
    return True


@numba.njit(**_pjit)
def lookup_terms(d0, d1, ng_off, n_unique, u_hash, u_start, u_len, out, table, term_hash, term_off,
                 term_buf, u_term):
    """Parallel: term id of each entry in a fixed vocabulary, -1 if absent (bytes checked)."""
    mask = table.shape[0] - 1
    for d in range(d0, d1):
        for e in range(ng_off[d], ng_off[d] + n_unique[d]):
            _lookup_one(e, u_hash, u_start, u_len, out, table, term_hash, term_off, term_buf,
                        u_term, mask)


@numba.njit(**_jit)
def _lookup_one(e, u_hash, u_start, u_len, out, table, term_hash, term_off, term_buf, u_term,
                mask):
    if True:
        h = u_hash[e]
        slot = np.int64(h & np.uint64(mask))
        res = -1
        while True:
            t = table[slot] - 1
            if t < 0:
                break
            if term_hash[t] == h:
                if _same_bytes(out, u_start[e], u_len[e], term_buf, term_off[t],
                               term_off[t + 1] - term_off[t]):
                    res = t
                break
            slot = (slot + 1) & mask
        u_term[e] = res


@numba.njit(**_jit_inline)
def _insertion_sort(keys, vals, lo, hi):
    for i in range(lo + 1, hi):
        k = keys[i]
        v = vals[i]
        j = i
        while j > lo and keys[j - 1] > k:
            keys[j] = keys[j - 1]
            vals[j] = vals[j - 1]
            j -= 1
        keys[j] = k
        vals[j] = v


@numba.njit(**_jit_inline)
def _swap(keys, vals, a, b):
    keys[a], keys[b] = keys[b], keys[a]
    vals[a], vals[b] = vals[b], vals[a]


@numba.njit(**_jit)
def sort_pairs(keys, vals, lo, hi):
    """Sort keys[lo:hi] ascending in place, vals alongside (not stable).

    Quicksort (median-of-three pivot, the smaller side first from an explicit
    stack, so at most log2(n) ranges are pending) down to runs of 16, then
    insertion sort. Written out rather than np.argsort, whose compilation alone
    costs seconds, and which would need a second pass to carry ``vals``.
    """
    if hi - lo <= 16:
        _insertion_sort(keys, vals, lo, hi)
        return
    stack = np.empty((64, 2), np.int64)
    top = 0
    stack[0, 0] = lo
    stack[0, 1] = hi
    top = 1
    while top > 0:
        top -= 1
        a = stack[top, 0]
        b = stack[top, 1]
        while b - a > 16:
            m = a + (b - a) // 2
            z = b - 1
            if keys[m] < keys[a]:
                _swap(keys, vals, m, a)
            if keys[z] < keys[a]:
                _swap(keys, vals, z, a)
            if keys[z] < keys[m]:
                _swap(keys, vals, z, m)
            pivot = keys[m]  # keys[a] <= pivot <= keys[z]: sentinels for the scans
            i = a
            j = z
            while True:
                i += 1
                while keys[i] < pivot:
                    i += 1
                j -= 1
                while keys[j] > pivot:
                    j -= 1
                if i >= j:
                    break
                _swap(keys, vals, i, j)
            # [a, j] <= pivot <= [j + 1, b): push the larger side, loop on the smaller
            if j + 1 - a < b - (j + 1):
                stack[top, 0] = j + 1
                stack[top, 1] = b
                top += 1
                b = j + 1
            else:
                stack[top, 0] = a
                stack[top, 1] = j + 1
                top += 1
                a = j + 1
        _insertion_sort(keys, vals, a, b)


@numba.njit(**_jit_inline)
def _key_at(buf, off, t, depth):
    """Bytes 8*depth .. 8*depth+7 of string t, big-endian, zero-padded."""
    a = off[t] + 8 * depth
    n = off[t + 1] - a
    k = np.uint64(0)
    for q in range(8):
        k <<= np.uint64(8)
        if q < n:
            k |= np.uint64(buf[a + q])
    return k


@numba.njit(**_pjit)
def prefix_keys(d0, d1, buf, off, keys):
    """keys[t] = the first 8 bytes of string t, big-endian, zero-padded (byte order)."""
    for t in range(d0, d1):
        keys[t] = _key_at(buf, off, t, 0)


@numba.njit(**_pjit)
def sort_prefix_ties(order, keys, buf, off):
    """Finish a byte-order sort of distinct strings: ``order`` is sorted by the 8-byte
    ``keys``; each run of equal keys is sorted by the next 8 bytes, and so on (MSD
    radix by 8-byte digits, each string read once per level it needs)."""
    n = order.shape[0]
    digit = np.empty(n, np.uint64)
    stack = np.empty((n // 2 + 1, 3), np.int64)  # pending runs (lo, hi, depth); disjoint
    top = 0
    i = 0
    while i < n:
        j = i + 1
        while j < n and keys[order[j]] == keys[order[i]]:
            j += 1
        if j - i > 1:
            stack[top, 0] = i
            stack[top, 1] = j
            stack[top, 2] = 1
            top += 1
        i = j
    while top > 0:
        top -= 1
        lo = stack[top, 0]
        hi = stack[top, 1]
        depth = stack[top, 2]
        longest = 0
        for p in range(lo, hi):
            t = order[p]
            longest = max(longest, off[t + 1] - off[t])
        if 8 * depth >= longest:
            # equal once zero-padded, so each is a prefix of the longer ones: by length
            for p in range(lo, hi):
                digit[p] = off[order[p] + 1] - off[order[p]]
            sort_pairs(digit, order, lo, hi)
            continue
        for p in range(lo, hi):
            digit[p] = _key_at(buf, off, order[p], depth)
        sort_pairs(digit, order, lo, hi)
        i = lo
        while i < hi:
            j = i + 1
            while j < hi and digit[j] == digit[i]:
                j += 1
            if j - i > 1:
                stack[top, 0] = i
                stack[top, 1] = j
                stack[top, 2] = depth + 1
                top += 1
            i = j


# --- the count matrix ------------------------------------------------------------------


@numba.njit(**_pjit)
def row_nnz(d0, d1, doc_off, u_term, col_of, nnz):
    for d in range(d0, d1):
        c = 0
        for e in range(doc_off[d], doc_off[d + 1]):
            t = u_term[e]
            if t >= 0 and col_of[t] >= 0:
                c += 1
        nnz[d] = c


@numba.njit(**_pjit)
def fill_csr(d0, d1, doc_off, u_term, u_count, col_of, order_key, binary, indptr, indices, data):
    """Row d: the kept entries sorted by order_key[term] (scikit-learn's in-row order)."""
    for d in range(d0, d1):
        _fill_row(d, doc_off, u_term, u_count, col_of, order_key, binary, indptr, indices, data)


@numba.njit(**_jit)
def _fill_row(d, doc_off, u_term, u_count, col_of, order_key, binary, indptr, indices, data):
    p = indptr[d]
    n = indptr[d + 1] - p
    if n == 0:
        return
    # sort (key, entry) pairs, keys written into indices, entries into data
    c = p
    for e in range(doc_off[d], doc_off[d + 1]):
        t = u_term[e]
        if t >= 0 and col_of[t] >= 0:
            indices[c] = order_key[t]
            data[c] = e
            c += 1
    sort_pairs(indices, data, p, p + n)
    for j in range(p, p + n):
        e = data[j]
        indices[j] = col_of[u_term[e]]
        data[j] = 1 if binary else u_count[e]


# --- HashingVectorizer ----------------------------------------------------------------


@numba.njit(**_jit_inline)
def _add_hashed(out, ss, ee, n_features, alternate_sign, tab, g, nu, h_index, h_value):
    h = murmur3_32(out, ss, ee)
    if h == -2147483648:  # abs() would overflow int32: scikit-learn's special case
        j = (2147483647 - (n_features - 1)) % n_features
    elif (n_features & (n_features - 1)) == 0:  # the usual 2**k: a mask, not a division
        j = abs(h) & (n_features - 1)
    else:
        j = abs(h) % n_features
    v = (1 if h >= 0 else -1) if alternate_sign else 1
    mask = tab.shape[0] - 1
    slot = (j * 0x9E3779B1) & mask
    while True:
        k = tab[slot]
        if k == 0:
            tab[slot] = nu + 1
            h_index[g + nu] = j
            h_value[g + nu] = v
            return nu + 1
        if h_index[g + k - 1] == j:
            h_value[g + k - 1] += v
            return nu
        slot = (slot + 1) & mask


@numba.njit(**_pjit)
def hashed_counts(d0, d1, out, out_start, plen, kind, min_n, max_n, ng_off, n_features,
                  alternate_sign, h_index, h_value, n_unique):
    """Per document: summed (index, +-1) of MurmurHash3 of every n-gram, sorted by index.

    Entries that cancel to 0 stay as explicit zeros, as in scipy's sum_duplicates.
    """
    tab_all, starts = _range_scratch(d0, d1, ng_off, plen)
    for d in range(d0, d1):
        m = ng_off[d + 1] - ng_off[d]
        n_unique[d] = 0
        if m == 0:
            continue
        s = out_start[d]
        e = s + plen[d]
        tab = _doc_table(tab_all, m)
        g = ng_off[d]
        nu = 0
        if kind != KIND_CHAR_WB:
            nunits = _unit_bounds(out, s, e, kind, starts)
            trim = 1 if kind == KIND_WORD else 0
            for n in range(min_n, max_n + 1):
                for i in range(nunits - n + 1):
                    nu = _add_hashed(out, starts[i], starts[i + n] - trim, n_features,
                                     alternate_sign, tab, g, nu, h_index, h_value)
        else:
            nunits = _unit_bounds(out, s, e, KIND_CHAR, starts)
            w0 = 0
            for u in range(1, nunits):
                if out[starts[u]] != 32:
                    continue
                L = u - w0 + 1
                for n in range(min_n, max_n + 1):
                    if n >= L:
                        nu = _add_hashed(out, starts[w0], starts[u + 1], n_features,
                                         alternate_sign, tab, g, nu, h_index, h_value)
                        break
                    for i in range(w0, u - n + 2):
                        nu = _add_hashed(out, starts[i], starts[i + n], n_features,
                                         alternate_sign, tab, g, nu, h_index, h_value)
                w0 = u
        sort_pairs(h_index, h_value, g, g + nu)
        n_unique[d] = nu


@numba.njit(**_pjit)
def hash_spans(d0, d1, buf, offs, out):
    """64-bit hash of each string buf[offs[i]:offs[i+1]] (stop words, vocabularies)."""
    for i in range(d0, d1):
        out[i] = hash64(buf, offs[i], offs[i + 1])


@numba.njit(**_pjit)
def murmur_spans(d0, d1, buf, offs, out):
    """Unsigned 32-bit MurmurHash3 (seed 0) of each string buf[offs[i]:offs[i+1]]:
    ``sklearn.utils.murmurhash3_32(s, positive=True)`` (the GPU vocabulary table)."""
    for i in range(d0, d1):
        out[i] = np.uint64(murmur3_32(buf, offs[i], offs[i + 1]) & 0xFFFFFFFF)


@numba.njit(**_jit)
def rehash(term_hash, n_terms, table):
    """Re-insert terms 0..n_terms-1 (hashes known) into an empty, larger table."""
    mask = table.shape[0] - 1
    for t in range(n_terms):
        slot = np.int64(term_hash[t] & np.uint64(mask))
        while table[slot] != 0:
            slot = (slot + 1) & mask
        table[slot] = t + 1


# --- TF-IDF ----------------------------------------------------------------------------


@numba.njit(**_pjit)
def tfidf_rows(d0, d1, indptr, indices, data, idf, use_idf, sublinear, norm):
    """In place, per row (parallel): tf -> 1 + log(tf), times idf, then l1 (1) / l2 (2).

    The norm accumulates in float64 and skips all-zero rows, as scikit-learn's
    ``inplace_csr_row_normalize_l1/l2`` do.
    """
    for i in range(d0, d1):
        a = indptr[i]
        b = indptr[i + 1]
        for j in range(a, b):
            x = data[j]
            if sublinear:
                x = np.log(x)
                x += 1.0
            if use_idf:
                x *= idf[indices[j]]
            data[j] = x
        if norm == 0:
            continue
        s = 0.0
        for j in range(a, b):
            x = data[j]
            if norm == 1:
                s += abs(x)
            else:
                s += x * x
        if s == 0.0:
            continue
        if norm == 2:
            s = np.sqrt(s)
        for j in range(a, b):
            data[j] /= s
