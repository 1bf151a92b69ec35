"""The text modality's backends behind one dispatch, and what a first call compiles.

``mmfeat.text._dispatch.impl(backend)`` returns ``_reference``, ``_cpu`` or ``_cuda``,
which expose the same functions taking plain values (a TextSpec, arrays, scalars):
no estimator goes into a backend and no backend imports the estimators. A first
call in a fresh process compiles only the kernels it runs, each for one signature.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import pathlib
import subprocess
import sys

import pytest

from mmfeat.text import _cpu, _cuda, _reference
from mmfeat.text._dispatch import impl

API = ["check_params", "vocabulary_table", "count", "sort_terms", "assemble_csr",
       "hashing_transform", "document_frequencies", "tfidf", "vstack"]
BACKENDS = {"numpy": _reference, "cpu": _cpu, "cuda": _cuda}


def test_impl_returns_the_backend_module():
    for name, module in BACKENDS.items():
        assert impl(name) is module


@pytest.mark.parametrize("fn", API)
def test_every_backend_exposes_the_same_function(fn):
    params = {name: list(inspect.signature(getattr(m, fn)).parameters)
              for name, m in BACKENDS.items()}
    assert params["cpu"] == params["numpy"] == params["cuda"], params


def test_no_backend_takes_or_imports_an_estimator():
    for module in BACKENDS.values():
        tree = ast.parse(pathlib.Path(module.__file__).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert "vectorizers" not in (node.module or ""), module.__name__
                assert all(a.name != "vectorizers" for a in node.names), module.__name__
            if isinstance(node, ast.FunctionDef):
                names = {a.arg for a in node.args.args + node.args.kwonlyargs}
                assert not names & {"vec", "vectorizer", "estimator"}, (module.__name__,
                                                                        node.name)


_CHILD = r"""
import inspect, json, numba
import mmfeat.text as mt
from mmfeat.kernels import text as K
docs = [l for l in inspect.getsource(json).splitlines() * 3 if l.strip()][:600]
mt.TfidfVectorizer().fit_transform(docs)
mt.HashingVectorizer().transform(docs)
compiled = {name: [str(s) for s in f.signatures] for name, f in vars(K).items()
            if isinstance(f, numba.core.registry.CPUDispatcher) and f.signatures}
print(json.dumps(compiled))
"""


def test_a_default_first_call_compiles_only_what_it_runs(tmp_path):
    """TfidfVectorizer and HashingVectorizer with default parameters, in a fresh
    process: no char-analyzer, stop-word or pruning kernel is compiled, and no kernel
    or helper is compiled for a second signature (a literal constant or an int32
    argument would add one)."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    r = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    compiled = json.loads(r.stdout.strip().splitlines()[-1])
    for unused in ("preprocess_char", "char_terms", "hashed_char", "_is_stop", "row_nnz",
                   "rehash_slots", "lookup_terms", "build_table"):
        assert unused not in compiled, unused
    for used in ("preprocess_word", "word_terms", "merge_vocabulary", "fill_csr",
                 "hashed_word", "tfidf_rows"):
        assert used in compiled, used
    twice = {name: sigs for name, sigs in compiled.items() if len(sigs) > 1}
    # fill_csr writes float64 TF-IDF data here, and compact packs int32 entries for the
    # vocabulary and int64 ones for hashing: one signature per output dtype
    twice.pop("compact", None)
    assert not twice, twice
