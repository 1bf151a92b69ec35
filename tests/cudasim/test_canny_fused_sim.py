"""canny's fused front end (issue 15, item 2) under Numba's CUDA simulator.

``NUMBA_ENABLE_CUDASIM=1 pytest tests/cudasim/test_canny_fused_sim.py``: the one
kernel a tile (``canny_front_kernel``) against the four staged launches it replaces
(gaussian_rows, gaussian_cols, gradient_magnitude, nonmax_suppression, and hyst_pack's
row masks), bit for bit on the packed state, then canny's edges fused against
staged and against scikit-image.
Tiles are the conftest's 8 x 4, so images of a few pixels still span tiles and the
halo (radius + 2, up to 14 at sigma 3) is wider than the image.
"""

from __future__ import annotations

import numpy as np
import pytest
from mmfeat.kernels import image_cuda as K
from mmfeat.kernels.image_math import MODE_CONSTANT
from skimage import data, feature

import mmfeat.image as mi
from mmfeat import config
from mmfeat.image import _cuda as C
from mmfeat.image import _reference as ref

pytestmark = pytest.mark.cudasim

MODES = ["reflect", "constant", "nearest", "mirror", "wrap"]
SIGMAS = [0.5, 1.0, 2.0, 3.0]
SHAPES = [(1, 1), (1, 11), (7, 1), (9, 13), (5, 3)]


def _gray(shape, seed):
    """(2, H, W) float32: a step and texture, so suppression keeps weak and strong."""
    H, W = shape
    i, j = np.mgrid[0:H, 0:W]
    rng = np.random.default_rng(seed)
    out = np.empty((2, H, W), np.float32)
    for k in range(2):
        out[k] = 0.2 + 0.6 * (j > W // 2 - k) + 0.1 * np.sin(i + k) + rng.normal(0, 0.05, (H, W))
    return out


def _states(gray, sigma, mode, cval, lo=0.05, hi=1.0):
    """(staged state, fused state) of gray (n, H, W) float32."""
    n, H, W = gray.shape
    w = ref.gaussian_weights(sigma)
    code = C.check_mode(mode)
    cv = C._pad_value(cval)
    bleed = (ref.bleed_over((H, W), sigma, cval) if code == MODE_CONSTANT
             else np.empty((0, 0), np.float32))
    low, high = np.full(n, lo), np.full(n, hi)
    sm, tmp = gray.copy(), np.empty_like(gray)
    mag = np.empty_like(gray)
    staged = np.full((n, H, W), 7, np.uint8)
    C._launch_pixels(K.gaussian_rows, (sm, tmp), w, code, cv)
    C._launch_pixels(K.gaussian_cols, (tmp, sm), w, code, cv, bleed)
    C._launch_pixels(K.gradient_magnitude, (sm, mag))
    C._launch_pixels(K.nonmax_suppression, (sm, mag, staged, low, high))
    kernel = C.canny_front(w.shape[0], code)
    assert kernel is not None
    fused = C.hysteresis_masks(n, H, W)
    C._launch_pixels(kernel, (gray.copy(), fused[0], fused[1], low, high), w, cv, bleed)
    return staged, fused


def _packed(state):
    """hyst_pack's row masks of a state (n, H, W) uint8."""
    n, H, W = state.shape
    masks = C.hysteresis_masks(n, H, W)
    C._launch_pixels(K.hyst_pack, (state, masks[0], masks[1]))
    return masks


def _unpacked(masks, H, W):
    """(n, H, W) uint8 state of row masks (2, n, Hp, words): 0, 1 or 2."""
    bits = np.unpackbits(masks.view(np.uint8), axis=-1, bitorder="little")
    c, s = bits[0, :, :H, :W], bits[1, :, :H, :W]
    assert not (s & ~c).any()  # strong pixels are candidates
    return (c + s).astype(np.uint8)


# every mode at sigma 1, every sigma in reflect and constant mode (the bleed): the
# full grid took 2 minutes of the simulator for no path the cases below miss
STATE_CASES = ([(m, 1.0) for m in MODES]
               + [(m, s) for m in ("reflect", "constant") for s in SIGMAS if s != 1.0])


@pytest.mark.parametrize(("mode", "sigma"), STATE_CASES)
def test_state_bit_for_bit(mode, sigma):
    seen = set()
    for shape in SHAPES:
        gray = _gray(shape, shape[0] * 31 + shape[1])
        staged, fused = _states(gray, sigma, mode, 0.3)
        np.testing.assert_array_equal(fused, _packed(staged), err_msg=f"{shape}")
        np.testing.assert_array_equal(_unpacked(fused, *shape), staged, err_msg=f"{shape}")
        seen.update(np.unique(staged).tolist())
    assert seen <= {0, 1, 2}
    if sigma <= 1.0:
        assert {1, 2} <= seen  # weak and strong both occur


@pytest.mark.parametrize("cval", [0.0, 1 / 3])
def test_state_constant_cval(cval):
    staged, fused = _states(_gray((10, 17), 5), 1.0, "constant", cval)
    np.testing.assert_array_equal(fused, _packed(staged))


def _photo(shape, seed):
    n, H, W = shape
    i, j = np.mgrid[0:H, 0:W]
    rng = np.random.default_rng(seed)
    out = np.empty((n, H, W, 3), np.uint8)
    for k in range(n):
        base = 60 + 120 * (j > W // 2 + k) + 30 * np.sin(i / 2.0 + k)
        noise = rng.normal(0, 6, size=(H, W, 3))
        out[k] = np.clip(base[..., None] + noise + [0, 20 * k, 40], 0, 255).astype(np.uint8)
    return out


def _staged(monkeypatch):
    monkeypatch.setattr(C, "CANNY_FRONT_SMEM", 0)


def _launched(monkeypatch):
    names = []
    real = C._launch_pixels

    def record(kernel, *a, **k):
        names.append(getattr(kernel, "__name__", None) or kernel.py_func.__name__)
        return real(kernel, *a, **k)

    monkeypatch.setattr(C, "_launch_pixels", record)
    return names


BATCHES = {
    "rgb_u8": _photo((2, 9, 13), 1),
    "rgb_f32": (_photo((2, 11, 6), 2) / np.float32(255)).astype(np.float32),
    "gray_u8": _photo((2, 10, 9), 3)[..., 0],
    "gray_f32": _gray((9, 13), 4),
}


# each input kind in one mode, each mode on one kind (the state test covers modes)
EDGE_CASES = ([(name, "reflect") for name in BATCHES]
              + [("rgb_u8", m) for m in MODES if m != "reflect"])


@pytest.mark.parametrize(("name", "mode"), EDGE_CASES)
def test_edges_fused_equal_staged(monkeypatch, name, mode):
    x = BATCHES[name]
    kw = dict(sigma=1.0, mode=mode, cval=0.3, backend="cuda")
    names = _launched(monkeypatch)
    fused = mi.canny(x, **kw)
    assert "canny_front" in names and "gaussian_rows" not in names
    assert "nonmax_suppression" not in names and "hyst_pack" not in names
    _staged(monkeypatch)
    names.clear()
    staged = mi.canny(x, **kw)
    assert "canny_front" not in names and {"nonmax_suppression", "hyst_pack"} <= set(names)
    np.testing.assert_array_equal(fused, staged)
    np.testing.assert_array_equal(fused, mi.canny(x, sigma=1.0, mode=mode, cval=0.3,
                                                  backend="numpy"))


@pytest.mark.parametrize("sigma", [0.5, 2.0, 3.0])
def test_edges_sigmas_and_small_images(monkeypatch, sigma):
    for shape in [(1, 1, 1), (1, 1, 9), (1, 9, 1), (2, 5, 3), (1, 12, 17)]:
        x = _photo(shape, sum(shape))
        fused = mi.canny(x, sigma=sigma, backend="cuda")
        np.testing.assert_array_equal(fused, mi.canny(x, sigma=sigma, backend="numpy"))
    _staged(monkeypatch)
    np.testing.assert_array_equal(fused, mi.canny(x, sigma=sigma, backend="cuda"))


def test_staged_where_fused_does_not_apply(monkeypatch):
    names = _launched(monkeypatch)
    x = _gray((9, 13), 6)
    mi.canny(x, low_threshold=0.5, high_threshold=0.8, use_quantiles=True, backend="cuda")
    assert "canny_front" not in names and "nonmax_suppression" in names
    names.clear()
    mask = np.ones((9, 13), bool)
    mi.canny(x, mask=mask, backend="cuda")
    assert "canny_front" not in names and "nonmax_suppression" in names
    tx, ty = int(config.TILE_X), int(config.TILE_Y)
    assert C.canny_front(2 * 200 + 1, MODE_CONSTANT) is None  # radius 200: past the budget
    assert K.canny_front_smem(tx, ty, 200) > C.CANNY_FRONT_SMEM
    # production tile, sigma 3 (radius 12): 14.6 KB of shared memory
    assert K.canny_front_smem(32, 8, 12) <= C.CANNY_FRONT_SMEM


def test_front_kernel_one_per_mode():
    """The border mode is compiled in: two modes get two kernels (each holding its
    mode's path only), the same mode (and tile, radius) reuses the cached one."""
    codes = [C.check_mode(m) for m in MODES]
    kernels = [C.canny_front(9, code) for code in codes]
    assert len({id(k) for k in kernels}) == len(MODES)
    for code, k in zip(codes, kernels, strict=True):
        assert C.canny_front(9, code) is k
        assert C.canny_front(9, np.int64(code)) is k  # keyed by the int code
    assert C.canny_front(7, codes[0]) is not kernels[0]  # the radius stays in the key
    tx, ty = int(config.TILE_X), int(config.TILE_Y)
    assert K.canny_front_kernel(tx, ty, 4, codes[1]) is kernels[1]
    # each kernel really runs its own mode (no mode argument left to get wrong):
    # reflect's and wrap's borders differ on a left-to-right step
    gray = _gray((9, 13), 8)
    w = ref.gaussian_weights(1.0)
    n, H, W = gray.shape
    empty = np.empty((0, 0), np.float32)
    out = {}
    for mode in ("reflect", "wrap"):
        masks = C.hysteresis_masks(n, H, W)
        C._launch_pixels(C.canny_front(w.shape[0], C.check_mode(mode)),
                         (gray.copy(), masks[0], masks[1], np.full(n, 0.05), np.full(n, 1.0)),
                         w, 0.0, empty)
        out[mode] = masks
    assert not np.array_equal(out["reflect"], out["wrap"])  # the modes differ


CROPS = {
    "camera": lambda: data.camera()[100:130, 200:236],
    "coins": lambda: data.coins()[60:90, 100:140],
    "astronaut": lambda: data.astronaut()[100:124, 180:208],
}


@pytest.mark.parametrize(("name", "sigma"),
                         [("camera", 1.0), ("coins", 1.0), ("coins", 2.0), ("astronaut", 2.0)])
def test_against_skimage_on_real_crops(name, sigma):
    img = CROPS[name]()
    got = mi.canny(img[None], sigma=sigma, backend="cuda")[0]
    gray = img if img.ndim == 2 else None
    if gray is None:
        from skimage.color import rgb2gray

        gray = rgb2gray(img)
    want = feature.canny(gray, sigma=sigma)
    np.testing.assert_array_equal(got, want)
    assert got.any()
