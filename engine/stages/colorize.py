"""Colorization that does not flicker: colour from a person's references and scribbles (and, if
installed, the Zhang et al. 2016 network), spread in space by an edge-aware solver and in time
along optical flow. See engine/color/ for the parts.
"""
import json
import os
from dataclasses import dataclass, field
from typing import ClassVar, Iterable, Iterator, Sequence

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from engine.color import learned
from engine.color.propagate import AnchorSchedule, ChromaPropagator, Hints, output_luminance
from engine.color.scribble import scribble_constraints
from engine.color.space import chroma, combine, gray_of
from engine.color.transfer import transfer_samples
from engine.errors import RecipeError
from engine.io import read_image
from engine.models.errors import ModelCorrupt, ModelMissing
from engine.notes import Note
from engine.stages.base import WHOLE_CLIP, Stage

MODELS = ("none", learned.MODEL_KEY)
# Estimated colours (transfer, network) average several candidates and come out duller than the
# truth; a mild boost of their chroma avoids the dull brown look. Colours a person gave (keyframes,
# scribbles) are kept as given.
DEFAULT_SATURATION = 1.15
# Weight of the network's chroma at an anchor, against transfer samples of confidence <= 1.
MODEL_WEIGHT = 0.5


class ListParam(list):
    """A list parameter that a command line (`--set colorize.reference_images=a.jpg,b.jpg`) can give
    as text too: JSON (`[{"frame": 0, "image": "key.png"}]`) or paths separated by commas."""

    def __init__(self, value=()):
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else [part for part in text.split(",") if part]
        elif isinstance(value, dict):
            raise TypeError("an object is not a list")
        super().__init__(value)


def _read_rgba(path: str) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGBA")).copy()


def _resized(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    height, width = shape
    if image.shape[:2] == (height, width):
        return image
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


@dataclass
class Colorize(Stage):
    """Colour a gray clip (or still) from colorized keyframes, reference images and scribbles.

    - reference_frames: [{"frame": int, "image": path}]: a colorized copy of that frame of the clip;
    - reference_images: [path]: colour photos or paintings of the same scene, matched by features;
    - scribbles: [{"frame": int, "image": path}]: an RGBA PNG whose pixels of alpha > 0 give their colour;
    - model: "none" or "zhang-eccv16" (colours where nothing else says; without its weights the
      stage goes on from the references and says so);
    - saturation: chroma boost of estimated colours (1 = none), never of luminance;
    - window: frames before an anchor that its colour reaches backward (memory holds that many);
    - anchor_every: how often reference images and the network re-anchor colour, in frames.
    """

    name: ClassVar[str] = "colorize"
    makes_color: ClassVar[bool] = True
    file_params: ClassVar[tuple[str, ...]] = ("reference_frames", "reference_images", "scribbles")
    # Every earlier frame can change a frame's colour (it is carried from the last anchor, however
    # far), so a resumed run goes on from the state kept with the last chunk (`state`), or without
    # one restarts from the first frame.
    radius: ClassVar[int] = WHOLE_CLIP
    reference_frames: ListParam = field(default_factory=ListParam)
    reference_images: ListParam = field(default_factory=ListParam)
    scribbles: ListParam = field(default_factory=ListParam)
    model: str = "none"
    saturation: float = DEFAULT_SATURATION
    window: int = 48
    anchor_every: int = 48

    def __post_init__(self):
        self._notes: list[str] = []
        self._models: list[dict] = []
        self._frame_count: int | None = None
        self._propagator = None
        self._yielded = 0
        self._resume_from = None

    @property
    def state_types(self) -> tuple[type, ...]:
        return ChromaPropagator.STATE_TYPES

    def state(self) -> dict:
        return {"propagator": self._propagator.state(), "yielded": self._yielded}

    def resume(self, state) -> None:
        self._resume_from = state

    # --- parameters --------------------------------------------------------------------------
    def validate(self) -> None:
        for name in ("reference_frames", "scribbles"):
            items = getattr(self, name)
            self.require(isinstance(items, list), name, "must be a list of {\"frame\": int, \"image\": path}")
            seen = set()
            for i, item in enumerate(items):
                where = f"{name}[{i}]"
                self.require(isinstance(item, dict) and set(item) == {"frame", "image"}, where,
                             "must be an object with exactly 'frame' and 'image'")
                frame = item["frame"]
                self.require(isinstance(frame, int) and not isinstance(frame, bool) and frame >= 0, f"{where}.frame",
                             f"must be a frame number (0 or more), not {frame!r}")
                self.require(frame not in seen, f"{where}.frame", f"frame {frame} is given twice")
                seen.add(frame)
                self._require_file(item["image"], f"{where}.image")
        self.require(isinstance(self.reference_images, list), "reference_images", "must be a list of image paths")
        for i, path in enumerate(self.reference_images):
            self._require_file(path, f"reference_images[{i}]")
        self.require(self.model in MODELS, "model", f"must be one of {', '.join(MODELS)}, not {self.model!r}")
        self.require(isinstance(self.saturation, (int, float)) and 0.5 <= self.saturation <= 2.0, "saturation",
                     "must be between 0.5 and 2 (1 keeps estimated colours as they are)")
        self.require(isinstance(self.window, int) and 4 <= self.window <= 240, "window",
                     "must be between 4 and 240 frames")
        self.require(isinstance(self.anchor_every, int) and 8 <= self.anchor_every <= 1000, "anchor_every",
                     "must be between 8 and 1000 frames")
        self.require(bool(self.reference_frames or self.reference_images or self.scribbles) or self.model != "none",
                     "reference_frames", "give a reference frame, a reference image or scribbles (or a model)")

    def _require_file(self, path, where: str) -> None:
        self.require(isinstance(path, str) and path != "", where, f"must be an image path, not {path!r}")
        self.require(os.path.isfile(path), where, f"file {path!r} not found")

    def bind(self, input_fps: float, times: list[float] | None = None) -> None:
        self._frame_count = len(times) if times else None
        if self._frame_count:
            self._check_frames_exist(self._frame_count)

    def _check_frames_exist(self, count: int) -> None:
        for name in ("reference_frames", "scribbles"):
            for i, item in enumerate(getattr(self, name)):
                self.require(item["frame"] < count, f"{name}[{i}].frame",
                             f"frame {item['frame']} is past the clip's last frame ({count - 1})")

    # --- running -----------------------------------------------------------------------------
    def apply(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        self._notes, self._models = [], []
        sources = _Sources.load(self)
        given = bool(self.reference_frames or self.reference_images or self.scribbles)
        network = self._load_network(has_other_color=given)
        sources.network = network
        periodic = bool(self.reference_images) or network is not None
        schedule = AnchorSchedule(frames=tuple(sorted(sources.frames_with_hints())),
                                  period=self.anchor_every if periodic else None)
        propagator = ChromaPropagator(schedule, sources.hints, fill_samples=sources.fill_samples, window=self.window)
        self._propagator, self._yielded = propagator, 0
        resume_from, self._resume_from = self._resume_from, None
        if resume_from is not None:
            propagator.restore_state(resume_from["propagator"])
            self._yielded = resume_from["yielded"]
        for frame, chroma_field in propagator.run(frames):
            out = combine(output_luminance(frame), chroma_field)
            self._yielded += 1
            yield out
        self._check_frames_exist(self._yielded)
        if propagator.cuts:
            self._notes.append(Note("colorize.cuts", f"new shots found at frames {', '.join(map(str, propagator.cuts[:20]))}: "
                                    "colour is not carried across a cut", frames=list(propagator.cuts[:20])))
        if propagator.uncolored:
            self._notes.append(Note("colorize.uncolored", f"{propagator.uncolored} frames before the first reference were "
                                    f"beyond its reach (window {self.window} frames) and stay gray",
                                    frames=propagator.uncolored, window=self.window))
        if propagator.fills:
            self._notes.append(Note("colorize.fills", "colour filled in where motion uncovered new areas (spatial solver, "
                                    f"samples from the references) on {propagator.fills} frames", frames=propagator.fills))

    def _load_network(self, has_other_color: bool):
        if self.model == "none":
            return None
        try:
            network = learned.load(self.model)
        except (ModelMissing, ModelCorrupt) as exc:
            if not has_other_color:
                raise
            self._notes.append(Note("colorize.model_unused", f"model {self.model} not used ({exc}); colour from the "
                                    "references and scribbles only", model=self.model, reason=str(exc)))
            return None
        self._models.append(network.record())
        return network

    def provenance(self) -> dict:
        notes = list(self._notes)
        if self.saturation != 1.0 and (self.reference_images or self._models):
            notes.append(Note("colorize.saturation", f"estimated colours boosted in saturation x{self.saturation:g} "
                              "(luminance unchanged)", factor=self.saturation))
        return {"ai_color": True, "models": list(self._models), "notes": notes}


class _Sources:
    """The colour a person gave, decoded once, and the hints it makes at each anchor frame."""

    def __init__(self, keyframes: dict, scribbles: dict, images: list, saturation: float):
        self.keyframes = keyframes  # frame -> RGB image
        self.scribbles = scribbles  # frame -> RGBA image
        self.images = images
        self.saturation = saturation
        self.network = None

    @classmethod
    def load(cls, stage: Colorize) -> "_Sources":
        def decode(reader, path, where):
            try:
                return reader(path)
            except (OSError, UnidentifiedImageError, ValueError) as exc:
                raise RecipeError(f"{where}: cannot read {path!r} as an image ({exc})") from None

        keyframes = {item["frame"]: decode(read_image, item["image"], f"reference_frames[{i}].image")
                     for i, item in enumerate(stage.reference_frames)}
        scribbles = {item["frame"]: decode(_read_rgba, item["image"], f"scribbles[{i}].image")
                     for i, item in enumerate(stage.scribbles)}
        images = [decode(read_image, path, f"reference_images[{i}]") for i, path in enumerate(stage.reference_images)]
        return cls(keyframes, scribbles, images, stage.saturation)

    def frames_with_hints(self) -> set[int]:
        return set(self.keyframes) | set(self.scribbles)

    def fill_samples(self, gray: np.ndarray, lost: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Samples for the `lost` pixels, areas motion uncovered: transferred from every reference
        image and keyframe."""
        samples = []
        for image in [*self.images, *self.keyframes.values()]:
            # Dense: an uncovered strip is often only a few pixels wide.
            target, weight = transfer_samples(gray, image, stride=1, where=lost)
            samples.append((target * self.saturation, weight))
        return samples

    def hints(self, index: int, frame: np.ndarray) -> Hints:
        shape = frame.shape[:2]
        hints = Hints()
        if index in self.keyframes:
            hints.exact = chroma(_resized(self.keyframes[index], shape))
        else:
            gray = gray_of(frame)
            for image in self.images:
                target, weight = transfer_samples(gray, image)
                hints.samples.append((target * self.saturation, weight))
            if self.network is not None:
                predicted = learned.predict_chroma(self.network, frame)
                hints.samples.append((predicted * self.saturation, np.full(shape, MODEL_WEIGHT, np.float32)))
        if index in self.scribbles:
            hints.scribbles = scribble_constraints(self.scribbles[index], (shape[1], shape[0]))
        return hints


def preview_keyframe(frame_rgb: np.ndarray, *, reference_frame=None, reference_images: Sequence = (), scribble=None,
                     model: str = "none", saturation: float = DEFAULT_SATURATION) -> np.ndarray:
    """One frame colorized as the stage would colour it as an anchor: for the job form's preview.

    `reference_frame` (a colorized copy of this frame), each of `reference_images` and `scribble`
    (RGBA; alpha > 0 marks scribbled pixels) are paths or arrays. Returns HxWx3 uint8 RGB with the
    frame's own luminance. A few seconds at most for 720p without the model.
    """
    def as_array(value, reader):
        return reader(str(value)) if isinstance(value, (str, os.PathLike)) else np.asarray(value)

    sources = _Sources(
        keyframes={} if reference_frame is None else {0: as_array(reference_frame, read_image)},
        scribbles={} if scribble is None else {0: as_array(scribble, _read_rgba)},
        images=[as_array(image, read_image) for image in reference_images], saturation=saturation)
    if model != "none":
        try:
            sources.network = learned.load(model)
        except (ModelMissing, ModelCorrupt):
            sources.network = None
    frame_rgb = np.repeat(frame_rgb[..., None], 3, axis=2) if frame_rgb.ndim == 2 else frame_rgb
    propagator = ChromaPropagator(AnchorSchedule(frames=(0,)), sources.hints)
    (frame, chroma_field), = propagator.run([frame_rgb])
    return combine(output_luminance(frame), chroma_field)
