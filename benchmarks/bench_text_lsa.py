"""TextFeatures (TF-IDF + LSA) against scikit-learn's TfidfVectorizer + TruncatedSVD.

    python benchmarks/bench_text_lsa.py --json benchmarks/results/cpu_text_lsa.json

Real English prose: the paragraphs of Python's own documentation that ship with
the interpreter (``pydoc_data.topics``), then the docstrings of the standard
library, NumPy, SciPy, scikit-learn and pandas (read with ``ast``, nothing
imported), paragraphs of at least 80 characters without doctests or tables.
Each size (3,000 and 20,000 paragraphs) and each number of components
(64 and the default 128) is timed in interleaved rounds (mmfeat, scikit-learn, ...;
best kept) after a warm-up; the explained variance of both fits is reported.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import pathlib
import platform
import sys
import sysconfig
import time

import numpy as np


def _docstring_paragraphs(root: pathlib.Path, skip=("test", "tests", "idle_test")):
    """Prose paragraphs (>= 80 characters, no doctest or table) of the docstrings
    under ``root``, read with ``ast`` (nothing is imported)."""
    for path in sorted(root.rglob("*.py")):
        if any(part in skip for part in path.parts):
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                 ast.AsyncFunctionDef)):
                for p in (ast.get_docstring(node) or "").split("\n\n"):
                    p = p.strip()
                    if len(p) >= 80 and ">>>" not in p and "---" not in p and "===" not in p:
                        yield p


def prose_paragraphs(n: int) -> list[str]:
    """``n`` paragraphs of English prose: Python's documentation, then the docstrings
    of the standard library, then of NumPy, SciPy, scikit-learn and pandas."""
    from pydoc_data.topics import topics

    out: list[str] = []
    for key in sorted(topics):
        out += [p.strip() for p in topics[key].split("\n\n") if len(p.strip()) >= 80]
    roots = [pathlib.Path(sysconfig.get_paths()["stdlib"])]
    purelib = pathlib.Path(sysconfig.get_paths()["purelib"])
    roots += [purelib / pkg for pkg in ("numpy", "scipy", "sklearn", "pandas")]
    for root in roots:
        for p in _docstring_paragraphs(root, skip=("test", "tests", "idle_test",
                                                   "site-packages")
                                       if root == roots[0] else ("test", "tests")):
            out.append(p)
            if len(out) >= n:
                return out
    return out


def _sklearn(k):
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    def run(docs):
        X = TfidfVectorizer().fit_transform(docs)
        svd = TruncatedSVD(n_components=k, algorithm="randomized", n_iter=5, random_state=0)
        Z = svd.fit_transform(X)
        return Z, float(svd.explained_variance_ratio_.sum())

    return run


def _mmfeat(k):
    from mmfeat.text import TextFeatures

    def run(docs):
        tf = TextFeatures(n_components=k)
        Z = tf.fit_transform(docs)
        return Z, float(tf.svd_.explained_variance_ratio_.sum())

    return run


def run(sizes, components, repeat) -> dict:
    import numba
    import scipy
    import sklearn

    import mmfeat

    results = []
    for n in sizes:
        docs = prose_paragraphs(n)
        for k in components:
            entries = {"mmfeat": _mmfeat(k), "sklearn": _sklearn(k)}
            t = time.perf_counter()
            entries["mmfeat"](docs)
            first = time.perf_counter() - t
            var = {name: fn(docs)[1] for name, fn in entries.items()}  # warm-up
            best = {name: float("inf") for name in entries}
            for _ in range(repeat):
                for name, fn in entries.items():
                    t = time.perf_counter()
                    fn(docs)
                    best[name] = min(best[name], time.perf_counter() - t)
            row = {"n_docs": len(docs), "mb": sum(map(len, docs)) / 1e6, "n_components": k,
                   "mmfeat_s": best["mmfeat"], "sklearn_s": best["sklearn"],
                   "ratio": best["sklearn"] / best["mmfeat"], "mmfeat_first_call_s": first,
                   "explained_variance_mmfeat": var["mmfeat"],
                   "explained_variance_sklearn": var["sklearn"]}
            results.append(row)
            print(f"{row['n_docs']:6d} docs ({row['mb']:.1f} MB), k={k:3d}: mmfeat "
                  f"{row['mmfeat_s']:.3f} s, scikit-learn {row['sklearn_s']:.3f} s, "
                  f"{row['ratio']:.2f}x; explained variance {var['mmfeat']:.4f} vs "
                  f"{var['sklearn']:.4f}; first call {first:.2f} s", flush=True)
    return {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                        "numpy": np.__version__, "scipy": scipy.__version__,
                        "scikit-learn": sklearn.__version__, "numba": numba.__version__,
                        "mmfeat": mmfeat.__version__,
                        "threads": mmfeat.threading_info()["max_threads"]},
            "config": {"repeat": repeat, "stat": "min of interleaved rounds after a warm-up"},
            "results": results}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[3000, 20000])
    ap.add_argument("--components", type=int, nargs="+", default=[64, 128])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    rep = run(a.sizes, a.components, a.repeat)
    print(f"versions: {rep['machine']}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rep, f, indent=2)
        print(f"wrote {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
