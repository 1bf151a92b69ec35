"""Numba CUDA kernels of ``chroma_stft`` and ``spectral_contrast``; imported only on
first GPU use.

Layout contract as in :mod:`audio_chroma` (CPU): frame-major spectrograms
``(N, t, F)``, ``nvalid`` (N,) on the device, 0 written past each clip's end.
Kernels are 1-D grid-stride loops, except :func:`chroma_raw` (one thread per
output, a 3-D grid as ``audio_cuda``'s: x the chroma bin, y the frame, z the clip,
``while`` loops on uint64 indices, so no 64-bit division splits a flat index per
output); the per-frame arithmetic shared with the CPU is
:mod:`audio_chroma_math`'s, compiled here as device functions.
"""

import numpy as np

# numba-cuda (0.2x) still names np.row_stack, which NumPy 2.5 removed (see image_cuda)
if not hasattr(np, "row_stack"):
    np.row_stack = np.vstack

from numba import cuda  # noqa: E402

from . import audio_chroma_math as _cm  # noqa: E402

_shared = _cm.compile_shared(cuda.jit(device=True))
frame_peaks = _shared["frame_peaks"]
normalize_row = _shared["normalize_row"]


@cuda.jit
def peaks(S, nvalid, lo, hi, tenth, half, sr, pip_n_fft, cap, pitch, mag, counts):
    """One thread per frame: piptrack's peaks of frame (n, t) into
    ``pitch``/``mag`` (flat, ``cap`` slots per frame from ``(n * nt + t) * cap``),
    their number in ``counts[n, t]`` (0 past the clip's end)."""
    N, nt, _ = S.shape
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    for q in range(start, N * nt, stride):
        n = q // nt
        t = q - n * nt
        k = 0
        if t < nvalid[n]:
            k = frame_peaks(S, n, t, lo, hi, tenth, half, sr, pip_n_fft, pitch, mag, q * cap)
        counts[n, t] = k


U = np.uint64
I = np.int64


@cuda.jit(device=True)
def grid3():
    """(x0, sx, y0, sy, z0, sz) of a grid-stride loop on each grid axis (as
    ``audio_cuda.grid3``: x, y over threads, z over blocks)."""
    return (U(cuda.threadIdx.x + cuda.blockIdx.x * cuda.blockDim.x),
            U(cuda.blockDim.x * cuda.gridDim.x),
            U(cuda.threadIdx.y + cuda.blockIdx.y * cuda.blockDim.y),
            U(cuda.blockDim.y * cuda.gridDim.y),
            U(cuda.blockIdx.z), U(cuda.gridDim.z))


@cuda.jit
def chroma_raw(S, nvalid, fbT, which, zero, out):
    """out[n, t, c] = sum_f fbT[which[n], f, c] S[n, t, f] in S's type (``zero``: 0
    in that type; Numba types ``S[...] * 0`` float32 * int64 as float64); 0 past
    the clip's end (one thread per output). Grid: x = c, y = t, z = n."""
    N, nt, C = out.shape
    F = S.shape[2]
    x0, sx, y0, sy, z0, sz = grid3()
    n = z0
    while n < U(N):
        nv = nvalid[n]
        u = U(which[n])
        t = y0
        while t < U(nt):
            valid = I(t) < nv
            c = x0
            while c < U(C):
                acc = zero
                if valid:
                    f = U(0)
                    while f < U(F):
                        acc += fbT[u, f, c] * S[n, t, f]
                        f += U(1)
                out[n, t, c] = acc
                c += sx
            t += sy
        n += sz


@cuda.jit
def chroma_norm(out, kind, p, tiny):
    """Each frame out[n, t, :] divided by its norm (one thread per frame)."""
    N, nt, _ = out.shape
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    for q in range(start, N * nt, stride):
        n = q // nt
        normalize_row(out, n, q - n * nt, kind, p, tiny)


@cuda.jit(device=True)
def _band_mean(S, n, t, rows, s0, s1, qb, largest):
    """Mean of the qb smallest (or largest) of S[n, t, rows[s0:s1]] without a buffer:
    each step finds the next distinct value beyond the last one taken and adds it
    once per copy, in S's type (ascending for the smallest, descending for the
    largest: librosa sums both ascending, so the largest differ by float rounding)."""
    total = S[n, t, rows[s0]] * 0
    taken = 0
    prev = -1
    while taken < qb:
        best = -1
        count = 0
        for i in range(s0, s1):
            v = S[n, t, rows[i]]
            if prev >= 0:
                pv = S[n, t, rows[prev]]
                if (largest and not v < pv) or (not largest and not v > pv):
                    continue
            if best < 0:
                best = i
                count = 1
            else:
                bv = S[n, t, rows[best]]
                if v == bv:
                    count += 1
                elif (largest and v > bv) or (not largest and v < bv):
                    best = i
                    count = 1
        take = min(count, qb - taken)
        m = S[n, t, rows[best]]
        for _ in range(take):
            total += m
        taken += take
        prev = best
    return float(total) / qb


@cuda.jit
def contrast_bands(S, nvalid, rows, offsets, q, out):
    """One thread per (frame, band): out[n, 0, b, t] / out[n, 1, b, t] = the mean of
    band b's q[b] smallest / largest magnitudes; 0 past the clip's end."""
    N, nt, _ = S.shape
    B = q.shape[0]
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    for j in range(start, N * nt * B, stride):
        n = j // (nt * B)
        r = j - n * nt * B
        t = r // B
        b = r - t * B
        lo = 0.0
        hi = 0.0
        if t < nvalid[n]:
            lo = _band_mean(S, n, t, rows, offsets[b], offsets[b + 1], q[b], False)
            hi = _band_mean(S, n, t, rows, offsets[b], offsets[b + 1], q[b], True)
        out[n, 0, b, t] = lo
        out[n, 1, b, t] = hi
