"""Dense optical flow between two frames (OpenCV DIS), sampling an image along it, and the
forward-backward consistency check that tells which pixels are visible in both frames.

A flow from frame A to frame B is HxWx2 float32, the shape of A: for each pixel (x, y) of A, the
shift (dx, dy) in pixels to where that point is in B. Sampling B at (x + dx, y + dy) brings B onto
A's pixels (backward warping), which leaves no holes, unlike pushing A's pixels forward.
"""
from __future__ import annotations

import math
import threading
from functools import lru_cache

import cv2
import numpy as np

PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}
PATCH_SIZE = 8  # every preset's
# Smallest side flow is estimated on. OpenCV says 12, but crashes below 16 on most shapes.
MIN_SIDE = 16


def coarsest_scale(height: int, width: int, finest_scale: int) -> int:
    """The coarsest pyramid level OpenCV's DIS starts from for an image of this size (as its
    `calc` picks it: from the size, or, when that is finer than `finest_scale`, from the width
    alone, whatever the height)."""
    scale = min(int(math.log(max(height, width) / (4.0 * PATCH_SIZE)) / math.log(2.0) + 0.5),
                int(math.log(min(height, width) / PATCH_SIZE) / math.log(2.0)))
    if scale < finest_scale:
        scale = max(0, math.floor(math.log2(2.0 * width / (5.0 * PATCH_SIZE))))
    return scale


class FlowEstimator:
    """DIS optical flow (Kroeger et al. 2016) with a preset the caller picks for its speed and care.

    `preset`: "ultrafast", "fast" or "medium". `finest_scale`: the finest pyramid level flow is
    refined at (0 = full resolution, 1 = half, 2 = a quarter); None keeps the preset's (2 for
    ultrafast and fast, 1 for medium). The OpenCV object is made once per thread and reused for every pair of
    that size; it keeps no flow between calls, so each call's result depends on its pair alone.
    """

    def __init__(self, preset: str = "fast", *, finest_scale: int | None = None):
        if preset not in PRESETS:
            raise ValueError(f"unknown DIS preset {preset!r}; known: {', '.join(PRESETS)}")
        self.preset = preset
        self.finest_scale = finest_scale
        self._local = threading.local()

    def _engine(self):
        engine = getattr(self._local, "engine", None)
        if engine is None:
            engine = cv2.DISOpticalFlow_create(PRESETS[self.preset])
            if self.finest_scale is not None:
                engine.setFinestScale(self.finest_scale)
            self._local.engine = engine
        return engine

    def supports(self, shape: tuple[int, ...]) -> bool:
        """Whether flow can be estimated between images of this shape (HxW...). OpenCV's DIS reads
        beyond the image, and may crash the process, where its coarsest level is smaller than a
        patch: below 16 pixels a side, and on long thin frames (16 x 200) up to 31 pixels high."""
        height, width = shape[:2]
        if min(height, width) < MIN_SIDE:
            return False
        finest = self.finest_scale if self.finest_scale is not None else self._engine().getFinestScale()
        scale = coarsest_scale(height, width, finest)
        return (height >> scale) >= PATCH_SIZE and (width >> scale) >= PATCH_SIZE

    def __call__(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """HxWx2 float32 flow from `first` to `second`, both HxW uint8 gray of one shape that
        `supports` accepts (ValueError otherwise)."""
        if first.shape != second.shape or first.ndim != 2:
            raise ValueError(f"flow needs two gray images of one shape, not {first.shape} and {second.shape}")
        if not self.supports(first.shape):
            raise ValueError(f"optical flow cannot follow motion in an image of {first.shape[1]}x{first.shape[0]} "
                             "pixels; it needs at least 16 a side (32 for a long thin frame)")
        return self._engine().calc(first, second, None)


@lru_cache(maxsize=4)
def pixel_grid(height: int, width: int) -> np.ndarray:
    """HxWx2 float32 (x, y) coordinates of every pixel; read-only, shared between calls."""
    grid = np.dstack(np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32)))
    grid.setflags(write=False)
    return grid


def sample_positions(flow: np.ndarray) -> np.ndarray:
    """HxWx2 float32 absolute (x, y) positions each pixel's flow points to: the pixel grid + flow."""
    return pixel_grid(*flow.shape[:2]) + flow


def sample(image: np.ndarray, positions: np.ndarray, border: int = cv2.BORDER_REPLICATE) -> np.ndarray:
    """`image` (HxW or HxWxC, C <= 4, uint8 or float32) read at `positions` (H'xW'x2 float32 absolute
    (x, y)) with bilinear interpolation: H'xW'(xC), the dtype of `image`. Positions beyond the
    edges read the edge pixel (BORDER_REPLICATE), or 0 with BORDER_CONSTANT."""
    return cv2.remap(image, positions, None, cv2.INTER_LINEAR, borderMode=border)


def warp(image: np.ndarray, flow: np.ndarray, border: int = cv2.BORDER_REPLICATE) -> np.ndarray:
    """Frame B (`image`, HxW(xC)) brought onto frame A's pixels along the HxWx2 float32 `flow` from A
    to B: pixel (x, y) of the result is B at (x, y) + flow(x, y). Same shape and dtype as `image`."""
    return sample(image, sample_positions(flow), border)


def consistent_mask(forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """HxW bool: True where a pixel of A is visible in B too, by the forward-backward consistency
    test (Sundaram et al. 2010).

    `forward` is the HxWx2 float32 flow from A to B, `backward` the flow from B to A. Going along
    `forward` and back along `backward` (read where the pixel landed) must end where it started,
    within a tolerance that grows with the motion, as flow errors do; a pixel that fails is
    occluded in B (or its flow is wrong). Pixels whose flow leaves the frame are False too.
    """
    height, width = forward.shape[:2]
    positions = sample_positions(forward)
    back_there = sample(backward, positions)
    mismatch = np.sum((forward + back_there) ** 2, axis=2)
    tolerance = 0.01 * (np.sum(forward**2, axis=2) + np.sum(back_there**2, axis=2)) + 0.5
    inside = ((positions[..., 0] >= 0) & (positions[..., 0] <= width - 1)
              & (positions[..., 1] >= 0) & (positions[..., 1] <= height - 1))
    return (mismatch <= tolerance) & inside


def consistency_weight(forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """HxW float32 in (0, 1]: a soft form of consistent_mask, exp(-e^2 / 2) for a round-trip error
    of e pixels, so 1 where the two flows cancel and near 0 where a pixel of A is occluded in B.
    Positions beyond the frame read the flow at its edge."""
    back_there = sample(backward, sample_positions(forward))
    return np.exp(-np.sum((forward + back_there) ** 2, axis=2) / 2.0)
