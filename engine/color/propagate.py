"""Temporal spreading of colour: chroma known at some frames (anchors) is carried along optical
flow to the frames around them, so colours move with the picture instead of being guessed anew
on every frame (which is what makes per-frame colorization flicker).

Streaming, with bounded memory. Frames arrive once, in order (a stage gets an iterator), so:
- forward, chroma is carried from the last anchor frame to each new frame as it arrives, for as
  long as the segment lasts (only the previous frame is held);
- backward, chroma is carried from the next anchor over at most `window` frames before it:
  frames that close to an upcoming anchor are held (frame, forward chroma and confidence) until
  that anchor arrives, then a backward pass over the held frames adds its chroma and they are
  blended and let go. Frames further from the next anchor are emitted at once, forward only.
  Holding a window rather than re-reading the source keeps the stage a plain generator (the
  pipeline's other stages and resumable chunks need nothing else); confidence decays with
  distance anyway, so far backward colour would barely count. A held frame costs its RGB and
  gray copies and float16 chroma and confidence: 4 MB at 480p (7 MB once backward colour is added).

Confidence starts at 1 on an anchor, falls by `decay` per frame carried, and drops to 0 where
the forward-backward flow check finds a pixel occluded or coming from outside the picture.
Forward and backward chroma are averaged by confidence. Pixels no flow reaches are filled in the
forward pass: specks (flow failing on flat texture) from their neighbours, areas (uncovered
background, a pan's new edge) by the spatial solver, with the carried chroma around them and
samples transferred from the references as soft constraints. A fill is carried on like the rest,
at a lower confidence, so it does not change from frame to frame. When flow loses most of a
frame, a new shot has begun and colour is not carried across the cut.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Iterator

import cv2
import numpy as np

from engine.color.scribble import DEFAULT_WORK_PIXELS, solve_chroma, solve_chroma_near
from engine.color.space import gray_of, luminance
from engine.flow import FlowEstimator, consistent_mask, sample, sample_positions

# Flow is estimated on frames no larger than this (longer side): chroma is smooth, so finer flow
# buys little, and DIS costs grow with the pixel count.
FLOW_SIDE = 640
# Weight of the propagated chroma (times its confidence) against a sample of weight 1.
PROPAGATED_WEIGHT = 4.0
# Confidence given to filled pixels, relative to what a carried pixel has at that distance.
FILLED_CONFIDENCE = 0.3
# When flow loses more than this fraction of a frame, the shot has changed: colour is not carried
# across (it would paint the new shot with the old one's colours).
CUT_FRACTION = 0.6
# Large lost areas are solved each in a box around it, up to this many; more, one solve of the frame.
MAX_AREA_SOLVES = 6
# How far (a fraction of the picture's size) a scribble's change reaches into colour that is
# already known before it fades (see `_apply_scribbles`).
SCRIBBLE_REACH = 0.12


@dataclass
class Hints:
    """What is known about one anchor frame's colour besides what propagation brings."""

    exact: np.ndarray | None = None  # HxWx2 chroma of a colorized keyframe: taken as is
    samples: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)  # (chroma, weight <= 1): transfer, model
    scribbles: tuple[np.ndarray, np.ndarray] | None = None  # (chroma, weight ~100) pinned by a person


@dataclass
class AnchorSchedule:
    """Frames where colour is re-anchored: the named ones, and every `period` frames from 0 when set."""

    frames: tuple[int, ...] = ()
    period: int | None = None

    def is_anchor(self, index: int) -> bool:
        return index in self.frames or (self.period is not None and index % self.period == 0)

    def next_anchor(self, index: int) -> int | None:
        """The first anchor at or after `index`."""
        named = [f for f in self.frames if f >= index]
        periodic = [-(-index // self.period) * self.period] if self.period else []
        return min(named + periodic, default=None)


class FlowCarrier:
    """Carries chroma and confidence from one frame to the next along DIS optical flow."""

    def __init__(self):
        self.flow = FlowEstimator("medium")

    def carry(self, from_gray: np.ndarray, to_gray: np.ndarray, chroma_field: np.ndarray, confidence: np.ndarray,
              decay: float) -> tuple[np.ndarray, np.ndarray]:
        """Chroma of `from_gray`'s frame moved onto `to_gray`'s, and its confidence (0 where occluded)."""
        height, width = to_gray.shape
        scale = min(1.0, FLOW_SIDE / max(height, width))
        if not self.flow.supports((round(height * scale), round(width * scale))):
            return chroma_field, confidence * decay
        to_from = self._flow(to_gray, from_gray, scale)  # where each pixel of `to` was in `from`
        from_to = self._flow(from_gray, to_gray, scale)
        where = sample_positions(to_from)
        moved = sample(chroma_field.astype(np.float32), where)
        moved_confidence = sample(confidence.astype(np.float32), where, cv2.BORDER_CONSTANT)
        visible = consistent_mask(to_from, from_to)  # not occluded in `from`, and inside it
        return moved, np.where(visible, moved_confidence * decay, 0.0).astype(np.float32)

    def _flow(self, first: np.ndarray, second: np.ndarray, scale: float) -> np.ndarray:
        """Flow from `first` to `second` (HxW uint8), estimated on copies reduced by `scale` (<= 1)."""
        if scale >= 1.0:
            return self.flow(first, second)
        height, width = first.shape
        size = (round(width * scale), round(height * scale))
        small = self.flow(cv2.resize(first, size, interpolation=cv2.INTER_AREA),
                          cv2.resize(second, size, interpolation=cv2.INTER_AREA))
        return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR) / scale


@dataclass
class _Held:
    index: int
    frame: np.ndarray
    gray: np.ndarray
    forward: np.ndarray | None  # float16 chroma, to halve what a held frame costs
    forward_confidence: np.ndarray | None
    backward: np.ndarray | None = None
    backward_confidence: np.ndarray | None = None


class ChromaPropagator:
    """Turns a stream of frames into a stream of (frame, chroma) with colour spread from anchors.

    `hints_for(index, frame)` is called on anchor frames only and says what is known there.
    """

    def __init__(self, schedule: AnchorSchedule, hints_for: Callable[[int, np.ndarray], Hints], *,
                 fill_samples: Callable[[np.ndarray, np.ndarray], list[tuple[np.ndarray, np.ndarray]]] | None = None,
                 window: int = 48, decay: float = 0.97):
        self.schedule = schedule
        self.hints_for = hints_for
        # fill_samples(gray, lost): sparse samples (e.g. transferred from the references) for the
        # `lost` pixels, the areas no flow reaches.
        self.fill_samples = fill_samples
        self.window = window
        self.decay = decay
        self.carrier = FlowCarrier()
        self.fills = 0  # frames that needed the spatial fill: for the bench and the notes
        self.uncolored = 0  # frames no anchor's colour reached (before the first, beyond the window)
        self.cuts: list[int] = []  # frames where a new shot starts (colour not carried across)
        # The stream so far: frames held for an upcoming anchor, those ready to be let go (held
        # frames, or an anchor's (frame, chroma)), the colour carried forward and where from.
        self.held: deque[_Held] = deque()
        self.ready: deque = deque()
        self.previous_gray = self.forward = self.forward_confidence = None
        self.distance = 0  # frames since the last anchor, for the fill threshold
        self.next_index = 0

    def run(self, frames: Iterable[np.ndarray]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(frame, chroma) per frame, in order; after `restore_state`, `frames` are those after the
        ones the state had read, and the pairs yielded those after the ones it had yielded."""
        for index, frame in enumerate(frames, start=self.next_index):
            self._take(index, frame)
            self.next_index = index + 1
            while self.ready:
                yield self._next_ready()
        self.ready.extend(self.held)  # the end: nothing more is coming to wait for
        self.held.clear()
        while self.ready:
            yield self._next_ready()

    def _take(self, index: int, frame: np.ndarray) -> None:
        """Carry colour onto a new frame; what can be let go joins `ready`, in order."""
        gray = gray_of(frame)
        forward, forward_confidence = self.forward, self.forward_confidence
        if forward is not None and self.previous_gray is not None:
            forward, forward_confidence = self.carrier.carry(self.previous_gray, gray, forward, forward_confidence,
                                                             self.decay)
            self.distance += 1
            if _is_cut(forward_confidence, self.decay**self.distance):
                self.cuts.append(index)
                forward, forward_confidence = self._new_shot(gray)
                self.distance = 0
        if self.schedule.is_anchor(index):
            forward = self._anchor_chroma(index, frame, gray, forward, forward_confidence)
            forward_confidence = np.ones(gray.shape, np.float32)
            self.distance = 0
            self._backward_pass(self.held, gray, forward)
            self.ready.extend(self.held)
            self.held.clear()
            self.ready.append((frame, forward))
        else:
            if forward is not None:
                forward, forward_confidence = self._fill(gray, forward, forward_confidence, self.distance)
            self.held.append(_Held(index, frame, gray, None if forward is None else forward.astype(np.float16),
                                   None if forward is None else forward_confidence.astype(np.float16)))
            while self.held and not self._waits_for_anchor(self.held[0].index):
                self.ready.append(self.held.popleft())
        self.forward, self.forward_confidence, self.previous_gray = forward, forward_confidence, gray

    def _next_ready(self) -> tuple[np.ndarray, np.ndarray]:
        item = self.ready.popleft()
        return self._emit(item) if isinstance(item, _Held) else item

    # -- saving and resuming -------------------------------------------------------------------

    STATE_TYPES = (_Held,)

    def state(self) -> dict:
        """Between two yielded pairs, what resuming needs (numpy arrays, containers and _Held). The
        held frames' gray copies are left out: they are made again from the frames."""
        def light(item):
            return replace(item, gray=None) if isinstance(item, _Held) else item

        return {"held": [light(item) for item in self.held], "ready": [light(item) for item in self.ready],
                "forward": self.forward, "forward_confidence": self.forward_confidence,
                "previous_gray": self.previous_gray, "distance": self.distance, "next_index": self.next_index,
                "fills": self.fills, "uncolored": self.uncolored, "cuts": self.cuts}

    def restore_state(self, state: dict) -> None:
        def whole(item):
            return replace(item, gray=gray_of(item.frame)) if isinstance(item, _Held) else item

        self.held = deque(whole(item) for item in state["held"])
        self.ready = deque(whole(item) for item in state["ready"])
        self.forward, self.forward_confidence = state["forward"], state["forward_confidence"]
        self.previous_gray, self.distance, self.next_index = state["previous_gray"], state["distance"], state["next_index"]
        self.fills, self.uncolored, self.cuts = state["fills"], state["uncolored"], state["cuts"]

    def _waits_for_anchor(self, index: int) -> bool:
        upcoming = self.schedule.next_anchor(index)
        return upcoming is not None and upcoming - index <= self.window

    def _backward_pass(self, held: deque, anchor_gray: np.ndarray, anchor_chroma: np.ndarray) -> None:
        chroma_field, confidence, later_gray = anchor_chroma, np.ones(anchor_gray.shape, np.float32), anchor_gray
        for distance, item in enumerate(reversed(held), start=1):
            chroma_field, confidence = self.carrier.carry(later_gray, item.gray, chroma_field, confidence, self.decay)
            if _is_cut(confidence, self.decay**distance):
                break  # earlier frames belong to another shot
            item.backward, item.backward_confidence = chroma_field.astype(np.float16), confidence.astype(np.float16)
            later_gray = item.gray

    def _emit(self, item: _Held) -> tuple[np.ndarray, np.ndarray]:
        parts = [(item.forward, item.forward_confidence), (item.backward, item.backward_confidence)]
        parts = [(c.astype(np.float32), w.astype(np.float32)) for c, w in parts if c is not None]
        if not parts:
            self.uncolored += 1
            return item.frame, np.zeros((*item.gray.shape, 2), np.float32)
        total = sum(w for _, w in parts)
        blended = sum(c * w[..., None] for c, w in parts) / np.maximum(total, 1e-6)[..., None]
        if item.forward is None and np.any(total < 0.05):
            # Before the first anchor only backward colour exists; where it lost track, fill.
            blended = solve_chroma(item.gray, blended, np.clip(total, 0, 1), base=blended * (total >= 0.05)[..., None])
        return item.frame, blended

    def _new_shot(self, gray: np.ndarray):
        """Colour for the first frame of a new shot: from samples alone (e.g. transferred from the
        references) when there are any, else none until an anchor's colour arrives."""
        if self.fill_samples is None:
            return None, None
        everywhere = np.ones(gray.shape, bool)
        samples = self.fill_samples(gray, everywhere)
        if not samples:
            return None, None
        target = sum(c * w[..., None] for c, w in samples)
        weight = sum(w for _, w in samples)
        target = target / np.maximum(weight, 1e-6)[..., None]
        chroma_field = solve_chroma(gray, target, weight)
        return chroma_field, np.full(gray.shape, FILLED_CONFIDENCE, np.float32)

    def _fill(self, gray: np.ndarray, chroma_field: np.ndarray, confidence: np.ndarray, distance: int):
        """Colour the pixels flow lost: specks from their neighbours, areas with the spatial solver
        (the carried chroma around them and any samples as soft constraints)."""
        level = self.decay**distance
        # Filled pixels carried on keep FILLED_CONFIDENCE x level and are not filled again.
        lost = confidence < 0.1 * level
        if not lost.any():
            return chroma_field, confidence
        self.fills += 1
        trust = np.where(lost, 0.0, np.clip(confidence / level, 0.0, 1.0)).astype(np.float32)
        known = np.where(lost[..., None], 0.0, chroma_field).astype(np.float32)
        specks, areas = _split_by_size(lost, min_area=max(64, gray.size // 1000))
        filled = known
        if specks.any():
            # Flow fails here and there on flat or repeating texture: a weighted average of the
            # neighbours is as good as a solve there, and far cheaper.
            spread = cv2.GaussianBlur(known * trust[..., None], (0, 0), 2.0)
            total = cv2.GaussianBlur(trust, (0, 0), 2.0)
            filled = np.where(specks[..., None], spread / np.maximum(total, 1e-6)[..., None], filled)
        if areas:
            area_mask = np.any(areas, axis=0) if len(areas) > 1 else areas[0]
            target, weight = known * (PROPAGATED_WEIGHT * trust)[..., None], PROPAGATED_WEIGHT * trust
            if self.fill_samples is not None:
                # New areas are often like parts of a reference (more of the same table or sky):
                # where a sample is sure, it beats stretching the colour of the neighbours.
                for sample_chroma, sample_weight in self.fill_samples(gray, area_mask):
                    sample_weight = np.where(area_mask, sample_weight, 0.0)
                    target += sample_chroma * sample_weight[..., None]
                    weight = weight + sample_weight
            target /= np.maximum(weight, 1e-6)[..., None]
            if len(areas) > MAX_AREA_SOLVES:
                solved = solve_chroma(gray, target, weight, base=filled)
            else:
                solved = filled
                for area in areas:
                    solved = solve_chroma_near(area, gray, target, weight, base=solved)
            filled = np.where(area_mask[..., None], solved, filled)
        chroma_field = np.where(lost[..., None], filled, chroma_field).astype(np.float32)
        confidence = np.where(lost, FILLED_CONFIDENCE * level, confidence).astype(np.float32)
        return chroma_field, confidence

    def _anchor_chroma(self, index: int, frame: np.ndarray, gray: np.ndarray, carried: np.ndarray | None,
                       carried_confidence: np.ndarray | None) -> np.ndarray:
        """The anchor frame's chroma: a keyframe's as is; else the carried chroma, samples and
        scribbles solved together."""
        hints = self.hints_for(index, frame)
        if hints.exact is not None:
            base = hints.exact.astype(np.float32)
        else:
            base = self._combine_samples(gray, hints.samples, carried, carried_confidence)
        if hints.scribbles is not None:
            base = _apply_scribbles(gray, base, *hints.scribbles, known=_had_color(carried_confidence, hints))
        return base

    def _combine_samples(self, gray, samples, carried, carried_confidence) -> np.ndarray:
        height, width = gray.shape
        target = np.zeros((height, width, 2), np.float32)
        weight = np.zeros((height, width), np.float32)
        if carried is not None:
            # Carried colour keeps its own detail; samples only move it where they are many and sure.
            carried_weight = PROPAGATED_WEIGHT * np.clip(carried_confidence / max(carried_confidence.max(), 1e-6), 0, 1)
            target += carried * carried_weight[..., None]
            weight += carried_weight
        for sample_chroma, sample_weight in samples:
            target += sample_chroma * sample_weight[..., None]
            weight += sample_weight
        target /= np.maximum(weight, 1e-6)[..., None]
        base = None if carried is None else np.where((carried_confidence > 0)[..., None], carried, 0).astype(np.float32)
        return solve_chroma(gray, target, weight, base=base)


def _is_cut(confidence: np.ndarray, level: float) -> bool:
    return float(np.mean(confidence < 0.1 * level)) > CUT_FRACTION


def _split_by_size(mask: np.ndarray, min_area: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """(the small connected parts of `mask` together, [each large part])."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    large = [label for label in range(1, count) if stats[label, cv2.CC_STAT_AREA] >= min_area]
    small = mask.copy()
    parts = []
    for label in large:
        part = labels == label
        small &= ~part
        parts.append(part)
    return small, parts


def _had_color(carried_confidence: np.ndarray | None, hints: Hints) -> bool:
    """Whether the anchor had colour before its scribbles (then a scribble's change fades out)."""
    return hints.exact is not None or bool(hints.samples) or carried_confidence is not None


def _apply_scribbles(gray: np.ndarray, base: np.ndarray, scribble_chroma: np.ndarray, scribble_weight: np.ndarray,
                     *, known: bool) -> np.ndarray:
    """`base` corrected by a person's scribbles: each scribbled pixel gets its colour, and the change
    spreads over the region of similar luminance around it, stopping at edges.

    The change, not the colour, is spread, so texture in `base` stays. Where `base` already had
    colour, the change fades with distance (a weak pull toward no change); on a gray base it fills
    whole regions.
    """
    change_target = np.where((scribble_weight > 0)[..., None], scribble_chroma - base, 0.0).astype(np.float32)
    # A weak pull toward "no change" everywhere fades the change over about 1/sqrt(pull) pixels
    # of the solver's reduced picture.
    solver_side = np.sqrt(min(gray.size, DEFAULT_WORK_PIXELS))
    pull = 1.0 / (SCRIBBLE_REACH * solver_side) ** 2 if known else 0.0
    weight = np.where(scribble_weight > 0, scribble_weight, pull).astype(np.float32)
    change = solve_chroma(gray, change_target, weight)
    return (base + change).astype(np.float32)


def output_luminance(frame: np.ndarray) -> np.ndarray:
    """The luminance an output frame keeps: the input frame's own."""
    return luminance(frame) if frame.ndim == 3 else frame.astype(np.float32)
