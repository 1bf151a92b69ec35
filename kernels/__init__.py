"""mmfeat's compute layer: Numba kernels, one module per modality and target.

``image_math`` holds the per-element arithmetic shared by both targets,
``image`` the CPU (``@njit``) kernels and ``image_cuda`` the CUDA kernels, which
are imported only on first GPU use (importing mmfeat never imports numba.cuda).
``_threading`` settles Numba's threading layer and ``_prebuilt`` loads the kernels
compiled into the wheel; their public faces are re-exported here.
"""

# _prebuilt (the kernels compiled into the wheel) imports no numba: safe before the
# thread count below
from ._prebuilt import describe as prebuilt_describe
from ._prebuilt import is_shipped as prebuilt_is_shipped
from ._prebuilt import read_signatures as prebuilt_read_signatures
from ._prebuilt import signature_lines as prebuilt_signature_lines
from ._prebuilt import state as prebuilt_state
from ._prebuilt import write_signatures as prebuilt_write_signatures
from ._threading import ThreadingLayerWarning, ensure_safe_layer
from ._threading import apply_thread_count_env as _apply_thread_count_env
from ._threading import state as threading_layer_state

# before any kernel module imports numba, which reads its thread count once
_apply_thread_count_env()

# the threading layer, for mmfeat.threads (the kernels use ._threading directly)
__all__ = ["ThreadingLayerWarning", "ensure_safe_layer", "threading_layer_state",
           "prebuilt_describe", "prebuilt_is_shipped", "prebuilt_read_signatures",
           "prebuilt_signature_lines", "prebuilt_state", "prebuilt_write_signatures"]
