"""Frame-rate conversion by optical-flow interpolation, with repeated frames smoothed out."""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import ClassVar, Iterable, Iterator

import cv2
import numpy as np

from engine.flow import FlowEstimator, consistency_weight, pixel_grid, sample
from engine.io.video import is_variable_rate
from engine.stages.base import Stage

# Rates are kept as small fractions so the output's frame pattern repeats every few frames
# (which is what lets a resumed run line up with an uninterrupted one).
MAX_RATE_DENOMINATOR = 100


class FlowPair:
    """Two consecutive HxWx3 uint8 RGB frames and their flows both ways, to make frames in between."""

    def __init__(self, first: np.ndarray, second: np.ndarray, flow: FlowEstimator):
        self.first, self.second = first, second
        gray0 = cv2.cvtColor(first, cv2.COLOR_RGB2GRAY)
        gray1 = cv2.cvtColor(second, cv2.COLOR_RGB2GRAY)
        if flow.supports(gray0.shape):
            self.forward = flow(gray0, gray1)  # where each pixel of `first` is in `second`
            self.backward = flow(gray1, gray0)
        else:  # too small to follow motion: the frames in between are cross-fades
            self.forward = self.backward = np.zeros((*gray0.shape, 2), np.float32)
        self.grid = pixel_grid(*gray0.shape)
        # Where the two flows disagree, a pixel is occluded in the other frame.
        self.visible_in_second = consistency_weight(self.forward, self.backward)
        self.visible_in_first = consistency_weight(self.backward, self.forward)

    def at(self, alpha: float) -> np.ndarray:
        """The frame a fraction `alpha` (0-1) of the way from `first` to `second`, HxWx3 uint8 RGB."""
        if alpha <= 1e-3:
            return self.first
        if alpha >= 1 - 1e-3:
            return self.second
        # Linear motion: from the in-between frame, `first` lies -alpha of the forward flow away and
        # `second` -(1 - alpha) of the backward flow away (flows taken at the same pixel).
        toward_first = self.grid - alpha * self.forward
        toward_second = self.grid - (1 - alpha) * self.backward
        from_first = sample(self.first, toward_first)
        from_second = sample(self.second, toward_second)
        weight_first = (1 - alpha) * (0.05 + sample(self.visible_in_second, toward_first))
        weight_second = alpha * (0.05 + sample(self.visible_in_first, toward_second))
        total = (weight_first + weight_second)[..., None]
        blended = (from_first * weight_first[..., None] + from_second * weight_second[..., None]) / total
        return np.clip(blended, 0, 255).round().astype(np.uint8)


@dataclass
class Interpolate(Stage):
    """Convert the frame rate (old film at 12-18 fps to 24, 25, 30, 50 or 60) along optical flow.

    Output frame j shows the moment j/`fps`; between two input frames it is made by warping both
    toward that moment and blending them, weighted by how visible each pixel is in each frame.
    The clip's duration is kept. With `dedupe`, runs of up to `max_repeats` repeated frames (a
    frame equal to the one before, as film transfers often have) are replaced by frames in
    between their neighbours, so motion does not stall and then jump.
    """

    name: ClassVar[str] = "interpolate"
    changes_frame_rate: ClassVar[bool] = True
    fps: float = 24.0
    dedupe: bool = True
    duplicate_threshold: float = 0.6
    max_repeats: int = 3

    @property
    def radius(self) -> int:
        """Input frames on each side of an output frame that can change it: a run of repeats and a pair."""
        return self.max_repeats + 2

    def validate(self) -> None:
        self.require(1.0 <= self.fps <= 120.0, "fps", "must be between 1 and 120")
        self.require(0.0 <= self.duplicate_threshold <= 10.0, "duplicate_threshold", "must be between 0 and 10 levels")
        self.require(1 <= self.max_repeats <= 8, "max_repeats", "must be between 1 and 8")

    def bind(self, input_fps: float, times: list[float] | None = None) -> None:
        # Not recipe parameters: they come from the source. `times` (seconds per input frame) are
        # kept only when they are irregular, i.e. frames were dropped or held in the source.
        self.input_fps = input_fps
        self.positions = [t * input_fps for t in times] if times and is_variable_rate(times, input_fps) else None

    def rate_ratio(self) -> Fraction:
        """Output frames per input frame, as a small fraction p/q."""
        source = Fraction(self.input_fps).limit_denominator(1001)
        return (Fraction(self.fps).limit_denominator(1001) / source).limit_denominator(MAX_RATE_DENOMINATOR)

    def output_fps(self, input_fps: float) -> float:
        return self.fps

    def apply(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        flow = FlowEstimator("medium")
        if self.dedupe:
            frames = self._smooth_repeats(frames, flow)
        ratio = self.rate_ratio()
        step = 1 / ratio  # input frames per output frame
        output_index, pair, previous, previous_at, at = 0, None, None, 0, 0
        for index, frame in enumerate(frames):
            # Where this frame sits on the clip's time line, in nominal input frames: its index
            # (exact fractions, so the output pattern repeats), or its timestamp when frames were
            # dropped, so a gap is filled with motion rather than stretched.
            at = self.positions[index] if self.positions and index < len(self.positions) else index
            if previous is not None:
                pair = None
                # Outputs whose moment falls in [previous_at, at).
                while output_index * step < at:
                    alpha = float((output_index * step - previous_at) / (at - previous_at))
                    if alpha > 1e-3 and pair is None:
                        pair = FlowPair(previous, frame, flow)
                    yield previous if alpha <= 1e-3 else pair.at(alpha)
                    output_index += 1
            previous, previous_at = frame, at
        # The last input frame covers the rest of the clip's duration.
        total = round((at + 1) * ratio) if previous is not None else 0
        while previous is not None and output_index < total:
            yield previous
            output_index += 1

    def _smooth_repeats(self, frames: Iterable[np.ndarray], flow: FlowEstimator) -> Iterator[np.ndarray]:
        """Replace each run of repeated frames with frames spread between the run's neighbours."""
        anchor, run = None, []
        for frame in frames:
            if anchor is None:
                anchor = frame
                yield frame
                continue
            reference = run[-1] if run else anchor
            if _mean_difference(frame, reference) <= self.duplicate_threshold and len(run) < self.max_repeats:
                run.append(frame)
                continue
            if run:
                pair = FlowPair(anchor, frame, flow)
                steps = len(run) + 1
                for k in range(1, steps):
                    yield pair.at(k / steps)
                run = []
            anchor = frame
            yield frame
        yield from run  # a hold at the very end stays a hold


def _mean_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference in 0-255 levels, on a small copy (fast; grain averages out)."""
    size = (min(160, a.shape[1]), max(1, round(min(160, a.shape[1]) * a.shape[0] / a.shape[1])))
    small_a = cv2.resize(a, size, interpolation=cv2.INTER_AREA).astype(np.int16)
    small_b = cv2.resize(b, size, interpolation=cv2.INTER_AREA).astype(np.int16)
    return float(np.abs(small_a - small_b).mean())
