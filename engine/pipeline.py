"""Run a recipe over an image or a video, streaming frames, with progress events and cancel."""
from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import cv2
import numpy as np

from engine.errors import Cancelled, EngineError
from engine.io import VideoEncoder, mux_with_audio, probe, read_image, read_video_frames, write_image
from engine.io.probe import MediaInfo
from engine.recipes import Recipe


@dataclass
class ProgressEvent:
    """What the pipeline reports while it runs. `preview` is a small JPEG of the latest output frame."""

    phase: str  # "restore" while frames flow, "finish" while the audio is muxed, "done" at the end
    stages: list[str]
    frame: int
    total: int
    fps: float = 0.0
    eta_seconds: float | None = None
    preview: bytes | None = field(default=None, repr=False)

    @property
    def fraction(self) -> float:
        return min(1.0, self.frame / self.total) if self.total else 0.0


@dataclass
class RunResult:
    output: Path
    kind: str
    frames: int
    seconds: float
    source: MediaInfo


def output_suffix(info: MediaInfo) -> str:
    """The file suffix a result of this source gets: mp4 for video, png for images."""
    return ".mp4" if info.kind == "video" else ".png"


class Pipeline:
    """Apply a recipe's stages to a source. Stages are chained generators, so at any time only the
    windows the temporal stages need are held in memory, whatever the clip's length."""

    def __init__(self, recipe: Recipe, *, progress_interval: float = 0.5, preview_interval: float = 2.0,
                 preview_width: int = 320, crf: int = 18):
        self.recipe = recipe
        self.progress_interval = progress_interval
        self.preview_interval = preview_interval
        self.preview_width = preview_width
        self.crf = crf

    def run(self, source: str | Path, output: str | Path, *,
            on_event: Callable[[ProgressEvent], None] | None = None,
            should_cancel: Callable[[], bool] | None = None) -> RunResult:
        """Restore `source` into `output` (an mp4 for video, an image format for stills).

        `should_cancel` is polled between frames; when it returns True, Cancelled is raised and
        no output is left behind.
        """
        started = time.monotonic()
        info = probe(source)
        output = Path(output)
        reporter = _Reporter(self, [s.name for s in self.recipe.stages], info.frame_count, on_event, started)
        frames = read_video_frames(source) if info.kind == "video" else iter([read_image(source)])
        restored = self._stream(frames, reporter, should_cancel or (lambda: False))
        try:
            if info.kind == "video":
                count = self._write_video(restored, info, source, output, reporter)
            else:
                write_image(output, next(restored))
                count = 1
        except BaseException:
            output.unlink(missing_ok=True)
            raise
        reporter.finish(count)
        return RunResult(output=output, kind=info.kind, frames=count, seconds=time.monotonic() - started, source=info)

    def _stream(self, frames: Iterable[np.ndarray], reporter: "_Reporter", should_cancel) -> Iterator[np.ndarray]:
        for stage in self.recipe.stages:
            frames = stage.apply(frames)
        for index, frame in enumerate(frames, start=1):
            if should_cancel():
                raise Cancelled("The job was cancelled.")
            reporter.frame_done(index, frame)
            yield frame

    def _write_video(self, restored, info: MediaInfo, source, output: Path, reporter) -> int:
        with tempfile.TemporaryDirectory(prefix="engine-", dir=output.parent) as work:
            video_only = Path(work) / "video.mp4"
            with VideoEncoder(video_only, fps=info.fps, crf=self.crf) as encoder:
                for frame in restored:
                    encoder.write(frame)
            if encoder.frames_written == 0:
                raise EngineError("The video has no frames.")
            reporter.phase(encoder.frames_written, "finish")
            if info.has_audio:
                mux_with_audio(video_only, source, output)
            else:
                shutil.move(video_only, output)
            return encoder.frames_written


class _Reporter:
    """Turns frame counts into throttled ProgressEvents with an ETA and occasional previews."""

    def __init__(self, pipeline: Pipeline, stages: list[str], total: int, on_event, started: float):
        self.pipeline = pipeline
        self.stages = stages
        self.total = max(1, total)
        self.on_event = on_event
        self.started = started
        self.last_event = float("-inf")
        self.last_preview = float("-inf")

    def frame_done(self, index: int, frame: np.ndarray) -> None:
        if self.on_event is None:
            return
        now = time.monotonic()
        if now - self.last_event < self.pipeline.progress_interval and index < self.total:
            return
        self.last_event = now
        preview = None
        if now - self.last_preview >= self.pipeline.preview_interval:
            self.last_preview = now
            preview = jpeg_preview(frame, self.pipeline.preview_width)
        elapsed = max(now - self.started, 1e-6)
        fps = index / elapsed
        total = max(self.total, index)
        eta = (total - index) / fps if fps > 0 else None
        self.on_event(ProgressEvent("restore", self.stages, index, total, fps, eta, preview))

    def phase(self, frames: int, name: str) -> None:
        if self.on_event is not None:
            self.on_event(ProgressEvent(name, self.stages, frames, frames, eta_seconds=None))

    def finish(self, frames: int) -> None:
        if self.on_event is not None:
            elapsed = max(time.monotonic() - self.started, 1e-6)
            self.on_event(ProgressEvent("done", self.stages, frames, frames, frames / elapsed, 0.0))


def jpeg_preview(rgb: np.ndarray, width: int, quality: int = 70) -> bytes:
    """A small JPEG of an HxWx3 uint8 RGB frame, `width` pixels wide."""
    height = max(1, round(rgb.shape[0] * width / rgb.shape[1]))
    small = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return data.tobytes()
