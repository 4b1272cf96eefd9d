"""Degraded "old film" clips made from clean photos: demo content and test media with ground truth."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np


def pan_frames(photo: np.ndarray, *, count: int, size: tuple[int, int], shift_per_frame: float = 2.0):
    """Yield `count` clean HxWx3 uint8 crops of `photo` (at `size` = (width, height)) panning right."""
    width, height = size
    scale = max((width + shift_per_frame * count + 2) / photo.shape[1], (height + 2) / photo.shape[0], 1.0)
    big = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    for i in range(count):
        x = shift_per_frame * i
        shift = np.float32([[1, 0, -x], [0, 1, 0]])
        yield cv2.warpAffine(big, shift, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def degrade(frame: np.ndarray, rng: np.random.Generator, *, flicker: float = 0.15, grain: float = 12.0,
            scratches: int = 1, gray: bool = True) -> np.ndarray:
    """Old-film damage on one HxWx3 uint8 RGB frame: gray, brightness flicker, grain, scratches, dust."""
    img = frame.astype(np.float32)
    if gray:
        img = np.repeat(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2).astype(np.float32)
    gain = 1.0 + rng.uniform(-flicker, flicker)
    img = img * gain + rng.uniform(-10, 10) * flicker / 0.15
    img += rng.normal(0, grain, img.shape[:2])[..., None]
    height, width = img.shape[:2]
    for _ in range(scratches):
        x = int(rng.integers(0, width))
        img[:, x : x + 1] = 235
    for _ in range(int(rng.integers(0, 4))):
        cx, cy = int(rng.integers(0, width)), int(rng.integers(0, height))
        cv2.circle(img, (cx, cy), int(rng.integers(1, 4)), (20, 20, 20), -1)
    return np.clip(img, 0, 255).astype(np.uint8)


def write_clip(path: str | Path, frames, *, fps: float, audio_seconds: float | None = None,
               audio_codec: str = "aac", video_codec: str = "libx264", pix_fmt: str = "yuv420p") -> int:
    """Encode HxWx3 uint8 RGB `frames` to `path`, with a 440 Hz tone of `audio_seconds` when given.

    Returns the number of frames written. Audio is written in step with video so the file interleaves.
    """
    rate = Fraction(fps).limit_denominator(1001)
    written = 0
    with av.open(str(path), mode="w") as out:
        video = None
        audio = None
        sample_rate = 48000
        if audio_seconds:
            audio = out.add_stream(audio_codec, rate=sample_rate)
            audio.layout = "stereo"
        samples_done = 0
        total_samples = int((audio_seconds or 0) * sample_rate)
        for rgb in frames:
            if video is None:
                video = out.add_stream(video_codec, rate=rate)
                video.width, video.height = rgb.shape[1], rgb.shape[0]
                video.pix_fmt = pix_fmt
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = written
            frame.time_base = 1 / rate
            out.mux(video.encode(frame))
            written += 1
            if audio is not None:
                until = min(total_samples, int(written / float(rate) * sample_rate))
                if until > samples_done:
                    out.mux(audio.encode(_tone(samples_done, until, sample_rate)))
                    samples_done = until
        if audio is not None:
            if total_samples > samples_done:
                out.mux(audio.encode(_tone(samples_done, total_samples, sample_rate)))
            out.mux(audio.encode(None))
        out.mux(video.encode(None))
    return written


def _tone(start: int, stop: int, sample_rate: int) -> av.AudioFrame:
    t = np.arange(start, stop) / sample_rate
    wave = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    samples = np.ascontiguousarray(np.stack([wave, wave]))
    frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="stereo")
    frame.sample_rate = sample_rate
    frame.pts = start
    frame.time_base = Fraction(1, sample_rate)
    return frame


def make_old_film(photo: np.ndarray, path: str | Path, *, seconds: float = 2.0, fps: float = 12.0,
                  size: tuple[int, int] = (320, 240), seed: int = 0, audio: bool = True) -> int:
    """Write a degraded, panning clip of `photo` with a tone track; returns the frame count."""
    rng = np.random.default_rng(seed)
    count = max(1, round(seconds * fps))
    frames = (degrade(f, rng) for f in pan_frames(photo, count=count, size=size))
    return write_clip(path, frames, fps=fps, audio_seconds=seconds if audio else None)
