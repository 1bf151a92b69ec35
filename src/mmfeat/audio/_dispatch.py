"""Backend name -> the module with that backend's ``_impl`` functions, and the
shared preparation of an audio batch for them."""

from __future__ import annotations

import importlib

import numpy as np

from ..backend import BackendUnavailableError, require_cuda, resolve_backend, to_backend
from ._checks import as_audio, check_lengths, valid_frame_counts

_MODULES = {"numpy": "._reference", "cpu": "._cpu", "cuda": "._cuda"}
#: the public names the cuda backend runs (``mel_filterbank`` is built on the host
#: and copied to the device)
CUDA_OPS = ("stft", "spectrogram", "mel_filterbank", "melspectrogram", "power_to_db",
            "amplitude_to_db", "mfcc", "delta", "spectral_centroid", "spectral_bandwidth",
            "spectral_rolloff", "spectral_flatness", "zero_crossing_rate", "rms",
            "waveform_stats", "AudioFeatures")


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


class Batch:
    """A validated audio batch flattened to (N, T) plus what the kernels need."""

    __slots__ = ("backend", "y", "lengths", "lead", "has_lengths")

    def __init__(self, y, lengths=None, backend=None, argname="y", op=None):
        self.backend = resolve_backend(backend, y)
        impl(self.backend, op)
        y = to_backend(as_audio(y, argname), self.backend)
        lengths = check_lengths(lengths, y.shape)
        self.has_lengths = lengths is not None
        self.lead = y.shape[:-1]
        self.y = y.reshape(int(np.prod(self.lead, dtype=np.int64)), y.shape[-1])
        N, T = self.y.shape
        self.lengths = (np.full(N, T, dtype=np.int64) if lengths is None
                        else np.ascontiguousarray(lengths.reshape(-1)))

    @property
    def impl(self):
        return impl(self.backend)

    def nvalid(self, frame_length: int, hop: int, center: bool):
        return valid_frame_counts(self.lengths, frame_length, hop, center)

    def unflatten(self, out):
        """(N, ...) -> (*lead, ...)."""
        return out.reshape(self.lead + out.shape[1:])
