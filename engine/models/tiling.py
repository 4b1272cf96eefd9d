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


def _check(rgb: np.ndarray, tile: int, pad: int) -> None:
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise EngineError("Super-resolution expects an HxWx3 uint8 RGB image.")
    if tile < 16 or pad < 0:
        raise EngineError("tile must be at least 16 pixels and pad not negative.")


def _pieces(height: int, width: int, tile: int, pad: int):
    """(core rows, core columns, piece rows, piece columns) of each tile: the core of at most
    `tile` pixels a side, the piece around it with up to `pad` pixels of its surroundings (fewer at
    the image's edges, where the whole-image run has none either)."""
    rows, cols = _bounds(height, tile), _bounds(width, tile)
    for y0, y1 in zip(rows, rows[1:]):
        for x0, x1 in zip(cols, cols[1:]):
            yield (y0, y1), (x0, x1), (max(y0 - pad, 0), min(y1 + pad, height)), (max(x0 - pad, 0), min(x1 + pad, width))


def upscale_tiled(run: Callable[[np.ndarray], np.ndarray], rgb: np.ndarray, scale: int, tile: int,
                  pad: int) -> np.ndarray:
    """Enlarge an HxWx3 uint8 RGB image with `run` (an hxwx3 uint8 piece -> (sh)x(sw)x3 float in
    0-1): (sH)x(sW)x3 uint8 RGB.

    The image is cut into cores of at most `tile` pixels a side; each is run with up to `pad`
    pixels of its surroundings and only the core's share of the output is kept. Memory: one
    (tile + 2 pad)² piece.
    """
    _check(rgb, tile, pad)
    height, width = rgb.shape[:2]
    out = np.empty((height * scale, width * scale, 3), np.uint8)
    for (y0, y1), (x0, x1), (top, bottom), (left, right) in _pieces(height, width, tile, pad):
        piece = run(rgb[top:bottom, left:right])
        core = piece[(y0 - top) * scale:(y1 - top) * scale, (x0 - left) * scale:(x1 - left) * scale]
        out[y0 * scale:y1 * scale, x0 * scale:x1 * scale] = np.clip(core, 0.0, 1.0) * 255.0 + 0.5
    return out


def upscale_image(sr: ModelDescriptor, rgb: np.ndarray, tile: int = 256, pad: int | None = None) -> np.ndarray:
    """Enlarge an HxWx3 uint8 RGB image `sr.scale` times with a super-resolution model of
    load_model: (sH)x(sW)x3 uint8 RGB, in tiles of at most `tile` pixels each run with `pad`
    pixels of context (default: the network's own, `sr.context`), as upscale_tiled cuts them.

    The frame stays on the model's device from the first tile to the last: it is sent there once
    as uint8, each tile's core is rounded to uint8 there, and the enlarged frame comes back once,
    as uint8 (on a GPU, moving and converting float tiles on the host took most of the time).
    """
    if sr.task != "super-resolution":
        raise EngineError(f"{sr.key or sr.architecture} is a {sr.task} model, not super-resolution.")
    pad = sr.context if pad is None else pad
    _check(rgb, tile, pad)
    height, width = rgb.shape[:2]
    scale = sr.scale
    parameter = next(sr.model.parameters())
    with torch.inference_mode():
        image = torch.from_numpy(np.ascontiguousarray(rgb)).to(parameter.device).permute(2, 0, 1).unsqueeze(0)
        out = torch.empty((height * scale, width * scale, 3), dtype=torch.uint8, device=parameter.device)
        for (y0, y1), (x0, x1), (top, bottom), (left, right) in _pieces(height, width, tile, pad):
            piece = (image[:, :, top:bottom, left:right].to(parameter.dtype) / 255.0)
            result = sr.model(piece.contiguous(memory_format=torch.channels_last))[0]
            core = result[:, (y0 - top) * scale:(y1 - top) * scale, (x0 - left) * scale:(x1 - left) * scale]
            out[y0 * scale:y1 * scale, x0 * scale:x1 * scale] = \
                core.float().clamp_(0.0, 1.0).mul_(255.0).add_(0.5).to(torch.uint8).permute(1, 2, 0)
        return out.cpu().numpy()
