import json
import shutil
import time
from unittest import mock

import numpy as np
import pytest

from engine.checkpoint import ChunkStore
from engine.errors import Cancelled, EngineError
from engine.io import probe, read_video_frames
from engine.pipeline import Pipeline
from engine.recipes import load_recipe
from engine.stages import Deflicker
from tests.engine.helpers import checkpoint_frames


def run_keeping_chunks(clip, output, folder, **kwargs):
    with mock.patch.object(ChunkStore, "remove"):
        return Pipeline(load_recipe("film-default"), chunk_frames=8, **kwargs).run(clip, output,
                                                                                  checkpoint_dir=folder)


def test_resume_after_cancel_gives_exactly_the_uninterrupted_frames(film_clip, tmp_path):
    run_keeping_chunks(film_clip, tmp_path / "full.mp4", tmp_path / "full")
    reference = checkpoint_frames(tmp_path / "full")
    assert len(reference) == 24

    polls = []
    with pytest.raises(Cancelled):
        Pipeline(load_recipe("film-default"), chunk_frames=8).run(
            film_clip, tmp_path / "out.mp4", checkpoint_dir=tmp_path / "ck",
            should_cancel=lambda: polls.append(1) or len(polls) > 13)
    assert sorted(p.name for p in (tmp_path / "ck").glob("chunk-*.mkv")) == ["chunk-00000.mkv"]
    assert not (tmp_path / "out.mp4").exists()

    events = []
    with mock.patch.object(ChunkStore, "remove"):
        Pipeline(load_recipe("film-default"), chunk_frames=8, progress_interval=0).run(
            film_clip, tmp_path / "out.mp4", checkpoint_dir=tmp_path / "ck", on_event=events.append)
    resumed = checkpoint_frames(tmp_path / "ck")
    assert all(np.array_equal(a, b) for a, b in zip(reference, resumed)) and len(resumed) == 24
    # One chunk (8 frames) was done, but the stages' context (deflicker 7, descratch 1, denoise 2) reaches
    # further back, so decoding restarted at the first frame.
    assert min(e.frame for e in events if e.phase == "restore") == 1
    decoded = list(read_video_frames(tmp_path / "out.mp4"))
    full = list(read_video_frames(tmp_path / "full.mp4"))
    assert len(decoded) == 24
    assert max(np.abs(a.astype(int) - b.astype(int)).mean() for a, b in zip(decoded, full)) < 1.0
    assert probe(tmp_path / "out.mp4").audio_codecs == ["aac"]


def test_resume_skips_work_already_done(film_clip, tmp_path):
    with pytest.raises(Cancelled):
        Pipeline(load_recipe("film-light"), chunk_frames=8).run(
            film_clip, tmp_path / "out.mp4", checkpoint_dir=tmp_path / "ck",
            should_cancel=mock.Mock(side_effect=[False] * 20 + [True]))
    assert len(list((tmp_path / "ck").glob("chunk-*.mkv"))) == 2
    events = []
    Pipeline(load_recipe("film-light"), chunk_frames=8, progress_interval=0).run(
        film_clip, tmp_path / "out.mp4", checkpoint_dir=tmp_path / "ck", on_event=events.append)
    restored = [e.frame for e in events if e.phase == "restore"]
    assert min(restored) == 16 - 7 + 1  # 2 chunks done; deflicker's 7 frames of context redone
    assert probe(tmp_path / "out.mp4").frame_count == 24
    assert list((tmp_path / "ck").glob("chunk-*")) == []  # removed once the output exists


def test_a_checkpoint_of_another_recipe_is_refused(film_clip, tmp_path):
    Pipeline(load_recipe("film-light"), chunk_frames=8).run(film_clip, tmp_path / "a.mp4", checkpoint_dir=tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"format": 1, "source_sha256": "x"}))
    with pytest.raises(EngineError, match="belongs to another source or recipe"):
        Pipeline(load_recipe("film-light"), chunk_frames=8).run(film_clip, tmp_path / "b.mp4", checkpoint_dir=tmp_path)


def test_a_chunk_damaged_between_runs_is_made_again_from_the_source(film_clip, tmp_path):
    with mock.patch.object(ChunkStore, "remove"):
        Pipeline(load_recipe("film-light"), chunk_frames=8).run(film_clip, tmp_path / "full.mp4",
                                                                 checkpoint_dir=tmp_path / "full")
    reference = checkpoint_frames(tmp_path / "full")
    folder = tmp_path / "ck"
    with pytest.raises(Cancelled):
        Pipeline(load_recipe("film-light"), chunk_frames=8).run(
            film_clip, tmp_path / "out.mp4", checkpoint_dir=folder,
            should_cancel=mock.Mock(side_effect=[False] * 20 + [True]))
    chunk = folder / "chunk-00001.mkv"
    chunk.write_bytes(chunk.read_bytes()[:400])

    events = []
    with mock.patch.object(ChunkStore, "remove"):
        Pipeline(load_recipe("film-light"), chunk_frames=8, progress_interval=0).run(
            film_clip, tmp_path / "out.mp4", checkpoint_dir=folder, on_event=events.append)
    # Chunk 0 was kept; chunk 1 was made again, from its deflicker context (7 frames) on.
    assert min(e.frame for e in events if e.phase == "restore") == 8 - 7 + 1
    resumed = checkpoint_frames(folder)
    assert len(resumed) == 24 and all(np.array_equal(a, b) for a, b in zip(reference, resumed))


def test_a_chunk_damaged_while_reading_back_fails_with_a_clear_message(tmp_path):
    store = ChunkStore(tmp_path, source_sha256="x", recipe={}, chunk_frames=4, fps=12)
    store.write(iter([np.full((16, 16, 3), i, np.uint8) for i in range(8)]), 0)
    store.chunk_path(0).write_bytes(store.chunk_path(0).read_bytes()[:300])
    with pytest.raises(EngineError, match="chunk 0 is damaged") as error:
        list(store.read())
    assert str(tmp_path) not in str(error.value)  # the message is for a site's user too


def test_a_resumed_run_reports_the_speed_and_eta_of_the_frames_it_makes_itself(film_clip, tmp_path, monkeypatch):
    with pytest.raises(Cancelled):
        Pipeline(load_recipe("film-light"), chunk_frames=8).run(
            film_clip, tmp_path / "out.mp4", checkpoint_dir=tmp_path / "ck",
            should_cancel=mock.Mock(side_effect=[False] * 20 + [True]))
    # Each frame now takes at least 50 ms, so this run cannot make more than 20 frames a second.
    seconds_per_frame = 0.05
    deflicker = Deflicker.apply

    def slow(self, frames):
        for frame in deflicker(self, frames):
            time.sleep(seconds_per_frame)
            yield frame

    monkeypatch.setattr(Deflicker, "apply", slow)
    events, started = [], time.monotonic()
    Pipeline(load_recipe("film-light"), chunk_frames=8, progress_interval=0).run(
        film_clip, tmp_path / "out.mp4", checkpoint_dir=tmp_path / "ck",
        on_event=lambda event: events.append((event, time.monotonic() - started)))
    restored = [(e, seconds) for e, seconds in events if e.phase == "restore"]
    first = restored[0][0].frame  # 10: two chunks were done; deflicker's 7 frames of context redone
    assert first == 10 and restored[-1][0].frame == 24
    for event, seconds in restored:
        made = event.frame - first + 1  # frames of the clip this run made
        assert made / seconds <= event.fps <= 1 / seconds_per_frame
        assert event.eta_seconds == pytest.approx((event.total - event.frame) / event.fps)
        assert event.eta_seconds >= (event.total - event.frame) * seconds_per_frame
    done, seconds = events[-1]
    assert done.phase == "done" and 15 / seconds <= done.fps <= 1 / seconds_per_frame


def small_frames(count):
    return iter([np.full((16, 16, 3), i * 10, np.uint8) for i in range(count)])


def test_the_store_tells_each_file_it_commits_a_chunks_hash_first(tmp_path):
    told = []

    def on_file(path):
        assert path.is_file()  # whole and under its name when told
        if path.suffix == ".mkv":
            assert path.with_suffix(".sha256").name in told  # a copy has the hash before the chunk
        told.append(path.name)

    store = ChunkStore(tmp_path, source_sha256="x", recipe={}, chunk_frames=4, fps=12, on_file=on_file)
    assert store.write(small_frames(10), 0) == 10
    assert told == ["manifest.json", "chunk-00000.sha256", "chunk-00000.mkv", "chunk-00001.sha256",
                    "chunk-00001.mkv", "chunk-00002.sha256", "chunk-00002.mkv", "manifest.json"]
    assert json.loads((tmp_path / "manifest.json").read_text())["total_frames"] == 10


def test_damaged_chunks_dropped_on_resume_are_told_so_that_a_copy_drops_them_too(tmp_path):
    ChunkStore(tmp_path, source_sha256="x", recipe={}, chunk_frames=4, fps=12).write(small_frames(12), 0)
    (tmp_path / "chunk-00001.mkv").write_bytes(b"changed")
    told, removed = [], []
    store = ChunkStore(tmp_path, source_sha256="x", recipe={}, chunk_frames=4, fps=12,
                       on_file=lambda path: told.append(path.name), on_file_removed=lambda path: removed.append(path.name))
    assert sorted(removed) == ["chunk-00001.mkv", "chunk-00001.sha256", "chunk-00002.mkv", "chunk-00002.sha256"]
    assert removed.index("chunk-00001.mkv") < removed.index("chunk-00001.sha256")  # never a chunk without its hash
    assert told == ["manifest.json"] and not store.complete  # no longer says it is complete
    assert store.finished_chunks() == 1


@pytest.mark.parametrize("manifest", [None, '{"format": 1, "sour'], ids=["missing", "cut short"])
def test_chunks_whose_manifest_is_missing_or_cut_short_are_made_again(tmp_path, manifest):
    ChunkStore(tmp_path, source_sha256="x", recipe={}, chunk_frames=4, fps=12).write(small_frames(8), 0)
    if manifest is None:
        (tmp_path / "manifest.json").unlink()
    else:
        (tmp_path / "manifest.json").write_text(manifest)
    removed = []
    store = ChunkStore(tmp_path, source_sha256="x", recipe={}, chunk_frames=4, fps=12,
                       on_file_removed=lambda path: removed.append(path.name))
    assert store.finished_chunks() == 0 and len(removed) == 4
    assert json.loads((tmp_path / "manifest.json").read_text())["source_sha256"] == "x"


def test_a_failing_callback_fails_the_write_but_keeps_the_committed_chunk_whole(tmp_path):
    def on_file(path):
        if path.name == "chunk-00001.mkv":
            raise ConnectionError("the copy is unreachable")

    store = ChunkStore(tmp_path, source_sha256="x", recipe={}, chunk_frames=4, fps=12, on_file=on_file)
    with pytest.raises(ConnectionError):
        store.write(small_frames(12), 0)
    assert store.finished_chunks() == 2 and not list(tmp_path.glob("*.partial"))
    again = ChunkStore(tmp_path, source_sha256="x", recipe={}, chunk_frames=4, fps=12)
    assert again.finished_chunks() == 2  # both whole: their hashes match


def test_a_run_resumes_on_another_machine_from_a_copy_the_callbacks_kept(film_clip, tmp_path):
    # The copy is what another machine fetches: a folder kept only through the callbacks.
    copy = tmp_path / "copy"
    copy.mkdir()

    def keep(path):
        shutil.copyfile(path, copy / path.name)

    def drop(path):
        (copy / path.name).unlink()

    with pytest.raises(Cancelled):
        Pipeline(load_recipe("film-light"), chunk_frames=8).run(
            film_clip, tmp_path / "out.mp4", checkpoint_dir=tmp_path / "first", on_checkpoint_file=keep,
            on_checkpoint_file_removed=drop, should_cancel=mock.Mock(side_effect=[False] * 20 + [True]))
    assert sorted(p.name for p in copy.iterdir()) == ["chunk-00000.mkv", "chunk-00000.sha256", "chunk-00001.mkv",
                                                    "chunk-00001.sha256", "manifest.json"]
    copy.joinpath("chunk-00001.mkv").write_bytes(b"changed on the way")
    other = tmp_path / "other"
    shutil.copytree(copy, other)
    events = []
    with mock.patch.object(ChunkStore, "remove"):
        Pipeline(load_recipe("film-light"), chunk_frames=8, progress_interval=0).run(
            film_clip, tmp_path / "out.mp4", checkpoint_dir=other, on_event=events.append,
            on_checkpoint_file=keep, on_checkpoint_file_removed=drop)
    # Chunk 0 was trusted; the changed chunk 1 was made again from its deflicker context (7 frames) on.
    assert min(e.frame for e in events if e.phase == "restore") == 8 - 7 + 1
    kept, local = checkpoint_frames(copy), checkpoint_frames(other)
    assert len(kept) == len(local) == 24 and all(np.array_equal(a, b) for a, b in zip(kept, local))
    assert json.loads((copy / "manifest.json").read_text())["total_frames"] == 24


def test_a_kept_state_is_read_back_with_nothing_but_data_and_the_stage_s_own_classes():
    import os
    import pickle
    import zlib

    from engine.checkpoint import dump_state, load_state
    from engine.faces.detect import Face

    face = Face(np.float32([1, 2, 3, 4]), np.float32(0.9), np.zeros((5, 2), np.float32))
    back = load_state(dump_state({"faces": [face], "n": 3}), [Face])
    assert back["n"] == 3 and np.array_equal(back["faces"][0].box, face.box)

    class Evil:
        def __reduce__(self):
            return os.system, ("echo owned",)

    with pytest.raises(EngineError, match="names posix.system"):
        load_state(zlib.compress(pickle.dumps(Evil())), [Face])
    with pytest.raises(EngineError, match="names engine.faces.detect.Face"):
        load_state(dump_state(face), [])  # a class the stage did not name
    with pytest.raises(EngineError, match="damaged"):
        load_state(b"not a state", [Face])
