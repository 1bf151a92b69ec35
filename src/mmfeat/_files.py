"""Files written whole or not at all, and file fingerprints."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def atomic_write(path, write) -> None:
    """``write(tmp_path)`` then rename onto ``path`` (same folder, so the rename is atomic)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def file_fingerprint(path) -> str:
    """sha256 of a file's bytes (a manifest changed between a run and its resume)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
