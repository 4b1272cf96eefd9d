"""The staff queue page: queues, workers and what they can run, jobs per state, throughput, failures."""
from unittest import mock

import pytest
from django.conf import settings
from django.utils import timezone

from jobs.models import Job, JobState, StageThroughput
from tests.jobs.factories import gpu_worker, job_for

URL = "/jobs/queue/"


@pytest.fixture(autouse=True)
def quiet(media_root):
    with mock.patch("jobs.events.send_job_event"), mock.patch("jobs.tasks.run_job.apply_async"):
        yield


def test_staff_see_queues_workers_states_throughput_and_failures(client, owner, make_user, film_clip):
    gpu_worker(hostname="celery@gpu1", installed_models=["gpen-bfr-512", "realesrgan-x4plus"])
    job_for(owner, film_clip)
    running = job_for(owner, film_clip)
    Job.objects.filter(pk=running.pk).update(state=JobState.RUNNING, queue="gpu")
    failed = job_for(owner, film_clip)
    Job.objects.filter(pk=failed.pk).update(state=JobState.FAILED, error="The disk is full.", finished_at=timezone.now())
    StageThroughput.objects.create(stages="deflicker+descratch+denoise", device="cpu", fps=7.25, mpx_per_second=0.56,
                                   samples=4)
    client.force_login(make_user("curator", is_staff=True))
    response = client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert "<tr><td>cpu</td><td>1</td><td>0</td></tr>" in page and "<tr><td>gpu</td><td>0</td><td>1</td></tr>" in page
    assert "celery@gpu1" in page and "gpen-bfr-512, realesrgan-x4plus" in page
    assert "Queued: 1" in page and "Running: 1" in page and "Failed: 1" in page and "Succeeded: 0" in page
    assert "Deflicker + Dust and scratches + Denoise" in page and "7.25" in page
    assert "The disk is full." in page and f"/jobs/{failed.id}/" in page


def test_others_are_refused(client, owner):
    anonymous = client.get(URL)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    client.force_login(owner)
    assert client.get(URL).status_code == 403


def test_celery_sends_the_events_flower_reads():
    assert settings.CELERY_WORKER_SEND_TASK_EVENTS and settings.CELERY_TASK_SEND_SENT_EVENT
