"""RetinaFace's prior boxes, and the decoding of the network's offsets against them.

For every cell of three feature maps (strides 8, 16, 32) the network predicts, for two square
priors per cell, box offsets, a face score and 5 landmark offsets.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

# The network was trained on BGR images with these channel means subtracted (no scaling).
BGR_MEAN = np.array([104.0, 117.0, 123.0], np.float32)
STRIDES = (8, 16, 32)
PRIOR_SIZES = ((16, 32), (64, 128), (256, 512))  # square prior sides, in input pixels, per stride
CENTER_VARIANCE, SIZE_VARIANCE = 0.1, 0.2


@lru_cache(maxsize=8)
def prior_boxes(height: int, width: int) -> np.ndarray:
    """Nx4 (cx, cy, side, side) prior boxes in input pixels, in the network's output order:
    stride by stride, row by row, column by column, then the stride's two sizes."""
    priors = []
    for stride, sizes in zip(STRIDES, PRIOR_SIZES):
        rows, cols = -(-height // stride), -(-width // stride)
        ys, xs = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
        centers = np.stack([(xs.ravel() + 0.5) * stride, (ys.ravel() + 0.5) * stride], axis=1)
        for_cell = [np.hstack([centers, np.full((len(centers), 2), side)]) for side in sizes]
        priors.append(np.stack(for_cell, axis=1).reshape(-1, 4))
    return np.concatenate(priors).astype(np.float32)


def decode(loc: np.ndarray, landmarks: np.ndarray, priors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nx4 boxes (x0, y0, x1, y1) and Nx5x2 landmarks from the network's Nx4 and Nx10 offsets
    relative to the Nx4 priors, in input pixels."""
    centers = priors[:, :2] + loc[:, :2] * CENTER_VARIANCE * priors[:, 2:]
    sides = priors[:, 2:] * np.exp(loc[:, 2:] * SIZE_VARIANCE)
    boxes = np.hstack([centers - sides / 2, centers + sides / 2])
    points = priors[:, None, :2] + landmarks.reshape(-1, 5, 2) * CENTER_VARIANCE * priors[:, None, 2:]
    return boxes, points
