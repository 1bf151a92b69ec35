"""Text vectorizers beside scikit-learn: one pytest-benchmark group per op and corpus.

Corpora (built here, nothing downloaded):

* ``stdlib``: the standard library's own ``.py`` files (``sysconfig`` stdlib
  path, recursively, test suites excluded) split into blank-line paragraphs:
  real English prose and code, with some non-ASCII text.
* ``generated``: seeded documents of Zipf-distributed words drawn from a
  vocabulary of random syllable words (a few accented), lengths 5..400 words.
* ``multilingual``: the same construction, each document in one of six scripts
  (Cyrillic, Greek, Arabic, Devanagari, CJK, accented Latin): mostly 2- and
  3-byte UTF-8, the text the ASCII fast paths do not cover.

Ops: ``tfidf`` (``TfidfVectorizer().fit_transform``), ``tfidf_ngram12``
(``ngram_range=(1, 2)``), ``hashing`` (``HashingVectorizer().transform``).
mmfeat is called once before timing (Numba compiles or loads its cache).

``MMFEAT_BENCH_TEXT_MB`` sets each corpus' size in MB of text (default 8).
Run ``python benchmarks/test_bench_text.py --out benchmarks/results/cpu_text.json``
for a summary (best-of-3 times, ratios, and peak RSS of each implementation in a
fresh process) without pytest.
"""

from __future__ import annotations

import functools
import json
import os
import pathlib
import platform
import subprocess
import sys
import sysconfig
import time

import numpy as np
import pytest

TEXT_MB = float(os.environ.get("MMFEAT_BENCH_TEXT_MB", "8"))

OPS = {
    "tfidf": ("TfidfVectorizer", {}, "fit_transform"),
    "tfidf_ngram12": ("TfidfVectorizer", {"ngram_range": (1, 2)}, "fit_transform"),
    "hashing": ("HashingVectorizer", {}, "transform"),
}


@functools.cache
def stdlib_corpus(mb: float = TEXT_MB) -> list[str]:
    root = pathlib.Path(sysconfig.get_paths()["stdlib"])
    docs: list[str] = []
    size = 0
    for path in sorted(root.rglob("*.py")):
        if any(part in ("test", "tests", "idle_test", "site-packages") for part in path.parts):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for para in text.split("\n\n"):
            if para.strip():
                docs.append(para)
                size += len(para)
        if size >= mb * 1e6:
            break
    return docs


@functools.cache
def generated_corpus(mb: float = TEXT_MB, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    syll = np.array(["ka", "to", "ri", "men", "sa", "lo", "vi", "da", "ne", "qu", "zé", "ür",
                     "an", "el", "is", "or", "ta", "po", "li", "ch"])
    n_vocab = 50_000
    lens = rng.integers(1, 5, n_vocab)
    parts = rng.integers(0, len(syll), (n_vocab, 4))
    vocab = np.array(["".join(syll[parts[i, :lens[i]]]) for i in range(n_vocab)], dtype=object)
    caps = rng.random(n_vocab) < 0.1
    vocab[caps] = [w.capitalize() for w in vocab[caps]]
    docs: list[str] = []
    size = 0
    while size < mb * 1e6:
        n = int(rng.integers(5, 400))
        words = vocab[np.minimum(rng.zipf(1.15, n) - 1, n_vocab - 1)]
        doc = " ".join(words) + "."
        docs.append(doc)
        size += len(doc)
    return docs


# syllables per script; words are 1-4 syllables (CJK: 1-4 characters)
_SCRIPTS = {
    "cyrillic": "ка то ри мен са ло ви да не жу ст ор пр ль ий ще",
    "greek": "κα το ρι μεν σα λο βι δα νε ου στ ορ πρ ης ος ει",
    "arabic": "كا تو ري من سا لو في دا ني قو ست ور بر ال يه مع",
    "devanagari": "का तो री मेन सा लो वि दा ने कु स्त और प्र ल ही में",
    "cjk": "的 一 是 不 了 人 我 在 有 他 这 中 大 来 上 国 个 到 说 们",
    "latin": "ka to ré mén sa lö vi dà ne qu zé ür añ el ïs or",
}


@functools.cache
def multilingual_corpus(mb: float = TEXT_MB, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    vocabs = []
    for sylls in _SCRIPTS.values():
        syll = np.array(sylls.split())
        n_vocab = 20_000
        lens = rng.integers(1, 5, n_vocab)
        parts = rng.integers(0, len(syll), (n_vocab, 4))
        vocab = np.array(["".join(syll[parts[i, :lens[i]]]) for i in range(n_vocab)],
                         dtype=object)
        caps = rng.random(n_vocab) < 0.1
        vocab[caps] = [w.capitalize() for w in vocab[caps]]
        vocabs.append(vocab)
    docs: list[str] = []
    size = 0
    while size < mb * 1e6:
        vocab = vocabs[int(rng.integers(0, len(vocabs)))]
        n = int(rng.integers(5, 400))
        doc = " ".join(vocab[np.minimum(rng.zipf(1.15, n) - 1, len(vocab) - 1)]) + "."
        docs.append(doc)
        size += len(doc.encode())
    return docs


CORPORA = {"stdlib": stdlib_corpus, "generated": generated_corpus,
           "multilingual": multilingual_corpus}


def make(impl: str, op: str):
    cls_name, params, method = OPS[op]
    if impl == "mmfeat":
        import mmfeat.text as lib
    else:
        from sklearn.feature_extraction import text as lib
    est = getattr(lib, cls_name)(**params)
    return getattr(est, method)


@pytest.mark.parametrize("corpus", list(CORPORA))
@pytest.mark.parametrize("op", list(OPS))
@pytest.mark.parametrize("impl", ["mmfeat", "sklearn"])
def test_text_op(benchmark, corpus, op, impl):
    docs = CORPORA[corpus]()
    benchmark.group = f"text-{op}-{corpus}"
    benchmark.extra_info.update({"op": op, "impl": impl, "corpus": corpus,
                                 "n_docs": len(docs), "mb": sum(map(len, docs)) / 1e6})
    fn = make(impl, op)
    fn(docs[:200])  # compile / load the cache
    X = benchmark.pedantic(fn, args=(docs,), rounds=3, iterations=1)
    assert X.shape[0] == len(docs)


# --- summary without pytest ------------------------------------------------------------

# VmHWM, not ru_maxrss: Linux carries ru_maxrss across fork + exec, so a child
# would report its parent's peak
_RSS_SCRIPT = """
import sys
sys.path.insert(0, {here!r})
from test_bench_text import CORPORA, make, vm_hwm_kib
docs = CORPORA[{corpus!r}]()
fn = make({impl!r}, {op!r})
before = vm_hwm_kib()
fn(docs)
print(before, vm_hwm_kib())
"""


def vm_hwm_kib() -> int:
    """Peak resident set size of this process so far (KiB), from /proc/self/status."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def peak_rss_kib(impl: str, op: str, corpus: str) -> tuple[int, int]:
    """(peak RSS after loading the corpus, peak RSS after the op), KiB, in a fresh process."""
    here = str(pathlib.Path(__file__).resolve().parent)
    code = _RSS_SCRIPT.format(here=here, corpus=corpus, impl=impl, op=op)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    before, after = map(int, out.stdout.split()[-2:])
    return before, after


def summary(repeat: int = 3) -> dict:
    import numba
    import sklearn

    res: dict = {
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(),
                    "numba_threads": numba.config.NUMBA_NUM_THREADS,
                    "python": platform.python_version(), "sklearn": sklearn.__version__,
                    "numba": numba.__version__},
        "config": {"mb_per_corpus": TEXT_MB, "repeat": repeat,
                   "stat": "min of interleaved rounds (mmfeat, scikit-learn, ...)"},
        "results": [],
    }
    for corpus, build in CORPORA.items():
        docs = build()
        for op in OPS:
            row = {"corpus": corpus, "op": op, "n_docs": len(docs),
                   "mb": round(sum(map(len, docs)) / 1e6, 2)}
            fns = {impl: make(impl, op) for impl in ("mmfeat", "sklearn")}
            times = {impl: [] for impl in fns}
            for fn in fns.values():
                fn(docs[:200])
            for _ in range(repeat):  # interleaved: both meet the same machine load
                for impl, fn in fns.items():
                    t = time.perf_counter()
                    fn(docs)
                    times[impl].append(time.perf_counter() - t)
            for impl in fns:
                row[f"{impl}_s"] = round(min(times[impl]), 4)
                base, peak = peak_rss_kib(impl, op, corpus)
                row[f"{impl}_peak_rss_mib"] = round(peak / 1024, 1)
                row[f"{impl}_rss_growth_mib"] = round((peak - base) / 1024, 1)
            row["speedup"] = round(row["sklearn_s"] / row["mmfeat_s"], 2)
            # shared machines: the ratio only means something next to the load
            row["load_average_1min"] = round(os.getloadavg()[0], 2)
            row["peak_rss_ratio"] = round(row["mmfeat_peak_rss_mib"]
                                          / row["sklearn_peak_rss_mib"], 2)
            res["results"].append(row)
            print(json.dumps(row), flush=True)
    return res


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="write the summary JSON here")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    result = summary(args.repeat)
    if args.out:
        pathlib.Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
