"""Sharpen: unsharp mask on luminance that leaves fine grain alone."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Iterable, Iterator

import cv2
import numpy as np

from engine.stages.base import Stage


def unsharp_luma(rgb: np.ndarray, amount: float, sigma: float, threshold: float) -> np.ndarray:
    """Unsharp mask on the luminance of an HxWx3 uint8 RGB frame; returns a new HxWx3 uint8 RGB frame.

    The detail layer is luminance minus its Gaussian blur (`sigma` in pixels), in 0-255 levels.
    Differences up to `threshold` levels are not amplified, between 1x and 2x `threshold` the
    boost fades in, above that they are boosted by `amount` (0 leaves the frame as it is).
    Chroma (Cr, Cb) is not changed, so edges get no coloured halos.
    """
    if amount <= 0:
        return rgb
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    luma = ycc[..., 0].astype(np.float32)
    detail = luma - cv2.GaussianBlur(luma, (0, 0), sigma)
    if threshold > 0:
        # A ramp rather than a hard cut: a step at the threshold would turn grain into speckles.
        detail *= np.clip(np.abs(detail) / threshold - 1.0, 0.0, 1.0)
    ycc[..., 0] = np.clip(luma + amount * detail, 0, 255).round().astype(np.uint8)
    return cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)


@dataclass
class Sharpen(Stage):
    """Unsharp mask on luminance: boost detail finer than `sigma` pixels by `amount`.

    `threshold` (0-255 levels) is the local contrast below which nothing is boosted, so film
    grain and noise are not made coarser; about twice the grain's standard deviation protects it.
    Each frame is sharpened on its own.
    """

    name: ClassVar[str] = "sharpen"
    amount: float = 0.8
    sigma: float = 1.5
    threshold: float = 5.0

    def validate(self) -> None:
        self.require(0.0 <= self.amount <= 5.0, "amount", "must be between 0 and 5")
        self.require(0.3 <= self.sigma <= 10.0, "sigma", "must be between 0.3 and 10 pixels")
        self.require(0.0 <= self.threshold <= 64.0, "threshold", "must be between 0 and 64 levels")

    def apply(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        for frame in frames:
            yield unsharp_luma(frame, self.amount, self.sigma, self.threshold)
