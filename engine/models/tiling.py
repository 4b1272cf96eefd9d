"""Running a super-resolution network on a frame of any size, tile by tile, as Real-ESRGAN's
`tile_pad` does: each tile is run with a margin of context from its neighbours and only its
core is kept, so the result matches a run on the whole frame and memory is bounded by the tile.

The margin is the network's own (`ModelDescriptor.context`): what its architecture needs for
tiled output to stay within 1 grey level of the whole frame's.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from engine.errors import EngineError
from engine.models.descriptor import ModelDescriptor

def _bounds(length: int, tile: int) -> list[int]:
    """Edges of the fewest cores of at most `tile` pixels covering [0, length), of even sizes."""
    count = -(-length // tile)
    return [round(i * length / count) for i in range(count + 1)]


def upscale_tiled(run: Callable[[np.ndarray], np.ndarray], rgb: np.ndarray, scale: int, tile: int,
                  pad: int) -> np.ndarray:
    """Enlarge an HxWx3 uint8 RGB image with `run` (an hxwx3 uint8 piece -> (sh)x(sw)x3 float in
    0-1): (sH)x(sW)x3 uint8 RGB.

    The image is cut into cores of at most `tile` pixels a side; each is run with up to `pad`
    pixels of its surroundings (fewer at the image's edges, where the whole-image run has none
    either) and only the core's share of the output is kept. Memory: one (tile + 2 pad)² piece.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise EngineError("Super-resolution expects an HxWx3 uint8 RGB image.")
    if tile < 16 or pad < 0:
        raise EngineError("tile must be at least 16 pixels and pad not negative.")
    height, width = rgb.shape[:2]
    out = np.empty((height * scale, width * scale, 3), np.uint8)
    rows, cols = _bounds(height, tile), _bounds(width, tile)
    for y0, y1 in zip(rows, rows[1:]):
        top, bottom = max(y0 - pad, 0), min(y1 + pad, height)
        for x0, x1 in zip(cols, cols[1:]):
            left, right = max(x0 - pad, 0), min(x1 + pad, width)
            piece = run(rgb[top:bottom, left:right])
            core = piece[(y0 - top) * scale:(y1 - top) * scale, (x0 - left) * scale:(x1 - left) * scale]
            out[y0 * scale:y1 * scale, x0 * scale:x1 * scale] = np.clip(core, 0.0, 1.0) * 255.0 + 0.5
    return out


def _run(model: torch.nn.Module, rgb: np.ndarray) -> np.ndarray:
    """The network on one HxWx3 uint8 piece: an (sH)x(sW)x3 float32 array in 0-1 (not clipped)."""
    parameter = next(model.parameters())
    tensor = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1))).unsqueeze(0)
    tensor = (tensor.to(parameter.device, parameter.dtype) / 255.0).contiguous(memory_format=torch.channels_last)
    return model(tensor)[0].float().cpu().numpy().transpose(1, 2, 0)


def upscale_image(sr: ModelDescriptor, rgb: np.ndarray, tile: int = 256, pad: int | None = None) -> np.ndarray:
    """Enlarge an HxWx3 uint8 RGB image `sr.scale` times with a super-resolution model of
    load_model: (sH)x(sW)x3 uint8 RGB, in tiles of at most `tile` pixels each run with `pad`
    pixels of context (default: the network's own, `sr.context`); see upscale_tiled."""
    if sr.task != "super-resolution":
        raise EngineError(f"{sr.key or sr.architecture} is a {sr.task} model, not super-resolution.")
    with torch.inference_mode():
        return upscale_tiled(lambda piece: _run(sr.model, piece), rgb, sr.scale, tile,
                             sr.context if pad is None else pad)
