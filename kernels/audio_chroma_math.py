"""Per-frame arithmetic of the chroma kernels, shared by the CPU (``audio_chroma``)
and the CUDA (``audio_chroma_cuda``) targets through :func:`compile_shared`, as
:mod:`audio_math` is for the other audio kernels. Nothing here may import numba.

Float types follow librosa's NumPy code exactly, because the tuning estimate is a
histogram whose fullest bin can move when one value rounds differently: piptrack's
``avg``, ``dskew`` and magnitudes are computed in the spectrum's type (float32
for float32 audio), its parabolic shift in float64 rounded to that type (librosa's
Numba stencil types ``2 * x`` as float64 and stores into a float32 array), its
pitch ``(bin + shift) * sr / n_fft`` in float64 rounded likewise. A value is
rounded to the spectrum's type by storing it in an output array of that type
(a cast that reads the same on both targets); typed constants (``half``,
``tenth``) arrive from the caller for the same reason: Numba types
``float32 * 0.5`` as float64.
"""

from . import audio_math as _m

NORM_NONE, NORM_INF, NORM_NEG_INF, NORM_ZERO, NORM_P = 0, 1, 2, 3, 4


def masked(v, ref):
    """``v * (v > ref)``: piptrack's thresholded spectrum value, in v's type."""
    if v > ref:
        return v
    return v - v


def frame_peaks(S, n, t, lo, hi, tenth, half, sr, pip_n_fft, pitch_out, mag_out, base):
    """librosa.piptrack on frame ``S[n, t, :]`` of a power spectrogram (frame-major
    (N, t, F)): the local maxima (``x[f] > x[f-1]`` and ``x[f] >= x[f+1]``; the last
    bin only ``x[F-1] > x[F-2]``) of ``x = S * (S > 0.1 * max(S))`` at bins
    ``lo <= f < hi``, each with its parabolic pitch and skew-corrected magnitude,
    written to ``pitch_out[base + i]`` / ``mag_out[base + i]`` (arrays of S's type).
    ``tenth`` and ``half`` are 0.1 and 0.5 in S's type. Returns the count."""
    F = S.shape[2]
    m = S[n, t, 0]
    for f in range(1, F):
        if S[n, t, f] > m:
            m = S[n, t, f]
    ref = tenth * m
    k = 0
    for f in range(max(lo, 1), hi):
        x = masked(S[n, t, f], ref)
        if not x > masked(S[n, t, f - 1], ref):
            continue
        last = f == F - 1
        if not last and not x >= masked(S[n, t, f + 1], ref):
            continue
        slot = base + k
        if last:
            mag_out[slot] = 0.0
            avg = S[n, t, f] - S[n, t, f - 1]
        else:
            a = float(S[n, t, f + 1] + S[n, t, f - 1]) - 2.0 * float(S[n, t, f])
            b = float(S[n, t, f + 1] - S[n, t, f - 1]) / 2.0
            mag_out[slot] = 0.0 if abs(b) >= abs(a) else -b / a
            avg = (S[n, t, f + 1] - S[n, t, f - 1]) * half
        shift = mag_out[slot]  # the shift, rounded to S's type as librosa stores it
        pitch_out[slot] = (f + float(shift)) * sr / pip_n_fft
        mag_out[slot] = S[n, t, f] + (half * avg) * shift
        k += 1
    return k


def normalize_row(out, n, t, kind, p, tiny):
    """``out[n, t, :]`` divided in place by its norm (``kind``: one of ``NORM_*``,
    ``p`` the exponent of ``NORM_P``), computed in float64 of the magnitudes;
    a norm below ``tiny`` (the type's smallest normal) divides by 1, as
    ``librosa.util.normalize`` does."""
    C = out.shape[2]
    if kind == NORM_NONE:
        return
    length = 0.0
    if kind == NORM_INF:
        for c in range(C):
            length = max(length, abs(float(out[n, t, c])))
    elif kind == NORM_NEG_INF:
        length = abs(float(out[n, t, 0]))
        for c in range(1, C):
            length = min(length, abs(float(out[n, t, c])))
    elif kind == NORM_ZERO:
        for c in range(C):
            if out[n, t, c] != 0:
                length += 1.0
    else:
        for c in range(C):
            length += abs(float(out[n, t, c])) ** p
        length = length ** (1.0 / p)
    if length < tiny:
        length = 1.0
    for c in range(C):
        out[n, t, c] = out[n, t, c] / length


#: callees before callers: what :func:`compile_shared` compiles, in this order
SHARED = ("masked", "frame_peaks", "normalize_row")


def compile_shared(jit):
    """:data:`SHARED` compiled with the decorator ``jit`` (see
    :func:`audio_math.compile_shared`)."""
    return _m.compile_shared(jit, SHARED, globals())
