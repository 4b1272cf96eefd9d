"""The runtime policy: the one place that decides where and how a loaded network runs, and the
name a result records for it.

- ONNX networks (RetinaFace, as its package ships it) run in onnxruntime on the CPU.
- Every other network (PyTorch checkpoints, and the ncnn files mapped into our PyTorch
  architectures) runs in torch, on the device asked for:
  - on CUDA in float16 where that is safe for the network (Real-ESRGAN's RRDBNet and compact
    SRVGG, GPEN), float32 otherwise (ECCV16's colour classifier ends in an annealed softmax whose
    exponentials float16 would overflow);
  - on the CPU in float32. torch is also the fastest correct CPU backend we have for these
    networks: at 2 threads, with the same tiles, our port ran at 1.03x (compact) and 1.62x (x4plus)
    the speed of ncnn's own CPU runtime on the same weights, its output within one grey level of
    ncnn's (bench/sr.py; bench/RESULTS.md). ncnn itself stays a test reference, not a runtime.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

# Architectures whose float16 output matches float32's within a grey level in common practice.
FLOAT16_SAFE = frozenset({"RRDBNet", "SRVGGNetCompact", "GPEN"})


@dataclass(frozen=True)
class Runtime:
    backend: str  # "torch" or "onnxruntime"
    device: str  # "cpu" or "cuda"
    precision: str  # "float32" or "float16"

    @property
    def dtype(self) -> torch.dtype:
        return torch.float16 if self.precision == "float16" else torch.float32

    def label(self) -> str:
        """What a result records, e.g. "torch cuda float16"."""
        return f"{self.backend} {self.device} {self.precision}"


def is_onnx_session(weights: Any) -> bool:
    return hasattr(weights, "run") and hasattr(weights, "get_inputs")


def choose_runtime(weights: Any, architecture: str, device: torch.device, half: bool | None) -> Runtime:
    """How a network of `architecture`, read as `weights`, runs when asked for `device`; `half`
    forces float16 on or off (None: the policy's choice)."""
    if is_onnx_session(weights):
        return Runtime("onnxruntime", "cpu", "float32")
    if half is None:
        half = device.type == "cuda" and architecture in FLOAT16_SAFE
    return Runtime("torch", device.type, "float16" if half else "float32")
