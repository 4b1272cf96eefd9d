"""Colorizing on the site: the frame to draw on, the preview, the launched job, and what is refused."""
import io
import shutil
from pathlib import Path
from unittest import mock

import cv2
import numpy as np
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from PIL import Image

from engine.color.space import luminance
from engine.io import probe, read_video_frames
from gallery.models import Item
from jobs.services.publish import job_publish
from jobs.models import Job, JobState
from tests.jobs.factories import job_for

GREEN = (40, 170, 60)
PREVIEW_URL = "/api/jobs/colorize/preview/"
LAUNCH_URL = "/api/jobs/colorize/"


@pytest.fixture(autouse=True)
def quiet(media_root, settings, tmp_path):
    settings.SCRATCH_DIR = tmp_path / "scratch"  # this test's own, to see that spooled uploads go
    with mock.patch("jobs.events.send_job_event"), mock.patch("jobs.tasks.run_job.apply_async"):
        yield


@pytest.fixture
def film_item(media_root, film_clip, db) -> Item:
    """A film item whose original is the 24-frame 320x240 test clip."""
    folder = media_root / "items" / "old-street"
    folder.mkdir(parents=True)
    shutil.copyfile(film_clip, folder / "original.mp4")
    item = Item(slug="old-street", kind=Item.Kind.FILM, title="An old street")
    item.media.name = "items/old-street/original.mp4"
    item.media_info = probe(folder / "original.mp4").as_dict()
    item.save()
    return item


def png_upload(array: np.ndarray, name: str = "image.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def scribble_upload(size=(320, 240), box=(slice(100, 140), slice(140, 180)), color=GREEN) -> SimpleUploadedFile:
    """What the page's canvas sends: transparent, with one opaque patch of colour."""
    rgba = np.zeros((size[1], size[0], 4), np.uint8)
    rgba[box] = (*color, 255)
    return png_upload(rgba, "scribble.png")


def stored_files(media_root: Path) -> list[Path]:
    """The pictures stored for launches (job assets)."""
    return [path for path in (media_root / "jobs" / "assets").rglob("*") if path.is_file()]


def hue_degrees(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.reshape(-1, 1, 3), cv2.COLOR_RGB2HSV_FULL)[..., 0].ravel() * 360.0 / 256.0


# --- preview ---------------------------------------------------------------------------------------

def test_preview_keeps_the_frames_luminance_and_takes_the_scribbles_hue(owner_client, film_item, media_root):
    response = owner_client.post(PREVIEW_URL, {"item": film_item.pk, "frame": 5, "scribble": scribble_upload()})
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "image/png"
    preview = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"))
    assert preview.shape == (240, 320, 3)

    frame = next(read_video_frames(film_item.media.path, start=5))
    assert np.abs(luminance(preview) - luminance(frame)).max() <= 1.0

    patch = preview[100:140, 140:180].reshape(-1, 3)
    y = luminance(patch)
    usable = patch[(y > 30) & (y < 225)]  # near black or white no colour can show
    assert len(usable) > 100
    expected = hue_degrees(np.array([GREEN], np.uint8))[0]
    assert abs(float(np.median(hue_degrees(usable))) - expected) < 20
    assert stored_files(media_root) == []  # a preview keeps nothing


def test_preview_of_a_still_with_a_reference_image(owner_client, media_root, db):
    from tests.gallery.factories import make_item

    item = make_item()  # a 64x48 photo
    reference = np.zeros((48, 64, 3), np.uint8)
    reference[:] = (200, 60, 40)
    response = owner_client.post(PREVIEW_URL, {"item": item.pk, "reference_images": [png_upload(reference)]})
    assert response.status_code == 200, response.content
    assert Image.open(io.BytesIO(response.content)).size == (64, 48)


def test_frame_endpoint_serves_the_frame_to_draw_on(owner_client, film_item):
    response = owner_client.get(f"/jobs/colorize/frame/?item={film_item.pk}&frame=3")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(response.content)).size == (320, 240)
    past = owner_client.get(f"/jobs/colorize/frame/?item={film_item.pk}&frame=24")
    assert past.status_code == 400 and "frames 0 to 23" in past.content.decode()


# --- launch ----------------------------------------------------------------------------------------

def test_launch_stores_the_hints_and_queues_a_colorize_job(owner_client, owner, film_item, media_root):
    reference = np.full((60, 80, 3), (30, 90, 200), np.uint8)
    response = owner_client.post(LAUNCH_URL, {
        "item": film_item.pk, "frame": 7, "scribble": scribble_upload(), "base_recipe": "film-light",
        "reference_images": [png_upload(reference, "sky.png")], "saturation": 1.2})
    assert response.status_code == 201, response.content
    job = Job.objects.get(pk=response.json()["id"])
    assert job.owner == owner and job.item == film_item and job.state == JobState.QUEUED
    assert [s["stage"] for s in job.recipe["stages"]] == ["deflicker", "colorize"]
    params = job.recipe["stages"][-1]["params"]
    assert params["model"] == "none" and params["saturation"] == 1.2
    assert not {"scribbles", "reference_frames", "reference_images"} & set(params)  # the recipe names no file
    scribble, sky = job.assets.get(role="scribble"), job.assets.get(role="color_reference")
    assert job.assets.count() == 2 and scribble.frame == 7 and scribble.owner == owner
    for asset in (scribble, sky):
        assert Path(asset.file.path).is_file() and Path(asset.file.path).is_relative_to(media_root)
    assert Image.open(scribble.file.path).mode == "RGBA" and Image.open(sky.file.path).format == "PNG"


def test_the_launched_job_runs_and_colors_the_clip(owner_client, film_item):
    from jobs.services.run import job_run

    response = owner_client.post(LAUNCH_URL, {"item": film_item.pk, "frame": 0, "scribble": scribble_upload()})
    job = Job.objects.get(pk=response.json()["id"])
    job_run(job_id=job.id)
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, job.error
    last = list(read_video_frames(job.result.path))[-1]
    patch = last[100:140, 140:180].astype(int)
    assert (patch[..., 1] - (patch[..., 0] + patch[..., 2]) / 2).mean() > 5  # still green at the last frame


def test_a_colorized_result_is_published_as_ai_color(owner_client, owner, media_root):
    from tests.gallery.factories import make_item

    item = make_item()
    keyframe = np.full((48, 64, 3), (180, 120, 60), np.uint8)
    response = owner_client.post(LAUNCH_URL, {"item": item.pk, "reference_frame": png_upload(keyframe)})
    assert response.status_code == 201, response.content
    job = Job.objects.get(pk=response.json()["id"])
    assert job.assets.get(role="keyframe").frame == 0
    # As the worker would leave it.
    result = media_root / "jobs" / str(job.id) / "result.png"
    Image.fromarray(keyframe).save(result)
    Job.objects.filter(pk=job.pk).update(state=JobState.SUCCEEDED, result=f"jobs/{job.id}/result.png")
    job.refresh_from_db()
    assert job_publish(user=owner, job=job).ai_color is True


def test_an_uploaded_file_of_ones_own_is_colorized(owner_client, owner, film_clip):
    upload_job = job_for(owner, film_clip)
    page = owner_client.get("/jobs/colorize/")
    assert f"?job={upload_job.id}" in page.content.decode()
    preview = owner_client.post(PREVIEW_URL, {"job": upload_job.id, "frame": 0, "scribble": scribble_upload()})
    assert preview.status_code == 200, preview.content
    response = owner_client.post(LAUNCH_URL, {"job": upload_job.id, "frame": 0, "scribble": scribble_upload()})
    assert response.status_code == 201, response.content
    job = Job.objects.get(pk=response.json()["id"])
    assert job.item is None and job.recipe["stages"][-1]["stage"] == "colorize"
    assert job.source_name == upload_job.source_name
    assert Path(job.assets.get(role="scribble").file.path).is_file()


# --- refusals: a clear 4xx, nothing stored ----------------------------------------------------------

def garbage():
    return SimpleUploadedFile("scribble.png", b"\x89PNG not really", content_type="image/png")


def svg():
    return SimpleUploadedFile("sky.svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9">'
                                         b'<rect width="9" height="9" fill="red"/></svg>', content_type="image/svg+xml")


@pytest.mark.parametrize("url", [PREVIEW_URL, LAUNCH_URL])
@pytest.mark.parametrize("fields, message", [
    (lambda: {"frame": 1, "scribble": garbage()}, "scribble: This file cannot be used"),
    (lambda: {"frame": 1, "scribble": scribble_upload(), "reference_images": [svg()]}, "reference_images: This file"),
    (lambda: {"frame": 1, "reference_frame": svg()}, "reference_frame: This file cannot be used"),
    (lambda: {"frame": 24, "scribble": scribble_upload()}, "Frame 24 does not exist"),
    (lambda: {"frame": 1}, "Draw some colour"),
    (lambda: {"frame": 1, "scribble": png_upload(np.zeros((240, 320, 4), np.uint8))}, "Draw some colour"),
])
def test_bad_input_gets_a_400_and_nothing_is_stored(owner_client, film_item, media_root, url, fields, message):
    response = owner_client.post(url, {"item": film_item.pk, **fields()})
    assert response.status_code == 400, response.content
    assert message in response.json()["message"]
    assert stored_files(media_root) == [] and Job.objects.count() == 0
    assert list((settings.SCRATCH_DIR / "uploads").glob("*")) == []  # spooled uploads are gone too


def test_a_video_is_not_a_reference_picture(owner_client, film_item, film_clip, media_root):
    response = owner_client.post(PREVIEW_URL, {"item": film_item.pk, "reference_images": [
        SimpleUploadedFile("clip.mp4", film_clip.read_bytes())]})
    assert response.status_code == 400 and "not a video" in response.json()["message"]


def test_a_huge_picture_is_refused_before_it_is_read(owner_client, film_item, media_root):
    with override_settings(UPLOAD_MAX_PICTURE_BYTES=100):
        response = owner_client.post(PREVIEW_URL, {"item": film_item.pk, "scribble": scribble_upload()})
    assert response.status_code == 400 and response.json()["message"].startswith("scribble: the image is")


@pytest.mark.parametrize("url", [PREVIEW_URL, LAUNCH_URL])
def test_anonymous_visitors_are_refused(client, film_item, media_root, url):
    response = client.post(url, {"item": film_item.pk, "scribble": scribble_upload()})
    assert response.status_code in (401, 403)
    assert stored_files(media_root) == [] and Job.objects.count() == 0
    page = client.get(f"/jobs/colorize/?item={film_item.pk}")
    assert page.status_code == 302 and "/accounts/login/" in page["Location"]


def test_another_users_upload_is_not_found(client, owner, stranger, film_clip, media_root):
    their_job = job_for(owner, film_clip)
    client.force_login(stranger)
    for url in (PREVIEW_URL, LAUNCH_URL):
        response = client.post(url, {"job": their_job.id, "scribble": scribble_upload()})
        assert response.status_code == 404, response.content
    assert client.get(f"/jobs/colorize/?job={their_job.id}").status_code == 404
    assert client.get(f"/jobs/colorize/frame/?job={their_job.id}&frame=0").status_code == 404
    assert stored_files(media_root) == [] and Job.objects.count() == 1


def test_an_item_that_does_not_exist_is_refused(owner_client, media_root, db):
    response = owner_client.post(LAUNCH_URL, {"item": 999, "scribble": scribble_upload()})
    assert response.status_code == 400 and response.json()["message"].startswith("item:")
    assert owner_client.get("/jobs/colorize/?item=999").status_code == 404
    assert stored_files(media_root) == []


def test_nothing_stays_stored_when_the_job_cannot_be_made(owner_client, film_item, media_root, settings,
                                                          django_capture_on_commit_callbacks):
    settings.JOB_MAX_ACTIVE_PER_USER = 0
    with django_capture_on_commit_callbacks(execute=True):  # files go when the deletion commits
        response = owner_client.post(LAUNCH_URL, {"item": film_item.pk, "scribble": scribble_upload()})
    assert response.status_code == 429
    assert stored_files(media_root) == [] and Job.objects.count() == 0


# --- the page and the schema ------------------------------------------------------------------------

def test_the_item_page_and_the_upload_form_lead_to_colorize(owner_client, film_item):
    item_page = owner_client.get(film_item.get_absolute_url()).content.decode()
    assert f'href="/jobs/colorize/?item={film_item.pk}"' in item_page
    assert 'href="/jobs/colorize/"' in owner_client.get("/jobs/new/").content.decode()
    chooser = owner_client.get("/jobs/colorize/")
    assert chooser.status_code == 200 and "You have not uploaded a file yet." in chooser.content.decode()


def test_the_page_has_the_canvas_and_its_tools(owner_client, film_item):
    page = owner_client.get(f"/jobs/colorize/?item={film_item.pk}").content.decode()
    for needle in ('id="colorize-canvas"', 'id="colorize-frame-range"', 'max="23"', 'id="colorize-undo"',
                   'id="colorize-eraser"', 'type="color"', "js/scribble.js", "css/colorize.css",
                   "Colorize the whole clip", "AI-generated color"):
        assert needle in page


def test_a_still_has_no_frame_to_pick(owner_client, media_root, db):
    from tests.gallery.factories import make_item

    page = owner_client.get(f"/jobs/colorize/?item={make_item().pk}").content.decode()
    assert "Colorize the picture" in page and 'id="colorize-frame-range"' not in page


def test_the_endpoints_are_in_the_openapi_schema(client, db):
    schema = client.get("/api/schema/").content.decode()
    assert "/api/jobs/colorize/preview/" in schema and "/api/jobs/colorize/:" in schema
    assert "image/png" in schema
