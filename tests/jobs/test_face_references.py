"""Reference photos of the people for faces recipes: given on the upload form, the item's
"Restore this" form (kept across its confirmation page) and the API; what is refused."""
import io
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from skimage import data

from jobs.face_references import services as face_references
from jobs.models import Job, JobAsset
from jobs.services.assets import recipe_with_asset_paths
from tests.gallery.factories import make_item

API_URL = "/api/jobs/"
NEW_URL = "/jobs/new/"


@pytest.fixture(autouse=True)
def quiet(media_root, settings, tmp_path):
    settings.SCRATCH_DIR = tmp_path / "scratch"  # this test's own, to see that spooled uploads go
    with mock.patch("jobs.events.send_job_event"), mock.patch("jobs.tasks.run_job.apply_async"):
        yield


def png_upload(array: np.ndarray, name: str) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


ASTRONAUT = data.astronaut()
FACE_CROPS = [ASTRONAUT[0:220, 120:300], ASTRONAUT[20:200, 150:290]]  # her face, framed two ways


def two_photos() -> list[SimpleUploadedFile]:
    return [png_upload(crop, f"face-{i}.png") for i, crop in enumerate(FACE_CROPS)]


def a_still() -> SimpleUploadedFile:
    return png_upload(ASTRONAUT[::4, ::4], "old-photo.png")


def svg() -> SimpleUploadedFile:
    return SimpleUploadedFile("face.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><circle r="4"/></svg>',
                              content_type="image/svg+xml")


def garbage() -> SimpleUploadedFile:
    return SimpleUploadedFile("face.png", b"\x89PNG not really" * 20, content_type="image/png")


def stored_photos(media_root: Path) -> list[Path]:
    return [path for path in (media_root / "jobs" / "assets").rglob("*") if path.is_file()]


def faces_references(job: Job) -> list[JobAsset]:
    (faces,) = [stage for stage in job.recipe["stages"] if stage["stage"] == "faces"]
    assert "references" not in faces["params"]  # the stored recipe names no file
    return list(job.assets.filter(role=JobAsset.Role.FACE_REFERENCE))


def assert_stored_for(owner, assets, media_root):
    assert len(assets) == 2
    for asset, crop in zip(assets, FACE_CROPS):
        path = Path(asset.file.path)
        assert asset.owner == owner and path.is_file() and path.suffix == ".png"
        assert path.is_relative_to(media_root)
        assert np.array_equal(np.asarray(Image.open(path).convert("RGB")), crop)  # lossless re-encode


# --- launched with photos --------------------------------------------------------------------------

def test_the_upload_form_launches_a_faces_job_with_the_photos(owner_client, owner, media_root):
    response = owner_client.post(NEW_URL, {"file": a_still(), "recipe": "film-faces", "allow_cpu": "on",
                                           "face_references": two_photos()})
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.id}/"
    assert_stored_for(owner, faces_references(job), media_root)


def test_the_api_launches_a_faces_job_with_the_photos(owner_client, owner, media_root):
    item = make_item()
    response = owner_client.post(API_URL, {"item": item.pk, "recipe": "film-faces", "allow_cpu": "true",
                                           "face_references": two_photos()})
    assert response.status_code == 201, response.content
    job = Job.objects.get(pk=response.json()["id"])
    assert job.item == item and "faces" in response.json()["stages"]
    assert_stored_for(owner, faces_references(job), media_root)


def test_without_photos_a_job_is_launched_as_before(owner_client, media_root):
    response = owner_client.post(NEW_URL, {"file": a_still(), "recipe": "film-light"})
    assert response.status_code == 302 and Job.objects.get().recipe["name"] == "film-light"
    assert stored_photos(media_root) == []


def test_the_item_form_keeps_the_photos_through_its_question(owner_client, owner, media_root):
    """No GPU worker is online: the page asks whether to run on a CPU, and the answer launches the
    job with the photos stored by the first try (not uploaded again)."""
    item = make_item()
    url = f"/jobs/new/item/{item.pk}/"
    question = owner_client.post(url, {"recipe": "film-faces", "face_references": two_photos()})
    assert question.status_code == 409 and not Job.objects.exists()
    page = question.content.decode()
    assert "Run it on a CPU" in page and page.count('name="face_references_stored"') == 2
    stored = [str(asset.id) for asset in JobAsset.objects.order_by("position")]
    assert len(stored) == 2 and all(f'value="{asset_id}"' in page for asset_id in stored)

    answer = owner_client.post(url, {"recipe": "film-faces", "allow_cpu": "1", "face_references_stored": stored})
    job = Job.objects.get()
    assert answer.status_code == 302 and answer["Location"] == f"/jobs/{job.id}/"
    assert_stored_for(owner, faces_references(job), media_root)
    assert len(stored_photos(media_root)) == 2  # the same files, not copies


# --- refused ----------------------------------------------------------------------------------------

BAD_INPUT = [
    (lambda: {"recipe": "film-faces", "face_references": [svg()]}, "face.svg: This file cannot be used"),
    (lambda: {"recipe": "film-faces", "face_references": [two_photos()[0], garbage()]},
     "face.png: This file cannot be used"),
    (lambda: {"recipe": "film-faces", "face_references": [photo for _ in range(4) for photo in two_photos()]},
     "no more than 6"),
    (lambda: {"recipe": "film-default", "face_references": two_photos()}, "only used by recipes that restore faces"),
]


def assert_nothing_stored(media_root):
    assert stored_photos(media_root) == [] and not Job.objects.exists()
    assert list((settings.SCRATCH_DIR / "uploads").glob("*")) == []  # spooled uploads are gone too


@pytest.mark.parametrize("fields, message", BAD_INPUT)
def test_the_api_refuses_bad_photos_with_a_400_and_stores_nothing(owner_client, media_root, fields, message):
    response = owner_client.post(API_URL, {"item": make_item().pk, "allow_cpu": "true", **fields()})
    assert response.status_code == 400, response.content
    assert message in response.json()["message"]
    assert_nothing_stored(media_root)


@pytest.mark.parametrize("fields, message", BAD_INPUT)
def test_the_upload_form_shows_why_photos_are_refused_and_stores_nothing(owner_client, media_root, fields, message):
    response = owner_client.post(NEW_URL, {"file": a_still(), "allow_cpu": "on", **fields()})
    assert response.status_code == 400
    errors = response.context["form"].errors["face_references"]
    expected = message.replace("no more than 6", "At most 6 reference photos")
    assert any(expected in error for error in errors), errors
    assert_nothing_stored(media_root)


@pytest.mark.parametrize("fields, message", BAD_INPUT)
def test_the_item_form_shows_why_photos_are_refused_and_stores_nothing(owner_client, media_root, fields, message):
    item = make_item()
    response = owner_client.post(f"/jobs/new/item/{item.pk}/", {"allow_cpu": "1", **fields()}, follow=True)
    expected = message.replace("no more than 6", "At most 6 reference photos")
    shown = [str(m) for m in response.context["messages"]]
    assert any(expected in text for text in shown), shown
    assert_nothing_stored(media_root)


def test_a_stranger_cannot_use_another_users_stored_photos(client, owner, stranger, media_root):
    item = make_item()
    theirs = face_references.face_references_store(owner=owner, uploads=two_photos())
    ids = [str(asset.id) for asset in theirs]
    client.force_login(stranger)
    for sent in (ids, ids[:1], [theirs[0].file.name], ["/etc/passwd"], ["../../etc/passwd"], ["not-a-uuid"]):
        response = client.post(f"/jobs/new/item/{item.pk}/", {"recipe": "film-faces", "allow_cpu": "1",
                                                                   "face_references_stored": sent}, follow=True)
        assert any("not one of yours" in str(m) for m in response.context["messages"]), sent
    assert not Job.objects.exists()
    assert all(Path(asset.file.path).is_file() for asset in theirs)  # and the owner's photos are untouched


def test_photos_a_job_already_took_cannot_be_sent_again(owner_client, owner, media_root):
    item = make_item()
    owner_client.post("/api/jobs/", {"item": item.pk, "recipe": "film-faces", "allow_cpu": "true",
                                     "face_references": two_photos()})
    taken = [str(asset.id) for asset in Job.objects.get().assets.all()]
    response = owner_client.post(f"/jobs/new/item/{item.pk}/", {"recipe": "film-faces", "allow_cpu": "1",
                                                                "face_references_stored": taken}, follow=True)
    assert any("not one of yours" in str(m) for m in response.context["messages"])
    assert Job.objects.count() == 1


def test_nothing_stays_stored_when_the_job_cannot_be_made(owner_client, media_root, settings,
                                                          django_capture_on_commit_callbacks):
    settings.JOB_MAX_ACTIVE_PER_USER = 0
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(API_URL, {"item": make_item().pk, "recipe": "film-faces", "allow_cpu": "true",
                                               "face_references": two_photos()})
    assert response.status_code == 429
    assert_nothing_stored(media_root)


# --- the recipe ---------------------------------------------------------------------------------------

def test_every_faces_stage_gets_the_reference_photos_when_the_job_runs():
    recipe = {"name": "twice", "stages": [{"stage": "faces", "params": {"model": "auto"}}, {"stage": "deflicker"},
                                          {"stage": "faces"}]}
    photos = [("face_reference", None, "/a.png"), ("scribble", 0, "/s.png"), ("face_reference", None, "/b.png")]
    given = recipe_with_asset_paths(recipe, photos)
    assert [stage.get("params", {}).get("references") for stage in given["stages"]] == [
        ["/a.png", "/b.png"], None, ["/a.png", "/b.png"]]
    assert given["stages"][0]["params"]["model"] == "auto" and "references" not in recipe["stages"][0]["params"]


# --- pages and schema ---------------------------------------------------------------------------------

def test_the_pages_offer_the_photos_field(owner_client, media_root):
    item = make_item()
    for url in (NEW_URL, item.get_absolute_url()):
        page = owner_client.get(url).content.decode()
        assert "Reference photos of the people (faces recipes)" in page
        assert 'name="face_references"' in page and 'accept="image/*"' in page and " multiple" in page
        assert 'enctype="multipart/form-data"' in page


def test_the_api_schema_documents_the_photos(client, db):
    schema = client.get("/api/schema/").content.decode()
    assert "face_references" in schema and "Reference photos of the people" in schema
