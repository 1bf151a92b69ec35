"""Host-side pieces of :func:`~.chroma.chroma_stft` and :func:`~.chroma.spectral_contrast`
shared by every backend: the validated settings, the chroma filterbank, the
piptrack frequency range, the last step of librosa's tuning estimate and the
decibel step of the contrast.

Tables are built in float64 as librosa builds them and memoized on their
(hashable) parameters: a batch whose clips have different tunings needs one
filterbank per distinct tuning (at most ``ceil(1 / 0.01) + 1`` of them).
"""

from __future__ import annotations

import functools
import numbers
import warnings
from dataclasses import dataclass

import numpy as np

from ._checks import check_int, check_real, check_sr

#: ``norm`` codes of the chroma normalisation (``librosa.util.normalize``'s choices)
NORM_NONE, NORM_INF, NORM_NEG_INF, NORM_ZERO, NORM_P = 0, 1, 2, 3, 4

#: librosa.estimate_tuning's defaults: piptrack's range and threshold, the histogram
PIP_FMIN, PIP_FMAX, PIP_THRESHOLD, TUNING_RESOLUTION = 150.0, 4000.0, 0.1, 0.01

#: the warning librosa.pitch_tuning gives when a clip has no pitch to go by
EMPTY_TUNING = "Trying to estimate tuning from empty frequency set."


def check_chroma_norm(norm):
    """(code, p) of ``norm``: None, inf, -inf, 0 or a number > 0 (librosa's
    ``util.normalize``); anything else is a ValueError naming ``norm``."""
    if norm is None:
        return NORM_NONE, 0.0
    if isinstance(norm, (bool, np.bool_)) or not isinstance(norm, numbers.Real) or \
            np.isnan(norm):
        raise ValueError(f"norm must be None, inf, -inf, 0 or a number > 0 (librosa's "
                         f"util.normalize), got {norm!r}")
    if norm == np.inf:
        return NORM_INF, 0.0
    if norm == -np.inf:
        return NORM_NEG_INF, 0.0
    if norm == 0:
        return NORM_ZERO, 0.0
    if norm > 0:
        return NORM_P, float(norm)
    raise ValueError(f"Unsupported norm: norm must be None, inf, -inf, 0 or a number > 0, "
                     f"got {norm!r}")


@dataclass(frozen=True)
class ChromaSettings:
    """Validated parameters of :func:`chroma_stft` past the framing.

    ``n_fft`` sizes the filterbank (librosa's: the given n_fft when it matches the
    spectrum's ``F = 1 + n_fft // 2`` bins, else ``2 (F - 1)``); ``pip_n_fft`` is
    the one librosa's tuning estimate uses (it is never handed n_fft: 2048 when F is
    1025, else ``2 (F - 1)``). ``tuning`` None: estimated per clip.
    """

    sr: float
    n_fft: int
    n_chroma: int
    tuning: float | None
    ctroct: float
    octwidth: float | None
    base_c: bool
    norm_kind: int
    norm_p: float

    @classmethod
    def build(cls, *, sr, n_fft, n_chroma, tuning, ctroct, octwidth, base_c, norm):
        sr = check_sr(sr)
        n_chroma = check_int(n_chroma, "n_chroma")
        if tuning is not None:
            tuning = check_real(tuning, "tuning")
        ctroct = check_real(ctroct, "ctroct")
        if octwidth is not None:
            octwidth = check_real(octwidth, "octwidth", positive=True)
        if not isinstance(base_c, (bool, np.bool_)):
            raise TypeError(f"base_c must be a bool, got {base_c!r}")
        kind, p = check_chroma_norm(norm)
        return cls(sr, int(n_fft), n_chroma, tuning, ctroct, octwidth, bool(base_c), kind, p)

    @property
    def n_bins(self) -> int:
        return self.n_fft // 2 + 1

    @property
    def pip_n_fft(self) -> int:
        F = self.n_bins
        return 2048 if F == 1025 else 2 * (F - 1)

    def pip_range(self) -> tuple[int, int]:
        """[lo, hi): the bins piptrack looks at, ``150 <= f < min(4000, sr / 2)`` Hz."""
        return pip_range(self.sr, self.pip_n_fft, self.n_bins)

    def basis(self, tuning: float, dtype) -> np.ndarray:
        """(n_chroma, F) filterbank for ``tuning`` in ``dtype`` (rounded through
        float32 first: librosa's filter is float32 whatever the input's type)."""
        w = _chroma_basis64(self.sr, self.n_fft, self.n_chroma, float(tuning), self.ctroct,
                            self.octwidth, self.base_c)
        return w.astype(np.float32).astype(dtype)


@functools.lru_cache(maxsize=256)
def _chroma_basis64(sr, n_fft, n_chroma, tuning, ctroct, octwidth, base_c) -> np.ndarray:
    """``librosa.filters.chroma`` in float64 (Ellis' chromagram_E): each FFT bin is a
    Gaussian bump around its pitch class, as wide as the bin is in chroma bins (at
    least one), columns at unit 2-norm, weighted by a Gaussian over octaves centred
    on ``ctroct`` octaves above A0 (A0 = 27.5 Hz at tuning 0)."""
    hz = np.linspace(0, sr, n_fft, endpoint=False)[1:]
    a440 = 440.0 * 2.0 ** (tuning / n_chroma)
    bins = n_chroma * np.log2(hz / (float(a440) / 16))
    # the DC bin has no pitch: it is put 1.5 octaves below bin 1
    bins = np.concatenate(([bins[0] - 1.5 * n_chroma], bins))
    width = np.concatenate((np.maximum(bins[1:] - bins[:-1], 1.0), [1]))
    # every step below is column by column: only the kept bins are computed
    keep = int(1 + n_fft / 2)
    bins, width = bins[:keep], width[:keep]
    dist = np.subtract.outer(bins, np.arange(0, n_chroma, dtype="d")).T
    half = np.round(float(n_chroma) / 2)
    # distance to each pitch class, wrapped into [-half, n_chroma - half)
    dist = np.remainder(dist + half + 10 * n_chroma, n_chroma) - half
    w = np.exp(-0.5 * (2 * dist / width[None, :]) ** 2)
    length = np.sqrt(np.sum(w**2, axis=0, keepdims=True))
    length[length < np.finfo(w.dtype).tiny] = 1.0
    w = w / length
    if octwidth is not None:
        w = w * np.exp(-0.5 * (((bins / n_chroma - ctroct) / octwidth) ** 2))[None, :]
    if base_c:
        w = np.roll(w, -3 * (n_chroma // 12), axis=0)
    w = np.ascontiguousarray(w)
    w.setflags(write=False)
    return w


def pip_range(sr: float, pip_n_fft: int, F: int) -> tuple[int, int]:
    """[lo, hi) of the FFT bins (of ``pip_n_fft``) in ``[150, min(4000, sr/2))`` Hz,
    clipped to the ``F`` bins of the spectrum."""
    hz = np.fft.rfftfreq(pip_n_fft, 1.0 / sr)[:F]
    inside = np.flatnonzero((PIP_FMIN <= hz) & (hz < min(PIP_FMAX, float(sr) / 2)))
    if inside.size == 0:
        return 0, 0
    return int(inside[0]), int(inside[-1]) + 1


def tuning_edges() -> np.ndarray:
    """The histogram edges of librosa.pitch_tuning (resolution 0.01)."""
    return np.linspace(-0.5, 0.5, int(np.ceil(1.0 / TUNING_RESOLUTION)) + 1)


def tunings_from_pitches(pitches, counts, n_chroma: int):
    """(tunings (N,) float64, empty (N,) bool): each clip's tuning from its selected
    piptrack pitches, as librosa.pitch_tuning: the residual of each pitch to the
    nearest chroma bin (computed in the pitches' float type, as librosa), histogrammed
    at 0.01 and the fullest bin's left edge (the first of equals). ``pitches`` is
    every clip's pitches concatenated, ``counts`` (N,) how many are each clip's. A
    clip with none gets 0.0 and is marked ``empty`` (see :func:`warn_empty_tuning`)."""
    counts = np.asarray(counts, dtype=np.int64)
    N = counts.shape[0]
    pitches = np.asarray(pitches)
    clip = np.repeat(np.arange(N), counts)
    keep = pitches > 0
    pitches, clip = pitches[keep], clip[keep]
    # hz_to_octs (A0 = 27.5 Hz) and the residual, in the pitches' type as librosa
    resid = np.mod(n_chroma * np.log2(pitches / (440.0 / 16)), 1.0)
    resid[resid >= 0.5] -= 1.0
    edges = tuning_edges()
    nb = edges.size - 1
    b = np.searchsorted(edges, resid.astype(np.float64), side="right") - 1
    b[resid == edges[-1]] = nb - 1  # the last bin is closed, as np.histogram's
    inside = (b >= 0) & (b < nb)
    hist = np.bincount(clip[inside] * nb + b[inside], minlength=N * nb).reshape(N, nb)
    empty = hist.sum(axis=1) == 0
    return np.where(empty, 0.0, edges[np.argmax(hist, axis=1)]), empty


def warn_empty_tuning(empty, stacklevel: int = 4) -> None:
    """librosa's warning for clips without pitches (once per call, with the count)."""
    k = int(np.count_nonzero(empty))
    if k:
        warnings.warn(f"{EMPTY_TUNING} ({k} of {len(empty)} clips: tuning 0.0 for them)",
                      UserWarning, stacklevel=stacklevel)


def basis_stack(settings: ChromaSettings, tunings, dtype):
    """(tables (U, F, n_chroma) transposed filterbanks of the distinct tunings,
    which (N,) int64 index of each clip's)."""
    uniq, which = np.unique(np.asarray(tunings, dtype=np.float64), return_inverse=True)
    fbT = np.stack([settings.basis(t, dtype).T for t in uniq])
    return np.ascontiguousarray(fbT), which.astype(np.int64).reshape(-1)


@dataclass(frozen=True, eq=False)
class ContrastBands:
    """The sub-bands of :func:`spectral_contrast` as librosa selects them.

    ``rows``: every band's FFT bins concatenated, band k in
    ``rows[offsets[k]:offsets[k + 1]]`` (bands below the top lose their last bin,
    as in librosa); ``q`` (n_bands + 1,) how many of the band's smallest and largest
    values are averaged (``max(1, rint(quantile * band size))``, at most the bins the
    band has).
    """

    rows: np.ndarray
    offsets: np.ndarray
    q: np.ndarray

    @property
    def n_bands(self) -> int:
        return self.q.shape[0]

    @classmethod
    def build(cls, freq, sr, fmin, n_bands, quantile):
        if freq.ndim != 1:
            raise ValueError(f"freq must be 1-D, got shape {freq.shape}")
        if isinstance(n_bands, bool) or not isinstance(n_bands, (numbers.Integral,)) \
                or n_bands < 1:
            raise ValueError(f"n_bands must be a positive integer, got {n_bands!r}")
        quantile = check_real(quantile, "quantile")
        if not 0.0 < quantile < 1.0:
            raise ValueError(f"quantile must lie in the range (0, 1), got {quantile}")
        fmin = check_real(fmin, "fmin")
        if fmin <= 0:
            raise ValueError(f"fmin must be a positive number, got {fmin}")
        n_bands = int(n_bands)
        edges = np.zeros(n_bands + 2)
        edges[1:] = fmin * (2.0 ** np.arange(0, n_bands + 1))
        if np.any(edges[:-1] >= 0.5 * sr):
            raise ValueError(f"Frequency band exceeds Nyquist (sr / 2 = {0.5 * sr}): the "
                             f"top band starts at fmin * 2**(n_bands - 1) = {edges[-2]}; "
                             "reduce either fmin or n_bands")
        rows, offsets, q = [], [0], []
        for k in range(n_bands + 1):
            lo, hi = edges[k], edges[k + 1]
            band = (freq >= lo) & (freq <= hi)
            inside = np.flatnonzero(band)
            if inside.size == 0 and k > 0:
                raise ValueError(
                    f"spectral_contrast band {k} ({lo:g}-{hi:g} Hz) holds no frequency bin "
                    "(librosa raises IndexError): increase n_fft or fmin, or reduce n_bands")
            if k > 0:  # a band starts one bin below its lower edge
                band[inside[0] - 1] = True
            if k == n_bands:  # the top band runs to the last bin
                band[inside[-1] + 1 :] = True
            size = int(np.sum(band))
            idx = np.flatnonzero(band)
            if k < n_bands:
                idx = idx[:-1]
            if idx.size == 0:
                raise ValueError(
                    f"spectral_contrast band {k} ({lo:g}-{hi:g} Hz) has no frequency bin of "
                    "its own (librosa returns NaN): increase n_fft or fmin")
            rows.append(idx)
            offsets.append(offsets[-1] + idx.size)
            q.append(min(max(int(np.rint(quantile * size)), 1), idx.size))
        return cls(np.concatenate(rows).astype(np.int64), np.asarray(offsets, np.int64),
                   np.asarray(q, np.int64))


def contrast_from_extremes(ext, nvalid, linear, xp=np):
    """(N, n_bands + 1, t) contrast from the band means ``ext`` (N, 2, n_bands + 1, t)
    of S's type (valleys, then peaks): ``peak - valley`` when ``linear``, else ``power_to_db(peak) -
    power_to_db(valley)`` (amin 1e-10, ref 1, top_db 80) in float64 with the floor at
    each clip's own peak (librosa floors at the peak of the whole array it is
    given); 0 past each clip's ``nvalid``. Works on NumPy or CuPy arrays (``xp``)."""
    dtype = ext.dtype
    v = ext[:, 0].astype(np.float64)
    p = ext[:, 1].astype(np.float64)
    if linear:
        out = p - v
    else:
        out = None
        for x in (p, v):
            db = 10.0 * xp.log10(xp.maximum(1e-10, x))
            if db.size:
                db = xp.maximum(db, db.max(axis=(1, 2), keepdims=True) - 80.0)
            out = db if out is None else out - db
    t = xp.arange(out.shape[-1])
    keep = t[None, :] < xp.asarray(nvalid)[:, None]
    return xp.where(keep[:, None, :], out, 0.0).astype(dtype)
