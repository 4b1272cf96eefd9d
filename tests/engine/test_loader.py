"""The one loader: each architecture recognises its own weights and refuses another's, files are
checked before they are read, a model is read once per process, and every failure is one error
type with a message that says what is wrong."""
from __future__ import annotations

import threading

import pytest
import torch

from engine.models import loader, registry
from engine.models.archs import architectures, recognise
from engine.models.archs.eccv16.network import ColorfulColorization
from engine.models.archs.gpen.network import FullGenerator
from engine.models.archs.rrdbnet.network import RRDBNet
from engine.models.archs.srvgg.network import SRVGGNetCompact
from engine.models.errors import ModelCorrupt, ModelLoadError, ModelMissing
from engine.models.loader import load_model
from engine.models.spec import ModelFile, ModelSpec


def tiny_networks() -> dict[str, torch.nn.Module]:
    """One small random network per torch architecture, in the official key layout."""
    torch.manual_seed(0)
    return {
        "RRDBNet": RRDBNet(features=8, blocks=2, grow=4),
        "SRVGGNetCompact": SRVGGNetCompact(features=8, convs=3, upscale=4),
        "GPEN": FullGenerator(32, channel_multiplier=1, narrow=1 / 32, style_dim=16, n_mlp=2),
        "ECCV16": ColorfulColorization((4, 4, 8, 8, 8, 8, 8, 8)),
    }


STATES = {name: network.state_dict() for name, network in tiny_networks().items()}


@pytest.fixture
def models_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("ENGINE_MODELS_DIR", str(tmp_path))
    return tmp_path


def register(monkeypatch, key: str, file_name: str, architecture: str, sha256: str | None = None,
             task: str = "super-resolution", **expects) -> ModelSpec:
    spec = ModelSpec(key=key, task=task, title=f"Test {architecture}", files=(ModelFile(file_name, sha256),),
                     licence="test licence", licence_source="the test", commercial_use=True,
                     source="https://example.org/weights", architecture=architecture, expects=expects)
    monkeypatch.setitem(registry.REGISTRY, key, spec)
    return spec


# --- detection by key names and shapes --------------------------------------------------------

@pytest.mark.parametrize("name", sorted(STATES))
def test_each_architecture_recognises_its_own_state_dict_and_refuses_the_others(name):
    for arch in architectures():
        assert arch.detect(STATES[name]) == (arch.name == name), (arch.name, name)
    assert recognise(STATES[name]).name == name


@pytest.mark.parametrize("name, task, scale, channels, size", [
    ("RRDBNet", "super-resolution", 4, (3, 3), None), ("SRVGGNetCompact", "super-resolution", 4, (3, 3), None),
    ("GPEN", "face-restoration", 1, (3, 3), 32), ("ECCV16", "colorization", 1, (1, 2), 256)])
def test_the_descriptor_is_read_from_the_weights_alone(name, task, scale, channels, size):
    descriptor = recognise(STATES[name]).load(STATES[name])
    assert (descriptor.architecture, descriptor.task, descriptor.scale) == (name, task, scale)
    assert (descriptor.input_channels, descriptor.output_channels, descriptor.size) == (*channels, size)
    loaded = descriptor.model.state_dict()
    assert loaded.keys() == STATES[name].keys()
    assert all(torch.equal(loaded[key], STATES[name][key]) for key in loaded)
    assert not descriptor.model.training


def test_nothing_recognises_a_foreign_state_dict_or_a_half_one():
    assert recognise({"weight": torch.zeros(3, 3)}) is None
    assert recognise({"not": "tensors"}) is None
    half = {key: value for key, value in STATES["RRDBNet"].items() if not key.startswith("conv_up")}
    assert recognise(half) is None


def test_the_onnx_detector_knows_retinaface_by_its_inputs_and_outputs():
    descriptor = load_model("retinaface-mobilenet0.25")
    assert (descriptor.architecture, descriptor.task, descriptor.input_channels) == ("RetinaFace", "face-detection", 3)
    assert [arch.name for arch in architectures() if arch.detect(descriptor.model)] == ["RetinaFace"]


# --- the loader with files ------------------------------------------------------------------

def test_an_official_pth_loads_with_its_training_wrapper(models_dir, monkeypatch):
    torch.save({"params_ema": STATES["RRDBNet"]}, models_dir / "tiny-x4.pth")
    register(monkeypatch, "tiny-x4", "tiny-x4.pth", "RRDBNet", scale=4)
    descriptor = load_model("tiny-x4", task="super-resolution")
    assert (descriptor.architecture, descriptor.scale, descriptor.key, descriptor.licence) == ("RRDBNet", 4, "tiny-x4",
                                                                                             "test licence")
    assert descriptor.record() == {"key": "tiny-x4", "sha256": registry.cached_sha256(models_dir / "tiny-x4.pth"),
                                   "licence": "test licence", "runtime": "torch cpu float32"}
    image = torch.rand(1, 3, 8, 8)
    with torch.inference_mode():
        assert descriptor.model(image).shape == (1, 3, 32, 32)


def test_loading_twice_reads_the_file_once_and_returns_the_same_model(models_dir, monkeypatch):
    torch.save(STATES["SRVGGNetCompact"], models_dir / "tiny-compact.pth")
    register(monkeypatch, "tiny-compact", "tiny-compact.pth", "SRVGGNetCompact")
    reads = []
    real_load = torch.load
    monkeypatch.setattr(torch, "load", lambda *args, **kwargs: reads.append(kwargs) or real_load(*args, **kwargs))
    first = load_model("tiny-compact")
    assert load_model("tiny-compact") is first and load_model("tiny-compact", device="cpu") is first
    assert reads == [{"map_location": "cpu", "weights_only": True}]
    assert load_model("tiny-compact", half=True) is not first  # another precision is another model
    assert next(load_model("tiny-compact", half=True).model.parameters()).dtype == torch.float16
    loader.clear_cache()
    assert load_model("tiny-compact") is not first
    assert len(reads) == 3


def test_threads_asking_at_once_share_one_load(models_dir, monkeypatch):
    torch.save(STATES["ECCV16"], models_dir / "tiny-eccv16.pth")
    register(monkeypatch, "tiny-eccv16", "tiny-eccv16.pth", "ECCV16", task="colorization")
    reads = []
    real_read = loader.read_weights
    monkeypatch.setattr(loader, "read_weights", lambda paths: reads.append(paths) or real_read(paths))
    results = []
    threads = [threading.Thread(target=lambda: results.append(load_model("tiny-eccv16"))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(reads) == 1 and len(results) == 4 and all(result is results[0] for result in results)


def test_a_changed_file_is_loaded_again_in_place_of_the_old_one(models_dir, monkeypatch):
    path = models_dir / "tiny-compact.pth"
    torch.save(STATES["SRVGGNetCompact"], path)
    register(monkeypatch, "tiny-compact", path.name, "SRVGGNetCompact")
    first = load_model("tiny-compact")
    torch.save({key: value + 1 for key, value in STATES["SRVGGNetCompact"].items()}, path)
    second = load_model("tiny-compact")
    assert second is not first and second.sha256 != first.sha256
    assert sum(1 for slot in loader._cache if slot[0] == "tiny-compact") == 1


def test_a_sha256_mismatch_is_the_one_error_type_with_a_clear_message(models_dir, monkeypatch):
    path = models_dir / "tiny-x4.pth"
    torch.save(STATES["RRDBNet"], path)
    register(monkeypatch, "tiny-x4", path.name, "RRDBNet", sha256="0" * 64)
    reads = []
    monkeypatch.setattr(loader, "read_weights", lambda paths: reads.append(paths))
    with pytest.raises(ModelLoadError) as caught:
        load_model("tiny-x4")
    assert isinstance(caught.value, ModelCorrupt)
    actual = registry.cached_sha256(path)
    assert str(caught.value) == (f"Test RRDBNet: {path} has sha256 {actual[:12]}…, expected 000000000000…; "
                                 f"the file is damaged or another version.")
    assert reads == []  # never read before its hash matches


def test_a_missing_file_says_where_to_get_it(models_dir, monkeypatch):
    register(monkeypatch, "tiny-x4", "tiny-x4.pth", "RRDBNet")
    with pytest.raises(ModelMissing, match=rf"tiny-x4\.pth not found; download it from https://example\.org/weights "
                                           rf"and put it in {models_dir}"):
        load_model("tiny-x4")


def test_another_networks_file_is_refused_naming_both(models_dir, monkeypatch):
    path = models_dir / "GPEN-BFR-512.pth"
    torch.save(STATES["ECCV16"], path)
    with pytest.raises(ModelCorrupt, match=rf"GPEN-BFR-512: {path}: it holds a ECCV16 network, not the GPEN of "
                                           rf"gpen-bfr-512; it is another model or a damaged file\."):
        load_model("gpen-bfr-512")
    torch.save({"weight": torch.zeros(2)}, path)
    with pytest.raises(ModelCorrupt, match=r"it holds no network the engine knows \(expected GPEN\)"):
        load_model("gpen-bfr-512")


RAN = []


def mark_ran():
    RAN.append(True)


class Payload:
    """Unpickled without weights_only, this would call mark_ran."""

    def __reduce__(self):
        return mark_ran, ()


def test_a_pickle_that_is_not_plain_weights_is_never_run(models_dir, monkeypatch):
    path = models_dir / "tiny-x4.pth"
    torch.save({"conv_first.weight": torch.zeros(1), "payload": Payload()}, path)
    register(monkeypatch, "tiny-x4", path.name, "RRDBNet")
    with pytest.raises(ModelCorrupt, match="could not be read as a PyTorch checkpoint"):
        load_model("tiny-x4")
    assert RAN == []


def test_a_model_for_another_task_is_refused():
    with pytest.raises(ModelLoadError, match="retinaface-mobilenet0.25 is a face-detection model, not super-resolution"):
        load_model("retinaface-mobilenet0.25", task="super-resolution")


# --- the runtime policy ---------------------------------------------------------------------

def test_the_runtime_policy_picks_one_backend_and_precision_per_network_and_device():
    from engine.models.runtime import choose_runtime

    class OnnxSession:
        def run(self): ...
        def get_inputs(self): ...

    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert choose_runtime(OnnxSession(), "RetinaFace", cuda, None).label() == "onnxruntime cpu float32"
    assert choose_runtime(STATES["RRDBNet"], "RRDBNet", cpu, None).label() == "torch cpu float32"
    assert choose_runtime(STATES["RRDBNet"], "RRDBNet", cuda, None).label() == "torch cuda float16"
    assert choose_runtime({}, "GPEN", cuda, None).label() == "torch cuda float16"
    assert choose_runtime({}, "ECCV16", cuda, None).label() == "torch cuda float32"  # its softmax stays float32
    assert choose_runtime({}, "GPEN", cuda, False).label() == "torch cuda float32"  # a caller may force it


def test_a_loaded_model_runs_as_its_record_says(models_dir, monkeypatch):
    torch.save(STATES["RRDBNet"], models_dir / "tiny-x4.pth")
    register(monkeypatch, "tiny-x4", "tiny-x4.pth", "RRDBNet", scale=4)
    default, forced = load_model("tiny-x4"), load_model("tiny-x4", half=True)
    assert next(default.model.parameters()).dtype == torch.float32 and default.record()["runtime"] == "torch cpu float32"
    assert next(forced.model.parameters()).dtype == torch.float16 and forced.record()["runtime"] == "torch cpu float16"
