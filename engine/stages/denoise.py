"""Temporal denoise with motion compensation (OpenCV DIS optical flow)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Iterable, Iterator

import cv2
import numpy as np

from engine.flow import FlowEstimator, sample, sample_positions, warp
from engine.stages.base import Stage, windowed


class AdjacentFlows:
    """Optical flow between neighbouring frames, each pair computed once; a longer hop is composed
    from the steps between (t -> t+2 is t -> t+1, then t+1 -> t+2 read where the first step lands).

    A frame's neighbours at +-1..radius need 2*radius flows if each is estimated directly; this needs
    2 new ones per frame whatever the radius, and the result depends on the frames alone (not on where
    a run started), so a resumed run computes the same flows.
    """

    def __init__(self, estimate: FlowEstimator):
        self.estimate = estimate
        self.steps: dict[tuple[int, int], np.ndarray] = {}

    def _step(self, grays: dict[int, np.ndarray], a: int, b: int) -> np.ndarray:
        if (a, b) not in self.steps:
            self.steps[(a, b)] = self.estimate(grays[a], grays[b])
        return self.steps[(a, b)]

    def between(self, grays: dict[int, np.ndarray], a: int, b: int) -> np.ndarray:
        """HxWx2 flow from frame a to frame b (indices into the stream; both in `grays`)."""
        direction = 1 if b > a else -1
        flow = self._step(grays, a, a + direction)
        for k in range(a + direction, b, direction):
            step = self._step(grays, k, k + direction)
            flow = flow + sample(step, sample_positions(flow))
        return flow

    def forget_before(self, first: int) -> None:
        for key in [key for key in self.steps if min(key) < first]:
            del self.steps[key]


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
        estimate = FlowEstimator("fast")
        flows = AdjacentFlows(estimate)
        indexed = ((index, frame, cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)) for index, frame in enumerate(frames))
        for window, center in windowed(indexed, self.radius):
            if len(window) == 1 or not estimate.supports(window[0][2].shape):
                yield self._single_frame(window[center][1])
                continue
            yield self._temporal(window, center, flows)
            flows.forget_before(window[0][0])

    def _single_frame(self, frame: np.ndarray) -> np.ndarray:
        return cv2.fastNlMeansDenoisingColored(frame, None, self.strength * 0.8, self.strength * 0.8, 7, 21)

    def _temporal(self, window, center: int, flows: AdjacentFlows) -> np.ndarray:
        index, frame, gray = window[center]
        grays = {i: g for i, _, g in window}
        reference = frame.astype(np.float32)
        total = reference.copy()
        weights = np.ones(gray.shape, np.float32)
        # Differences are judged on a blurred copy so that grain itself does not lower the weights;
        # the blurred difference is whole levels, so each weight comes from a 256-entry table.
        sigma = 2.0 * self.strength
        weight_of = np.exp(-(np.arange(256, dtype=np.float32) ** 2) / (2 * sigma * sigma)).astype(np.float32)
        for neighbour_index, neighbour, _ in window:
            if neighbour_index == index:
                continue
            warped = warp(neighbour, flows.between(grays, index, neighbour_index))
            diff = cv2.GaussianBlur(cv2.cvtColor(cv2.absdiff(warped, frame), cv2.COLOR_RGB2GRAY), (5, 5), 0)
            weight = weight_of[diff]
            cv2.accumulateProduct(warped.astype(np.float32), cv2.merge([weight, weight, weight]), total)
            weights += weight
        averaged = np.clip(total / weights[..., None], 0, 255).round().astype(np.uint8)
        if self.spatial <= 0:
            return averaged
        # Averaging a few frames leaves some noise, most where few neighbours matched; an
        # edge-preserving pass scaled to the noise level takes it out without blurring edges.
        return cv2.bilateralFilter(averaged, 5, self.spatial * self.strength, 3)
