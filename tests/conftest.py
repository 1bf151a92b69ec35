"""Shared fixtures: photographs that ship with scikit-image, random batches, the gpu marker.

Tests marked ``gpu`` run only where CuPy imports and sees a CUDA device (and the
Numba CUDA simulator is off); elsewhere they are skipped with the reason.
"""

from __future__ import annotations

import functools
import os

import numpy as np
import pytest

# demo/extract start a background compile on a cold cache (mmfeat._warmup); the suite
# runs many of them on the same cache, so it is off here and tested where asked for
os.environ.setdefault("MMFEAT_BACKGROUND_COMPILE", "0")

PHOTO_NAMES = ("astronaut", "coffee", "chelsea", "rocket")
PHOTO_SIZE = 256


def pytest_configure(config):
    config.addinivalue_line("markers", "gpu: needs a real CUDA GPU with CuPy (skipped elsewhere)")


@functools.lru_cache(maxsize=1)
def gpu_probe() -> tuple[bool, str]:
    """(usable, why not): CuPy imports and sees at least one device."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM", "0") == "1":
        return False, "NUMBA_ENABLE_CUDASIM=1: the cuda backend runs in the simulator"
    try:
        import cupy
    except Exception as exc:  # ImportError, or a broken CUDA install
        return False, f"CuPy is not importable ({type(exc).__name__})"
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        return False, f"CuPy sees no CUDA device ({exc})"
    if n < 1:
        return False, "CuPy sees no CUDA device"
    return True, ""


def pytest_collection_modifyitems(config, items):
    gpu_items = [item for item in items if item.get_closest_marker("gpu") is not None]
    if not gpu_items:
        return  # never import CuPy for a run without gpu tests
    ok, why = gpu_probe()
    if not ok:
        skip = pytest.mark.skip(reason=f"gpu test: {why}")
        for item in gpu_items:
            item.add_marker(skip)


# --- images ---------------------------------------------------------------------------


def _center_crop(img: np.ndarray, size: int) -> np.ndarray:
    H, W = img.shape[:2]
    if min(H, W) >= 2 * size:  # astronaut: keep more of the scene than its centre
        img = img[::2, ::2]
        H, W = img.shape[:2]
    i0, j0 = (H - size) // 2, (W - size) // 2
    return img[i0 : i0 + size, j0 : j0 + size]


@pytest.fixture(scope="session")
def photos() -> np.ndarray:
    """(4, 256, 256, 3) uint8: astronaut, coffee, chelsea, rocket (shipped with skimage)."""
    from skimage import data

    imgs = [_center_crop(getattr(data, name)(), PHOTO_SIZE) for name in PHOTO_NAMES]
    out = np.ascontiguousarray(np.stack(imgs))
    out.setflags(write=False)
    return out


@pytest.fixture(scope="session")
def photos64(photos) -> np.ndarray:
    """(4, 64, 64, 3) uint8: the photographs subsampled 4x (still photographic content)."""
    out = np.ascontiguousarray(photos[:, ::4, ::4])
    out.setflags(write=False)
    return out


def random_images(rng: np.random.Generator, shape, dtype) -> np.ndarray:
    """Random images of ``shape`` in the value range of ``dtype`` (floats in [0, 1]).

    Includes exact 0 and 1 (white) so the extremes of every conversion are hit.
    """
    dtype = np.dtype(dtype)
    if dtype.kind == "u":
        x = rng.integers(0, np.iinfo(dtype).max, size=shape, endpoint=True).astype(dtype)
        flat = x.reshape(-1)
        if flat.size >= 2:
            flat[0], flat[-1] = 0, np.iinfo(dtype).max
        return x
    x = rng.random(size=shape).astype(dtype)
    x = np.clip(x, 0, 1)  # float16 rounding can reach 1.0 but never beyond
    flat = x.reshape(-1)
    if flat.size >= 2:
        flat[0], flat[-1] = 0, 1
    return x


@pytest.fixture(scope="session")
def make_images():
    """Factory ``make_images(shape, dtype, seed=0)`` for random image batches."""

    def make(shape, dtype=np.uint8, seed=0):
        return random_images(np.random.default_rng(seed), shape, dtype)

    return make


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
