"""Backend name -> the module with that backend's ``_impl`` functions, and the
shared preparation of an audio batch for them."""

from __future__ import annotations

import importlib

import numpy as np

from ..backend import BackendUnavailableError, resolve_backend, to_host
from ._checks import as_audio, check_lengths, valid_frame_counts

_MODULES = {"numpy": "._reference", "cpu": "._cpu"}


def impl(backend: str):
    if backend not in _MODULES:
        raise BackendUnavailableError(
            f"backend {backend!r} is not implemented for mmfeat.audio yet; use 'cpu' "
            "(default for NumPy input) or 'numpy'"
        )
    return importlib.import_module(_MODULES[backend], __package__)


class Batch:
    """A validated audio batch flattened to (N, T) plus what the kernels need."""

    __slots__ = ("backend", "y", "lengths", "lead", "has_lengths")

    def __init__(self, y, lengths=None, backend=None, argname="y"):
        self.backend = resolve_backend(backend, y)
        impl(self.backend)
        y = to_host(as_audio(y, argname))
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
