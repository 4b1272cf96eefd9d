"""Dust and scratch removal: temporal impulse detection for dirt, column outliers for line scratches."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Iterable, Iterator, NamedTuple

import cv2
import numpy as np

from engine.flow import FlowEstimator, warp
from engine.stages.base import Stage, windowed

# Side of the spatial median that stands in for the missing neighbour at the first and last frame
# of a clip; dust spots up to about half this size are found there.
END_MEDIAN_SIZE = 15
# Scratches run down the frame, so they are looked for on a copy shrunk this many times in height:
# averaging along the columns keeps a vertical line while it evens out grain, and costs less.
ROW_BINNING = 4


class Scratch(NamedTuple):
    """A candidate line scratch: columns [start, stop), +1 bright or -1 dark, and the rows it covers."""

    start: int
    stop: int
    sign: float
    rows: np.ndarray  # H bool


class Prepared(NamedTuple):
    """One input frame with what every window it falls in needs, computed once."""

    rgb: np.ndarray  # HxWx3 uint8, as it came
    gray: np.ndarray  # HxW uint8 luminance of rgb
    line_residual: np.ndarray  # (H/ROW_BINNING)xW float32, see line_residual()
    scratches: list[Scratch]  # candidates, judged on this frame alone
    cleaned: np.ndarray  # HxWx3 uint8: rgb with every candidate filled
    cleaned_gray: np.ndarray  # HxW uint8 luminance of cleaned, what optical flow is computed on
    to_warp: np.ndarray  # HxWx4 uint8: cleaned and gray, warped together onto a neighbouring frame


def luma(rgb: np.ndarray) -> np.ndarray:
    """Luminance of an HxWx3 uint8 RGB frame as HxW float32 in 0-255."""
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)


def median3(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Element-wise median of three arrays of the same shape and dtype."""
    return np.maximum(np.minimum(a, b), np.minimum(np.maximum(a, b), c))


def horizontal_median(image: np.ndarray, width: int) -> np.ndarray:
    """Median over a 1 x `width` (odd) window of an HxW float32 image, edges replicated; HxW float32."""
    half = width // 2
    padded = np.pad(image, ((0, 0), (half, half)), mode="edge")
    shifted = np.stack([padded[:, i : i + image.shape[1]] for i in range(width)])
    return np.partition(shifted, half, axis=0)[half]


def line_residual(gray: np.ndarray, max_width: int) -> np.ndarray:
    """How far each pixel stands out from its row neighbourhood, on a copy binned along the columns.

    `gray` is HxW uint8 luminance; returns a (H/ROW_BINNING)xW float32 in levels (-255..255),
    positive for brighter than the neighbourhood. The horizontal median is wider than twice any
    scratch, so it follows the picture beneath a scratch, while a vertical picture edge (a step)
    passes through the median and leaves no residue.
    """
    height, width = gray.shape
    binned = cv2.resize(gray, (width, max(1, height // ROW_BINNING)), interpolation=cv2.INTER_AREA)
    binned = binned.astype(np.float32)
    return binned - horizontal_median(binned, 2 * max_width + 5)


def find_scratches(residual: np.ndarray, height: int, threshold: float, max_width: int,
                   min_length: float) -> list[Scratch]:
    """Candidate vertical line scratches in a line_residual() map of a frame `height` pixels tall.

    A scratch is a run of at most `max_width` columns that stands out by more than `threshold`
    levels, in the same direction, on at least `min_length` (0-1) of the rows; its soft rim (a
    column beside it standing out by a third of that) is included.
    """
    width = residual.shape[1]
    found = []
    for sign in (1.0, -1.0):
        signed = sign * residual
        coverage = (signed > threshold).mean(axis=0)
        rim = (signed > threshold / 3).mean(axis=0) >= min_length
        for start, stop in _runs(coverage >= min_length):
            if stop - start > max_width:
                continue  # a broad band is picture (or a bar), not a scratch
            start -= int(start > 0 and rim[start - 1])
            stop += int(stop < width and rim[stop])
            # The rows where the line shows at a third of the threshold, short gaps (grain, a
            # patch as bright as the scratch beneath it) bridged, back at full height.
            rows = (signed[:, start:stop] > threshold / 3).any(axis=1).astype(np.uint8)
            rows = cv2.morphologyEx(rows[:, None], cv2.MORPH_CLOSE, np.ones((max(3, len(rows) // 20), 1), np.uint8))
            rows = np.repeat(rows[:, 0].astype(bool), ROW_BINNING)[:height]
            rows = np.pad(rows, (0, height - len(rows)), mode="edge")
            found.append(Scratch(start, stop, sign, rows))
    return found


def follows_picture(scratch: Scratch, moved_residual: np.ndarray, neighbour_residual: np.ndarray,
                    threshold: float) -> bool:
    """Whether a candidate line moved with the picture to a neighbouring frame: then it is picture.

    A scratch is fixed to the film frame, give or take a column of wander, so in the neighbour it
    is still at about the same columns; a thin pole or cable moves with the camera, so it is there
    in the neighbour warped onto this frame instead. `moved_residual` is the line_residual() of
    the warped neighbour at the scratch's columns only, `neighbour_residual` that of the
    neighbour as it is. When the picture moves less than the line's width plus its wander the two
    cannot be told apart, and the line is taken for a scratch.
    """
    moved = (scratch.sign * moved_residual).max(axis=1).mean()
    around = slice(max(0, scratch.start - 1), scratch.stop + 1)
    fixed = (scratch.sign * neighbour_residual[:, around]).max(axis=1).mean()
    return moved > threshold / 2 and moved > max(fixed, 0.0) + threshold / 3


def blotch_mask(current: np.ndarray, reference_a: np.ndarray, reference_b: np.ndarray, threshold: float) -> np.ndarray:
    """Pixels of `current` that are an impulse against two estimates of the same picture.

    All three are HxW float32 luminance in 0-255 (the references motion-compensated onto
    `current`). A pixel is dirt when it is brighter than both references, or darker than both,
    by more than `threshold` levels, while the references agree with each other within
    `threshold`: real motion or an occlusion rarely makes both neighbours agree against the frame.
    Returns an HxW bool mask.
    """
    diff_a = current - reference_a
    diff_b = current - reference_b
    same_sign = diff_a * diff_b > 0
    outlier = np.minimum(np.abs(diff_a), np.abs(diff_b)) > threshold
    agree = np.abs(reference_a - reference_b) < threshold
    return same_sign & outlier & agree


def fill_scratches(frame: np.ndarray, scratches: list[Scratch]) -> np.ndarray:
    """An HxWx3 uint8 frame with each scratch's pixels interpolated along the rows (a new array).

    On each row the scratch's columns get the straight line between the pixels just left and
    right of it (the one that exists at a frame edge).
    """
    out = frame.copy()
    width = frame.shape[1]
    for scratch in scratches:
        span = scratch.stop - scratch.start
        if span >= width:
            continue
        left = scratch.start - 1 if scratch.start > 0 else scratch.stop
        right = scratch.stop if scratch.stop < width else scratch.start - 1
        t = (np.arange(1, span + 1, dtype=np.float32) / (span + 1))[None, :, None]
        a = out[scratch.rows, left].astype(np.float32)[:, None, :]
        b = out[scratch.rows, right].astype(np.float32)[:, None, :]
        out[scratch.rows, scratch.start : scratch.stop] = np.round(a * (1 - t) + b * t).astype(np.uint8)
    return out


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) index ranges of the True runs of a 1-D bool array."""
    padded = np.concatenate([[False], flags, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


@dataclass
class DustScratchRemoval(Stage):
    """Remove dust, dirt and vertical line scratches from old film.

    Dust and dirt sit on a single frame: each frame is compared with its two neighbours warped
    onto it along optical flow, and pixels that stand out from both in the same direction while
    the neighbours agree (by `dust_threshold` levels of 0-255) are replaced by the median of the
    frame and its two warped neighbours. At the first and last frame of a clip a spatial median
    of the frame stands in for the missing neighbour; a lone still (or a frame under 12 pixels
    on a side) gets no dust removal.

    Line scratches stay at the same place for many frames, so the neighbours cannot fill them:
    columns at most `max_scratch_width` pixels wide that stand out from their row neighbourhood
    by `scratch_threshold` levels over at least `scratch_min_length` of the frame height are filled
    by interpolating between the pixels left and right of them. A thin line that moves with the
    picture from frame to frame (a pole, a cable) is left alone.

    Each output frame depends only on the input frames within `radius` (1) of it.
    """

    name: ClassVar[str] = "descratch"
    radius: int = 1
    dust: bool = True
    dust_threshold: float = 30.0
    scratches: bool = True
    scratch_threshold: float = 15.0
    max_scratch_width: int = 3
    scratch_min_length: float = 0.4

    def validate(self) -> None:
        self.require(self.radius == 1, "radius", "must be 1: dust is judged against the frames just before and after")
        self.require(5.0 <= self.dust_threshold <= 128.0, "dust_threshold", "must be between 5 and 128")
        self.require(3.0 <= self.scratch_threshold <= 128.0, "scratch_threshold", "must be between 3 and 128")
        self.require(1 <= self.max_scratch_width <= 8, "max_scratch_width", "must be between 1 and 8 pixels")
        self.require(0.1 <= self.scratch_min_length <= 1.0, "scratch_min_length",
                     "must be between 0.1 and 1 (a fraction of the frame height)")

    def apply(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """Take and yield HxWx3 uint8 RGB frames, one out per one in, holding three at a time."""
        # Flow down to half resolution (the preset stops at a quarter) follows small, fast objects,
        # which would otherwise stand out from both neighbours like dirt and be wiped out.
        flow = FlowEstimator("fast", finest_scale=1)
        for window, center in windowed((self._prepare(frame) for frame in frames), self.radius):
            current = window[center]
            neighbours = [item for offset, item in enumerate(window) if offset != center]
            if not flow.supports(current.gray.shape):
                neighbours = []  # too small to follow motion: judged like a lone still
            if not (self.dust or current.scratches):
                yield current.rgb
                continue
            # One flow per neighbour, on the scratch-free copies so that no scratch drags it; the
            # neighbour's original luminance rides along as a fourth channel for the scratch check.
            warped = [warp(item.to_warp, flow(current.cleaned_gray, item.cleaned_gray)) for item in neighbours]
            out = self._keep_picture_lines(current, neighbours, [w[..., 3] for w in warped])
            if self.dust and warped:
                out = self._remove_dust(out, [w[..., :3] for w in warped], current.scratches)
            yield out

    def _prepare(self, rgb: np.ndarray) -> Prepared:
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        residual, found, cleaned, cleaned_gray = np.zeros((0, 0), np.float32), [], rgb, gray
        if self.scratches:
            residual = line_residual(gray, self.max_scratch_width)
            found = find_scratches(residual, gray.shape[0], self.scratch_threshold, self.max_scratch_width,
                                   self.scratch_min_length)
        if found:
            cleaned = fill_scratches(rgb, found)
            cleaned_gray = cv2.cvtColor(cleaned, cv2.COLOR_RGB2GRAY)
        return Prepared(rgb, gray, residual, found, cleaned, cleaned_gray, np.dstack([cleaned, gray]))

    def _keep_picture_lines(self, current: Prepared, neighbours: list[Prepared],
                            warped_grays: list[np.ndarray]) -> np.ndarray:
        """The HxWx3 uint8 frame with its scratches filled and the lines that are picture put back."""
        if not current.scratches or not neighbours:
            return current.cleaned
        out = current.cleaned
        # Enough columns either side for the horizontal median to see what it sees in a full frame.
        pad = self.max_scratch_width + 3
        for scratch in current.scratches:
            band = slice(max(0, scratch.start - pad), scratch.stop + pad)
            columns = slice(scratch.start - band.start, scratch.stop - band.start)
            moved = [line_residual(gray[:, band], self.max_scratch_width)[:, columns] for gray in warped_grays]
            if all(follows_picture(scratch, residual, item.line_residual, self.scratch_threshold)
                   for residual, item in zip(moved, neighbours)):
                out = out.copy() if out is current.cleaned else out
                out[scratch.rows, scratch.start : scratch.stop] = current.rgb[scratch.rows, scratch.start : scratch.stop]
        return out

    def _remove_dust(self, frame: np.ndarray, warped: list[np.ndarray], lines: list[Scratch]) -> np.ndarray:
        """`frame` (HxWx3 uint8) with its dirt replaced, from its one or two warped neighbours."""
        reference_a = warped[0]
        # At a clip end the one neighbour is paired with a spatial median, which dust also stands out from.
        reference_b = warped[1] if len(warped) > 1 else cv2.medianBlur(frame, END_MEDIAN_SIZE)
        # Dust covers several pixels while grain changes from pixel to pixel: judging a slightly
        # smoothed luminance keeps grain from passing for dirt.
        smooth = [cv2.GaussianBlur(luma(image), (3, 3), 0) for image in (frame, reference_a, reference_b)]
        mask = blotch_mask(*smooth, self.dust_threshold)
        # Line candidates are settled by the scratch test alone: a picture line kept here that a
        # neighbour's own test filled would otherwise look like dirt.
        for line in lines:
            mask[line.rows, max(0, line.start - 1) : line.stop + 1] = False
        if not mask.any():
            return frame
        # Grow the mask a little to take in the blotch's soft rim; the median leaves a pixel that
        # lies between its two references as it is, so the margin costs little.
        mask = cv2.dilate(mask.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))).astype(bool)
        out = frame.copy()
        out[mask] = median3(frame[mask], reference_a[mask], reference_b[mask])
        return out
