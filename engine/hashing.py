"""The sha256 of a file, for everything the engine checks by its bytes: sources, chunks, weights."""
from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: str | Path) -> str:
    """The hex sha256 of the file's bytes, read in blocks (memory stays small for any size)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
