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


def test_a_finished_job_page_says_in_plain_words_how_it_was_made(client, owner, film_clip, media_root):
    with mock.patch("jobs.tasks.run_job.apply_async"):
        from tests.jobs.factories import job_for

        job = job_for(owner, film_clip, recipe="film-default")
    job.state = "succeeded"
    job.recipe = {**job.recipe, "provenance": {
        "models": [{"key": "realesr-animevideov3-x2", "sha256": "548a36f9c3f4ab8d" + "0" * 48, "licence": "BSD-3-Clause"}],
        "notes": ["superres: realesr-animevideov3-x2 was not used (REALESRGAN_ANIMAVIDEOV3_UP2X.bin damaged)"],
        "facts": [{"stage": "superres", "code": "superres.model_unused",
                   "values": {"model": "realesr-animevideov3-x2", "scale": 2, "reason": "REALESRGAN_ANIMAVIDEOV3_UP2X.bin damaged"}}],
        "ai_color": True}}
    job.save()
    client.force_login(owner)
    page = client.get(reverse("jobs:detail", args=[job.id])).content.decode()
    # Each stage of film-default by name and what it did, the models by title with hash and licence.
    for words in ("Deflicker", "Evened out the flicker of brightness", "Dust and scratches", "Denoise",
                  "Reduced grain and noise by combining each frame with 2 neighbours"):
        assert words in page
    assert "Real-ESRGAN animevideov3 x2 (compact)" in page and "548a36f9c3f4" in page and "BSD-3-Clause" in page
    assert "enlarged 2 times with a classical filter instead" in page and "AI-generated color" in page
    assert ".bin" not in page  # the engine's reason names a file: for logs, not for the page
    # The raw recipe is behind a details toggle.
    details = page[page.index('<details class="how-details">'):]
    assert "<code>denoise</code> <code>radius=2</code> <code>spatial=1.0</code> <code>strength=12.0</code>" in details

    page = client.get(reverse("jobs:detail", args=[job.id]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "去闪烁" in page and "此服务器上无法使用超分辨率模型" in page


def test_the_end_part_of_a_job_page_is_its_owners_and_follows_its_state(client, owner, make_user, film_clip,
                                                                        media_root):
    with mock.patch("jobs.tasks.run_job.apply_async"):
        from tests.jobs.factories import job_for

        job = job_for(owner, film_clip)
    url = reverse("jobs:outcome", args=[job.id])
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(make_user("stranger"))
    assert client.get(url).status_code == 404
    client.force_login(owner)
    queued = client.get(url).content.decode()
    assert "job-result-media" not in queued and "job-retry" not in queued and "job-publish" not in queued

    job.state = "failed"
    job.save()
    failed = client.get(url).content.decode()
    assert 'id="job-retry"' in failed and "job-compare" not in failed  # nothing to compare

    job.state = "succeeded"
    job.result.save("result.mp4", film_clip.open("rb"), save=True)
    done = client.get(url).content.decode()
    assert 'id="job-result-media"' in done and reverse("jobs:result", args=[job.id]) in done
    assert 'id="job-provenance"' in done and "Deflicker" in done and "job-retry" not in done
    assert "<html" not in done  # the part alone, for the page's script
    # Before and after: the file given against the result, before anything is published.
    compare = done[done.index('id="job-compare"'):]
    assert f'id="compare-left-media" controls playsinline preload="metadata" src="{reverse("jobs:source", args=[job.id])}"' in compare
    assert f'src="{reverse("jobs:result", args=[job.id])}"' in compare and 'data-kind="video"' in compare
