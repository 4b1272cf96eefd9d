"""Test clips with known clean frames: a slow pan and zoom over a mosaic of real photos, then damage.

Every clip is deterministic (a seed per damage), so the clean ground truth can be written next
to it. Clips for measuring a stage are written losslessly (raw RGB in NUT), so both our stage
and ffmpeg's filters see exactly the same noisy pixels and decoding costs next to nothing.
"""
from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Iterator

import av
import cv2
import numpy as np
from skimage import data

from engine.synthetic import degrade

FPS = 24


def _fit_height(photo: np.ndarray, height: int) -> np.ndarray:
    width = round(photo.shape[1] * height / photo.shape[0])
    return cv2.resize(photo, (width, height), interpolation=cv2.INTER_AREA)


def mosaic() -> np.ndarray:
    """A 1024x2048 RGB scene of six scikit-image photos in two rows: faces, fabric, fur, machines.

    One photo would have to be blown up several times for a 1080p frame and get unnaturally
    smooth; side by side they keep about their own detail at 1080p and are shrunk for 480p.
    """
    rows = [
        [data.astronaut(), data.coffee(), data.rocket()],
        [data.chelsea(), data.stereo_motorcycle()[0], data.immunohistochemistry()],
    ]
    strips = [np.hstack([_fit_height(photo, 512) for photo in row]) for row in rows]
    return np.vstack([cv2.resize(strip, (2048, 512), interpolation=cv2.INTER_AREA) for strip in strips])


def clean_frames(size: tuple[int, int], count: int, fps: float = FPS) -> Iterator[np.ndarray]:
    """`count` HxWx3 uint8 RGB frames of a camera panning to and fro over the mosaic while zooming.

    The motion is smooth and periodic (an 8 s pan, a 5 s zoom of up to 8 %), so a clip of any
    length stays inside the scene; at 24 fps it moves up to about 3 pixels a frame at 480p.
    """
    width, height = size
    scene = mosaic()
    scale = 1.15 * height / scene.shape[0]
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    scene = cv2.resize(scene, None, fx=scale, fy=scale, interpolation=interpolation)
    # How far the view's centre can travel sideways and still show only the scene.
    travel = scene.shape[1] - width - 4
    for index in range(count):
        pan = 0.5 * (1 - math.cos(2 * math.pi * index / (8 * fps)))
        zoom = 1 + 0.08 * 0.5 * (1 - math.cos(2 * math.pi * index / (5 * fps)))
        centre_x = 2 + width / 2 + travel * pan
        centre_y = scene.shape[0] / 2
        # Output pixel (x, y) shows scene point ((x - W/2) / zoom + centre_x, (y - H/2) / zoom + centre_y).
        matrix = np.float32([[1 / zoom, 0, centre_x - width / 2 / zoom], [0, 1 / zoom, centre_y - height / 2 / zoom]])
        yield cv2.warpAffine(scene, matrix, (width, height), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                             borderMode=cv2.BORDER_REFLECT)


def add_noise(frames: Iterable[np.ndarray], sigma: float, seed: int) -> Iterator[np.ndarray]:
    """Independent gaussian noise of `sigma` levels on every pixel and channel."""
    rng = np.random.default_rng(seed)
    for frame in frames:
        noise = rng.standard_normal(frame.shape, dtype=np.float32) * sigma
        yield np.clip(frame + noise, 0, 255).astype(np.uint8)


def add_flicker(frames: Iterable[np.ndarray], seed: int, *, gain: float = 0.12, offset: float = 8.0,
                grain: float = 4.0) -> Iterator[np.ndarray]:
    """Old-film exposure flicker: a random gain and offset per frame, and a little grain."""
    rng = np.random.default_rng(seed)
    for frame in frames:
        noise = rng.standard_normal(frame.shape[:2], dtype=np.float32)[..., None] * grain
        image = frame * np.float32(1 + rng.uniform(-gain, gain)) + np.float32(rng.uniform(-offset, offset)) + noise
        yield np.clip(image, 0, 255).astype(np.uint8)


def add_damage(frames: Iterable[np.ndarray], seed: int) -> Iterator[np.ndarray]:
    """Dust spots and a line scratch per frame (engine.synthetic.degrade), colour and exposure kept."""
    rng = np.random.default_rng(seed)
    for frame in frames:
        yield degrade(frame, rng, flicker=0.0, grain=3.0, scratches=1, gray=False)


def fade(frames: Iterable[np.ndarray], seed: int) -> Iterator[np.ndarray]:
    """Faded film: contrast down to 60 %, blacks lifted to gray, a little grain."""
    rng = np.random.default_rng(seed)
    for frame in frames:
        noise = rng.standard_normal(frame.shape[:2], dtype=np.float32)[..., None] * 2.0
        yield np.clip(frame * np.float32(0.6) + 50 + noise, 0, 255).astype(np.uint8)


def blur(frames: Iterable[np.ndarray], sigma: float) -> Iterator[np.ndarray]:
    """Soft focus: a gaussian blur of `sigma` pixels."""
    for frame in frames:
        yield cv2.GaussianBlur(frame, (0, 0), sigma)


def old_film(frames: Iterable[np.ndarray], seed: int) -> Iterator[np.ndarray]:
    """The full old-film look of engine.synthetic (gray, flicker, grain, scratches, dust)."""
    rng = np.random.default_rng(seed)
    for frame in frames:
        yield degrade(frame, rng)


def gray(frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """Gray as engine.synthetic.degrade makes it (old film has no colour)."""
    for frame in frames:
        yield np.repeat(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)


def downscale(frames: Iterable[np.ndarray], factor: int) -> Iterator[np.ndarray]:
    for frame in frames:
        height, width = frame.shape[:2]
        yield cv2.resize(frame, (width // factor, height // factor), interpolation=cv2.INTER_AREA)


# The test clips, by name, from clean frames. Raw ones are stage inputs (lossless); the H.264
# ones are sources as they come, at the quality our results are written at.
RAW_KINDS = {
    "clean": lambda frames: frames,
    "noisy": lambda frames: add_noise(frames, sigma=15, seed=1),
    "flicker": lambda frames: add_flicker(frames, seed=2),
    "damaged": lambda frames: add_damage(frames, seed=3),
    "faded": lambda frames: fade(frames, seed=5),
    "blurred": lambda frames: blur(frames, sigma=1.2),
    "half": lambda frames: downscale(frames, 2),
    "clean_gray": lambda frames: gray(frames),  # the ground truth of "oldfilm", which is gray
}
H264_KINDS = {
    "source": lambda frames: add_flicker(frames, seed=2),
    "oldfilm": lambda frames: old_film(frames, seed=4),
}


class RawWriter:
    """Write HxWx3 uint8 RGB frames losslessly: raw rgb24 video in a NUT file."""

    def __init__(self, path: str | Path, fps: float = FPS):
        self.path = str(path)
        self.rate = Fraction(fps).limit_denominator(1001)
        self.container = None
        self.stream = None
        self.frames_written = 0

    def __enter__(self) -> "RawWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def write(self, rgb: np.ndarray) -> None:
        if self.container is None:
            self.container = av.open(self.path, mode="w", format="nut")
            self.stream = self.container.add_stream("rawvideo", rate=self.rate)
            self.stream.width, self.stream.height = rgb.shape[1], rgb.shape[0]
            self.stream.pix_fmt = "rgb24"
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts = self.frames_written
        frame.time_base = 1 / self.rate
        self.container.mux(self.stream.encode(frame))
        self.frames_written += 1

    def close(self) -> None:
        if self.container is not None:
            self.container.mux(self.stream.encode(None))
            self.container.close()
            self.container = None


def write_raw(path: str | Path, frames: Iterable[np.ndarray], fps: float = FPS) -> int:
    with RawWriter(path, fps) as writer:
        for frame in frames:
            writer.write(frame)
    return writer.frames_written

