"""A queued job's ETA comes from measured throughput and the work ahead of it; partners go first."""
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from jobs.services.launch import job_create_from_upload
from jobs.services.run import job_run
from jobs.services.throughput import throughput_record
from jobs.services.workers import worker_announce
from jobs.models import Job, JobState, StageThroughput, UserQuota
from tests.jobs.factories import job_for, upload_of

FILM_DEFAULT = "deflicker+descratch+denoise"
CLIP_MPX = 24 * 320 * 240 / 1e6  # the test clip: 24 frames of 320x240


@pytest.fixture(autouse=True)
def quiet(media_root):
    with mock.patch("jobs.events.send_job_event"), mock.patch("jobs.tasks.run_job.apply_async") as enqueue:
        yield enqueue


def eta(client, job):
    return client.get(f"/api/jobs/{job.id}/").json()["queue_eta"]


def test_the_eta_is_a_labelled_guess_until_something_is_measured(owner_client, owner, film_clip, settings):
    job = job_for(owner, film_clip, recipe="film-default")
    guess = eta(owner_client, job)
    assert guess["measured"] is False
    assert guess["seconds"] == pytest.approx(CLIP_MPX * 3 / settings.JOB_ETA_DEFAULT_MPX_PER_SECOND, abs=0.1)
    StageThroughput.objects.create(stages=FILM_DEFAULT, device="cpu", fps=12.0, mpx_per_second=CLIP_MPX / 2)
    assert eta(owner_client, job) == {"seconds": 2.0, "measured": True}
    StageThroughput.objects.update(mpx_per_second=CLIP_MPX / 8)  # a slower machine measured since
    assert eta(owner_client, job) == {"seconds": 8.0, "measured": True}


def test_the_eta_counts_the_work_ahead_on_the_same_queue(owner_client, owner, stranger, film_clip):
    StageThroughput.objects.create(stages=FILM_DEFAULT, device="cpu", fps=12.0, mpx_per_second=CLIP_MPX / 2)
    first = job_for(stranger, film_clip, recipe="film-default")
    mine = job_for(owner, film_clip, recipe="film-default")
    assert eta(owner_client, mine)["seconds"] == 4.0  # 2 s for the one ahead, 2 s for mine
    Job.objects.filter(pk=first.pk).update(state=JobState.RUNNING, progress={"fraction": 0.5, "total": 24})
    assert eta(owner_client, mine)["seconds"] == 3.0  # half of it is done
    worker_announce(hostname="cpu@a", queues=["cpu"], has_gpu=False, installed_models=[])
    worker_announce(hostname="cpu@b", queues=["cpu"], has_gpu=False, installed_models=[])
    assert eta(owner_client, mine)["seconds"] == 2.5  # two workers share the work ahead
    Job.objects.filter(pk=first.pk).update(queue="gpu")
    assert eta(owner_client, mine)["seconds"] == 2.0  # a job on another queue is not in the way
    Job.objects.filter(pk=mine.pk).update(state=JobState.RUNNING)
    assert eta(owner_client, mine) is None  # from here on the pipeline's own ETA speaks


def test_a_finished_job_updates_the_measured_throughput(owner, film_clip):
    job = job_for(owner, film_clip, recipe="film-light")
    job_run(job_id=job.id)
    row = StageThroughput.objects.get()
    assert (row.stages, row.device, row.samples) == ("deflicker", "cpu", 1)
    assert row.fps > 0 and row.mpx_per_second == pytest.approx(row.fps * 320 * 240 / 1e6)

    other = job_for(owner, film_clip, recipe="film-light")
    started = timezone.now() - timedelta(seconds=10)
    Job.objects.filter(pk=other.pk).update(state=JobState.SUCCEEDED, attempts=1, started_at=started,
                                           finished_at=started + timedelta(seconds=10))
    first_fps = row.fps
    throughput_record(job=Job.objects.get(pk=other.pk))
    row.refresh_from_db()
    assert row.samples == 2
    assert row.fps == pytest.approx(first_fps + 0.3 * (2.4 - first_fps))  # 24 frames in 10 s, smoothed


def test_a_gpu_recipe_on_a_cpu_is_estimated_slower(owner_client, owner, film_clip, settings):
    with mock.patch("jobs.services.launch.recipe_needs_gpu", return_value=True), \
            mock.patch("jobs.selectors.recipe_needs_gpu", return_value=True):
        job = job_create_from_upload(owner=owner, upload=upload_of(film_clip), recipe_name="film-default",
                                              allow_cpu=True)
        guess = eta(owner_client, job)
        page = owner_client.get(f"/jobs/{job.id}/").content.decode()
    cpu_guess = CLIP_MPX * 3 / settings.JOB_ETA_DEFAULT_MPX_PER_SECOND
    assert guess["measured"] is False and guess["seconds"] == pytest.approx(10 * cpu_guess, abs=1)
    assert '"slower_on_cpu": true' in page and "much slower than on a GPU" in page  # what the script shows


def test_partners_go_first_in_the_queue_and_in_celery(owner_client, owner, stranger, film_clip, quiet,
                                                      django_capture_on_commit_callbacks):
    normal = job_for(stranger, film_clip)
    UserQuota.objects.create(user=owner, priority=UserQuota.Priority.PARTNER, note="Film archive")
    with django_capture_on_commit_callbacks(execute=True):
        partner = job_for(owner, film_clip)
    assert quiet.call_args.kwargs["priority"] == 3  # Redis consumes lower numbers first; normal jobs get 6
    assert owner_client.get(f"/api/jobs/{partner.id}/").json()["queue_position"] == 1
    normal.refresh_from_db()
    from jobs.selectors import QueueState

    assert QueueState().position(normal) == 2
    assert owner_client.get("/api/jobs/quota/").json()["priority_label"] == "Partner collaboration"
