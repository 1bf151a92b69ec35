"""Kernels compiled when the wheel is built (``kernels/_prebuilt.py``): a fresh process
loads them instead of compiling, gets the numbers a compile gives, and ignores them
whenever they may not fit (other sources, other versions, switched off)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from mmfeat.kernels import _prebuilt

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMITTED = os.path.join(REPO, "kernels", "prebuilt_signatures.txt")

# a fresh process: did these calls compile anything, what did they return?
_PROBE = """
import json, sys, numpy as np
from numba.core import event
import mmfeat.image
from mmfeat.kernels import _prebuilt
x = np.random.default_rng(0).integers(0, 256, (2, 24, 20, 3), dtype=np.uint8)
# compiler passes run only when a kernel is compiled, not when it is loaded
with event.install_recorder("numba:run_pass") as passes:
    g = mmfeat.image.rgb_to_gray(x)
    s = mmfeat.image.sobel(x)
np.save(sys.argv[1], np.concatenate([g.ravel(), s.ravel()]))
st = _prebuilt.state()
from mmfeat.kernels import image as K
shipped = [_prebuilt.is_shipped(k.py_func) for k in (K.rgb_to_gray, K.canny_worker)]
print(json.dumps({"passes": len(passes.buffer), "active": st["active"],
                  "reason": st["reason"], "loads": st["loads"], "shipped": shipped}))
"""


def _probe(tmp_path, tag, **env):
    out = tmp_path / f"{tag}.npy"
    cache = tmp_path / f"cache-{tag}"
    r = subprocess.run([sys.executable, "-c", _PROBE, str(out)],
                       env={**os.environ, "NUMBA_CACHE_DIR": str(cache), **env},
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.splitlines()[-1]), np.load(out), cache


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """A shipped-kernels folder holding the two uint8 kernels the probe calls."""
    root = tmp_path_factory.mktemp("prebuilt")
    lines = [line for line in open(COMMITTED) if not line.startswith("#")
             and line.split("\t")[:2] in (["mmfeat.kernels.image", "rgb_to_gray"],
                                          ["mmfeat.kernels.image", "sobel"])
             and "Array(uint8" in line.split("\t")[2][:30]]
    assert len(lines) == 2, lines
    sigs = root / "signatures.txt"
    sigs.write_text("".join(lines))
    record = _prebuilt.build(str(root / "ship"), str(sigs), jobs=1, log=None)
    assert record["signatures"] == 2 and record["digest"] == _prebuilt.kernels_digest()
    return root / "ship"


def test_a_fresh_process_loads_shipped_kernels_and_gets_the_same_numbers(shipped, tmp_path):
    got, values, cache = _probe(tmp_path, "shipped", MMFEAT_PREBUILT_DIR=str(shipped))
    assert got["active"] and got["loads"] >= 2, got
    assert got["passes"] == 0, got  # nothing compiled
    assert got["shipped"] == [True, False]  # what the background compile asks
    assert not any(cache.rglob("*.nbi"))  # nor written to the user's cache
    jit, values_jit, _ = _probe(tmp_path, "jit", MMFEAT_PREBUILT="0")
    assert not jit["active"] and jit["reason"] == "MMFEAT_PREBUILT=0"
    assert jit["passes"] > 0  # switched off: compiled from nothing
    assert jit["shipped"] == [False, False]
    np.testing.assert_array_equal(values, values_jit)


def _altered(shipped, tmp_path, **changes):
    root = tmp_path / "altered"
    shutil.copytree(shipped, root)
    manifest = json.loads((root / _prebuilt.MANIFEST).read_text())
    (root / _prebuilt.MANIFEST).write_text(json.dumps({**manifest, **changes}))
    return root


@pytest.mark.parametrize("changes, reason", [
    ({"digest": "0" * 64}, "the kernel sources changed since the build"),
    ({"numba": "0.1.0"}, "built with numba '0.1.0'"),
    ({"python": "3.1"}, "built with python '3.1'"),
])
def test_shipped_kernels_that_may_not_fit_are_ignored(shipped, tmp_path, changes, reason):
    got, values, _ = _probe(tmp_path, "stale",
                            MMFEAT_PREBUILT_DIR=str(_altered(shipped, tmp_path, **changes)))
    assert not got["active"] and got["reason"].startswith(reason), got
    assert got["passes"] > 0 and got["loads"] == 0


def test_without_a_build_record_nothing_is_shipped(tmp_path):
    got, _, _ = _probe(tmp_path, "none", MMFEAT_PREBUILT_DIR=str(tmp_path / "missing"))
    assert not got["active"] and got["reason"].startswith("not built"), got


def test_a_damaged_shipped_kernel_is_compiled_instead(shipped, tmp_path):
    root = _altered(shipped, tmp_path)
    for f in root.glob("*.nbc"):
        f.write_bytes(b"not a pickle")
    env = {**os.environ, "MMFEAT_PREBUILT_DIR": str(root),
           "NUMBA_CACHE_DIR": str(tmp_path / "c")}
    r = subprocess.run([sys.executable, "-c", _PROBE, str(tmp_path / "d.npy")], env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.splitlines()[-1])
    assert got["passes"] > 0 and got["loads"] == 0, got
    assert "a shipped kernel did not load" in r.stderr


def test_the_signatures_file_is_current(tmp_path):
    """The committed list is what ``mmfeat compile``'s workload reaches: regenerate
    it (``mmfeat compile --record-signatures ...``) when a kernel's arguments change."""
    out = tmp_path / "signatures.txt"
    r = subprocess.run([sys.executable, "-m", "mmfeat.cli", "compile", "--record-signatures",
                        str(out)], capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, r.stderr
    recorded = _prebuilt.read_signatures(str(out))
    assert recorded == _prebuilt.read_signatures(COMMITTED), (
        "kernels/prebuilt_signatures.txt is out of date: "
        "mmfeat compile --record-signatures kernels/prebuilt_signatures.txt")
    assert len(recorded) >= 40


def _installed_as_wheel() -> bool:
    return "site-packages" in _prebuilt.PACKAGE_DIR and os.environ.get(
        _prebuilt.BUILD_ENV) != "0"


@pytest.mark.skipif(not _installed_as_wheel(), reason="an editable install ships no kernels")
def test_the_installed_wheel_serves_the_budget_calls_without_compiling(tmp_path):
    """Issue 14's eight first calls, in a fresh process with an empty cache."""
    code = """
import json, numpy as np
from numba.core import event
import mmfeat, mmfeat.image, mmfeat.text, mmfeat.audio
from mmfeat._bench import make_batch
from mmfeat.kernels import _prebuilt
x = make_batch(2, 64)
y = np.random.default_rng(0).standard_normal((2, 16000)).astype(np.float32)
docs = ["a first document", "and a second one", "third"] * 5
with event.install_recorder("numba:run_pass") as passes:
    for f in (mmfeat.image.canny, mmfeat.image.sobel, mmfeat.image.rgb_to_gray,
              mmfeat.image.color_histogram, mmfeat.image.ImageFeatures().fit_transform):
        f(x)
    mmfeat.text.TfidfVectorizer().fit_transform(docs)
    mmfeat.audio.mfcc(y=y, sr=16000)
    mmfeat.audio.AudioFeatures(sr=16000).fit_transform([y[0], y[1, :9000]])
print(json.dumps({"passes": len(passes.buffer), **_prebuilt.state()}))
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}, timeout=600)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.splitlines()[-1])
    assert got["active"], got["reason"]
    assert got["passes"] == 0 and got["loads"] > 10, got
