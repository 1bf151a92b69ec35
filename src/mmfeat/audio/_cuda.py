"""The ``cuda`` backend: CuPy arrays, cuFFT through ``cupy.fft`` (CuPy caches a plan
per shape, and frame blocks keep one shape), Numba CUDA kernels from
``mmfeat.kernels.audio_cuda`` for framing/windowing, power -> mel and dB -> DCT.

Implemented: ``stft``, ``spectrogram``, ``melspectrogram``, ``mfcc``. Clips go in
chunks (``backend.chunk_size``) and each chunk's frames in blocks
(``_config.CUDA_FRAMES_PER_BLOCK`` or what fits in free memory), so a long signal
never materialises all its frames. Under ``NUMBA_ENABLE_CUDASIM=1`` the arrays are
NumPy and the kernels run in Numba's simulator.
"""

from __future__ import annotations

import math

import numpy as np

from .. import config
from ..backend import chunk_size, cudasim_enabled, device_xp, free_device_bytes
from ..kernels import audio_cuda as K
from . import _config, _filters
from ._checks import complex_dtype, n_frames
from ._cpu import _MODES, _support


def _arg(a):
    """CuPy arrays go to Numba without a per-launch stream sync (both use the legacy
    default stream, so ordering holds)."""
    if cudasim_enabled() or not hasattr(a, "__cuda_array_interface__"):
        return a
    from numba import cuda

    return cuda.as_cuda_array(a, sync=False)


def _launch(kernel, total, *args):
    tpb = int(config.THREADS_PER_BLOCK)
    blocks = max(1, min(math.ceil(total / tpb), 8192))
    kernel[blocks, tpb](*[_arg(a) for a in args])


_TABLES: dict = {}


def _table(key, build):
    """A host table copied to the device once per (key, device)."""
    xp = device_xp()
    dev = 0 if cudasim_enabled() else xp.cuda.Device().id
    if (key, dev) not in _TABLES:
        _TABLES[(key, dev)] = xp.asarray(np.ascontiguousarray(build()))
    return _TABLES[(key, dev)]


def _window(window, win_length, n_fft, dtype):
    if callable(window) or isinstance(window, np.ndarray):
        return device_xp().asarray(_filters.fft_window(window, win_length, n_fft, dtype))
    key = ("window", _filters._window_key(window), win_length, n_fft, np.dtype(dtype).str)
    return _table(key, lambda: _filters.fft_window(window, win_length, n_fft, dtype))


def _blocks(n_clips, nf, n_fft, itemsize):
    """(clips per chunk, frames per block)."""
    per_frame = n_fft * itemsize * 4 + 64  # frames + complex spectrum + scratch
    fixed = _config.CUDA_FRAMES_PER_BLOCK
    clips = chunk_size(n_clips, per_frame * max(nf, 1))
    if fixed is not None:
        return clips, max(1, min(nf, int(fixed)))
    free = free_device_bytes()
    if free is None:
        return clips, max(nf, 1)
    tb = int(free * config.GPU_MEMORY_FRACTION) // max(per_frame * clips, 1)
    return clips, max(1, min(nf, tb))


def _spectra(y, lengths, nvalid, n_fft, hop, win_length, window, center, pad_mode):
    """Yield (clip slice, t0, rFFT of frames (n, tb, F)) block by block."""
    xp = device_xp()
    N, T = y.shape
    nf = n_frames(T, n_fft, hop, center)
    w = _window(window, win_length, n_fft, y.dtype)
    pad = n_fft // 2 if center else 0
    clips, tb = _blocks(N, nf, n_fft, y.itemsize)
    for s in range(0, N, clips):
        sl = slice(s, min(N, s + clips))
        for t0 in range(0, nf, tb):
            nb = min(tb, nf - t0)
            fr = xp.empty((sl.stop - sl.start, nb, n_fft), dtype=y.dtype)
            _launch(K.frame_window, fr.size, y[sl], lengths[sl], nvalid[sl], w, hop, pad,
                    _MODES[pad_mode], t0, fr)
            X = xp.fft.rfft(fr, axis=-1)
            if X.dtype != complex_dtype(y.dtype):  # NumPy < 2 under the simulator
                X = X.astype(complex_dtype(y.dtype))
            yield sl, t0, X


def _dev(lengths, nvalid):
    xp = device_xp()
    return xp.asarray(lengths), xp.asarray(nvalid)


def stft(y, lengths, nvalid, n_fft, hop, win_length, window, center, pad_mode):
    xp = device_xp()
    lengths, nvalid = _dev(lengths, nvalid)
    N, T = y.shape
    nf = n_frames(T, n_fft, hop, center)
    out = xp.empty((N, nf, n_fft // 2 + 1), dtype=complex_dtype(y.dtype))
    for sl, t0, X in _spectra(y, lengths, nvalid, n_fft, hop, win_length, window, center,
                              pad_mode):
        out[sl, t0 : t0 + X.shape[1]] = X
    return out.transpose(0, 2, 1)


def spectrogram(y, lengths, nvalid, n_fft, hop, win_length, window, center, pad_mode,
                power):
    xp = device_xp()
    lengths, nvalid = _dev(lengths, nvalid)
    N, T = y.shape
    F = n_fft // 2 + 1
    out = xp.empty((N, n_frames(T, n_fft, hop, center), F), dtype=y.dtype)
    for sl, t0, X in _spectra(y, lengths, nvalid, n_fft, hop, win_length, window, center,
                              pad_mode):
        n, nb, _ = X.shape
        P = xp.empty((n, nb, F), dtype=y.dtype)
        _launch(K.power, P.size, X.reshape(n * nb, F), float(power), P.reshape(n * nb, F))
        out[sl, t0 : t0 + nb] = P
    return out.transpose(0, 2, 1)


def _mel_frames(y, lengths, nvalid, n_fft, hop, win_length, window, center, pad_mode,
                power, basis):
    """(N, t, M) mel power, frame-major, filled block by block."""
    xp = device_xp()
    N, T = y.shape
    M = basis.shape[0]
    key = ("mel", basis.tobytes(), basis.shape, basis.dtype.str)
    b = _table(key, lambda: basis)
    lo, hi = _support(basis)
    lo = _table(key + ("lo",), lambda: lo)
    hi = _table(key + ("hi",), lambda: hi)
    out = xp.empty((N, n_frames(T, n_fft, hop, center), M), dtype=y.dtype)
    for sl, t0, X in _spectra(y, lengths, nvalid, n_fft, hop, win_length, window, center,
                              pad_mode):
        n, nb, F = X.shape
        blk = xp.empty((n, nb, M), dtype=y.dtype)
        _launch(K.power_mel, n * nb * M, X.reshape(n * nb, F), float(power), b, lo, hi,
                blk.reshape(n * nb, M))
        out[sl, t0 : t0 + nb] = blk
    return out


def melspectrogram(y, lengths, nvalid, n_fft, hop, win_length, window, center, pad_mode,
                   power, basis):
    lengths, nvalid = _dev(lengths, nvalid)
    out = _mel_frames(y, lengths, nvalid, n_fft, hop, win_length, window, center, pad_mode,
                      power, basis)
    return out.transpose(0, 2, 1)


def mfcc(y, lengths, nvalid, n_fft, hop, win_length, window, center, pad_mode, power,
         basis, amin, ref_db, top_db, dct):
    xp = device_xp()
    lengths, nvalid = _dev(lengths, nvalid)
    S = _mel_frames(y, lengths, nvalid, n_fft, hop, win_length, window, center, pad_mode,
                    power, basis)
    N, nt, M = S.shape
    f = y.dtype.type
    peak = xp.full(N, -np.inf, dtype=y.dtype)
    _launch(K.to_db_peak, S.size, S, nvalid, f(amin), f(ref_db), peak)
    dct_t = xp.asarray(np.ascontiguousarray(dct.T))
    out = xp.empty((N, nt, dct.shape[0]), dtype=y.dtype)
    use_top = top_db is not None
    _launch(K.floor_dct, out.size, S, nvalid, peak, f(top_db if use_top else 0.0), use_top,
            dct_t, out)
    return out.transpose(0, 2, 1)
