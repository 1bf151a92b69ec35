"""Issue 15's stencil redesigns under the CUDA simulator (tiny images).

``NUMBA_ENABLE_CUDASIM=1 pytest tests/cudasim/test_stencil_cuda_sim.py``: the Sobel
register sliding window (``config.SOBEL_WINDOW``) against the shared-memory tile
kernel it replaces (bit for bit) and the NumPy reference, at sizes that are not
multiples of its block span or strip, one pixel wide or high, smaller than the
halo, word-aligned rows (``W % 4 == 0``: 32-bit loads) beside byte-wise ones, in
every border mode, and its float16 output; Canny's union-find with path halving
against the NumPy reference.
"""

from __future__ import annotations

import numpy as np
import pytest

import mmfeat.image as mi
from mmfeat import config

MODES = ["reflect", "constant", "nearest", "mirror", "wrap"]
RNG = np.random.default_rng(15)


@pytest.fixture(autouse=True)
def tiny_window(monkeypatch):
    # 8 threads x 4 columns (a 32-column span), strips of 4 rows: every test image
    # below spans several strips, and the wider ones several blocks across
    monkeypatch.setattr(config, "TILE_X", 2)
    monkeypatch.setattr(config, "TILE_Y", 1)
    monkeypatch.setattr(config, "TILE_ROWS_PER_THREAD", 2)


def _u8(*shape):
    return RNG.integers(0, 256, shape, dtype=np.uint8)


def _both_designs(x, **kw):
    config.SOBEL_WINDOW = True
    try:
        new = mi.sobel(x, backend="cuda", **kw)
    finally:
        config.SOBEL_WINDOW = False
    try:
        old = mi.sobel(x, backend="cuda", **kw)
    finally:
        config.SOBEL_WINDOW = True
    return new, old


SHAPES = [
    (2, 9, 40, 3),  # two blocks across (W > 32), W % 4 == 0: word loads; 3 strips
    (1, 7, 13, 3),  # odd sizes: byte-wise loads, a partial strip
    (1, 1, 1, 3),  # one pixel: smaller than the halo
    (1, 6, 1, 3),  # one pixel wide
    (1, 1, 9, 3),  # one pixel high
    (1, 2, 2, 3),
    (2, 5, 36),  # uint8 gray, word loads
    (1, 5, 7),  # uint8 gray, bytes
]


# every border mode on the small shapes (the borders are most of their pixels); the
# two shapes that span blocks and strips (10-19 s each in the simulator) in the
# modes whose border paths differ most: reflect (reads inside), constant (cval),
# wrap (reads the far side)
CASES = ([(shape, mode) for shape in SHAPES if shape[0] == 1 for mode in MODES]
         + [((1, *SHAPES[0][1:]), "reflect"), ((1, *SHAPES[6][1:]), "constant"),
            ((1, *SHAPES[6][1:]), "wrap")])


@pytest.mark.parametrize(("shape", "mode"), CASES,
                         ids=["x".join(map(str, s)) + "-" + m for s, m in CASES])
def test_sobel_window_equals_tile_kernel_and_reference(shape, mode):
    x = _u8(*shape)
    for axis in (None, 0, 1):
        new, old = _both_designs(x, mode=mode, cval=0.3, axis=axis)
        assert new.dtype == np.float32
        np.testing.assert_array_equal(new, old)
        want = mi.sobel(x, mode=mode, cval=0.3, axis=axis, backend="numpy")
        np.testing.assert_allclose(new, want, rtol=0, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint16])
def test_sobel_window_other_input_types(dtype):
    shape = (1, 6, 37, 3) if dtype != np.uint16 else (1, 6, 37)
    x = _u8(*shape).astype(dtype) if dtype == np.uint16 else RNG.random(shape).astype(dtype)
    for mode in ("reflect", "wrap", "constant"):
        new, old = _both_designs(x, mode=mode, cval=0.25)
        assert new.dtype == old.dtype
        np.testing.assert_array_equal(new, old)


def test_sobel_window_misaligned_batch_reads_bytes():
    """A batch whose address is not on a word: the byte-wise loads, same result."""
    buf = _u8(1 + 2 * 5 * 8 * 3)
    x = buf[1:].reshape(2, 5, 8, 3)
    new, old = _both_designs(x)
    np.testing.assert_array_equal(new, old)
    np.testing.assert_array_equal(new, mi.sobel(x.copy(), backend="cuda"))


@pytest.mark.parametrize("shape", [(2, 9, 40, 3), (1, 3, 5), (1, 1, 1, 3)],
                         ids=lambda s: "x".join(map(str, s)))
def test_sobel_float16_output(shape):
    x = _u8(*shape)
    for axis in (None, 1):
        got = mi.sobel(x, axis=axis, dtype=np.float16, backend="cuda")
        assert got.dtype == np.float16
        ref32 = mi.sobel(x, axis=axis, backend="cuda")
        np.testing.assert_array_equal(got, ref32.astype(np.float16))
        # the float32 results agree to 1e-6: a value that close to a float16 rounding
        # boundary may round the other way (one float16 ulp, 2**-10 relative)
        want = mi.sobel(x, axis=axis, dtype=np.float16, backend="numpy")
        assert want.dtype == np.float16
        np.testing.assert_allclose(got.astype(np.float32), want.astype(np.float32),
                                   rtol=2.0**-10, atol=1e-6)
    # float64 input, a mask and out=: computed in the work type and cast
    f = RNG.random((1, 4, 6))
    m = np.ones((4, 6), bool)
    out = np.empty((1, 4, 6), np.float16)
    got = mi.sobel(f, m, dtype="float16", out=out, backend="cuda")
    assert got is out
    want = mi.sobel(f, m, dtype=np.float16, backend="numpy")
    np.testing.assert_allclose(out.astype(np.float32), want.astype(np.float32),
                               rtol=2.0**-10, atol=1e-6)


def test_sobel_dtype_is_checked():
    x = _u8(1, 4, 4, 3)
    with pytest.raises(ValueError, match="dtype"):
        mi.sobel(x, dtype=np.int32, backend="cuda")


@pytest.mark.parametrize("mode", ["reflect"])  # the union-find does not see the mode
def test_canny_path_splitting_union_find_equals_reference(mode):
    """Long edges (chains through the union-find) and odd sizes: the finds that split
    their path keep every component, exactly as the NumPy reference."""
    x = np.zeros((1, 13, 19), np.float32)
    x[0, 3:10, 2:17] = 1.0  # a rectangle: one long closed edge
    got = mi.canny(x, 1.0, 0.05, 0.2, mode=mode, backend="cuda")
    want = mi.canny(x, 1.0, 0.05, 0.2, mode=mode, backend="numpy")
    assert got[0].sum() > 20
    np.testing.assert_array_equal(got, want)
