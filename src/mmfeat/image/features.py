"""``ImageFeatures``: one (N, D) float32 feature matrix from a batch of images."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.validation import check_is_fitted

from ..backend import is_cupy_array, resolve_backend, to_backend
from . import _dispatch
from ._checks import as_images, check_bins
from .color import color_histogram, color_moments
from .edges import canny, gradient_histogram

_MOMENT_NAMES = [f"{s}_{c}" for s in ("mean", "std", "skew") for c in "rgb"]


class ImageFeatures(TransformerMixin, BaseEstimator):
    """HSV histogram, colour moments, edge density and gradient histogram per image.

    Parameters
    ----------
    hsv_bins : int or (int, int, int), default (8, 4, 4)
        Bins of the joint HSV histogram (:func:`color_histogram`); None to skip.
    moments : bool, default True
        Mean, std and skewness of R, G, B (:func:`color_moments`).
    edge_density : bool, default True
        Fraction of Canny edge pixels (:func:`canny` on the whole image).
    canny_sigma : float, default 1.0
    orientations : int or None, default 9
        Bins of :func:`gradient_histogram`; None to skip.
    hog : dict or bool or None, default None
        Also :func:`mmfeat.image.hog` of the whole image (RGB, ``channel_axis=-1``),
        appended after the cells: True for scikit-image's defaults, or a dict of
        :func:`hog`'s parameters (``orientations``, ``pixels_per_cell``,
        ``cells_per_block``, ``block_norm``, ``transform_sqrt``). Its length
        depends on the image size, so ``fit`` needs images, and ``transform``
        then takes images of that size only. To use HOG in place of the
        gradient histogram, set ``orientations=None``.
    grid : (int, int), default (1, 1)
        Rows x columns of cells; every feature above is computed per cell
        (cell r, c covers rows ``r*H//gr : (r+1)*H//gr`` and likewise columns).
        Gradients of a cell use reflect borders at the cell's edge; the edge map
        is computed on the whole image and then pooled per cell.
    backend : {"numpy", "cpu", "cuda"}, optional

    Attributes
    ----------
    n_features_out_ : int
        D, the number of columns ``transform`` returns.

    Notes
    -----
    ``transform(images)`` takes (N, H, W, 3) RGB (a gray (N, H, W) batch is
    treated as R = G = B) and returns (N, D) float32 where the backend computes
    (NumPy for numpy/cpu, CuPy for cuda). The transformer learns nothing from
    data; ``fit`` only validates the parameters.

    ``set_output(transform="pandas")`` (or ``"polars"``) makes ``transform``
    return a frame whose columns are :meth:`get_feature_names_out` (a CuPy
    result is copied to the host for it). Images are not tabular input: the
    estimator's tags say so (``two_d_array=False``, ``three_d_array=True``), and
    it has no ``n_features_in_``.

    Examples
    --------
    >>> import numpy as np
    >>> from mmfeat.image import ImageFeatures
    >>> x = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    >>> ImageFeatures().fit_transform(x).shape
    (4, 147)
    """

    def __init__(
        self,
        *,
        hsv_bins=(8, 4, 4),
        moments: bool = True,
        edge_density: bool = True,
        canny_sigma: float = 1.0,
        orientations: int | None = 9,
        hog=None,
        grid=(1, 1),
        backend: str | None = None,
    ):
        self.hsv_bins = hsv_bins
        self.moments = moments
        self.edge_density = edge_density
        self.canny_sigma = canny_sigma
        self.orientations = orientations
        self.hog = hog
        self.grid = grid
        self.backend = backend

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # (N, H, W[, 3]) image batches, not (n_samples, n_features) tables
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    # -- parameters -------------------------------------------------------------
    def _grid(self) -> tuple[int, int]:
        g = self.grid
        if (
            not isinstance(g, (tuple, list))
            or len(g) != 2
            or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in g)
            or min(g) < 1
        ):
            raise ValueError(f"grid must be two ints >= 1, got {g!r}")
        return int(g[0]), int(g[1])

    def _cell_names(self) -> list[str]:
        names: list[str] = []
        if self.hsv_bins is not None:
            names += [f"hsv_hist_{i}" for i in range(int(np.prod(check_bins(self.hsv_bins))))]
        if self.moments:
            names += _MOMENT_NAMES
        if self.edge_density:
            names.append("edge_density")
        if self.orientations is not None:
            names += [f"grad_hist_{i}" for i in range(int(self.orientations))]
        return names

    def _hog_params(self) -> dict | None:
        if self.hog is None or self.hog is False:
            return None
        if self.hog is True:
            return {}
        if not isinstance(self.hog, dict):
            raise TypeError(f"hog must be None, a bool or a dict of hog()'s parameters, "
                            f"got {type(self.hog).__name__}")
        allowed = {"orientations", "pixels_per_cell", "cells_per_block", "block_norm",
                   "transform_sqrt"}
        unknown = sorted(set(self.hog) - allowed)
        if unknown:
            raise ValueError(f"hog: unknown parameters {unknown}; allowed: {sorted(allowed)}")
        return dict(self.hog)

    def _hog_of(self, X, be):
        """(N, n_hog) HOG of RGB batch X; scikit-image's parameters from ``hog``."""
        from .hog import hog

        return hog(X, **self._hog_params(), channel_axis=-1, backend=be)

    def fit(self, X=None, y=None):
        """Validate the parameters; learns nothing from ``X`` (with ``hog``, its image
        size, which fixes HOG's length). Returns self."""
        gr, gc = self._grid()
        if self.orientations is not None and (
            not isinstance(self.orientations, (int, np.integer)) or self.orientations < 1
        ):
            raise ValueError(f"orientations must be an int >= 1 or None, got {self.orientations!r}")
        names = self._cell_names()
        hog_params = self._hog_params()
        if not names and hog_params is None:
            raise ValueError("ImageFeatures has every feature switched off")
        if (gr, gc) != (1, 1):
            names = [f"cell{r}_{c}_{n}" for r in range(gr) for c in range(gc) for n in names]
        self.image_size_ = None
        if hog_params is not None:
            if X is None:
                raise ValueError("ImageFeatures(hog=...) is fitted on images: HOG's length "
                                 "depends on their size")
            H, W = as_images(X, "X").shape[1:3]
            blank = np.zeros((1, H, W, 3), np.uint8)
            n_hog = self._hog_of(blank, "numpy").shape[1]
            names = names + [f"hog_{i}" for i in range(n_hog)]
            self.image_size_ = (int(H), int(W))
        self.feature_names_ = np.asarray(names, dtype=object)
        self.n_features_out_ = len(names)
        return self

    def get_feature_names_out(self, input_features=None):
        """Names of the D output columns (``cell{r}_{c}_`` prefixed on a grid).

        Parameters
        ----------
        input_features : ignored
            Images have no input feature names; accepted for scikit-learn's
            signature (a Pipeline passes the previous step's names).

        Returns
        -------
        ndarray of str objects, (D,)
        """
        check_is_fitted(self, "n_features_out_")
        return self.feature_names_.copy()

    # -- transform -----------------------------------------------------------------
    def transform(self, X):
        """(N, H, W, 3) images -> (N, D) float32 features on the backend's device."""
        check_is_fitted(self, "n_features_out_")
        out = self._transform(X)
        if is_cupy_array(out) and _get_output_config("transform", self)["dense"] != "default":
            return out.get()  # pandas and polars frames live on the host
        return out

    def _transform(self, X):
        be = resolve_backend(self.backend, X)
        X = to_backend(as_images(X, "X"), be)
        xp = _dispatch.xp(be)
        if X.ndim == 3:
            X = xp.ascontiguousarray(xp.repeat(X[..., None], 3, axis=-1))
        gr, gc = self._grid()
        N, H, W = X.shape[:3]
        if gr > H or gc > W:
            raise ValueError(f"grid {self.grid} has more cells than the images' {H}x{W} pixels")
        if self.image_size_ is not None and (H, W) != self.image_size_:
            raise ValueError(f"ImageFeatures(hog=...) was fitted on {self.image_size_[0]}x"
                             f"{self.image_size_[1]} images, got {H}x{W}")
        if N == 0:
            return xp.zeros((0, self.n_features_out_), dtype=np.float32)
        edges = canny(X, sigma=self.canny_sigma, backend=be) if self.edge_density else None
        blocks = []
        for r in range(gr):
            ys = slice(r * H // gr, (r + 1) * H // gr)
            for c in range(gc):
                xs = slice(c * W // gc, (c + 1) * W // gc)
                cell = X if (gr, gc) == (1, 1) else xp.ascontiguousarray(X[:, ys, xs])
                if self.hsv_bins is not None:
                    blocks.append(color_histogram(cell, self.hsv_bins, "hsv", backend=be))
                if self.moments:
                    blocks.append(color_moments(cell, backend=be))
                if edges is not None:
                    blocks.append(edges[:, ys, xs].mean(axis=(1, 2))[:, None])
                if self.orientations is not None:
                    blocks.append(gradient_histogram(cell, int(self.orientations), backend=be))
        if self.image_size_ is not None:
            blocks.append(self._hog_of(X, be))
        return xp.concatenate([b.astype(np.float32, copy=False) for b in blocks], axis=1)
