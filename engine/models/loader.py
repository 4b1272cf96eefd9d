"""The one way a learned model is loaded: `load_model(key)`.

The registry finds the key's files and checks their size and sha256; the file's reader turns
them into weights (.pth: a state dict by `torch.load(weights_only=True)`; .param + .bin: an ncnn
graph; .onnx, or a .py holding ONNX bytes: an onnxruntime session); each architecture's detector
is asked whether the weights are its network's (engine/models/archs), and the one that says yes
builds it. The caller gets a ModelDescriptor and never needs to know which network it is.

One cache per process: a model is loaded once per (key, device, precision) and shared by every
caller and thread; a file that changes on disk (another hash) is loaded again in its place.
Every failure is a ModelLoadError (ModelMissing, ModelCorrupt) with a message to show.
"""
from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

import torch
from torch import nn

from engine.models import registry
from engine.models.archs import recognise
from engine.models.descriptor import ModelDescriptor, is_state_dict
from engine.models.errors import ModelCorrupt, ModelLoadError
from engine.models.ncnn import read_model
from engine.models.onnx import open_session
from engine.models.runtime import choose_runtime

# Keys under which training code stores the weights (basicsr / Real-ESRGAN: "params_ema", "params").
WRAPPER_KEYS = ("params_ema", "params")

_cache: dict[tuple, tuple[tuple, ModelDescriptor]] = {}  # (key, device, half) -> ((paths, hashes), model)
_slot_locks: dict[tuple, threading.Lock] = {}
_locks_lock = threading.Lock()


def load_model(key: str, *, device: str | torch.device = "cpu", half: bool | None = None,
               task: str | None = None) -> ModelDescriptor:
    """The registry's model `key`, verified, recognised by its weights, in eval mode on `device`.

    `half`: float16 weights (default: the runtime policy's choice, engine/models/runtime.py:
    on CUDA for the networks where it is safe). `task`: refuse a model made for another task
    (e.g. "super-resolution"). ONNX networks run on the CPU whatever `device` says.
    Cached per process: loading it again returns the same descriptor without reading the file.
    Raises ModelMissing (not installed: the message says where to get it), ModelCorrupt (damaged,
    another version, or another network) or ModelLoadError (asked for CUDA without a GPU, or for
    a model of another task).
    """
    found = registry.require(key)
    spec = found.spec
    if task is not None and spec.task != task:
        raise ModelLoadError(f"{key} is a {spec.task} model, not {task}.")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ModelLoadError(f"{key}: CUDA was asked for, but no GPU is available here.")
    half = None if half is None else bool(half)
    slot = (key, str(device), half)
    identity = (found.paths, found.sha256)
    with _lock_for(slot):
        entry = _cache.get(slot)
        if entry is None or entry[0] != identity:
            entry = _cache[slot] = (identity, _load(found, device, half))
        return entry[1]


def clear_cache() -> None:
    """Forget every loaded model (the next load_model reads its files again)."""
    with _locks_lock:
        _cache.clear()


def _lock_for(slot: tuple) -> threading.Lock:
    # One lock per slot: two threads asking for one model load it once, other models load meanwhile.
    with _locks_lock:
        return _slot_locks.setdefault(slot, threading.Lock())


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a PyTorch checkpoint, read without running any code it holds."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # truncated, not a PyTorch file, or holding more than tensors
        raise ModelCorrupt(f"it could not be read as a PyTorch checkpoint ({error})") from None
    for wrapper in WRAPPER_KEYS:
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
            break
    if not is_state_dict(state):
        raise ModelCorrupt("it holds no plain table of weights")
    return state


def read_weights(paths: tuple[Path, ...]) -> Any:
    """What an architecture's detector is shown: a state dict, an ncnn graph or an ONNX session."""
    suffixes = tuple(path.suffix for path in paths)
    if suffixes == (".param", ".bin"):
        return read_model(*paths)
    if suffixes in ((".pth",), (".pt",)):
        return read_state_dict(paths[0])
    if suffixes in ((".onnx",), (".py",)):
        return open_session(paths[0])
    raise ModelCorrupt(f"the loader reads no files of the kind {', '.join(suffixes)}")


def _load(found: registry.ModelStatus, device: torch.device, half: bool | None) -> ModelDescriptor:
    spec = found.spec
    try:
        weights = read_weights(found.paths)
        arch = recognise(weights)
        if arch is None:
            raise ModelCorrupt(f"it holds no network the engine knows (expected {spec.architecture})")
        if arch.name != spec.architecture:
            raise ModelCorrupt(f"it holds a {arch.name} network, not the {spec.architecture} of {spec.key}")
        descriptor = arch.load(weights)
        for name, expected in spec.expects.items():
            actual = getattr(descriptor, name)
            if actual != expected:
                raise ModelCorrupt(f"its {arch.name} network has {name} {actual}, {spec.key} has {expected}")
    except ModelCorrupt as error:
        raise ModelCorrupt(f"{spec.title}: {found.paths[-1]}: {error}; "
                           f"it is another model or a damaged file.") from None
    runtime = choose_runtime(weights, descriptor.architecture, device, half)
    model = descriptor.model
    if isinstance(model, nn.Module):
        model = model.to(device=runtime.device, dtype=runtime.dtype)
    return dataclasses.replace(descriptor, model=model, key=spec.key, sha256=",".join(found.sha256),
                               licence=spec.licence, runtime=runtime.label())
