"""Tiled super-resolution equals the whole-frame run: each tile is run with a margin of context and
only its core is kept (Real-ESRGAN's tile_pad), so no seam shows and memory stays bounded."""
import numpy as np
import pytest
import torch

from engine.models import registry
from engine.models.archs import recognise
from engine.models.archs.rrdbnet.network import RRDBNet
from engine.models.archs.srvgg.network import SRVGGNetCompact
from engine.models.descriptor import ModelDescriptor
from engine.models.loader import load_model
from engine.models.tiling import upscale_image, upscale_tiled
from tests.engine.helpers import astronaut_photo as photo


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny(name: str):
    """A small random network in the official layout, through its detector (as the loader does);
    its output spread over the grey levels so that a seam would show."""
    torch.manual_seed(0)
    if name == "RRDBNet":
        network = RRDBNet(features=8, blocks=1, grow=4)
        with torch.no_grad():
            network.conv_last.weight.mul_(40)
            network.conv_last.bias.fill_(0.5)
    else:
        network = SRVGGNetCompact(features=8, convs=4)
    state = network.state_dict()
    return recognise(state).load(state)


def levels_apart(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.abs(a.astype(int) - b.astype(int)).max())


@pytest.mark.parametrize("name", ["RRDBNet", "SRVGGNetCompact"])
def test_tiled_output_equals_the_whole_frame_within_one_level(name):
    model = tiny(name)
    assert model.context == {"RRDBNet": 21, "SRVGGNetCompact": 7}[name]  # one pixel per convolution (+ resize)
    image = photo(100, 76)  # 4 x 4 tiles of at most 25 pixels, each run with its context
    whole = upscale_image(model, image, tile=512)
    tiled = upscale_image(model, image, tile=25)
    assert tiled.shape == whole.shape == (304, 400, 3) and tiled.dtype == np.uint8
    assert levels_apart(tiled, whole) <= 1
    assert levels_apart(upscale_image(model, image, tile=25, pad=0), whole) > 1  # without context, seams


def test_the_bicubic_output_of_the_x3_compact_files_tiles_too():
    torch.manual_seed(0)
    network = SRVGGNetCompact(features=8, convs=4, output_scale=3).eval()  # as the x3 ncnn file's resize makes it
    model = ModelDescriptor(network, "SRVGGNetCompact", "super-resolution", 3, 3, 3, context=7)
    image = photo(70, 50)
    assert levels_apart(upscale_image(model, image, tile=24), upscale_image(model, image, tile=512)) <= 1


def test_memory_is_bounded_by_the_tile_and_its_margin():
    sizes = []

    def run(piece):
        sizes.append(piece.shape[:2])
        return np.zeros((piece.shape[0] * 2, piece.shape[1] * 2, 3), np.float32)

    upscale_tiled(run, photo(300, 200), 2, tile=64, pad=19)
    assert len(sizes) == 5 * 4
    assert max(max(size) for size in sizes) <= 64 + 2 * 19
    sizes.clear()
    assert upscale_tiled(run, photo(40, 30), 2, tile=64, pad=19).shape == (60, 80, 3)
    assert sizes == [(30, 40)]  # smaller than a tile: one run


@pytest.mark.skipif(not registry.is_available("realesrgan-x4plus"), reason="the Real-ESRGAN weights are not installed")
def test_real_x4plus_tiles_match_its_whole_frame_on_a_small_crop():
    model = load_model("realesrgan-x4plus")
    assert model.context == 96
    image = photo(480, 360)[120:136, :320]  # a strip through the face: 5 tiles side by side
    whole = upscale_image(model, image, tile=512)
    tiled = upscale_image(model, image, tile=64)
    assert levels_apart(tiled, whole) <= 1
