"""Running GPEN: restore a batch of aligned faces, and pick the model size that suits a face."""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch import nn

SIZES = (256, 512, 1024, 2048)  # the official GPEN-BFR checkpoints ("gpen-bfr-<size>" in the catalog)


def restore_faces(model: nn.Module, crops: np.ndarray, batch_size: int = 4) -> np.ndarray:
    """Restore aligned faces: (N, S, S, 3) uint8 RGB with S the model's size -> the same shape."""
    crops = np.asarray(crops)
    size = model.size
    if crops.dtype != np.uint8 or crops.ndim != 4 or crops.shape[1:] != (size, size, 3):
        raise ValueError(f"expected (N, {size}, {size}, 3) uint8 RGB faces, got {crops.shape} {crops.dtype}")
    parameter = next(model.parameters())
    restored = np.empty_like(crops)
    with torch.inference_mode():
        for start in range(0, len(crops), max(1, batch_size)):
            batch = torch.from_numpy(crops[start:start + batch_size]).to(parameter.device)
            faces = batch.permute(0, 3, 1, 2).to(parameter.dtype) / 127.5 - 1
            out = model(faces).float().clamp_(-1, 1)
            out = ((out + 1) * 127.5).round_().to(torch.uint8).permute(0, 2, 3, 1)
            restored[start:start + len(batch)] = out.cpu().numpy()
    return restored


def gpen_key_for_face(face_size_px: float, available: Callable[[str], bool]) -> str | None:
    """The installed GPEN model best suited to a face of `face_size_px` in the frame.

    The smallest size that is at least the face's size: a larger model would only invent detail
    the film never held, and costs far more. A face larger than every installed model gets the
    largest one. None when no GPEN model is installed; `available(key)` says which are (the
    registry's is_available).
    """
    installed = [size for size in SIZES if available(f"gpen-bfr-{size}")]
    if not installed:
        return None
    covering = [size for size in installed if size >= face_size_px]
    return f"gpen-bfr-{covering[0] if covering else installed[-1]}"
