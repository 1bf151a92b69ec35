"""Data preparation: read a manifest, clean it, decode its files, join modalities.

The steps, each usable alone:

- :func:`read_manifest`: CSV / Parquet / JSON Lines -> DataFrame with resolved paths
- :func:`clean`: duplicate ids, missing values, missing/empty/unreadable files ->
  (kept rows, rejects with reasons); :func:`summarize` / :func:`format_summary` count them
- :func:`decode_images`, :func:`decode_audio`, :func:`read_texts`,
  :func:`normalize_text`: files -> arrays and strings, failures listed;
  :func:`reject_failures` moves those rows into the rejects table
- :func:`integrate`: join per-modality tables on their id
- :func:`load`: one audio file, as ``librosa.load`` reads it
- :func:`demo_dataset`: the generated multimodal dataset of ``mmfeat demo``
"""

from .audio_io import load
from .clean import (
    REJECT_COLUMNS,
    clean,
    empty_rejects,
    format_summary,
    reject_failures,
    summarize,
)
from .convert import decode_audio, decode_images, normalize_text, read_texts
from .demo import DemoDataset, demo_dataset
from .integrate import IntegrationReport, integrate
from .manifest import (
    MODALITIES,
    MODALITY_COLUMNS,
    OUTSIDE_COLUMN,
    PATH_COLUMNS,
    ROW_COLUMN,
    modality_columns,
    read_manifest,
)

__all__ = [
    "DemoDataset",
    "demo_dataset",
    "IntegrationReport",
    "MODALITIES",
    "MODALITY_COLUMNS",
    "OUTSIDE_COLUMN",
    "PATH_COLUMNS",
    "REJECT_COLUMNS",
    "ROW_COLUMN",
    "clean",
    "decode_audio",
    "decode_images",
    "empty_rejects",
    "format_summary",
    "integrate",
    "load",
    "modality_columns",
    "normalize_text",
    "read_manifest",
    "read_texts",
    "reject_failures",
    "summarize",
]
