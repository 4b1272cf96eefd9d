"""Temporal denoise with motion compensation (OpenCV DIS optical flow)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Iterable, Iterator

import cv2
import numpy as np

from engine.stages.base import Stage, windowed


def warp_to(reference_gray: np.ndarray, moving_gray: np.ndarray, moving: np.ndarray, flow_engine) -> np.ndarray:
    """Warp `moving` (HxWxC) onto the reference frame along the DIS flow from reference to moving."""
    flow = flow_engine.calc(reference_gray, moving_gray, None)
    height, width = reference_gray.shape
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return cv2.remap(moving, grid_x + flow[..., 0], grid_y + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


MIN_FLOW_SIDE = 16


@dataclass
class TemporalDenoise(Stage):
    """Average each frame with its motion-compensated neighbours, weighted by how well they match.

    Neighbours within +-`radius` frames are warped onto the frame along optical flow; each
    pixel's weight falls off with its difference to the frame (relative to `strength`, roughly
    the noise's standard deviation in 0-255 levels), so moving edges and occlusions are not
    smeared. A lone frame (a still image) falls back to spatial non-local means.
    """

    name: ClassVar[str] = "denoise"
    radius: int = 2
    strength: float = 12.0

    def validate(self) -> None:
        self.require(1 <= self.radius <= 5, "radius", "must be between 1 and 5 frames")
        self.require(1.0 <= self.strength <= 60.0, "strength", "must be between 1 and 60")

    def apply(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        flow_engine = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
        with_gray = ((frame, cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)) for frame in frames)
        for window, center in windowed(with_gray, self.radius):
            # DIS optical flow needs frames of at least 12 pixels a side.
            if len(window) == 1 or min(window[0][1].shape) < MIN_FLOW_SIDE:
                yield self._spatial(window[0][0])
                continue
            yield self._temporal(window, center, flow_engine)

    def _spatial(self, frame: np.ndarray) -> np.ndarray:
        return cv2.fastNlMeansDenoisingColored(frame, None, self.strength * 0.8, self.strength * 0.8, 7, 21)

    def _temporal(self, window, center: int, flow_engine) -> np.ndarray:
        frame, gray = window[center]
        reference = frame.astype(np.float32)
        total = reference.copy()
        weights = np.ones(gray.shape, np.float32)
        # Differences are judged on a blurred copy so that grain itself does not lower the weights.
        sigma = 2.0 * self.strength
        for offset, (neighbour, neighbour_gray) in enumerate(window):
            if offset == center:
                continue
            warped = warp_to(gray, neighbour_gray, neighbour, flow_engine).astype(np.float32)
            diff = cv2.GaussianBlur(np.abs(warped - reference).mean(axis=2), (5, 5), 0)
            weight = np.exp(-(diff * diff) / (2 * sigma * sigma))
            total += warped * weight[..., None]
            weights += weight
        return np.clip(total / weights[..., None], 0, 255).round().astype(np.uint8)
