"""GPEN: the architecture matches the official checkpoints' layout, its detector reads the
hyperparameters back from the shapes, and the loader checks files."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.models import registry
from engine.models.archs.gpen.detect import ARCH as GPEN
from engine.models.archs.gpen.network import FullGenerator
from engine.models.archs.gpen.run import SIZES, gpen_key_for_face, restore_faces
from engine.models.loader import load_model
from engine.models.registry import ModelCorrupt, ModelFile, ModelMissing, ModelSpec

# A network small enough to build, save and run in a blink, in the official key layout.
TINY_PARAMS = {"size": 32, "channel_multiplier": 1, "narrow": 1 / 32, "style_dim": 16, "n_mlp": 2}
# The official checkpoints' settings (WEIGHTS.md, from the official code).
OFFICIAL = {256: {"channel_multiplier": 1, "narrow": 0.5}, 512: {"channel_multiplier": 2, "narrow": 1},
            1024: {"channel_multiplier": 2, "narrow": 1}, 2048: {"channel_multiplier": 2, "narrow": 1}}


def meta_generator(**params) -> FullGenerator:
    with torch.device("meta"):  # shapes only, no memory, no init cost
        return FullGenerator(**params)


def shapes(model) -> dict[str, tuple]:
    return {name: tuple(t.shape) for name, t in model.state_dict().items()}


@pytest.mark.parametrize("size, millions", [(256, 18.9), (512, 71.0), (1024, 71.2), (2048, 71.3)])
def test_official_settings_give_the_official_parameter_counts_and_are_read_back(size, millions):
    model = meta_generator(size=size, **OFFICIAL[size])
    assert sum(p.numel() for p in model.parameters()) / 1e6 == pytest.approx(millions, abs=0.05)
    state = model.state_dict()
    assert GPEN.detect(state)
    with torch.device("meta"):  # the detector builds the network from the shapes alone
        descriptor = GPEN.load(state)
    assert (descriptor.architecture, descriptor.task, descriptor.size, descriptor.scale) == ("GPEN", "face-restoration",
                                                                                             size, 1)
    assert shapes(descriptor.model) == shapes(model)


def test_catalog_entries():
    for size in SIZES:
        spec = registry.get_spec(f"gpen-bfr-{size}")
        assert spec.task == "face-restoration" and spec.architecture == "GPEN"
        assert [f.name for f in spec.files] == [f"GPEN-BFR-{size}.pth"]
        assert spec.package is None and not spec.commercial_use
        assert "non-commercial" in spec.licence and "github.com/yangxy/GPEN" in spec.licence_source
        assert spec.source.startswith("https://")
        assert spec.expects == {"size": size}


def test_512_layout_has_the_official_names_and_shapes():
    layout = shapes(meta_generator(size=512, channel_multiplier=2, narrow=1))
    assert len(layout) == 163
    expected = {
        "generator.style.1.weight": (512, 512),
        "generator.style.8.bias": (512,),
        "generator.input.input": (1, 512, 4, 4),
        "generator.conv1.conv.weight": (1, 512, 512, 3, 3),
        "generator.conv1.conv.modulation.weight": (512, 512),
        "generator.conv1.conv.modulation.bias": (512,),
        "generator.conv1.noise.weight": (1,),
        "generator.conv1.activate.bias": (1024,),  # decoder + encoder channels
        "generator.to_rgb1.conv.weight": (1, 3, 1024, 1, 1),
        "generator.to_rgb1.bias": (1, 3, 1, 1),
        "generator.convs.0.conv.weight": (1, 512, 1024, 3, 3),
        "generator.convs.0.conv.blur.kernel": (4, 4),
        "generator.convs.13.conv.weight": (1, 64, 128, 3, 3),
        "generator.to_rgbs.6.upsample.kernel": (4, 4),
        "generator.to_rgbs.6.conv.weight": (1, 3, 128, 1, 1),
        "ecd0.0.0.weight": (64, 3, 1, 1),
        "ecd0.0.1.bias": (64,),
        "ecd1.0.0.kernel": (4, 4),
        "ecd1.0.1.weight": (128, 64, 3, 3),
        "ecd1.0.2.bias": (128,),
        "ecd7.0.1.weight": (512, 512, 3, 3),
        "final_linear.0.weight": (512, 8192),
        "final_linear.0.bias": (512,),
    }
    assert {name: layout.get(name) for name in expected} == expected
    for absent in ("generator.style.0.weight", "ecd8.0.1.weight", "ecd0.0.0.bias", "generator.to_rgb1.upsample.kernel",
                   "generator.convs.1.conv.blur.kernel"):
        assert absent not in layout


def test_256_layout_is_the_narrow_one():
    layout = shapes(meta_generator(size=256, channel_multiplier=1, narrow=0.5))
    assert len(layout) == 144
    assert layout["ecd0.0.0.weight"] == (32, 3, 1, 1)
    assert layout["generator.input.input"] == (1, 256, 4, 4)
    assert layout["generator.convs.11.conv.weight"] == (1, 32, 64, 3, 3)
    assert layout["final_linear.0.weight"] == (512, 4096)


def test_blur_kernels_are_normalised_buffers():
    state = FullGenerator(**TINY_PARAMS).state_dict()
    assert state["ecd1.0.0.kernel"].sum().item() == pytest.approx(1)
    assert state["generator.convs.0.conv.blur.kernel"].sum().item() == pytest.approx(4)
    assert state["generator.to_rgbs.0.upsample.kernel"].sum().item() == pytest.approx(4)


# --- the loader, with a tiny model saved where the registry looks ---------------------------

@pytest.fixture
def tiny_model(tmp_path, monkeypatch):
    """Registers 'gpen-tiny' and writes its random weights; returns (key, path, saved state)."""
    monkeypatch.setenv("ENGINE_MODELS_DIR", str(tmp_path))
    torch.manual_seed(1)
    model = FullGenerator(**TINY_PARAMS)
    state = {name: t + 0.1 * torch.randn_like(t) if not name.endswith("kernel") else t
             for name, t in model.state_dict().items()}  # noise weights start at zero: make them count
    path = tmp_path / "GPEN-tiny.pth"
    torch.save(state, path)

    def register(sha256=None):
        spec = ModelSpec(key="gpen-tiny", task="face-restoration", title="GPEN tiny",
                         files=(ModelFile(path.name, sha256),), licence="test", licence_source="the test",
                         commercial_use=False, source="https://example.org/gpen-tiny", architecture="GPEN",
                         expects={"size": 32})
        monkeypatch.setitem(registry.REGISTRY, spec.key, spec)

    register()
    return register, path, state


def test_loader_strictly_loads_and_caches(tiny_model):
    _, _, state = tiny_model
    descriptor = load_model("gpen-tiny", device="cpu")
    model = descriptor.model
    assert (descriptor.architecture, descriptor.size, descriptor.key, descriptor.licence) == ("GPEN", 32, "gpen-tiny",
                                                                                             "test")
    assert not model.training
    assert next(model.parameters()).dtype == torch.float32
    loaded = model.state_dict()
    assert all(torch.equal(loaded[name], state[name]) for name in state)
    assert load_model("gpen-tiny", device="cpu") is descriptor


def test_loader_checks_a_pinned_hash(tiny_model):
    register, path, _ = tiny_model
    register(sha256=registry.cached_sha256(path))
    load_model("gpen-tiny", device="cpu")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelCorrupt, match="sha256"):
        load_model("gpen-tiny", device="cpu")


def test_a_truncated_file_is_reported(tiny_model):
    _, path, _ = tiny_model
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ModelCorrupt, match="could not be read"):
        load_model("gpen-tiny", device="cpu")


def test_wrong_names_or_shapes_fail_with_the_names(tiny_model):
    _, path, state = tiny_model
    renamed = dict(state)
    renamed["final_linear.0.wrong"] = renamed.pop("final_linear.0.bias")
    torch.save(renamed, path)
    with pytest.raises(ModelCorrupt, match=r"missing: final_linear\.0\.bias.*unexpected: final_linear\.0\.wrong"):
        load_model("gpen-tiny", device="cpu")
    reshaped = dict(state)
    reshaped["ecd0.0.1.bias"] = torch.zeros(99)
    torch.save(reshaped, path)
    with pytest.raises(ModelCorrupt, match=r"wrong shape: ecd0\.0\.1\.bias \(99,\)"):
        load_model("gpen-tiny", device="cpu")


def test_a_missing_file_says_where_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("ENGINE_MODELS_DIR", str(tmp_path))
    with pytest.raises(ModelMissing) as caught:
        load_model("gpen-bfr-512", device="cpu")
    message = str(caught.value)
    assert "GPEN-BFR-512.pth" in message and str(tmp_path) in message
    assert "https://public-vigen-video.oss-cn-shanghai.aliyuncs.com/robin/models/GPEN-BFR-512.pth" in message


def test_restore_faces_keeps_shape_and_is_deterministic(tiny_model):
    model = load_model("gpen-tiny", device="cpu").model
    faces = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    first = restore_faces(model, faces, batch_size=2)
    assert first.shape == faces.shape and first.dtype == np.uint8
    assert np.array_equal(first, restore_faces(model, faces, batch_size=2))
    one_by_one = restore_faces(model, faces, batch_size=1)
    assert np.abs(one_by_one.astype(int) - first.astype(int)).max() <= 1  # batching changes nothing
    assert restore_faces(model, faces[:0]).shape == (0, 32, 32, 3)
    with pytest.raises(ValueError, match="uint8"):
        restore_faces(model, faces[:, :16])


def test_a_checkpoint_of_another_size_than_its_catalog_entry_is_refused(tiny_model, monkeypatch):
    register, _, _ = tiny_model
    register()
    spec = registry.get_spec("gpen-tiny")
    monkeypatch.setitem(registry.REGISTRY, "gpen-tiny", ModelSpec(**{**spec.__dict__, "expects": {"size": 512}}))
    with pytest.raises(ModelCorrupt, match="its GPEN network has size 32, gpen-tiny has 512"):
        load_model("gpen-tiny", device="cpu")


def test_key_for_face_picks_the_smallest_covering_installed_model():
    everything = lambda key: True  # noqa: E731
    assert gpen_key_for_face(80, everything) == "gpen-bfr-256"
    assert gpen_key_for_face(256, everything) == "gpen-bfr-256"
    assert gpen_key_for_face(300, everything) == "gpen-bfr-512"
    assert gpen_key_for_face(5000, everything) == "gpen-bfr-2048"
    no_256 = lambda key: key != "gpen-bfr-256"  # noqa: E731
    assert gpen_key_for_face(80, no_256) == "gpen-bfr-512"
    only_512 = lambda key: key == "gpen-bfr-512"  # noqa: E731
    assert gpen_key_for_face(900, only_512) == "gpen-bfr-512"
    assert gpen_key_for_face(80, lambda key: False) is None
