"""Backend name -> the module with that backend's implementations, and the shared
preparation of an audio batch for them.

Every backend module (``_reference`` for numpy, ``_cpu`` for Numba, ``_cuda`` for
CuPy + Numba CUDA, imported on first use so that importing mmfeat never touches the
GPU stack) exposes the same functions with the same (validated) arguments: a public
function resolves its backend once (:class:`Batch` or :func:`impl`) and calls the
same-named function on that module, never branching on the backend's name. Frame-wise
functions take ``(y (N, T), lengths (N,), nvalid (N,), frames: FrameSettings, ...)``.
"""

from __future__ import annotations

import importlib

import numpy as np

from ..backend import (
    BackendUnavailableError,
    device_xp,
    require_cuda,
    resolve_backend,
    to_backend,
)
from ._checks import as_audio, check_lengths
from ._frames import FrameSettings

_MODULES = {"numpy": "._reference", "cpu": "._cpu", "cuda": "._cuda"}
#: the public names the cuda backend runs (``mel_filterbank`` is built on the host
#: and copied to the device)
CUDA_OPS = ("stft", "spectrogram", "mel_filterbank", "melspectrogram", "power_to_db",
            "amplitude_to_db", "mfcc", "delta", "spectral_centroid", "spectral_bandwidth",
            "spectral_rolloff", "spectral_flatness", "zero_crossing_rate", "rms",
            "waveform_stats", "AudioFeatures", "chroma_stft", "spectral_contrast")


def impl(backend: str, op: str | None = None):
    """The backend's implementation module; for cuda, ``op`` (a public name) must be in
    :data:`CUDA_OPS`, else :class:`BackendUnavailableError` says what cuda runs."""
    if backend == "cuda":
        if op is not None and op not in CUDA_OPS:
            raise BackendUnavailableError(
                f"mmfeat.audio.{op} has no cuda backend yet (cuda runs {', '.join(CUDA_OPS)});"
                " use backend='cpu'"
            )
        require_cuda()
    return importlib.import_module(_MODULES[backend], __package__)


def xp(backend: str):
    """Array module where ``backend`` keeps its results (CuPy for cuda, NumPy under
    the CUDA simulator and on the host backends)."""
    return device_xp() if backend == "cuda" else np


class Batch:
    """A validated audio batch flattened to (N, T) plus what the kernels need.

    Attributes
    ----------
    backend : str
        The resolved backend name.
    impl : module
        That backend's module, picked once here: public functions call
        ``b.impl.<op>(b.y, b.lengths, ...)``.
    y : (N, T) float32/float64, C-contiguous, on the backend's device
    lengths : (N,) int64 host array (T for every clip when none were given)
    lead : tuple
        The leading shape of the input, ``y.shape[:-1]`` before flattening.
    has_lengths : bool
        Whether the caller gave ``lengths``.
    """

    __slots__ = ("backend", "impl", "y", "lengths", "lead", "has_lengths")

    def __init__(self, y, lengths=None, backend=None, argname="y", op=None):
        self.backend = resolve_backend(backend, y)
        self.impl = impl(self.backend, op)
        y = as_audio(y, argname)
        # cuda: host clips go up through a pinned staging buffer (the module's upload)
        upload = getattr(self.impl, "upload", None)
        y = upload(y) if upload is not None else to_backend(y, self.backend)
        lengths = check_lengths(lengths, y.shape)
        self.has_lengths = lengths is not None
        self.lead = y.shape[:-1]
        self.y = y.reshape(int(np.prod(self.lead, dtype=np.int64)), y.shape[-1])
        N, T = self.y.shape
        self.lengths = (np.full(N, T, dtype=np.int64) if lengths is None
                        else np.ascontiguousarray(lengths.reshape(-1)))

    def nvalid(self, frames: FrameSettings):
        """(N,) int64 valid frames of each clip under ``frames``."""
        return frames.valid_frames(self.lengths)

    def unflatten(self, out):
        """(N, ...) -> (*lead, ...)."""
        return out.reshape(self.lead + out.shape[1:])
