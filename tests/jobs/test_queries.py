"""Job lists cost a fixed number of queries, whatever the number of jobs (queued ones with their
position and ETA, running, finished, each with its timeline)."""
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jobs.models import Job, JobEvent, JobState
from jobs.services.workers import worker_announce
from tests.gallery.factories import make_item

STATES = [JobState.QUEUED, JobState.RUNNING, JobState.SUCCEEDED, JobState.FAILED]


def make_jobs(owner, count: int) -> None:
    item = make_item()
    now = timezone.now()
    for i in range(count):
        job = Job.objects.create(
            owner=owner, item=item if i % 2 else None, kind=Job.Kind.VIDEO, state=STATES[i % len(STATES)],
            recipe={"name": "film-light", "stages": [{"stage": "deflicker", "params": {}}]},
            source=f"jobs/{i}/source.mp4", source_name=f"clip-{i}.mp4",
            source_info={"kind": "video", "frame_count": 48, "width": 320, "height": 240},
            progress={"phase": "restore", "frame": 10, "total": 48, "fraction": 0.2}, queue=["cpu", "gpu"][i % 2],
            priority=i % 2)
        Job.objects.filter(pk=job.pk).update(created_at=now - timedelta(seconds=count - i))
        JobEvent.objects.create(job=job, kind=JobEvent.Kind.QUEUED, data={"queue": job.queue})
        JobEvent.objects.create(job=job, kind=JobEvent.Kind.STARTED, worker="w", data={"attempt": 1})


def queries_for(client, url) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries), response


@pytest.mark.parametrize("url", ["/api/jobs/", "/jobs/", "/jobs/queue/", "/people/{username}/"])
def test_job_lists_cost_the_same_queries_for_3_and_30_jobs(client, make_user, media_root, url):
    owner = make_user("owner", is_staff=True)
    worker_announce(hostname="cpu@box", queues=["cpu"], has_gpu=False, installed_models=[])
    client.force_login(owner)
    url = url.format(username=owner.username)
    make_jobs(owner, 3)
    few, response = queries_for(client, url)
    if url.startswith("/api/"):
        assert len(response.json()) == 3
    make_jobs(owner, 27)
    many, response = queries_for(client, url)
    if url.startswith("/api/"):
        listed = response.json()
        assert len(listed) == 30
        queued = [job for job in listed if job["state"] == "queued"]
        assert sorted(job["queue_position"] for job in queued if job["queue"] == "cpu") == list(
            range(1, 1 + sum(job["queue"] == "cpu" for job in queued)))
        assert all(job["events_count"] == 2 and job["queue_eta"]["seconds"] > 0 for job in queued)
    assert many == few, f"{url}: {few} queries for 3 jobs, {many} for 30"
