"""Image features on batches: ``(N, H, W)`` gray or ``(N, H, W, 3)`` RGB.

Drop-ins for scikit-image (same numbers, float32 tolerance) with a batch axis
and ``backend=``.
"""

from .color import color_histogram, color_moments, rgb_to_gray, rgb_to_hsv
from .edges import canny, gradient_histogram, sobel
from .hog import hog
from .texture import graycomatrix, graycoprops, lbp_histogram, local_binary_pattern

__all__ = [
    "rgb_to_gray",
    "rgb_to_hsv",
    "sobel",
    "canny",
    "color_histogram",
    "color_moments",
    "gradient_histogram",
    "ImageFeatures",
    "hog",
    "local_binary_pattern",
    "lbp_histogram",
    "graycomatrix",
    "graycoprops",
]


def __getattr__(name):
    # the transformer subclasses scikit-learn's BaseEstimator, whose import takes
    # ~1.3 s (scipy.stats and more): loaded on first use, so that importing mmfeat
    # for the ops alone does not pay it
    if name == "ImageFeatures":
        from .features import ImageFeatures

        return ImageFeatures
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | {"ImageFeatures"})
