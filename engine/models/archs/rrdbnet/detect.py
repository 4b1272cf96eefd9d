"""Recognise RRDBNet weights and build the network from their shapes.

A state dict (the official .pth layout; Real-ESRGAN's files wrap it in "params_ema", which the
reader unwraps) is known by `conv_first`, `body.0.rdb1.conv1` and the upsampling convolutions.
An ncnn graph is known by its two nearest x2 upsamplings, its 0.2-scaled residuals and its
convolution count (6 + 15 per block); its weights are laid out in the official names, then take
the state-dict path, so both formats build the same network the same way.
"""
from __future__ import annotations

import re

import torch

from engine.models.descriptor import Architecture, ModelDescriptor, has_keys, load_strict
from engine.models.errors import ModelCorrupt
from engine.models.ncnn import RESIZE_NEAREST, Graph, conv_shape, resize_factors, state_dict_in_graph_order
from engine.models.archs.rrdbnet.network import LEAKY_SLOPE, RESIDUAL_SCALE, RRDBNet

NAME = "RRDBNet"
SIGNATURE = ("conv_first.weight", "body.0.rdb1.conv1.weight", "conv_body.weight", "conv_up1.weight",
             "conv_up2.weight", "conv_hr.weight", "conv_last.weight")
CONVS_PER_BLOCK, CONVS_OUTSIDE_BLOCKS = 15, 6
# Each 3x3 convolution widens what an output pixel sees by at most one input pixel: 351 for
# x4plus, too many to pad every tile with, and what matters decays far sooner. Measured with
# x4plus (480x360 astronaut, 256-pixel tiles, against the whole frame): a margin of 10 (Real-
# ESRGAN's default) left 45 levels at the seams, 32 left 15, 64 left 2, 96 left 1.
MAX_TILE_CONTEXT = 96
# Convolutions followed by a leaky ReLU (fused into the convolution in an ncnn graph).
LEAKY = re.compile(r"(body\.\d+\.rdb\d\.conv[1-4]|conv_up1|conv_up2|conv_hr)$")


def _is_graph(graph: Graph) -> bool:
    convs = graph.of_type("Convolution")
    blocks, rest = divmod(len(convs) - CONVS_OUTSIDE_BLOCKS, CONVS_PER_BLOCK)
    return (blocks > 0 and rest == 0 and resize_factors(graph, RESIZE_NEAREST) == [2.0, 2.0]
            and not graph.of_type("PixelShuffle", "PReLU"))


def detect(weights) -> bool:
    if isinstance(weights, Graph):
        return _is_graph(weights)
    return has_keys(weights, *SIGNATURE)


def _blocks(state) -> int:
    return len({key.split(".")[1] for key in state if key.startswith("body.") and key.endswith(".rdb1.conv1.weight")})


def _load_state(state) -> ModelDescriptor:
    in_channels = int(state["conv_first.weight"].shape[1])
    if in_channels not in (1, 3):
        # The official x2 / x1 variants fold 2x2 or 4x4 pixels into the input channels.
        raise ModelCorrupt(f"an {NAME} with {in_channels} input channels is an x2 or x1 variant, "
                           f"which is not supported (only x4)")
    out_channels = int(state["conv_last.weight"].shape[0])
    blocks = _blocks(state)
    network = RRDBNet(in_channels, out_channels, features=int(state["conv_first.weight"].shape[0]),
                      blocks=blocks, grow=int(state["body.0.rdb1.conv1.weight"].shape[0]))
    network = load_strict(network, state, NAME)
    # Channels-last lets oneDNN (CPU) and cuDNN pick their fastest 3x3 convolutions (~25% here).
    network = network.to(memory_format=torch.channels_last)
    return ModelDescriptor(network, NAME, "super-resolution", scale=RRDBNet.scale, input_channels=in_channels,
                           output_channels=out_channels,
                           context=min(CONVS_OUTSIDE_BLOCKS + CONVS_PER_BLOCK * blocks, MAX_TILE_CONTEXT))


def _state_from_graph(graph: Graph) -> dict:
    if not _is_graph(graph):
        raise ModelCorrupt(f"the ncnn graph is not an {NAME} network (its upsamplings or convolution count differ)")
    eltwise = graph.of_type("Eltwise")
    if not all(layer.param(0, 0) == 1 and layer.param(1, []) == [RESIDUAL_SCALE, 1.0] for layer in eltwise):
        raise ModelCorrupt(f"the ncnn graph does not fit the {NAME} network: residuals are not scaled by 0.2")
    convs = graph.of_type("Convolution")
    first, grow, last = conv_shape(convs[0]), conv_shape(convs[1]), conv_shape(convs[-1])
    with torch.device("meta"):  # shapes only
        template = RRDBNet(first[1], last[0], features=first[0],
                           blocks=(len(convs) - CONVS_OUTSIDE_BLOCKS) // CONVS_PER_BLOCK, grow=grow[0])
    return state_dict_in_graph_order(graph, template, lambda name: bool(LEAKY.search(name)), LEAKY_SLOPE)


def load(weights) -> ModelDescriptor:
    return _load_state(_state_from_graph(weights) if isinstance(weights, Graph) else weights)


ARCH = Architecture(NAME, detect, load)
