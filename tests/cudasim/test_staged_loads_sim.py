"""The staged uint8 loads of the cuda image kernels (32-bit words through shared
memory), under Numba's CUDA simulator.

The main simulator file uses 9 x 13 images, whose byte counts are not multiples
of 4, so every call there takes the byte-wise loads. Here the batches are sized
so that the staged paths run: whole chunks plus a byte-wise tail (rgb_to_gray,
color_histogram) and interior tiles beside border tiles (sobel,
gradient_histogram), for RGB and gray, at every alignment of a tile row within a
word. Each is compared with the numpy reference (and Sobel with the byte-wise
loads, bit for bit).
"""

from __future__ import annotations

import numpy as np
import pytest

import mmfeat.image as mi
from mmfeat import config
from mmfeat.image import _cuda as C

pytestmark = pytest.mark.cudasim

# 40 rows: with the simulator's 8 x 4 tiles of 4 rows per thread (16 rows a block)
# the middle block row is an interior tile; 30 columns give interior columns too,
# and W * 3 = 90 bytes per row puts successive rows at offsets 0, 2, 0, 2 in a word
# (W = 30 gray: 30 bytes, offsets 0, 2, 0, 2; W = 29 gray: 0, 1, 2, 3)
SHAPES = [(2, 40, 30), (1, 40, 32)]
OPS = ["rgb_to_gray", "sobel", "gradient_histogram", "color_histogram_hsv",
       "color_histogram_rgb"]


def _photo(shape, channels, seed):
    """uint8 with smooth regions (many equal bins, as photographs) and noise."""
    n, H, W = shape
    rng = np.random.default_rng(seed)
    i, j = np.mgrid[0:H, 0:W]
    base = 100 + 60 * np.sin(i / 5.0)[..., None] * np.cos(j / 7.0)[..., None]
    out = base + rng.normal(0, 20, size=(n, H, W, channels))
    out = np.clip(out, 0, 255).astype(np.uint8)
    return out if channels == 3 else out[..., 0]


def _call(op, x, backend):
    if op == "rgb_to_gray":
        return mi.rgb_to_gray(x, backend=backend)
    if op == "sobel":
        return mi.sobel(x, mode="reflect", backend=backend)
    if op == "gradient_histogram":
        return mi.gradient_histogram(x, orientations=9, backend=backend)
    space = op.rsplit("_", 1)[1]
    return mi.color_histogram(x, bins=(8, 4, 4), space=space, normalize=False,
                              backend=backend)


@pytest.fixture
def word_views(monkeypatch):
    """Counts the calls that got a word view (the staged path)."""
    seen = []
    real = C._word_view

    def spy(a):
        out = real(a)
        seen.append(out is not None)
        return out

    monkeypatch.setattr(C, "_word_view", spy)
    return seen


def _check(op, got, want):
    if op.startswith("color_histogram"):
        np.testing.assert_array_equal(got, want)
    elif op == "gradient_histogram":
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
    else:
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("op", OPS)
def test_staged_rgb_equals_reference(op, shape, word_views):
    x = _photo(shape, 3, seed=sum(shape))
    got = _call(op, x, "cuda")
    # sobel's sliding window reads words only when every row starts on one (W % 4 == 0)
    assert any(word_views) or (op == "sobel" and x.shape[2] % 4), "the staged path did not run"
    _check(op, got, _call(op, x, "numpy"))


def test_staged_equals_byte_loads(word_views, monkeypatch):
    x = _photo((2, 40, 32), 3, seed=1)  # W % 4 == 0: sobel's rows start on a word
    got = _call("sobel", x, "cuda")
    assert any(word_views)
    monkeypatch.setattr(config, "STAGED_U8_LOADS", False)
    np.testing.assert_array_equal(got, _call("sobel", x, "cuda"))


@pytest.mark.parametrize("W", [30, 29])
@pytest.mark.parametrize("op", ["rgb_to_gray", "sobel", "gradient_histogram"])
def test_staged_gray_equals_reference(op, W, word_views):
    x = _photo((2, 40, W), 1, seed=W)  # 2 * 40 * W bytes, a multiple of 4
    got = _call(op, x, "cuda")
    assert any(word_views) or op == "sobel"  # sobel: words only when W % 4 == 0
    _check(op, got, _call(op, x, "numpy"))


def test_unaligned_batch_takes_the_byte_loads(word_views):
    """A view that starts one byte into its buffer cannot be read as words."""
    buf = _photo((2, 40, 32), 3, seed=5).reshape(-1)
    x = np.concatenate([buf[:1], buf])[1:].reshape(2, 40, 32, 3)
    assert x.__array_interface__["data"][0] % 4 == 1
    got = mi.sobel(x, backend="cuda")
    np.testing.assert_allclose(got, mi.sobel(x, backend="numpy"), rtol=0, atol=1e-6)
    assert word_views and not any(word_views)


@pytest.mark.parametrize("pix", [4, 12])
def test_other_chunk_sizes(pix, monkeypatch, word_views):
    monkeypatch.setattr(config, "STAGED_PIXELS_PER_THREAD", pix)
    x = _photo((2, 40, 30), 3, seed=pix)
    for op in ("rgb_to_gray", "color_histogram_hsv"):
        _check(op, _call(op, x, "cuda"), _call(op, x, "numpy"))
    assert any(word_views)


def test_chunk_size_must_be_whole_words():
    from mmfeat.kernels import image_cuda as K

    with pytest.raises(ValueError, match="multiple of 4"):
        K.gray_u8_staged_kernel(32, 6, 3)
