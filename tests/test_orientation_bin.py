"""The atan2-free orientation bin of the gradient histogram equals the atan2 formula.

``orientation_bin_estimate`` either returns exactly ``orientation_bin``'s bin or -1
(undecided: the kernel then calls ``orientation_bin``). These tests hold it to that
on random gradients and on gradients placed at every bin boundary, at distances
from far below to far above the estimate's error bound, and check that the
fallback stays rare (otherwise the fast path would be exact only by never being
taken).
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from mmfeat.kernels import image as K
from mmfeat.kernels import image_math as M

NBINS = [1, 2, 3, 4, 7, 9, 12, 36, 180, 360, 1000, 50_000]


@numba.njit(cache=False)
def _both(gx, gy, nbins):
    """(estimate, atan2 bin) for each pair, with the kernel's compiled functions."""
    bins_per_radian = nbins / math.pi
    margin = M.ORIENTATION_ESTIMATE_ERROR * bins_per_radian
    est = np.empty(gx.shape[0], np.int64)
    ref = np.empty(gx.shape[0], np.int64)
    for i in range(gx.shape[0]):
        est[i] = K.orientation_bin_estimate(gx[i], gy[i], nbins, bins_per_radian, margin)
        ref[i] = K.orientation_bin(gx[i], gy[i], nbins)
    return est, ref


def _as_kernel_sees(v) -> np.ndarray:
    """Sobel responses reach the binning as float32 values widened to float64."""
    return np.asarray(v, np.float64).astype(np.float32).astype(np.float64)


def _random_gradients(n: int = 200_000, seed: int = 0):
    rng = np.random.default_rng(seed)
    scale = 10.0 ** rng.uniform(-6, 2, n)
    gx = rng.standard_normal(n) * scale
    gy = rng.standard_normal(n) * scale
    # axis-aligned and signed-zero cases, common on photographs (flat rows/columns)
    gy[:2000] = 0.0
    gy[2000:3000] = -0.0
    gx[3000:4000] = 0.0
    gx[4000:4500] = -0.0
    return _as_kernel_sees(gx), _as_kernel_sees(gy)


def _boundary_gradients(nbins: int):
    """Gradients at angle k*pi/nbins + delta for every boundary and fold, both
    half-planes, magnitudes small and large."""
    deltas = np.array([0.0, 1e-15, 1e-12, 1e-9, 1e-7, 1e-6, 5e-6, 1e-5, 2e-5, 4e-5, 1e-4, 1e-3])
    deltas = np.concatenate([deltas, -deltas])
    ks = np.arange(0, nbins + 1) if nbins <= 1000 else np.linspace(0, nbins, 1001).round()
    phi = (ks[:, None] * math.pi / nbins + deltas[None, :]).ravel()
    phi = np.concatenate([phi, phi + math.pi])  # the lower half-plane folds onto these
    mags = np.array([1e-4, 0.7, 3.0])
    gx = (np.cos(phi)[:, None] * mags).ravel()
    gy = (np.sin(phi)[:, None] * mags).ravel()
    return _as_kernel_sees(gx), _as_kernel_sees(gy)


def test_atan_polynomial_within_its_stated_error():
    z = np.linspace(0.0, 1.0, 2_000_001)
    z2 = z * z
    c1, c3, c5, c7, c9 = M._ATAN_C1, M._ATAN_C3, M._ATAN_C5, M._ATAN_C7, M._ATAN_C9
    poly = z * (c1 + z2 * (c3 + z2 * (c5 + z2 * (c7 + z2 * c9))))
    err = np.abs(poly - np.arctan(z)).max()
    assert err <= 1.2e-5
    assert M.ORIENTATION_ESTIMATE_ERROR >= 3 * err  # the margin covers it with room


@pytest.mark.parametrize("nbins", NBINS)
def test_estimate_is_the_atan2_bin_or_undecided(nbins):
    for gx, gy in (_random_gradients(), _boundary_gradients(nbins)):
        est, ref = _both(gx, gy, nbins)
        decided = est >= 0
        assert np.all(est >= -1)
        bad = np.flatnonzero(decided & (est != ref))
        assert bad.size == 0, [(gx[i], gy[i], est[i], ref[i]) for i in bad[:5]]
        assert np.all(ref[decided] < nbins)


@pytest.mark.parametrize("nbins", [n for n in NBINS if n <= 360])
def test_estimate_decides_almost_every_gradient(nbins):
    gx, gy = _random_gradients(seed=1)
    est, _ = _both(gx[4500:], gy[4500:], nbins)  # generic directions only: with an
    # even nbins, gx == 0 (theta = pi/2) lies on an edge and is rightly left to atan2
    # an angle falls within the margin of an interior edge with probability
    # ~2 * margin * (nbins - 1) / nbins (margin in bins)
    margin = M.ORIENTATION_ESTIMATE_ERROR * nbins / math.pi
    assert np.mean(est < 0) <= 3 * 2 * margin + 1e-4


def test_boundary_gradients_do_reach_the_fallback():
    # the adversarial set really sits within the error of an edge: some of it must
    # be left to atan2, or the set tests nothing the random one does not
    gx, gy = _boundary_gradients(9)
    est, _ = _both(gx, gy, 9)
    assert np.mean(est < 0) > 0.2


@pytest.mark.parametrize(
    "gx, gy, want",
    [
        (1.0, 0.0, 0),  # theta = 0
        (-1.0, 0.0, 8),  # atan2(+0, -1) = pi: the last bin
        (1.0, -0.0, 0),  # atan2(-0, 1) = -0: bin 0
        (-1.0, -0.0, 0),  # atan2(-0, -1) = -pi, folded to 0
        (0.0, 1.0, 4),  # pi/2 with 9 bins: bin 4
        (0.0, -1.0, 4),  # -pi/2 folds to pi/2
        (1.0, -1e-30, 8),  # just below the axis folds to just below pi
        (-1.0, -1e-30, 0),  # folds to just above 0
    ],
)
def test_estimate_on_the_axes(gx, gy, want):
    est, ref = _both(np.array([gx]), np.array([gy]), 9)
    assert ref[0] == want
    assert est[0] == want


def test_plain_python_definition_agrees_with_the_compiled_one():
    # image_math is also compiled for CUDA: its Python text must mean the same
    gx, gy = _random_gradients(n=3000, seed=2)
    est, _ = _both(gx, gy, 9)
    bpr = 9 / math.pi
    margin = M.ORIENTATION_ESTIMATE_ERROR * bpr
    py = [M.orientation_bin_estimate(a, b, 9, bpr, margin) for a, b in zip(gx, gy, strict=True)]
    np.testing.assert_array_equal(py, est)
