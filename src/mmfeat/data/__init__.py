"""Data preparation: manifests, cleaning, decoding, integration.

``load`` reads one audio file as ``librosa.load`` does (soundfile + soxr).
"""

from .audio_io import load

__all__ = ["load"]
