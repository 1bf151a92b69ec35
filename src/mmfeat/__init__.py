"""mmfeat: classic image, text and audio features at GPU speed, with a fast CPU path.

Importing mmfeat imports neither CuPy nor numba.cuda; the GPU stack loads on
first use of ``backend="cuda"``.
"""

from . import config, image
from .backend import BackendUnavailableError, backends, use_backend

__version__ = "0.1.0"

__all__ = ["image", "config", "backends", "use_backend", "BackendUnavailableError"]
