"""Spectra: STFT, power and mel spectrograms, decibels, MFCC and deltas.

librosa 0.11's names, parameters, defaults and numbers; ``y`` is ``(..., T)``
(every leading index a mono clip) and ``lengths=`` gives each clip's true length
in a zero-padded batch (:func:`pad_batch`). Frames of clip ``n`` are exactly the
frames librosa returns for ``y[n, :lengths[n]]`` alone (padded at its own end);
frames past them (``t >= 1 + lengths[n] // hop_length`` centred, for even
frame lengths) are 0 in every output.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import scipy.signal

from ..backend import get_array_module, resolve_backend, to_backend, to_host
from . import _filters
from ._checks import (
    check_int,
    check_lengths,
    check_mel_params,
    check_real,
    float_dtype,
    librosa_errors,
    warn_short,
)
from ._dispatch import Batch, impl
from ._frames import FrameSettings

_DELTA_MODES = ("interp", "mirror", "constant", "nearest", "wrap")


def _frames_of(b: Batch, frames: FrameSettings):
    """(N,) valid frames per clip, after librosa's warning (centred) or error
    (uncentred) for clips shorter than ``n_fft``."""
    warn_short(frames.n_fft, b.y.shape[1], frames.center,
               b.lengths if b.has_lengths else None)
    return b.nvalid(frames)


@librosa_errors
def stft(y, *, n_fft=2048, hop_length=None, win_length=None, window="hann", center=True,
         dtype=None, pad_mode="constant", out=None, lengths=None, backend=None):
    """Short-time Fourier transform of each clip, as ``librosa.stft``.

    Parameters
    ----------
    y : array, (..., T)
        float audio (float16 -> float32) or int8/16/32/uint8 PCM (scaled to [-1, 1)).
    n_fft : int, default 2048
    hop_length : int, optional
        Default ``win_length // 4``.
    win_length : int, optional
        Default ``n_fft``; the window is zero-padded to ``n_fft``, centred.
    window : str, tuple, callable or array, default "hann"
        Periodic window from ``scipy.signal.get_window(window, win_length, fftbins=True)``.
    center : bool, default True
        Pad ``n_fft // 2`` samples on both sides so frame t is centred at ``t * hop``.
    dtype : complex dtype, optional
        Of ``D`` (default: complex64 for float32 input, complex128 for float64).
    pad_mode : {"constant", "reflect", "edge"}, default "constant"
    out : complex array, optional
        Preallocated (..., 1 + n_fft // 2, >= n_frames), as librosa: ``D`` is
        written to its first ``n_frames`` frames and that prefix view is returned
        (the same array module as the backend's: NumPy, or CuPy on cuda).
    lengths : array of int, shape y.shape[:-1], optional
        True length of each clip in a zero-padded batch.
    backend : {"numpy", "cpu", "cuda"}, optional

    Returns
    -------
    D : (..., 1 + n_fft // 2, n_frames) complex64 (complex128 for float64 input)
        ``n_frames = 1 + T // hop_length`` centred (even n_fft),
        ``1 + (T - n_fft) // hop_length`` otherwise. The memory is frame-major (as
        librosa's Fortran-order result), so ``D`` is a transposed view.

    Notes
    -----
    librosa multiplies float32 frames by a float64 window, so its FFT runs in
    float64 before the result is rounded to complex64; the numpy backend does
    the same. The cpu and cuda backends compute ``stft`` of float32 input in
    float32: faster, and within ~1e-6 of each frame's peak, but bins more than
    ~120 dB below the peak are rounding noise there (pass float64 input for
    them). Magnitude features (``spectrogram`` and ``melspectrogram`` with
    ``power != 2``, the MFCC of those, ``spectral_centroid``/``bandwidth``/
    ``rolloff``/``flatness``), which show such bins above their dB floor, use
    the float64 FFT on every backend.

    Raises
    ------
    ValueError
        ``center=False`` with a clip shorter than ``n_fft``; bad parameters.

    Warns
    -----
    UserWarning
        centred, with ``n_fft`` larger than T (as librosa).

    See Also
    --------
    librosa.stft : the anchor; agrees to 1e-4 of each clip's peak magnitude
        (different FFT libraries round differently).
    """
    frames = FrameSettings(n_fft, hop_length, win_length, window, center, pad_mode)
    if dtype is not None and np.dtype(dtype).kind != "c":
        raise ValueError(f"dtype must be a complex dtype, got {np.dtype(dtype)}")
    b = Batch(y, lengths, backend, op="stft")
    nvalid = _frames_of(b, frames)
    D = b.unflatten(b.impl.stft(b.y, b.lengths, nvalid, frames))
    if dtype is not None:
        D = D.astype(dtype, copy=False)
    if out is None:
        return D
    if (getattr(out, "ndim", 0) != D.ndim or tuple(out.shape[:-1]) != tuple(D.shape[:-1])
            or out.shape[-1] < D.shape[-1]):
        raise ValueError(f"out must have shape {D.shape[:-1]} + (>= {D.shape[-1]},), got "
                         f"{getattr(out, 'shape', None)}")
    if np.dtype(out.dtype).kind != "c":
        raise ValueError(f"out must be complex, got {out.dtype}")
    view = out[..., : D.shape[-1]]
    view[...] = D
    return view


def _check_power(power):
    return check_real(power, "power", positive=True)


@librosa_errors
def spectrogram(y, *, n_fft=2048, hop_length=512, win_length=None, window="hann",
                center=True, pad_mode="constant", power=1.0, lengths=None, backend=None):
    """``|stft(y)| ** power`` per clip (librosa's ``_spectrogram`` with ``y`` given).

    Parameters
    ----------
    y : array, (..., T)
    n_fft, hop_length, win_length, window, center, pad_mode
        As :func:`stft`, but ``hop_length`` defaults to 512 as in librosa's
        feature functions.
    power : float > 0, default 1.0
        1 for magnitude, 2 for power.
    lengths, backend
        As :func:`stft`.

    Returns
    -------
    S : (..., 1 + n_fft // 2, n_frames) float32 (float64 for float64 input)
    """
    frames = FrameSettings(n_fft, hop_length, win_length, window, center, pad_mode)
    power = _check_power(power)
    b = Batch(y, lengths, backend, op="spectrogram")
    nvalid = _frames_of(b, frames)
    return b.unflatten(b.impl.spectrogram(b.y, b.lengths, nvalid, frames, power))


@librosa_errors
def mel_filterbank(*, sr, n_fft, n_mels=128, fmin=0.0, fmax=None, htk=False,
                   norm="slaney", dtype=np.float32, backend=None):
    """Mel filterbank, equal to ``librosa.filters.mel``.

    Parameters
    ----------
    sr : float > 0
    n_fft : int >= 1
    n_mels : int, default 128
    fmin : float, default 0
    fmax : float, optional
        Default ``sr / 2``; above it a UserWarning (librosa is silent).
    htk : bool, default False
        HTK mel scale instead of Slaney's (linear below 1 kHz, log above).
    norm : "slaney", None or number, default "slaney"
        "slaney" divides each triangle by its width in Hz (constant energy per
        channel); a number p scales each filter to unit p-norm (inf, -inf, 0 too).
    dtype : float dtype, default float32
    backend : {"numpy", "cpu", "cuda"}, optional
        Where the result lives: a NumPy array, or for "cuda" a CuPy array (NumPy
        under the CUDA simulator). The matrix is small (n_mels x (1 + n_fft // 2))
        and is always computed on the host, in float64 as librosa, then cast and,
        for "cuda", copied to the device.

    Returns
    -------
    M : (n_mels, 1 + n_fft // 2) array of ``dtype``

    Warns
    -----
    UserWarning
        "Empty filters detected ..." when some filter has no FFT bin (too many mels
        for n_fft), as librosa.
    """
    n_fft = check_int(n_fft, "n_fft")
    sr, n_mels, fmin, fmax, htk, norm = check_mel_params(sr, n_fft, n_mels, fmin, fmax, htk,
                                                         norm)
    be = resolve_backend(backend)
    impl(be, "mel_filterbank")
    M = _filters.mel_basis(sr, n_fft, n_mels, fmin, fmax, htk, norm, np.dtype(dtype))
    return to_backend(M, be)


def _basis(sr, n_fft, n_mels, fmin, fmax, htk, norm, dtype):
    sr, n_mels, fmin, fmax, htk, norm = check_mel_params(sr, n_fft, n_mels, fmin, fmax, htk,
                                                         norm)
    return _filters.mel_basis(sr, n_fft, n_mels, fmin, fmax, htk, norm, dtype, stacklevel=4)


@librosa_errors
def melspectrogram(y=None, *, sr=22050, S=None, n_fft=2048, hop_length=512, win_length=None,
                   window="hann", center=True, pad_mode="constant", power=2.0, n_mels=128,
                   fmin=0.0, fmax=None, htk=False, norm="slaney", lengths=None,
                   backend=None):
    """Mel-scaled spectrogram of each clip, as ``librosa.feature.melspectrogram``.

    Parameters
    ----------
    y : array, (..., T), optional
        Audio; or give ``S``.
    sr : float, default 22050
    S : array, (..., 1 + n_fft // 2, t), optional
        A spectrogram (already raised to ``power``) projected as ``mel @ S``.
    n_fft, hop_length, win_length, window, center, pad_mode, power
        As :func:`spectrogram` (power default 2.0).
    n_mels, fmin, fmax, htk, norm
        As :func:`mel_filterbank`.
    lengths, backend
        As :func:`stft`.

    Returns
    -------
    M : (..., n_mels, n_frames) float32 (float64 for float64 input)

    Notes
    -----
    The CPU path frames and windows with Numba straight from ``y`` (no padded copy),
    runs scipy.fft on all cores, squares in a Numba kernel and projects every frame
    of a chunk of clips onto the mel basis in one BLAS matmul.

    See Also
    --------
    librosa.feature.melspectrogram : agrees to 1e-4 of each clip's maximum.
    """
    if S is not None:
        S = np.asarray(S)
        if S.ndim < 2:
            raise ValueError(f"S must be (..., n_bins, t), got shape {S.shape}")
        if S.dtype.kind not in "fiu":
            raise TypeError(f"S must be a real power spectrogram (e.g. np.abs(D) ** 2), got "
                            f"dtype {S.dtype}")
        n_fft = 2 * (S.shape[-2] - 1)
        dtype = float_dtype(S.dtype)
        basis = _basis(sr, n_fft, n_mels, fmin, fmax, htk, norm, dtype)
        return np.einsum("mf,...ft->...mt", basis, S.astype(dtype, copy=False))
    if y is None:
        raise ValueError("either y or S must be given")
    frames = FrameSettings(n_fft, hop_length, win_length, window, center, pad_mode)
    power = _check_power(power)
    b = Batch(y, lengths, backend, op="melspectrogram")
    basis = _basis(sr, frames.n_fft, n_mels, fmin, fmax, htk, norm, b.y.dtype)
    nvalid = _frames_of(b, frames)
    return b.unflatten(b.impl.melspectrogram(b.y, b.lengths, nvalid, frames, power, basis))


def _db_args(ref, amin, top_db):
    amin = check_real(amin, "amin")
    if amin <= 0:
        raise ValueError(f"amin must be strictly positive, got {amin}")
    if top_db is not None:
        top_db = check_real(top_db, "top_db")
        if top_db < 0:
            raise ValueError(f"top_db must be non-negative, got {top_db}")
    if not callable(ref):
        ref = check_real(abs(ref) if isinstance(ref, numbers.Real) else ref, "ref")
    return ref, amin, top_db


@librosa_errors
def power_to_db(S, *, ref=1.0, amin=1e-10, top_db=80.0, backend=None):
    """Power spectrogram -> decibels: ``10 log10(max(amin, S) / ref)``, floored at
    each clip's peak minus ``top_db``, as ``librosa.power_to_db``.

    Parameters
    ----------
    S : array, (..., F, t)
        Power (complex input warns and uses ``|S|``, as librosa).
    ref : float or callable, default 1.0
        A callable (``np.max``) is applied per clip.
    amin : float > 0, default 1e-10
    top_db : float >= 0 or None, default 80.0
    backend : {"numpy", "cpu", "cuda"}, optional
        Default: "cuda" for a CuPy ``S``, else "cpu" (see :func:`mmfeat.use_backend`).
        "numpy" and "cpu" run the same NumPy code.

    Returns
    -------
    (..., F, t) float32 (float64 for float64 input); a CuPy array for "cuda".

    Notes
    -----
    A clip is one ``(F, t)`` matrix: for ``S.ndim >= 3`` the peak for ``top_db``
    (and a callable ``ref``) is taken per leading index, as a single-clip librosa
    call does. librosa 0.11 on a batch uses the peak of the whole batch instead,
    so quiet clips in a batch are clamped harder there; for 1-D and 2-D ``S`` the
    two agree exactly.

    On "cuda" the decibels are one Numba CUDA kernel pass and the per-clip floor a
    CuPy reduction; the numbers are the cpu path's up to the last bit of float32
    (the GPU's ``log10`` rounds differently from NumPy's: ~1e-5 dB). A callable
    ``ref`` is evaluated per clip on the device; ``np.max`` is one reduction over
    the batch.
    """
    S, xp, mod = _db_input(S, backend, "power_to_db")
    if xp.iscomplexobj(S):
        warnings.warn(
            "power_to_db was called on complex input so phase information will be "
            "discarded. To suppress this warning, call power_to_db(np.abs(D)**2) instead.",
            UserWarning, stacklevel=2,
        )
        S = xp.abs(S)
    ref, amin, top_db = _db_args(ref, amin, top_db)
    return mod.power_to_db(S, _ref_value(ref, S), amin, top_db)


def _db_input(S, backend, op):
    """(S on the backend's device, its array module, the backend's module)."""
    be = resolve_backend(backend, S)
    mod = impl(be, op)
    S = to_backend(S, be)
    return S, get_array_module(S), mod


#: reductions equal to ``x.max()``: a callable ``ref`` among them is taken per clip by
#: one reduction over the batch instead of one call (and, on a GPU, one sync) per clip
_MAX_REFS = (np.max, np.amax, np.ndarray.max)


def _ref_value(ref, S):
    """A scalar, or per clip (``S.ndim >= 3``) a host float64 array shaped to
    broadcast; ``S`` may live on the device."""
    if not callable(ref):
        return ref
    if S.ndim < 3:
        return float(ref(S))
    N = int(np.prod(S.shape[:-2]))
    if N and (ref in _MAX_REFS or ref is getattr(get_array_module(S), "max", None)):
        vals = to_host(S.reshape(N, -1).max(axis=1)).astype(np.float64)
    else:
        vals = np.array([float(ref(c)) for c in S.reshape(N, *S.shape[-2:])],
                        dtype=np.float64)
    return vals.reshape(S.shape[:-2] + (1, 1))


@librosa_errors
def amplitude_to_db(S, *, ref=1.0, amin=1e-5, top_db=80.0, backend=None):
    """Amplitude spectrogram -> decibels: ``power_to_db(|S|**2, ref=ref**2,
    amin=amin**2, top_db=top_db)``, as ``librosa.amplitude_to_db`` (per-clip
    ``top_db`` and callable ``ref`` as in :func:`power_to_db`).

    Parameters
    ----------
    S : array, (..., F, t)
    ref : float or callable, default 1.0
    amin : float > 0, default 1e-5
    top_db : float >= 0 or None, default 80.0
    backend : {"numpy", "cpu", "cuda"}, optional
        As :func:`power_to_db`; on "cuda" the square is taken inside the dB kernel.

    Returns
    -------
    (..., F, t) float32 (float64 for float64 input); a CuPy array for "cuda".
    """
    S, xp, mod = _db_input(S, backend, "amplitude_to_db")
    if xp.iscomplexobj(S):
        warnings.warn(
            "amplitude_to_db was called on complex input so phase information will be "
            "discarded. To suppress this warning, call amplitude_to_db(np.abs(S)) instead.",
            UserWarning, stacklevel=2,
        )
    mag = xp.abs(S)
    if mag.dtype == np.float16:  # computed in float32: 300**2 overflows float16
        mag = mag.astype(np.float32)
    ref, amin, top_db = _db_args(ref, amin, top_db)
    # the square is taken inside the dB conversion (in one kernel pass on cuda)
    return mod.power_to_db(mag, np.square(_ref_value(ref, mag)), amin**2, top_db,
                           squared=True)


@librosa_errors
def mfcc(y=None, *, sr=22050, S=None, n_mfcc=20, dct_type=2, norm="ortho", lifter=0,
         mel_norm="slaney", n_fft=2048, hop_length=512, win_length=None, window="hann",
         center=True, pad_mode="constant", power=2.0, n_mels=128, fmin=0.0, fmax=None,
         htk=False, lengths=None, backend=None):
    """Mel-frequency cepstral coefficients of each clip, as ``librosa.feature.mfcc``.

    ``DCT-II(power_to_db(melspectrogram(y)))[:n_mfcc]`` with a sinusoidal lifter.

    Parameters
    ----------
    y : array, (..., T), optional
    sr : float, default 22050
    S : array, (..., n_mels, t), optional
        A log-power mel spectrogram (then y and the spectrum parameters are unused).
    n_mfcc : int, default 20
    dct_type : {1, 2, 3}, default 2
        The DCT type (scipy's, as librosa): 2 is the usual MFCC; 3 is its inverse
        (``mfcc_to_mel``); 1 needs n_mels > 1.
    norm : "ortho" or None, default "ortho"
    lifter : float >= 0, default 0
        ``M *= 1 + (lifter / 2) sin(pi (k + 1) / lifter)`` when > 0.
    mel_norm : as ``norm`` of :func:`mel_filterbank`, default "slaney"
    n_fft, hop_length, win_length, window, center, pad_mode, power, n_mels, fmin, fmax, htk
        As :func:`melspectrogram`.
    lengths, backend
        As :func:`stft`.

    Returns
    -------
    M : (..., n_mfcc, n_frames) float32 (float64 for float64 input)

    Notes
    -----
    The decibels use ``power_to_db``'s defaults (ref 1, amin 1e-10, top_db 80) with
    the 80 dB floor taken per clip; librosa 0.11 floors a batch at the global peak.
    On the CPU the dB conversion runs in place in a Numba kernel and the DCT (with
    the lifter folded into its rows) is one BLAS matmul per chunk of clips.

    See Also
    --------
    librosa.feature.mfcc : agrees to 0.01 dB per clip.
    """
    n_mfcc = check_int(n_mfcc, "n_mfcc")
    if isinstance(dct_type, bool) or dct_type not in (1, 2, 3):
        raise ValueError(f"dct_type must be 1, 2 or 3, got {dct_type!r}")
    if norm not in ("ortho", None):
        raise ValueError(f"norm must be 'ortho' or None, got {norm!r}")
    lifter = check_real(lifter, "lifter")
    if lifter < 0:
        raise ValueError(f"MFCC lifter={lifter} must be a non-negative number")
    if S is not None:
        S = np.asarray(S)
        dtype = float_dtype(S.dtype)
        if S.ndim < 2:
            raise ValueError(f"S must be (..., n_mels, t), got shape {S.shape}")
        if n_mfcc > S.shape[-2]:
            raise ValueError(f"n_mfcc={n_mfcc} must be <= n_mels={S.shape[-2]} (S.shape[-2])")
        # float64 sums: scipy's DCT (librosa's) is exact to float rounding, a float32
        # matrix product over n_mels terms of ~-1000 dB values is not
        if dct_type == 1 and S.shape[-2] < 2:
            raise ValueError("dct_type=1 needs at least 2 mel bands (S.shape[-2] >= 2)")
        d = _filters.dct_rows(n_mfcc, S.shape[-2], norm, lifter, np.float64, dct_type)
        return np.einsum("km,...mt->...kt", d, S.astype(np.float64)).astype(dtype)
    if y is None:
        raise ValueError("either y or S must be given")
    n_mels = check_int(n_mels, "n_mels")
    if n_mfcc > n_mels:
        raise ValueError(f"n_mfcc={n_mfcc} must be <= n_mels={n_mels}")
    frames = FrameSettings(n_fft, hop_length, win_length, window, center, pad_mode)
    power = _check_power(power)
    b = Batch(y, lengths, backend, op="mfcc")
    basis = _basis(sr, frames.n_fft, n_mels, fmin, fmax, htk, mel_norm, b.y.dtype)
    nvalid = _frames_of(b, frames)
    if dct_type == 1 and n_mels < 2:
        raise ValueError("dct_type=1 needs n_mels >= 2")
    return b.unflatten(b.impl.mfcc(b.y, b.lengths, nvalid, frames, power, basis, n_mfcc,
                                   norm, lifter, dct_type))


@librosa_errors
def delta(data, *, width=9, order=1, axis=-1, mode="interp", lengths=None, backend=None):
    """Savitzky-Golay derivative along ``axis``, as ``librosa.feature.delta``.

    Parameters
    ----------
    data : array
        Features, e.g. MFCC (..., n_mfcc, t).
    width : odd int >= 3, default 9
        Frames in the fit window; in "interp" mode at most the frames available.
    order : int >= 1, default 1
        Derivative order (the polynomial order equals it, as librosa).
    axis : int, default -1
    mode : {"interp", "mirror", "constant", "nearest", "wrap"}, default "interp"
        ``scipy.signal.savgol_filter``'s edge handling.
    lengths : array of int, shape data.shape[:-2], optional
        Valid frames per clip (``axis`` must be -1 and ``mode`` "interp"): each clip
        is differentiated over its first ``lengths[n]`` frames as if it ended there
        and frames past it are 0. A clip with fewer than ``width`` frames uses the
        largest odd window it has (>= 3 and > order); with fewer, its delta is 0.
    backend : {"numpy", "cpu", "cuda"}, optional

    Returns
    -------
    (same shape as data) float32 (float64 for float64 input)

    Raises
    ------
    ValueError
        width even or < 3, order < 1, or (interp, no lengths) width larger than the
        frames along ``axis`` (librosa's error); NaN or inf in ``data``.
    """
    be = resolve_backend(backend, data)
    mod = impl(be, "delta")
    data = to_backend(data, be)
    if data.dtype.kind not in "fiu":
        raise TypeError(f"data must be a real array, got dtype {data.dtype}")
    data = data.astype(float_dtype(data.dtype), copy=False)
    if data.size and not bool(np.isfinite(data).all()):  # scipy's savgol_filter refuses too
        raise ValueError("data must not contain NaN or inf")
    if isinstance(width, (bool, np.bool_)) or not isinstance(width, numbers.Integral) or \
            width < 3 or width % 2 != 1:
        raise ValueError(f"width must be an odd integer >= 3, got {width!r}")
    width = int(width)
    order = check_int(order, "order")
    if mode not in _DELTA_MODES:
        raise ValueError(f"mode must be one of {_DELTA_MODES}, got {mode!r}")
    if data.ndim == 0:
        raise ValueError("data must be at least 1-D")
    last_axis = axis in (-1, data.ndim - 1)
    if lengths is None:
        if mode == "interp" and width > data.shape[axis]:
            raise ValueError(
                f"when mode='interp', width={width} cannot exceed data.shape[axis]="
                f"{data.shape[axis]}")
        if mode != "interp" or not last_axis:
            if be == "cuda":
                raise ValueError("backend='cuda' runs delta with mode='interp' and axis=-1")
            # scipy's own edge modes and axes: the backends implement the per-clip
            # interp fit along the last axis only
            return scipy.signal.savgol_filter(data, width, order, deriv=order, axis=axis,
                                              mode=mode)
        nv = np.full(int(np.prod(data.shape[:-2])), data.shape[-1], dtype=np.int64)
    else:
        if mode != "interp" or not last_axis:
            raise ValueError("lengths= needs mode='interp' and axis=-1")
        if data.ndim < 2:
            raise ValueError("lengths= needs data of shape (..., C, t)")
        nv = check_lengths(lengths, data.shape[:-2] + data.shape[-1:], "lengths").reshape(-1)
    d3 = data.reshape(int(np.prod(data.shape[:-2])), data.shape[-2] if data.ndim >= 2 else 1,
                      data.shape[-1])
    return mod.delta(d3, width, order, nv).reshape(data.shape)
