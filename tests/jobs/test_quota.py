"""What a user may launch: active jobs, today's GPU time, and a question before a duplicate run."""
import json
from datetime import timedelta
from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone

from jobs.models import Job, JobState
from tests.gallery.factories import make_item
from tests.jobs.factories import gpu_worker, job_for, upload_of


@pytest.fixture(autouse=True)
def quiet(media_root):
    with mock.patch("jobs.events.send_job_event"), mock.patch("jobs.tasks.run_job.apply_async"):
        yield


@pytest.fixture(autouse=True)
def midday(settings):
    """A time zone where it is around noon now: "today's" jobs, which ended minutes ago after running for
    minutes, then fall inside today whenever the tests run (near UTC midnight they would not)."""
    hours_to_noon = (12 - timezone.now().hour + 12) % 24 - 12  # -12 .. 11
    # POSIX sign: Etc/GMT-3 is three hours ahead of UTC; the zones go from -14 to +12.
    settings.TIME_ZONE = "UTC" if hours_to_noon == 0 else f"Etc/GMT{-hours_to_noon:+d}"


@pytest.fixture
def gpu_recipe():
    with mock.patch("jobs.services.launch.recipe_needs_gpu", return_value=True), \
            mock.patch("jobs.selectors.recipe_needs_gpu", return_value=True):
        gpu_worker()
        yield "film-default"


def used_gpu(owner, film_clip, *, seconds, ago=timedelta(minutes=1), state=JobState.SUCCEEDED):
    """A GPU job of `owner` that ran for `seconds`, ending `ago` (or still running)."""
    job = job_for(owner, film_clip)
    finished = timezone.now() - ago
    Job.objects.filter(pk=job.pk).update(
        queue="gpu", state=state, started_at=finished - timedelta(seconds=seconds),
        finished_at=None if state == JobState.RUNNING else finished)
    return job


def test_the_quota_endpoint_counts_active_jobs_and_todays_gpu_time(owner_client, owner, film_clip, settings):
    settings.JOB_GPU_SECONDS_PER_DAY = 1800
    used_gpu(owner, film_clip, seconds=600)
    used_gpu(owner, film_clip, seconds=300, ago=timedelta(days=2))  # another day's
    job_for(owner, film_clip)  # queued on the CPU: no GPU time
    quota = owner_client.get("/api/jobs/quota/").json()
    assert quota["active_jobs"] == {"used": 1, "allowed": 3}
    assert quota["gpu_seconds"] == {"used": 600, "allowed": 1800, "remaining": 1200}
    assert quota["gpu_workers_online"] == 0 and quota["priority"] == 0
    page = owner_client.get("/jobs/new/").content.decode()
    assert "Jobs queued or running: 1 of 3" in page and "GPU time left today: 1200 s of 1800 s" in page


def test_a_running_gpu_job_counts_so_far(owner_client, owner, film_clip):
    used_gpu(owner, film_clip, seconds=120, ago=timedelta(0), state=JobState.RUNNING)
    used = owner_client.get("/api/jobs/quota/").json()["gpu_seconds"]["used"]
    assert 120 <= used <= 125


def test_a_gpu_launch_is_refused_when_the_days_gpu_time_is_spent(owner_client, owner, film_clip, settings,
                                                                 gpu_recipe):
    settings.JOB_GPU_SECONDS_PER_DAY = 600
    used_gpu(owner, film_clip, seconds=600)
    refused = owner_client.post("/api/jobs/", {"file": upload_of(film_clip), "recipe": gpu_recipe})
    assert refused.status_code == 429
    assert refused.json()["message"] == ("You have used today's GPU time (10 minutes a day); it renews at midnight. "
                                         "You may run this job on the CPU instead (much slower).")
    form = owner_client.post("/jobs/new/", {"file": upload_of(film_clip), "recipe": gpu_recipe})
    assert form.status_code == 400 and "used today&#x27;s GPU time" in form.content.decode()
    assert owner_client.get("/api/jobs/quota/").json()["gpu_seconds"]["remaining"] == 0
    on_cpu = owner_client.post("/api/jobs/", {"file": upload_of(film_clip), "recipe": gpu_recipe, "allow_cpu": True})
    assert on_cpu.status_code == 201 and on_cpu.json()["queue"] == "cpu"


def test_staff_have_no_gpu_or_active_limit(client, make_user, film_clip, settings, gpu_recipe):
    settings.JOB_GPU_SECONDS_PER_DAY = 0
    staff = make_user("curator", is_staff=True)
    client.force_login(staff)
    launched = client.post("/api/jobs/", {"file": upload_of(film_clip), "recipe": gpu_recipe})
    assert launched.status_code == 201 and launched.json()["queue"] == "gpu"
    quota = client.get("/api/jobs/quota/").json()
    assert quota["active_jobs"]["allowed"] is None and quota["gpu_seconds"]["allowed"] is None


def test_who_may_read_a_quota(client, owner, stranger, film_clip):
    job_for(owner, film_clip)
    assert client.get("/api/jobs/quota/").status_code == 403
    client.force_login(stranger)
    assert client.get("/api/jobs/quota/").json()["active_jobs"]["used"] == 0  # only one's own
    client.force_login(owner)
    assert client.get("/api/jobs/quota/").json()["active_jobs"]["used"] == 1


def post_json(client, url, data):
    return client.post(url, json.dumps(data), content_type="application/json")


def test_the_api_asks_before_the_same_recipe_runs_twice_on_an_item(owner_client, owner, stranger):
    item = make_item()
    first = post_json(owner_client, "/api/jobs/", {"item": item.id, "recipe": "film-light"})
    assert first.status_code == 201, first.content
    again = post_json(owner_client, "/api/jobs/", {"item": item.id, "recipe": "film-light"})
    assert again.status_code == 409
    assert again.json() == {"message": "You already have a job with this recipe on this item (queued). Launch another "
                                       "one anyway?",
                            "extra": {"confirm_required": True, "job": first.json()["id"]}}
    assert post_json(owner_client, "/api/jobs/", {"item": item.id, "recipe": "film-default"}).status_code == 201
    other = Client()
    other.force_login(stranger)  # another user's run is theirs to repeat
    assert post_json(other, "/api/jobs/", {"item": item.id, "recipe": "film-light"}).status_code == 201
    confirmed = post_json(owner_client, "/api/jobs/", {"item": item.id, "recipe": "film-light", "confirm": True})
    assert confirmed.status_code == 201
    assert Job.objects.filter(owner=owner, item=item).count() == 3


def test_a_finished_run_does_not_ask(owner_client, owner):
    item = make_item()
    first = post_json(owner_client, "/api/jobs/", {"item": item.id, "recipe": "film-light"}).json()
    owner_client.post(f"/api/jobs/{first['id']}/cancel/")
    assert post_json(owner_client, "/api/jobs/", {"item": item.id, "recipe": "film-light"}).status_code == 201


def test_the_item_form_asks_then_launches_on_a_second_submit(owner_client, owner):
    item = make_item()
    url = f"/jobs/new/item/{item.id}/"
    assert owner_client.post(url, {"recipe": "film-light"}).status_code == 302
    asked = owner_client.post(url, {"recipe": "film-light"})
    assert asked.status_code == 409
    page = asked.content.decode()
    assert "You already have a job with this recipe on this item" in page
    assert 'name="confirm" value="1"' in page and 'name="recipe" value="film-light"' in page
    assert Job.objects.count() == 1
    launched = owner_client.post(url, {"recipe": "film-light", "confirm": "1"})
    assert launched.status_code == 302 and Job.objects.count() == 2


def test_the_item_form_offers_the_cpu_when_no_gpu_worker_is_online(owner_client, owner):
    item = make_item()
    url = f"/jobs/new/item/{item.id}/"
    with mock.patch("jobs.services.launch.recipe_needs_gpu", return_value=True):
        asked = owner_client.post(url, {"recipe": "film-light"})
        assert asked.status_code == 409 and 'name="allow_cpu" value="1"' in asked.content.decode()
        launched = owner_client.post(url, {"recipe": "film-light", "allow_cpu": "1"})
    assert launched.status_code == 302 and Job.objects.get().queue == "cpu"


def test_a_file_and_an_item_are_not_both_sent(owner_client, film_clip):
    item = make_item()
    both = owner_client.post("/api/jobs/", {"file": upload_of(film_clip), "item": item.id, "recipe": "film-light"})
    assert both.status_code == 400 and both.json()["message"] == "file: Send either a file or an item."
