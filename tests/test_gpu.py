"""The cuda backend on a real GPU: CuPy arrays in and out, against the numpy reference.

Every test is marked ``gpu``: the root conftest skips them unless CuPy imports and
sees a CUDA device (and the simulator is off). Run them alone with
``pytest -m gpu tests/test_gpu.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

import mmfeat
import mmfeat.image as mi
from mmfeat import config

pytestmark = pytest.mark.gpu

MODES = ["reflect", "constant", "nearest", "mirror", "wrap"]


@pytest.fixture(scope="module")
def cp():
    return pytest.importorskip("cupy")


@pytest.fixture(scope="module")
def dev_photos(cp, photos):
    return cp.asarray(photos)


def is_cupy(x) -> bool:
    return type(x).__module__.split(".")[0] == "cupy"


def on_gpu_and_host(fn, x_host, x_dev, **kw):
    """(cuda result moved to the host, numpy-backend result); asserts the cuda one is CuPy."""
    got = fn(x_dev, **kw)  # CuPy input: the cuda backend by default
    assert is_cupy(got), type(got)
    want = fn(x_host, backend="numpy", **kw)
    got = got.get()
    assert got.dtype == want.dtype and got.shape == want.shape
    return got, want


def edge_agreement(a, b) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else 1.0 - np.logical_xor(a, b).sum() / union


def test_backends_report_the_gpu():
    rep = mmfeat.backends()["cuda"]
    assert rep["available"] is True
    assert "GiB" in rep["detail"]


def test_cupy_input_selects_cuda_and_numpy_input_can_ask_for_it(cp, photos):
    x = photos[:1, :32, :32]
    assert is_cupy(mi.rgb_to_gray(cp.asarray(x)))
    assert is_cupy(mi.rgb_to_gray(x, backend="cuda"))
    with mmfeat.use_backend("cuda"):
        assert is_cupy(mi.sobel(x))
    assert isinstance(mi.rgb_to_gray(cp.asarray(x), backend="numpy"), np.ndarray)


def test_rgb_to_gray_and_hsv(photos, dev_photos):
    got, want = on_gpu_and_host(mi.rgb_to_gray, photos, dev_photos)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    got, want = on_gpu_and_host(mi.rgb_to_hsv, photos, dev_photos)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("mode", MODES)
def test_sobel(photos, dev_photos, mode):
    got, want = on_gpu_and_host(mi.sobel, photos, dev_photos, mode=mode, cval=0.2)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


@pytest.mark.parametrize("space", ["hsv", "rgb"])
@pytest.mark.parametrize("bins,normalize", [((8, 8, 8), True), ((4, 6, 5), False),
                                            ((32, 32, 32), False)])
def test_color_histogram(photos, dev_photos, space, bins, normalize):
    got, want = on_gpu_and_host(mi.color_histogram, photos, dev_photos, bins=bins, space=space,
                                normalize=normalize)
    np.testing.assert_array_equal(got, want)


def test_color_moments(photos, dev_photos):
    got, want = on_gpu_and_host(mi.color_moments, photos, dev_photos)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("orientations", [9, 100])
def test_gradient_histogram(photos, dev_photos, orientations):
    got, want = on_gpu_and_host(mi.gradient_histogram, photos, dev_photos,
                                orientations=orientations)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    "params",
    [dict(), dict(sigma=2.5), dict(use_quantiles=True, low_threshold=0.8, high_threshold=0.9),
     dict(mode="reflect"), dict(sigma=0.0, low_threshold=0.05, high_threshold=0.15)],
    ids=["default", "sigma2.5", "quantiles", "reflect", "sigma0"],
)
def test_canny_agrees_with_numpy(photos, dev_photos, params):
    got, want = on_gpu_and_host(mi.canny, photos, dev_photos, **params)
    for k in range(len(photos)):
        assert edge_agreement(got[k], want[k]) >= 0.999


@pytest.mark.parametrize("dtype", [np.uint16, np.float32, np.float64])
def test_other_dtypes(cp, photos, dtype):
    x = photos[:, :64, :64]
    x = x.astype(np.uint16) * 257 if dtype == np.uint16 else (x / 255.0).astype(dtype)
    xd = cp.asarray(x)
    for fn, kw in ((mi.rgb_to_gray, {}), (mi.sobel, {})):
        got, want = on_gpu_and_host(fn, x, xd, **kw)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    got, want = on_gpu_and_host(mi.color_histogram, x, xd, normalize=False)
    np.testing.assert_array_equal(got, want)
    got, want = on_gpu_and_host(mi.rgb_to_hsv, x, xd)
    np.testing.assert_array_equal(got, want)


def test_image_features(photos, dev_photos):
    est = mi.ImageFeatures(grid=(2, 2))
    got = est.fit_transform(dev_photos)
    assert is_cupy(got) and got.dtype == np.float32
    want = mi.ImageFeatures(grid=(2, 2), backend="numpy").fit_transform(photos)
    np.testing.assert_allclose(got.get(), want, rtol=0, atol=1e-3)


def test_chunking(cp, photos, dev_photos, monkeypatch):
    ops = [
        lambda x: mi.rgb_to_gray(x),
        lambda x: mi.sobel(x),
        lambda x: mi.canny(x),
        lambda x: mi.color_histogram(x),
        lambda x: mi.gradient_histogram(x),
        lambda x: mi.color_moments(x),
    ]
    whole = [op(dev_photos).get() for op in ops]
    monkeypatch.setattr(config, "GPU_MAX_CHUNK_ITEMS", 3)  # 4 images -> chunks of 3 and 1
    chunked = [op(dev_photos).get() for op in ops]
    for a, b in zip(chunked, whole, strict=True):
        np.testing.assert_array_equal(a, b)


def test_validation_on_device_arrays(cp):
    x = cp.full((1, 4, 4, 3), 0.5, dtype=cp.float32)
    x[0, 0, 0, 0] = 1.5
    with pytest.raises(ValueError, match="images"):
        mi.sobel(x)
    with pytest.raises(TypeError, match="images"):
        mi.sobel(cp.zeros((1, 4, 4), dtype=cp.int32))


def test_empty_batch_on_device(cp):
    x = cp.zeros((0, 8, 8, 3), dtype=cp.uint8)
    out = mi.color_histogram(x)
    assert is_cupy(out) and out.shape == (0, 512)
    assert mi.canny(x).shape == (0, 8, 8)


def test_forked_child_of_a_cuda_process_is_told_to_spawn(cp):
    """On hardware: the parent runs a cuda op, a forked child's cuda call raises
    BackendUnavailableError naming 'spawn' (no hang, no driver error); spawn works."""
    import multiprocessing as mp
    import os

    x = cp.zeros((1, 16, 16), cp.float32)
    mi.sobel(x)  # CUDA initialised in this process
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            mi.sobel(np.zeros((1, 16, 16), np.float32), backend="cuda")
            os.write(w, b"no error")
        except mmfeat.BackendUnavailableError as exc:
            os.write(w, str(exc).encode())
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            os.write(w, repr(exc).encode())
        os._exit(0)
    os.close(w)
    os.waitpid(pid, 0)
    said = os.read(r, 65536).decode()
    assert "forked from process" in said and "'spawn'" in said, said
    with mp.get_context("spawn").Pool(1) as pool:
        got = pool.apply_async(_sobel_on_cuda_in_child).get(timeout=300)
    assert got.shape == (1, 16, 16)


def _sobel_on_cuda_in_child():
    import cupy

    return cupy.asnumpy(mi.sobel(cupy.ones((1, 16, 16), cupy.float32)))
