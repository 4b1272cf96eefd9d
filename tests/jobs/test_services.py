import time
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from engine.io import probe
from jobs.services.launch import job_create_from_upload, recipe_resolve
from jobs.services.lifecycle import job_cancel, job_checkpoint_folder
from jobs.services.reaper import job_assets_sweep, jobs_reap_stale
from jobs.services.run import JobProgress, RunOutcome, job_run
from jobs.models import Job, JobState
from restoration_site.errors import ApplicationError
from restoration_site.media import media_list
from tests.jobs.factories import job_for, upload_of


def stored_files(media_root: Path) -> list[Path]:
    return [p for p in media_root.rglob("*") if p.is_file()]


@pytest.fixture
def no_events():
    with mock.patch("jobs.events.send_job_event") as send:
        yield send


def test_upload_is_stored_under_a_server_name_and_queued_after_commit(owner, film_clip, media_root,
                                                                      django_capture_on_commit_callbacks):
    with mock.patch("jobs.tasks.run_job.apply_async") as enqueue:
        with django_capture_on_commit_callbacks(execute=True):
            job = job_create_from_upload(
                owner=owner, upload=upload_of(film_clip, "../../etc/passwd.mp4"), recipe_name="film-default")
    enqueue.assert_called_once_with(args=[str(job.id)], queue="cpu", priority=6, retry=False)
    assert job.state == JobState.QUEUED and job.kind == "video"
    assert job.source.name == f"jobs/{job.id}/source.mp4"
    assert job.source_name == "passwd.mp4"  # only the base name is kept, and only for display
    assert job.source_info["frame_count"] == 24
    assert [s["stage"] for s in job.recipe["stages"]] == ["deflicker", "descratch", "denoise"]
    assert stored_files(media_root) == [media_root / job.source.name]


def test_image_uploads_are_reencoded_without_metadata(owner, media_root, tmp_path):
    path = tmp_path / "photo.jpg"
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"
    exif[0x8825] = {1: "N", 2: (39.0, 54.0, 0.0)}  # GPS latitude
    Image.new("RGB", (64, 48), (120, 90, 60)).save(path, format="JPEG", exif=exif)
    with Image.open(path) as original:
        assert original.getexif().get_ifd(0x8825)
    job = job_create_from_upload(owner=owner, upload=upload_of(path), recipe_name="film-default")
    assert job.source.name.endswith("source.png") and job.kind == "image"
    with Image.open(job.source.path) as stored:
        assert not stored.getexif()
        assert stored.size == (64, 48)


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"#!/bin/sh\nrm -rf /\n", "not an image or video"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "not an image or video"),
])
def test_bad_uploads_are_refused_with_a_message_and_nothing_kept(owner, media_root, content, message):
    with pytest.raises(ApplicationError, match=message):
        job_create_from_upload(
            owner=owner, upload=SimpleUploadedFile("clip.mp4", content), recipe_name="film-default")
    assert Job.objects.count() == 0
    assert stored_files(media_root) == []


def test_caps_on_bytes_duration_and_frame_size(owner, film_clip, media_root, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    with pytest.raises(ApplicationError, match="the limit is"):
        job_for(owner, film_clip)
    settings.UPLOAD_MAX_BYTES = 10**9
    settings.UPLOAD_MAX_SECONDS = 1
    with pytest.raises(ApplicationError, match="at most 1 s"):
        job_for(owner, film_clip)
    settings.UPLOAD_MAX_SECONDS = 60
    settings.UPLOAD_MAX_VIDEO_PIXELS = 320 * 200
    with pytest.raises(ApplicationError, match="320x240"):
        job_for(owner, film_clip)
    assert Job.objects.count() == 0 and stored_files(media_root) == []


def test_unknown_recipe_is_refused_before_anything_is_stored(owner, film_clip, media_root):
    with pytest.raises(ApplicationError, match="Unknown recipe"):
        job_for(owner, film_clip, recipe="film-1890")
    assert stored_files(media_root) == []


def test_run_restores_the_video_and_records_progress(owner, film_clip, media_root, no_events):
    job = job_for(owner, film_clip, recipe="film-default")
    job_run(job_id=job.id, worker="w1")
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, job.error
    assert (job.worker, job.attempts) == ("w1", 1)
    assert job.started_at <= job.finished_at
    assert job.progress["frame"] == 24 and job.progress["fraction"] == 1.0
    assert job.preview.startswith("data:image/jpeg;base64,")
    info = probe(job.result.path)
    assert (info.frame_count, info.audio_codecs) == (24, ["aac"])
    states = [call.args[1]["state"] for call in no_events.call_args_list]
    assert states[0] == "running" and states[-1] == "succeeded"
    assert len(states) >= 4
    # Events carry the preview only when there is a new one (it is most of an event's bytes).
    previews = [call.args[1].get("preview") for call in no_events.call_args_list if "preview" in call.args[1]]
    assert previews and len(previews) < len(states)


def test_a_job_is_run_once_only(owner, film_clip, media_root, no_events):
    job = job_for(owner, film_clip)
    assert job_run(job_id=job.id) == RunOutcome.RAN
    assert job_run(job_id=job.id) == RunOutcome.SKIPPED
    job.refresh_from_db()
    assert job.attempts == 1


def test_cancel_a_queued_job_means_it_never_runs(owner, film_clip, media_root, no_events):
    job = job_for(owner, film_clip)
    job_cancel(job=job)
    assert job.state == JobState.CANCELLED
    assert job_run(job_id=job.id) == RunOutcome.SKIPPED
    with pytest.raises(ApplicationError, match="already finished"):
        job_cancel(job=job)


def test_cancel_a_running_job_stops_it_between_frames(owner, film_clip, media_root, no_events):
    job = job_for(owner, film_clip)
    real_should_cancel = JobProgress.should_cancel
    polls = []

    def user_cancels_at_frame_three(self):
        polls.append(1)
        if len(polls) == 3:
            job_cancel(job=Job.objects.get(pk=self.job.pk))  # what the cancel button does
        return real_should_cancel(self)

    with mock.patch.object(JobProgress, "should_cancel", user_cancels_at_frame_three), \
            mock.patch.object(JobProgress, "CANCEL_POLL_SECONDS", 0):
        job_run(job_id=job.id)
    job.refresh_from_db()
    assert job.state == JobState.CANCELLED
    assert len(polls) == 3
    assert not job.result and not (Path(job.source.path).parent / "result.mp4").exists()


def test_a_damaged_source_fails_the_job_with_a_reason(owner, film_clip, media_root, no_events):
    job = job_for(owner, film_clip)
    data = Path(job.source.path).read_bytes()
    Path(job.source.path).write_bytes(data[: len(data) // 3])
    job_run(job_id=job.id)
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert job.error
    assert not job.result


def test_a_job_running_elsewhere_is_left_alone_until_its_heartbeat_is_stale(owner, film_clip, media_root,
                                                                           no_events, settings):
    job = job_for(owner, film_clip)
    Job.objects.filter(pk=job.pk).update(state=JobState.RUNNING, heartbeat_at=timezone.now(), attempts=1)
    assert job_run(job_id=job.id) == RunOutcome.BUSY
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS + 1))
    assert job_run(job_id=job.id, worker="w2") == RunOutcome.RAN
    job.refresh_from_db()
    assert (job.state, job.attempts, job.worker) == (JobState.SUCCEEDED, 2, "w2")


def test_a_job_resumes_from_its_checkpoint_and_cleans_it_up(owner, film_clip, media_root, no_events, settings):
    settings.JOB_CHUNK_FRAMES = 8
    job = job_for(owner, film_clip)
    folder = job_checkpoint_folder(job)
    real_should_cancel = JobProgress.should_cancel
    polls = []

    def worker_dies_after_two_chunks(self):
        polls.append(1)
        if len(polls) > 17:
            raise SystemExit("worker lost")  # not an error the service handles: like a killed process
        return real_should_cancel(self)

    with mock.patch.object(JobProgress, "should_cancel", worker_dies_after_two_chunks):
        with pytest.raises(SystemExit):
            job_run(job_id=job.id)
    assert [name for name in media_list(folder) if name.endswith(".mkv")] == [
        f"{folder}/chunk-00000.mkv", f"{folder}/chunk-00001.mkv"]
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS + 1))
    frames_seen = []
    real_on_event = JobProgress.on_event

    def record(self, event):
        frames_seen.append((event.phase, event.frame))
        real_on_event(self, event)

    with mock.patch.object(JobProgress, "on_event", record):
        assert job_run(job_id=job.id) == RunOutcome.RAN
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED and job.attempts == 2, job.error
    # Two chunks of 8 were kept; film-light's deflicker needs 7 frames of context before frame 16.
    assert min(f for phase, f in frames_seen if phase == "restore") == 16 - 7 + 1
    assert probe(job.result.path).frame_count == 24
    assert media_list(folder) == []


def test_the_reaper_requeues_a_job_whose_worker_vanished_then_gives_up(owner, film_clip, media_root, no_events,
                                                                      settings, django_capture_on_commit_callbacks):
    job = job_for(owner, film_clip)
    old = timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS + 5)
    Job.objects.filter(pk=job.pk).update(state=JobState.RUNNING, heartbeat_at=old, attempts=1, worker="gone@host")
    with mock.patch("jobs.tasks.run_job.apply_async") as enqueue:
        with django_capture_on_commit_callbacks(execute=True):
            assert jobs_reap_stale() == {"requeued": 1, "failed": 0, "resent": 0}
    enqueue.assert_called_once_with(args=[str(job.id)], queue="cpu", priority=6, retry=False)
    job.refresh_from_db()
    assert job.state == JobState.QUEUED

    Job.objects.filter(pk=job.pk).update(state=JobState.RUNNING, heartbeat_at=old, attempts=settings.JOB_MAX_ATTEMPTS)
    assert jobs_reap_stale() == {"requeued": 0, "failed": 1, "resent": 0}
    job.refresh_from_db()
    assert job.state == JobState.FAILED and "stopped responding 3 times" in job.error


def test_the_reaper_leaves_live_jobs_alone(owner, film_clip, media_root, no_events):
    job = job_for(owner, film_clip)
    Job.objects.filter(pk=job.pk).update(state=JobState.RUNNING, heartbeat_at=timezone.now(), attempts=1)
    assert jobs_reap_stale() == {"requeued": 0, "failed": 0, "resent": 0}


def test_a_launch_while_the_broker_is_down_is_kept_and_sent_again_by_the_reaper(
        owner, film_clip, media_root, no_events, django_capture_on_commit_callbacks):
    from kombu.exceptions import OperationalError

    with mock.patch("jobs.tasks.run_job.apply_async", side_effect=OperationalError("Connection refused")):
        with django_capture_on_commit_callbacks(execute=True):
            job = job_for(owner, film_clip)  # no error reaches the user
    job.refresh_from_db()
    assert job.state == JobState.QUEUED and job.dispatch_pending
    with mock.patch("jobs.tasks.run_job.apply_async", side_effect=OperationalError("Connection refused")):
        assert jobs_reap_stale()["resent"] == 0  # still down: kept for the next round
    with mock.patch("jobs.tasks.run_job.apply_async") as enqueue:
        assert jobs_reap_stale() == {"requeued": 0, "failed": 0, "resent": 1}
        assert jobs_reap_stale()["resent"] == 0  # sent once, not at every round
    enqueue.assert_called_once_with(args=[str(job.id)], queue="cpu", priority=6, retry=False)
    job.refresh_from_db()
    assert not job.dispatch_pending


def test_a_user_has_a_limited_number_of_jobs_at_once(owner, film_clip, media_root, settings, make_user):
    settings.JOB_MAX_ACTIVE_PER_USER = 2
    first = job_for(owner, film_clip)
    job_for(owner, film_clip)
    with pytest.raises(ApplicationError) as error:
        job_for(owner, film_clip)
    assert error.value.status_code == 429 and "2 jobs queued or running" in error.value.message
    with mock.patch("jobs.events.send_job_event"):
        job_cancel(job=first)
    job_for(owner, film_clip)  # a cancelled job frees its place
    staff = make_user("staffer", is_staff=True)
    for _ in range(3):
        job_for(staff, film_clip)


def test_a_finished_job_records_the_models_and_hashes_that_made_it(owner, film_clip, media_root, no_events,
                                                                    monkeypatch):
    from engine.stages.denoise import TemporalDenoise

    used = {"key": "realesrgan-x4plus", "sha256": "ab" * 32, "licence": "BSD-3-Clause"}
    monkeypatch.setattr(TemporalDenoise, "provenance", lambda self: {"models": [used], "notes": ["a fallback"]})
    job = job_for(owner, film_clip, recipe="film-default")
    job_run(job_id=job.id)
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED
    assert job.recipe["provenance"] == {"models": [used], "notes": ["denoise: a fallback"], "facts": [], "ai_color": False}
    assert recipe_resolve(recipe=job.recipe)["stages"] == job.recipe["stages"]  # runs again as it was


def test_pictures_no_job_took_are_swept_once_old_and_a_deleted_jobs_go_with_it(
        owner, film_clip, media_root, django_capture_on_commit_callbacks):
    import numpy as np

    from jobs.models import JobAsset
    from jobs.services.assets import job_asset_store

    def picture():
        return job_asset_store(owner=owner, role=JobAsset.Role.FACE_REFERENCE, image=np.zeros((8, 8, 3), np.uint8))

    used, orphan, fresh = picture(), picture(), picture()
    with mock.patch("jobs.tasks.run_job.apply_async"):
        job = job_create_from_upload(owner=owner, upload=upload_of(film_clip), recipe_name="film-faces",
                                     assets=[used], allow_cpu=True)
    JobAsset.objects.filter(pk__in=[used.pk, orphan.pk]).update(created_at=timezone.now() - timedelta(hours=25))
    with django_capture_on_commit_callbacks(execute=True):
        assert job_assets_sweep() == 1
    assert set(JobAsset.objects.values_list("pk", flat=True)) == {used.pk, fresh.pk}
    assert Path(used.file.path).is_file() and Path(fresh.file.path).is_file()
    assert not Path(orphan.file.path).exists()
    with django_capture_on_commit_callbacks(execute=True):
        job.delete()
    assert not Path(used.file.path).exists() and JobAsset.objects.get() == fresh
