"""Deflicker: temporal normalisation of each frame's brightness and contrast."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Iterable, Iterator

import cv2
import numpy as np

from engine.stages.base import Stage, windowed


def luma_stats(rgb: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation of the luminance of an HxWx3 uint8 RGB frame (on a small copy)."""
    small = cv2.resize(rgb, (160, max(1, round(160 * rgb.shape[0] / rgb.shape[1]))), interpolation=cv2.INTER_AREA)
    luma = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(luma.mean()), float(luma.std())


@dataclass
class Deflicker(Stage):
    """Match each frame's luminance mean and contrast to the average over +-`radius` frames.

    Frame-to-frame flicker of old film is a global gain and offset on exposure; the average over
    a short window keeps slow, intended changes (a fade, a cloud) while removing the fast ones.
    `strength` 1 corrects fully, 0 leaves the frame untouched. Chroma is not changed.
    """

    name: ClassVar[str] = "deflicker"
    radius: int = 7
    strength: float = 1.0

    def validate(self) -> None:
        self.require(1 <= self.radius <= 60, "radius", "must be between 1 and 60 frames")
        self.require(0.0 <= self.strength <= 1.0, "strength", "must be between 0 and 1")

    def apply(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        with_stats = ((frame, luma_stats(frame)) for frame in frames)
        for window, center in windowed(with_stats, self.radius):
            frame, (mean, std) = window[center]
            target_mean = float(np.mean([s[0] for _, s in window]))
            target_std = float(np.mean([s[1] for _, s in window]))
            yield self._correct(frame, mean, std, target_mean, target_std)

    def _correct(self, frame: np.ndarray, mean: float, std: float, target_mean: float, target_std: float) -> np.ndarray:
        gain = target_std / std if std > 1e-3 else 1.0
        gain = 1.0 + self.strength * (gain - 1.0)
        shift = self.strength * (target_mean - mean)
        if abs(gain - 1.0) < 1e-4 and abs(shift) < 0.05:
            return frame
        ycc = cv2.cvtColor(frame, cv2.COLOR_RGB2YCrCb).astype(np.float32)
        ycc[..., 0] = (ycc[..., 0] - mean) * gain + mean + shift
        return cv2.cvtColor(np.clip(ycc, 0, 255).round().astype(np.uint8), cv2.COLOR_YCrCb2RGB)
