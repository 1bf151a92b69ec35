"""canny's tiled hysteresis (issue 15) under Numba's CUDA simulator.

``NUMBA_ENABLE_CUDASIM=1 pytest tests/cudasim/test_canny_tiles_sim.py``: the three
launches of ``mmfeat.image._cuda.hysteresis`` (bitmask growth within 32 x th tiles,
union-find over the tiles' edge pixels, output) on hand-made states, against
scipy.ndimage.label with 8-connectivity: edges that snake and spiral across tiles,
components that meet only across a tile corner, sizes that are not whole tiles, and
the degenerate states. Tiles are 4 rows high (the simulator runs a 32-thread block a
tile) except in the one test of the production height.
"""

from __future__ import annotations

import numpy as np
import pytest
from mmfeat.kernels import image_cuda as K
from scipy import ndimage as ndi

from mmfeat.image import _cuda as C

pytestmark = pytest.mark.cudasim

TH = 4


def _want(state):
    """(n, H, W) bool: the candidates 8-connected to a strong pixel (scikit-image's rule)."""
    out = np.zeros(state.shape, bool)
    for k in range(state.shape[0]):
        lab, count = ndi.label(state[k] > 0, np.ones((3, 3), bool))
        good = np.zeros(count + 1, bool)
        good[np.unique(lab[state[k] == 2])] = True
        good[0] = False
        out[k] = good[lab]
    return out


def _hysteresis(monkeypatch, state, th=TH):
    monkeypatch.setattr(C, "HYST_TILE_ROWS", th)
    n, H, W = state.shape
    masks = C.hysteresis_masks(n, H, W)
    C._launch_pixels(K.hyst_pack, (state, masks[0], masks[1]))
    return C.hysteresis(masks, H, W)


def _check(monkeypatch, state, th=TH):
    got = _hysteresis(monkeypatch, state, th)
    want = _want(state)
    assert got.dtype == np.bool_ and got.shape == state.shape
    np.testing.assert_array_equal(got, want)
    return want


def _snake(H, W, strong_at_end=True):
    """A 1-pixel serpentine: rows 0, 2, 4, ... joined at alternating ends (rows two
    apart do not touch), weak but for its last pixel: the strong pixel reaches the
    first one only through every tile the snake crosses, leftwards and rightwards."""
    st = np.zeros((H, W), np.uint8)
    rows = list(range(0, H, 2))
    for k, i in enumerate(rows):
        st[i, :] = 1
        if k + 1 < len(rows):
            st[i + 1, W - 1 if k % 2 == 0 else 0] = 1
    last = rows[-1]
    if strong_at_end:
        st[last, 0 if len(rows) % 2 == 0 else W - 1] = 2
    return st


def _spiral(H, W):
    """A square spiral, arms two apart, strong at its inner end only."""
    st = np.zeros((H, W), np.uint8)
    top, left, bottom, right = 0, 0, H - 1, W - 1
    i = j = 0
    while top <= bottom and left <= right:
        st[top, left:right + 1] = 1
        st[top:bottom + 1, right] = 1
        if bottom - top >= 2:
            st[bottom, left:right + 1] = 1
        if right - left >= 2:
            st[top + 2:bottom + 1, left] = 1
        i, j = top + 2, left + 1  # where the next arm starts
        top, left, bottom, right = top + 2, left + 2, bottom - 2, right - 2
        if top <= bottom and left <= right:
            st[i, j] = 1
    st[i, j] = 2
    return st


def test_snakes_and_spirals_across_tiles(monkeypatch):
    """Strong at one end of a long path that leaves and re-enters tiles many times
    (2 tile columns, 3 tile rows, neither size whole tiles)."""
    H, W = 11, 45
    state = np.stack([_snake(H, W), _spiral(H, W), _snake(H, W, strong_at_end=False)])
    want = _check(monkeypatch, state)
    assert want[0].sum() == (state[0] > 0).sum()  # the whole snake is an edge
    assert want[1].sum() == (state[1] > 0).sum()
    assert not want[2].any()  # no strong pixel: no edge


def test_components_meeting_at_a_tile_corner(monkeypatch):
    """A weak component touches a strong one only diagonally across the corner of
    four tiles (both diagonals), and a weak one misses by a pixel."""
    H, W = 2 * TH, 64
    a, b = TH - 1, 31  # the last row and column of tile (0, 0)
    state = np.zeros((3, H, W), np.uint8)
    state[0, a, b - 5:b + 1] = 2  # strong in tile (0, 0), weak line in tile (1, 1)
    state[0, a + 1:, b + 1] = 1
    state[0, H - 1, b + 1:b + 9] = 1
    state[1, a, b + 1:b + 7] = 1  # weak in tile (0, 1), strong in tile (1, 0)
    state[1, a + 1, b] = 2
    state[1, :a + 1, b + 6] = 1
    state[2, a, b - 5:b + 1] = 2  # strong in tile (0, 0) ...
    state[2, a + 1:, b + 2] = 1  # ... weak two columns on: not a neighbour
    want = _check(monkeypatch, state)
    assert want[0, H - 1, b + 8] and want[1, 0, b + 6] and not want[2].any(axis=0)[b + 2]


def test_degenerate_states(monkeypatch):
    """All zero, all strong, all weak, one strong pixel in a weak plane, on sizes
    below and past one tile."""
    for shape in [(1, 1), (5, 33)]:
        H, W = shape
        weak = np.ones(shape, np.uint8)
        one = weak.copy()
        one[H // 2, W - 1] = 2
        state = np.stack([np.zeros(shape, np.uint8), np.full(shape, 2, np.uint8), weak, one])
        want = _check(monkeypatch, state)
        assert not want[0].any() and want[1].all() and not want[2].any() and want[3].all()


def _random_edges(rng, n, H, W, walks=6, steps=40):
    """Random 8-connected walks (weak), a few strong pixels on some: thin edges that
    wander across tiles, as suppression leaves them."""
    st = np.zeros((n, H, W), np.uint8)
    moves = np.array([(di, dj) for di in (-1, 0, 1) for dj in (-1, 0, 1) if di or dj])
    for k in range(n):
        for _ in range(walks):
            i, j = rng.integers(0, H), rng.integers(0, W)
            for _ in range(steps):
                st[k, i, j] = 1
                di, dj = moves[rng.integers(0, 8)]
                i, j = int(np.clip(i + di, 0, H - 1)), int(np.clip(j + dj, 0, W - 1))
        weak = np.argwhere(st[k] == 1)
        for i, j in weak[rng.choice(len(weak), size=min(3, len(weak)), replace=False)]:
            st[k, i, j] = 2
    return st


def test_random_walks_against_scipy(monkeypatch):
    rng = np.random.default_rng(15)
    state = _random_edges(rng, 2, 9, 45)
    want = _check(monkeypatch, state)
    assert want.any() and (~want & (state > 0)).any()  # kept and dropped components


def test_production_tile_height(monkeypatch):
    """32-row tiles (HYST_TILE_ROWS): a spiral over 2 x 2 tiles."""
    assert C.HYST_TILE_ROWS == 32
    _check(monkeypatch, _spiral(35, 36)[None], th=32)
