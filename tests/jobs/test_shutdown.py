"""A worker shutting down hands its running job back, and the periodic repairs have their own queue."""
import os
import signal
from unittest import mock

import pytest
from django.conf import settings as django_settings

from jobs import tasks
from jobs.models import Job, JobEvent, JobState
from jobs.services.lifecycle import job_checkpoint_folder
from jobs.services.run import RunOutcome, job_run
from restoration_site.celery import app
from restoration_site.media import media_list
from tests.jobs.factories import job_for


@pytest.fixture
def no_events():
    with mock.patch("jobs.events.send_job_event") as send:
        yield send


def test_a_stopping_worker_hands_the_job_back_with_its_chunks_and_the_next_run_resumes_it(
        owner, film_clip, media_root, no_events, settings):
    settings.JOB_CHUNK_FRAMES = 8
    job = job_for(owner, film_clip)
    folder = job_checkpoint_folder(job)
    polls = []

    def stopping_after_two_chunks():
        polls.append(1)
        return len(polls) > 17

    with mock.patch("jobs.tasks.run_job.apply_async") as enqueue:
        assert job_run(job_id=job.id, worker="cpu@a", should_hand_back=stopping_after_two_chunks) == RunOutcome.RAN
    job.refresh_from_db()
    assert (job.state, job.worker, job.attempts, job.error) == (JobState.QUEUED, "", 0, "")
    enqueue.assert_called_once_with(args=[str(job.id)], queue="cpu", priority=6, retry=False)
    assert [name for name in media_list(folder) if name.endswith(".mkv")] == [
        f"{folder}/chunk-00000.mkv", f"{folder}/chunk-00001.mkv"]
    handed_back = job.events.get(kind=JobEvent.Kind.REQUEUED)
    assert handed_back.worker == "cpu@a" and handed_back.data == {"handed_back": True}

    # The next worker takes it at once (it is queued, not stale) and resumes from the two chunks.
    assert job_run(job_id=job.id, worker="cpu@b") == RunOutcome.RAN
    job.refresh_from_db()
    assert (job.state, job.attempts) == (JobState.SUCCEEDED, 1), job.error
    assert media_list(folder) == []


def test_a_cancel_asked_for_while_the_worker_stops_still_cancels(owner, film_clip, media_root, no_events):
    job = job_for(owner, film_clip)

    def stopping():
        Job.objects.filter(pk=job.pk).update(cancel_requested=True)
        return True

    with mock.patch("jobs.tasks.run_job.apply_async") as enqueue:
        job_run(job_id=job.id, should_hand_back=stopping)
    job.refresh_from_db()
    assert job.state == JobState.CANCELLED
    enqueue.assert_not_called()


def test_the_worker_tells_its_pool_processes_to_hand_back_on_shutdown():
    children = [mock.Mock(pid=101), mock.Mock(pid=102)]
    tasks._handing_back.clear()
    with mock.patch("jobs.tasks.active_children", return_value=children), mock.patch("jobs.tasks.os.kill") as kill:
        tasks.hand_back_running_jobs(sender="cpu@a", sig="SIGTERM", how="Warm", exitcode=0)
    assert kill.call_args_list == [mock.call(101, signal.SIGUSR2), mock.call(102, signal.SIGUSR2)]
    assert tasks._handing_back.is_set()  # a solo pool runs the job in the main process itself
    tasks.listen_for_hand_back()  # a pool process starting: not handing back until told
    assert not tasks._handing_back.is_set()
    os.kill(os.getpid(), tasks.HAND_BACK_SIGNAL)
    assert tasks._handing_back.is_set()
    signal.signal(tasks.HAND_BACK_SIGNAL, signal.SIG_DFL)
    tasks._handing_back.clear()


@pytest.mark.parametrize("task", ["jobs.reap_stale_jobs", "gallery.make_missing_posters", "jobs.sweep_job_assets"])
def test_the_periodic_repairs_go_to_the_maintenance_queue_not_the_job_queues(task):
    assert app.amqp.router.route({}, task)["queue"].name == "maintenance"
    assert task in {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}


def test_jobs_still_go_to_their_own_queue():
    assert app.amqp.router.route({"queue": "gpu"}, "jobs.run_job")["queue"].name == "gpu"
    assert app.amqp.router.route({}, "jobs.run_job")["queue"].name == "cpu"
