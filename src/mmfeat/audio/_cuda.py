"""The ``cuda`` backend: CuPy arrays, cuFFT through ``cupy.fft`` (CuPy caches a plan
per shape, and frame blocks keep one shape), Numba CUDA kernels from
``mmfeat.kernels.audio_cuda`` for framing/windowing, power -> mel and dB -> DCT.

Implemented: ``stft``, ``spectrogram``, ``melspectrogram``, ``mfcc``,
``power_to_db``/``amplitude_to_db`` (one dB kernel pass, per-clip floor by a
reduction), ``delta`` (Savitzky-Golay per row over its valid frames), the spectral
descriptors (one thread per frame), ``zero_crossing_rate``/``rms`` (one thread per
frame straight from the waveform, no frames stored), ``waveform_stats``
(array-module reductions over chunks of clips) and :func:`audio_frames`, the
one-pass MFCC + descriptors that ``AudioFeatures(backend="cuda")`` runs. Clips go
in chunks (``backend.chunk_size``) and each chunk's frames in blocks
(``config.AUDIO_CUDA_FRAMES_PER_BLOCK`` or what fits in free memory), so a long signal
never materialises all its frames. Under ``NUMBA_ENABLE_CUDASIM=1`` the arrays are
NumPy and the kernels run in Numba's simulator.
"""

from __future__ import annotations

import numpy as np

from .. import config
from .._gpu import (
    MAX_BLOCKS_1D,
    MAX_GRID_Z,
    device_table,
    device_tables,
    kernel_arg,
    launch_1d,
    to_device,
)
from ..backend import chunk_size, device_xp, free_device_bytes, to_host
from ..kernels import audio_chroma_cuda as K_chroma
from ..kernels import audio_cuda as K
from . import _chroma, _filters
from ._checks import complex_dtype, float_dtype
from ._cpu import _MFCC_DB, _MODES, _support, precise_fft


def upload(y):
    """Clips ``y`` on the device: a device array as it is; a host array through a
    pinned staging buffer of :func:`mmfeat._gpu.to_device` (reused across batches: a
    pageable copy runs at ~2 GB/s, a pinned one at the host link's ~25 GB/s)."""
    if hasattr(y, "__cuda_array_interface__"):
        return device_xp().asarray(y)
    return to_device(y)


def _launch_grid(kernel, X, Y, Z, *args, rows_per_thread=1):
    """``kernel`` over an (Z, Y, X) index space (``kernels/audio_cuda.py``: x the
    contiguous inner axis, y the middle one, z the clip): blocks of
    ``config.THREADS_PER_BLOCK`` threads shaped (min(X, tpb), tpb // that) so that a
    short row (20 coefficients, 64 bands) still fills whole warps, consecutive rows
    being contiguous; the grid capped at :data:`MAX_BLOCKS_1D` x-blocks and 65535 y-
    and z-blocks (the kernels loop grid-stride on every axis). ``rows_per_thread``:
    y rows each thread walks at least (fewer blocks, for a per-block reduction)."""
    tpb = int(config.THREADS_PER_BLOCK)
    X, Y, Z = max(int(X), 1), max(int(Y), 1), max(int(Z), 1)
    bx = min(X, tpb)
    by = max(1, min(tpb // bx, Y))
    gx = min(-(-X // bx), MAX_BLOCKS_1D)
    gy = min(-(-Y // (by * max(1, int(rows_per_thread)))), MAX_GRID_Z)
    gz = min(Z, MAX_GRID_Z)
    kernel[(gx, gy, gz), (bx, by, 1)](*[kernel_arg(a) for a in args])


def _window(window, win_length, n_fft, dtype):
    if callable(window) or isinstance(window, np.ndarray):
        return device_xp().asarray(_filters.fft_window(window, win_length, n_fft, dtype))
    key = ("window", _filters._window_key(window), win_length, n_fft, np.dtype(dtype).str)
    return device_table(key, lambda: _filters.fft_window(window, win_length, n_fft, dtype))


def _blocks(n_clips, nf, n_fft, itemsize):
    """(clips per chunk, frames per block)."""
    per_frame = n_fft * itemsize * 4 + 64  # frames + complex spectrum + scratch
    fixed = config.AUDIO_CUDA_FRAMES_PER_BLOCK
    clips = chunk_size(n_clips, per_frame * max(nf, 1))
    if fixed is not None:
        return clips, max(1, min(nf, int(fixed)))
    free = free_device_bytes()
    if free is None:
        return clips, max(nf, 1)
    tb = int(free * config.GPU_MEMORY_FRACTION) // max(per_frame * clips, 1)
    return clips, max(1, min(nf, tb))


def _spectra(y, lengths, nvalid, frames, precise=False):
    """Yield (clip slice, t0, rFFT of frames (n, tb, F)) block by block; ``precise``:
    window and FFT in float64 (complex128 out), as the cpu backend's
    ``_frames_fft`` explains."""
    xp = device_xp()
    N, T = y.shape
    n_fft = frames.n_fft
    nf = frames.n_frames(T)
    work = np.dtype(np.float64) if precise else y.dtype
    w = _window(frames.window, frames.win_length, n_fft, work)
    clips, tb = _blocks(N, nf, n_fft, work.itemsize)
    for s in range(0, N, clips):
        sl = slice(s, min(N, s + clips))
        for t0 in range(0, nf, tb):
            nb = min(tb, nf - t0)
            fr = xp.empty((sl.stop - sl.start, nb, n_fft), dtype=work)
            _launch_grid(K.frame_window, n_fft, nb, fr.shape[0], y[sl], lengths[sl],
                         nvalid[sl], w, frames.hop_length, frames.pad,
                         _MODES[frames.pad_mode], t0, fr)
            X = xp.fft.rfft(fr, axis=-1)
            if X.dtype != complex_dtype(work):  # NumPy < 2 under the simulator
                X = X.astype(complex_dtype(work))
            yield sl, t0, X


def _dev(lengths, nvalid):
    xp = device_xp()
    return xp.asarray(lengths), xp.asarray(nvalid)


def stft(y, lengths, nvalid, frames):
    xp = device_xp()
    lengths, nvalid = _dev(lengths, nvalid)
    N, T = y.shape
    out = xp.empty((N, frames.n_frames(T), frames.n_bins), dtype=complex_dtype(y.dtype))
    for sl, t0, X in _spectra(y, lengths, nvalid, frames):
        out[sl, t0 : t0 + X.shape[1]] = X
    return out.transpose(0, 2, 1)


def spectrogram(y, lengths, nvalid, frames, power):
    xp = device_xp()
    lengths, nvalid = _dev(lengths, nvalid)
    N, T = y.shape
    F = frames.n_bins
    out = xp.empty((N, frames.n_frames(T), F), dtype=y.dtype)
    for sl, t0, X in _spectra(y, lengths, nvalid, frames, precise_fft(power)):
        n, nb, _ = X.shape
        P = xp.empty((n, nb, F), dtype=y.dtype)
        _launch_grid(K.power, F, n * nb, 1, X.reshape(n * nb, F), float(power),
                     P.reshape(n * nb, F))
        out[sl, t0 : t0 + nb] = P
    return out.transpose(0, 2, 1)


def _mel_frames(y, lengths, nvalid, frames, power, basis, on_block=None):
    """(N, t, M) mel power, frame-major, filled block by block; ``on_block(sl, t0, X)``
    sees each block's spectrum too (the descriptors of :func:`audio_frames`)."""
    xp = device_xp()
    N, T = y.shape
    M = basis.shape[0]
    key = ("mel", basis.tobytes(), basis.shape, basis.dtype.str)
    b = device_table(key, lambda: basis)
    lo, hi = _support(basis)
    lo = device_table(key + ("lo",), lambda: lo)
    hi = device_table(key + ("hi",), lambda: hi)
    out = xp.empty((N, frames.n_frames(T), M), dtype=y.dtype)
    for sl, t0, X in _spectra(y, lengths, nvalid, frames, precise_fft(power)):
        n, nb, F = X.shape
        blk = xp.empty((n, nb, M), dtype=y.dtype)
        _launch_grid(K.power_mel_kernel(float(power) == 2.0), M, n * nb, 1, X.reshape(n * nb, F),
                     float(power), b, lo, hi, blk.reshape(n * nb, M))
        out[sl, t0 : t0 + nb] = blk
        if on_block is not None:
            on_block(sl, t0, X)
    return out


def melspectrogram(y, lengths, nvalid, frames, power, basis):
    lengths, nvalid = _dev(lengths, nvalid)
    return _mel_frames(y, lengths, nvalid, frames, power, basis).transpose(0, 2, 1)


def mfcc(y, lengths, nvalid, frames, power, basis, n_mfcc, norm, lifter, dct_type=2):
    """(N, n_mfcc, t): mel power -> dB (per-clip top_db) -> DCT with the lifter
    folded into its rows."""
    lengths, nvalid = _dev(lengths, nvalid)
    S = _mel_frames(y, lengths, nvalid, frames, power, basis)
    dct = _filters.dct_rows(n_mfcc, basis.shape[0], norm, lifter, y.dtype, dct_type)
    return _db_dct(S, nvalid, *_MFCC_DB, dct).transpose(0, 2, 1)


def _db_dct(S, nvalid, amin, ref_db, top_db, dct):
    """Mel power (N, t, M) -> dB in place -> per-clip floor -> DCT: (N, t, K)."""
    xp = device_xp()
    N, nt, M = S.shape
    f = S.dtype.type
    # the per-clip peak as an order-preserving integer key (kernels/audio_cuda.py's
    # to_db_peak): the float's bits, a negative float's xor the key type's maximum
    ikey = np.dtype(np.int32 if S.dtype.itemsize == 4 else np.int64)
    flip = ikey.type(np.iinfo(ikey).max)
    lowest = np.array(-np.inf, dtype=S.dtype)
    keys = xp.full(N, lowest.view(ikey) ^ flip, dtype=ikey)
    _launch_grid(K.to_db_peak, M, nt, N, S, nvalid, f(amin), f(ref_db), lowest[()], flip,
                 keys, rows_per_thread=16)
    peak = xp.where(keys < 0, keys ^ flip, keys).astype(ikey).view(S.dtype)
    dct_t = xp.asarray(np.ascontiguousarray(dct.T))
    out = xp.empty((N, nt, dct.shape[0]), dtype=S.dtype)
    use_top = top_db is not None
    _launch_grid(K.floor_dct, dct.shape[0], nt, N, S, nvalid, peak,
                 f(top_db if use_top else 0.0), use_top, dct_t, out)
    return out


def power_to_db(S, ref_value, amin, top_db, squared=False):
    """Decibels of ``S`` (..., F, t) on the device, the numbers of the host
    ``spectral._to_db``: ``10 log10(max(amin, x)) - 10 log10(max(amin, ref))`` with
    x = S (x = S**2 when ``squared``) in one kernel pass (log10 in S's float type,
    see ``audio_math.power_db``), then each clip (leading index; the whole array for
    ``S.ndim <= 2``) floored at its peak minus ``top_db`` by a reduction and an
    in-place maximum (NaN propagates as in NumPy). ``ref_value``: a number, or per
    clip a host float64 array (..., 1, 1); its decibels are computed on the host,
    as the cpu path does."""
    xp = device_xp()
    dtype = float_dtype(S.dtype)
    if squared and S.dtype != dtype:
        # square in the input's own type before the cast, as the host path and librosa
        S = xp.square(S)
        squared = False
    S = xp.ascontiguousarray(S.astype(dtype, copy=False))
    N = int(np.prod(S.shape[:-2]))
    P = int(np.prod(S.shape[-2:]))
    ref_db = np.asarray(10.0 * np.log10(np.maximum(amin, ref_value))).astype(dtype)
    ref_db = xp.asarray(np.broadcast_to(ref_db.reshape(-1), (N,)).copy())
    out = xp.empty((N, P), dtype=dtype)
    if out.size:
        f = dtype.type
        _launch_grid(K.to_db, P, 1, N, S.reshape(N, P), bool(squared), f(amin), ref_db, out)
        if top_db is not None:
            peak = out.max(axis=1, keepdims=True)
            xp.maximum(out, peak - f(top_db), out=out)
    return out.reshape(S.shape)


def _stats_block(S, freq, nvalid, t0, out, p, roll_percent, amin, flat_power):
    """Descriptors of magnitude frames S (n, tb, F) into out (n, 4, t) from frame t0."""
    n, tb, _ = S.shape
    if n * tb == 0:
        return
    _launch_grid(K.spectral_stats, tb, 1, n, S, freq, nvalid, float(p),
                 S.dtype.type(roll_percent), float(amin), float(flat_power),
                 float(np.finfo(S.dtype).tiny), t0, out)


def descriptors_from_S(S, freq, nvalid, p=2.0, roll_percent=0.85, amin=1e-10,
                       flat_power=2.0):
    """(N, 4, t) centroid, bandwidth, rolloff, flatness of a magnitude spectrogram
    S (N, F, t) on the device (0 past nvalid)."""
    xp = device_xp()
    Sf = xp.ascontiguousarray(xp.swapaxes(S, 1, 2))  # the cuda spectra are frame-major
    N, nt, _ = Sf.shape
    out = xp.zeros((N, 4, nt), dtype=np.float64)
    _stats_block(Sf, xp.asarray(np.asarray(freq, np.float64)), xp.asarray(nvalid), 0, out,
                 p, roll_percent, amin, flat_power)
    return out.astype(S.dtype)


def _zcr_rms(y, lengths, nvalid, frames, threshold, want_zcr, want_rms):
    """(zcr (N, t), rms (N, t)) float64 on the device; an unwanted one is left 0."""
    xp = device_xp()
    N, T = y.shape
    nf = frames.n_frames(T)
    z = xp.zeros((N, nf), dtype=np.float64)
    r = xp.zeros((N, nf), dtype=np.float64)
    if N * nf:
        _launch_grid(K.zcr_rms, nf, 1, N, y, lengths, nvalid, frames.n_fft,
                     frames.hop_length, frames.pad, _MODES[frames.pad_mode],
                     float(threshold), bool(want_zcr), bool(want_rms), z, r)
    return z, r


def zcr_rms(y, lengths, nvalid, frames, threshold, want_zcr=True, want_rms=True):
    """(zcr (N, 1, t), rms (N, 1, t)) in y's type, one thread per frame; an unwanted
    one is (N, 1, 0), as the other backends return it."""
    lengths, nvalid = _dev(lengths, nvalid)
    z, r = _zcr_rms(y, lengths, nvalid, frames, threshold, want_zcr, want_rms)
    z = z.astype(y.dtype)[:, None, :] if want_zcr else z[:, None, :0].astype(y.dtype)
    r = r.astype(y.dtype)[:, None, :] if want_rms else r[:, None, :0].astype(y.dtype)
    return z, r


def waveform_stats(y, lengths, threshold):
    """(N, 6) float64 mean, std, peak, RMS, zcr, crest factor of ``y[n, :lengths[n]]``:
    masked reductions in float64 over chunks of clips (a chunk's float64 copy is the
    only scratch); the variance is two-pass, exact zero for a constant clip."""
    xp = device_xp()
    N, T = y.shape
    L = xp.asarray(lengths)
    out = xp.zeros((N, 6), dtype=np.float64)
    if N == 0 or T == 0:
        return out
    idx = xp.arange(T)
    step = chunk_size(N, T * 8 * 4)  # the float64 copy and its temporaries
    for s in range(0, N, step):
        sl = slice(s, min(N, s + step))
        Ln = L[sl]
        keep = idx[None, :] < Ln[:, None]
        x = xp.where(keep, y[sl].astype(np.float64), 0.0)
        cnt = xp.maximum(Ln, 1).astype(np.float64)
        mean = x.sum(axis=1) / cnt
        d = xp.where(keep, x - mean[:, None], 0.0)
        var = (d * d).sum(axis=1) / cnt
        rms_ = xp.sqrt((x * x).sum(axis=1) / cnt)
        peak = xp.abs(x).max(axis=1)
        neg = xp.signbit(xp.where(xp.abs(x) <= threshold, 0.0, x))
        cross = (neg[:, 1:] != neg[:, :-1]) & keep[:, 1:]
        zcr = cross.sum(axis=1) / cnt
        crest = xp.where(rms_ > 0, peak / xp.where(rms_ > 0, rms_, 1.0), 0.0)
        blk = xp.stack([mean, xp.sqrt(var), peak, rms_, zcr, crest], axis=1)
        out[sl] = xp.where((Ln > 0)[:, None], blk, 0.0)
    return out


def delta(data, width, order, nvalid):
    """(N, C, t) Savitzky-Golay derivative of each row over its first nvalid[n]
    frames (host ``nvalid``), 0 past it. A row with fewer than ``width`` frames uses
    the largest odd window it has (>= 3 and > order), else it is 0: the reference's
    rule. Rows are grouped by that window, one launch per group."""
    xp = device_xp()
    data = xp.ascontiguousarray(data)
    nvalid = np.asarray(nvalid, dtype=np.int64)
    out = xp.zeros_like(data)
    w = np.minimum(width, np.where(nvalid % 2 == 1, nvalid, nvalid - 1))
    for wk in np.unique(w):
        if wk < 3 or wk <= order:
            continue  # too few frames for a slope: 0
        rows = np.flatnonzero(w == wk)
        taps, edge = _filters.savgol_tables(int(wk), order)
        # the edge rows, then the taps: one (width + 1, width) table (the kernel picks a row)
        table = device_table(("savgol_table", int(wk), order),
                             lambda t=taps, e=edge: np.vstack([e, np.asarray(t)[None]]))
        if rows.size == data.shape[0]:
            sub, res = data, out
        else:
            ri = xp.asarray(rows)
            sub = xp.ascontiguousarray(data[ri])
            res = xp.zeros_like(sub)
        if res.size:
            _launch_grid(K.savgol_rows, res.shape[2], res.shape[1], res.shape[0], sub,
                         xp.asarray(nvalid[rows]), table, res)
        if res is not out:
            out[xp.asarray(rows)] = res
    return out


def audio_frames(y, lengths, nvalid, frames, sr, basis, n_mfcc, spectral):
    """``AudioFeatures``' frame-wise pass on the device: MFCC (N, n_mfcc, t) and, when
    ``spectral``, (N, 6, t) float64 centroid, bandwidth, rolloff, flatness, zcr, rms;
    each block's FFT feeds both the mel projection and the descriptors, as the cpu
    ``audio_frames``."""
    xp = device_xp()
    lengths, nvalid = _dev(lengths, nvalid)
    N, T = y.shape
    n_fft = frames.n_fft
    nf = frames.n_frames(T)
    dct = _filters.dct_rows(n_mfcc, basis.shape[0], "ortho", 0.0, y.dtype)
    stats = xp.zeros((N, 6, nf), dtype=np.float64) if spectral else None
    # the four descriptors in their own array: a clip slice of it is contiguous, so
    # each block's kernel writes its frames in place
    four = xp.zeros((N, 4, nf), dtype=np.float64) if spectral else None
    on_block = None
    if spectral:
        freq = device_table(("freq", float(sr), n_fft),
                      lambda: _filters.fft_frequencies(sr=sr, n_fft=n_fft))
        F = frames.n_bins

        def on_block(sl, t0, X):
            n, nb, _ = X.shape
            mag = xp.empty((n, nb, F), dtype=y.dtype)
            _launch_grid(K.power, F, n * nb, 1, X.reshape(n * nb, F), 1.0,
                         mag.reshape(n * nb, F))
            _stats_block(mag, freq, nvalid[sl], t0, four[sl], 2.0, 0.85, 1e-10, 2.0)

    S = _mel_frames(y, lengths, nvalid, frames, 2.0, basis, on_block)
    mf = _db_dct(S, nvalid, *_MFCC_DB, dct)
    if spectral:
        z, r = _zcr_rms(y, lengths, nvalid, frames, 1e-10, True, True)
        stats[:, :4] = four
        stats[:, 4] = z
        stats[:, 5] = r
    return xp.ascontiguousarray(mf.transpose(0, 2, 1)), stats


# --- chroma and spectral contrast ------------------------------------------------


def _frame_major(S):
    xp = device_xp()
    return xp.ascontiguousarray(xp.swapaxes(S, 1, 2))


def _tunings(P, nvalid, settings):
    """(tunings (N,) host float64, empty (N,) bool) of power frames P (N, t, F) on the
    device: piptrack's peaks one thread per frame, each clip's median magnitude by
    a sort of its peaks, then the selected pitches (a few per frame) copied to the
    host for librosa's histogram (:func:`_chroma.tunings_from_pitches`)."""
    xp = device_xp()
    N, nt, _ = P.shape
    lo, hi = settings.pip_range()
    cap = max((hi - lo + 1) // 2, 1)
    pitch = xp.zeros(N * nt * cap, dtype=P.dtype)
    mag = xp.zeros(N * nt * cap, dtype=P.dtype)
    counts = xp.zeros((N, nt), dtype=np.int64)
    f = P.dtype.type
    if N * nt:
        launch_1d(K_chroma.peaks, N * nt, P, nvalid, lo, hi, f(0.1), f(0.5),
                  float(settings.sr), float(settings.pip_n_fft), cap, pitch, mag, counts)
    valid = (xp.arange(cap)[None, None, :] < counts[:, :, None]).reshape(N, -1)
    mag = mag.reshape(N, -1)
    k = valid.sum(axis=1)
    srt = xp.sort(xp.where(valid, mag, xp.asarray(np.inf, dtype=P.dtype)), axis=1)
    last = max(srt.shape[1] - 1, 0)
    a = xp.take_along_axis(srt, xp.clip((k - 1) // 2, 0, last)[:, None], axis=1)
    b = xp.take_along_axis(srt, xp.clip(k // 2, 0, last)[:, None], axis=1)
    thr = (a + b) * f(0.5)  # np.median: the mean of the middle two, in P's type
    sel = valid & (mag >= thr)
    chosen = to_host(pitch.reshape(N, -1)[sel])
    return _chroma.tunings_from_pitches(chosen, to_host(sel.sum(axis=1)), settings.n_chroma)


def _chroma_frames(P, nvalid, settings):
    """(chroma (N, t, C) on the device, empty (N,) bool) of power frames P (N, t, F)."""
    xp = device_xp()
    N, nt, _ = P.shape
    nv = xp.asarray(nvalid)
    if settings.tuning is None:
        tunings, empty = _tunings(P, nv, settings)
    else:
        tunings, empty = np.full(N, settings.tuning), np.zeros(N, dtype=bool)
    fbT, which = _chroma.basis_stack(settings, tunings, P.dtype)
    out = xp.empty((N, nt, settings.n_chroma), dtype=P.dtype)
    if out.size:
        _launch_grid(K_chroma.chroma_raw, settings.n_chroma, nt, N, P, nv, xp.asarray(fbT),
                     xp.asarray(which), P.dtype.type(0), out)
        launch_1d(K_chroma.chroma_norm, N * nt, out, settings.norm_kind,
                  float(settings.norm_p), float(np.finfo(P.dtype).tiny))
    return out, empty


def chroma_from_S(S, nvalid, settings):
    out, empty = _chroma_frames(_frame_major(S), nvalid, settings)
    _chroma.warn_empty_tuning(empty)
    return out.transpose(0, 2, 1)


def chroma_stft(y, lengths, nvalid, frames, settings):
    """(N, n_chroma, t): the device power spectrogram (frame-major), then
    :func:`_chroma_frames`."""
    S = spectrogram(y, lengths, nvalid, frames, 2.0)  # a (N, F, t) view of (N, t, F)
    out, empty = _chroma_frames(_frame_major(S), nvalid, settings)
    _chroma.warn_empty_tuning(empty)
    return out.transpose(0, 2, 1)


def contrast_from_S(S, nvalid, bands, linear):
    """(N, n_bands + 1, t) spectral contrast of magnitudes S (N, F, t) on the device:
    one thread per (frame, band), then the decibels by array operations."""
    xp = device_xp()
    P = _frame_major(S)
    N, nt, _ = P.shape
    nv = xp.asarray(nvalid)
    ext = xp.empty((N, 2, bands.n_bands, nt), dtype=P.dtype)
    if ext.size:
        key = ("contrast", bands.rows.tobytes(), bands.offsets.tobytes(), bands.q.tobytes())
        rows, offsets, q = device_tables(key, lambda: (bands.rows, bands.offsets, bands.q))
        launch_1d(K_chroma.contrast_bands, N * nt * bands.n_bands, P, nv, rows, offsets, q,
                  ext)
    return _chroma.contrast_from_extremes(ext, nv, linear, xp)


def spectral_contrast(y, lengths, nvalid, frames, bands, linear):
    return contrast_from_S(spectrogram(y, lengths, nvalid, frames, 1.0), nvalid, bands,
                           linear)
