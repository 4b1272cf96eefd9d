"""A job's files in the media store, on local files and on S3: what a launch, a retry, a
publication and the Colorize page store and read, and who may fetch a job's private files."""
import io
from unittest import mock

import numpy as np
import pytest
import requests
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import reverse
from PIL import Image
from skimage import data

from engine.io import probe
from gallery.models import Item
from jobs.models import Job, JobAsset, JobState, job_file_path
from jobs.services.assets import job_asset_store
from jobs.services.launch import job_create_for_item, job_create_from_upload, job_retry
from jobs.services.lifecycle import job_cancel
from jobs.services.publish import job_publish
from restoration_site import media
from restoration_site.errors import ApplicationError
from tests.jobs.factories import job_for, upload_of

# Every picture role a job can be given, each read by a stage that runs without a GPU.
WITH_PICTURES = {"name": "faces+colorize", "stages": [{"stage": "faces", "params": {"model": "none"}},
                                                      {"stage": "colorize", "params": {"model": "none"}}]}
FACES = {"name": "faces-only", "stages": [{"stage": "faces", "params": {"model": "none"}}]}


@pytest.fixture(autouse=True)
def quiet():
    with mock.patch("jobs.events.send_job_event"), mock.patch("jobs.tasks.run_job.apply_async"):
        yield


@pytest.fixture
def stored_item(media_backend, film_clip, db) -> Item:
    """A film item whose original (the 24-frame test clip) is in the media store."""
    item = Item(slug="old-street", kind=Item.Kind.FILM, title="An old street")
    item.media.name = media.media_save(film_clip, "items/old-street/original.mp4")
    item.media_info = probe(film_clip).as_dict()
    item.save()
    return item


def stored_bytes(name: str) -> bytes:
    with default_storage.open(name, "rb") as handle:
        return handle.read()


def png_upload(rgba: np.ndarray, name: str = "scribble.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.fromarray(rgba).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def a_scribble() -> np.ndarray:
    rgba = np.zeros((240, 320, 4), np.uint8)
    rgba[100:140, 140:180] = (40, 170, 60, 255)
    return rgba


# --- launching, running again, publishing -------------------------------------------------------

def test_an_upload_is_stored_under_the_jobs_name(media_backend, owner, film_clip):
    job = job_for(owner, film_clip)
    assert job.source.name.startswith(f"jobs/{job.id}/source") and job.source.name.endswith(".mp4")
    assert default_storage.exists(job.source.name)
    assert stored_bytes(job.source.name) == film_clip.read_bytes()  # a video is stored as it came
    assert list((settings.SCRATCH_DIR / "uploads").iterdir()) == []  # the spooled upload is gone


def test_a_job_on_an_item_stores_its_own_copy_of_the_original(media_backend, owner, stored_item):
    job = job_create_for_item(owner=owner, item=stored_item, recipe_name="film-light")
    assert job.source.name.startswith(f"jobs/{job.id}/") and job.source_name == "original.mp4"
    assert stored_bytes(job.source.name) == stored_bytes(stored_item.media.name)
    assert job.source_info["frame_count"] == 24


def test_an_item_whose_file_is_gone_is_refused_and_nothing_is_stored(media_backend, owner, stored_item):
    media.media_delete(stored_item.media.name)
    before = media.media_list("jobs")
    with pytest.raises(ApplicationError, match="file is missing") as refused:
        job_create_for_item(owner=owner, item=stored_item, recipe_name="film-light")
    assert refused.value.status_code == 409
    assert media.media_list("jobs") == before and not Job.objects.exists()


def test_a_bad_upload_leaves_nothing_in_the_store(media_backend, owner_client):
    before = media.media_list("jobs")
    response = owner_client.post("/api/jobs/", {"file": SimpleUploadedFile("x.mp4", b"\x00\x01garbage"),
                                                "recipe": "film-default"})
    assert response.status_code == 400 and "not an image or video" in response.json()["message"]
    assert media.media_list("jobs") == before and not Job.objects.exists()
    assert list((settings.SCRATCH_DIR / "uploads").iterdir()) == []


def test_a_launch_that_fails_after_the_source_is_stored_removes_it(media_backend, owner, film_clip):
    before = media.media_list("jobs")
    with mock.patch("jobs.services.launch.job_event_record", side_effect=RuntimeError("database gone")):
        with pytest.raises(RuntimeError):
            job_for(owner, film_clip)
    assert media.media_list("jobs") == before and not Job.objects.exists()


def test_running_a_job_again_copies_its_source_and_pictures(media_backend, owner, film_clip):
    photo = job_asset_store(owner=owner, role=JobAsset.Role.FACE_REFERENCE, image=data.astronaut()[::4, ::4])
    job = job_create_from_upload(owner=owner, upload=upload_of(film_clip), recipe=FACES, assets=[photo])
    job_cancel(job=job)
    job.refresh_from_db()
    again = job_retry(job=job)
    assert again.source.name.startswith(f"jobs/{again.id}/")
    assert stored_bytes(again.source.name) == stored_bytes(job.source.name) == film_clip.read_bytes()
    (copy,) = again.assets.all()
    assert copy.file.name != photo.file.name and stored_bytes(copy.file.name) == stored_bytes(photo.file.name)
    assert default_storage.exists(job.source.name) and default_storage.exists(photo.file.name)  # the old ones stay


def test_a_job_whose_source_is_gone_is_not_run_again(media_backend, owner, film_clip):
    job = job_for(owner, film_clip)
    job_cancel(job=job)
    job.refresh_from_db()
    media.media_delete(job.source.name)
    before = media.media_list("jobs")
    with pytest.raises(ApplicationError, match="file is gone") as refused:
        job_retry(job=job)
    assert refused.value.status_code == 409 and media.media_list("jobs") == before and Job.objects.count() == 1


def finish(job: Job, result_file) -> Job:
    """The job as a worker leaves it: succeeded, its result in the store."""
    result = media.media_save(result_file, job_file_path(job, "result.mp4"))
    Job.objects.filter(pk=job.pk).update(state=JobState.SUCCEEDED, result=result)
    job.refresh_from_db()
    return job


def test_publishing_makes_a_version_whose_media_is_in_the_store(media_backend, owner, stored_item, film_clip):
    job = finish(job_create_for_item(owner=owner, item=stored_item, recipe_name="film-light"), film_clip)
    version = job_publish(user=owner, job=job, title="Steadied")
    assert version.media_info["frame_count"] == 24
    assert default_storage.exists(version.media.name)
    assert stored_bytes(version.media.name) == film_clip.read_bytes()


def test_a_result_that_is_gone_cannot_be_published(media_backend, owner, stored_item, film_clip):
    job = finish(job_create_for_item(owner=owner, item=stored_item, recipe_name="film-light"), film_clip)
    media.media_delete(job.result.name)
    with pytest.raises(ApplicationError, match="missing or damaged") as refused:
        job_publish(user=owner, job=job)
    assert refused.value.status_code == 409 and not hasattr(Job.objects.get(pk=job.pk), "version")


# --- the Colorize page ----------------------------------------------------------------------------

def test_colorize_reads_a_stored_clip_once_for_its_frames_and_previews(media_backend, owner_client, stored_item):
    with mock.patch("restoration_site.media.media_fetch", wraps=media.media_fetch) as fetch:
        frame = owner_client.get(reverse("jobs:colorize_frame"), {"item": stored_item.pk, "frame": 5})
        assert frame.status_code == 200 and frame["Content-Type"] == "image/jpeg"
        for _ in range(2):
            preview = owner_client.post("/api/jobs/colorize/preview/",
                                        {"item": stored_item.pk, "frame": 5, "scribble": png_upload(a_scribble())})
            assert preview.status_code == 200, preview.content
            assert Image.open(io.BytesIO(preview.content)).size == (320, 240)
    # On S3 the clip is downloaded once, to this machine's cache; a local file is read in place.
    assert fetch.call_count == (1 if media_backend == "s3" else 0)


def test_colorizing_ones_own_upload_stores_a_new_source_and_the_scribble(media_backend, owner_client, owner,
                                                                         film_clip):
    upload = job_for(owner, film_clip)
    response = owner_client.post("/api/jobs/colorize/", {"job": upload.id, "frame": 3,
                                                         "scribble": png_upload(a_scribble())})
    assert response.status_code == 201, response.content
    job = Job.objects.get(pk=response.json()["id"])
    assert stored_bytes(job.source.name) == film_clip.read_bytes()
    scribble = job.assets.get(role=JobAsset.Role.SCRIBBLE)
    assert default_storage.exists(scribble.file.name) and scribble.frame == 3


def test_colorize_says_when_the_items_file_is_gone(media_backend, owner_client, stored_item):
    media.media_delete(stored_item.media.name)
    stored_item.media_info = {}
    stored_item.save()
    response = owner_client.get(reverse("jobs:colorize_frame"), {"item": stored_item.pk, "frame": 0})
    assert response.status_code == 409 and "cannot be read" in response.content.decode()


# --- private files --------------------------------------------------------------------------------

@pytest.fixture
def finished_job(media_backend, owner, film_clip) -> Job:
    """A succeeded job of the owner's with a source, a result and a picture of every role."""
    role = JobAsset.Role
    assets = [job_asset_store(owner=owner, role=role.FACE_REFERENCE, image=data.astronaut()[::4, ::4]),
              job_asset_store(owner=owner, role=role.SCRIBBLE, image=a_scribble(), frame=3),
              job_asset_store(owner=owner, role=role.KEYFRAME, image=data.coffee()[::4, ::4], frame=5),
              job_asset_store(owner=owner, role=role.COLOR_REFERENCE, image=data.chelsea()[::4, ::4])]
    job = job_create_from_upload(owner=owner, upload=upload_of(film_clip), recipe=WITH_PICTURES, assets=assets)
    return finish(job, film_clip)


def private_files(job: Job) -> list[tuple[str, str]]:
    """Every URL that answers with one of the job's files, and that file's stored name."""
    files = [(reverse("jobs:source", args=[job.id]), job.source.name),
             (reverse("jobs:result", args=[job.id]), job.result.name),
             (reverse("jobs:result", args=[job.id]) + "?download=1", job.result.name)]
    files += [(reverse("jobs:asset", args=[job.id, asset.id]), asset.file.name) for asset in job.assets.all()]
    return files


def served_bytes(response) -> bytes:
    """What a browser gets: the bytes from the site (local files) or from the presigned URL it is sent to (S3)."""
    assert "private" in response["Cache-Control"]
    if response.status_code == 302:
        assert "no-store" in response["Cache-Control"]
        bucket = requests.get(response["Location"], timeout=10)
        assert bucket.status_code == 200
        return bucket.content
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def test_only_the_owner_and_staff_get_a_jobs_files(media_backend, finished_job, owner, stranger, make_user):
    urls = private_files(finished_job)
    assert len(urls) == 7
    anonymous, other = Client(), Client()
    other.force_login(stranger)
    for url, _name in urls:
        login = anonymous.get(url)  # sent to log in, never to the file
        assert login.status_code == 302 and login["Location"].startswith(resolve_url(settings.LOGIN_URL)), url
        refused = other.get(url)
        assert refused.status_code == 404 and not refused.has_header("Location"), url
    for user in (owner, make_user("curator", is_staff=True)):
        reader = Client()
        reader.force_login(user)
        for url, name in urls:
            assert served_bytes(reader.get(url)) == stored_bytes(name), (user, url)


def test_a_download_is_an_attachment_with_a_made_up_name(media_backend, finished_job, owner_client):
    response = owner_client.get(reverse("jobs:result", args=[finished_job.id]), {"download": "1"})
    expected = f'attachment; filename="restored-{finished_job.id}.mp4"'
    if media_backend == "s3":
        assert requests.get(response["Location"], timeout=10).headers["Content-Disposition"] == expected
    else:
        assert response["Content-Disposition"] == expected


def test_another_jobs_picture_is_not_found_under_ones_own_job(media_backend, finished_job, owner, owner_client,
                                                              film_clip):
    other = job_for(owner, film_clip)
    for asset in finished_job.assets.all():
        assert owner_client.get(reverse("jobs:asset", args=[other.id, asset.id])).status_code == 404


def test_the_job_page_shows_its_pictures_and_no_storage_name(media_backend, finished_job, owner_client):
    page = owner_client.get(reverse("jobs:detail", args=[finished_job.id])).content.decode()
    api = owner_client.get(f"/api/jobs/{finished_job.id}/").content.decode()
    listing = owner_client.get("/api/jobs/").content.decode()
    for asset in finished_job.assets.all():
        assert f'src="{reverse("jobs:asset", args=[finished_job.id, asset.id])}"' in page
    names = [finished_job.source.name, finished_job.result.name,
             *(asset.file.name for asset in finished_job.assets.all())]
    for text in (page, api, listing):
        assert not any(name in text for name in names)
        assert str(settings.MEDIA_ROOT) not in text and "X-Amz-Signature" not in text
