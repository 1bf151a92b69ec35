"""mmfeat inside other people's parallelism: forked workers, threads, Dask and joblib.

Each scenario of ``proc_scenarios.py`` runs in a fresh interpreter with none of
the threading variables set (as on a new virtualenv), so the threading layer is
the one mmfeat picks by itself. Two of them are also run under the layers that
fail (GNU OpenMP for fork, workqueue for threads) to show that they detect it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import mmfeat
from mmfeat import backend

HERE = Path(__file__).parent
SCRIPT = HERE / "proc_scenarios.py"
_THREAD_VARS = ("NUMBA_THREADING_LAYER", "NUMBA_THREADING_LAYER_PRIORITY", "NUMBA_NUM_THREADS",
                "OMP_NUM_THREADS", "NUMBA_ENABLE_CUDASIM")

linux = pytest.mark.skipif(not sys.platform.startswith("linux"),
                           reason="fork semantics and GNU OpenMP are Linux's")


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in _THREAD_VARS}
    env.update(extra)
    return env


def _run(args, timeout=420, **extra) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=HERE, env=_env(**extra),
                          capture_output=True, text=True, timeout=timeout)


def _python(code: str, **extra) -> subprocess.CompletedProcess:
    return _run(["-c", code], timeout=240, **extra)


@linux
@pytest.mark.parametrize("scenario", ["fork", "pool-fork", "pool-spawn", "pool-forkserver",
                                      "threads", "dask", "joblib"])
def test_every_family_gives_serial_results(scenario):
    """image, text, audio, the three transformers and FeaturePipeline, in the scenario,
    equal the parent's serial results bit for bit."""
    r = _run([str(SCRIPT), scenario])
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    assert "layer=tbb" in r.stdout
    assert "DIFF" not in r.stdout


@linux
@pytest.mark.parametrize("scenario", ["fork", "threads", "pool-fork"])
def test_users_parallel_numba_code_is_safe_beside_mmfeat(scenario):
    """mmfeat's kernels run on its own threads; a user's ``parallel=True`` code in the
    same process meets Numba's threading layer, which mmfeat set to TBB: it survives
    the fork and the concurrent calls too."""
    r = _run([str(SCRIPT), scenario], PROC_SCENARIO_USER_PARFOR="1")
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    assert "layer=tbb" in r.stdout and "DIFF" not in r.stdout


@linux
def test_fork_scenario_fails_under_openmp():
    """The fork test detects the failure it guards against: with the OpenMP layer
    (Numba's default without TBB, and every mmfeat kernel's before this version) the
    child that runs parallel Numba code is killed."""
    r = _run([str(SCRIPT), "fork"], timeout=240, NUMBA_THREADING_LAYER="omp",
             PROC_SCENARIO_USER_PARFOR="1")
    assert r.returncode == 1, r.stdout + r.stderr[-2000:]
    assert "layer=omp" in r.stdout  # the user's choice is kept
    assert "forked child exit" in r.stdout
    assert "fork() called from a process already using GNU OpenMP" in r.stderr


@linux
def test_threads_scenario_fails_under_workqueue():
    """The threads test detects concurrent launches that the workqueue layer cannot take."""
    r = _run([str(SCRIPT), "threads"], timeout=240, NUMBA_THREADING_LAYER="workqueue",
             PROC_SCENARIO_USER_PARFOR="1")
    assert r.returncode != 0
    assert "workqueue threading layer is not threadsafe" in r.stderr


# -- which layer, how many threads ------------------------------------------------------------

_INFO = "import json, mmfeat; print(json.dumps(mmfeat.threading_info()))"


def _info(**extra) -> dict:
    r = _python(_INFO, **extra)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.splitlines()[-1])


@linux
def test_fresh_process_gets_tbb_without_environment_variables():
    info = _info()
    assert info["layer"] == "tbb"
    assert info["chosen_by"] == "mmfeat"
    assert info["problem"] is None
    assert info["fork_safe"] and info["thread_safe"]
    assert info["max_threads"] == os.cpu_count()


@pytest.mark.parametrize("chosen, layer", [("workqueue", "workqueue"),
                                           pytest.param("tbb", "tbb", marks=linux),
                                           pytest.param("safe", "tbb", marks=linux)])
def test_user_layer_is_kept_without_warning(chosen, layer):
    """A layer set in the environment wins; TBB is still loaded from the virtualenv,
    so that a choice of "tbb" or "safe" works without LD_LIBRARY_PATH."""
    r = _python("import warnings; warnings.simplefilter('error'); " + _INFO,
                NUMBA_THREADING_LAYER=chosen)
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout.splitlines()[-1])
    assert info["layer"] == layer and info["chosen_by"] == "user"
    assert info["thread_safe"] == (layer != "workqueue")


def test_omp_num_threads_bounds_numba_when_numba_num_threads_is_unset():
    assert _info(OMP_NUM_THREADS="1")["max_threads"] == 1
    # NUMBA_NUM_THREADS wins where both are set
    both = _info(OMP_NUM_THREADS="1", NUMBA_NUM_THREADS=str(os.cpu_count()))
    assert both["max_threads"] == os.cpu_count()


@linux
def test_without_tbb_one_warning_names_the_consequence():
    code = (
        "import warnings, json\n"
        "import mmfeat.kernels._threading as t\n"
        "t._load_tbb = lambda path: 'simulated: no TBB here'\n"
        "import numpy as np, mmfeat\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        "    x = np.zeros((2, 16, 16, 3), np.uint8)\n"
        "    mmfeat.image.sobel(x); mmfeat.audio.rms(y=np.zeros((2, 4000), np.float32))\n"
        "    info = mmfeat.threading_info()\n"
        "print(json.dumps([[str(m.message), m.category.__name__] for m in w]))\n"
        "print(json.dumps(info))\n"
    )
    r = _python(code)
    assert r.returncode == 0, r.stderr
    caught, info = (json.loads(line) for line in r.stdout.splitlines()[-2:])
    assert [c for _, c in caught] == ["ThreadingLayerWarning"]
    message = caught[0][0]
    assert "simulated: no TBB here" in message and "forked" in message and "spawn" in message
    assert info["layer"] == "omp" and info["chosen_by"] == "numba default"
    assert info["problem"] == "simulated: no TBB here" and not info["fork_safe"]


def test_load_tbb_reports_a_missing_library():
    from mmfeat.kernels import _threading

    why = _threading._load_tbb("/nonexistent/libtbb.so.12")
    assert "could not be loaded from /nonexistent/libtbb.so.12" in why


def test_mmfeat_info_shows_layer_and_threads(capsys):
    from mmfeat.cli import main

    assert main(["info"]) == 0
    out = capsys.readouterr().out
    layer = mmfeat.threading_info()["layer"]
    assert f"{layer} threading layer" in out
    assert f"of {mmfeat.threading_info()['max_threads']} threads" in out
    assert main(["info", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["cpu"]["threading"]["layer"] == layer


# -- set_num_threads ------------------------------------------------------------------------------


def test_set_num_threads_as_context_and_call():
    before = mmfeat.get_num_threads()
    imgs = np.random.default_rng(0).integers(0, 256, (3, 40, 40, 3), dtype=np.uint8)
    ref = mmfeat.image.sobel(imgs)
    with mmfeat.set_num_threads(1) as limit:
        assert limit.n == 1 and mmfeat.get_num_threads() == 1
        np.testing.assert_array_equal(mmfeat.image.sobel(imgs), ref)
        with mmfeat.set_num_threads(10_000):  # clipped to the threads Numba started
            assert mmfeat.get_num_threads() == mmfeat.threading_info()["max_threads"]
        assert mmfeat.get_num_threads() == 1
    assert mmfeat.get_num_threads() == before
    with pytest.raises(RuntimeError), mmfeat.set_num_threads(1):
        raise RuntimeError("restored on the way out")
    assert mmfeat.get_num_threads() == before
    try:
        mmfeat.set_num_threads(1)  # as a plain call the bound stays
        assert mmfeat.get_num_threads() == 1
    finally:
        mmfeat.set_num_threads(before)


@pytest.mark.parametrize("bad, err, msg", [(0, ValueError, "n must be at least 1, got 0"),
                                           (1.5, TypeError, "n must be an int, got float"),
                                           (True, TypeError, "n must be an int, got bool")])
def test_set_num_threads_rejects_bad_counts(bad, err, msg):
    with pytest.raises(err, match=msg):
        mmfeat.set_num_threads(bad)


def test_text_ranges_never_use_more_threads_than_the_bound():
    import threading
    import time

    from mmfeat.text import _cpu

    running, peak, lock = [0], [0], threading.Lock()

    def kernel(d0, d1, seen):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.002)
        seen[d0:d1] += 1
        with lock:
            running[0] -= 1

    for n_threads in {1, mmfeat.threading_info()["max_threads"]}:
        peak[0] = 0
        seen = np.zeros(5000, np.int64)
        with mmfeat.set_num_threads(n_threads):
            _cpu.parallel_for(kernel, seen.size, seen)
        np.testing.assert_array_equal(seen, 1)  # every item once
        assert peak[0] <= n_threads


# -- the Dask executor's share of cores ----------------------------------------------------------


@linux
def test_dask_local_workers_get_their_share_of_cores():
    from mmfeat.distributed import make_client

    def worker_info():
        import mmfeat

        return mmfeat.threading_info()

    with make_client(workers=2, dashboard_address=None) as client:
        infos = list(client.run(worker_info).values())
    share = max(1, (os.cpu_count() or 1) // 2)
    assert len(infos) == 2
    for info in infos:
        assert info["layer"] == "tbb"
        assert info["max_threads"] == share


# -- the GPU backend in a forked child ----------------------------------------------------------


@linux
def test_cuda_in_a_child_forked_after_cuda_says_use_spawn(monkeypatch):
    """A child forked from a process that initialised CUDA gets a clear error at its
    first cuda call (here the parent's initialisation is simulated: no GPU in CI)."""
    monkeypatch.setattr(backend, "_CUDA_PID", os.getpid())
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        code = 0
        try:
            for call in (backend.require_cuda,
                         lambda: mmfeat.image.sobel(np.zeros((1, 8, 8), np.float32),
                                                    backend="cuda")):
                try:
                    call()
                    os.write(w, b"no error\x1e")
                    code = 1
                except mmfeat.BackendUnavailableError as exc:
                    os.write(w, str(exc).encode() + b"\x1e")
            detail = mmfeat.backends()["cuda"]
            os.write(w, json.dumps(detail).encode())
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            os.write(w, repr(exc).encode())
            code = 2
        os._exit(code)
    os.close(w)
    _, status = os.waitpid(pid, 0)
    said = b""
    while chunk := os.read(r, 65536):
        said += chunk
    said = said.decode()
    assert os.waitstatus_to_exitcode(status) == 0, said
    first, second, detail = said.split("\x1e", 2)
    for msg in (first, second):
        assert f"forked from process {os.getpid()}" in msg
        assert "'spawn'" in msg and "does not survive fork" in msg
    detail = json.loads(detail)
    assert not detail["available"] and "spawn" in detail["detail"]


def test_cuda_check_passes_in_the_process_that_initialised_it(monkeypatch):
    monkeypatch.setattr(backend, "_CUDA_PID", os.getpid())
    backend._check_not_forked_from_cuda()  # no error in the same process


def test_threading_warning_is_public():
    assert issubclass(mmfeat.ThreadingLayerWarning, RuntimeWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mmfeat.threading_info()  # nothing to warn about once the layer is settled
