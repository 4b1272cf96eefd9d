"""Dust and scratch removal: temporal impulse detection for dirt, column outliers for line scratches."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Iterable, Iterator

import cv2
import numpy as np

from engine.stages.base import Stage, windowed
from engine.stages.denoise import warp_to

# Side of the spatial median that stands in for a missing neighbour at the ends of a clip; dust
# spots up to about half this size are found there.
END_MEDIAN_SIZE = 15


def luma(rgb: np.ndarray) -> np.ndarray:
    """Luminance of an HxWx3 uint8 RGB frame as HxW float32 in 0-255."""
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)


def horizontal_median(image: np.ndarray, width: int) -> np.ndarray:
    """Median over a 1 x `width` (odd) window of an HxW float32 image, edges replicated; HxW float32."""
    half = width // 2
    padded = np.pad(image, ((0, 0), (half, half)), mode="edge")
    shifted = np.stack([padded[:, i : i + image.shape[1]] for i in range(width)])
    return np.median(shifted, axis=0)


def blotch_mask(current: np.ndarray, reference_a: np.ndarray, reference_b: np.ndarray, threshold: float) -> np.ndarray:
    """Pixels of `current` that are an impulse against two estimates of the same scene.

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


def scratch_mask(gray: np.ndarray, threshold: float, max_width: int, min_length: float) -> np.ndarray:
    """Thin vertical line scratches in an HxW float32 luminance image (0-255); an HxW bool mask.

    A scratch is a run of at most `max_width` columns that is brighter (or darker) than its
    horizontal neighbourhood by more than `threshold` levels on at least `min_length` (0-1) of
    the rows. The horizontal median is wider than any scratch, so it follows the picture beneath
    it, while vertical picture edges (steps) pass through the median and leave no residue.
    """
    height, width = gray.shape
    residual = gray - horizontal_median(gray, 2 * max_width + 5)
    mask = np.zeros(gray.shape, bool)
    for sign in (1.0, -1.0):
        coverage = (sign * residual > threshold).mean(axis=0)
        # A soft rim: the columns beside the core that stand out at a third of the threshold.
        rim = (sign * residual > threshold / 3).mean(axis=0) >= min_length
        for start, stop in _runs(coverage >= min_length):
            if stop - start > max_width:
                continue  # a broad band is picture (or a bar), not a scratch
            start -= int(start > 0 and rim[start - 1])
            stop += int(stop < width and rim[stop])
            # Along the scratch, take the rows where it shows at a third of the threshold, with
            # short gaps (grain, a bright patch beneath) bridged vertically.
            rows = (sign * residual[:, start:stop] > threshold / 3).any(axis=1)
            rows = cv2.morphologyEx(rows.astype(np.uint8)[:, None], cv2.MORPH_CLOSE,
                                    np.ones((max(3, height // 20), 1), np.uint8))[:, 0].astype(bool)
            mask[rows, start:stop] = True
    return mask


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) index ranges of the True runs of a 1-D bool array."""
    padded = np.concatenate([[False], flags, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def fill_columns(frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Replace masked pixels of an HxWx3 uint8 frame by linear interpolation along each row.

    Each horizontal run of masked pixels gets the straight line between the unmasked pixels just
    left and right of it (the one that exists at a frame edge). Returns a new HxWx3 uint8 frame.
    """
    out = frame.copy()
    width = frame.shape[1]
    for y in np.flatnonzero(mask.any(axis=1)):
        for start, stop in _runs(mask[y]):
            left = frame[y, start - 1].astype(np.float32) if start > 0 else None
            right = frame[y, stop].astype(np.float32) if stop < width else None
            if left is None and right is None:
                continue
            left = right if left is None else left
            right = left if right is None else right
            t = (np.arange(1, stop - start + 1, dtype=np.float32) / (stop - start + 1))[:, None]
            out[y, start:stop] = np.round(left * (1 - t) + right * t).astype(np.uint8)
    return out


@dataclass
class DustScratchRemoval(Stage):
    """Remove dust, dirt and vertical line scratches from old film.

    Dust and dirt sit on a single frame: each frame is compared with its two neighbours warped
    onto it along optical flow, and pixels that stand out from both in the same direction while
    the neighbours agree (`dust_threshold`, in 0-255 levels) are replaced by the median of the
    frame and its two warped neighbours. At the first and last frame the missing neighbour is
    replaced by a spatial median of the frame; a lone still gets no dust removal.

    Line scratches stay at the same place for many frames, so they are found in each frame on
    its own: columns at most `max_scratch_width` pixels wide that stand out from their horizontal
    neighbourhood by `scratch_threshold` levels over at least `scratch_min_length` of the height.
    They are filled by interpolating between the pixels on their left and right.
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
        flow_engine = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
        # Scratches go first, frame by frame, so that the flow and the dust test see clean columns;
        # each output still depends only on its own window of input frames.
        prepared = ((frame, cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY))
                    for frame in (self.remove_scratches(f) for f in frames))
        for window, center in windowed(prepared, self.radius):
            if not self.dust or len(window) == 1:
                yield window[center][0]
                continue
            yield self._remove_dust(window, center, flow_engine)

    def remove_scratches(self, frame: np.ndarray) -> np.ndarray:
        """The HxWx3 uint8 RGB frame with its vertical line scratches filled in (a new array)."""
        if not self.scratches:
            return frame
        mask = scratch_mask(luma(frame), self.scratch_threshold, self.max_scratch_width, self.scratch_min_length)
        return fill_columns(frame, mask) if mask.any() else frame

    def _remove_dust(self, window, center: int, flow_engine) -> np.ndarray:
        frame, gray = window[center]
        references = [warp_to(gray, neighbour_gray, neighbour, flow_engine)
                      for offset, (neighbour, neighbour_gray) in enumerate(window) if offset != center]
        if len(references) == 1:
            references.append(cv2.medianBlur(frame, END_MEDIAN_SIZE))
        reference_a, reference_b = references
        mask = blotch_mask(luma(frame), luma(reference_a), luma(reference_b), self.dust_threshold)
        if not mask.any():
            return frame
        # Grow the mask a little to take the blotch's soft rim; the median below leaves any pixel
        # that lies between its two references unchanged, so the margin costs nothing.
        mask = cv2.dilate(mask.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))).astype(bool)
        median = np.median(np.stack([frame, reference_a, reference_b]), axis=0).astype(np.uint8)
        out = frame.copy()
        out[mask] = median[mask]
        return out
