"""Text features: scikit-learn-identical counts, TF-IDF and hashing, and a dense LSA embedding.

``CountVectorizer``, ``TfidfTransformer``, ``TfidfVectorizer`` and
``HashingVectorizer`` are drop-ins for scikit-learn's (same parameters, same
matrices) whose built-in analyzers run as Numba kernels; ``TextFeatures`` turns
documents into a dense float32 (N, k) block for fusion.
"""

from .features import TextFeatures
from .vectorizers import CountVectorizer, HashingVectorizer, TfidfTransformer, TfidfVectorizer

__all__ = [
    "CountVectorizer",
    "HashingVectorizer",
    "TextFeatures",
    "TfidfTransformer",
    "TfidfVectorizer",
]
