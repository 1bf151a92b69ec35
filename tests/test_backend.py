"""The backend layer: resolution, use_backend, backends(), lazy GPU imports, chunking."""

from __future__ import annotations

import importlib
import os
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import mmfeat
from mmfeat import backend as B
from mmfeat import config
from mmfeat.image import _dispatch


def _run_python(code: str, *, cudasim: bool = False) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    if cudasim:
        env["NUMBA_ENABLE_CUDASIM"] = "1"
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


# --- resolution ----------------------------------------------------------------------


@pytest.fixture
def spy(monkeypatch):
    """Records the backend name each public op dispatches to (and still runs it)."""
    calls: list[str] = []
    real = _dispatch.impl

    def impl(name):
        calls.append(name)
        return real(name)

    monkeypatch.setattr(_dispatch, "impl", impl)
    return calls


X = np.zeros((1, 4, 5, 3), dtype=np.uint8)


def test_default_backend_for_numpy_input_is_cpu(spy):
    assert B.resolve_backend(None, X) == "cpu"
    mmfeat.image.rgb_to_gray(X)
    assert spy == ["cpu"]


def test_argument_beats_context_beats_input(spy):
    with mmfeat.use_backend("numpy"):
        assert B.resolve_backend(None, X) == "numpy"
        assert B.resolve_backend("cpu", X) == "cpu"
        mmfeat.image.rgb_to_gray(X)
        mmfeat.image.rgb_to_gray(X, backend="cpu")
    mmfeat.image.rgb_to_gray(X)
    assert spy == ["numpy", "cpu", "cpu"]


def test_explicit_backend_argument_on_every_op(spy):
    ops = [
        lambda b: mmfeat.image.rgb_to_gray(X, backend=b),
        lambda b: mmfeat.image.rgb_to_hsv(X, backend=b),
        lambda b: mmfeat.image.sobel(X, backend=b),
        lambda b: mmfeat.image.canny(X, backend=b),
        lambda b: mmfeat.image.color_histogram(X, backend=b),
        lambda b: mmfeat.image.color_moments(X, backend=b),
        lambda b: mmfeat.image.gradient_histogram(X, backend=b),
    ]
    for op in ops:
        spy.clear()
        op("numpy")
        assert spy == ["numpy"]
        spy.clear()
        op("cpu")
        assert spy == ["cpu"]


def test_use_backend_nesting_and_reset():
    assert B.resolve_backend(None, X) == "cpu"
    with mmfeat.use_backend("numpy") as name:
        assert name == "numpy"
        assert B.resolve_backend(None, X) == "numpy"
        with mmfeat.use_backend("cpu"):
            assert B.resolve_backend(None, X) == "cpu"
            with mmfeat.use_backend("numpy"):
                assert B.resolve_backend(None, X) == "numpy"
            assert B.resolve_backend(None, X) == "cpu"
        assert B.resolve_backend(None, X) == "numpy"
    assert B.resolve_backend(None, X) == "cpu"


def test_use_backend_resets_after_an_exception():
    with pytest.raises(KeyError):
        with mmfeat.use_backend("numpy"):
            raise KeyError("boom")
    assert B.resolve_backend(None, X) == "cpu"


def test_use_backend_rejects_unknown_names():
    with pytest.raises(ValueError, match="backend"):
        with mmfeat.use_backend("tpu"):
            pass
    with pytest.raises(ValueError, match="backend"):
        B.resolve_backend("CPU", X)
    assert B.resolve_backend(None, X) == "cpu"


def test_cupy_like_input_resolves_to_cuda():
    fake_cupy = type("ndarray", (), {"__module__": "cupy._core.core"})()
    assert B.is_cupy_array(fake_cupy)
    assert not B.is_cupy_array(X)
    assert B.resolve_backend(None, fake_cupy) == "cuda"
    assert B.resolve_backend("numpy", fake_cupy) == "numpy"


# --- report ----------------------------------------------------------------------------


def test_backends_report():
    rep = mmfeat.backends()
    assert set(rep) == {"numpy", "cpu", "cuda", "cudf", "cuml", "dask"}
    for name, entry in rep.items():
        # mmfeat.threading_info() and whether kernels compiled at install are in use
        extra = {"threading", "prebuilt"} if name == "cpu" else set()
        assert set(entry) == {"available", "detail"} | extra, name
        assert isinstance(entry["available"], bool), name
        assert isinstance(entry["detail"], str) and entry["detail"], name
    assert rep["numpy"]["available"] is True
    assert rep["cpu"]["available"] is True
    assert "Numba" in rep["cpu"]["detail"]
    assert rep["cpu"]["threading"] == mmfeat.threading_info()
    assert {"active", "reason", "loads"} <= set(rep["cpu"]["prebuilt"])
    assert ("compiled at install" if rep["cpu"]["prebuilt"]["active"]
            else "first calls compile") in rep["cpu"]["detail"]


# --- lazy imports and a missing GPU -------------------------------------------------------


def test_import_does_not_import_cupy_or_numba_cuda():
    res = _run_python(
        """
        import sys
        import mmfeat, mmfeat.image
        bad = [m for m in ("cupy", "numba.cuda") if m in sys.modules]
        assert not bad, bad
        """
    )
    assert res.returncode == 0, res.stderr


def test_image_and_audio_ops_do_not_import_scikit_learn():
    """scikit-learn's import (~1.3 s) is paid by the transformers that subclass its
    BaseEstimator, on first use, not by ``import mmfeat`` and the ops."""
    res = _run_python(
        """
        import sys
        import numpy as np
        import mmfeat, mmfeat.audio
        mmfeat.image.sobel(np.zeros((1, 8, 8, 3), np.uint8))
        assert "sklearn" not in sys.modules
        from mmfeat.image import ImageFeatures
        from mmfeat.audio import AudioFeatures
        assert "sklearn" in sys.modules
        assert ImageFeatures.__module__ == "mmfeat.image.features"
        assert "AudioFeatures" in dir(mmfeat.audio) and "ImageFeatures" in dir(mmfeat.image)
        try:
            mmfeat.image.NoSuchThing
        except AttributeError as e:
            assert "NoSuchThing" in str(e)
        else:
            raise AssertionError("no AttributeError")
        """
    )
    assert res.returncode == 0, res.stderr

def test_cuda_without_gpu_raises_backend_unavailable():
    # CuPy is made unimportable, as on a machine without the GPU stack.
    res = _run_python(
        """
        import sys
        sys.modules["cupy"] = None
        import numpy as np
        import mmfeat
        x = np.zeros((1, 4, 4, 3), np.uint8)
        try:
            mmfeat.image.sobel(x, backend="cuda")
        except mmfeat.BackendUnavailableError as exc:
            print("MESSAGE:", exc)
        else:
            raise SystemExit("no error")
        with mmfeat.use_backend("cuda"):
            try:
                mmfeat.image.rgb_to_gray(x)
            except mmfeat.BackendUnavailableError:
                pass
            else:
                raise SystemExit("no error under use_backend")
        rep = mmfeat.backends()["cuda"]
        assert rep["available"] is False, rep
        print("DETAIL:", rep["detail"])
        """
    )
    assert res.returncode == 0, res.stdout + res.stderr
    message = res.stdout.split("MESSAGE:", 1)[1].splitlines()[0]
    assert "cuda" in message and "CuPy" in message
    assert "CuPy" in res.stdout.split("DETAIL:", 1)[1]


def test_backend_unavailable_error_is_a_runtime_error():
    assert issubclass(mmfeat.BackendUnavailableError, RuntimeError)


# --- chunking -------------------------------------------------------------------------------


class OutOfMemoryError(Exception):
    """Named like cupy.cuda.memory.OutOfMemoryError."""


def _fake(limit: int, exc_type=MemoryError):
    """fn that fails with ``exc_type`` on more than ``limit`` items; logs chunk sizes."""
    log: list[tuple[int, bool]] = []

    def fn(chunk):
        ok = chunk.shape[0] <= limit
        log.append((chunk.shape[0], ok))
        if not ok:
            raise exc_type(f"cannot allocate {chunk.shape[0]} items")
        return chunk * 10

    return fn, log


@pytest.mark.parametrize("exc_type", [MemoryError, OutOfMemoryError])
@pytest.mark.parametrize("n,limit", [(13, 3), (8, 1), (5, 4), (1, 1), (16, 16)])
def test_map_chunks_halves_on_out_of_memory(n, limit, exc_type, monkeypatch):
    monkeypatch.setattr(config, "GPU_MAX_CHUNK_ITEMS", None)
    x = np.arange(n * 2).reshape(n, 2)
    fn, log = _fake(limit, exc_type)
    out = B.map_chunks(fn, x, bytes_per_item=16, xp=np)
    np.testing.assert_array_equal(out, x * 10)  # every item once, in order
    done = [size for size, ok in log if ok]
    assert sum(done) == n
    assert all(size <= limit for size in done)
    assert all(size > limit for size, ok in log if not ok)


def test_map_chunks_gives_up_on_a_single_item():
    fn, _ = _fake(0)
    with pytest.raises(MemoryError):
        B.map_chunks(fn, np.zeros((4, 2)), bytes_per_item=16, xp=np)


def test_map_chunks_does_not_retry_other_errors():
    calls = []

    def fn(chunk):
        calls.append(chunk.shape[0])
        raise ValueError("not memory")

    with pytest.raises(ValueError, match="not memory"):
        B.map_chunks(fn, np.zeros((6, 2)), bytes_per_item=16, xp=np)
    assert calls == [6]


def test_map_chunks_respects_max_chunk_items(monkeypatch):
    monkeypatch.setattr(config, "GPU_MAX_CHUNK_ITEMS", 3)
    sizes = []

    def fn(chunk):
        sizes.append(chunk.shape[0])
        return chunk + 1

    x = np.arange(10)[:, None]
    np.testing.assert_array_equal(B.map_chunks(fn, x, bytes_per_item=8, xp=np), x + 1)
    assert sizes == [3, 3, 3, 1]


def test_map_chunks_empty_batch():
    out = B.map_chunks(lambda c: c * 2.0, np.zeros((0, 3)), bytes_per_item=8, xp=np)
    assert out.shape == (0, 3)


# --- packaging ---------------------------------------------------------------------------------


def test_kernels_are_the_subpackage_mmfeat_kernels():
    for name in ("mmfeat.kernels", "mmfeat.kernels.image", "mmfeat.kernels.image_math"):
        mod = importlib.import_module(name)
        assert mod.__name__ == name
    import mmfeat.kernels.image as K

    pkg_dir = pathlib.Path(mmfeat.__file__).resolve().parent
    kernel_file = pathlib.Path(K.__file__).resolve()
    if (pkg_dir / "kernels").is_dir() or "site-packages" in pkg_dir.parts:
        # an installed wheel (pip install .): the kernels sit inside the package
        assert kernel_file.is_relative_to(pkg_dir), (kernel_file, pkg_dir)
    else:
        # an editable install maps mmfeat.kernels onto the top-level kernels/ folder
        repo = pkg_dir.parent.parent
        assert kernel_file == repo / "kernels" / "image.py", (kernel_file, repo)


def test_kernels_import_in_a_fresh_process():
    res = _run_python(
        """
        import pathlib
        import mmfeat, mmfeat.kernels.image, mmfeat.kernels.image_math
        print(pathlib.Path(mmfeat.kernels.image.__file__).resolve())
        """
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().endswith("image.py")
