"""Recognise SRVGGNetCompact weights and build the network from their shapes.

A state dict (the official layout: `body.0.weight`, a PReLU's `body.1.weight`, ... the last
convolution) is known by its keys being exactly that stack, with 1-D PReLU slopes between the
convolutions. An ncnn graph is known by one pixel shuffle, a PReLU after every convolution but
the last, and the nearest-upsampled input; a bicubic resize after it gives the x2 / x3 files.
"""
from __future__ import annotations

import math
import re

import torch

from engine.models.descriptor import Architecture, ModelDescriptor, is_state_dict, load_strict
from engine.models.errors import ModelCorrupt
from engine.models.ncnn import (RESIZE_BICUBIC, RESIZE_NEAREST, Graph, conv_shape, resize_factors,
                                state_dict_in_graph_order)
from engine.models.archs.srvgg.network import SRVGGNetCompact

NAME = "SRVGGNetCompact"
KEY = re.compile(r"body\.(\d+)\.(weight|bias)$")


def _layer_indices(state) -> list[int] | None:
    """The body indices of a state dict made only of `body.N.weight/bias` keys, else None."""
    indices = set()
    for key in state:
        match = KEY.match(key)
        if not match:
            return None
        indices.add(int(match.group(1)))
    return sorted(indices)


def _is_state(state) -> bool:
    indices = _layer_indices(state)
    if not indices or indices != list(range(len(indices))) or len(indices) % 2 == 0 or len(indices) < 3:
        return False
    # Even indices: 4-D convolutions; odd ones: PReLU slopes, one per feature channel.
    return (all(state[f"body.{i}.weight"].ndim == 4 for i in indices[::2])
            and all(state[f"body.{i}.weight"].ndim == 1 for i in indices[1::2]))


def _is_graph(graph: Graph) -> bool:
    convs, prelus = graph.of_type("Convolution"), graph.of_type("PReLU")
    return len(graph.of_type("PixelShuffle")) == 1 and len(convs) >= 2 and len(prelus) == len(convs) - 1


def detect(weights) -> bool:
    if isinstance(weights, Graph):
        return _is_graph(weights)
    return is_state_dict(weights) and _is_state(weights)


def _load_state(state, output_scale: int | None = None) -> ModelDescriptor:
    last = len(_layer_indices(state)) - 1
    first_shape, last_shape = state["body.0.weight"].shape, state[f"body.{last}.weight"].shape
    in_channels, features = int(first_shape[1]), int(first_shape[0])
    upscale = math.isqrt(int(last_shape[0]) // in_channels)
    if upscale * upscale * in_channels != last_shape[0]:
        raise ModelCorrupt(f"the weights do not fit the {NAME} network: its last convolution's "
                           f"{last_shape[0]} outputs are not {in_channels} channels times a square")
    convs = last // 2 - 1
    network = SRVGGNetCompact(in_channels, features, convs=convs, upscale=upscale, output_scale=output_scale)
    network = load_strict(network, state, NAME)
    network = network.to(memory_format=torch.channels_last)  # oneDNN / cuDNN's fastest 3x3 convolutions
    # Exact context: one input pixel per 3x3 convolution (convs + 2 of them), and one more for the
    # bicubic output resize (4 taps at x4 scale reach under one input pixel).
    return ModelDescriptor(network, NAME, "super-resolution", scale=network.scale, input_channels=in_channels,
                           output_channels=in_channels, context=convs + 3)


def _from_graph(graph: Graph) -> ModelDescriptor:
    def check(condition: bool, message: str) -> None:
        if not condition:
            raise ModelCorrupt(f"the ncnn graph does not fit the {NAME} network: {message}")

    check(_is_graph(graph), "it has no pixel shuffle, or no PReLU after each convolution but the last")
    convs = graph.of_type("Convolution")
    first, last = conv_shape(convs[0]), conv_shape(convs[-1])
    shuffle = graph.of_type("PixelShuffle")[0]
    upscale = int(shuffle.param(0, 0))
    check(not shuffle.param(1, 0) and upscale > 1, "its pixel shuffle is not a plain one")
    check(resize_factors(graph, RESIZE_NEAREST) == [float(upscale)], f"expected the nearest x{upscale} input added")
    downscale = resize_factors(graph, RESIZE_BICUBIC)
    check(len(downscale) <= 1, f"{len(downscale)} bicubic resizes, expected at most one")
    output_scale = round(downscale[0] * upscale) if downscale else upscale
    check(abs(output_scale - (downscale[0] * upscale if downscale else upscale)) < 1e-6,
          f"its bicubic output resize {downscale} does not give a whole scale")
    with torch.device("meta"):  # shapes only
        template = SRVGGNetCompact(first[1], first[0], convs=len(convs) - 2, upscale=upscale)
    check(last[0] == first[1] * upscale * upscale, f"its last convolution has {last[0]} outputs")
    state = state_dict_in_graph_order(graph, template, leaky=lambda name: False, leaky_slope=0.0)
    return _load_state(state, output_scale)


def load(weights) -> ModelDescriptor:
    return _from_graph(weights) if isinstance(weights, Graph) else _load_state(weights)


ARCH = Architecture(NAME, detect, load)
