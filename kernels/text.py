"""Numba CPU kernels for the text vectorizers (``@njit(nogil=True, cache=True)`` over ranges).

Layout contract (the public layer guarantees it, kernels trust it):

* documents arrive Arrow-style: ``buf`` (uint8, valid UTF-8) and ``offs``
  (int64, n_docs + 1); document ``d`` is ``buf[offs[d]:offs[d + 1]]``.
* ``cls``, ``low``, ``low_ext`` are the Unicode tables of
  :mod:`mmfeat.text._tables` (class bits, lower-case mapping).
* analyzers: ``KIND_WORD`` (default token pattern ``(?u)\\b\\w\\w+\\b``),
  ``KIND_CHAR``, ``KIND_CHAR_WB``, with scikit-learn's n-gram order.

Stages: ``preprocess_word`` / ``preprocess_char`` write each document's processed
text (lower-cased; word: the kept tokens each followed by one space, so that a
word n-gram is a contiguous byte span equal to ``" ".join(tokens)``; char:
white-space runs collapsed; char_wb: the words as ``" w1 w2 ... "``) and count its
n-grams. ``word_terms`` / ``char_terms`` hash every n-gram span (64-bit) and
reduce each document to its distinct n-grams in order of first occurrence.
``local_vocabulary`` (parallel over document ranges) reduces each range to its
distinct n-grams, then ``merge_vocabulary`` (serial, over those only) gives each
new n-gram the next id, keeping its bytes; every hash hit is verified
(``_same_given_hash``: lengths always, bytes beyond 8, where the hash alone is not
injective), so a 64-bit collision is detected, never merged.
``hashed_word`` / ``hashed_char`` are HashingVectorizer's MurmurHash3 path.

Performance rules these kernels follow (each measured here): text is read 8 bytes
at a time (``_word_at``); a helper called per byte or per n-gram takes no array
arguments unless it inlines to straight-line code (Numba otherwise pays atomic
reference counts per array and call); no ``range`` with a step in hot loops;
table probes that miss the caches are prefetched ahead.

First-call (compilation) rules, measured with ``numba:compile`` events in fresh
processes (``benchmarks/bench_cold_start.py``): Numba compiles every function a
kernel calls, each of its signatures, at the kernel's first call, so

* a call compiles only what it runs: one kernel per analyzer family (word / char),
  and an optional feature passed as ``None`` when unused (``stop``: Numba prunes a
  ``stop is not None`` branch before typing, so no stop-word code is compiled);
* one signature per function: int64 scalars and scratch, no literal constants as
  arguments (``f(x, 8)`` compiles ``f`` for ``Literal[int](8)`` besides int64;
  ``np.int64(8)`` does not), int32 arrays widened at the call (``np.int64(u_len[e])``);
* a helper with one call site per kernel is inlined by Numba (``inline="always"``,
  ``_ir_inline``: it is typed in place instead of compiled on its own); small
  helpers called from many places stay separate functions that LLVM inlines
  (``forceinline``), since Numba's inlining copies them into every call site.
"""

import numba
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.cpython.unsafe.numbers import trailing_zeros
from numba.extending import intrinsic

from . import _threading

# TBB (fork- and thread-safe) before any parallel kernel launches; see _threading
_threading.ensure_safe_layer()

_jit = dict(cache=True, error_model="numpy", fastmath=False)
# kernels over a range [d0, d1) of documents, GIL released: mmfeat.text._cpu.parallel_for
# runs ranges on threads (parallel=True loops cost ~40% more compilation for the same speed)
_pjit = dict(nogil=True, **_jit)
# tiny helpers called from many places: compiled once, inlined by LLVM
_jit_inline = dict(forceinline=True, **_jit)
# helpers called only from other kernels: no CPython or C-callable wrapper to
# build, optimise and emit for each (Python never calls them)
_hjit = dict(no_cpython_wrapper=True, no_cfunc_wrapper=True, **_jit)
_hjit_inline = dict(forceinline=True, **_hjit)
# helpers with one call site per kernel: inlined by Numba before typing, never compiled
# alone (a first call then compiles fewer functions; see the module docstring)
_ir_inline = dict(inline="always", **_jit)

KIND_WORD = 0
KIND_CHAR = 1
KIND_CHAR_WB = 2

WORD = 1
RE_SPACE = 2
SPLIT_SPACE = 4
CASE_IGNORABLE = 8
CASED = 16

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_M32 = np.uint64(0xFFFFFFFF)
_XXH_P1 = np.uint64(0x9E3779B185EBCA87)
_XXH_P2 = np.uint64(0xC2B2AE3D27D4EB4F)
_LOW7 = np.uint64(0x7F7F7F7F7F7F7F7F)
_SPACES = np.uint64(0x2020202020202020)
_ALL64 = np.uint64(0xFFFFFFFFFFFFFFFF)
PREFETCH_AHEAD = 16  # entries; 8-32 measured alike, none 2.5-3x slower (merge_vocabulary)


# --- UTF-8 ----------------------------------------------------------------------


@numba.njit(**_hjit_inline)
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


@numba.njit(**_hjit_inline)
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


@numba.njit(**_hjit)
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


@intrinsic
def _load_u64(typingctx, arr, i):
    """The 8 bytes arr[i:i + 8] (uint8 array) as one little-endian uint64: one unaligned
    load. The caller guarantees i + 8 <= arr.shape[0] (see :func:`_word_at`)."""
    if not (isinstance(arr, types.Array) and arr.dtype == types.uint8 and arr.layout == "C"):
        return None  # a typing error: the address arithmetic below assumes contiguous bytes
    sig = types.uint64(arr, types.intp)

    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, args[0])
        ptr = builder.bitcast(builder.gep(ary.data, [args[1]]), ir.IntType(64).as_pointer())
        return builder.load(ptr, align=1)

    return sig, codegen


@intrinsic
def _prefetch(typingctx, arr, i):
    """Hint the CPU to fetch the cache line of arr.ravel()[i] (LLVM's prefetch; no effect
    on results, never faults). The vocabulary tables outgrow the caches, and a probe
    whose branch waits on a missing line costs a whole memory latency: fetching the
    slot of the entry PREFETCH_AHEAD places later overlaps those latencies."""
    sig = types.void(arr, types.intp)

    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, args[0])
        p = builder.bitcast(builder.gep(ary.data, [args[1]]), ir.IntType(8).as_pointer())
        name = "llvm.prefetch.p0" if getattr(p.type, "is_opaque", False) else "llvm.prefetch.p0i8"
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [p.type, i32, i32, i32]), name
        )
        # (address, write, locality: keep in all levels, data cache)
        builder.call(fn, [p, ir.Constant(i32, 1), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


@numba.njit(**_hjit_inline)
def _word_at(buf, i, n):
    """The min(n, 8) bytes at buf[i] as a little-endian uint64, zero-padded (n >= 1).

    One unaligned load where 8 bytes are readable, byte by byte at the buffer's end.
    Text is processed a word (8 bytes) at a time: a token is usually one word, so
    the loops over its bytes run once instead of once per byte, and branches that
    ended a byte loop at a data-dependent count (one misprediction per token, each
    ~15 cycles) disappear.
    """
    if i + 8 <= buf.shape[0]:
        # keep the low min(n, 8) bytes; a shift, not a branch on n (token lengths vary)
        return _load_u64(buf, i) & (_ALL64 >> np.uint64(64 - 8 * min(n, 8)))
    w = np.uint64(0)
    for q in range(min(n, buf.shape[0] - i)):
        w |= np.uint64(buf[i + q]) << np.uint64(8 * q)
    return w


@numba.njit(**_hjit_inline)
def _fmix64(h):
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    return h


@numba.njit(**_jit_inline)
def hash64(buf, s, e):
    """64-bit hash of buf[s:e], 8 bytes per step (xxHash64's round on little-endian
    words, the last one zero-padded, the length in the seed), then murmur3's fmix64.

    Only this module's tables use it, so it need not match any other library; a
    64-bit collision is caught by the byte checks wherever it could merge terms.
    """
    h = _FNV_OFFSET ^ (np.uint64(e - s) * _XXH_P1)
    p = s
    while p < e:
        w = _word_at(buf, p, e - p)
        h += w * _XXH_P2
        h = (h << np.uint64(31)) | (h >> np.uint64(33))
        h *= _XXH_P1
        p += 8
    return _fmix64(h)


@numba.njit(**_hjit_inline)
def _rotl32(x, r):
    return ((x << np.uint64(r)) | (x >> np.uint64(32 - r))) & _M32


@numba.njit(**_hjit_inline)
def _murmur_k(k):
    k = (k * np.uint64(0xCC9E2D51)) & _M32
    k = _rotl32(k, np.int64(15))
    return (k * np.uint64(0x1B873593)) & _M32


@numba.njit(**_hjit_inline)
def _murmur_block(h, k):
    h ^= _murmur_k(k)
    h = _rotl32(h, np.int64(13))
    return (h * np.uint64(5) + np.uint64(0xE6546B64)) & _M32


@numba.njit(**_jit_inline)
def murmur3_32(buf, s, e):
    """MurmurHash3_x86_32 (seed 0) of buf[s:e] as a signed int32 (scikit-learn's).

    Its 4-byte blocks are read two per 8-byte word; the tail's mixing value is
    the little-endian number of the 1-3 remaining bytes, i.e. the zero-padded word.
    """
    h = np.uint64(0)
    p = s
    while p + 8 <= e:
        w = _word_at(buf, p, e - p)  # 8 bytes (not a literal 8: one signature of _word_at)
        h = _murmur_block(h, w & _M32)
        h = _murmur_block(h, w >> np.uint64(32))
        p += 8
    if p + 4 <= e:
        h = _murmur_block(h, _word_at(buf, p, np.int64(4)))
        p += 4
    if p < e:
        h ^= _murmur_k(_word_at(buf, p, e - p))
    h ^= np.uint64(e - s)
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x85EBCA6B)) & _M32
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(0xC2B2AE35)) & _M32
    h ^= h >> np.uint64(16)
    v = np.int64(h)
    if v >= 0x80000000:
        v -= 0x100000000
    return v


@numba.njit(**_hjit_inline)
def _same_bytes(a, s1, n1, b, s2, n2):
    if n1 != n2:
        return False
    k = 0
    while k < n1:  # not range(0, n1, 8): Numba's stepped range costs ~12 ns per loop
        if _word_at(a, s1 + k, n1 - k) != _word_at(b, s2 + k, n1 - k):
            return False
        k += 8
    return True


@numba.njit(**_jit_inline)
def _same_given_hash(a, s1, n1, b, s2, n2):
    """Are a[s1:s1+n1] and b[s2:s2+n2], whose :func:`hash64` values are equal, the same bytes?

    Up to 8 bytes nothing needs reading: for one length, hash64 of such a span is
    a bijection of its one (zero-padded) word (an odd multiply, an add, a rotation
    and fmix64 are each invertible), so equal hashes and lengths prove equal bytes.
    Longer spans are compared. Most n-grams are one word, and re-reading the first
    occurrence's bytes at each repeat cost about a third of ``doc_terms``.
    """
    if n1 != n2:
        return False
    if n1 <= 8:
        return True
    return _same_bytes(a, s1, n1, b, s2, n2)


@numba.njit(**_jit)
def _is_stop(out, s, e, stop):
    """Is out[s:e] one of the stop words? ``stop`` = (their hashes sorted, their bytes,
    offsets into those bytes), as :class:`mmfeat.text._cpu.Analysis` builds it."""
    stop_h, stop_buf, stop_off = stop
    h = hash64(out, s, e)
    lo = 0
    hi = stop_h.shape[0]
    while lo < hi:  # the first hash >= h (np.searchsorted: a second more to compile)
        mid = (lo + hi) >> 1
        if stop_h[mid] < h:
            lo = mid + 1
        else:
            hi = mid
    while lo < stop_h.shape[0] and stop_h[lo] == h:
        if _same_given_hash(out, s, e - s, stop_buf, stop_off[lo], stop_off[lo + 1] - stop_off[lo]):
            return True
        lo += 1
    return False


# --- stage 1: preprocessing -------------------------------------------------------


@numba.njit(**_hjit_inline)
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


def bmp_word_map(cls, low, lower):
    """65536 int32: for a BMP code point cp of 2 or 3 UTF-8 bytes, ``(c << 1) | w``
    where c is what the word tokenizer writes for it (its lower-case form if
    ``lower``) and w = 1 if c is a word character; -1 where that takes the general
    path: a lower-case form of several code points or of another UTF-8 length,
    and the capital sigma, whose lower case depends on its neighbours.
    """
    cp = np.arange(65536, dtype=np.int64)
    c = low[:65536].astype(np.int64) if lower else cp.copy()
    ok = c >= 0
    c = np.where(ok, c, 0)
    utf8_len = np.where(cp < 0x80, 1, np.where(cp < 0x800, 2, 3))
    ok &= np.where(c < 0x80, 1, np.where(c < 0x800, 2, 3)) == utf8_len
    if lower:
        ok &= cp != 0x3A3
    word = (cls[c] & WORD) != 0
    return np.where(ok, (c << 1) | word, -1).astype(np.int32)


@numba.njit(**_ir_inline)
def _close_word(out, run_start, o, run_len, stop):
    """End of a run of word characters at out[o]: keep it (plus a space), or drop it
    (one character, or a stop word). Returns (the next write position, 1 if kept)."""
    if run_len < 2:
        return run_start, 0
    if stop is not None:  # None: no stop words, and this branch is not even compiled
        if _is_stop(out, run_start, o, stop):
            return run_start, 0
    out[o] = 32
    return o + 1, 1


@numba.njit(**_hjit)
def _preprocess_word(buf, b0, b1, cls, low, low_ext, lower, stop, out, o0, ascii_map, bmp_map):
    """Processed text of doc [b0, b1) for the word analyzer: the kept tokens each
    followed by one space, written at out[o0:]. Returns (its byte length, tokens).

    ``stop`` is None (no stop words: Numba prunes the stop-word branches before
    typing, so a call without stop words compiles none of that code) or the
    tuple :func:`_is_stop` reads.

    Documents are mostly ASCII: ``ascii_map`` (256 bytes) maps an ASCII word
    byte to itself lower-cased (``str.lower`` maps exactly A-Z there), any other
    ASCII byte to 0 and every byte >= 0x80 to 0xFF. An ASCII byte is handled
    without a data-dependent branch: it is always written (a non-word byte as the
    space that ends a token) and the write position moves by arithmetic: +1 after
    a word byte or after the space of a kept token, back to the token's start when
    a one-character run is dropped. A branch on "does a token end here" would
    mispredict about once per token. A 2- or 3-byte character (most scripts:
    Cyrillic, Greek, Arabic, CJK, accented Latin) whose lower-case form is one
    code point of the same UTF-8 length goes through ``bmp_map``
    (:func:`bmp_word_map`), with no decode of class and case tables; the rest
    takes the general decode / lower-case / class path.
    """
    o = o0
    run_start = o0
    run_len = 0  # code points in the current run of word characters (only >= 2 matters)
    ntok = 0
    i = b0
    while i < b1:
        x = ascii_map[buf[i]]
        if x != 0xFF:
            word = x != 0
            close = (not word) and run_len >= 2  # a token ends here and is kept...
            drop = (not word) and run_len == 1  # ...or a one-character run ends here
            if stop is not None:  # compiled only for calls with stop words
                if close:
                    if _is_stop(out, run_start, o, stop):
                        close = False
                        drop = True
            # selects, not arithmetic: o, run_start and run_len carry from byte to
            # byte, and a multiply in that chain costs more than the branch it replaces
            out[o] = x if word else np.uint8(32)
            run_start = o if (word and run_len == 0) else run_start
            o = o + 1 if (word or close) else (run_start if drop else o)
            ntok += np.int64(close)
            run_len = run_len + 1 if word else 0
            i += 1
            continue
        lead = np.int64(buf[i])
        nb = 2 if lead < 0xE0 else (3 if lead < 0xF0 else 4)
        if nb < 4:  # valid UTF-8 (from str): the continuation bytes are there
            cp = ((lead & 0x1F) << 6) | (np.int64(buf[i + 1]) & 0x3F)
            if nb == 3:
                cp = ((lead & 0x0F) << 12) | ((np.int64(buf[i + 1]) & 0x3F) << 6) | (
                    np.int64(buf[i + 2]) & 0x3F)
            e = np.int64(bmp_map[cp])
            if e >= 0:
                # the same steps as the general loop below, spelled out: a helper taking
                # ``out`` per character pays Numba's reference counts (3.5x slower here)
                i += nb
                if e & 1:  # a word character: append its (lower-cased) bytes
                    c = e >> 1
                    if run_len == 0:
                        run_start = o
                    if nb == 2:
                        out[o] = 0xC0 | (c >> 6)
                        out[o + 1] = 0x80 | (c & 0x3F)
                    else:
                        out[o] = 0xE0 | (c >> 12)
                        out[o + 1] = 0x80 | ((c >> 6) & 0x3F)
                        out[o + 2] = 0x80 | (c & 0x3F)
                    o += nb
                    run_len += 1
                elif run_len > 0:
                    o, kept = _close_word(out, run_start, o, run_len, stop)
                    ntok += kept
                    run_len = 0
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
                o, kept = _close_word(out, run_start, o, run_len, stop)
                ntok += kept
                run_len = 0
    if run_len > 0:
        o, kept = _close_word(out, run_start, o, run_len, stop)
        ntok += kept
    return o - o0, ntok


@numba.njit(**_hjit)
def _preprocess_char(buf, b0, b1, cls, low, low_ext, kind, lower, out, o0):
    """Processed text of doc [b0, b1) for the char analyzers, written at out[o0:];
    returns its byte length (the word analyzer: :func:`_preprocess_word`).

    char: white-space runs collapsed to one space; char_wb: the ``str.split()``
    words as ``" w1 w2 ... "``.
    """
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


@numba.njit(**_ir_inline)
def _n_windows(L, min_n, max_n):
    t = 0
    for n in range(min_n, max_n + 1):
        if L >= n:
            t += L - n + 1
    return t


@numba.njit(**_hjit)
def _count_char_ngrams(out, s, e, kind, min_n, max_n):
    """Number of n-grams scikit-learn's char / char_wb analyzer yields for a processed text."""
    if kind == KIND_CHAR:
        n = 0
        for k in range(s, e):
            if (out[k] & 0xC0) != 0x80:  # code points: UTF-8 lead bytes
                n += 1
        return _n_windows(n, min_n, max_n)
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
def preprocess_word(d0, d1, buf, offs, cls, low, low_ext, lower, stop, min_n, max_n, out_start,
                    out, plen, ngrams, ascii_map, bmp_map):
    """Stage 1 of the word analyzer for documents [d0, d1): processed text, its length,
    its n-grams.

    ``out_start[d]`` is the region of doc d in ``out`` (the caller sizes it for the
    most that lower-casing can grow the text, plus the padding spaces);
    ``ascii_map`` and ``bmp_map`` are :func:`ascii_word_map`'s and
    :func:`bmp_word_map`'s tables for ``lower``; ``stop`` None or as :func:`_is_stop`.
    The char analyzers have their own kernel (:func:`preprocess_char`), so that a
    call compiles only its analyzer's code.
    """
    for d in range(d0, d1):
        n, ntok = _preprocess_word(buf, offs[d], offs[d + 1], cls, low, low_ext, lower, stop,
                                   out, out_start[d], ascii_map, bmp_map)
        plen[d] = n
        ngrams[d] = _n_windows(ntok, min_n, max_n)


@numba.njit(**_pjit)
def preprocess_char(d0, d1, buf, offs, cls, low, low_ext, kind, lower, min_n, max_n, out_start,
                    out, plen, ngrams):
    """Stage 1 of the char / char_wb analyzers (``kind``), as :func:`preprocess_word`."""
    for d in range(d0, d1):
        o0 = out_start[d]
        n = _preprocess_char(buf, offs[d], offs[d + 1], cls, low, low_ext, kind, lower, out, o0)
        plen[d] = n
        ngrams[d] = _count_char_ngrams(out, o0, o0 + n, kind, min_n, max_n)


# --- stage 2: n-grams of one document -----------------------------------------------


@numba.njit(**_ir_inline)
def _range_scratch(d0, d1, ng_off, plen):
    """Work arrays for a range of documents, allocated once rather than per document:
    a hash table big enough for the largest document, its unit offsets and the
    start / end of each of its n-grams."""
    m = 0
    n = 0
    for d in range(d0, d1):
        m = max(m, ng_off[d + 1] - ng_off[d])
        n = max(n, plen[d])
    size = 16
    while size < 2 * m:
        size *= 2
    return (np.empty(size, np.int32), np.empty(n + 2, np.int64), np.empty(m, np.int64),
            np.empty(m, np.int64))


@numba.njit(**_ir_inline)
def _doc_table(tab_all, m):
    """A cleared power-of-two slice of ``tab_all`` at least twice the doc's n-grams."""
    size = 16
    while size < 2 * m:
        size *= 2
    for k in range(size):
        tab_all[k] = 0
    return size


@numba.njit(**_hjit_inline)
def _space_bits(w):
    """Bit 8k+7 set exactly where byte k of w is a space (0x20); exact, no carries."""
    x = w ^ _SPACES
    return ~(((x & _LOW7) + _LOW7) | x | _LOW7)


@numba.njit(**_ir_inline)
def _word_spans(out, s, e, min_n, max_n, starts, span_s, span_e):
    """The word n-grams of the processed text out[s:e] as byte spans [span_s, span_e),
    in scikit-learn's order (by n, then position); returns their number.

    Listing them first keeps the per-n-gram work (hash, table) in one flat loop:
    a helper called per n-gram with array arguments costs Numba an atomic
    reference-count increment and decrement per array and call wherever its
    control flow defeats Numba's reference-count pruning (that doubled
    ``doc_terms``' time).
    """
    # token starts: the processed text is word bytes and single spaces (no other byte
    # is 0x20), so the spaces are found 8 bytes at a time
    nunits = 0
    starts[0] = s
    p = s
    while p < e:
        y = _space_bits(_word_at(out, p, e - p))
        while y != 0:
            nunits += 1
            starts[nunits] = p + np.int64(trailing_zeros(y) >> np.uint64(3)) + 1
            y &= y - np.uint64(1)
        p += 8
    k = np.int64(0)  # not a literal 0: callers are typed for int64 only, not also for Literal[0]
    for n in range(min_n, max_n + 1):
        for i in range(nunits - n + 1):
            span_s[k] = starts[i]
            span_e[k] = starts[i + n] - 1  # a token ends before its space
            k += 1
    return k


@numba.njit(**_hjit_inline)
def _char_spans(out, s, e, kind, min_n, max_n, starts, span_s, span_e):
    """As :func:`_word_spans`, for the char (``KIND_CHAR``) and char_wb analyzers."""
    nunits = 0
    for q in range(s, e):
        if (out[q] & 0xC0) != 0x80:  # code points: UTF-8 lead bytes
            starts[nunits] = q
            nunits += 1
    starts[nunits] = e
    k = np.int64(0)  # as in _word_spans
    if kind == KIND_CHAR:
        for n in range(min_n, max_n + 1):
            for i in range(nunits - n + 1):
                span_s[k] = starts[i]
                span_e[k] = starts[i + n]
                k += 1
        return k
    # char_wb: per padded word " w " of L code points, its windows for n < L and
    # the whole padded word once, for the first n >= L
    w0 = 0
    for u in range(1, nunits):
        if out[starts[u]] != 32:
            continue
        L = u - w0 + 1
        for n in range(min_n, max_n + 1):
            if n >= L:
                span_s[k] = starts[w0]
                span_e[k] = starts[u + 1]
                k += 1
                break
            for i in range(w0, u - n + 2):
                span_s[k] = starts[i]
                span_e[k] = starts[i + n]
                k += 1
        w0 = u
    return k


@numba.njit(**_ir_inline)
def _distinct_ngrams(out, span_s, span_e, k, tab, size, g, u_hash, u_count, u_start, u_len):
    """The distinct n-grams of one document's k spans, in order of first occurrence,
    written from entry g on (hash, occurrences, first span) through the cleared
    table ``tab[:size]``. Returns (their number, whether two differ under one hash)."""
    mask = size - 1
    nu = 0
    bad = False
    for q in range(k):
        ss = span_s[q]
        ee = span_e[q]
        h = hash64(out, ss, ee)
        slot = np.int64(h & np.uint64(mask))
        while True:
            j = tab[slot]
            if j == 0:  # a new n-gram of the document
                tab[slot] = nu + 1
                u_hash[g + nu] = h
                u_count[g + nu] = 1
                u_start[g + nu] = ss
                u_len[g + nu] = ee - ss
                nu += 1
                break
            r = g + j - 1
            if u_hash[r] == h:
                u_count[r] += 1
                if not _same_given_hash(out, ss, ee - ss, out, u_start[r], np.int64(u_len[r])):
                    bad = True
                break
            slot = (slot + 1) & mask
    return nu, bad


@numba.njit(**_pjit)
def word_terms(d0, d1, out, out_start, plen, min_n, max_n, ng_off,
               u_hash, u_count, u_start, u_len, n_unique, collision):
    """Stage 2 of the word analyzer (documents [d0, d1)): each document's distinct
    n-grams, in order of first occurrence.

    Doc d writes ``n_unique[d]`` entries at ``ng_off[d]`` of ``u_hash`` (64-bit
    hash), ``u_count`` (occurrences in d), ``u_start``/``u_len`` (the bytes of
    its first occurrence in ``out``); ``collision[d]`` flags two different
    n-grams of d with one hash. The char analyzers: :func:`char_terms`.
    """
    tab, starts, span_s, span_e = _range_scratch(d0, d1, ng_off, plen)
    for d in range(d0, d1):
        m = ng_off[d + 1] - ng_off[d]
        nu = 0
        bad = False
        if m > 0:
            s = out_start[d]
            k = _word_spans(out, s, s + plen[d], min_n, max_n, starts, span_s, span_e)
            nu, bad = _distinct_ngrams(out, span_s, span_e, k, tab, _doc_table(tab, m),
                                       ng_off[d], u_hash, u_count, u_start, u_len)
        n_unique[d] = nu
        collision[d] = bad


@numba.njit(**_pjit)
def char_terms(d0, d1, out, out_start, plen, kind, min_n, max_n, ng_off,
               u_hash, u_count, u_start, u_len, n_unique, collision):
    """:func:`word_terms` for the char / char_wb analyzers (``kind``)."""
    tab, starts, span_s, span_e = _range_scratch(d0, d1, ng_off, plen)
    for d in range(d0, d1):
        m = ng_off[d + 1] - ng_off[d]
        nu = 0
        bad = False
        if m > 0:
            s = out_start[d]
            k = _char_spans(out, s, s + plen[d], kind, min_n, max_n, starts, span_s, span_e)
            nu, bad = _distinct_ngrams(out, span_s, span_e, k, tab, _doc_table(tab, m),
                                       ng_off[d], u_hash, u_count, u_start, u_len)
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
                     u_local, l_first, l_df, l_tf, n_local, l_bytes, collision):
    """Parallel first half of the vocabulary merge: the distinct n-grams of a document range.

    The range's k-th distinct n-gram (first-occurrence order) lives at slot
    ``base + k`` of ``l_first`` (its first entry), ``l_df`` and ``l_tf``, with
    ``base = ng_off[d0]``; ``n_local[d0]`` is the count (-1 at other documents)
    and ``u_local[e] = base + k`` for every entry ``e`` of the range;
    ``l_bytes[d0]`` sums the bytes of its distinct n-grams. Hash hits are
    checked (``_same_given_hash``); ``collision[d0]`` flags a 64-bit collision.
    """
    base = ng_off[d0]
    m = 0
    for d in range(d0, d1):
        m += n_unique[d]
        n_local[d] = -1
    size = 16
    while size < 2 * m:
        size *= 2
    # (range slot + 1, hash) per table slot, side by side in one flat array: a probe
    # reads one cache line, not also l_first and u_hash; and the slot PREFETCH_AHEAD
    # entries on is fetched early
    tab = np.zeros(2 * size, np.int64)
    mask = size - 1
    k = 0
    nbytes = 0
    bad = False
    for d in range(d0, d1):
        end = ng_off[d] + n_unique[d]
        for e in range(ng_off[d], end):
            if e + PREFETCH_AHEAD < end:
                _prefetch(tab, 2 * np.int64(u_hash[e + PREFETCH_AHEAD] & np.uint64(mask)))
            h = u_hash[e]
            hs = np.int64(h)
            slot = np.int64(h & np.uint64(mask))
            while True:
                j = tab[2 * slot] - 1
                if j < 0:
                    j = k
                    tab[2 * slot] = k + 1
                    tab[2 * slot + 1] = hs
                    l_first[base + j] = e
                    l_df[base + j] = 0
                    l_tf[base + j] = 0
                    nbytes += u_len[e]
                    k += 1
                    break
                if tab[2 * slot + 1] == hs:
                    f = l_first[base + j]
                    if not _same_given_hash(out, u_start[e], np.int64(u_len[e]), out,
                                            u_start[f], np.int64(u_len[f])):
                        bad = True
                    break
                slot = (slot + 1) & mask
            l_df[base + j] += 1
            l_tf[base + j] += u_count[e]
            u_local[e] = base + j
    n_local[d0] = k
    l_bytes[d0] = nbytes
    collision[d0] = bad


@numba.njit(**_jit)
def merge_vocabulary(ng_off, n_local, l_first, l_df, l_tf, u_hash, u_start, u_len, out, slots,
                     n_terms, term_off, term_buf, term_hash, counts, l_term):
    """Serial second half: each range's distinct n-grams into the vocabulary, in range order.

    A new n-gram gets the next term id (so ids follow first occurrence in the
    corpus) and its bytes are kept; ``l_term[j]`` receives the term id of range
    slot ``j``. ``slots`` (2 * size, size a power of two, at most half full: the
    caller grows it) holds (term id + 1, hash) per slot side by side, 0 = empty, so
    a probe touches one cache line. Matches are by 64-bit hash here; ``remap_terms`` then checks
    every match byte by byte in parallel (a collision is detected, never merged).
    ``counts[t]`` accumulates (document frequency, term frequency). Returns
    (n_terms, bytes used).
    """
    mask = (slots.shape[0] >> 1) - 1
    nb = term_off[n_terms]
    for d0 in range(n_local.shape[0]):
        if n_local[d0] < 0:
            continue
        base = ng_off[d0]
        end = base + n_local[d0]
        for j in range(base, end):
            if j + PREFETCH_AHEAD < end:
                ahead = u_hash[l_first[j + PREFETCH_AHEAD]]
                _prefetch(slots, 2 * np.int64(ahead & np.uint64(mask)))
            e = l_first[j]
            h = u_hash[e]
            hs = np.int64(h)
            slot = np.int64(h & np.uint64(mask))
            while True:
                t = slots[2 * slot] - 1
                if t < 0:
                    t = n_terms
                    slots[2 * slot] = t + 1
                    slots[2 * slot + 1] = hs
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
                if slots[2 * slot + 1] == hs:
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
                if not _same_given_hash(out, u_start[e], np.int64(u_len[e]), term_buf,
                                        term_off[t], term_off[t + 1] - term_off[t]):
                    bad[d] = True
        for e in range(ng_off[d], ng_off[d] + n_unique[d]):
            u_local[e] = l_term[u_local[e]]


@numba.njit(**_jit)
def rehash_slots(term_hash, n_terms, slots):
    """Re-insert terms 0..n_terms-1 (hashes known) into empty, larger (id + 1, hash) slots
    (laid out as in :func:`merge_vocabulary`)."""
    mask = (slots.shape[0] >> 1) - 1
    for t in range(n_terms):
        h = term_hash[t]
        slot = np.int64(h & np.uint64(mask))
        while slots[2 * slot] != 0:
            slot = (slot + 1) & mask
        slots[2 * slot] = t + 1
        slots[2 * slot + 1] = np.int64(h)


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
            # inline, not a helper per entry: see _word_spans on reference counts
            h = u_hash[e]
            slot = np.int64(h & np.uint64(mask))
            res = -1
            while True:
                t = table[slot] - 1
                if t < 0:
                    break
                if term_hash[t] == h:
                    if _same_given_hash(out, u_start[e], np.int64(u_len[e]), term_buf,
                                        term_off[t], term_off[t + 1] - term_off[t]):
                        res = t
                    break
                slot = (slot + 1) & mask
            u_term[e] = res


@numba.njit(**_hjit_inline)
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


@numba.njit(**_jit)
def radix_sort_pairs(keys, vals, lo, hi, tk, tv, count):
    """Sort the non-negative keys[lo:hi] ascending, vals alongside (stable).

    Up to 32 pairs: insertion sort. Beyond: LSD radix sort on bytes, as many
    passes as the largest key has bytes (term ids < 2**24: 3), each pass from one
    of (keys, vals)[lo:hi] and the scratch ``tk``/``tv`` (>= hi - lo each) into
    the other; ``count`` has 256 slots. A row of a few hundred terms sorts several
    times faster than by comparisons, whose branches mispredict about every other
    time on such keys. Every caller passes int64 arrays and bounds: one signature,
    compiled once (the CSR rows and the hashed rows share it).
    """
    n = hi - lo
    if n <= 32:
        _insertion_sort(keys, vals, lo, hi)
        return
    top = keys[lo]
    for i in range(lo + 1, hi):
        top = max(top, keys[i])
    src_k, src_v, s0 = keys, vals, lo
    dst_k, dst_v, t0 = tk, tv, np.int64(0)
    in_scratch = False  # where the current order lives
    shift = 0
    while True:
        for b in range(256):
            count[b] = 0
        for i in range(s0, s0 + n):
            count[(src_k[i] >> shift) & 255] += 1
        total = 0
        for b in range(256):
            c = count[b]
            count[b] = total
            total += c
        for i in range(s0, s0 + n):
            x = src_k[i]
            b = (x >> shift) & 255
            j = t0 + count[b]
            dst_k[j] = x
            dst_v[j] = src_v[i]
            count[b] += 1
        src_k, dst_k = dst_k, src_k
        src_v, dst_v = dst_v, src_v
        s0, t0 = t0, s0
        in_scratch = not in_scratch
        shift += 8
        if (top >> shift) == 0:
            break
    if in_scratch:
        for i in range(n):
            keys[lo + i] = tk[i]
            vals[lo + i] = tv[i]


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
    """Row d: the kept entries sorted by order_key[term] (scikit-learn's in-row order).

    ``indices`` and ``data`` are written once, in the matrix's final dtypes; the
    sort runs on per-range scratch.
    """
    m = 0
    for d in range(d0, d1):
        m = max(m, indptr[d + 1] - indptr[d])
    keys = np.empty(m, np.int64)
    ents = np.empty(m, np.int64)
    tk = np.empty(m, np.int64)
    tv = np.empty(m, np.int64)
    count = np.empty(256, np.int64)
    for d in range(d0, d1):
        _fill_row(d, doc_off, u_term, u_count, col_of, order_key, binary, indptr, indices, data,
                  keys, ents, tk, tv, count)


@numba.njit(**_ir_inline)
def _fill_row(d, doc_off, u_term, u_count, col_of, order_key, binary, indptr, indices, data,
              keys, ents, tk, tv, count):
    p = indptr[d]
    n = indptr[d + 1] - p
    if n == 0:
        return
    c = 0
    for e in range(doc_off[d], doc_off[d + 1]):
        t = u_term[e]
        if t >= 0 and col_of[t] >= 0:
            keys[c] = order_key[t]
            ents[c] = e
            c += 1
    radix_sort_pairs(keys, ents, np.int64(0), n, tk, tv, count)
    for j in range(n):
        e = ents[j]
        indices[p + j] = col_of[u_term[e]]
        data[p + j] = 1 if binary else u_count[e]


# --- HashingVectorizer ----------------------------------------------------------------


@numba.njit(**_hjit_inline)
def _hashed_doc(out, span_s, span_e, k, tab, size, g, n_features, alternate_sign, h_index,
                h_value):
    """One document's k n-gram spans: summed (index, +-1) of their MurmurHash3, one
    entry per distinct index from entry g on (through the cleared ``tab[:size]``);
    returns their number."""
    mask = size - 1
    pow2 = (n_features & (n_features - 1)) == 0  # the usual 2**k: a mask, not a division
    nu = 0
    for q in range(k):
        h = murmur3_32(out, span_s[q], span_e[q])
        if h == -2147483648:  # abs() would overflow int32: scikit-learn's special case
            j = (2147483647 - (n_features - 1)) % n_features
        elif pow2:
            j = abs(h) & (n_features - 1)
        else:
            j = abs(h) % n_features
        v = (1 if h >= 0 else -1) if alternate_sign else 1
        slot = (j * 0x9E3779B1) & mask
        while True:
            r = tab[slot]
            if r == 0:
                tab[slot] = nu + 1
                h_index[g + nu] = j
                h_value[g + nu] = v
                nu += 1
                break
            if h_index[g + r - 1] == j:
                h_value[g + r - 1] += v
                break
            slot = (slot + 1) & mask
    return nu


@numba.njit(**_pjit)
def hashed_word(d0, d1, out, out_start, plen, min_n, max_n, ng_off, n_features, alternate_sign,
                h_index, h_value, n_unique):
    """Per document of the word analyzer: summed (index, +-1) of MurmurHash3 of every
    n-gram, sorted by index (the char analyzers: :func:`hashed_char`).

    Entries that cancel to 0 stay as explicit zeros, as in scipy's sum_duplicates.
    """
    tab, starts, span_s, span_e = _range_scratch(d0, d1, ng_off, plen)
    tk = np.empty(span_s.shape[0], np.int64)
    tv = np.empty(span_s.shape[0], np.int64)
    count = np.empty(256, np.int64)
    for d in range(d0, d1):
        m = ng_off[d + 1] - ng_off[d]
        nu = 0
        if m > 0:
            g = ng_off[d]
            s = out_start[d]
            k = _word_spans(out, s, s + plen[d], min_n, max_n, starts, span_s, span_e)
            nu = _hashed_doc(out, span_s, span_e, k, tab, _doc_table(tab, m), g, n_features,
                             alternate_sign, h_index, h_value)
            radix_sort_pairs(h_index, h_value, g, g + nu, tk, tv, count)
        n_unique[d] = nu


@numba.njit(**_pjit)
def hashed_char(d0, d1, out, out_start, plen, kind, min_n, max_n, ng_off, n_features,
                alternate_sign, h_index, h_value, n_unique):
    """:func:`hashed_word` for the char / char_wb analyzers (``kind``)."""
    tab, starts, span_s, span_e = _range_scratch(d0, d1, ng_off, plen)
    tk = np.empty(span_s.shape[0], np.int64)
    tv = np.empty(span_s.shape[0], np.int64)
    count = np.empty(256, np.int64)
    for d in range(d0, d1):
        m = ng_off[d + 1] - ng_off[d]
        nu = 0
        if m > 0:
            g = ng_off[d]
            s = out_start[d]
            k = _char_spans(out, s, s + plen[d], kind, min_n, max_n, starts, span_s, span_e)
            nu = _hashed_doc(out, span_s, span_e, k, tab, _doc_table(tab, m), g, n_features,
                             alternate_sign, h_index, h_value)
            radix_sort_pairs(h_index, h_value, g, g + nu, tk, tv, count)
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


# --- LSA: sparse x dense products of the randomized SVD ------------------------------


@numba.njit(**_pjit)
def csr_times_dense(d0, d1, indptr, indices, data, dense, out):
    """out[i] = sum_p data[p] * dense[indices[p]] for CSR rows i in [d0, d1).

    The same accumulation order as scipy's ``csr_matvecs`` (zeros, then each
    stored entry of the row in turn, all columns at once); LLVM's instruction
    choice (fused multiply-adds) leaves it within a few ulp of SciPy's, not
    bit-identical. The rows are split over threads by the caller.
    """
    r = dense.shape[1]
    for i in range(d0, d1):
        o = out[i]
        for c in range(r):
            o[c] = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            a = data[p]
            row = dense[indices[p]]
            for c in range(r):
                o[c] += a * row[c]


@numba.njit(**_jit)
def permuted_unit_lower(lu, piv, out):
    """out = P @ L from LAPACK getrf's packed ``lu`` (m, n) and 0-based ``piv``:
    ``scipy.linalg.lu(a, permute_l=True)[0]``, shape (m, min(m, n)).

    L is the unit lower-trapezoidal part of ``lu``; row i of L lands in row
    perm[i] of the output, perm being the row swaps of ``piv`` applied in turn.
    """
    m = lu.shape[0]
    k = out.shape[1]
    perm = np.arange(m)
    for i in range(piv.shape[0]):
        p = piv[i]
        t = perm[i]
        perm[i] = perm[p]
        perm[p] = t
    for i in range(m):
        row = out[perm[i]]
        for j in range(k):
            if j < i:
                row[j] = lu[i, j]
            elif j == i:
                row[j] = 1.0
            else:
                row[j] = 0.0
