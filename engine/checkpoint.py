"""Chunked checkpoints: restored frames are kept as lossless chunks so a killed run resumes.

A checkpoint folder holds `manifest.json` (what is being restored: the source's hash, the recipe
and the chunk length) and `chunk-00000.mkv`, `chunk-00001.mkv`, ..., each with the sha256 of its
bytes beside it (`chunk-00000.sha256`). Each chunk is written under a temporary name and renamed
when complete, so a chunk on disk is always whole; a run killed at any moment loses at most the
chunk it was writing.

A chunk damaged on disk between two runs (a crash before the data reached the disk, a bad
sector, a hand that edited it) is found on resume by its hash and made again from the source,
with every chunk after it: the source is still there (the manifest checks its hash), so the user
gets the same frames as an uninterrupted run instead of a failure. Only damage found later, while
the chunks are read back for the final encode, fails the run, with a message naming the chunk.

A copy of the folder elsewhere (e.g. in object storage, so that another machine can resume) is
kept by the store's callbacks: `on_file(path)` after each file it commits (a chunk's hash before
the chunk, the manifest each time it is written) and `on_file_removed(path)` after each damaged
chunk or hash it deletes (a chunk before its hash), so that a copy made in that order always has
a chunk's hash when it has the chunk. In a copy whose manifest is missing or cut short (its writer
died while replacing it) nothing says which source, recipe and chunk length the chunks are of:
they are dropped and made again. `remove()` tells neither callback: the copy's owner removes the
copy with the restoration's output, and until then it is a complete checkpoint to encode from.

A stage whose frames depend on every earlier frame (faces: tracks and a bank of best frames;
colorize: colour carried along the motion) would otherwise make a resumed run start again from
the first frame. Its state at the end of the last chunk is kept beside it instead
(`state-00004.bin`, with its sha256 in `state-00004.sha256`, written before the chunk gets its
name; only the latest chunk's state is kept). The state is a pickle read back by an unpickler that
builds nothing but numpy arrays, plain containers and the classes the stage names.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import uuid
import zlib
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterable, Iterator

import av
import numpy as np

from engine.errors import EngineError
from engine.hashing import file_sha256

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


class ChunkStore:
    """The chunks of one restoration in `folder`; refuses a folder made for another source or recipe."""

    def __init__(self, folder: str | Path, *, source_sha256: str, recipe: dict, chunk_frames: int, fps: float,
                 on_file: Callable[[Path], None] | None = None,
                 on_file_removed: Callable[[Path], None] | None = None):
        self.folder = Path(folder)
        self.on_file = on_file or (lambda path: None)
        self.on_file_removed = on_file_removed or (lambda path: None)
        self.chunk_frames = chunk_frames
        self.rate = Fraction(fps).limit_denominator(1001)
        self.identity = {"format": FORMAT_VERSION, "source_sha256": source_sha256, "recipe": recipe,
                         "chunk_frames": chunk_frames}
        self.folder.mkdir(parents=True, exist_ok=True)
        saved = _read_manifest(self.folder / MANIFEST)
        if saved is not None:
            if {k: saved.get(k) for k in self.identity} != self.identity:
                raise EngineError(f"The checkpoint folder {str(self.folder)!r} belongs to another source or recipe; "
                                  "use an empty folder.")
            self.total_frames = saved.get("total_frames")
            self._drop_chunks_from(self._good_chunks())
        else:
            # Chunks without a manifest (a copy whose manifest was being replaced when its writer
            # died) are of a source, recipe and chunk length nobody can check: made again.
            self.total_frames = None
            self._drop_chunks_from(0)
            self._write_manifest(self.identity)

    def chunk_path(self, index: int) -> Path:
        return self.folder / f"chunk-{index:05d}.mkv"

    def state_path(self, index: int) -> Path:
        return self.folder / f"state-{index:05d}.bin"

    def resume_state(self) -> bytes | None:
        """The state kept with the last finished chunk (None when there is none, or it is damaged)."""
        chunks = self.finished_chunks()
        path = self.state_path(chunks - 1)
        if chunks == 0 or not path.exists() or not _hash_matches(path):
            return None
        return path.read_bytes()

    def _good_chunks(self) -> int:
        """How many chunks, from the first, have bytes that match their recorded sha256."""
        good = 0
        while self.chunk_path(good).exists() and _hash_matches(self.chunk_path(good)):
            good += 1
        return good

    def _drop_chunks_from(self, first: int) -> None:
        """Delete chunk `first` (damaged, or the first missing) and every chunk after it, so that
        the run makes them again."""
        dropped = [path for pattern in ("chunk-*.mkv", "state-*.bin") for path in self.folder.glob(pattern)
                   if int(path.stem.split("-")[1]) >= first]
        if not dropped:
            return
        for path in dropped:
            path.unlink()
            self.on_file_removed(path)
            if _hash_path(path).exists():
                _hash_path(path).unlink()
                self.on_file_removed(_hash_path(path))
        if self.total_frames is not None:  # the restore is no longer complete
            self.total_frames = None
            self._write_manifest(self.identity)

    def _write_manifest(self, data: dict) -> None:
        _write_json(self.folder / MANIFEST, data)
        self.on_file(self.folder / MANIFEST)

    def _commit(self, writer: "_ChunkWriter", index: int, state: bytes | None) -> None:
        if state is not None:  # on disk before the chunk has its name, as the chunk's hash is
            path = self.state_path(index)
            _write_bytes(path, state)
            _write_text(_hash_path(path), _sha256(state))
            self.on_file(_hash_path(path))
            self.on_file(path)
        writer.commit()
        self.on_file(_hash_path(writer.path))
        self.on_file(writer.path)
        for older in self.folder.glob("state-*.bin"):  # only the latest chunk's state is resumed from
            if int(older.stem.split("-")[1]) < index:
                older.unlink()
                self.on_file_removed(older)
                _hash_path(older).unlink(missing_ok=True)
                self.on_file_removed(_hash_path(older))

    def finished_chunks(self) -> int:
        """How many chunks, counted from the first, are complete on disk."""
        count = 0
        while self.chunk_path(count).exists():
            count += 1
        return count

    @property
    def complete(self) -> bool:
        return self.total_frames is not None

    def write(self, frames: Iterator[np.ndarray], first_chunk: int,
              state_for: Callable[[int], bytes | None] | None = None) -> int:
        """Write `frames` as chunks numbered from `first_chunk`; returns the run's total frame count.

        `state_for(chunk)` gives the state to keep with a chunk that is about to be committed (or None)."""
        state_for = state_for or (lambda index: None)
        index, in_chunk, written, writer = first_chunk, 0, 0, None
        try:
            for frame in frames:
                if writer is None:
                    writer = _ChunkWriter(self.chunk_path(index), self.rate)
                writer.write(frame)
                in_chunk += 1
                written += 1
                if in_chunk == self.chunk_frames:
                    self._commit(writer, index, state_for(index))
                    writer, in_chunk, index = None, 0, index + 1
            if writer is not None:  # the last chunk: nothing resumes after it
                self._commit(writer, index, None)
                writer = None
        finally:
            if writer is not None:  # cancelled or failed mid-chunk: that chunk is redone on resume
                writer.abort()
        self.total_frames = first_chunk * self.chunk_frames + written
        self._write_manifest({**self.identity, "total_frames": self.total_frames})
        return self.total_frames

    def remove(self) -> None:
        """Delete the chunks and the manifest (after the final output is written)."""
        for path in [*self.folder.glob("chunk-*"), *self.folder.glob("state-*")]:
            path.unlink()
        (self.folder / MANIFEST).unlink(missing_ok=True)

    def read(self) -> Iterator[np.ndarray]:
        """All restored frames in order, HxWx3 uint8 RGB, decoded chunk by chunk."""
        chunks = self.finished_chunks()
        for index in range(chunks):
            expected = self.chunk_frames if index < chunks - 1 else self.total_frames - index * self.chunk_frames
            count = 0
            try:
                with av.open(str(self.chunk_path(index))) as container:
                    for frame in container.decode(video=0):
                        count += 1
                        yield frame.to_ndarray(format="rgb24")
            except av.FFmpegError as exc:
                # strerror: FFmpeg's words without the file's path, which means nothing to a site's user
                raise EngineError(f"Checkpoint chunk {index} is damaged ({exc.strerror or 'unreadable'}); run "
                                  "again to redo it.") from None
            if count != expected:
                raise EngineError(f"Checkpoint chunk {index} is damaged ({count} of {expected} frames); run "
                                  "again to redo it.")


class _ChunkWriter:
    """One lossless chunk (FFV1, bgr0: exact RGB), written to a temporary name until committed."""

    def __init__(self, path: Path, rate: Fraction):
        self.path = path
        # A name of its own, so that no other writer (an earlier, abandoned run) can touch this file.
        self.partial = path.with_name(f"{path.name}.{uuid.uuid4().hex}.partial")
        self.rate = rate
        self.container = av.open(str(self.partial), mode="w", format="matroska")
        self.stream = None
        self.count = 0
        self.committed = False

    def write(self, rgb: np.ndarray) -> None:
        if self.stream is None:
            self.stream = self.container.add_stream("ffv1", rate=self.rate)
            self.stream.width, self.stream.height = rgb.shape[1], rgb.shape[0]
            self.stream.pix_fmt = "bgr0"
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts = self.count
        frame.time_base = 1 / self.rate
        self.container.mux(self.stream.encode(frame))
        self.count += 1

    def commit(self) -> None:
        self.container.mux(self.stream.encode(None))
        self.container.close()
        with open(self.partial, "rb") as handle:
            os.fsync(handle.fileno())
        # The hash is on disk before the chunk gets its name: a named chunk always has one to check.
        _write_text(_hash_path(self.path), file_sha256(self.partial))
        os.replace(self.partial, self.path)
        self.committed = True

    def abort(self) -> None:
        if self.committed:  # whole on disk: only what came after it (a copy's callback) failed
            return
        try:
            self.container.close()
        except av.FFmpegError:
            pass
        self.partial.unlink(missing_ok=True)


def _hash_path(chunk: Path) -> Path:
    return chunk.with_suffix(".sha256")


def _hash_matches(chunk: Path) -> bool:
    """Whether the chunk's bytes are the ones written (a chunk without a recorded hash is not trusted)."""
    recorded = _hash_path(chunk)
    return recorded.exists() and recorded.read_text().strip() == file_sha256(chunk)


def _read_manifest(path: Path) -> dict | None:
    """The saved manifest; None when there is none, or only part of one (a copy cut short)."""
    try:
        saved = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    return saved if isinstance(saved, dict) else None


# What a kept state may be built from besides the stage's own classes: numpy arrays and scalars,
# and the containers pickle itself needs for objects and deques.
_STATE_GLOBALS = {("numpy", "ndarray"), ("numpy", "dtype"), ("numpy._core.multiarray", "_reconstruct"),
                  ("numpy._core.multiarray", "scalar"), ("numpy._core.numeric", "_frombuffer"),
                  ("numpy.core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
                  ("copyreg", "_reconstructor"), ("copyreg", "__newobj__"), ("builtins", "object"),
                  ("collections", "deque"), ("collections", "OrderedDict")}


def dump_state(state) -> bytes:
    """A stage's state as bytes to keep with a chunk (compressed: raw frames are most of it)."""
    return zlib.compress(pickle.dumps(state, protocol=4), 1)


def load_state(data: bytes, types: Iterable[type]):
    """The state `dump_state` made, built only from numpy data, plain containers and `types`."""
    allowed = {(cls.__module__, cls.__qualname__): cls for cls in types}

    class StateUnpickler(pickle.Unpickler):
        def find_class(self, module: str, name: str):
            if (module, name) in allowed:
                return allowed[module, name]
            if (module, name) in _STATE_GLOBALS:
                return super().find_class(module, name)
            raise EngineError(f"A checkpoint's saved state names {module}.{name}, which a state never holds; "
                              "the checkpoint is not used.")

    try:
        return StateUnpickler(io.BytesIO(zlib.decompress(data))).load()
    except (zlib.error, pickle.UnpicklingError, EOFError, AttributeError, ValueError, TypeError) as exc:
        raise EngineError(f"A checkpoint's saved state is damaged ({exc}).") from None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_bytes(path: Path, data: bytes) -> None:
    temporary = path.with_name(f"{path.name}.{uuid.uuid4().hex}.partial")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _write_text(path: Path, text: str) -> None:
    temporary = path.with_name(f"{path.name}.{uuid.uuid4().hex}.partial")  # a name no other writer uses
    temporary.write_text(text)
    os.replace(temporary, path)


def _write_json(path: Path, data: dict) -> None:
    _write_text(path, json.dumps(data, indent=1, sort_keys=True))
