"""Per-element arithmetic shared by the CPU and the CUDA audio kernels.

Every function here is plain Python on scalars and on single elements or rows of
the kernels' arrays. ``kernels/audio.py`` compiles them with
``numba.njit(inline="always")`` and ``kernels/audio_cuda.py`` with
``numba.cuda.jit(device=True)``, both through :func:`compile_shared`, so padding,
framing, powers, decibels, descriptor formulas and zero crossings cannot drift
between the two targets. Nothing here may import numba.

Float type: every function works in the type of its arguments. Where a sum must
stay in the data's type (the rolloff's running sum, compared bin by bin with
librosa's float32 cumsum) its zero is derived from the data itself
(``S[n, j, 0] - S[n, j, 0]``): a Python float literal would make it float64.
Compiled Numba code types ``float32 * int`` as float64, so expressions such as
``amin * 0 + 10`` are float64 there (and float32 under the CUDA simulator, which
follows NumPy's scalar rules); a result stored into a float32 array is rounded
once, so the two differ by at most an ulp.

Loop structure stays with each target: the CPU kernels arrange their loops for
SIMD across rows (``power_mel``, ``floor_dct``) and the CUDA kernels give each
thread one output, so only what one element or one frame computes lives here.
The CPU decibels of ``mfcc`` are NumPy's SIMD natural log (``_cpu._log_dct``),
not :func:`power_db`; the CUDA kernels use :func:`power_db`.
"""

import math
import types

import numpy as np

PAD_CONSTANT = 0  # 0 0 | a b c d | 0 0
PAD_REFLECT = 1  # c b | a b c d | c b   (np.pad "reflect", repeated for long pads)
PAD_EDGE = 2  # a a | a b c d | d d


# --- index arithmetic -------------------------------------------------------------


def unravel(q, inner):
    """(q // inner, q % inner) for q >= 0: a flat job or thread index split into
    (outer, inner) without a second division."""
    o = q // inner
    return o, q - o * inner


def frame_start(t, hop, pad):
    """Index in the unpadded clip of frame ``t``'s first sample (may be negative:
    the frame starts in the padding)."""
    return t * hop - pad


def pad_index(i, n, mode):
    """Sample index in ``[0, n)`` that padded position ``i`` reads; -1 means 0.0."""
    if i >= 0 and i < n:
        return i
    if n == 0 or mode == PAD_CONSTANT:
        return -1
    if mode == PAD_EDGE or n == 1:
        if i < 0:
            return 0
        return n - 1
    # reflect: the triangle wave of period 2 (n - 1) is even in i, so |i| is folded
    # (the same index as ``i % period`` then the mirror); the remainder is taken in
    # 32 bits (|i| < 2**32: every real padding) or by shift-and-subtract, so that no
    # 64-bit division is compiled (a CUDA subroutine call per element)
    period = 2 * (n - 1)
    m = -i if i < 0 else i
    if m >= period:
        if m < 4294967296:
            m = np.int64(np.uint32(m) % np.uint32(period))
        else:  # binary long division in uint64 (m < 2**63: 2 r + 1 cannot overflow)
            mu = np.uint64(m)
            pu = np.uint64(period)
            r = np.uint64(0)
            bit = np.uint64(1) << np.uint64(62)
            while bit > np.uint64(0):
                r = r + r + (np.uint64(1) if mu & bit else np.uint64(0))
                if r >= pu:
                    r -= pu
                bit >>= np.uint64(1)
            m = np.int64(r)
    if m >= n:
        m = period - m
    return m


def windowed_sample(y, n, i, length, mode, w):
    """``w`` times the sample at padded position ``i`` of clip ``n`` (its first
    ``length`` samples, padded by ``mode``); 0 in constant padding."""
    j = pad_index(i, length, mode)
    if j < 0:
        return w * (w - w)  # w * 0 in w's type (a Numba int literal would make it float64)
    return y[n, j] * w


# --- spectra and decibels ---------------------------------------------------------


def abs2(re, im):
    """``|X|**2`` from the real and imaginary parts, in their type."""
    return re * re + im * im


def power_from_abs2(a2, p):
    """``|X|**p`` from ``a2 = |X|**2``: a2 itself for p = 2, one square root for
    p = 1, else ``sqrt(a2) ** p``."""
    if p == 1.0:
        return math.sqrt(a2)
    if p != 2.0:
        return math.sqrt(a2) ** p
    return a2


def spectral_power(re, im, p):
    """``|X|**p`` of one spectrum bin from its real and imaginary parts."""
    return power_from_abs2(abs2(re, im), p)


def power_db(x, amin, ref_db):
    """``10 log10(max(amin, x)) - ref_db`` (pass amin and ref_db typed as the data:
    the log is then taken in the data's type, float32 for float32 as librosa). A NaN
    ``x`` stays NaN, as with ``np.maximum`` (Python's ``max(amin, nan)`` would give
    amin)."""
    return (amin * 0 + 10) * math.log10(amin if x < amin else x) - ref_db


def db_floor(v, floor, use_top):
    """A decibel value clamped from below at ``floor`` when ``use_top`` (the clip's
    peak minus top_db); unchanged otherwise."""
    if use_top and v < floor:
        return floor
    return v


# --- per-frame features -----------------------------------------------------------


def flat_value(s, amin, flat_power):
    """``max(amin, s ** flat_power)`` in float64, as librosa's flatness thresholds
    (NumPy computes ``x ** 2.0`` as ``x * x``)."""
    x = float(s)
    if flat_power == 2.0:
        x = x * x
    elif flat_power != 1.0:
        x = x ** flat_power
    return max(amin, x)


def frame_descriptors(S, n, j, freq, p, roll_percent, amin, flat_power, tiny):
    """(centroid, bandwidth, rolloff, flatness) of frame ``S[n, j, :]`` of a
    magnitude spectrogram, as librosa's spectral features compute them.

    Sums in float64 except the rolloff's running sum, which stays in S's type and
    runs in librosa's (cumsum) order so that the crossing bin is librosa's;
    ``roll_percent`` arrives in S's type too. A frame whose total is below
    ``tiny`` (S's smallest normal number) is not normalised, as librosa's
    ``util.normalize`` leaves it.
    """
    F = S.shape[2]
    total = 0.0
    for f in range(F):
        total += S[n, j, f]
    scale = 1.0 / total if total >= tiny else 1.0
    cen = 0.0
    for f in range(F):
        cen += freq[f] * (S[n, j, f] * scale)
    bw = 0.0
    if p == 2.0:
        # NumPy computes x ** 2.0 as x * x (librosa's np.abs(freq - c) ** p), and a
        # pow() call per bin was most of the descriptors' time
        for f in range(F):
            d = freq[f] - cen
            bw += (S[n, j, f] * scale) * (d * d)
    else:
        for f in range(F):
            bw += (S[n, j, f] * scale) * abs(freq[f] - cen) ** p
    acc = S[n, j, 0] - S[n, j, 0]
    for f in range(F):
        acc += S[n, j, f]
    thresh = roll_percent * acc
    acc = S[n, j, 0] - S[n, j, 0]
    roll = freq[F - 1]
    for f in range(F):
        acc += S[n, j, f]
        if not (acc < thresh):
            roll = freq[f]
            break
    # flatness: the log of a product of 8 thresholded values instead of 8 logs, a
    # group whose product leaves [1e-300, 1e300] taking the 8 logs; equal to
    # librosa's mean of logs to ~1e-15 relative
    slog = 0.0
    sarith = 0.0
    for c in range(0, F, 8):
        stop = min(F, c + 8)
        prod = 1.0
        for f in range(c, stop):
            v = flat_value(S[n, j, f], amin, flat_power)
            sarith += v
            prod *= v
        if prod > 1e-300 and prod < 1e300:
            slog += math.log(prod)
        else:
            for f in range(c, stop):
                slog += math.log(flat_value(S[n, j, f], amin, flat_power))
    bw_out = math.sqrt(bw) if p == 2.0 else bw ** (1.0 / p)
    return cen, bw_out, roll, math.exp(slog / F) / (sarith / F)


def is_negative(v, threshold):
    """np.signbit after librosa's zero_crossings zeroes ``|v| <= threshold``."""
    if abs(v) <= threshold:
        return False
    return v < 0 or (v == 0 and math.copysign(1.0, v) < 0)


def frame_zcr(y, n, start, length, frame_length, threshold):
    """Zero-crossing rate of the frame of clip ``n`` starting at ``start`` (edge
    padding, as librosa's ``zero_crossing_rate``)."""
    count = 0
    prev = False
    for k in range(frame_length):
        j = pad_index(start + k, length, PAD_EDGE)
        v = y[n, j] if j >= 0 else y[n, 0] * 0
        neg = is_negative(v, threshold)
        if k > 0 and neg != prev:
            count += 1
        prev = neg
    return count / frame_length


def frame_rms(y, n, start, length, frame_length, mode):
    """RMS of the frame of clip ``n`` starting at ``start`` (``mode`` padding),
    summed in float64."""
    acc = 0.0
    for k in range(frame_length):
        j = pad_index(start + k, length, mode)
        if j >= 0:
            v = float(y[n, j])
            acc += v * v
    return math.sqrt(acc / frame_length)


def weighted_sum(w, data, n, c, first):
    """``sum_k w[k] data[n, c, first + k]`` in float64 (a Savitzky-Golay tap row
    or one row of its edge fit)."""
    acc = 0.0
    for k in range(w.shape[0]):
        acc += w[k] * data[n, c, first + k]
    return acc


# --- compilation ------------------------------------------------------------------

#: callees before callers: what :func:`compile_shared` compiles, in this order
SHARED = (
    "unravel", "frame_start", "pad_index", "windowed_sample", "abs2", "power_from_abs2",
    "spectral_power", "power_db", "db_floor", "flat_value", "frame_descriptors", "is_negative",
    "frame_zcr", "frame_rms", "weighted_sum",
)


def compile_shared(jit, names=SHARED, namespace=None):
    """Every function of ``names`` (default :data:`SHARED`) compiled with the
    decorator ``jit``; ``namespace`` is the globals of the module that defines them
    (default this module's: ``audio_chroma_math`` passes its own).

    Numba compiles a call only to another compiled function, never to a plain
    Python one, so a function that calls another shared function (``frame_zcr``
    calls ``pad_index``) is compiled from a copy whose globals hold the compiled
    callees. The module's own functions stay plain Python.

    Returns
    -------
    dict
        name -> compiled function.
    """
    done = {}
    namespace = globals() if namespace is None else namespace
    for name in names:
        fn = namespace[name]
        scope = dict(fn.__globals__)
        scope.update(done)
        clone = types.FunctionType(fn.__code__, scope, fn.__name__, fn.__defaults__,
                                   fn.__closure__)
        clone.__qualname__ = fn.__qualname__
        clone.__module__ = fn.__module__
        clone.__doc__ = fn.__doc__
        done[name] = jit(clone)
    return done
