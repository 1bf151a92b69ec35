"""The run layer: one extraction, two executors, and training.

- :mod:`.spec`: :class:`ExtractSpec`, the settings of an extraction, once,
  and the :class:`~mmfeat.pipeline.FeaturePipeline` they build;
- :mod:`.parts`: :class:`PartStore`, the folder of parts both executors write
  (atomic writes, run state, resume, the final count check);
- :mod:`.local`: :class:`ExtractJob`, the single-process executor;
- :mod:`.dask`: the Dask executor (``extract``) and the Dask helpers
  (``fit_tfidf``, ``transform_tfidf``, ``map_images``, ``map_audio``); public as
  :mod:`mmfeat.distributed`;
- :mod:`.train`: ``train`` -> a report dict (the CLI prints it).

The run layer builds on the modality packages, ``data`` and ``pipeline``; it
never imports the CLI (``tests/test_layering.py`` checks this).
"""

from .local import ExtractJob
from .parts import PartStore, atomic_write
from .spec import ExtractSpec
from .train import train

__all__ = ["ExtractJob", "ExtractSpec", "PartStore", "atomic_write", "train"]
