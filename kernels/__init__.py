"""mmfeat's compute layer: Numba kernels, one module per modality and target.

``image_math`` holds the per-element arithmetic shared by both targets,
``image`` the CPU (``@njit``) kernels and ``image_cuda`` the CUDA kernels, which
are imported only on first GPU use (importing mmfeat never imports numba.cuda).
"""

from ._threading import apply_thread_count_env as _apply_thread_count_env

# before any kernel module imports numba, which reads its thread count once
_apply_thread_count_env()
