"""Per-element arithmetic shared by the CPU and the CUDA image kernels.

Every function here is plain Python on scalars (and, for the bin look-ups, small
arrays). ``kernels/image.py`` compiles them with ``numba.njit(inline="always")``
and ``kernels/image_cuda.py`` with ``numba.cuda.jit(device=True)``, so the two
targets cannot drift apart. Nothing here may import numba.

Float type: every function works in the type of its arguments. Constants that
must keep that type are derived from a ``one`` argument (``two = one + one``),
because a Python float literal would promote float32 arithmetic to float64 and
change the rounding that parity with scikit-image depends on.
"""

import math

# Boundary modes, numbered as the kernels receive them (scipy.ndimage's names).
MODE_REFLECT = 0  # d c b a | a b c d | d c b a  (half-sample symmetric)
MODE_CONSTANT = 1  # k k k k | a b c d | k k k k
MODE_NEAREST = 2  # a a a a | a b c d | d d d d
MODE_MIRROR = 3  # d c b | a b c d | c b a     (whole-sample symmetric)
MODE_WRAP = 4  # a b c d | a b c d | a b c d


def boundary_index(i, n, mode):
    """Index in ``[0, n)`` that position ``i`` reads under ``mode``; -1 = constant."""
    if i >= 0 and i < n:
        return i
    if mode == MODE_CONSTANT:
        return -1
    if mode == MODE_NEAREST:
        if i < 0:
            return 0
        return n - 1
    if mode == MODE_WRAP:
        r = i % n
        if r < 0:
            r += n
        return r
    if mode == MODE_REFLECT:
        p = 2 * n
        r = i % p
        if r < 0:
            r += p
        if r >= n:
            r = p - 1 - r
        return r
    # mirror
    if n == 1:
        return 0
    p = 2 * n - 2
    r = i % p
    if r < 0:
        r += p
    if r >= n:
        r = p - r
    return r


def gray_value(r, g, b, cr, cg, cb):
    """Luma as ``skimage.color.rgb2gray``: 0.2125 R + 0.7154 G + 0.0721 B."""
    return (r * cr + g * cg) + b * cb


def to_ubyte(x):
    """``x`` (a value times 255) as ``skimage.util.img_as_ubyte`` stores it: rounded
    half to even (``np.rint``; Python's ``round``, which both targets compile to
    the hardware rounding), clipped to [0, 255]."""
    r = round(x)
    if r < 0:
        r = 0
    if r > 255:
        r = 255
    return r


def hsv_value(r, g, b, one):
    """(h, s, v) of one pixel exactly as ``skimage.color.rgb2hsv`` computes it.

    Same operations in the same order and type as scikit-image's vectorised code,
    so the result is bit-identical when the inputs are: v = max, delta = max - min,
    s = delta / v, h from the channel holding the max (blue wins ties over green,
    green over red, as scikit-image's successive assignments do), h / 6 mod 1.
    """
    zero = one - one
    two = one + one
    four = two + two
    six = four + two
    if not (r == r and g == g and b == b):
        # a NaN channel: scikit-image's v and s are NaN, zeroed at the end (its hue
        # is whatever np.empty held); 0 here
        return zero, zero, zero
    v = max(r, max(g, b))
    delta = v - min(r, min(g, b))
    if delta == zero:
        return zero, zero, v
    s = delta / v
    if b == v:
        h = four + (r - g) / delta
    elif g == v:
        h = two + (b - r) / delta
    else:
        h = (g - b) / delta
    h = h / six
    # numpy's ``% 1.0`` for h in [-1/6, 5/6]: negatives wrap by +1
    if h < zero:
        h = h + one
    # inf channels give inf / inf = NaN, which scikit-image sets to 0
    if not (s == s):
        s = zero
    if not (h == h):
        h = zero
    return h, s, v


def bin_index(x, nbins, edges, row):
    """Bin of ``x`` in ``edges[row, :nbins + 1]`` exactly as ``np.histogramdd``.

    Bin k holds ``edges[k] <= x < edges[k + 1]``; the right edge itself falls in
    the last bin. ``int(x * nbins)`` is the guess; one comparison against the
    real (linspace) edges corrects its rounding.
    """
    k = int(x * nbins)
    if k > nbins - 1:
        k = nbins - 1
    if k < 0:
        k = 0
    if x < edges[row, k]:
        k -= 1
    elif k + 1 < nbins and x >= edges[row, k + 1]:
        k += 1
    return k


def orientation_bin(gx, gy, nbins):
    """Unsigned orientation bin of the gradient (gx, gy): floor(theta * nbins / pi).

    theta = atan2(gy, gx) folded into [0, pi); computed in float64.
    """
    theta = math.atan2(gy, gx)
    if theta < 0.0:
        theta += math.pi
    k = int(theta * nbins / math.pi)
    if k >= nbins:
        k = nbins - 1
    return k



# Abramowitz & Stegun 4.4.49: atan(z) ~ z * p(z**2) on [0, 1]; |error| <= 1.15e-5 rad
# with these rounded coefficients (measured by tests/test_orientation_bin.py).
_ATAN_C1 = 0.9998660
_ATAN_C3 = -0.3302995
_ATAN_C5 = 0.1801410
_ATAN_C7 = -0.0851330
_ATAN_C9 = 0.0208351
# Bound on |estimate - theta| used to decide a bin without atan2: over three times
# the polynomial's error, far above float64 rounding (~1e-15 rad) on either side.
ORIENTATION_ESTIMATE_ERROR = 4e-5


def orientation_bin_estimate(gx, gy, nbins, bins_per_radian, margin):
    """:func:`orientation_bin` without ``atan2``: the same bin, or -1 = ask it.

    ``bins_per_radian`` = nbins / pi; ``margin`` = ORIENTATION_ESTIMATE_ERROR *
    bins_per_radian (the estimate's error bound in bins).

    The gradient is folded into the upper half-plane (exactly: a sign flip) and
    its angle estimated with a polynomial arctangent. When the estimate lies more
    than ``margin`` from every interior bin boundary, the true angle is on the
    same side of each as the estimate, and so is atan2's (whose rounding moves a
    boundary by ~1e-15 rad): the bin is exact. Gradients within the margin of a
    boundary (a fraction ~2.5e-5 * nbins of them) return -1 and the caller takes
    :func:`orientation_bin`. Written without data-dependent branches, so that
    the CPU loop vectorises. gy == -0.0 is bin 0 whatever gx (atan2's fold of
    -pi); gy == +0.0 with gx < 0 is theta = pi, the last bin.
    """
    negzero = (gy == 0.0) & (math.copysign(1.0, gy) < 0.0)
    s = 1.0 if gy >= 0.0 else -1.0
    x = gx * s
    y = gy * s
    ax = abs(x)
    z = min(ax, y) / max(max(ax, y), 1e-300)  # in [0, 1]; 0 for a zero gradient
    z2 = z * z
    a = z * (_ATAN_C1 + z2 * (_ATAN_C3 + z2 * (_ATAN_C5 + z2 * (_ATAN_C7 + z2 * _ATAN_C9))))
    a = (0.5 * math.pi - a) if ax < y else a
    theta = a if x >= 0.0 else math.pi - a  # in [0, pi]
    q = theta * bins_per_radian
    k = min(int(q), nbins - 1)
    nearest = math.floor(q + 0.5)
    near_edge = (abs(q - nearest) <= margin) & (nearest >= 1.0) & (nearest <= nbins - 1.0)
    k = k & -int(not negzero)
    return k | -int(near_edge)
