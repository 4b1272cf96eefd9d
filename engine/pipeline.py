"""Run a recipe over an image or a video, streaming frames, with progress events and cancel."""
from __future__ import annotations

import itertools
import math
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterable, Iterator

import cv2
import numpy as np

from engine.checkpoint import ChunkStore, dump_state, load_state
from engine.errors import Cancelled, EngineError
from engine.io import (VideoEncoder, frame_times, is_variable_rate, mux_with_audio, probe, read_image,
                       read_video_frames, write_image)
from engine.io.probe import MediaInfo
from engine.notes import Note
from engine.recipes import Recipe
from engine.stages.base import WHOLE_CLIP


@dataclass
class ProgressEvent:
    """What the pipeline reports while it runs. `preview` is a small JPEG of the latest output frame."""

    # "restore" while frames flow, "encode" while chunks become the mp4, "finish" while the audio
    # is muxed, "done" at the end
    phase: str
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
    # What a version's record says about how it was made: models and weight hashes, notes such as
    # a fallback taken, and whether colour was generated (see Stage.provenance).
    provenance: dict = field(default_factory=dict)


def recipe_provenance(stages) -> dict:
    """Merge the stages' provenance: every model used once, all notes, and the AI-colour flag.

    `facts` repeats the notes that carry a code (engine.notes.Note) as {"stage", "code", "values"}, so a
    reader in another language can be told the same things."""
    models: dict[str, dict] = {}
    notes: list[str] = []
    facts: list[dict] = []
    ai_color = False
    for stage in stages:
        record = stage.provenance() or {}
        for model in record.get("models", []):
            models.setdefault(model["key"], model)
        for note in record.get("notes", []):
            notes.append(f"{stage.name}: {note}")
            if isinstance(note, Note):
                facts.append({"stage": stage.name, "code": note.code, "values": dict(note.values)})
        ai_color = ai_color or bool(record.get("ai_color"))
    return {"models": list(models.values()), "notes": notes, "facts": facts, "ai_color": ai_color}


class _KeptState:
    """The state of a recipe's one whole-clip stage that can keep it (faces, colorize), saved at the
    frames where chunks end so that a resumed run goes on from there instead of the first frame.

    With the stages around it of one frame out per frame in: the state saved once the stage has
    yielded m frames (having read k) serves the chunk ending at output m + the radii after it;
    on resume, decoding starts at k - the radii before it (whose first frames are dropped before
    the stage), and the stages after it start again at frame m.
    """

    def __init__(self, stages, position: int, chunk_frames: int):
        self.stage = stages[position]
        self.position = position
        self.chunk_frames = chunk_frames
        self.before = sum(stage.radius for stage in stages[:position])
        self.after = sum(stage.radius for stage in stages[position + 1:])
        self.read = self.yielded = 0  # where the stage starts: 0, or where a kept state left it
        self.saved: dict[int, bytes] = {}  # chunk -> the state to keep with it

    @classmethod
    def plan(cls, stages, chunk_frames: int) -> "_KeptState | None":
        whole = [i for i, stage in enumerate(stages) if stage.radius >= WHOLE_CLIP]
        if len(whole) != 1 or stages[whole[0]].state_types is None:
            return None
        if any(stage.rate_ratio() != 1 for stage in stages):
            return None  # a rate conversion's pattern would have to line up with the kept state's frames
        return cls(stages, whole[0], chunk_frames)

    def resume(self, data: bytes | None, done: int) -> tuple[int, int] | None:
        """(first frame to decode, first output frame) to go on from the state kept with the last
        chunk; None when there is none to use (the run restarts from the first frame)."""
        if data is None:
            return None
        try:
            kept = load_state(data, self.stage.state_types)
        except EngineError:
            return None  # unreadable: made again from the first frame, as a damaged chunk is
        if kept["yielded"] + self.after != done or kept["read"] < self.before:
            return None
        self.stage.resume(kept["state"])
        self.read, self.yielded = kept["read"], kept["yielded"]
        return self.read - self.before, self.yielded

    def apply(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        read = self.read
        frames = iter(frames)
        if self.read:  # the frames before the stage's first are only context for the stages before it
            for _ in itertools.islice(frames, self.before):
                pass

        def counted():
            nonlocal read
            for frame in frames:
                read += 1
                yield frame

        yielded = self.yielded
        for frame in self.stage.apply(counted()):
            yielded += 1
            if (yielded + self.after) % self.chunk_frames == 0:
                chunk = (yielded + self.after) // self.chunk_frames - 1
                self.saved[chunk] = dump_state({"read": read, "yielded": yielded, "state": self.stage.state()})
            yield frame

    def take(self, chunk: int) -> bytes | None:
        """The state to keep with `chunk` (and forget those of earlier chunks)."""
        for older in [c for c in self.saved if c < chunk]:
            del self.saved[older]
        return self.saved.pop(chunk, None)


def output_suffix(info: MediaInfo) -> str:
    """The file suffix a result of this source gets: mp4 for video, png for images."""
    return ".mp4" if info.kind == "video" else ".png"


class Pipeline:
    """Apply a recipe's stages to a source. Stages are chained generators, so at any time only the
    windows the temporal stages need are held in memory, whatever the clip's length."""

    def __init__(self, recipe: Recipe, *, progress_interval: float = 0.5, preview_interval: float = 2.0,
                 preview_width: int = 320, crf: int = 18, chunk_frames: int = 120):
        self.recipe = recipe
        self.chunk_frames = chunk_frames
        self.progress_interval = progress_interval
        self.preview_interval = preview_interval
        self.preview_width = preview_width
        self.crf = crf

    def run(self, source: str | Path, output: str | Path, *, checkpoint_dir: str | Path | None = None,
            on_event: Callable[[ProgressEvent], None] | None = None,
            should_cancel: Callable[[], bool] | None = None,
            on_checkpoint_file: Callable[[Path], None] | None = None,
            on_checkpoint_file_removed: Callable[[Path], None] | None = None) -> RunResult:
        """Restore `source` into `output` (an mp4 for video, an image format for stills).

        With `checkpoint_dir`, restored video frames are kept there in lossless chunks of
        `chunk_frames`; running again with the same folder resumes after the last whole chunk and
        gives the same frames as an uninterrupted run. The chunks are removed once `output` is
        written. `should_cancel` is polled between frames; when it returns True, Cancelled is
        raised and no output is left behind (the checkpoint stays, for a later resume).
        `on_checkpoint_file` and `on_checkpoint_file_removed` keep a copy of the checkpoint folder
        elsewhere (see engine.checkpoint): the run goes on once they return.
        """
        started = time.monotonic()
        info = probe(source)
        output = Path(output)
        self.source_times = frame_times(source) if info.kind == "video" else None
        self._bind_rates(info.fps or 25.0, self.source_times)
        total = round(info.frame_count * self.rate_ratio)
        reporter = _Reporter(self, [s.name for s in self.recipe.stages], total, on_event, started)
        should_cancel = should_cancel or (lambda: False)
        try:
            if info.kind == "video":
                count = self._run_video(info, source, output, reporter, should_cancel, checkpoint_dir,
                                        on_file=on_checkpoint_file, on_file_removed=on_checkpoint_file_removed)
            else:
                write_image(output, next(self._restore(iter([read_image(source)]), 0, reporter, should_cancel)))
                count = 1
        except BaseException:
            output.unlink(missing_ok=True)
            raise
        reporter.finish(count)
        return RunResult(output=output, kind=info.kind, frames=count, seconds=time.monotonic() - started, source=info,
                         provenance=recipe_provenance(self.recipe.stages))

    def _bind_rates(self, input_fps: float, times: list[float] | None) -> None:
        """Tell each stage its input frame rate and times; note the output rate and output frames per input frame."""
        fps, ratio = input_fps, Fraction(1)
        # A rate conversion on a clip with dropped frames places frames by time, not by index: its
        # output pattern then does not repeat, and a resumed run restarts from the first frame.
        self.restart_from_first = ratio_changes = False
        for stage in self.recipe.stages:
            stage.bind(fps, None if ratio_changes else times)
            if stage.rate_ratio() != 1:
                self.restart_from_first = self.restart_from_first or is_variable_rate(times or [], fps)
                ratio_changes = True
            ratio *= stage.rate_ratio()
            fps = stage.output_fps(fps)
        self.output_fps, self.rate_ratio = fps, ratio

    @property
    def context_frames(self) -> int:
        """Input frames before an output frame that can change it: the sum of the stages' radii."""
        return sum(stage.radius for stage in self.recipe.stages)

    def _restore(self, frames: Iterable[np.ndarray], first_index: int, reporter: "_Reporter",
                 should_cancel, kept: "_KeptState | None" = None) -> Iterator[np.ndarray]:
        """Chain the stages over `frames` (whose first has index `first_index` in the clip)."""
        reporter.begin(first_index)
        for position, stage in enumerate(self.recipe.stages):
            frames = kept.apply(frames) if kept is not None and position == kept.position else stage.apply(frames)
        for index, frame in enumerate(frames, start=first_index + 1):
            if should_cancel():
                raise Cancelled("The job was cancelled.")
            reporter.frame_done(index, frame)
            yield frame

    def _run_video(self, info: MediaInfo, source, output: Path, reporter, should_cancel, checkpoint_dir, *,
                   on_file=None, on_file_removed=None) -> int:
        if checkpoint_dir is None:
            restored = self._restore(read_video_frames(source), 0, reporter, should_cancel)
            return self._encode(restored, info, source, output, reporter, total=None)
        per_out, per_in = self.rate_ratio.numerator, self.rate_ratio.denominator
        # Chunks hold a whole number of the rate conversion's repeating pattern (p outputs per q
        # inputs), so a chunk boundary falls on an input frame too.
        chunk_frames = math.ceil(self.chunk_frames / per_out) * per_out
        store = ChunkStore(checkpoint_dir, source_sha256=info.sha256, recipe=self.recipe.as_dict(),
                           chunk_frames=chunk_frames, fps=self.output_fps, on_file=on_file,
                           on_file_removed=on_file_removed)
        if not store.complete:
            done = store.finished_chunks() * chunk_frames
            kept = _KeptState.plan(self.recipe.stages, chunk_frames) if not self.restart_from_first else None
            resumed = kept.resume(store.resume_state(), done) if kept is not None and done else None
            if resumed is not None:
                # The whole-clip stage goes on from its kept state: decoding restarts just early
                # enough for the stages before it, the stages after it restart where it does.
                start, first_output = resumed
            else:
                done_inputs = done * per_in // per_out
                # Restart decoding early enough that every kept frame saw its full temporal context,
                # on a boundary of the rate pattern so that output frames line up.
                start = 0 if self.restart_from_first else max(0, done_inputs - self.context_frames)
                start -= start % per_in
                first_output = start * per_out // per_in
            restored = self._restore(read_video_frames(source, start), first_output, reporter, should_cancel, kept)
            store.write(itertools.islice(restored, done - first_output, None), store.finished_chunks(),
                        state_for=kept.take if kept is not None else None)
        count = self._encode(store.read(), info, source, output, reporter, total=store.total_frames,
                             should_cancel=should_cancel)
        store.remove()
        return count

    def _source_times(self, source, info: MediaInfo) -> list[float] | None:
        """The source's frame times when its rate varies and the recipe keeps one frame per frame."""
        if self.rate_ratio != 1:
            return None  # a rate conversion makes a steady rate on purpose
        times = self.source_times or []
        return times if is_variable_rate(times, info.fps) else None

    def _encode(self, frames: Iterable[np.ndarray], info: MediaInfo, source, output: Path, reporter, *,
                total: int | None, should_cancel=None) -> int:
        """Encode frames to a browser-playable mp4 and add the source's audio tracks."""
        with tempfile.TemporaryDirectory(prefix="engine-", dir=output.parent) as work:
            video_only = Path(work) / "video.mp4"
            with VideoEncoder(video_only, fps=self.output_fps, crf=self.crf, times=self._source_times(source, info)) as encoder:
                for frame in frames:
                    if should_cancel is not None and should_cancel():
                        raise Cancelled("The job was cancelled.")
                    encoder.write(frame)
                    if total:
                        reporter.phase_progress("encode", encoder.frames_written, total)
            if encoder.frames_written == 0:
                raise EngineError("The video has no frames.")
            reporter.phase_progress("finish", encoder.frames_written, encoder.frames_written)
            if info.has_audio:
                mux_with_audio(video_only, source, output)
            else:
                shutil.move(video_only, output)
            return encoder.frames_written


class _Reporter:
    """Turns frame counts into throttled ProgressEvents with an ETA and occasional previews.

    Speed and ETA count the frames this run made since it `started`: a resumed run begins at a
    later frame, and the frames earlier runs made took none of its time.
    """

    def __init__(self, pipeline: Pipeline, stages: list[str], total: int, on_event, started: float):
        self.pipeline = pipeline
        self.stages = stages
        self.total = max(1, total)
        self.on_event = on_event
        self.started = started
        self.first_index = 0  # frames of the output before the first this run makes
        self.latest = 0  # the output frames made so far (this run's and earlier runs')
        self.last_event = float("-inf")
        self.last_preview = float("-inf")

    def begin(self, first_index: int) -> None:
        """This run makes output frames from `first_index` + 1 on."""
        self.first_index = self.latest = first_index

    @property
    def made(self) -> int:
        """Output frames this run has made."""
        return self.latest - self.first_index

    def frame_done(self, index: int, frame: np.ndarray) -> None:
        self.latest = index
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
        fps = self.made / max(now - self.started, 1e-6)
        total = max(self.total, index)
        eta = (total - index) / fps if fps > 0 else None
        self.on_event(ProgressEvent("restore", self.stages, index, total, fps, eta, preview))

    def phase_progress(self, name: str, done: int, total: int) -> None:
        """Progress of a phase after restoring (encoding from chunks, muxing audio); throttled too."""
        if self.on_event is None:
            return
        now = time.monotonic()
        if now - self.last_event < self.pipeline.progress_interval and done < total and name == "encode":
            return
        self.last_event = now
        self.on_event(ProgressEvent(name, self.stages, done, total, eta_seconds=None))

    def finish(self, frames: int) -> None:
        if self.on_event is not None:
            fps = self.made / max(time.monotonic() - self.started, 1e-6)
            self.on_event(ProgressEvent("done", self.stages, frames, frames, fps, 0.0))


def jpeg_preview(rgb: np.ndarray, width: int, quality: int = 70) -> bytes:
    """A small JPEG of an HxWx3 uint8 RGB frame, `width` pixels wide."""
    height = max(1, round(rgb.shape[0] * width / rgb.shape[1]))
    small = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return data.tobytes()
