"""Upscale: classical super-resolution fallback (Lanczos resize and a light unsharp mask)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Iterable, Iterator

import cv2
import numpy as np

from engine.stages.base import Stage
from engine.stages.sharpen import unsharp_luma

SCALES = (2, 3, 4)
# Tuned on skimage photos downscaled with INTER_AREA: the blur radius that a box downscale by
# `scale` leaves grows with the scale; a 2-level threshold keeps flat, noisy areas (sky) quiet.
SIGMA_PER_SCALE = 0.35
THRESHOLD = 2.0


def upscale_frame(rgb: np.ndarray, scale: int, amount: float = 0.6) -> np.ndarray:
    """Enlarge an HxWx3 uint8 RGB frame to exactly (scale*H)x(scale*W)x3 uint8 RGB.

    Lanczos-4 interpolation, then an unsharp mask of `amount` on luminance to restore some of
    the edge contrast interpolation cannot (0 gives plain Lanczos). Values stay in 0-255.
    """
    height, width = rgb.shape[:2]
    # Lanczos overshoots a little at edges; cv2 saturates uint8 output, so no wrap-around.
    big = cv2.resize(rgb, (width * scale, height * scale), interpolation=cv2.INTER_LANCZOS4)
    return unsharp_luma(big, amount, SIGMA_PER_SCALE * scale, THRESHOLD)


@dataclass
class Upscale(Stage):
    """Enlarge each frame `scale` times (2, 3 or 4) with Lanczos interpolation and a mild sharpen.

    A fallback when no learned super-resolution model is at hand: it adds no detail that is not
    in the frame, but keeps edges crisper than bicubic. `amount` is the sharpening (0 = none).
    """

    name: ClassVar[str] = "upscale"
    scale: int = 2
    amount: float = 0.6

    def validate(self) -> None:
        self.require(self.scale in SCALES, "scale", "must be 2, 3 or 4")
        self.require(0.0 <= self.amount <= 2.0, "amount", "must be between 0 and 2")

    def apply(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        for frame in frames:
            yield upscale_frame(frame, self.scale, self.amount)
