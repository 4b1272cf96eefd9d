"""Faces: each person's face restored through the shot (tracking, multi-frame fusion, key frames,
a bank of the person's best frames and optional reference photos); see engine/faces/restore.py.

No `from __future__ import annotations` here: the recipe loader reads the fields' real types,
and `references` needs its own (a list of paths, or one path).
"""
import os
from dataclasses import dataclass, field
from typing import ClassVar, Iterable, Iterator

import cv2
import numpy as np

from engine.faces.detect import MODEL_KEY as DETECTOR_KEY
from engine.notes import Note
from engine.stages.base import WHOLE_CLIP, Stage

GPEN_KEYS = ("gpen-bfr-256", "gpen-bfr-512", "gpen-bfr-1024", "gpen-bfr-2048")
MODELS = ("auto", "none") + GPEN_KEYS
FALLBACK_SIZE = 256  # aligned crop side when GPEN is not used
FALLBACK_SR = {2: "realesr-animevideov3-x2", 4: "realesr-animevideov3-x4"}


class GpenUnusable(Exception):
    """Why GPEN cannot restore this shot's faces (the stage falls back and records the reason)."""


class PathList(list):
    """A recipe's list of file paths; one path given as a plain string is a list of one."""

    def __init__(self, value=()):
        if isinstance(value, (str, os.PathLike)):
            value = [value]
        super().__init__(str(v) for v in value)


def model_record(key: str, task: str) -> dict:
    """{"key", "sha256", "licence", "runtime"} of a registry model, loaded (once per process) as it
    will run."""
    from engine.models.loader import load_model

    return load_model(key, task=task).record()


def unsharp_restorer(batch: np.ndarray) -> np.ndarray:
    """Stand-in restorer when no learned model loads: an unsharp mask on luminance."""
    from engine.stages.sharpen import unsharp_luma

    return np.stack([unsharp_luma(face, 0.8, face.shape[0] / 128, 2.0) for face in batch])


def super_resolution_restorer(model):
    """Restorer from a Real-ESRGAN model (a descriptor of load_model): each aligned face shrunk by
    the model's scale and enlarged back by the model, which redraws edges and fine structure crisply."""
    from engine.models.tiling import upscale_image

    def restore(batch: np.ndarray) -> np.ndarray:
        out = []
        for face in batch:
            size = face.shape[0]
            small = cv2.resize(face, (size // model.scale, size // model.scale), interpolation=cv2.INTER_AREA)
            big = upscale_image(model, small, tile=256)
            out.append(big if big.shape == face.shape else cv2.resize(big, (size, size), interpolation=cv2.INTER_CUBIC))
        return np.stack(out)

    return restore


@dataclass
class FaceRestore(Stage):
    """Restore faces per person through the shot.

    `model`: "auto" (the installed GPEN model that suits the faces' size, else the fallback),
    a GPEN key, or "none" (multi-frame fusion only). The fallback, when GPEN's weights are not
    installed, is multi-frame fusion plus Real-ESRGAN (compact) on the aligned face.
    `min_face`: smallest face side found, in pixels. `key_every`: frames between two key frames
    of a face (the restorer runs only on key frames). `fusion_radius`: neighbouring frames fused
    on each side. `references`: photos of people in the shot (their faces join the bank of the
    person they resemble). `strength`: 0 leaves faces as they are, 1 replaces them fully.
    """

    name: ClassVar[str] = "faces"
    file_params: ClassVar[tuple[str, ...]] = ("references",)
    model: str = "auto"
    min_face: float = 24.0
    key_every: int = 8
    fusion_radius: int = 2
    references: PathList = field(default_factory=PathList)
    strength: float = 1.0
    device: str = "auto"

    def __post_init__(self):
        self.references = PathList(self.references)
        self._models: list[dict] = []
        self._notes: list[str] = []
        self._stats = None
        # Tests and benchmarks may set a restorer callable directly (N x S x S x 3 uint8 -> same).
        self.restorer = None
        self.restorer_size = FALLBACK_SIZE
        self._worker = None
        self._resume_from = None

    @property
    def needs_gpu(self) -> bool:
        # GPEN: a key, or "auto", which picks one when installed; "none" is multi-frame fusion alone.
        return self.model == "auto" or self.model in GPEN_KEYS

    @property
    def radius(self) -> int:
        # Input frames before an output frame that can change it. Not only the next key frame and
        # the fusion and smoothing windows: which frames are key frames (counted from a track's
        # first frame), the person's bank of best key frames, track ids and the restorer chosen
        # from the first face seen all depend on every earlier frame of the stream. So a resumed
        # run goes on from the state kept with the last chunk (`state`), or without one restarts
        # from the first frame; restarting `2 * key_every + fusion_radius + 3` frames back gave
        # different faces.
        return WHOLE_CLIP

    @property
    def state_types(self) -> tuple[type, ...]:
        from engine.faces.restore import FaceVideoRestorer

        return FaceVideoRestorer.STATE_TYPES

    def state(self) -> dict:
        return self._worker.state()

    def resume(self, state) -> None:
        self._resume_from = state

    def validate(self) -> None:
        self.require(self.model in MODELS, "model", f"must be one of {', '.join(MODELS)}")
        self.require(8.0 <= self.min_face <= 512.0, "min_face", "must be between 8 and 512 pixels")
        self.require(1 <= self.key_every <= 60, "key_every", "must be between 1 and 60 frames")
        self.require(0 <= self.fusion_radius <= 5, "fusion_radius", "must be between 0 and 5 frames")
        self.require(0.0 <= self.strength <= 1.0, "strength", "must be between 0 and 1")
        self.require(self.device in ("auto", "cpu", "cuda"), "device", "must be auto, cpu or cuda")
        self.require(len(self.references) <= 20, "references", "at most 20 photos")
        for i, path in enumerate(self.references):
            self.require(os.path.isfile(path), f"references[{i}]", f"file {path!r} does not exist")

    def provenance(self) -> dict:
        record = {"models": list(self._models), "notes": list(self._notes)}
        if self._stats is not None:
            stats = self._stats
            record["counts"] = {"frames": stats.frames, "faces_tracked": stats.tracks,
                                "face_observations": stats.faces_seen, "restorer_calls": stats.restorer_calls,
                                "restorer_batches": stats.restorer_batches}
            record["counts"].update(reference_photos=len(self.references), reference_faces=stats.reference_faces,
                                    reference_matches=stats.reference_matches)
            record["notes"].append(Note("faces.tracked", f"{stats.tracks} faces tracked over {stats.frames} frames; the "
                                        f"restorer ran on {stats.restorer_calls} faces instead of {stats.faces_seen} "
                                        "(one per face per frame)", faces=stats.tracks, frames=stats.frames,
                                        restored=stats.restorer_calls, seen=stats.faces_seen))
            if self.references:
                record["notes"].append(Note("faces.references", f"reference photos: a face found in "
                                            f"{stats.reference_faces} of {len(self.references)}; "
                                            f"{stats.reference_matches} matched a person in the shot",
                                            found=stats.reference_faces, given=len(self.references),
                                            matched=stats.reference_matches))
        return record

    def apply(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        from engine.faces.restore import FaceVideoRestorer
        from engine.io.image import read_image

        self._models = [model_record(DETECTOR_KEY, "face-detection")]
        self._notes = []
        resume_from, self._resume_from = self._resume_from, None
        # On resume the reference photos are already in the state, as restored faces.
        references = [] if resume_from is not None else [read_image(path) for path in self.references]
        worker = FaceVideoRestorer(self._choose, min_face=self.min_face, key_every=self.key_every,
                                   fusion_radius=self.fusion_radius, strength=self.strength, references=references)
        if resume_from is not None:
            worker.restore_state(resume_from)
        self._worker = worker
        self._stats = worker.stats
        yield from worker.run(frames)

    # -- which restorer ----------------------------------------------------------------------------

    def _choose(self, face_size: float):
        """(restorer or None, aligned size) for a shot whose first face is `face_size` pixels."""
        if self.restorer is not None:
            return self.restorer, self.restorer_size
        if self.model == "none":
            self._notes.append(Note("faces.no_restorer", "no face restorer (model none): faces restored by multi-frame "
                                    "fusion only"))
            return None, FALLBACK_SIZE
        try:
            return self._gpen(face_size)
        except GpenUnusable as error:
            return self._fallback(face_size, str(error))

    def _torch_device(self) -> str:
        if self.device != "auto":
            return self.device
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"

    def _gpen(self, face_size: float):
        from engine.models import registry
        from engine.models.archs.gpen.run import gpen_key_for_face, restore_faces
        from engine.models.loader import load_model

        key = gpen_key_for_face(face_size, registry.is_available) if self.model == "auto" else self.model
        if key is None:
            raise GpenUnusable("no GPEN weights are installed (see python -m engine models)")
        if not registry.is_available(key):
            raise GpenUnusable(f"{key} is not installed (see python -m engine models)")
        try:
            gpen = load_model(key, device=self._torch_device(), task="face-restoration")
        except Exception as error:  # damaged or mismatched weights: fall back, and say why
            raise GpenUnusable(str(error)) from None
        self._models.append(gpen.record())
        return (lambda batch: restore_faces(gpen.model, batch)), int(gpen.size)

    def _fallback(self, face_size: float, reason: str):
        # How much the aligned crop enlarges the face picks the model's scale.
        scale = 4 if FALLBACK_SIZE / max(face_size, 1.0) >= 3.5 else 2
        try:
            from engine.models.loader import load_model

            model = load_model(FALLBACK_SR[scale], device=self._torch_device(), task="super-resolution")
            self._models.append(model.record())
        except Exception as error:  # no SR weights either: a classical stand-in, said plainly
            self._notes.append(Note("faces.fallback_unsharp", f"GPEN was not used: {reason}; Real-ESRGAN could not be "
                                    f"loaded either ({error}); faces restored by multi-frame fusion + unsharp mask",
                                    reason=f"{reason}; {error}"))
            return unsharp_restorer, FALLBACK_SIZE
        self._notes.append(Note("faces.fallback_sr", f"GPEN was not used: {reason}; faces restored by multi-frame "
                                "fusion + Real-ESRGAN", model=FALLBACK_SR[scale], reason=reason))
        return super_resolution_restorer(model), FALLBACK_SIZE
