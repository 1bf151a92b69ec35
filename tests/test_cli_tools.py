"""``mmfeat info`` and ``mmfeat bench image``: what they print and write, and their errors."""

from __future__ import annotations

import json

import pytest

from mmfeat import _bench
from mmfeat.cli import main


def test_info_lists_every_backend(capsys):
    assert main(["info"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = [line.split()[0] for line in lines[2:]]
    assert lines[0].split() == ["backend", "available", "detail"]
    assert {"numpy", "cpu", "cuda", "cudf", "cuml", "dask"} <= set(names)
    cpu = next(line for line in lines if line.startswith("cpu "))
    assert " yes " in cpu and "thread" in cpu

    assert main(["info", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["numpy"]["available"] is True
    assert isinstance(report["cuda"]["detail"], str) and report["cuda"]["detail"]


def test_bench_image_table_and_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    rc = main(["bench", "image", "--n", "3", "--size", "40", "--repeat", "2",
               "--skimage-n", "1", "--json", str(out), "--quiet"])
    assert rc == 0
    printed = capsys.readouterr().out
    report = json.loads(out.read_text())
    assert [r["op"] for r in report["results"]] == list(_bench.OPS)
    assert report["config"]["repeat"] == 2 and report["config"]["skimage_n"] == 1
    for row in report["results"]:
        assert row["op"] in printed
        assert len(row["seconds_all"]) == 2 and row["seconds"] == min(row["seconds_all"]) > 0
        assert row["skipped"] == {}  # OpenCV and scikit-image are test dependencies
        for name, t in row["anchors"].items():
            assert row["ratios"][name] == pytest.approx(t / row["seconds"])
            # scikit-image ran on one image and was scaled to the batch
            assert row["anchor_n"][name] == (1 if _bench.is_slow_anchor(name) else 3)
    names = {name for row in report["results"] for name in row["anchors"]}
    assert {"opencv", "skimage"} <= names


def test_bench_image_arguments(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["bench", "image", "--ops", "sobel,blur"])
    assert exc.value.code == 2
    assert "--ops: unknown op(s) 'blur'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["bench", "image", "--repeat", "0"])
    assert "--repeat" in capsys.readouterr().err


def test_rounds_interleave_mmfeat_and_anchors():
    order = []

    def call(name):
        return lambda: order.append(name)

    def broken():
        raise RuntimeError("no such codec")

    calls = {"mmfeat": (call("m"), None, 4), "a": (call("a"), None, 4),
             "bad": (broken, None, 1), "b": (call("b"), None, 1)}
    skipped = {}
    times = _bench._time_interleaved(calls, 3, skipped, lambda s: None, "op")
    assert order == ["m", "a", "b"] + ["m", "a", "b"] * 3  # warm-ups, then rounds
    assert skipped == {"bad": "RuntimeError: no such codec"}
    assert set(times) == {"mmfeat", "a", "b"} and all(len(t) == 3 for t in times.values())

    def mmfeat_fails():
        raise ValueError("kernel error")

    with pytest.raises(ValueError, match="kernel error"):
        _bench._time_interleaved({"mmfeat": (mmfeat_fails, None, 1)}, 1, {}, print, "op")
