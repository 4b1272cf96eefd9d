"""Faces restored per person through a shot, in aligned space.

For each tracked face, frame by frame:
- its aligned crop is fused with the aligned crops of the same person in the neighbouring
  frames (a robust weighted average: pixels that differ from the centre frame by much more than
  the noise, a mouth opening or a hand passing, count little), which cuts noise and grain;
- a `restorer` (GPEN, or the fallback) runs only on key frames of each track, a few in a batch;
  the detail it adds (restored minus fused, without its lowest frequencies, so tone stays the
  film's) is carried to the frames between key frames in aligned space, interpolated between the
  two nearest key frames and kept only where the face still looks like it did then, so the face
  neither flickers nor ghosts;
- a bank of the person's best key frames (sharp, frontal) and of reference photos of that person
  lends its detail to each new key frame where the faces match, so identity and detail stay
  stable through the shot.
Whenever pixels or detail move from one face to another (fusion, carrying, the bank), the two
aligned faces are first registered by optical flow: landmark alignment leaves a few pixels of
error in aligned space, and expressions move.

A restorer is a callable taking an N x S x S x 3 uint8 RGB batch of aligned faces and returning
the same shape.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Iterator

import cv2
import numpy as np

from engine.faces.align import align_face, alignment_matrix, paste_back, valid_region
from engine.faces.detect import Face, detect_faces
from engine.faces.track import FaceTracker, Track, smooth_landmarks
from engine.flow import FlowEstimator, sample, sample_positions

Restorer = Callable[[np.ndarray], np.ndarray]


class CountingRestorer:
    """Wraps a restorer and counts the faces it restored and the batches it was called with."""

    def __init__(self, restorer: Restorer):
        self.restorer = restorer
        self.faces = 0
        self.batches = 0

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self.faces += len(batch)
        self.batches += 1
        out = np.asarray(self.restorer(batch))
        if out.shape != batch.shape or out.dtype != np.uint8:
            raise ValueError(f"a face restorer returned {out.shape} {out.dtype} for {batch.shape} uint8")
        return out


def gray(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image.astype(np.float32), cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image


def sharpness(face: np.ndarray) -> float:
    """Variance of the Laplacian over the face's centre (eyes, nose, mouth)."""
    size = face.shape[0]
    centre = gray(face)[size // 4: 3 * size // 4, size // 4: 3 * size // 4]
    return float(cv2.Laplacian(centre, cv2.CV_32F).var())


def frontality(landmarks: np.ndarray) -> float:
    """1 for a frontal face, falling towards 0 as it turns: how central the nose sits between the
    eyes and between the mouth corners, relative to their spacing."""
    left_eye, right_eye, nose, mouth_left, mouth_right = landmarks
    eye_span = max(float(np.linalg.norm(right_eye - left_eye)), 1e-3)
    eyes_mid = (left_eye + right_eye) / 2
    mouth_mid = (mouth_left + mouth_right) / 2
    axis = (right_eye - left_eye) / eye_span
    off_eyes = abs(float(np.dot(nose - eyes_mid, axis))) / eye_span
    off_mouth = abs(float(np.dot(nose - mouth_mid, axis))) / eye_span
    return float(np.clip(1.0 - 2.0 * (off_eyes + off_mouth), 0.0, 1.0))


def normalised_structure(face: np.ndarray) -> np.ndarray:
    """Low-passed gray face scaled to zero mean and unit spread over its centre: a picture of the
    face's shape that brightness, contrast and grain do not change; compared between frames."""
    size = face.shape[0]
    low = cv2.GaussianBlur(gray(face).astype(np.float32), (0, 0), size / 96)
    centre = low[size // 5: 4 * size // 5, size // 5: 4 * size // 5]
    return (low - centre.mean()) / max(float(centre.std()), 1.0)


def likeness(structure_a: np.ndarray, structure_b: np.ndarray) -> np.ndarray:
    """Per pixel, how alike two faces are (1 = same, towards 0 where they differ)."""
    difference = cv2.GaussianBlur(np.abs(structure_a - structure_b), (0, 0), structure_a.shape[0] / 64)
    return np.exp(-0.5 * (difference / 0.35) ** 2)


def resemblance(structure_a: np.ndarray, structure_b: np.ndarray) -> float:
    """Correlation of two faces' structure over the inner face (eyes to chin, little background):
    about 0.85 for the same person in a film frame and a photo, about 0 for different people in
    our tests; a coarse check of the face's layout, not an identity proof."""
    size = structure_a.shape[0]
    inner = (slice(size // 5, 4 * size // 5),) * 2
    a, b = structure_a[inner], structure_b[inner]
    a, b = (a - a.mean()) / max(float(a.std()), 1e-6), (b - b.mean()) / max(float(b.std()), 1e-6)
    return float(np.mean(a * b))


def flow_gray(face: np.ndarray) -> np.ndarray:
    """uint8 gray of a face with its centre's brightness and contrast normalised, so optical flow
    between two frames (or a film frame and a photo) follows features, not exposure."""
    size = face.shape[0]
    values = gray(face).astype(np.float32)
    centre = values[size // 5: 4 * size // 5, size // 5: 4 * size // 5]
    return np.clip((values - centre.mean()) / max(float(centre.std()), 1.0) * 40 + 128, 0, 255).astype(np.uint8)


class Registration:
    """Dense registration of two aligned faces by optical flow (OpenCV DIS). Landmark alignment
    leaves a few pixels of error in aligned space, and expressions move; averaging or moving
    detail between frames needs both taken up, or it blurs and ghosts."""

    def __init__(self):
        self.flow = FlowEstimator("fast")

    def sample_map(self, reference: np.ndarray, moving: np.ndarray) -> np.ndarray:
        """HxWx2 float32: where, in `moving`, each pixel of `reference` is (both flow_gray images)."""
        return sample_positions(self.flow(reference, moving))


def fuse(crops: list[np.ndarray], valid: list[np.ndarray], centre: int,
         registration: Registration | None = None) -> np.ndarray:
    """Robust weighted average of aligned crops (float32) around crops[centre].

    Each neighbour is registered onto the centre (optical flow, when `registration` is given)
    and brought to its mean brightness; its weight per pixel is a Cauchy weight of its (slightly
    blurred) difference to the centre, relative to the typical difference (1.4826 x median, the
    noise's own level), times where it shows the frame at all.
    """
    reference = crops[centre].astype(np.float32)
    if len(crops) == 1:
        return reference
    reference_gray = gray(reference)
    reference_flow = flow_gray(reference) if registration is not None else None
    total = reference.copy()
    weights = np.ones(reference.shape[:2], np.float32)
    for index, crop in enumerate(crops):
        if index == centre:
            continue
        neighbour, seen_weight = crop.astype(np.float32), valid[index]
        if registration is not None:
            sample_map = registration.sample_map(reference_flow, flow_gray(crop))
            neighbour = sample(neighbour, sample_map)
            seen_weight = sample(seen_weight, sample_map, cv2.BORDER_CONSTANT)
        seen = seen_weight > 0.5
        if seen.sum() < 0.25 * seen.size:
            continue
        neighbour += float(reference_gray[seen].mean() - gray(neighbour)[seen].mean())
        difference = cv2.GaussianBlur(np.abs(gray(neighbour) - reference_gray), (5, 5), 0)
        scale = max(1.4826 * float(np.median(difference[seen])), 2.0)
        weight = seen_weight / (1.0 + (difference / (2.0 * scale)) ** 2)
        total += neighbour * weight[..., None]
        weights += weight
    return total / weights[..., None]


def restored_detail(restored: np.ndarray, fused: np.ndarray) -> np.ndarray:
    """What the restorer added, without its lowest frequencies (so the film's tone is kept). On a
    black-and-white face only its luminance is kept: GPEN answers gray faces with some colour."""
    difference = restored.astype(np.float32) - fused
    if np.abs(fused[..., 0] - fused[..., 1]).mean() < 1 and np.abs(fused[..., 1] - fused[..., 2]).mean() < 1:
        difference = np.repeat(gray(difference)[..., None], 3, axis=2)
    return difference - cv2.GaussianBlur(difference, (0, 0), fused.shape[0] / 16)


@dataclass
class DetailSource:
    """Restorer detail of one face (a key frame, a bank frame or a reference photo), with the face
    it was made for, to register and compare other faces against."""
    detail: np.ndarray  # SxSx3 float32
    face_gray: np.ndarray  # flow_gray of the fused face
    structure: np.ndarray  # normalised_structure of the fused face
    quality: float = 0.0


@dataclass
class TrackState:
    observed: dict[int, np.ndarray] = field(default_factory=dict)  # frame -> raw 5x2 landmarks
    last_key: int | None = None
    keys: dict[int, DetailSource] = field(default_factory=dict)  # key frame -> its (bank-enriched) detail
    bank: list[DetailSource] = field(default_factory=list)  # the person's best key frames, best first
    references: list[DetailSource] = field(default_factory=list)  # photos of this person


@dataclass
class Observation:
    track_id: int
    face: Face
    is_key: bool
    matrix: np.ndarray | None = None
    aligned: np.ndarray | None = None
    valid: np.ndarray | None = None
    smoothed: np.ndarray | None = None
    fused: np.ndarray | None = None


@dataclass
class FrameRecord:
    index: int
    frame: np.ndarray
    faces: dict[int, Observation]


@dataclass
class FaceStats:
    frames: int = 0
    faces_seen: int = 0  # face observations (faces x frames)
    tracks: int = 0
    restorer_calls: int = 0  # faces sent to the restorer
    restorer_batches: int = 0
    reference_faces: int = 0  # reference photos in which a face was found
    reference_matches: int = 0  # (reference, person) pairs: photos given to a person's bank


class FaceVideoRestorer:
    """Restore the faces of a stream of HxWx3 uint8 RGB frames, holding a bounded window of frames.

    `choose_restorer(face_size_px)` is called once, when the first face shows up, and returns
    (restorer or None, aligned crop size); None means fusion only.
    """

    def __init__(self, choose_restorer: Callable[[float], tuple[Restorer | None, int]], *, min_face: float = 24,
                 key_every: int = 8, fusion_radius: int = 2, smooth_radius: int = 3, strength: float = 1.0,
                 references: Iterable[np.ndarray] = (), bank_size: int = 3,
                 batch_size: int = 8, max_missing: int = 5, detect: Callable[[np.ndarray], list[Face]] | None = None):
        self.choose_restorer = choose_restorer
        self.min_face = min_face
        self.key_every = key_every
        self.fusion_radius = fusion_radius
        self.smooth_radius = smooth_radius
        self.strength = strength
        self.reference_images = list(references)
        self.bank_size = bank_size
        self.batch_size = batch_size
        self.tracker = FaceTracker(max_missing=max_missing)
        self.detect = detect or (lambda frame: detect_faces(frame, min_face=self.min_face))
        self.stats = FaceStats()
        # (frame, track id, 5x2 landmarks the face was aligned with) per face, when a caller
        # (the benchmark) sets it to a list.
        self.trace: list | None = None
        self.restorer: CountingRestorer | None = None
        self.size = 0
        self.chosen = False
        self.first_face_size: float | None = None  # what the restorer was chosen for
        self.references: list[DetailSource] = []  # restored reference photos, not yet given to a person
        self.registration = Registration()
        self.tracks: dict[int, TrackState] = {}
        # Frame t is finished once everything its faces need has been seen: the next key frame
        # (up to key_every frames on), that frame's fusion window and its landmark smoothing.
        self.lookahead = key_every + fusion_radius + smooth_radius
        self.buffer: deque[FrameRecord] = deque()  # the frames still needed, oldest first
        self.next_out = 0  # index of the next frame to yield
        self.latest = -1  # index of the last frame read

    # -- the stream ----------------------------------------------------------------------------

    def run(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """Restored frames, in order; after `restore_state`, `frames` are those after the ones the
        state had read, and the frames yielded those after the ones it had yielded."""
        for index, frame in enumerate(frames, start=self.latest + 1):
            self.latest = index
            self.buffer.append(self._observe(index, frame))
            while self.next_out + self.lookahead <= self.latest:
                yield self._next_frame(final=False)
        while self.next_out <= self.latest:
            yield self._next_frame(final=True)

    def _next_frame(self, final: bool) -> np.ndarray:
        # Everything a frame changes is done before it is yielded, so that between two frames the
        # state is whole (see `state`).
        out = self._finish(self.buffer, self.next_out, self.latest, final)
        self.next_out += 1
        self._forget(self.buffer, self.next_out)
        return out

    # -- saving and resuming -------------------------------------------------------------------

    STATE_TYPES = (FaceStats, FaceTracker, Track, Face, TrackState, DetailSource, FrameRecord, Observation)

    def state(self) -> dict:
        """Between two yielded frames, what resuming needs (made of STATE_TYPES, numpy arrays and
        containers). What the frames in hand cache (aligned crops, fused faces) is left out: it is
        made again, the same, from the frames and landmarks kept."""
        buffer = [FrameRecord(record.index, record.frame,
                              {track_id: replace(observation, matrix=None, aligned=None, valid=None, smoothed=None,
                                                 fused=None)
                               for track_id, observation in record.faces.items()})
                  for record in self.buffer]
        return {"stats": self.stats, "tracker": self.tracker, "size": self.size, "chosen": self.chosen,
                "first_face_size": self.first_face_size, "references": self.references, "tracks": self.tracks,
                "buffer": buffer, "next_out": self.next_out, "latest": self.latest}

    def restore_state(self, state: dict) -> None:
        """Go on from a `state`: the restorer is chosen again for the same first face."""
        self.stats, self.tracker, self.tracks = state["stats"], state["tracker"], state["tracks"]
        self.references, self.first_face_size = state["references"], state["first_face_size"]
        self.buffer, self.next_out, self.latest = deque(state["buffer"]), state["next_out"], state["latest"]
        self.chosen = state["chosen"]
        if self.chosen:
            restorer, self.size = self.choose_restorer(self.first_face_size)
            if self.size != state["size"]:
                raise ValueError(f"the face restorer chosen on resume works at {self.size} px, not {state['size']}")
            if restorer is not None:
                self.restorer = CountingRestorer(restorer)
                self.restorer.faces, self.restorer.batches = self.stats.restorer_calls, self.stats.restorer_batches

    def _observe(self, index: int, frame: np.ndarray) -> FrameRecord:
        self.stats.frames += 1
        faces = self.detect(frame)
        ids = self.tracker.update(index, faces)
        record = FrameRecord(index, frame, {})
        for track_id, face in zip(ids, faces):
            if not self.chosen:
                self._choose(face.size)
            state = self.tracks.setdefault(track_id, TrackState())
            state.observed[index] = face.landmarks
            is_key = self.restorer is not None and (state.last_key is None or index - state.last_key >= self.key_every)
            if is_key:
                state.last_key = index
            record.faces[track_id] = Observation(track_id, face, is_key)
            self.stats.faces_seen += 1
        self.stats.tracks = self.tracker.next_id
        return record

    def _choose(self, face_size: float) -> None:
        self.first_face_size = face_size
        restorer, self.size = self.choose_restorer(face_size)
        self.restorer = CountingRestorer(restorer) if restorer is not None else None
        self.chosen = True
        aligned = [face for face in map(self._reference_face, self.reference_images) if face is not None]
        self.stats.reference_faces = len(aligned)
        if self.restorer is not None and aligned:
            restored = self._restore(np.stack(aligned))
            for face, out in zip(aligned, restored):
                fused = face.astype(np.float32)
                self.references.append(DetailSource(restored_detail(out, fused), flow_gray(fused),
                                                    normalised_structure(fused), np.inf))

    def _reference_face(self, image: np.ndarray) -> np.ndarray | None:
        """The largest face of a reference photo, aligned like the film's faces (None if none is found)."""
        faces = detect_faces(image, min_face=max(24.0, min(image.shape[:2]) / 16))
        if not faces:
            return None
        face = max(faces, key=lambda f: f.size)
        return align_face(image, alignment_matrix(face.landmarks, self.size), self.size)

    def _forget(self, buffer: deque, next_out: int) -> None:
        """Drop what frames before next_out - fusion_radius no longer need."""
        keep_from = next_out - self.fusion_radius
        while buffer and buffer[0].index < keep_from:
            buffer.popleft()
        horizon = next_out - self.lookahead - self.smooth_radius
        for track_id in list(self.tracks):
            state = self.tracks[track_id]
            for frame_index in [i for i in state.observed if i < horizon]:
                del state.observed[frame_index]
            for frame_index in [k for k in state.keys if k < next_out - 2 * self.key_every - 1]:
                del state.keys[frame_index]
            if not state.observed and not state.keys and track_id not in {t.track_id for t in self.tracker.tracks}:
                del self.tracks[track_id]

    # -- per face ------------------------------------------------------------------------------

    def _record(self, buffer: deque, index: int) -> FrameRecord | None:
        first = buffer[0].index if buffer else 0
        position = index - first
        return buffer[position] if 0 <= position < len(buffer) else None

    def _aligned(self, observation: Observation, record: FrameRecord) -> Observation:
        if observation.aligned is None:
            state = self.tracks[observation.track_id]
            observation.smoothed = smooth_landmarks(state.observed, record.index, self.smooth_radius)
            observation.matrix = alignment_matrix(observation.smoothed, self.size)
            observation.aligned = align_face(record.frame, observation.matrix, self.size)
            observation.valid = valid_region(record.frame.shape, observation.matrix, self.size)
        return observation

    def _fused(self, buffer: deque, track_id: int, index: int) -> np.ndarray:
        record = self._record(buffer, index)
        observation = self._aligned(record.faces[track_id], record)
        if observation.fused is None:
            crops, valid, centre = [], [], 0
            for neighbour_index in range(index - self.fusion_radius, index + self.fusion_radius + 1):
                neighbour = self._record(buffer, neighbour_index)
                if neighbour is None or track_id not in neighbour.faces:
                    continue
                if neighbour_index == index:
                    centre = len(crops)
                found = self._aligned(neighbour.faces[track_id], neighbour)
                crops.append(found.aligned)
                valid.append(found.valid)
            observation.fused = fuse(crops, valid, centre, self.registration)
        return observation.fused

    def _restore(self, batch: np.ndarray) -> np.ndarray:
        out = []
        for start in range(0, len(batch), self.batch_size):
            out.append(self.restorer(batch[start:start + self.batch_size]))
        self.stats.restorer_calls, self.stats.restorer_batches = self.restorer.faces, self.restorer.batches
        return np.concatenate(out)

    def _restore_keys(self, buffer: deque, latest: int, final: bool) -> None:
        """Restore, in batches, every key frame whose fusion window has been seen."""
        ready_until = latest if final else latest - self.fusion_radius - self.smooth_radius
        pending = []
        for record in buffer:
            if record.index > ready_until:
                break
            for track_id, observation in record.faces.items():
                if observation.is_key and record.index not in self.tracks[track_id].keys:
                    pending.append((record, track_id))
        if not pending:
            return
        fused = [self._fused(buffer, track_id, record.index) for record, track_id in pending]
        restored = self._restore(np.stack([np.clip(f, 0, 255).round().astype(np.uint8) for f in fused]))
        for (record, track_id), face, out in zip(pending, fused, restored):
            observation = record.faces[track_id]
            self._add_key(track_id, record.index, face, out, observation.smoothed)

    def _add_key(self, track_id: int, index: int, fused: np.ndarray, restored: np.ndarray,
                 landmarks: np.ndarray) -> None:
        state = self.tracks[track_id]
        own = DetailSource(restored_detail(restored, fused), flow_gray(fused), normalised_structure(fused),
                           sharpness(fused) * frontality(landmarks))
        if not state.bank and not state.references:
            self._adopt_references(state, own)
        # The detail of the person's best frames and photos, registered onto this face and kept
        # where they match it, averaged with the restorer's own detail for this frame.
        detail, total = own.detail.copy(), np.ones(fused.shape[:2], np.float32)
        for source in state.references + state.bank:
            carried, match = self._matched(own, source)
            detail += carried * match[..., None]
            total += match
        state.keys[index] = DetailSource(detail / total[..., None], own.face_gray, own.structure, own.quality)
        state.bank = sorted(state.bank + [own], key=lambda entry: -entry.quality)[:self.bank_size]

    def _adopt_references(self, state: TrackState, first_key: DetailSource) -> None:
        """Reference photos whose face resembles this person's first key frame become theirs."""
        for reference in self.references:
            if resemblance(first_key.structure, reference.structure) > 0.6:
                state.references.append(reference)
                self.stats.reference_matches += 1

    def _matched(self, target: DetailSource, source: DetailSource) -> tuple[np.ndarray, np.ndarray]:
        """`source`'s detail registered onto `target`'s face, and per pixel how well the faces match."""
        sample_map = self.registration.sample_map(target.face_gray, source.face_gray)
        carried = sample(source.detail, sample_map)
        registered = sample(source.face_gray, sample_map).astype(np.float32)
        return carried, likeness(target.structure, normalised_structure(registered)).astype(np.float32)

    def _finish(self, buffer: deque, index: int, latest: int, final: bool) -> np.ndarray:
        record = self._record(buffer, index)
        if not record.faces:
            return record.frame
        if self.restorer is not None:
            self._restore_keys(buffer, latest, final)
        out = record.frame
        for track_id in sorted(record.faces):
            observation = record.faces[track_id]
            fused = self._fused(buffer, track_id, index)
            face = fused + self._carried_detail(track_id, index, fused)
            face = np.clip(face, 0, 255).round().astype(np.uint8)
            out = paste_back(out, face, observation.matrix, self.strength)
            if self.trace is not None:
                self.trace.append((index, track_id, observation.smoothed))
        return out

    def _carried_detail(self, track_id: int, index: int, fused: np.ndarray) -> np.ndarray | float:
        """The restorer's detail at this frame: from the key frames on either side, registered onto
        this face, interpolated by time, and faded out where the face matches neither."""
        keys = self.tracks[track_id].keys
        before = max((k for k in keys if k <= index), default=None)
        after = min((k for k in keys if k > index), default=None)
        chosen = [k for k in (before, after) if k is not None]
        if not chosen:
            return 0.0
        if chosen == [index]:
            return keys[index].detail
        here = DetailSource(np.zeros(0), flow_gray(fused), normalised_structure(fused))
        detail = np.zeros_like(fused)
        total = np.full(fused.shape[:2], 1e-6, np.float32)
        best_match = np.zeros(fused.shape[:2], np.float32)
        for key in chosen:
            nearness = 1.0 if len(chosen) == 1 else 1.0 - abs(index - key) / float(after - before)
            carried, match = self._matched(here, keys[key])
            weight = (nearness + 1e-3) * match
            detail += carried * weight[..., None]
            total += weight
            best_match = np.maximum(best_match, match)
        return detail / total[..., None] * best_match[..., None]


__all__ = ["CountingRestorer", "FaceStats", "FaceVideoRestorer", "Restorer", "frontality", "fuse", "sharpness"]
