""":class:`ExtractSpec`: the settings of one extraction, written once.

``mmfeat extract`` (both executors), :class:`~mmfeat.run.local.ExtractJob` and
:func:`mmfeat.distributed.extract` take these seven settings; the spec checks
them, records them for ``--resume`` and builds the default pipeline from them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from numbers import Integral

ON_MISSING = ("reject", "impute")


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


@dataclass(frozen=True)
class ExtractSpec:
    """What to extract from a manifest, independent of where it runs.

    Parameters
    ----------
    batch_size : int, default 1024
        Rows decoded and extracted at a time.
    image_size : int or (H, W), default (64, 64)
        Size images are decoded to; an int means square.
    sr : int, default 16000
        Rate audio is decoded to.
    text_components : int, default 64
        LSA dimensions of :class:`~mmfeat.text.TextFeatures`.
    on_missing : {"reject", "impute"}, default "reject"
    allow_outside : bool, default False
        Manifest paths may resolve outside the manifest's folder.
    backend : {"numpy", "cpu", "cuda"}, optional
    """

    batch_size: int = 1024
    image_size: tuple[int, int] = (64, 64)
    sr: int = 16000
    text_components: int = 64
    on_missing: str = "reject"
    allow_outside: bool = False
    backend: str | None = None

    def __post_init__(self):
        _positive_int(self.batch_size, "batch_size")
        _positive_int(self.sr, "sr")
        _positive_int(self.text_components, "text_components")
        size = self.image_size
        size = (size, size) if isinstance(size, Integral) else tuple(size)
        if len(size) != 2:
            raise ValueError(f"image_size must be an int or (H, W), got {self.image_size!r}")
        size = tuple(_positive_int(s, "image_size") for s in size)
        object.__setattr__(self, "image_size", size)
        if self.on_missing not in ON_MISSING:
            raise ValueError(f"on_missing must be one of {ON_MISSING}, got {self.on_missing!r}")
        if self.backend is not None:
            from ..backend import BACKENDS

            if self.backend not in BACKENDS:
                raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")

    def settings(self) -> dict:
        """The settings as JSON values (recorded in a run's state for ``--resume``)."""
        d = asdict(self)
        d["image_size"] = list(self.image_size)
        return d

    def pipeline(self, modalities, *, extractors=None, progress=None):
        """The unfitted :class:`~mmfeat.pipeline.FeaturePipeline` of these settings over
        ``modalities`` (default extractors unless ``extractors`` is given)."""
        from ..pipeline import FeaturePipeline, default_extractors

        if extractors is None:
            extractors = default_extractors(list(modalities), sr=self.sr,
                                            text_components=self.text_components,
                                            backend=self.backend)
        return FeaturePipeline(
            extractors, batch_size=self.batch_size, on_missing=self.on_missing,
            image_size=self.image_size, sr=self.sr, allow_outside=self.allow_outside,
            backend=self.backend, progress=progress,
        )

    @classmethod
    def of_pipeline(cls, pipe, *, text_components: int = 64) -> ExtractSpec:
        """The spec a given (unfitted) pipeline runs with."""
        return cls(batch_size=pipe.batch_size, image_size=pipe.image_size, sr=pipe.sr,
                   text_components=text_components, on_missing=pipe.on_missing,
                   allow_outside=pipe.allow_outside, backend=pipe.backend)


def manifest_modalities(frame) -> list[str]:
    """The modalities a manifest frame has columns for, in column order."""
    from ..data.manifest import modality_columns

    return list(dict.fromkeys(modality_columns(frame).values()))
