"""Image features on batches: ``(N, H, W)`` gray or ``(N, H, W, 3)`` RGB.

Drop-ins for scikit-image (same numbers, float32 tolerance) with a batch axis
and ``backend=``.
"""

from .color import color_histogram, color_moments, rgb_to_gray, rgb_to_hsv
from .edges import canny, gradient_histogram, sobel
from .features import ImageFeatures
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
