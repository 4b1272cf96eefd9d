"""A small reader of ncnn model files: the .param text graph and the .bin weight blob.

It reads the graph and each layer's weights into numpy arrays, and lays a graph's weights out as
the state dict of one of our PyTorch networks (engine/models/archs: RRDBNet, SRVGGNetCompact);
it runs nothing. Only the layer types our models use are understood; any other layer type
raises, so a file we cannot read fully is never half-loaded.

.param: a magic number, "<layer count> <blob count>", then one line per layer:
    <type> <name> <input count> <output count> <inputs...> <outputs...> <key=value...>
A key 0-19 holds one int or float; a key -23300-k holds the array for key k, "<count>,v1,v2...".

.bin: the layers' weights back to back, in graph order. A weight blob starts with a 4-byte
storage tag (fp16, int8 or fp32); a blob read "raw" (biases, PReLU slopes) is plain fp32.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from engine.models.errors import ModelCorrupt

PARAM_MAGIC = 7767517
ARRAY_KEY_BASE = -23300
TAG_FP16 = 0x01306B47
TAG_INT8 = 0x000D4B38
TAG_FP32 = 0x00000000

# Layer types that carry no weights in the .bin file.
WEIGHTLESS = {"Input", "Split", "Concat", "Eltwise", "BinaryOp", "Interp", "PixelShuffle", "ReLU",
              "LeakyReLU", "Sigmoid", "Crop", "Noop", "Clip", "TanH"}


ACTIVATION_NONE, ACTIVATION_LEAKY = 0, 2  # a Convolution's fused activation (its param 9)
RESIZE_NEAREST, RESIZE_BICUBIC = 1, 3  # an Interp layer's resize type (its param 0)


class NcnnFormatError(ModelCorrupt):
    """An ncnn .param or .bin file is malformed, truncated, or uses something we do not read."""


@dataclass
class Layer:
    type: str
    name: str
    inputs: list[str]
    outputs: list[str]
    params: dict[int, int | float | list]
    weights: dict[str, np.ndarray] = field(default_factory=dict)  # filled by load_bin

    def param(self, key: int, default=None):
        return self.params.get(key, default)


@dataclass
class Graph:
    layers: list[Layer]

    def of_type(self, *types: str) -> list[Layer]:
        return [layer for layer in self.layers if layer.type in types]

    def producer(self, blob: str) -> Layer:
        for layer in self.layers:
            if blob in layer.outputs:
                return layer
        raise NcnnFormatError(f"No layer produces blob {blob!r}.")

    @property
    def input_blob(self) -> str:
        inputs = self.of_type("Input")
        if len(inputs) != 1:
            raise NcnnFormatError(f"Expected one Input layer, found {len(inputs)}.")
        return inputs[0].outputs[0]

    @property
    def output_blob(self) -> str:
        """The blob no layer consumes (the net's single output)."""
        consumed = {blob for layer in self.layers for blob in layer.inputs}
        produced = [blob for layer in self.layers for blob in layer.outputs if blob not in consumed]
        if len(produced) != 1:
            raise NcnnFormatError(f"Expected one output blob, found {produced}.")
        return produced[0]


def _number(text: str) -> int | float:
    # ncnn writes floats with a point or an exponent; anything else is an int.
    return float(text) if any(c in text for c in ".eE") else int(text)


def _parse_params(tokens: list[str], where: str) -> dict[int, int | float | list]:
    params: dict[int, int | float | list] = {}
    for token in tokens:
        key_text, sep, value = token.partition("=")
        try:
            key = int(key_text)
            if not sep:
                raise ValueError
            if key <= ARRAY_KEY_BASE:
                count_text, *items = value.split(",")
                if int(count_text) != len(items):
                    raise ValueError
                params[ARRAY_KEY_BASE - key] = [_number(item) for item in items]
            else:
                params[key] = _number(value)
        except ValueError:
            raise NcnnFormatError(f"{where}: bad parameter {token!r}.") from None
    return params


def parse_param(text: str, source: str = "param") -> Graph:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines or lines[0] != str(PARAM_MAGIC):
        raise NcnnFormatError(f"{source}: not an ncnn .param file (magic number {PARAM_MAGIC} missing).")
    try:
        layer_count, _blob_count = map(int, lines[1].split())
    except (IndexError, ValueError):
        raise NcnnFormatError(f"{source}: the layer and blob counts are missing.") from None
    if len(lines) - 2 != layer_count:
        raise NcnnFormatError(f"{source}: says {layer_count} layers, has {len(lines) - 2} (truncated?).")
    layers = []
    for number, line in enumerate(lines[2:], start=3):
        where = f"{source} line {number}"
        tokens = line.split()
        try:
            layer_type, name, n_in, n_out = tokens[0], tokens[1], int(tokens[2]), int(tokens[3])
        except (IndexError, ValueError):
            raise NcnnFormatError(f"{where}: malformed layer line.") from None
        blobs = tokens[4:4 + n_in + n_out]
        if len(blobs) != n_in + n_out:
            raise NcnnFormatError(f"{where}: fewer blob names than its counts say.")
        params = _parse_params(tokens[4 + n_in + n_out:], where)
        layers.append(Layer(layer_type, name, blobs[:n_in], blobs[n_in:], params))
    return Graph(layers)


class _BinReader:
    def __init__(self, data: bytes, source: str):
        self.data, self.offset, self.source = data, 0, source

    def take(self, size: int, what: str) -> bytes:
        if self.offset + size > len(self.data):
            raise NcnnFormatError(f"{self.source}: ends inside {what} (truncated, or not the matching .bin).")
        chunk = self.data[self.offset:self.offset + size]
        self.offset += size
        return chunk

    def raw(self, count: int, what: str) -> np.ndarray:
        return np.frombuffer(self.take(4 * count, what), "<f4").copy()

    def tagged(self, count: int, what: str) -> np.ndarray:
        tag = int.from_bytes(self.take(4, what), "little")
        if tag == TAG_FP16:
            values = np.frombuffer(self.take(2 * count, what), "<f2").astype(np.float32)
            self.take((-2 * count) % 4, what)  # blobs are padded to 4 bytes
            return values
        if tag == TAG_FP32:
            return self.raw(count, what)
        if tag == TAG_INT8:
            raise NcnnFormatError(f"{self.source}: {what} is int8-quantized, which we do not read.")
        raise NcnnFormatError(f"{self.source}: {what} has an unknown storage tag {tag:#010x} (not the matching .bin?).")


def _load_layer_weights(layer: Layer, reader: _BinReader) -> None:
    what = f"the weights of {layer.type} {layer.name}"
    if layer.type == "Convolution":
        if layer.param(8, 0):
            raise NcnnFormatError(f"{what}: int8 convolution is not supported.")
        out_channels, size = layer.param(0, 0), layer.param(6, 0)
        layer.weights["weight"] = reader.tagged(size, what)
        if layer.param(5, 0):
            layer.weights["bias"] = reader.raw(out_channels, what)
    elif layer.type == "PReLU":
        layer.weights["slope"] = reader.raw(layer.param(0, 0), what)
    elif layer.type not in WEIGHTLESS:
        raise NcnnFormatError(f"Layer type {layer.type} ({layer.name}) is not supported by our ncnn reader.")


def load_bin(graph: Graph, data: bytes, source: str = "bin") -> Graph:
    """Fill each layer's `weights` from the .bin bytes; the file must be used up exactly."""
    reader = _BinReader(data, source)
    for layer in graph.layers:
        _load_layer_weights(layer, reader)
    if reader.offset != len(data):
        raise NcnnFormatError(f"{source}: {len(data) - reader.offset} bytes left over (not the matching .param?).")
    return graph


def read_model(param_path: Path, bin_path: Path) -> Graph:
    """The graph of an ncnn model with every layer's weights as float32 numpy arrays."""
    try:
        text = Path(param_path).read_text(encoding="ascii")
        data = Path(bin_path).read_bytes()
    except UnicodeDecodeError:
        raise NcnnFormatError(f"{param_path}: not an ncnn .param text file.") from None
    except OSError as error:
        raise NcnnFormatError(f"Cannot read the model file: {error}.") from None
    graph = parse_param(text, str(param_path))
    return load_bin(graph, data, str(bin_path))


def conv_shape(layer: Layer) -> tuple[int, int, int, int]:
    """(out, in, kernel_h, kernel_w) of a Convolution layer, from its params."""
    out_channels, kernel_w = layer.param(0, 0), layer.param(1, 0)
    kernel_h = layer.param(11, kernel_w)
    size = layer.param(6, 0)
    if not (out_channels and kernel_w and kernel_h) or size % (out_channels * kernel_w * kernel_h):
        raise NcnnFormatError(f"Convolution {layer.name}: weight size {size} does not fit its shape.")
    return out_channels, size // (out_channels * kernel_w * kernel_h), kernel_h, kernel_w


def resize_factors(graph: Graph, resize_type: int) -> list[float]:
    """The scale factors of the graph's Interp layers of `resize_type`, in order."""
    return [layer.param(2, 1.0) for layer in graph.of_type("Interp") if layer.param(0, 0) == resize_type]


def state_dict_in_graph_order(graph: Graph, template: nn.Module, leaky: Callable[[str], bool],
                              leaky_slope: float) -> dict[str, torch.Tensor]:
    """The graph's weights as `template`'s state dict: its Conv2d and PReLU modules, in the order
    they are declared, take the graph's Convolution and PReLU layers in graph order.

    Every shape is checked, and each convolution must be a plain 3x3 (stride 1, padding 1) with a
    bias and, fused into it, a leaky ReLU of `leaky_slope` exactly where `leaky(module name)` says.
    `template` may live on the meta device (only its shapes are read). Raises ModelCorrupt.
    """
    def check(condition: bool, message: str) -> None:
        if not condition:
            raise ModelCorrupt(f"the ncnn graph does not fit the network: {message}")

    convs = [(name, m) for name, m in template.named_modules() if isinstance(m, nn.Conv2d)]
    layers = graph.of_type("Convolution")
    check(len(convs) == len(layers), f"{len(layers)} convolutions, expected {len(convs)}")
    state: dict[str, torch.Tensor] = {}
    for index, ((name, conv), layer) in enumerate(zip(convs, layers)):
        where = f"convolution {index} ({layer.name})"
        shape = conv_shape(layer)
        check(shape == tuple(conv.weight.shape), f"{where} is {shape}, expected {tuple(conv.weight.shape)}")
        check(layer.param(3, 1) == 1 and layer.param(2, 1) == 1 and layer.param(4, 0) == 1,
              f"{where} is not a plain 3x3 with padding 1")
        check("bias" in layer.weights, f"{where} has no bias")
        activation = layer.param(9, ACTIVATION_NONE)
        if leaky(name):
            check(activation == ACTIVATION_LEAKY and abs(layer.param(10, [0.0])[0] - leaky_slope) < 1e-6,
                  f"{where} should end in a leaky ReLU of slope {leaky_slope}")
        else:
            check(activation == ACTIVATION_NONE, f"{where} has activation type {activation}, expected none")
        state[f"{name}.weight"] = torch.from_numpy(layer.weights["weight"].reshape(shape))
        state[f"{name}.bias"] = torch.from_numpy(layer.weights["bias"])
    prelus = [(name, m) for name, m in template.named_modules() if isinstance(m, nn.PReLU)]
    slopes = graph.of_type("PReLU")
    check(len(prelus) == len(slopes), f"{len(slopes)} PReLU layers, expected {len(prelus)}")
    for (name, prelu), layer in zip(prelus, slopes):
        check(layer.weights["slope"].shape == tuple(prelu.weight.shape), f"{layer.name} has the wrong width")
        state[f"{name}.weight"] = torch.from_numpy(layer.weights["slope"])
    return state
