"""A job's timeline: what happened to it, in order, written by the services at each step."""
import time
from datetime import timedelta
from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone

from jobs.services.launch import job_retry
from jobs.services.lifecycle import job_cancel
from jobs.services.reaper import jobs_reap_stale
from jobs.services.run import JobProgress, job_run
from jobs.models import Job, JobEvent, JobState, StageThroughput
from tests.jobs.factories import job_for


@pytest.fixture(autouse=True)
def quiet(media_root):
    with mock.patch("jobs.events.send_job_event"), mock.patch("jobs.tasks.run_job.apply_async"):
        yield


def kinds(job):
    return list(job.events.values_list("kind", flat=True))


def test_a_run_leaves_a_line_per_step_and_per_chunk(owner_client, owner, film_clip, settings):
    settings.JOB_CHUNK_FRAMES = 8
    job = job_for(owner, film_clip)
    job_run(job_id=job.id, worker="celery@w1")
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, job.error
    assert kinds(job) == ["queued", "started", "chunk_done", "chunk_done", "chunk_done", "succeeded"]
    events = owner_client.get(f"/api/jobs/{job.id}/events/").json()
    assert [e["text"] for e in events] == [
        "Queued for a CPU worker",
        "Started on celery@w1 (attempt 1)",
        "Chunk 1 done (frames 1 to 8)",
        "Chunk 2 done (frames 9 to 16)",
        "Chunk 3 done (frames 17 to 24)",
        events[-1]["text"],
    ]
    assert events[-1]["text"].startswith("Finished: 24 frames in ")
    assert events[1]["worker"] == "celery@w1"
    assert owner_client.get(f"/api/jobs/{job.id}/").json()["events_count"] == 6
    page = owner_client.get(f"/jobs/{job.id}/").content.decode()
    assert page.index("Queued for a CPU worker") < page.index("Chunk 3 done") < page.index("Finished: 24 frames")


def test_a_resumed_job_does_not_repeat_its_chunks(owner, film_clip, settings):
    settings.JOB_CHUNK_FRAMES = 8
    job = job_for(owner, film_clip)
    real_should_cancel = JobProgress.should_cancel
    polls = []

    def worker_dies_after_two_chunks(self):
        # Frames of at least 0.1 s, as on a real clip: progress (sent at most every 0.5 s, so at
        # least every 5 frames) then reports the second chunk before the worker dies in the third.
        time.sleep(0.1)
        polls.append(1)
        if len(polls) > 22:
            raise SystemExit("worker lost")
        return real_should_cancel(self)

    with mock.patch.object(JobProgress, "should_cancel", worker_dies_after_two_chunks):
        with pytest.raises(SystemExit):
            job_run(job_id=job.id, worker="celery@w1")
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS + 1))
    job_run(job_id=job.id, worker="celery@w2")
    assert kinds(job) == ["queued", "started", "chunk_done", "chunk_done", "reclaimed", "chunk_done", "succeeded"]
    reclaimed = job.events.get(kind="reclaimed")
    assert reclaimed.worker == "celery@w2" and reclaimed.data["attempt"] == 2
    # A resumed run's wall time misses its first chunks: it does not count as a measurement.
    assert not StageThroughput.objects.exists()


def test_cancel_and_retry_are_on_the_timeline(owner, film_clip):
    job = job_for(owner, film_clip)
    job_cancel(job=job)
    again = job_retry(job=job)
    assert kinds(job) == ["queued", "cancelled", "retried"]
    assert job.events.get(kind="retried").data["new_job"] == str(again.id)
    assert kinds(again) == ["queued"]


def test_cancelling_a_running_job_is_asked_then_done(owner, film_clip):
    job = job_for(owner, film_clip)
    Job.objects.filter(pk=job.pk).update(state=JobState.RUNNING, heartbeat_at=timezone.now(), worker="celery@w1")
    job_cancel(job=job)
    job_cancel(job=job)  # a second click asks nothing new
    assert kinds(job) == ["queued", "cancel_requested"]


def test_the_reaper_writes_why_it_requeued_or_gave_up(owner, film_clip, settings):
    job = job_for(owner, film_clip)
    old = timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS + 5)
    Job.objects.filter(pk=job.pk).update(state=JobState.RUNNING, heartbeat_at=old, attempts=1, worker="gone@host")
    jobs_reap_stale()
    Job.objects.filter(pk=job.pk).update(state=JobState.RUNNING, heartbeat_at=old, attempts=3, worker="gone@host")
    jobs_reap_stale()
    requeued, failed = job.events.filter(kind__in=["requeued", "failed"])
    assert requeued.worker == "gone@host"
    assert "stopped responding 3 times" in failed.message


def test_a_failure_reason_is_on_the_timeline(owner_client, owner, film_clip):
    job = job_for(owner, film_clip)
    with open(job.source.path, "r+b") as source:
        source.truncate(source.seek(0, 2) // 3)
    job_run(job_id=job.id)
    events = owner_client.get(f"/api/jobs/{job.id}/events/").json()
    assert events[-1]["kind"] == "failed" and events[-1]["text"].startswith("Failed: ")
    assert JobEvent.objects.get(job=job, kind="failed").message == Job.objects.get(pk=job.pk).error


def test_who_may_read_a_timeline(client, owner, stranger, make_user, film_clip):
    job = job_for(owner, film_clip)
    url = f"/api/jobs/{job.id}/events/"
    assert client.get(url).status_code == 403
    for user, expected in ((stranger, 404), (owner, 200), (make_user("curator", is_staff=True), 200)):
        other = Client()
        other.force_login(user)
        assert other.get(url).status_code == expected
