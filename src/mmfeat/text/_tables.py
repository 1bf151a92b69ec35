"""Unicode tables for the compiled tokenizers, measured from this Python's own ``re`` and ``str``.

scikit-learn's analyzers are ``doc.lower()``, ``re`` patterns and ``str.split``;
to agree with them on every code point the kernels look characters up in tables
built by asking exactly those functions, not a Unicode database of another version.
Building them takes about two seconds, so they are cached on disk per Python and
Unicode version (``MMFEAT_CACHE_DIR`` or ``~/.cache/mmfeat``).
"""

from __future__ import annotations

import functools
import os
import re
import sys
import tempfile
import unicodedata
from pathlib import Path

import numpy as np

N_CODEPOINTS = 0x110000

#: class bits of ``TextTables.cls``
WORD = 1  # matched by re's ``\w`` (str pattern)
RE_SPACE = 2  # matched by re's ``\s``
SPLIT_SPACE = 4  # a separator of ``str.split()``
CASE_IGNORABLE = 8  # skipped when str.lower() looks for a final-sigma context
CASED = 16  # cased and not case-ignorable (ends the final-sigma context search)

_VERSION = 2


class TextTables:
    """``cls`` (uint8 per code point), ``low`` (int32), ``low_ext`` (int32 (K, W)).

    ``low[c] >= 0`` is the single code point ``c.lower()``; ``low[c] = -(k + 1)``
    points at row ``k`` of ``low_ext``, the code points of a longer lower-case
    form padded with -1 (U+0130 lowers to two code points). ``growth`` is the
    largest ratio of UTF-8 bytes after and before lower-casing one character.
    """

    def __init__(self, cls: np.ndarray, low: np.ndarray, low_ext: np.ndarray, growth: float):
        self.cls = cls
        self.low = low
        self.low_ext = low_ext
        self.growth = float(growth)


def _utf8_len(cp: np.ndarray) -> np.ndarray:
    return (1 + (cp >= 0x80) + (cp >= 0x800) + (cp >= 0x10000)).astype(np.int8)


def _growth(low: np.ndarray, low_ext: np.ndarray) -> float:
    own = _utf8_len(np.arange(N_CODEPOINTS, dtype=np.int32))
    lowered = _utf8_len(np.maximum(low, 0))
    for k in np.flatnonzero(low < 0):
        row = low_ext[-low[k] - 1]
        lowered[k] = int(_utf8_len(row[row >= 0]).sum())
    return float((lowered / own).max())


def _build() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    chars = "".join(map(chr, range(N_CODEPOINTS)))
    cls = np.zeros(N_CODEPOINTS, np.uint8)
    for pattern, bit in ((r"\w+", WORD), (r"\s+", RE_SPACE)):
        for m in re.finditer(pattern, chars):
            cls[m.start() : m.end()] |= bit
    cls[[i for i, c in enumerate(chars) if c.isspace()]] |= SPLIT_SPACE
    # str.lower() turns U+03A3 into a final sigma when a cased letter precedes it,
    # skipping case-ignorable ones. Probing that rule reveals both properties:
    # (c + Σ) ends in ς  <=> c is cased and not ignorable;
    # (A + c + Σ) ends in ς <=> c is ignorable, or the former.
    final = "\u03c2"
    direct = np.fromiter(((c + "\u03a3").lower()[-1] == final for c in chars), bool, N_CODEPOINTS)
    after_a = np.fromiter(
        (("A" + c + "\u03a3").lower()[-1] == final for c in chars), bool, N_CODEPOINTS
    )
    cls[direct] |= CASED
    cls[after_a & ~direct] |= CASE_IGNORABLE
    low = np.arange(N_CODEPOINTS, dtype=np.int32)
    ext: list[list[int]] = []
    for i, c in enumerate(chars):
        lc = c.lower()
        if lc == c:
            continue
        if len(lc) == 1:
            low[i] = ord(lc)
        else:
            low[i] = -(len(ext) + 1)
            ext.append([ord(x) for x in lc])
    width = max([len(e) for e in ext], default=1)
    low_ext = np.full((max(len(ext), 1), width), -1, np.int32)
    for k, e in enumerate(ext):
        low_ext[k, : len(e)] = e
    return cls, low, low_ext, _growth(low, low_ext)


def _cache_file() -> Path:
    root = os.environ.get("MMFEAT_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache",
                                                              "mmfeat")
    tag = f"py{sys.version_info[0]}{sys.version_info[1]}-ucd{unicodedata.unidata_version}"
    return Path(root) / f"text_tables-v{_VERSION}-{tag}.npz"


@functools.lru_cache(maxsize=1)
def get_tables() -> TextTables:
    """The tables for this interpreter (built once, then loaded from the disk cache)."""
    path = _cache_file()
    try:
        with np.load(path) as z:
            return TextTables(z["cls"], z["low"], z["low_ext"], float(z["growth"]))
    except Exception:  # missing or unreadable cache: rebuild
        pass
    cls, low, low_ext, growth = _build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, cls=cls, low=low, low_ext=low_ext, growth=growth)
        os.replace(tmp, path)
    except OSError:  # a read-only home: keep the tables in memory only
        pass
    return TextTables(cls, low, low_ext, growth)
