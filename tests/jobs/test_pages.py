from unittest import mock

from django.core.files.uploadedfile import SimpleUploadedFile

from django.urls import reverse

from jobs.models import Job
from tests.jobs.factories import upload_of


def test_upload_form_launches_a_job_and_shows_its_page(owner_client, film_clip, media_root):
    with mock.patch("jobs.tasks.run_job.apply_async"):
        response = owner_client.post("/jobs/new/", {"file": upload_of(film_clip), "recipe": "film-default"})
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.id}/"
    page = owner_client.get(f"/jobs/{job.id}/").content.decode()
    assert f"/ws/jobs/{job.id}/" in page and "<progress" in page
    assert job.source_name in owner_client.get("/jobs/").content.decode()


def test_upload_form_shows_the_reason_for_a_bad_file(owner_client, media_root):
    response = owner_client.post("/jobs/new/", {"file": SimpleUploadedFile("old.avi", b"RIFF....AVI junk"),
                                                "recipe": "film-default"})
    assert response.status_code == 400
    assert "not an image or video" in response.content.decode()
    assert not Job.objects.exists()


def test_the_job_form_offers_every_preset_but_coloring_which_has_its_own_page(client, owner):
    client.force_login(owner)
    page = client.get(reverse("jobs:new")).content.decode()
    assert 'value="film-faces"' in page and 'value="film-sr"' in page
    assert 'value="film-colorize"' not in page
    assert reverse("jobs:colorize") in page


def test_a_finished_job_page_says_which_models_made_it_and_what_fell_back(client, owner, film_clip, media_root):
    with mock.patch("jobs.tasks.run_job.apply_async"):
        from tests.jobs.factories import job_for

        job = job_for(owner, film_clip)
    job.recipe = {**job.recipe, "provenance": {
        "models": [{"key": "realesr-animevideov3-x2", "sha256": "548a36f9c3f4ab8d" + "0" * 48, "licence": "BSD-3-Clause"}],
        "notes": ["faces: GPEN was not used: GPEN-BFR-512.pth not found"], "ai_color": True}}
    job.save()
    client.force_login(owner)
    page = client.get(reverse("jobs:detail", args=[job.id])).content.decode()
    assert "realesr-animevideov3-x2" in page and "548a36f9c3f4" in page and "BSD-3-Clause" in page
    assert "GPEN was not used" in page and "AI-generated color" in page
