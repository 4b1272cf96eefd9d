from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from jobs.models import Job
from tests.jobs.factories import job_for, upload_of


@pytest.fixture(autouse=True)
def quiet(media_root):
    with mock.patch("jobs.events.send_job_event"), mock.patch("jobs.tasks.run_job.apply_async"):
        yield


def test_owner_launches_reads_and_cancels_a_job(owner_client, film_clip):
    response = owner_client.post("/api/jobs/", {"file": upload_of(film_clip), "recipe": "film-default"})
    assert response.status_code == 201, response.content
    job = response.json()
    assert job["state"] == "queued" and job["stages"] == ["deflicker", "descratch", "denoise"]
    assert owner_client.get(f"/api/jobs/{job['id']}/").json()["id"] == job["id"]
    assert [j["id"] for j in owner_client.get("/api/jobs/").json()] == [job["id"]]
    cancelled = owner_client.post(f"/api/jobs/{job['id']}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    again = owner_client.post(f"/api/jobs/{job['id']}/cancel/")
    assert again.status_code == 409 and again.json()["message"] == "This job has already finished."


def test_bad_upload_gets_a_400_with_a_message(owner_client):
    response = owner_client.post("/api/jobs/", {"file": SimpleUploadedFile("x.mp4", b"\x00\x01garbage"),
                                                "recipe": "film-default"})
    assert response.status_code == 400
    assert "not an image or video" in response.json()["message"]
    assert Job.objects.count() == 0


def test_missing_file_and_unknown_recipe_get_400(owner_client, film_clip):
    assert owner_client.post("/api/jobs/", {"recipe": "film-default"}).json()["message"].startswith("file:")
    response = owner_client.post("/api/jobs/", {"file": upload_of(film_clip), "recipe": "nope"})
    assert response.status_code == 400 and "recipe" in response.json()["message"]


def test_anonymous_cannot_use_jobs(client, owner, film_clip):
    job = job_for(owner, film_clip)
    assert client.get("/api/jobs/").status_code == 403
    assert client.post("/api/jobs/", {"file": upload_of(film_clip)}).status_code == 403
    assert client.get(f"/api/jobs/{job.id}/").status_code == 403
    assert client.get(reverse("jobs:detail", args=[job.id])).status_code == 302  # to the login page


def test_a_stranger_cannot_see_cancel_or_download_a_job(client, owner, stranger, film_clip):
    job = job_for(owner, film_clip)
    client.force_login(stranger)
    assert client.get(f"/api/jobs/{job.id}/").status_code == 404
    assert client.post(f"/api/jobs/{job.id}/cancel/").status_code == 404
    assert client.get("/api/jobs/").json() == []
    for name in ("detail", "source", "result"):
        assert client.get(reverse(f"jobs:{name}", args=[job.id])).status_code == 404
    assert client.post(reverse("jobs:cancel", args=[job.id])).status_code == 404
    job.refresh_from_db()
    assert job.state == "queued" and not job.cancel_requested


def test_staff_can_see_any_job(client, owner, make_user, film_clip):
    job = job_for(owner, film_clip)
    client.force_login(make_user("curator", is_staff=True))
    assert client.get(f"/api/jobs/{job.id}/").status_code == 200


def test_source_file_is_served_with_ranges_and_nosniff(owner_client, owner, film_clip):
    job = job_for(owner, film_clip)
    url = reverse("jobs:source", args=[job.id])
    response = owner_client.get(url, HTTP_RANGE="bytes=10-19")
    assert response.status_code == 206
    assert response["Content-Range"].startswith("bytes 10-19/")
    assert b"".join(response.streaming_content) == film_clip.read_bytes()[10:20]
    full = owner_client.get(url)
    assert full["X-Content-Type-Options"] == "nosniff" and full["Content-Type"] == "video/mp4"


def test_openapi_schema_and_docs(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    text = schema.content.decode()
    for path in ("/api/jobs/", "/api/jobs/{job_id}/", "/api/jobs/{job_id}/cancel/", "/api/recipes/"):
        assert path in text
    assert client.get("/api/docs/").status_code == 200
    assert {r["name"] for r in client.get("/api/recipes/").json()} >= {"film-default"}


def test_queued_jobs_know_their_place_in_the_queue(owner_client, owner, stranger, film_clip):
    first = job_for(stranger, film_clip)
    second = job_for(owner, film_clip)
    assert owner_client.get(f"/api/jobs/{second.id}/").json()["queue_position"] == 2
    Job.objects.filter(pk=first.pk).update(state="running")
    assert owner_client.get(f"/api/jobs/{second.id}/").json()["queue_position"] == 1
    Job.objects.filter(pk=second.pk).update(state="running")
    assert owner_client.get(f"/api/jobs/{second.id}/").json()["queue_position"] is None


def test_a_failed_or_cancelled_job_runs_again_as_a_new_job(owner_client, owner, stranger, film_clip):
    from django.test import Client

    job = job_for(owner, film_clip)
    assert owner_client.post(f"/api/jobs/{job.id}/retry/").status_code == 409  # still queued
    owner_client.post(f"/api/jobs/{job.id}/cancel/")
    other = Client()
    other.force_login(stranger)
    assert other.post(f"/api/jobs/{job.id}/retry/").status_code == 404
    again = owner_client.post(f"/api/jobs/{job.id}/retry/")
    assert again.status_code == 201 and again.json()["id"] != str(job.id)
    new = Job.objects.get(pk=again.json()["id"])
    assert new.recipe == job.recipe and new.state == "queued"
    assert new.source_info["frame_count"] == 24 and new.source.name != job.source.name
