"""Backend name -> the module holding that backend's text functions.

Every backend module (``_reference``: NumPy/Python, ``_cpu``: Numba kernels,
``_cuda``: CuPy + Numba CUDA, imported on first use so that importing mmfeat never
touches the GPU stack) exposes the same functions, taking documents, arrays,
scalars and a :class:`~mmfeat.text._spec.TextSpec` (never an estimator):

``check_params(spec, dtype)``
    ValueError naming the first parameter the backend does not implement.
``count(docs, spec, batches, vocabulary, keep_entries, cache, dtype, stage=None)``
    Per-document term counts (:class:`~mmfeat.text._reference.Counted`): the
    vocabulary in order of first occurrence (``vocabulary`` None) or over a fixed
    ``vocabulary`` (dict or pending vocabulary); ``cache`` is the caller's dict,
    where a backend keeps the table it builds from a fixed vocabulary.
``sort_terms(names)``, ``assemble_csr(...)``
    Term ids in alphabetical order; the count matrix from counted entries.
``hashing_transform(docs, spec, n_features, alternate_sign, binary, norm, dtype)``
    HashingVectorizer's matrix.
``document_frequencies(X)``, ``tfidf(X, idf, sublinear, norm)``, ``vstack(blocks)``
    TfidfTransformer's fit and transform; stacking the matrices of batches.

The estimators in :mod:`mmfeat.text.vectorizers` validate their parameters, build
the spec and call ``impl(backend).<function>``. ``_cuda`` has, besides, the
device steps of a fit that shares one tokenization between the vocabulary and
the matrix (``device_stage``, ``vocabulary_table``, ``count_matrix``,
``first_occurrence_order``).
"""

from __future__ import annotations

import importlib

_MODULES = {"numpy": "._reference", "cpu": "._cpu", "cuda": "._cuda"}


def impl(backend: str):
    """The module of ``backend`` ("numpy", "cpu" or "cuda").

    Unlike the image modality's, this does not require a GPU for "cuda": importing
    ``_cuda`` touches no GPU library, and its functions check the parameters first
    (a ValueError naming one the GPU path lacks), then the device
    (:func:`mmfeat.backend.device_xp` names what is missing).
    """
    return importlib.import_module(_MODULES[backend], __package__)
