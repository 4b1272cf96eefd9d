"""The per-user limit of active jobs holds under concurrent launches (on PostgreSQL and SQLite), its
refusal gives the real count, and a re-queued job keeps its first start."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta
from unittest import mock

import pytest
from django.db import connection
from django.utils import timezone

from jobs.models import ACTIVE_STATES, Job, JobState
from jobs.services.reaper import jobs_reap_stale
from jobs.services.run import _claim, job_run
from restoration_site.errors import ApplicationError
from tests.jobs.factories import job_for


@pytest.fixture(autouse=True)
def quiet(media_root):
    with mock.patch("jobs.events.send_job_event"), mock.patch("jobs.tasks.run_job.apply_async"):
        yield


@pytest.mark.django_db(transaction=True)
def test_concurrent_launches_by_one_user_never_pass_the_limit(owner, make_user, film_clip, settings):
    """Six launches at once, each in its own thread and database connection, against a limit of 3;
    another user's launches at the same moment are counted apart."""
    settings.JOB_MAX_ACTIVE_PER_USER = 3
    other = make_user("other")
    launches = [owner] * 6 + [other] * 4
    start = threading.Barrier(len(launches))
    outcomes: list[str] = []

    def launch(user):
        try:
            start.wait()
            job_for(user, film_clip)
            outcomes.append("created")
        except ApplicationError as exc:
            outcomes.append(f"{exc.status_code}: {exc.message}")
        finally:
            connection.close()

    threads = [threading.Thread(target=launch, args=(user,)) for user in launches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(outcomes) == len(launches), outcomes
    assert Job.objects.filter(owner=owner, state__in=ACTIVE_STATES).count() == 3, (connection.vendor, outcomes)
    assert Job.objects.filter(owner=other, state__in=ACTIVE_STATES).count() == 3, (connection.vendor, outcomes)
    refusals = [outcome for outcome in outcomes if outcome != "created"]
    assert len(refusals) == 4 and all(refusal.startswith("429: You have 3 jobs") for refusal in refusals), refusals


@pytest.mark.django_db
def test_the_refusal_says_how_many_jobs_the_user_really_has(owner, film_clip, settings, client):
    settings.JOB_MAX_ACTIVE_PER_USER = 6
    for _ in range(6):
        job_for(owner, film_clip)
    settings.JOB_MAX_ACTIVE_PER_USER = 3  # lowered by the operator meanwhile
    with pytest.raises(ApplicationError) as refused:
        job_for(owner, film_clip)
    assert refused.value.status_code == 429
    assert refused.value.message.startswith("You have 6 jobs queued or running; at most 3 at once.")
    client.force_login(owner)
    with film_clip.open("rb") as clip:
        answer = client.post("/api/jobs/", {"file": clip, "recipe": "film-light"})
    assert answer.status_code == 429 and "You have 6 jobs" in answer.json()["message"]
    assert Job.objects.filter(owner=owner).count() == 6


@pytest.mark.django_db
def test_a_requeued_job_keeps_its_first_start_so_its_duration_counts_every_attempt(owner, owner_client, film_clip,
                                                                                  settings):
    job = job_for(owner, film_clip)
    assert _claim(job, "celery@lost")  # a worker takes it, then vanishes
    first_start = timezone.now() - timedelta(minutes=10)
    stale = timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS + 5)
    Job.objects.filter(pk=job.pk).update(started_at=first_start, heartbeat_at=stale)
    assert jobs_reap_stale()["requeued"] == 1
    job_run(job_id=job.id, worker="celery@w2")
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED and job.attempts == 2, job.error
    assert job.started_at == first_start
    started = owner_client.get(f"/api/jobs/{job.id}/").json()["started_at"]
    assert datetime.fromisoformat(started.replace("Z", "+00:00")) == first_start
    finished = owner_client.get(f"/api/jobs/{job.id}/events/").json()[-1]["text"]
    seconds = int(finished.removeprefix("Finished: 24 frames in ").removesuffix(" s"))
    assert 600 <= seconds < 660, finished  # from the first start, not the second attempt's few seconds
    assert finished in owner_client.get(f"/jobs/{job.id}/").content.decode()
