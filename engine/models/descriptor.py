"""What every architecture gives back, whatever the network: the uniform descriptor, and the
architecture entry (detector + builder) each folder of engine/models/archs provides.

A caller reads the descriptor (task, scale, channels, input size) and never asks which network
it holds. The weights an architecture is shown are what the file's reader made of it: a state
dict of tensors (.pth), an ncnn graph (.param + .bin) or an onnxruntime session (ONNX).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import torch
from torch import nn

from engine.models.errors import ModelCorrupt

StateDict = Mapping[str, torch.Tensor]


@dataclass(frozen=True)
class ModelDescriptor:
    model: Any  # a torch nn.Module in eval mode, or an onnxruntime InferenceSession (ONNX networks)
    architecture: str  # "RRDBNet", "SRVGGNetCompact", "GPEN", "ECCV16", "RetinaFace"
    task: str  # "super-resolution", "face-restoration", "colorization", "face-detection"
    scale: int  # output side / input side (1 unless the network enlarges)
    input_channels: int
    output_channels: int
    size: int | None = None  # the square input side the network needs; None: any size
    # Input pixels of context a piece needs on each side for a tiled run to match the whole-frame
    # run within 1 grey level (engine/models/tiling.py); 0 for networks that are not tiled.
    context: int = 0
    # Filled in by the loader from the registry:
    key: str = ""
    sha256: str = ""  # of each file, comma-separated (what provenance records)
    licence: str = ""
    runtime: str = ""  # how it runs, from the runtime policy: "torch cpu float32", "onnxruntime cpu float32"

    def record(self) -> dict:
        """What a version's provenance says about this model: {"key", "sha256", "licence", "runtime"}."""
        return {"key": self.key, "sha256": self.sha256, "licence": self.licence, "runtime": self.runtime}


@dataclass(frozen=True)
class Architecture:
    name: str
    # Whether the weights are this network's (key names and shapes, or the graph's layers); cheap.
    detect: Callable[[Any], bool]
    # The network built from the weights' own shapes and loaded strictly; raises ModelCorrupt.
    load: Callable[[Any], ModelDescriptor]


def is_state_dict(weights: Any) -> bool:
    return isinstance(weights, Mapping) and all(isinstance(v, torch.Tensor) for v in weights.values())


def has_keys(weights: Any, *keys: str) -> bool:
    """Whether `weights` is a state dict holding all of `keys`."""
    return is_state_dict(weights) and all(key in weights for key in keys)


def load_strict(model: nn.Module, state: StateDict, architecture: str) -> nn.Module:
    """`model` with `state` loaded, every name and shape checked, in eval mode without gradients.

    Raises ModelCorrupt naming the first missing, unexpected and wrongly shaped entries.
    """
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong_shape = [f"{name} {tuple(state[name].shape)} (expected {tuple(expected[name].shape)})"
                   for name in expected if name in state and tuple(state[name].shape) != tuple(expected[name].shape)]
    problems = []
    for label, names in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong_shape)):
        if names:
            shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            problems.append(f"{label}: {shown}")
    if problems:
        raise ModelCorrupt(f"the weights do not fit the {architecture} network ({'; '.join(problems)})")
    model.load_state_dict(state, strict=True)
    return model.eval().requires_grad_(False)


def require_keys(state: StateDict, architecture: str, *keys: str) -> None:
    """Raise ModelCorrupt naming the first of `keys` the state dict lacks (before shapes are read)."""
    missing = [key for key in keys if key not in state]
    if missing:
        raise ModelCorrupt(f"the weights do not fit the {architecture} network (missing: {', '.join(missing[:5])})")
