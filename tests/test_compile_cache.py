"""``mmfeat compile`` fills Numba's cache so that a later process compiles nothing,
and the compile clock that ``demo``/``extract`` report."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from mmfeat.cli import main

# a fresh process on a given cache: did two audio calls compile anything?
_PROBE = """
import json, numpy as np
from numba.core import event
import mmfeat, mmfeat.audio
# compiler passes run only when a kernel is compiled, not when it is loaded from the cache
with event.install_recorder("numba:run_pass") as passes:
    mmfeat.audio.rms(y=np.zeros((2, 4000), np.float32))
    mmfeat.audio.zero_crossing_rate(np.zeros((2, 4000), np.float32))
print(json.dumps({"passes": len(passes.buffer)}))
"""


# Numba's own cache, without the kernels a wheel ships compiled (tests/test_prebuilt.py)
NO_SHIPPED = {"MMFEAT_PREBUILT": "0"}


def _probe(cache):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), **NO_SHIPPED}
    r = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.splitlines()[-1])


def test_compile_command_fills_the_cache_for_later_processes(tmp_path, capsys):
    cache = tmp_path / "cache"
    cold = _probe(cache)
    assert cold["passes"] > 0  # an empty cache compiles
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache2"), **NO_SHIPPED}
    r = subprocess.run([sys.executable, "-c",
                        "import sys; from mmfeat.cli import main; "
                        "sys.exit(main(['compile', 'audio']))"],
                       env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    assert "audio" in r.stdout and "total" in r.stdout
    warm = _probe(tmp_path / "cache2")
    assert warm["passes"] == 0, warm  # everything loaded from the cache, nothing compiled
    assert any(list((tmp_path / "cache2").rglob("*.nbc")))


def test_compile_command_rejects_unknown_modalities(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["compile", "video"])
    assert exc.value.code == 2
    assert "unknown modality 'video'" in capsys.readouterr().err


def test_compile_clock_measures_a_compilation():
    import numba

    from mmfeat._compile_clock import compile_clock

    @numba.njit
    def f(x):
        return x + 1

    with compile_clock() as first:
        f(np.float64(1.0))
    with compile_clock() as second:
        f(np.float64(2.0))  # compiled already: nothing to measure
    assert first.seconds > 0
    assert second.seconds == 0.0


def test_read_only_install_caches_in_the_user_cache_folder(tmp_path):
    """Where the kernels' folder cannot take a cache (read-only site-packages; here its
    __pycache__ is a file, since root ignores permission bits), Numba's cache goes to
    the user cache folder and a second process loads it from there."""
    import shutil

    import mmfeat.kernels

    import mmfeat

    site = tmp_path / "site"
    ignore = shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc", "_prebuilt")
    shutil.copytree(mmfeat.__path__[0], site / "mmfeat", ignore=ignore, dirs_exist_ok=True)
    shutil.copytree(mmfeat.kernels.__path__[0], site / "mmfeat" / "kernels", ignore=ignore,
                    dirs_exist_ok=True)
    (site / "mmfeat" / "kernels" / "__pycache__").write_text("not a folder")
    xdg = tmp_path / "xdg"
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(PYTHONPATH=str(site), XDG_CACHE_HOME=str(xdg))
    code = ("import json, numpy as np, mmfeat\n"
            "from numba.core import event\n"
            f"assert mmfeat.__file__.startswith({str(site)!r}), mmfeat.__file__\n"
            "with event.install_recorder('numba:run_pass') as passes:\n"
            "    mmfeat.image.rgb_to_gray(np.zeros((1, 8, 8, 3), np.uint8))\n"
            "print(len(passes.buffer))\n")
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                           text=True, timeout=600, cwd=tmp_path) for _ in range(2)]
    for r in runs:
        assert r.returncode == 0, r.stderr
    first, second = (int(r.stdout.split()[-1]) for r in runs)
    assert first > 0 and second == 0
    assert list((xdg / "numba").rglob("*.nbc"))  # the user cache folder holds the code


def test_background_steps_leave_out_the_modality_compiled_first():
    from mmfeat._warmup import background_steps

    # text is fitted on the whole column first, then batches run image, text, audio
    assert background_steps({"image", "text", "audio"}) == ["pipeline-image", "pipeline-audio"]
    assert background_steps({"image", "audio"}) == ["pipeline-audio"]
    assert background_steps({"text", "audio"}, fitted=True) == ["pipeline-audio"]
    assert background_steps({"image", "text"}, fitted=True) == ["pipeline-text"]
    assert background_steps({"image"}) == []


def test_background_compile_can_be_switched_off(monkeypatch):
    from mmfeat._warmup import BACKGROUND_ENV, compile_in_background

    monkeypatch.setenv(BACKGROUND_ENV, "0")
    assert compile_in_background(["pipeline-audio"]) is None


_BACKGROUND = """
import json
from mmfeat._warmup import _looks_cached, compile_in_background
before = _looks_cached("pipeline-audio")
proc = compile_in_background(["pipeline-audio"])
rc = proc.wait(timeout=600)
again = compile_in_background(["pipeline-audio"])  # cached now: nothing to start
print(json.dumps({"before": before, "rc": rc, "after": _looks_cached("pipeline-audio"),
                  "again": again is None}))
"""


def test_background_compile_fills_the_shared_cache(tmp_path):
    """The sibling process compiles into the cache the caller uses, then a second
    request finds it filled and starts nothing."""
    from mmfeat._warmup import BACKGROUND_ENV

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache"), **NO_SHIPPED}
    env.pop(BACKGROUND_ENV, None)
    r = subprocess.run([sys.executable, "-c", _BACKGROUND], env=env, capture_output=True,
                       text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.splitlines()[-1])
    assert got == {"before": False, "rc": 0, "after": True, "again": True}


def test_background_compile_stops_cleanly():
    from mmfeat._warmup import stop_background

    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    stop_background(proc)
    assert proc.poll() is not None
    stop_background(proc)  # already ended: nothing to do
    stop_background(None)


_WRITER = """
import sys, time
import numpy as np
import mmfeat.kernels._cache_lock as lock
assert lock.install()
sys.path.insert(0, sys.argv[1])
import shared_kernel
start = float(sys.argv[3])
while time.time() < start:  # every writer compiles at the same moment
    time.sleep(0.001)
dtype = np.dtype(sys.argv[2])
print(shared_kernel.twice(np.arange(4, dtype=dtype)).sum())
"""

_READER = """
import sys
import numpy as np
import mmfeat.kernels._cache_lock as lock
lock.install()
sys.path.insert(0, sys.argv[1])
import shared_kernel
from numba.core import event
out = []
with event.install_recorder("numba:run_pass") as passes:
    for name in sys.argv[2:]:
        x = np.arange(4, dtype=np.dtype(name))
        y = shared_kernel.twice(x)
        out.append(bool((y == 2 * x.astype(np.float64)).all()))
print(all(out), len(passes.buffer))
"""

_KERNEL = """
import numba

@numba.njit(cache=True)
def twice(x):
    return x * 2
"""


def test_concurrent_processes_save_to_one_cache_consistently(tmp_path):
    """Processes compiling different signatures of one cached function at the same
    moment (a background compile beside the main process, workers on a fresh
    install) each keep their own entry: a later process loads every signature from
    the cache (no compiler pass) and gets its own numbers back."""
    import time

    (tmp_path / "shared_kernel.py").write_text(_KERNEL)
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    dtypes = ["int8", "int16", "int32", "int64", "float32", "float64"]
    start = time.time() + 6.0
    writers = [subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path), d, str(start)],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True) for d in dtypes]
    for w in writers:
        out, err = w.communicate(timeout=600)
        assert w.returncode == 0, err
    r = subprocess.run([sys.executable, "-c", _READER, str(tmp_path), *dtypes], env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    ok, passes = r.stdout.split()
    assert ok == "True" and passes == "0", r.stdout
    assert list((tmp_path / "cache").rglob(".mmfeat-cache.lock"))
