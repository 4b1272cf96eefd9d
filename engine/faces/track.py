"""Face tracks through a shot: detections of successive frames matched to the same person.

Each frame's detections are matched to the live tracks by the Hungarian method on a cost that
mixes box overlap and landmark distance (relative to the face's size), measured against where
each track is predicted to be (its last position plus its last motion), so two faces crossing
keep their identities. A track that goes unmatched for more than `max_missing` frames (a face
leaving, or hidden for too long) ends; a detection matching no track starts a new one.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from engine.faces.detect import Face, box_iou

UNMATCHABLE = 1e6


@dataclass
class Track:
    track_id: int
    last_frame: int
    box: np.ndarray
    landmarks: np.ndarray
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2, np.float32))  # pixels per frame
    hits: int = 1

    def predicted(self, frame_index: int) -> tuple[np.ndarray, np.ndarray]:
        shift = self.velocity * (frame_index - self.last_frame)
        return self.box + np.tile(shift, 2), self.landmarks + shift


class FaceTracker:
    """Give each detection of a frame a track id, frame after frame (call `update` in order)."""

    def __init__(self, max_missing: int = 5, max_cost: float = 2.0):
        self.max_missing = max_missing
        self.max_cost = max_cost
        self.tracks: list[Track] = []
        self.next_id = 0

    def cost(self, track: Track, face: Face, frame_index: int) -> float:
        box, landmarks = track.predicted(frame_index)
        overlap = float(box_iou(box, face.box[None])[0])
        size = max(np.sqrt((box[2] - box[0]) * (box[3] - box[1])), 1.0)
        distance = float(np.linalg.norm(landmarks - face.landmarks, axis=1).mean()) / size
        scale_change = abs(np.log(max(face.size, 1.0) / size))
        if distance > 1.0 or scale_change > 0.7:
            return UNMATCHABLE
        return (1.0 - overlap) + 2.0 * distance + scale_change

    def update(self, frame_index: int, faces: list[Face]) -> list[int]:
        """Track ids of `faces` (same order); ends the tracks missing for too long."""
        self.tracks = [t for t in self.tracks if frame_index - t.last_frame <= self.max_missing + 1]
        ids = [-1] * len(faces)
        if self.tracks and faces:
            costs = np.array([[self.cost(t, f, frame_index) for f in faces] for t in self.tracks])
            rows, cols = linear_sum_assignment(costs)
            for row, col in zip(rows, cols):
                if costs[row, col] > self.max_cost:
                    continue
                track, face = self.tracks[row], faces[col]
                gap = frame_index - track.last_frame
                motion = (face.landmarks.mean(0) - track.landmarks.mean(0)) / gap
                # Smoothed, so one noisy detection does not throw the next prediction off.
                track.velocity = 0.5 * track.velocity + 0.5 * motion if track.hits > 1 else motion
                track.box, track.landmarks, track.last_frame = face.box, face.landmarks, frame_index
                track.hits += 1
                ids[col] = track.track_id
        for col, face in enumerate(faces):
            if ids[col] < 0:
                self.tracks.append(Track(self.next_id, frame_index, face.box, face.landmarks))
                ids[col] = self.next_id
                self.next_id += 1
        return ids


def smooth_landmarks(observed: dict[int, np.ndarray], frame_index: int, radius: int) -> np.ndarray:
    """The landmarks of one track at `frame_index`, from its observations within +-`radius` frames:
    a Gaussian-weighted local straight-line fit, which removes detection jitter without lagging
    behind a face that moves steadily (a plain average would trail it)."""
    near = sorted(i for i in observed if abs(i - frame_index) <= radius)
    if len(near) < 3:
        return observed[frame_index].copy() if frame_index in observed else observed[near[0]].copy()
    offsets = np.array(near, np.float64) - frame_index
    weights = np.exp(-0.5 * (offsets / max(radius * 0.6, 0.5)) ** 2)
    points = np.stack([observed[i] for i in near]).reshape(len(near), -1).astype(np.float64)
    design = np.stack([np.ones_like(offsets), offsets], axis=1) * np.sqrt(weights)[:, None]
    solution, *_ = np.linalg.lstsq(design, points * np.sqrt(weights)[:, None], rcond=None)
    return solution[0].reshape(5, 2).astype(np.float32)  # the fitted line's value at offset 0
