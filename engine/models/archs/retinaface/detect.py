"""Recognise the RetinaFace ONNX network by its inputs and outputs, and describe it.

The network is run by onnxruntime (engine/models/onnx.py opens the session); it is known by one
input named "input" of 3 channels (BGR, mean-subtracted) and three outputs per prior box: box
offsets (4), face / background scores (2) and 5 landmark offsets (10).
"""
from __future__ import annotations

from engine.models.descriptor import Architecture, ModelDescriptor

NAME = "RetinaFace"
OUTPUT_WIDTHS = {"loc": 4, "conf": 2, "landmarks": 10}


def detect(weights) -> bool:
    if not (hasattr(weights, "get_inputs") and hasattr(weights, "get_outputs")):
        return False  # not an onnxruntime session
    inputs, outputs = weights.get_inputs(), weights.get_outputs()
    return (len(inputs) == 1 and inputs[0].name == "input" and len(inputs[0].shape) == 4
            and inputs[0].shape[1] == 3
            and {output.name: output.shape[-1] for output in outputs} == OUTPUT_WIDTHS)


def load(session) -> ModelDescriptor:
    return ModelDescriptor(session, NAME, "face-detection", scale=1, input_channels=3,
                           output_channels=len(OUTPUT_WIDTHS))


ARCH = Architecture(NAME, detect, load)
