"""The model registry: files found in packages or ENGINE_MODELS_DIR, hashes checked, clear messages."""
import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from engine.models import registry
from engine.models.registry import ModelCorrupt, ModelFile, ModelMissing, ModelSpec

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def user_model(tmp_path, monkeypatch):
    """A model whose file a user puts in ENGINE_MODELS_DIR, pinned to the hash of known content."""
    content = b"weights" * 1000
    spec = ModelSpec(key="test-user-model", task="face-restoration", title="Test model",
                     files=(ModelFile("test.pth", hashlib.sha256(content).hexdigest(), len(content)),),
                     licence="research only", commercial_use=False, source="https://example.org/test.pth")
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


def test_a_damaged_file_is_refused(user_model):
    spec, path, content = user_model
    path.write_bytes(content[:-1] + b"X")  # same size, different bytes
    assert registry.is_available(spec.key)  # the cheap check looks at sizes only
    with pytest.raises(ModelCorrupt, match="sha256"):
        registry.require(spec.key)
    path.write_bytes(content[:100])
    with pytest.raises(ModelCorrupt, match="bytes"):
        registry.require(spec.key)
    assert not registry.is_available(spec.key)


def test_a_file_without_an_official_hash_is_found_and_its_hash_recorded(tmp_path, monkeypatch):
    spec = ModelSpec(key="test-unpinned", task="colorization", title="Unpinned", files=(ModelFile("u.pth", None),),
                     licence="MIT", commercial_use=True, source="https://example.org")
    monkeypatch.setitem(registry.REGISTRY, spec.key, spec)
    monkeypatch.setenv("ENGINE_MODELS_DIR", str(tmp_path))
    (tmp_path / "u.pth").write_bytes(b"abc")
    result = registry.require(spec.key)
    assert result.intact and not result.verified
    assert result.sha256 == (hashlib.sha256(b"abc").hexdigest(),)


def test_package_shipped_weights_are_verified():
    for key in ("realesrgan-x4plus", "realesr-animevideov3-x2", "retinaface-mobilenet0.25"):
        result = registry.require(key)
        assert result.verified, result.message
        assert "site-packages" in str(result.paths[0])


def test_an_unknown_key_names_the_known_ones():
    with pytest.raises(ModelMissing, match="realesrgan-x4plus"):
        registry.get_spec("no-such-model")


def test_the_models_command_lists_each_model_with_its_state_and_licence(tmp_path):
    result = subprocess.run([sys.executable, "-m", "engine", "models"], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, env={"ENGINE_MODELS_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line and not line.startswith(" ")}
    assert "verified" in lines["realesrgan-x4plus"] and "BSD-3-Clause" in lines["realesrgan-x4plus"]
    assert "verified" in lines["retinaface-mobilenet0.25"]
    assert str(tmp_path) in result.stdout
