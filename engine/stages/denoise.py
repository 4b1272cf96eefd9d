"""Temporal denoise with motion compensation (OpenCV DIS optical flow)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Iterable, Iterator

import cv2
import numpy as np

from engine.flow import FlowEstimator, warp
from engine.stages.base import Stage, windowed


@dataclass
class TemporalDenoise(Stage):
    """Average each frame with its motion-compensated neighbours, weighted by how well they match.

    Neighbours within +-`radius` frames are warped onto the frame along optical flow; each
    pixel's weight falls off with its difference to the frame (relative to `strength`, roughly
    the noise's standard deviation in 0-255 levels), so moving edges and occlusions are not
    smeared. A light edge-preserving (bilateral) pass of `spatial` x `strength` then removes the
    noise the average leaves. A lone frame (a still image) falls back to spatial non-local means.
    """

    name: ClassVar[str] = "denoise"
    radius: int = 2
    strength: float = 12.0
    spatial: float = 1.0

    def validate(self) -> None:
        self.require(1 <= self.radius <= 5, "radius", "must be between 1 and 5 frames")
        self.require(1.0 <= self.strength <= 60.0, "strength", "must be between 1 and 60")
        self.require(0.0 <= self.spatial <= 3.0, "spatial", "must be between 0 (off) and 3")

    def apply(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        flow = FlowEstimator("fast")
        with_gray = ((frame, cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)) for frame in frames)
        for window, center in windowed(with_gray, self.radius):
            if len(window) == 1 or not flow.supports(window[0][1].shape):
                yield self._single_frame(window[0][0])
                continue
            yield self._temporal(window, center, flow)

    def _single_frame(self, frame: np.ndarray) -> np.ndarray:
        return cv2.fastNlMeansDenoisingColored(frame, None, self.strength * 0.8, self.strength * 0.8, 7, 21)

    def _temporal(self, window, center: int, flow: FlowEstimator) -> np.ndarray:
        frame, gray = window[center]
        reference = frame.astype(np.float32)
        total = reference.copy()
        weights = np.ones(gray.shape, np.float32)
        # Differences are judged on a blurred copy so that grain itself does not lower the weights.
        sigma = 2.0 * self.strength
        for offset, (neighbour, neighbour_gray) in enumerate(window):
            if offset == center:
                continue
            warped = warp(neighbour, flow(gray, neighbour_gray))
            # The difference's luminance, in uint8 (OpenCV does this fast), then smoothed.
            diff = cv2.GaussianBlur(cv2.cvtColor(cv2.absdiff(warped, frame), cv2.COLOR_RGB2GRAY).astype(np.float32),
                                    (5, 5), 0)
            weight = np.exp(-(diff * diff) / (2 * sigma * sigma))
            total += warped.astype(np.float32) * weight[..., None]
            weights += weight
        averaged = np.clip(total / weights[..., None], 0, 255).round().astype(np.uint8)
        if self.spatial <= 0:
            return averaged
        # Averaging a few frames leaves some noise, most where few neighbours matched; an
        # edge-preserving pass scaled to the noise level takes it out without blurring edges.
        return cv2.bilateralFilter(averaged, 5, self.spatial * self.strength, 3)
