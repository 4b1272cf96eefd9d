"""Tone: levels (black and white points) steadied over time, and optional local contrast (CLAHE)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Iterable, Iterator, NamedTuple

import cv2
import numpy as np

from engine.stages.base import Stage, windowed

# Largest luminance gain levels may apply: a nearly flat frame (black leader, a title card's
# background) would otherwise have its grain stretched to full range.
MAX_GAIN = 4.0
STATS_WIDTH = 320


class LumaLevels(NamedTuple):
    mean: float
    black: float
    white: float


def luma_levels(rgb: np.ndarray, black_percentile: float, white_percentile: float) -> LumaLevels:
    """Mean and the two percentiles of an HxWx3 uint8 RGB frame's luminance, in 0-255 levels.

    Measured on a copy at most STATS_WIDTH pixels wide: the area downscale averages grain out,
    so the points found are those of the picture, not of its noise.
    """
    height, width = rgb.shape[:2]
    if width > STATS_WIDTH:
        size = (STATS_WIDTH, max(1, round(STATS_WIDTH * height / width)))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    luma = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)  # same weights as the Y of YCrCb
    black, white = np.percentile(luma, [black_percentile, white_percentile])
    return LumaLevels(float(luma.mean()), float(black), float(white))


def levels_lut(offset: float, black: float, white: float) -> np.ndarray:
    """A 256-entry uint8 table: shift luminance by `offset` levels, then stretch black..white to 0..255.

    When white - black is too small for a stretch of at most MAX_GAIN, the table goes only part
    of the way from identity to the full stretch, so flat frames stay as they are.
    """
    x = np.arange(256, dtype=np.float64) + offset
    spread = max(white - black, 1.0)
    stretched = (x - black) * 255.0 / spread
    # Gain of the blend is 1 + part * (255 / spread - 1); part = 1 up to a gain of MAX_GAIN.
    part = min(1.0, (MAX_GAIN - 1.0) * spread / max(255.0 - spread, 1e-6))
    return np.clip(x + part * (stretched - x), 0, 255).round().astype(np.uint8)


@dataclass
class Tone(Stage):
    """Restore the tonal range of faded film: stretch luminance between two percentiles.

    The black and white points (`black_percentile`, `white_percentile` of each frame's
    luminance) are averaged over +-`radius` frames, so dust, scratches or an object passing by
    do not make the tone of single frames jump. Each frame is first shifted by the difference
    between the window's mean luminance and its own, so an exposure jump between frames is not
    stretched along with the picture. `clahe` > 0 then adds local contrast (CLAHE with that
    clip limit on a `tile` x `tile` grid). Only luminance (Y of YCrCb) changes; chroma does not.
    """

    name: ClassVar[str] = "tone"
    radius: int = 12
    black_percentile: float = 1.0
    white_percentile: float = 99.0
    clahe: float = 0.0
    tile: int = 8

    def validate(self) -> None:
        self.require(0 <= self.radius <= 60, "radius", "must be between 0 and 60 frames")
        self.require(0.0 <= self.black_percentile <= 20.0, "black_percentile", "must be between 0 and 20")
        self.require(80.0 <= self.white_percentile <= 100.0, "white_percentile", "must be between 80 and 100")
        self.require(0.0 <= self.clahe <= 20.0, "clahe", "must be between 0 (off) and 20")
        self.require(1 <= self.tile <= 32, "tile", "must be between 1 and 32")

    def apply(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        # CLAHE objects keep only their settings between calls, so one can serve every frame.
        clahe = cv2.createCLAHE(clipLimit=self.clahe, tileGridSize=(self.tile, self.tile)) if self.clahe > 0 else None
        with_levels = ((f, luma_levels(f, self.black_percentile, self.white_percentile)) for f in frames)
        for window, center in windowed(with_levels, self.radius):
            frame, own = window[center]
            mean = float(np.mean([levels.mean for _, levels in window]))
            black = float(np.mean([levels.black for _, levels in window]))
            white = float(np.mean([levels.white for _, levels in window]))
            ycc = cv2.cvtColor(frame, cv2.COLOR_RGB2YCrCb)
            luma = cv2.LUT(ycc[..., 0], levels_lut(mean - own.mean, black, white))
            ycc[..., 0] = clahe.apply(luma) if clahe is not None else luma
            yield cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)
