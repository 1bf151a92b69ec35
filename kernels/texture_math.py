"""Scalar arithmetic shared by the CPU and CUDA texture kernels (HOG, LBP, GLCM).

Plain Python on scalars: ``kernels/image_texture.py`` compiles these with
``numba.njit`` and ``kernels/image_texture_cuda.py`` with
``numba.cuda.jit(device=True)``, so the two targets take the same decisions.
Nothing here may import numba.
"""

import math

# --- HOG orientation bins -------------------------------------------------------------
#
# scikit-image bins the orientation ``o = rad2deg(arctan2(g_row, g_col)) % 180`` into
# bin i when ``per * i <= o < per * (i + 1)`` (``per = 180 / orientations``, double),
# so a value at 180 (rounded up from just below) or at or above ``per * n`` falls in
# no bin. The estimate below decides the bin without atan2 whenever the true angle
# is farther than the estimate's error from every edge (0 and 180 included).

# Abramowitz & Stegun 4.4.49 arctangent on [0, 1]; |error| <= 1.2e-5 rad
_A1 = 0.9998660
_A3 = -0.3302995
_A5 = 0.1801410
_A7 = -0.0851330
_A9 = 0.0208351
#: bound on |estimate - angle| in radians: three times the polynomial's error
HOG_ESTIMATE_ERROR = 4e-5
RAD2DEG = 180.0 / math.pi  # numpy's rad2deg multiplies by this constant


def hog_bin_estimate(g_row, g_col, n, bins_per_radian, margin):
    """Bin of the unsigned orientation of (g_row, g_col), or -1 = near an edge.

    ``bins_per_radian`` = n / pi, ``margin`` = HOG_ESTIMATE_ERROR * bins_per_radian.
    Branch-light, so that a row loop vectorises on the CPU.
    """
    s = 1.0 if g_row >= 0.0 else -1.0
    x = g_col * s
    y = g_row * s  # >= 0: the angle folded into [0, pi]
    ax = abs(x)
    # comparisons, not min/max: the same values, and no generic min/max to compile
    lo = ax if ax < y else y
    hi = y if ax < y else ax
    z = lo / (hi if hi > 1e-300 else 1e-300)
    z2 = z * z
    a = z * (_A1 + z2 * (_A3 + z2 * (_A5 + z2 * (_A7 + z2 * _A9))))
    a = (0.5 * math.pi - a) if ax < y else a
    theta = a if x >= 0.0 else math.pi - a
    q = theta * bins_per_radian
    k = int(q)
    k = k if k < n - 1 else n - 1
    near = abs(q - math.floor(q + 0.5)) <= margin
    return -1 if near else k


def hog_bin_exact(g_row, g_col, n, per):
    """scikit-image's bin of (g_row, g_col): the orientation in degrees mod 180
    against the edges ``per * i``; -1 when it falls in no bin."""
    o = math.atan2(g_row, g_col) * RAD2DEG
    o = o % 180.0  # Python's (and NumPy's) float modulo: in [0, 180] for a positive divisor
    k = int(o / per)
    if k > n - 1:
        k = n - 1
    if o < per * k:
        k -= 1
    elif o >= per * (k + 1):
        k += 1
    if k < 0 or k >= n:
        return -1
    if o < per * k or o >= per * (k + 1):
        return -1
    return k


def hog_block_norm_scale(sum_abs, sum_sq, method, eps):
    """The divisor of a block's values: L1 and L1-sqrt (0, 1): sum |v| + eps;
    L2 and the first step of L2-Hys (2, 3): sqrt(sum v**2 + eps**2)."""
    if method <= 1:
        return sum_abs + eps
    return math.sqrt(sum_sq + eps * eps)


# --- LBP codes ----------------------------------------------------------------------

LBP_DEFAULT = 0
LBP_ROR = 1
LBP_UNIFORM = 2
LBP_NRI_UNIFORM = 3
LBP_VAR = 4


def lbp_value(code, P, method):
    """The LBP value of the sign bits ``code`` (bit i = sample i >= centre) as
    scikit-image's method computes it; ``var`` is not a code and is not handled here.

    uniform: the number of ones when the linear sequence of bits changes at most
    twice, else P + 1; nri_uniform: 1 + (n_ones - 1) * P + rotation index for a
    uniform pattern (0 and P * (P - 1) + 1 for the constant ones), P * (P - 1) + 2
    otherwise; ror: the smallest right rotation of the P-bit code; default: the code.
    Self-contained (no calls), so that it compiles as one device function.
    """
    if method == LBP_DEFAULT:
        return code
    if method == LBP_ROR:
        best = code
        v = code
        for _ in range(1, P):
            v = (v >> 1) | ((v & 1) << (P - 1))
            if v < best:
                best = v
        return best
    changes = 0
    n_ones = 0
    first_one = -1
    first_zero = -1
    prev = code & 1
    for i in range(P):
        bit = (code >> i) & 1
        if i > 0 and bit != prev:
            changes += 1
        prev = bit
        if bit == 1:
            n_ones += 1
            if first_one < 0:
                first_one = i
        elif first_zero < 0:
            first_zero = i
    if method == LBP_UNIFORM:
        if changes <= 2:
            return n_ones
        return P + 1
    # nri_uniform
    if changes > 2:
        return P * (P - 1) + 2
    if n_ones == 0:
        return 0
    if n_ones == P:
        return P * (P - 1) + 1
    if first_one == 0:
        rot = n_ones - first_zero
    else:
        rot = P - first_one
    return 1 + (n_ones - 1) * P + rot


def bilinear(tl, tr, bl, br, dr, dc):
    """scikit-image's bilinear_interpolation from its four corners, same operations."""
    top = (1.0 - dc) * tl + dc * tr
    bottom = (1.0 - dc) * bl + dc * br
    return (1.0 - dr) * top + dr * bottom


# --- GLCM properties ------------------------------------------------------------------

PROP_WEIGHTED = 0  # sum p * w[i, j]: contrast, dissimilarity, homogeneity, mean
PROP_ASM = 1  # sum p**2 (energy: its square root)
PROP_VARIANCE = 2  # sum p * (i - mean)**2 (std: its square root)
PROP_ENTROPY = 3  # sum -p * log(p)
PROP_CORRELATION = 4


def correlation_value(cov, var_i, var_j):
    """cov / (std_i * std_j), 1 where a standard deviation is below 1e-15."""
    std_i = math.sqrt(var_i)
    std_j = math.sqrt(var_j)
    if std_i < 1e-15 or std_j < 1e-15:
        return 1.0
    return cov / (std_i * std_j)
