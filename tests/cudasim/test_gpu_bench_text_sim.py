"""benchmarks/gpu_bench_text.py at a tiny size under the CUDA simulator: the script
runs end to end, its JSON has the keys the GPU session's report reads, and the cuda
results equal scikit-learn's (parity True).

Runs only with ``NUMBA_ENABLE_CUDASIM=1`` (see conftest.py).
"""

from __future__ import annotations

import importlib.util
import json
import pathlib

import pytest

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_bench_text.py"
# TfidfVectorizer with ngram_range=(1, 2) and HashingVectorizer: unigram tfidf takes
# the same code path and would only lengthen the simulator run
OPS = ("tfidf_ngram12", "hashing")


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("gpu_bench_text", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_tiny_run_writes_the_report(script, tmp_path, capsys):
    out = tmp_path / "gpu_text.json"
    # two sizes with scikit-learn run at the first only: the second is extrapolated
    rc = script.main(["--mb", "0.001,0.002", "--sklearn-max-mb", "0.0015", "--repeat", "1",
                      "--ops", ",".join(OPS), "--json", str(out), "--quiet"])
    printed = capsys.readouterr().out
    report = json.loads(out.read_text())
    assert rc == 0, printed
    assert {"config", "machine", "device", "corpus", "parity", "parity_ok", "h2d", "results",
            "skipped_sizes", "elapsed_s"} <= set(report)
    assert report["device"]["simulator"] is True
    assert report["parity_ok"] is True
    for op in OPS:
        p = report["parity"][op]
        assert p["ok"] is True and p["same_indices"] and p["max_abs_diff"] <= 1e-6, p
        if op != "hashing":
            assert p["same_vocabulary"] is True
    assert report["skipped_sizes"] == []
    rows = {(r["op"], r["mb"]): r for r in report["results"]}
    sizes = sorted({mb for _, mb in rows})
    assert len(rows) == 2 * len(OPS) and len(sizes) == 2 and sizes[0] < sizes[1]
    for (op, mb), r in rows.items():
        want = {"cuda_e2e", "cpu_e2e", "sklearn_e2e"}
        if op != "hashing":
            want |= {"cuda_transform", "sklearn_transform"}
        assert set(r["entries"]) == want, r["entries"]
        for name, e in r["entries"].items():
            assert e["seconds"] > 0, (op, name, e)
        small = mb == sizes[0]
        assert r["sklearn_extrapolated_from_mb"] == (None if small else sizes[0])
        assert ("extrapolated_from_mb" in r["entries"]["sklearn_e2e"]) is not small
        assert r["ratios"]["cuda_e2e_vs_sklearn"] == pytest.approx(
            r["entries"]["sklearn_e2e"]["seconds"] / r["entries"]["cuda_e2e"]["seconds"])
        if op != "hashing":
            assert "cuda_transform_vs_sklearn_transform" in r["ratios"]
        assert isinstance(r["meets_20x"], bool)
    assert "parity tfidf_ngram12" in printed and "MISMATCH" not in printed


def test_unavailable_cuda_is_reported_not_raised(script, tmp_path, monkeypatch):
    """Without a usable cuda backend the script writes the reason and exits 1."""
    from mmfeat.backend import BackendUnavailableError

    def no_cuda():
        raise BackendUnavailableError("no GPU here")

    monkeypatch.setattr(script, "require_cuda", no_cuda)
    out = tmp_path / "x.json"
    assert script.main(["--mb", "0.001", "--json", str(out), "--quiet"]) == 1
    assert json.loads(out.read_text())["error"] == "no GPU here"


def test_an_error_outside_the_cases_still_writes_the_report(script, tmp_path, monkeypatch):
    def broken(kind, mb):
        raise OSError("no corpus")

    monkeypatch.setattr(script, "unique_documents", broken)
    out = tmp_path / "x.json"
    assert script.main(["--mb", "0.001", "--json", str(out), "--quiet"]) == 1
    report = json.loads(out.read_text())
    assert report["error"] == "OSError: no corpus" and report["results"] == []


def test_tiled_corpus_and_prefix(script):
    docs = ["ab", "", "cdé"]  # 6 UTF-8 bytes
    arr = script.tiled_corpus(docs, 13)  # cut after the first document reaching 13 bytes
    assert arr.to_pylist() == docs * 2 + ["ab"]
    assert script.nbytes_of(arr) == 14
    head = script.prefix(arr, 3)
    assert head.to_pylist() == ["ab", "", "cdé"] and script.nbytes_of(head) == 6
    mid = script.prefix(arr, 8)
    assert mid.to_pylist() == ["ab", "", "cdé", "ab"]
    assert script.prefix(arr, 10**9).to_pylist() == docs * 2 + ["ab"]
