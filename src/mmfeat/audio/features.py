"""``AudioFeatures``: one (N, D) float32 row of pooled audio features per clip."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.validation import check_is_fitted

from .. import config
from ..backend import get_array_module, is_cupy_array, resolve_backend
from . import _dispatch
from ._buckets import length_buckets
from ._checks import as_audio, check_int, check_lengths, check_real
from ._dispatch import Batch
from ._frames import FrameSettings
from .descriptors import WAVEFORM_STAT_NAMES, as_clip_list, pad_clips, waveform_stats
from .spectral import _basis

_SPECTRAL = ("centroid", "bandwidth", "rolloff", "flatness", "zcr", "rms")


def _pool(x, nv):
    """Mean and population std over the first nv[n] frames of x (N, C, t) -> 2 x (N, C),
    float64, with x's array module (NumPy, or CuPy on the cuda backend)."""
    xp = get_array_module(x)
    nv = xp.asarray(nv)
    t = xp.arange(x.shape[-1])
    m = (t[None, :] < nv[:, None]).astype(np.float64)[:, None, :]
    cnt = xp.maximum(nv, 1).astype(np.float64)[:, None]
    x = x.astype(np.float64)
    mean = (x * m).sum(-1) / cnt
    var = (((x - mean[..., None]) * m) ** 2).sum(-1) / cnt
    return mean, xp.sqrt(var)


class AudioFeatures(TransformerMixin, BaseEstimator):
    """Pooled MFCC (+ deltas), spectral descriptors and waveform statistics per clip.

    Parameters
    ----------
    sr : float, default 16000
        Sampling rate of the clips.
    n_mfcc : int, default 20
    n_mels : int, default 40
    n_fft : int, optional
        Default: the smallest power of two >= ``win_length`` (512 at 16 kHz).
    win_length : int, optional
        Default ``round(0.025 * sr)`` (25 ms; 400 at 16 kHz).
    hop_length : int, optional
        Default ``round(0.010 * sr)`` (10 ms; 160 at 16 kHz).
    fmin : float, default 0
    fmax : float, optional
        Default sr / 2.
    deltas : bool, default True
        Add first and second MFCC deltas (librosa's Savitzky-Golay, width 9, per clip
        over its own frames; see :func:`mmfeat.audio.delta` for clips with fewer).
    spectral : bool, default True
        Centroid, bandwidth, rolloff, flatness, zero-crossing rate and RMS per frame.
    waveform : bool, default True
        :func:`waveform_stats` of the whole clip.
    backend : {"numpy", "cpu", "cuda"}, optional
        Default: ``mmfeat.use_backend``'s, else "cuda" for CuPy input and "cpu"
        otherwise. With "cuda" the whole transform
        runs on the device (cuFFT, Numba CUDA kernels for the MFCC, deltas, spectral
        descriptors, zero-crossing rate and RMS, CuPy reductions for the pooling and
        the waveform statistics) and ``transform`` returns a CuPy array (NumPy under
        ``NUMBA_ENABLE_CUDASIM=1``); a list of clips is padded on the host first.

    Attributes
    ----------
    n_features_out_ : int
        D: ``2 n_mfcc (x3 with deltas) + 12 (spectral) + 6 (waveform)``.
    feature_names_ : ndarray of str

    Notes
    -----
    Frame-wise features are pooled as mean and population std over each clip's own
    frames (frame t of a clip of L samples counts when ``t <= L // hop_length``: the
    frames librosa gives for that clip alone, centred, constant padding). The MFCC
    are librosa's with these parameters (Slaney mel, norm "slaney", Hann window).

    Short clips: a clip shorter than ``n_fft`` is zero-padded as librosa pads it
    (one or more centred frames); a zero-length clip is one frame of silence, which
    gives finite values: MFCC c0 = -100 dB * sqrt(n_mels) and the other
    coefficients 0, deltas 0, centroid/bandwidth/rolloff/zcr/rms 0, flatness 1,
    waveform statistics 0, every std 0. No warnings are raised for short clips.

    ``transform`` accepts a list of 1-D clips of different lengths (see
    :func:`pad_batch`), or a 2-D (N, T) array with optional ``lengths``.
    ``set_output(transform="pandas")`` (or ``"polars"``) makes it return a frame
    whose columns are :meth:`get_feature_names_out` (a CuPy result is copied to
    the host for it). Clips are not tabular input: the columns of an (N, T)
    array are time samples, not features, so the estimator's tags say
    ``two_d_array=False`` and it has no ``n_features_in_``.

    Examples
    --------
    >>> import numpy as np
    >>> from mmfeat.audio import AudioFeatures
    >>> rng = np.random.default_rng(0)
    >>> clips = [rng.standard_normal(n).astype(np.float32) * 0.1 for n in (16000, 8000)]
    >>> AudioFeatures(sr=16000).fit_transform(clips).shape
    (2, 138)
    """

    def __init__(self, *, sr=16000, n_mfcc=20, n_mels=40, n_fft=None, win_length=None,
                 hop_length=None, fmin=0.0, fmax=None, deltas=True, spectral=True,
                 waveform=True, backend=None):
        self.sr = sr
        self.n_mfcc = n_mfcc
        self.n_mels = n_mels
        self.n_fft = n_fft
        self.win_length = win_length
        self.hop_length = hop_length
        self.fmin = fmin
        self.fmax = fmax
        self.deltas = deltas
        self.spectral = spectral
        self.waveform = waveform
        self.backend = backend

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # clips of any length; an (N, T) array's T columns are samples, not features
        tags.input_tags.two_d_array = False
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    def _params(self):
        sr = check_real(self.sr, "sr", positive=True)
        win = (max(1, int(round(0.025 * sr))) if self.win_length is None
               else check_int(self.win_length, "win_length"))
        n_fft = (1 << max(0, (win - 1).bit_length()) if self.n_fft is None
                 else check_int(self.n_fft, "n_fft"))
        if win > n_fft:
            raise ValueError(f"win_length={win} must be <= n_fft={n_fft}")
        hop = (max(1, int(round(0.010 * sr))) if self.hop_length is None
               else check_int(self.hop_length, "hop_length"))
        n_mfcc = check_int(self.n_mfcc, "n_mfcc")
        n_mels = check_int(self.n_mels, "n_mels")
        if n_mfcc > n_mels:
            raise ValueError(f"n_mfcc={n_mfcc} must be <= n_mels={n_mels}")
        return sr, n_fft, win, hop, n_mfcc, n_mels

    def fit(self, X=None, y=None, **fit_params):
        """Validate the parameters and name the output columns; learns nothing."""
        sr, n_fft, win, hop, n_mfcc, n_mels = self._params()
        # the mel basis warns here (once) if n_mels is too many for n_fft
        _basis(sr, n_fft, n_mels, self.fmin, self.fmax, False, "slaney", np.float32)
        names = []
        blocks = [("mfcc", n_mfcc)]
        if self.deltas:
            blocks += [("mfcc_d1", n_mfcc), ("mfcc_d2", n_mfcc)]
        for prefix, k in blocks:
            names += [f"{prefix}_{i}_{s}" for s in ("mean", "std") for i in range(k)]
        if self.spectral:
            names += [f"{d}_{s}" for s in ("mean", "std") for d in _SPECTRAL]
        if self.waveform:
            names += [f"wave_{n}" for n in WAVEFORM_STAT_NAMES]
        self.feature_names_ = np.asarray(names, dtype=object)
        self.n_features_out_ = len(names)
        return self

    def get_feature_names_out(self, input_features=None):
        """Names of the D output columns.

        Parameters
        ----------
        input_features : ignored
            Clips have no input feature names; accepted for scikit-learn's
            signature (a Pipeline passes the previous step's names).

        Returns
        -------
        ndarray of str objects, (D,)
        """
        check_is_fitted(self, "n_features_out_")
        return self.feature_names_.copy()

    def fit_transform(self, X, y=None, lengths=None, **fit_params):
        return self.fit(X, y).transform(X, lengths=lengths)

    def transform(self, X, lengths=None):
        """Clips -> (N, D) float32 features (NumPy; CuPy on the cuda backend).

        Parameters
        ----------
        X : list of 1-D arrays, or array (N, T)
        lengths : (N,) ints, optional
            With a 2-D X: the true length of each zero-padded clip.
        """
        check_is_fitted(self, "n_features_out_")
        out = self._transform(X, lengths)
        if is_cupy_array(out) and _get_output_config("transform", self)["dense"] != "default":
            # pandas and polars frames live on the host: one DMA into a pinned buffer
            from .._gpu import to_host as pinned_to_host

            return pinned_to_host(out)
        return out

    def _transform(self, X, lengths):
        params = self._params()
        if isinstance(X, (list, tuple)):
            if lengths is not None:
                raise ValueError("lengths is only for a 2-D array X (a list carries its own)")
            clips = as_clip_list(X)
            lengths = np.array([c.shape[0] for c in clips], dtype=np.int64)

            def bucket(idx):
                return pad_clips([clips[i] for i in idx])
        else:
            X = as_audio(X, "X")
            if X.ndim != 2:
                raise ValueError(f"X must be a list of 1-D clips or an (N, T) array, got "
                                 f"shape {X.shape}")
            X = X.astype(np.float32, copy=False)
            lengths = check_lengths(lengths, X.shape, "lengths")
            if lengths is None:  # every row is a whole clip
                lengths = np.full(X.shape[0], X.shape[1], dtype=np.int64)

            def bucket(idx):
                rows = get_array_module(X).asarray(idx)  # CuPy X takes device indices
                return X[rows, : int(lengths[idx].max(initial=0))], lengths[idx]

        be = resolve_backend(self.backend, X if not isinstance(X, (list, tuple)) else None)
        N = lengths.shape[0]
        buckets = (length_buckets(lengths, config.AUDIO_MAX_PADDING) if N > 1
                   else [np.arange(N)])
        if len(buckets) == 1:  # one padded batch: no gather, no scatter
            whole = (pad_clips(clips) if isinstance(X, (list, tuple)) else (X, lengths))
            return self._transform_padded(*whole, be, params)
        parts = [self._transform_padded(*bucket(idx), be, params) for idx in buckets]
        xp = get_array_module(parts[0])
        out = xp.empty((N, self.n_features_out_), dtype=np.float32)
        for idx, part in zip(buckets, parts, strict=True):
            out[xp.asarray(idx)] = part
        return out

    def _transform_padded(self, X, lengths, be, params):
        """(N, T) zero-padded clips with their lengths -> (N, D) float32 features."""
        sr, n_fft, win, hop, n_mfcc, n_mels = params
        N = X.shape[0]
        if N == 0:
            return _dispatch.xp(be).zeros((0, self.n_features_out_), dtype=np.float32)
        if X.shape[1] == 0:
            X = get_array_module(X).zeros((N, 1), np.float32)
            lengths = np.zeros(N, np.int64)
        # librosa.feature.mfcc's framing: Hann window, centred, zero padding
        frames = FrameSettings(n_fft, hop, win, "hann", True, "constant")
        b = Batch(X, lengths, be, "X", op="AudioFeatures")
        nv = b.nvalid(frames)
        with warnings.catch_warnings():
            # short clips are expected here; empty-filter warnings were given by fit
            warnings.simplefilter("ignore", UserWarning)
            basis = _basis(sr, n_fft, n_mels, self.fmin, self.fmax, False, "slaney",
                           np.float32)
        # MFCC (N, n_mfcc, t) and the six descriptors (N, 6, t) or None, one pass
        mf, stats = b.impl.audio_frames(b.y, b.lengths, nv, frames, sr, basis, n_mfcc,
                                        bool(self.spectral))
        cols = []
        blocks = [mf]
        if self.deltas:  # librosa.feature.delta's width 9, per clip over its own frames
            blocks += [b.impl.delta(mf, 9, 1, nv), b.impl.delta(mf, 9, 2, nv)]
        for blk in blocks:
            cols += list(_pool(blk, nv))
        if self.spectral:
            cols += list(_pool(stats, nv))
        if self.waveform:
            cols.append(waveform_stats(b.y, b.lengths, backend=be).astype(np.float64))
        return get_array_module(mf).concatenate(cols, axis=1).astype(np.float32)
