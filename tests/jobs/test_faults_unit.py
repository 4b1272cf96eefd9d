"""Faults injected in-process: a full disk, a chunk that cannot be made again, Redis unreachable for live events."""
import asyncio
import errno
from datetime import timedelta
from pathlib import Path
from unittest import mock

import av
import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from engine.checkpoint import _ChunkWriter
from engine.io import VideoEncoder
from jobs import events
from jobs.services.lifecycle import job_checkpoint_folder
from jobs.services.run import RunOutcome, job_run
from jobs.models import Job, JobState
from restoration_site.media import media_delete, media_list, media_save_bytes
from tests.jobs.factories import job_for


@pytest.fixture
def no_events():
    with mock.patch("jobs.events.send_job_event") as send:
        yield send


def make_stale(job, settings):
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS + 1))


def disk_full_after(frames: int, real_write):
    """A write that fills the disk after `frames` frames, raising what PyAV raises then."""
    calls = []

    def write(self, frame):
        calls.append(1)
        if len(calls) > frames:
            raise av.error.OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, frame)

    return write


def commit_then_die_at(count: int):
    real_commit = _ChunkWriter.commit
    done = []

    def commit(self):
        if len(done) == count:
            raise SystemExit("worker lost")
        real_commit(self)
        done.append(1)

    return commit


@pytest.mark.parametrize("writer", [_ChunkWriter, VideoEncoder], ids=["writing a chunk", "encoding the result"])
def test_a_full_disk_fails_the_job_with_a_message_and_keeps_nothing(owner, film_clip, media_root, no_events,
                                                                    settings, writer):
    settings.JOB_CHUNK_FRAMES = 8
    job = job_for(owner, film_clip)
    with mock.patch.object(writer, "write", disk_full_after(12, writer.write)):
        assert job_run(job_id=job.id) == RunOutcome.RAN
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert job.error == "The server ran out of disk space while restoring; nothing was kept. Try again later."
    assert not job.result  # nothing to publish as a version
    # Only the upload is left: no result, no half-written file, no checkpoint.
    assert [p.name for p in Path(job.source.path).parent.rglob("*")] == [Path(job.source.path).name]


def test_a_damaged_chunk_whose_source_is_damaged_too_fails_the_job_with_a_message(owner, film_clip, media_root,
                                                                               no_events, settings):
    settings.JOB_CHUNK_FRAMES = 8
    job = job_for(owner, film_clip)
    folder = job_checkpoint_folder(job)
    # The worker dies after two chunks (SystemExit is nothing the service handles, like SIGKILL).
    with mock.patch.object(_ChunkWriter, "commit", commit_then_die_at(2)):
        with pytest.raises(SystemExit):
            job_run(job_id=job.id)
    assert len([name for name in media_list(folder) if name.endswith(".mkv")]) == 2
    chunk = f"{folder}/chunk-00001.mkv"
    with default_storage.open(chunk, "rb") as stored:
        cut = stored.read()[:400]
    media_delete(chunk)
    media_save_bytes(cut, chunk)
    Path(job.source.path).write_bytes(b"\0" * 4096)  # the source it would be made again from is damaged too
    make_stale(job, settings)

    job_run(job_id=job.id)
    job.refresh_from_db()
    assert (job.state, job.attempts) == (JobState.FAILED, 2)
    assert job.error == "The file is not an image or video we can read."
    assert not job.result and media_list(folder) == []


class UnreachableLayer:
    """A channel layer whose Redis refuses connections, or (hang=True) accepts them and never answers."""

    def __init__(self, hang=False):
        self.hang = hang
        self.sends = 0

    async def group_send(self, group, message):
        self.sends += 1
        if self.hang:
            await asyncio.sleep(60)
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


@pytest.fixture
def fresh_pause(monkeypatch):
    monkeypatch.setattr(events, "_pause", 0.0)
    monkeypatch.setattr(events, "_paused_until", 0.0)


def test_live_events_pause_while_redis_is_unreachable_but_the_last_one_is_tried(fresh_pause):
    layer = UnreachableLayer()
    with mock.patch("jobs.events.get_channel_layer", return_value=layer):
        assert events.send_job_event("job-1", {"state": "running"}) is False
        assert events.send_job_event("job-1", {"state": "running"}) is False
        assert layer.sends == 1  # the second waited for nothing: the job is not slowed down by Redis
        assert events.send_job_event("job-1", {"state": "succeeded"}) is False
        assert layer.sends == 2  # a page must not miss the end, so it is tried anyway
        assert events._pause == 2 * events.FIRST_PAUSE  # failures in a row wait longer


def test_a_stalled_redis_costs_one_timeout_not_one_per_event(fresh_pause):
    layer = UnreachableLayer(hang=True)
    with mock.patch("jobs.events.get_channel_layer", return_value=layer):
        assert events.send_job_event("job-1", {"state": "running"}, timeout=0.1) is False
        assert events.send_job_event("job-1", {"state": "running"}, timeout=0.1) is False
    assert layer.sends == 1


def test_live_events_flow_again_once_redis_is_back(fresh_pause):
    with mock.patch("jobs.events.get_channel_layer", return_value=UnreachableLayer()):
        assert events.send_job_event("job-1", {"state": "running"}) is False
    events._paused_until = 0.0  # the pause is over
    assert events.send_job_event("job-1", {"state": "running"}) is True
    assert events._pause == 0.0


def test_a_job_that_keeps_killing_its_worker_is_given_up_not_run_again(owner, film_clip, media_root, no_events,
                                                                      settings):
    # Celery hands back the message of a pool process killed mid-job (e.g. for memory); after
    # JOB_MAX_ATTEMPTS such deaths the job fails with the reaper's reason instead of running again.
    job = job_for(owner, film_clip)
    Job.objects.filter(pk=job.pk).update(state=JobState.RUNNING, attempts=settings.JOB_MAX_ATTEMPTS,
                                         heartbeat_at=timezone.now())
    assert job_run(job_id=job.id) == RunOutcome.BUSY  # its worker may still be alive
    make_stale(job, settings)
    assert job_run(job_id=job.id) == RunOutcome.SKIPPED
    job.refresh_from_db()
    assert (job.state, job.attempts) == (JobState.FAILED, settings.JOB_MAX_ATTEMPTS)
    assert job.error == "The worker running this job stopped responding 3 times; the job was given up."
