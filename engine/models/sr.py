"""Learned super-resolution: our PyTorch Real-ESRGAN networks, fed the weights that the ncnn
files of the registry hold, and a tiled upscaler that keeps memory bounded on large frames.

Two architectures:
- RRDBNet ("realesrgan-x4plus"): 23 residual-in-residual dense blocks, x4, for photographs;
- SRVGGNetCompact ("realesr-animevideov3-x2/x3/x4"): 16 plain convolutions with PReLU, a pixel
  shuffle and the nearest-upsampled input added; about 20x faster. Its x2/x3 files are the x4
  network followed by a bicubic downscale, which we reproduce.

Weights are mapped onto our modules in graph order, with every shape checked, so a file that
does not match the architecture fails loudly instead of producing noise.
"""
from __future__ import annotations

import threading
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine.errors import EngineError
from engine.models import registry
from engine.models.ncnn import Graph, NcnnFormatError, conv_shape, read_model

LEAKY_SLOPE = 0.2
RESIDUAL_SCALE = 0.2  # both the dense block and the RRDB scale their residual by 0.2
NCNN_ACTIVATION_LEAKY = 2


class ModelMismatch(EngineError):
    """The weight file does not fit the architecture its catalog entry names."""


class ConvAct(nn.Conv2d):
    """A 3x3 convolution with an optional leaky ReLU after it, as ncnn fuses them."""

    def __init__(self, in_channels: int, out_channels: int, leaky: bool = False):
        super().__init__(in_channels, out_channels, 3, padding=1)
        self.leaky = leaky

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = super().forward(x)
        return F.leaky_relu(x, LEAKY_SLOPE) if self.leaky else x


class ResidualDenseBlock(nn.Module):
    def __init__(self, features: int, grow: int):
        super().__init__()
        # Each convolution sees the block input and every earlier output, concatenated.
        self.convs = nn.ModuleList(ConvAct(features + i * grow, grow, leaky=True) for i in range(4))
        self.fuse = ConvAct(features + 4 * grow, features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seen = [x]
        for conv in self.convs:
            seen.append(conv(torch.cat(seen, 1)))
        return self.fuse(torch.cat(seen, 1)) * RESIDUAL_SCALE + x


class RRDB(nn.Module):
    def __init__(self, features: int, grow: int):
        super().__init__()
        self.blocks = nn.Sequential(*(ResidualDenseBlock(features, grow) for _ in range(3)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x) * RESIDUAL_SCALE + x


class RRDBNet(nn.Module):
    """Real-ESRGAN's generator at x4: two nearest x2 upsamplings, each followed by a convolution."""

    def __init__(self, features: int = 64, blocks: int = 23, grow: int = 32):
        super().__init__()
        self.scale = 4
        # Attributes are declared in the order they run: the ncnn graph's convolution order.
        self.conv_first = ConvAct(3, features)
        self.body = nn.Sequential(*(RRDB(features, grow) for _ in range(blocks)))
        self.conv_body = ConvAct(features, features)
        self.conv_up1 = ConvAct(features, features, leaky=True)
        self.conv_up2 = ConvAct(features, features, leaky=True)
        self.conv_hr = ConvAct(features, features, leaky=True)
        self.conv_last = ConvAct(features, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        feat = self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest"))
        feat = self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest"))
        return self.conv_last(self.conv_hr(feat))


class SRVGGNetCompact(nn.Module):
    """A plain stack of convolutions and PReLUs that predicts the residual over a nearest upscale.

    The network works at x4; `scale` 2 or 3 resizes its output down with bicubic interpolation.
    """

    def __init__(self, features: int = 64, convs: int = 16, scale: int = 4, upscale: int = 4):
        super().__init__()
        self.scale, self.upscale = scale, upscale
        layers: list[nn.Module] = [ConvAct(3, features), nn.PReLU(features)]
        for _ in range(convs):
            layers += [ConvAct(features, features), nn.PReLU(features)]
        layers.append(ConvAct(features, 3 * upscale * upscale))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.pixel_shuffle(self.body(x), self.upscale)
        out = out + F.interpolate(x, scale_factor=self.upscale, mode="nearest")
        if self.scale != self.upscale:
            height, width = x.shape[-2:]
            out = F.interpolate(out, size=(height * self.scale, width * self.scale), mode="bicubic",
                                align_corners=False)
        return out


def _check(condition: bool, key: str, message: str) -> None:
    if not condition:
        raise ModelMismatch(f"{key}: the weight file does not match the {key} architecture: {message}.")


def _resize_factors(graph: Graph, resize_type: int) -> list[float]:
    return [layer.param(2, 1.0) for layer in graph.of_type("Interp") if layer.param(0, 0) == resize_type]


def _map_weights(model: nn.Module, graph: Graph, key: str) -> None:
    """Copy the graph's convolution (and PReLU) weights onto the model's, in order, checking shapes."""
    ours = [m for m in model.modules() if isinstance(m, ConvAct)]
    theirs = graph.of_type("Convolution")
    _check(len(ours) == len(theirs), key, f"{len(theirs)} convolutions, expected {len(ours)}")
    for index, (conv, layer) in enumerate(zip(ours, theirs)):
        shape = conv_shape(layer)
        _check(shape == tuple(conv.weight.shape), key,
               f"convolution {index} ({layer.name}) is {shape}, expected {tuple(conv.weight.shape)}")
        _check(layer.param(3, 1) == 1 and layer.param(2, 1) == 1 and layer.param(4, 0) == 1, key,
               f"convolution {index} ({layer.name}) is not a plain 3x3 with padding 1")
        _check("bias" in layer.weights, key, f"convolution {index} ({layer.name}) has no bias")
        activation = layer.param(9, 0)
        slope_ok = not conv.leaky or abs(layer.param(10, [0.0])[0] - LEAKY_SLOPE) < 1e-6
        _check(activation == (NCNN_ACTIVATION_LEAKY if conv.leaky else 0) and slope_ok, key,
               f"convolution {index} ({layer.name}) has activation type {activation}")
        conv.weight.data = torch.from_numpy(layer.weights["weight"].reshape(shape))
        conv.bias.data = torch.from_numpy(layer.weights["bias"])
    prelus = [m for m in model.modules() if isinstance(m, nn.PReLU)]
    slopes = graph.of_type("PReLU")
    _check(len(prelus) == len(slopes), key, f"{len(slopes)} PReLU layers, expected {len(prelus)}")
    for prelu, layer in zip(prelus, slopes):
        _check(layer.weights["slope"].shape == tuple(prelu.weight.shape), key, f"{layer.name} has the wrong width")
        prelu.weight.data = torch.from_numpy(layer.weights["slope"])


def build_from_graph(graph: Graph, arch: str, scale: int, key: str = "model") -> nn.Module:
    """Our module for `arch`, with the graph's weights, after checking the graph has that shape."""
    if arch == "rrdbnet":
        _check(scale == 4, key, f"RRDBNet works at x4, catalog says x{scale}")
        model: nn.Module = RRDBNet()
        _check(_resize_factors(graph, 1) == [2.0, 2.0], key, "expected two nearest x2 upsamplings")
        _check(all(layer.param(0, 0) == 1 and layer.param(1, []) == [RESIDUAL_SCALE, 1.0]
                   for layer in graph.of_type("Eltwise")), key, "residuals are not scaled by 0.2")
    elif arch == "srvggnet-compact":
        model = SRVGGNetCompact(scale=scale)
        shuffles = graph.of_type("PixelShuffle")
        _check(len(shuffles) == 1 and shuffles[0].param(0, 0) == model.upscale and not shuffles[0].param(1, 0),
               key, "expected one x4 pixel shuffle")
        _check(_resize_factors(graph, 1) == [float(model.upscale)], key, "expected the nearest x4 input added")
        downscale = _resize_factors(graph, 3)  # bicubic
        expected = [] if scale == model.upscale else [scale / model.upscale]
        _check(len(downscale) == len(expected) and all(abs(a - b) < 1e-6 for a, b in zip(downscale, expected)),
               key, f"its bicubic output resize {downscale} does not give x{scale}")
    else:
        raise ModelMismatch(f"{key}: unknown super-resolution architecture {arch!r}.")
    _map_weights(model, graph, key)
    return model.eval()


_cache: dict[tuple[str, str], nn.Module] = {}
_cache_lock = threading.Lock()


def load_sr_model(key: str, device: str | torch.device = "cpu") -> nn.Module:
    """The registry's super-resolution model `key` on `device` (half precision on CUDA), cached.

    Raises ModelMissing / ModelCorrupt (registry) when the files are not there or damaged,
    NcnnFormatError / ModelMismatch when they cannot be read onto the architecture, and
    EngineError when CUDA is asked for without a GPU: all EngineErrors with a message to show.
    """
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise EngineError(f"{key}: CUDA was asked for, but no GPU is available here.")
    cache_key = (key, str(device))
    with _cache_lock:
        if cache_key in _cache:
            return _cache[cache_key]
    status = registry.require(key)
    spec = status.spec
    if spec.task != "super-resolution":
        raise ModelMismatch(f"{key} is a {spec.task} model, not super-resolution.")
    param_path, bin_path = status.paths
    graph = read_model(param_path, bin_path)
    model = build_from_graph(graph, spec.params["arch"], int(spec.params["scale"]), key)
    # Channels-last lets oneDNN (CPU) and cuDNN pick their fastest 3x3 convolutions.
    model = model.to(device, memory_format=torch.channels_last)
    if device.type == "cuda":
        model = model.half()
    with _cache_lock:
        return _cache.setdefault(cache_key, model)


def _tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Starts of windows of `tile` covering [0, length), spread evenly, neighbours sharing at
    least 2 * `overlap` pixels."""
    if length <= tile:
        return [0]
    count = -(-(length - 2 * overlap) // (tile - 2 * overlap))
    return [round(i * (length - tile) / (count - 1)) for i in range(count)]


def _ramp(length: int, shared_before: int, shared_after: int) -> np.ndarray:
    """1-D blending weight of a window that shares `shared_before` / `shared_after` pixels with
    its neighbours: in a shared band the outer quarter counts for nothing (the window lacks the
    context there, and its convolutions see zero padding), the middle half cross-fades linearly
    into the neighbour, whose weight mirrors this one so that the two sum to 1."""
    def rising(shared: int) -> np.ndarray:
        position = np.arange(shared, dtype=np.float32) + 0.5
        return np.clip((position - shared / 4) / (shared / 2), 0.0, 1.0)

    weight = np.ones(length, np.float32)
    if shared_before:
        weight[:shared_before] = rising(shared_before)
    if shared_after:
        weight[length - shared_after:] = np.minimum(weight[length - shared_after:], rising(shared_after)[::-1])
    return weight


def _run(model: nn.Module, rgb: np.ndarray) -> np.ndarray:
    """The model on one HxWx3 uint8 tile: an (sH)x(sW)x3 float32 array in 0-1 (not clipped)."""
    parameter = next(model.parameters())
    tensor = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1))).unsqueeze(0)
    tensor = (tensor.to(parameter.device, parameter.dtype) / 255.0).contiguous(memory_format=torch.channels_last)
    out = model(tensor)[0].float().cpu().numpy()
    return out.transpose(1, 2, 0)


def upscale_tiled(run: Callable[[np.ndarray], np.ndarray], rgb: np.ndarray, scale: int, tile: int = 256,
                  overlap: int = 16) -> np.ndarray:
    """Enlarge an HxWx3 uint8 RGB image with `run` (an hxwx3 uint8 tile -> (sh)x(sw)x3 float in 0-1),
    one tile at a time: (sH)x(sW)x3 uint8 RGB.

    Larger than `tile`, the image is cut into windows of `tile` pixels, so memory stays bounded by
    the window and the output. Neighbouring windows share at least 2 * `overlap` pixels: each
    edge loses `overlap` / 2 pixels or more (where it lacks context) and the rest of the shared
    band is cross-faded, so no seam shows.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise EngineError("Super-resolution expects an HxWx3 uint8 RGB image.")
    if tile < 16 or not 0 <= overlap <= tile // 4:
        raise EngineError("tile must be at least 16 pixels and overlap at most a quarter of it.")
    height, width = rgb.shape[:2]
    if height <= tile and width <= tile:
        out = run(rgb)
    else:
        out = np.zeros((height * scale, width * scale, 3), np.float32)
        total = np.zeros((height * scale, width * scale, 1), np.float32)
        ys, xs = _tile_starts(height, tile, overlap), _tile_starts(width, tile, overlap)
        tile_h, tile_w = min(tile, height), min(tile, width)
        for row, y in enumerate(ys):
            shared_top = (ys[row - 1] + tile_h - y) * scale if row else 0
            shared_bottom = (y + tile_h - ys[row + 1]) * scale if row + 1 < len(ys) else 0
            weight_y = _ramp(tile_h * scale, shared_top, shared_bottom)
            for col, x in enumerate(xs):
                shared_left = (xs[col - 1] + tile_w - x) * scale if col else 0
                shared_right = (x + tile_w - xs[col + 1]) * scale if col + 1 < len(xs) else 0
                weight = weight_y[:, None, None] * _ramp(tile_w * scale, shared_left, shared_right)[None, :, None]
                window = (slice(y * scale, (y + tile_h) * scale), slice(x * scale, (x + tile_w) * scale))
                out[window] += run(rgb[y:y + tile_h, x:x + tile_w]) * weight
                total[window] += weight
        out /= total
    return (np.clip(out, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def upscale_image(model: nn.Module, rgb: np.ndarray, tile: int = 256, overlap: int = 16) -> np.ndarray:
    """Enlarge an HxWx3 uint8 RGB image `model.scale` times with a model of load_sr_model:
    (sH)x(sW)x3 uint8 RGB, tile by tile (see upscale_tiled)."""
    with torch.inference_mode():
        return upscale_tiled(lambda piece: _run(model, piece), rgb, model.scale, tile, overlap)
