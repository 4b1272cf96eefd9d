"""Recognise the ECCV16 colorizer's weights (the authors' release layout) and build the network.

Known by its first convolution taking one channel (CIE L), its 313-bin classifier and `model_out`
(313 bins -> ab); the block widths are read from the shapes, so small test networks load too.
"""
from __future__ import annotations

from engine.models.descriptor import Architecture, ModelDescriptor, has_keys, load_strict, require_keys
from engine.models.archs.eccv16.network import BINS, INPUT_SIZE, ColorfulColorization, width_keys, widths_of

NAME = "ECCV16"


def detect(weights) -> bool:
    return (has_keys(weights, "model1.0.weight", "model8.6.weight")
            and weights["model1.0.weight"].ndim == 4 and weights["model1.0.weight"].shape[1] == 1
            and weights["model8.6.weight"].shape[0] == BINS)


def load(state) -> ModelDescriptor:
    require_keys(state, NAME, *width_keys())
    network = load_strict(ColorfulColorization(widths_of(state)), state, NAME)
    return ModelDescriptor(network, NAME, "colorization", scale=1, input_channels=1, output_channels=2,
                           size=INPUT_SIZE)


ARCH = Architecture(NAME, detect, load)
