"""Super-resolution: our ncnn reader and PyTorch Real-ESRGAN against ncnn's own run of the same
files, tiling, the superres stage and its fallback, and clear errors for damaged files."""
import shutil

import numpy as np
import pytest
import torch

from engine.errors import EngineError, RecipeError
from engine.models import registry
from engine.models.archs.rrdbnet.detect import ARCH as RRDBNET
from engine.models.archs.srvgg.detect import ARCH as SRVGG
from engine.models.errors import ModelCorrupt, ModelLoadError
from engine.models.loader import load_model
from engine.models.ncnn import NcnnFormatError, parse_param, read_model
from engine.models.tiling import upscale_image
from engine.recipes import load_recipe
from engine.stages import STAGES
from engine.stages.upscale import upscale_frame
from tests.engine.helpers import astronaut_photo as photo

COMPACT_X2 = "realesr-animevideov3-x2"
needs_weights = pytest.mark.skipif(
    not (registry.is_available(COMPACT_X2) and registry.is_available("realesrgan-x4plus")),
    reason="the Real-ESRGAN weights package is not installed")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def ncnn_output(key: str, chw: np.ndarray) -> np.ndarray:
    """ncnn's own fp32 CPU run of the registry's .param/.bin on a 3xHxW float image."""
    ncnn = pytest.importorskip("ncnn")
    param_path, bin_path = registry.require(key).paths
    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.opt.num_threads = 1
    for option in ("use_fp16_storage", "use_fp16_packed", "use_fp16_arithmetic", "use_bf16_storage"):
        setattr(net.opt, option, False)
    assert net.load_param(str(param_path)) == 0 and net.load_model(str(bin_path)) == 0
    graph = parse_param(param_path.read_text())
    extractor = net.create_extractor()
    chw = np.ascontiguousarray(chw)  # ncnn.Mat borrows this memory: keep it alive through the run
    extractor.input(graph.input_blob, ncnn.Mat(chw))
    status, out = extractor.extract(graph.output_blob)
    assert status == 0
    return np.array(out)


@needs_weights
@pytest.mark.parametrize("key, size", [(COMPACT_X2, (40, 48)), ("realesr-animevideov3-x3", (40, 48)),
                                       ("realesr-animevideov3-x4", (40, 48)), ("realesrgan-x4plus", (24, 32))])
def test_our_network_matches_ncnn_on_the_same_files(key, size):
    image = photo(size[1], size[0]).transpose(2, 0, 1).astype(np.float32) / 255.0
    expected = ncnn_output(key, image)
    model = load_model(key, task="super-resolution")
    with torch.inference_mode():
        ours = model.model(torch.from_numpy(image)[None])[0].numpy()
    assert ours.shape == expected.shape == (3, size[0] * model.scale, size[1] * model.scale)
    assert np.abs(ours - expected).max() < 1e-3


@needs_weights
def test_models_are_cached_per_key_and_device():
    assert load_model(COMPACT_X2) is load_model(COMPACT_X2, device=torch.device("cpu"))
    assert load_model(COMPACT_X2) is not load_model("realesr-animevideov3-x4")


@needs_weights
def test_tiled_output_matches_untiled():
    model = load_model(COMPACT_X2)
    image = photo(120, 100)
    whole = upscale_image(model, image, tile=256)
    tiled = upscale_image(model, image, tile=48)  # 3 x 3 tiles
    assert whole.shape == tiled.shape == (200, 240, 3) and tiled.dtype == np.uint8
    assert np.abs(whole.astype(int) - tiled.astype(int)).max() <= 1


@needs_weights
def test_upscale_image_rejects_what_it_cannot_take():
    model = load_model(COMPACT_X2)
    with pytest.raises(EngineError):
        upscale_image(model, np.zeros((8, 8), np.uint8))
    with pytest.raises(EngineError):
        upscale_image(model, np.zeros((8, 8, 3), np.uint8), tile=8)
    with pytest.raises(EngineError, match="not super-resolution"):
        upscale_image(load_model("retinaface-mobilenet0.25"), np.zeros((8, 8, 3), np.uint8))


@needs_weights
@pytest.mark.parametrize("params, size", [({"model": "realesr-animevideov3", "scale": 3}, (36, 40)),
                                          ({"model": "realesrgan-x4plus", "scale": 2}, (24, 32))])
def test_superres_stage_enlarges_and_records_the_model(params, size):
    stage = STAGES["superres"](**params)
    stage.validate()
    frames = [photo(size[1], size[0]), photo(size[1], size[0])[::-1].copy()]
    out = list(stage.apply(iter(frames)))
    scale = params["scale"]
    assert [f.shape for f in out] == [(size[0] * scale, size[1] * scale, 3)] * 2
    assert all(f.dtype == np.uint8 for f in out)
    record = stage.provenance()
    assert [m["key"] for m in record["models"]] == [stage.model_key()]
    assert record["models"][0]["sha256"] == ",".join(registry.require(stage.model_key()).sha256)
    assert record["models"][0]["licence"] == "MIT" and record["notes"] == []


def test_superres_stage_falls_back_to_lanczos_without_the_weights(monkeypatch, tmp_path):
    monkeypatch.setattr(registry, "_package_folder", lambda spec: tmp_path)
    stage = STAGES["superres"](scale=2)
    frame = photo(48, 40)
    out = list(stage.apply(iter([frame])))
    assert np.array_equal(out[0], upscale_frame(frame, 2))
    record = stage.provenance()
    assert record["models"] == []
    assert "Lanczos" in record["notes"][0] and "not found" in record["notes"][0]


def test_superres_params_are_validated_and_the_preset_loads():
    from engine.errors import RecipeError

    with pytest.raises(RecipeError, match="scale"):
        STAGES["superres"](model="realesrgan-x4plus", scale=3).validate()
    with pytest.raises(RecipeError, match="model"):
        STAGES["superres"](model="esrgan").validate()
    recipe = load_recipe("film-sr")
    assert [s.name for s in recipe.stages] == ["deflicker", "descratch", "denoise", "superres"]
    assert recipe.stages[-1].model_key() == COMPACT_X2


@pytest.fixture
def compact_copy(tmp_path, monkeypatch):
    """The compact x2 files copied to a folder the registry reads instead of the package's."""
    if not registry.is_available(COMPACT_X2):
        pytest.skip("the Real-ESRGAN weights package is not installed")
    for path in registry.require(COMPACT_X2).paths:
        shutil.copy(path, tmp_path / path.name)
    monkeypatch.setattr(registry, "_package_folder", lambda spec: tmp_path)
    return tmp_path


def test_missing_or_damaged_weights_give_clear_errors(compact_copy):
    bin_path = compact_copy / "REALESRGAN_ANIMAVIDEOV3_UP2X.bin"
    data_bytes = bytearray(bin_path.read_bytes())
    data_bytes[100] ^= 0xFF  # same size, different hash
    bin_path.write_bytes(bytes(data_bytes))
    with pytest.raises(registry.ModelCorrupt, match="sha256"):
        load_model(COMPACT_X2)
    bin_path.unlink()
    with pytest.raises(registry.ModelMissing, match="REALESRGAN_ANIMAVIDEOV3_UP2X.bin not found"):
        load_model(COMPACT_X2)


def test_reader_rejects_truncated_or_foreign_files(compact_copy):
    param_path = compact_copy / "REALESRGAN_ANIMAVIDEOV3_UP2X.param"
    bin_path = compact_copy / "REALESRGAN_ANIMAVIDEOV3_UP2X.bin"
    bin_path.write_bytes(bin_path.read_bytes()[:-1000])
    with pytest.raises(NcnnFormatError, match="truncated"):
        read_model(param_path, bin_path)
    with pytest.raises(NcnnFormatError, match="magic"):
        parse_param("7767\n1 1\nInput data 0 1 data\n")
    with pytest.raises(NcnnFormatError, match="bad parameter"):
        parse_param("7767517\n1 1\nInput data 0 1 data 0=x\n")


@needs_weights
def test_ncnn_graphs_are_recognised_by_their_layers_and_misfits_refused():
    compact = read_model(*registry.require(COMPACT_X2).paths)
    x4plus = read_model(*registry.require("realesrgan-x4plus").paths)
    assert SRVGG.detect(compact) and not RRDBNET.detect(compact)
    assert RRDBNET.detect(x4plus) and not SRVGG.detect(x4plus)
    with pytest.raises(ModelCorrupt, match="not an RRDBNet network"):
        RRDBNET.load(compact)
    with pytest.raises(ModelCorrupt, match="no pixel shuffle"):
        SRVGG.load(x4plus)
    prelus = compact.of_type("PReLU")
    prelus[3].weights["slope"] = prelus[3].weights["slope"][:10]
    with pytest.raises(ModelCorrupt, match="the wrong width"):
        SRVGG.load(compact)
    compact.of_type("Interp")[-1].params[2] = 0.6  # a bicubic resize to x2.4
    with pytest.raises(ModelCorrupt, match="does not give a whole scale"):
        SRVGG.load(compact)


@needs_weights
def test_a_file_of_another_scale_than_its_catalog_entry_is_refused(compact_copy, monkeypatch):
    import dataclasses

    spec = registry.get_spec(COMPACT_X2)
    monkeypatch.setitem(registry.REGISTRY, COMPACT_X2, dataclasses.replace(spec, expects={"scale": 4}))
    with pytest.raises(ModelCorrupt, match="SRVGGNetCompact network has scale 2, realesr-animevideov3-x2 has 4"):
        load_model(COMPACT_X2)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without a GPU")
def test_asking_for_cuda_without_a_gpu_is_a_clear_error():
    with pytest.raises(ModelLoadError, match="no GPU"):
        load_model(COMPACT_X2, device="cuda")


@needs_weights
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_half_precision_matches_cpu():
    image = photo(300, 280)  # larger than one tile
    on_gpu = load_model(COMPACT_X2, device="cuda")
    assert next(on_gpu.model.parameters()).dtype == torch.float16
    cpu = upscale_image(load_model(COMPACT_X2), image, tile=128)
    gpu = upscale_image(on_gpu, image, tile=128)
    difference = np.abs(cpu.astype(int) - gpu.astype(int))
    assert gpu.shape == cpu.shape and difference.mean() < 0.5 and difference.max() <= 8


@needs_weights
def test_superres_stage_streams_one_frame_at_a_time():
    """Per frame: each output comes out before the next input is read, so memory does not grow
    with the clip's length (tiled frames too)."""
    pulled = []

    def source():
        for index in range(30):
            pulled.append(index)
            yield photo(40, 24) if index % 2 else photo(24, 40)

    stage = STAGES["superres"](scale=2, tile=64)
    for emitted, frame in enumerate(stage.apply(source()), start=1):
        assert len(pulled) == emitted
        assert frame.shape[:2] in ((48, 80), (80, 48))
    assert emitted == 30


@needs_weights
def test_the_tile_is_chosen_by_the_device_unless_the_recipe_sets_it(monkeypatch):
    from engine.models import tiling
    from engine.stages.superres import TILE_BY_DEVICE

    tiles = []
    real = tiling.upscale_image
    monkeypatch.setattr(tiling, "upscale_image", lambda model, frame, tile: tiles.append(tile) or real(model, frame, tile))
    for asked in (0, 96):
        stage = STAGES["superres"](scale=2, tile=asked, device="cpu")
        stage.validate()
        next(stage.apply(iter([photo(40, 24)])))
    assert tiles == [TILE_BY_DEVICE["cpu"], 96] and TILE_BY_DEVICE == {"cpu": 256, "cuda": 512}
    with pytest.raises(RecipeError, match="tile"):
        STAGES["superres"](tile=32).validate()
