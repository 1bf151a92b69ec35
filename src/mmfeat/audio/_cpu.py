"""The ``cpu`` backend: Numba framing/windowing, scipy.fft on all cores, BLAS mel
and DCT projections, processed in chunks of whole clips.

Arguments arrive validated and normalised by the public layer, with the signatures
of the ``_reference`` twins: ``y`` (N, T) C-contiguous float32/float64, ``lengths``
and ``nvalid`` (N,) int64, ``frames`` a :class:`~._frames.FrameSettings`. No Python
loop runs over clips; the only loop is over chunks of clips
(``config.AUDIO_CPU_CHUNK_BYTES``), so frames of the whole batch never exist at once.
"""

from __future__ import annotations

import threading

import numpy as np
import scipy.fft
import scipy.ndimage

from .. import config
from .._workers import parallel_for, run_workers
from ..kernels import audio as K
from ..kernels import audio_chroma as KC
from . import _chroma, _filters, _reference
from ._checks import complex_dtype

_MODES = {"constant": K.PAD_CONSTANT, "reflect": K.PAD_REFLECT, "edge": K.PAD_EDGE}


def _chunks(N: int, bytes_per_clip: int):
    step = max(1, int(config.AUDIO_CPU_CHUNK_BYTES // max(bytes_per_clip, 1)))
    for s in range(0, N, step):
        yield slice(s, min(N, s + step))


def _frames_fft(y, lengths, nvalid, frames, sl, precise=False, threaded=True):
    """rFFT of the windowed frames of the clips in ``sl``: (n, t, F) complex.

    ``precise``: window and FFT in float64 whatever y's type (complex128 out), as
    librosa computes (float32 frames times its float64 window); otherwise in y's
    type. A float32 FFT is exact to ~1e-6 of a frame's peak, which is all a power
    spectrum shows above an 80 dB floor; magnitudes (power 1) show bins ~160 dB
    down, which only a float64 FFT gets right. ``threaded=False``: all on the
    calling thread (a caller running whole chunks on worker threads).
    """
    work = np.dtype(np.float64) if precise else y.dtype
    w = _filters.fft_window(frames.window, frames.win_length, frames.n_fft, work)
    nf = frames.n_frames(y.shape[1])
    fr = np.empty((sl.stop - sl.start, nf, frames.n_fft), dtype=work)
    args = (y[sl], lengths[sl], nvalid[sl], w, frames.hop_length, frames.pad,
            _MODES[frames.pad_mode], fr)
    if threaded:
        parallel_for(K.frame_window, fr.shape[0] * nf, *args, min_step=16)
    else:
        K.frame_window(0, fr.shape[0] * nf, *args)
    return scipy.fft.rfft(fr, axis=-1, workers=config.AUDIO_FFT_WORKERS if threaded else 1,
                          overwrite_x=True)


def precise_fft(power) -> bool:
    """Whether a power spectrum with this exponent needs the float64 FFT (see
    :func:`_frames_fft`): anything but the power spectrum itself."""
    return float(power) != 2.0


def _per_clip_bytes(T, frames, itemsize):
    return frames.n_frames(T) * (frames.n_fft * itemsize * 3 + 64)


def stft(y, lengths, nvalid, frames):
    N, T = y.shape
    nf = frames.n_frames(T)
    chunks = list(_chunks(N, _per_clip_bytes(T, frames, y.itemsize)))
    if len(chunks) == 1 or N * nf * frames.n_fft * y.itemsize <= config.AUDIO_STFT_ONE_SHOT_BYTES:
        # the rFFT output is the result: no copy (frames are as large as the output)
        return _frames_fft(y, lengths, nvalid, frames, slice(0, N)).transpose(0, 2, 1)
    out = np.empty((N, nf, frames.n_bins), dtype=complex_dtype(y.dtype))
    for sl in chunks:
        out[sl] = _frames_fft(y, lengths, nvalid, frames, sl)
    # (N, F, t) view of frame-major memory: the layout librosa's Fortran-order result has
    return out.transpose(0, 2, 1)


def _power_chunks(y, lengths, nvalid, frames, power, precise=None):
    """Yield (slice, |STFT|**power as (n, t, F), y's type) chunk by chunk."""
    N, T = y.shape
    precise = precise_fft(power) if precise is None else precise
    itemsize = 8 if precise else y.itemsize
    for sl in _chunks(N, _per_clip_bytes(T, frames, itemsize)):
        X = _frames_fft(y, lengths, nvalid, frames, sl, precise)
        P = np.empty(X.shape, dtype=y.dtype)
        X2 = X.reshape(-1, X.shape[-1])
        parallel_for(K.power_spectrum, X2.shape[0], X2, float(power),
                     P.reshape(-1, P.shape[-1]))
        yield sl, P


def spectrogram(y, lengths, nvalid, frames, power):
    N, T = y.shape
    parts = _power_chunks(y, lengths, nvalid, frames, power)
    sl, P = next(parts)
    if sl.stop == N:  # one chunk: its power spectrum is the result
        return P.transpose(0, 2, 1)
    out = np.empty((N, frames.n_frames(T), frames.n_bins), dtype=y.dtype)
    out[sl] = P
    for sl, P in parts:
        out[sl] = P
    return out.transpose(0, 2, 1)


def _support(basis):
    """Per filter the [lo, hi) range of bins holding its nonzero weights."""
    nz = basis != 0
    any_ = nz.any(axis=1)
    lo = np.where(any_, nz.argmax(axis=1), 0).astype(np.int64)
    hi = np.where(any_, basis.shape[1] - nz[:, ::-1].argmax(axis=1), 0).astype(np.int64)
    return lo, hi


def _mel_chunks(y, lengths, nvalid, frames, power, basis):
    """Yield (slice, mel power (n, t, M)) chunk by chunk (see :func:`_mel_magnitude_chunks`)."""
    for sl, M, _ in _mel_magnitude_chunks(y, lengths, nvalid, frames, power, basis, False):
        yield sl, M


def _mel_magnitude_chunks(y, lengths, nvalid, frames, power, basis, magnitude):
    """Yield (slice, mel spectrum (n, t, M) of |STFT|**power, |STFT| (n, t, F) when
    ``magnitude`` else None) chunk by chunk, both from the chunk's one FFT.

    With ``config.AUDIO_MEL_SPARSE`` the power spectrum and the projection are one Numba
    pass over each filter's support (the power spectrum is never stored); otherwise
    the power spectrum is stored and projected with one BLAS matmul per chunk, whose
    sums depend on BLAS's thread count.
    """
    if not config.AUDIO_MEL_SPARSE:
        bt = np.ascontiguousarray(basis.T)
        for sl, P in _power_chunks(y, lengths, nvalid, frames, power):
            n, nt, F = P.shape
            M = (P.reshape(n * nt, F) @ bt).reshape(n, nt, -1)
            if magnitude and float(power) == 2.0:
                P = np.sqrt(P, out=P)
            elif magnitude and float(power) != 1.0:
                P = np.power(P, 1.0 / float(power), out=P)
            yield sl, M, (P if magnitude else None)
        return
    lo, hi = _support(basis)
    N, T = y.shape
    precise = precise_fft(power)
    for sl in _chunks(N, _per_clip_bytes(T, frames, 8 if precise else y.itemsize)):
        X = _frames_fft(y, lengths, nvalid, frames, sl, precise)
        yield (sl, *_mel_of_spectra(X, power, basis, lo, hi, magnitude, y.dtype, True))


def _mel_of_spectra(X, power, basis, lo, hi, magnitude, dtype, threaded):
    """(mel spectrum (n, t, M) of |X|**power, |X| (n, t, F) when ``magnitude`` else
    None) of one chunk's spectra X (n, t, F), in ``dtype``; the kernels on the worker
    threads, or (``threaded=False``, on a worker already) called directly."""
    n, nt, F = X.shape
    X2 = X.reshape(n * nt, F)
    M = np.empty((n, nt, basis.shape[0]), dtype=dtype)
    blocks = (n * nt + 15) // 16  # the kernel's jobs: blocks of 16 rows
    args = (X2, float(power), basis, lo, hi, M.reshape(n * nt, -1))
    if threaded:
        parallel_for(K.power_mel, blocks, *args, min_step=4, serial_below=8)
    else:
        K.power_mel(0, blocks, *args)
    S = None
    if magnitude:
        S = np.empty(X.shape, dtype=dtype)
        if threaded:
            parallel_for(K.power_spectrum, n * nt, X2, 1.0, S.reshape(n * nt, F))
        else:
            K.power_spectrum(0, n * nt, X2, 1.0, S.reshape(n * nt, F))
    return M, S


def _mel_on_workers(y, lengths, nvalid, frames, power, basis, consume,
                    magnitude=False) -> bool:
    """Mel power spectra of small chunks of whole clips, each chunk framed,
    transformed, projected and handed to ``consume(sl, M)`` (M (n, t, n_mels)) by one
    worker thread from start to end; False (nothing done) where this does not apply:
    one thread, few clips, or the dense mel projection. With ``magnitude``, the
    chunk's |STFT| (n, t, F) in y's type comes too: ``consume(sl, M, S)``.
    ``consume`` runs on a worker thread: it calls kernels directly, not through
    ``parallel_for``.

    Splitting each stage of a large chunk across the threads (:func:`_mel_chunks`)
    scaled poorly on 2 cores: five hand-offs a chunk, NumPy's decibels on one
    thread, and chunks too large for the caches (MFCC of 512 one-second clips took
    as long on two threads as on one). A chunk here holds about
    ``config.AUDIO_WORKER_CHUNK_BYTES`` of frames, so it stays in L2 from framing to
    projection.
    """
    import numba

    threads = numba.get_num_threads()
    N, T = y.shape
    if threads < 2 or N < 2 * threads or not config.AUDIO_MEL_SPARSE:
        return False
    lo, hi = _support(basis)
    precise = precise_fft(power)
    per_clip = frames.n_frames(T) * frames.n_fft * (8 if precise else y.itemsize)
    step = max(1, min(int(config.AUDIO_WORKER_CHUNK_BYTES) // max(per_clip, 1),
                      -(-N // (4 * threads))))
    starts = range(0, N, step)

    def chunks(j0, j1):  # chunks j0..j1-1, each whole on this thread
        for s0 in starts[j0:j1]:
            sl = slice(s0, min(N, s0 + step))
            X = _frames_fft(y, lengths, nvalid, frames, sl, precise, threaded=False)
            M, S = _mel_of_spectra(X, power, basis, lo, hi, magnitude, y.dtype, False)
            if magnitude:
                consume(sl, M, S)
            else:
                consume(sl, M)

    parallel_for(chunks, len(starts), min_step=1, serial_below=2)
    return True


def melspectrogram(y, lengths, nvalid, frames, power, basis):
    N, T = y.shape
    out = np.empty((N, frames.n_frames(T), basis.shape[0]), dtype=y.dtype)

    def store(sl, M):
        out[sl] = M

    if not _mel_on_workers(y, lengths, nvalid, frames, power, basis, store):
        for sl, M in _mel_chunks(y, lengths, nvalid, frames, power, basis):
            store(sl, M)
    return out.transpose(0, 2, 1)


def _log_dct(M, nvalid, amin, ref_db, top_db, dt, out, threaded=True):
    """Decibels in place, then the per-clip floor and the DCT in one Numba pass.

    ``10 log10(x)`` is computed as ``(10 / ln 10) ln(x)``: NumPy's natural log is
    SIMD for float32 and ~3x faster than its log10 (and than Numba's scalar libm
    call); the two differ by float32 rounding, ~1e-5 dB.
    """
    f = M.dtype.type
    np.maximum(M, f(amin), out=M)
    np.log(M, out=M)
    M *= f(10.0 / np.log(10.0))
    if ref_db:
        M -= f(ref_db)
    use_top = top_db is not None
    args = (M, nvalid, f(top_db if use_top else 0.0), use_top, dt, out)
    if threaded:
        parallel_for(K.floor_dct, M.shape[0], *args, min_step=1, serial_below=2)
    else:
        K.floor_dct(0, M.shape[0], *args)


#: librosa.feature.mfcc's decibels: power_to_db's defaults (amin, ref 1 -> 0 dB, top_db)
_MFCC_DB = (1e-10, 0.0, 80.0)


def mfcc(y, lengths, nvalid, frames, power, basis, n_mfcc, norm, lifter, dct_type=2):
    """Mel -> dB (per-clip top_db) -> DCT (lifter folded into its rows), chunk by
    chunk: (N, n_mfcc, t)."""
    N, T = y.shape
    dct = _filters.dct_rows(n_mfcc, basis.shape[0], norm, lifter, y.dtype, dct_type)
    out = np.empty((N, frames.n_frames(T), n_mfcc), dtype=y.dtype)
    dt = np.ascontiguousarray(dct.T)

    def log_dct(sl, M):
        _log_dct(M, nvalid[sl], *_MFCC_DB, dt, out[sl], threaded=False)

    if not _mel_on_workers(y, lengths, nvalid, frames, power, basis, log_dct):
        for sl, M in _mel_chunks(y, lengths, nvalid, frames, power, basis):
            _log_dct(M, nvalid[sl], *_MFCC_DB, dt, out[sl])
    return out.transpose(0, 2, 1)


#: decibels are elementwise NumPy already (SIMD log10): the cpu backend runs the
#: reference's code
power_to_db = _reference.power_to_db


def descriptors_from_S(S, freq, nvalid, p=2.0, roll_percent=0.85, amin=1e-10,
                       flat_power=2.0):
    """(N, 4, t) centroid, bandwidth, rolloff, flatness of a magnitude spectrogram
    S (N, F, t), one Numba pass per frame; 0 past ``nvalid``."""
    Sf = np.ascontiguousarray(np.swapaxes(S, 1, 2))
    out = np.empty((S.shape[0], 4, S.shape[2]), dtype=np.float64)
    parallel_for(K.spectral_stats, Sf.shape[0] * Sf.shape[1], Sf, np.asarray(freq, np.float64),
                 nvalid, float(p), Sf.dtype.type(roll_percent), float(amin),
                 float(flat_power), out, min_step=16)
    return out.astype(S.dtype)


def zcr_rms(y, lengths, nvalid, frames, threshold, want_zcr=True, want_rms=True):
    """(zcr (N, 1, t), rms (N, 1, t)) in y's type from the waveform, no frames stored;
    an unwanted one is (N, 1, 0)."""
    N, T = y.shape
    nf = frames.n_frames(T)
    z = np.empty((N, nf if want_zcr else 0), dtype=np.float64)
    r = np.empty((N, nf if want_rms else 0), dtype=np.float64)
    parallel_for(K.zcr_rms, N * nf, y, lengths, nvalid, frames.n_fft, frames.hop_length,
                 frames.pad, _MODES[frames.pad_mode], float(threshold), z, r, min_step=32)
    return z.astype(y.dtype)[:, None, :], r.astype(y.dtype)[:, None, :]


def waveform_stats(y, lengths, threshold):
    out = np.empty((y.shape[0], 6), dtype=np.float64)
    parallel_for(K.waveform_stats, y.shape[0], y, lengths, float(threshold), out,
                 min_step=1, serial_below=2)
    return out


def delta(data, width, order, nvalid):
    """(N, C, t) Savitzky-Golay derivative of each row over its first nvalid[n]
    frames, 0 past them: one correlation plus a Numba pass fixing the edges for rows
    with ``nvalid >= width``; the reference's per-clip fit for shorter rows (a
    smaller window each, rare)."""
    out = np.empty_like(data)
    long = nvalid >= width
    if long.any():
        out[long] = _delta_whole(np.ascontiguousarray(data[long]), width, order, nvalid[long])
    if (~long).any():
        out[~long] = _reference.delta(data[~long], width, order, nvalid[~long])
    return out


def _delta_whole(data, width, order, nvalid):
    """:func:`delta` of rows with nvalid >= width."""
    taps, edge = _filters.savgol_tables(width, order)
    out = scipy.ndimage.correlate1d(data, taps.astype(data.dtype), axis=-1,
                                    mode="constant")
    parallel_for(K.delta_fix_edges, data.shape[0] * data.shape[1], data, out, nvalid, edge,
                 width // 2, min_step=16)
    return out


def audio_frames(y, lengths, nvalid, frames, sr, basis, n_mfcc, spectral):
    """One pass for ``AudioFeatures``: MFCC (N, n_mfcc, t) and, when ``spectral``,
    (N, 6, t) float64 centroid, bandwidth, rolloff, flatness, zcr, rms, sharing each
    chunk's FFT between the mel path and the descriptors.

    The mel projection is the sparse Numba pass of :func:`_mel_magnitude_chunks` (with
    ``config.AUDIO_MEL_SPARSE``): besides being faster than a BLAS matmul, its sums
    do not depend on how many threads BLAS runs, so a Dask worker (which sets
    ``OMP_NUM_THREADS=1``) gives the parent's features bit for bit.
    """
    N, T = y.shape
    nf = frames.n_frames(T)
    dct = _filters.dct_rows(n_mfcc, basis.shape[0], "ortho", 0.0, y.dtype)
    mf = np.empty((N, nf, n_mfcc), dtype=y.dtype)
    stats = np.empty((N, 6, nf), dtype=np.float64) if spectral else None
    dt = np.ascontiguousarray(dct.T)
    freq = _filters.fft_frequencies(sr=sr, n_fft=frames.n_fft)
    roll = y.dtype.type(0.85)

    def on_worker(sl, M, S=None):  # one chunk on a worker thread: kernels called directly
        if spectral:
            K.spectral_stats(0, M.shape[0] * M.shape[1], S, freq, nvalid[sl], 2.0, roll,
                             1e-10, 2.0, stats[sl])
        _log_dct(M, nvalid[sl], *_MFCC_DB, dt, mf[sl], threaded=False)

    if not _mel_on_workers(y, lengths, nvalid, frames, 2.0, basis, on_worker,
                           magnitude=spectral):
        for sl, M, S in _mel_magnitude_chunks(y, lengths, nvalid, frames, 2.0, basis,
                                              spectral):
            n, nt = M.shape[:2]
            if spectral:
                parallel_for(K.spectral_stats, n * nt, S, freq, nvalid[sl], 2.0, roll,
                             1e-10, 2.0, stats[sl], min_step=16)
            _log_dct(M, nvalid[sl], *_MFCC_DB, dt, mf[sl])
    if spectral:
        parallel_for(K.zcr_rms, N * nf, y, lengths, nvalid, frames.n_fft, frames.hop_length,
                     frames.pad, _MODES[frames.pad_mode], 1e-10, stats[:, 4], stats[:, 5],
                     min_step=32)
    return np.ascontiguousarray(mf.transpose(0, 2, 1)), stats


# --- chroma and spectral contrast ------------------------------------------------


def _rfft_rows(j0, j1, frames2d, out):
    """rFFT of rows [j0, j1) into ``out`` (NumPy's pocketfft, the same numbers as
    scipy.fft's; it takes ``out=``, so no array is allocated per call)."""
    np.fft.rfft(frames2d[j0:j1], axis=-1, out=out[j0:j1])


def _grouped_power(y, lengths, nvalid, frames, power):
    """Yield (clip indices, |STFT|**power (n, t_g, F) of those clips in y's type):
    clips sorted by length and cut into groups of at most
    ``config.AUDIO_CHROMA_CHUNK_BYTES`` of frames (a single clip may exceed it), each
    group cut to its longest clip, so frames that are padding in every clip of a
    group are never transformed (a batch of 1-3 s clips padded to 3 s is ~40%
    padding).

    The frames, spectrum and power buffers are allocated once per call and reused
    by every group (the yielded array is a view of one: consume it before the next):
    on a VM, first touching fresh memory cost more than the float64 rFFT itself
    (16-19 us a 2048-point frame with new arrays, 6 us with reused ones).
    ``power != 2``: window and FFT in float64, as :func:`_frames_fft`.
    """
    plan = _PowerPlan(y, lengths, frames, power)
    bufs = plan.buffers()
    for idx, nf in plan.groups:
        yield idx, plan.power(y, lengths, nvalid, idx, nf, bufs, threaded=True)


class _PowerPlan:
    """The groups of :func:`_grouped_power` and the per-group computation, so that a
    caller may run whole groups on worker threads (each with its own buffers)."""

    def __init__(self, y, lengths, frames, power):
        N = y.shape[0]
        self.frames, self.power_ = frames, float(power)
        self.work = np.dtype(np.float64) if precise_fft(power) else y.dtype
        self.out_dtype = y.dtype
        n_fft = frames.n_fft
        self.w = _filters.fft_window(frames.window, frames.win_length, n_fft, self.work)
        budget = max(1, int(config.AUDIO_CHROMA_CHUNK_BYTES) // (n_fft * self.work.itemsize))
        order = np.argsort(-lengths, kind="stable")
        groups = []
        start = 0
        while start < N:
            nf = frames.n_frames(int(lengths[order[start]]))  # the group's longest clip
            stop = min(N, start + max(1, budget // max(nf, 1)))
            if nf:
                groups.append((order[start:stop], nf))
            start = stop
        self.groups = groups
        self.rows = max((idx.size * nf for idx, nf in groups), default=0)

    def buffers(self, power=True):
        """(frames, spectrum or None, power or None) flat buffers for the largest
        group (no power buffer where the caller reads the spectrum itself)."""
        n_fft, F, rows = self.frames.n_fft, self.frames.n_bins, self.rows
        # float64 frames: NumPy's rFFT into a reused buffer (the same numbers as
        # scipy's, which has no out=); float32: scipy's, ~2x faster than NumPy's there
        xbuf = (np.empty(rows * F, dtype=np.complex128) if self.work == np.float64
                else None)
        return (np.empty(rows * n_fft, dtype=self.work), xbuf,
                np.empty(rows * F, dtype=self.out_dtype) if power else None)

    def spectrum(self, y, lengths, nvalid, idx, nf, bufs, *, threaded):
        """rFFT (n * nf, F) of the windowed frames of clips ``idx`` (in ``bufs`` when
        the work type is float64); with ``threaded`` each stage runs on the worker
        threads, else on this one."""
        fbuf, xbuf, _ = bufs
        frames, n_fft, F = self.frames, self.frames.n_fft, self.frames.n_bins
        n, r = idx.size, idx.size * nf
        yg = np.ascontiguousarray(y[idx, : int(lengths[idx[0]])])
        fr = fbuf[: r * n_fft].reshape(n, nf, n_fft)
        args = (yg, lengths[idx], nvalid[idx], self.w, frames.hop_length, frames.pad,
                _MODES[frames.pad_mode], fr)
        if threaded:
            parallel_for(K.frame_window, r, *args, min_step=16, serial_below=32)
        else:
            K.frame_window(0, r, *args)
        if xbuf is None:  # float32: scipy's rFFT runs several rows at once in SIMD
            return scipy.fft.rfft(fr.reshape(r, n_fft), axis=-1,
                                  workers=config.AUDIO_FFT_WORKERS if threaded else 1,
                                  overwrite_x=True)
        X = xbuf[: r * F].reshape(r, F)
        if threaded:
            parallel_for(_rfft_rows, r, fr.reshape(r, n_fft), X, min_step=32,
                         serial_below=64)
        else:
            _rfft_rows(0, r, fr.reshape(r, n_fft), X)
        return X

    def power(self, y, lengths, nvalid, idx, nf, bufs, *, threaded):
        """|STFT|**power (n, nf, F) of clips ``idx`` (a view of ``bufs``); with
        ``threaded`` each stage runs on the worker threads, else on this one."""
        X = self.spectrum(y, lengths, nvalid, idx, nf, bufs, threaded=threaded)
        r, F = X.shape
        P = bufs[2][: r * F].reshape(r, F)
        if threaded:
            parallel_for(K.power_spectrum, r, X, self.power_, P, min_step=16,
                         serial_below=32)
        else:
            K.power_spectrum(0, r, X, self.power_, P)
        return P.reshape(idx.size, nf, F)


def _chroma_frames(P, nvalid, settings):
    """(chroma (n, t, C), empty (n,) bool: clips whose tuning had no pitch to go by)
    of power frames P (n, t, F) of whole clips: tunings (unless given) from the
    ``tuning_pitches`` kernel and the host histogram, one filterbank per distinct
    tuning, then the projection and normalisation kernel."""
    n, nt, F = P.shape
    empty = np.zeros(n, dtype=bool)
    if settings.tuning is None:
        lo, hi = settings.pip_range()
        cap = max(nt * ((hi - lo + 1) // 2), 1)
        pitch = np.empty((n, cap), dtype=P.dtype)
        count = np.zeros(n, dtype=np.int64)
        f = P.dtype.type
        parallel_for(KC.tuning_pitches, n, P, nvalid, lo, hi, f(0.1), f(0.5),
                     float(settings.sr), float(settings.pip_n_fft), pitch, count,
                     min_step=1, serial_below=2)
        keep = np.arange(cap)[None, :] < count[:, None]
        tunings, empty = _chroma.tunings_from_pitches(pitch[keep], count, settings.n_chroma)
    else:
        tunings = np.full(n, settings.tuning)
    fbT, which = _chroma.basis_stack(settings, tunings, P.dtype)
    out = np.empty((n, nt, settings.n_chroma), dtype=P.dtype)
    parallel_for(KC.chroma_project, n * nt, P, nvalid, fbT, which, settings.norm_kind,
                 float(settings.norm_p), float(np.finfo(P.dtype).tiny), out, min_step=16)
    return out, empty


def chroma_from_S(S, nvalid, settings):
    """(N, n_chroma, t) chromagram of power spectrograms S (N, F, t)."""
    P = np.ascontiguousarray(np.swapaxes(S, 1, 2))
    out, empty = _chroma_frames(P, nvalid, settings)
    _chroma.warn_empty_tuning(empty)
    return out.transpose(0, 2, 1)


def chroma_stft(y, lengths, nvalid, frames, settings):
    """(N, n_chroma, t): power spectrum and chroma group by group of whole clips (see
    :func:`_grouped_power`; the power spectrum of the whole batch never exists)."""
    N, T = y.shape
    out = np.zeros((N, frames.n_frames(T), settings.n_chroma), dtype=y.dtype)
    empty = np.zeros(N, dtype=bool)
    for idx, P in _grouped_power(y, lengths, nvalid, frames, 2.0):
        out[idx, : P.shape[1]], empty[idx] = _chroma_frames(P, nvalid[idx], settings)
    _chroma.warn_empty_tuning(empty)
    return out.transpose(0, 2, 1)


def _contrast_ext(P, nvalid, bands):
    n, nt, _ = P.shape
    ext = np.empty((n, 2, bands.n_bands, nt), dtype=P.dtype)
    parallel_for(KC.contrast_frames, n * nt, P, nvalid, bands.rows, bands.offsets, bands.q,
                 ext, min_step=8, serial_below=16)
    return ext


def contrast_from_S(S, nvalid, bands, linear):
    """(N, n_bands + 1, t) spectral contrast of magnitude spectrograms S (N, F, t)."""
    ext = _contrast_ext(np.ascontiguousarray(np.swapaxes(S, 1, 2)), nvalid, bands)
    return _chroma.contrast_from_extremes(ext, nvalid, linear)


def spectral_contrast(y, lengths, nvalid, frames, bands, linear):
    """(N, n_bands + 1, t): magnitudes (float64 FFT, as the other magnitude features)
    and band extremes group by group (:func:`_grouped_power`), then the decibels
    per clip.

    Clips of varied lengths make many small groups (a group holds clips of one
    length class, a few MB of frames): then whole groups run on the worker threads,
    each with its own buffers, instead of each stage of each group being split
    across them (four thread hand-offs a group, with the copies between serial).
    """
    import numba

    N, T = y.shape
    ext = np.zeros((N, 2, bands.n_bands, frames.n_frames(T)), dtype=y.dtype)
    plan = _PowerPlan(y, lengths, frames, 1.0)
    threads = numba.get_num_threads()

    def extremes(idx, nf, bufs, threaded):
        # magnitudes and band extremes in one pass over the spectrum (KC.contrast_spectrum)
        X = plan.spectrum(y, lengths, nvalid, idx, nf, bufs, threaded=threaded)
        part = np.empty((idx.size, 2, bands.n_bands, nf), dtype=y.dtype)
        args = (X, nvalid[idx], bands.rows, bands.offsets, bands.q, part)
        if threaded:
            parallel_for(KC.contrast_spectrum, idx.size * nf, *args, min_step=8,
                         serial_below=16)
        else:
            KC.contrast_spectrum(0, idx.size * nf, *args)
        ext[idx, ..., :nf] = part  # distinct clips per group: no two workers share rows

    if threads < 2 or len(plan.groups) < 2 * threads:
        bufs = plan.buffers(power=False)
        for idx, nf in plan.groups:
            extremes(idx, nf, bufs, True)
        return _chroma.contrast_from_extremes(ext, nvalid, linear)
    todo = iter(plan.groups)
    lock = threading.Lock()

    def worker():
        bufs = plan.buffers(power=False)
        while True:
            with lock:
                group = next(todo, None)
            if group is None:
                return
            extremes(*group, bufs, False)

    run_workers(worker, threads)
    return _chroma.contrast_from_extremes(ext, nvalid, linear)
