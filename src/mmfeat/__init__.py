"""mmfeat: classic image, text and audio features at GPU speed, with a fast CPU path.

Importing mmfeat imports neither CuPy nor numba.cuda; the GPU stack loads on
first use of ``backend="cuda"``.
"""

import importlib

from . import config, image
from .backend import BackendUnavailableError, backends, use_backend
from .threads import ThreadingLayerWarning, get_num_threads, set_num_threads, threading_info

__version__ = "0.1.0"

# Loaded on first use: they pull in pandas, scikit-learn's estimators, Dask.
_LAZY_MODULES = ("text", "audio", "data", "models", "fusion", "pipeline", "distributed")
_LAZY_NAMES = {"FeaturePipeline": "pipeline", "FeatureSet": "fusion"}

__all__ = [
    "image", "text", "audio", "data", "models", "fusion", "pipeline", "distributed",
    "FeaturePipeline", "FeatureSet", "config", "backends", "use_backend",
    "BackendUnavailableError", "set_num_threads", "get_num_threads", "threading_info",
    "ThreadingLayerWarning",
]


def __getattr__(name):
    if name in _LAZY_MODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY_NAMES:
        return getattr(importlib.import_module(f".{_LAZY_NAMES[name]}", __name__), name)
    raise AttributeError(f"module 'mmfeat' has no attribute {name!r}")
