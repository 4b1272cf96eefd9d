"""Recognise GPEN weights (the official GPEN-BFR-*.pth layout) and build the network from their shapes.

Known by the encoder (`ecd0...`), the style code (`final_linear`) and the decoder's mapping MLP
and constant input. The hyperparameters are read back from the shapes: the face size from the
number of encoder stages, `narrow` from the constant input's width (512 x narrow channels),
`channel_multiplier` from the first encoder stage's width, `style_dim` and `n_mlp` from the MLP.
"""
from __future__ import annotations

import re

from engine.models.descriptor import Architecture, ModelDescriptor, has_keys, load_strict, require_keys
from engine.models.errors import ModelCorrupt
from engine.models.archs.gpen.network import FullGenerator

NAME = "GPEN"
SIGNATURE = ("ecd0.0.0.weight", "final_linear.0.weight", "generator.input.input", "generator.style.1.weight")
# Channels of the first encoder stage at each face size, before channel_multiplier x narrow.
FIRST_STAGE_BASE = {64: 256, 128: 128, 256: 64, 512: 32, 1024: 16, 2048: 8}


def detect(weights) -> bool:
    return has_keys(weights, *SIGNATURE)


def _count(state, pattern: str) -> int:
    expression = re.compile(pattern)
    return len({match.group(1) for key in state if (match := expression.match(key))})


def load(state) -> ModelDescriptor:
    require_keys(state, NAME, *SIGNATURE)
    size = 2 ** (_count(state, r"ecd(\d+)\.") + 1)
    narrow = state["generator.input.input"].shape[1] / 512
    first_stage = int(state["ecd0.0.0.weight"].shape[0])
    # Up to 32 px every stage is 512 x narrow wide, and channel_multiplier shapes nothing.
    multiplier = first_stage / (FIRST_STAGE_BASE[size] * narrow) if size in FIRST_STAGE_BASE else 1
    try:
        network = FullGenerator(size, style_dim=int(state["final_linear.0.weight"].shape[0]),
                                n_mlp=_count(state, r"generator\.style\.(\d+)\.weight"),
                                channel_multiplier=multiplier, narrow=narrow)
    except ValueError as error:
        raise ModelCorrupt(f"the weights do not fit the {NAME} network ({error})") from None
    network = load_strict(network, state, NAME)
    return ModelDescriptor(network, NAME, "face-restoration", scale=1, input_channels=3, output_channels=3, size=size)


ARCH = Architecture(NAME, detect, load)
