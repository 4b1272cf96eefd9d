"""Gallery media through the storage API, each test on local files and on S3 (SeaweedFS): uploads
stored under their item's or version's folder, posters and web copies made by the worker from
scratch copies, nothing left behind on failure, replaced and deleted files removed, and the media
views (the bytes, or a redirect to a presigned URL)."""
from __future__ import annotations

import uuid
from pathlib import Path
from unittest import mock

import pytest
import requests
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from PIL import Image

from engine.io import probe
from gallery import services
from gallery.demo import DEMO_ITEMS, seed_demo_items
from gallery.models import Item, Version
from restoration_site.errors import ApplicationError
from restoration_site.media import media_exists, media_list, media_local_file
from tests.gallery.factories import make_item, make_version, png_upload, run_derived_media
from tests.jobs.factories import upload_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(make_user):
    return make_user("curator", is_staff=True)


def unique_slug(base: str) -> str:
    """The session's tests share one bucket: an item made from a title needs a slug of its own."""
    return f"{base}-{uuid.uuid4().hex[:8]}"


def stored_bytes(name: str) -> bytes:
    with default_storage.open(name, "rb") as handle:
        return handle.read()


def jpeg_size(name: str) -> tuple[int, int]:
    with default_storage.open(name, "rb") as handle, Image.open(handle) as image:
        assert image.format == "JPEG"
        image.load()
        return image.size


def served(response, backend: str) -> bytes:
    """What a browser gets from a media view: the bytes from a local store; from S3 a redirect it
    follows to a presigned URL."""
    if backend == "s3":
        assert response.status_code == 302 and response["Cache-Control"] == "private, no-store"
        answer = requests.get(response["Location"], timeout=30)
        assert answer.status_code == 200
        return answer.content
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def scratch_files(settings) -> list[Path]:
    """What the worker left in its scratch folder (the upload spool and the cache are not its)."""
    return [p for p in Path(settings.SCRATCH_DIR, "derived").rglob("*") if p.is_file()]


def test_a_staff_upload_is_stored_and_the_worker_makes_its_poster(media_backend, staff, settings, client):
    item = services.item_create(uploader=staff, upload=png_upload(size=(2400, 1600)), kind=Item.Kind.PAINTING,
                                title="Big scan", slug=unique_slug("big-scan"))
    stem = Path(item.media.name).stem
    assert item.media.name == f"items/{item.slug}/{stem}.png" and stem.startswith("original-")
    assert default_storage.exists(item.media.name) and not item.poster
    services.media_make_derived(model_label="gallery.Item", pk=item.pk)
    item.refresh_from_db()
    assert item.poster.name == f"items/{item.slug}/{stem}-poster.jpg"
    assert jpeg_size(item.poster.name) == (640, 427)
    assert media_list(f"items/{item.slug}") == sorted([item.media.name, item.poster.name])
    assert scratch_files(settings) == []
    for which, name in [("media", item.media.name), ("original", item.media.name), ("poster", item.poster.name)]:
        assert served(client.get(f"/items/{item.slug}/{which}/"), media_backend) == stored_bytes(name)


def test_homework_is_stored_in_its_versions_folder(media_backend, owner, client):
    item = make_item()
    version = services.homework_hand_in(author=owner, item=item, upload=png_upload(), title="Mine")
    folder = f"items/{item.slug}/versions/{version.uid}"
    assert version.media.name == f"{folder}/media.png" and default_storage.exists(version.media.name)
    run_derived_media(version)
    assert version.poster.name == f"{folder}/media-poster.jpg" and jpeg_size(version.poster.name) == (64, 48)
    assert media_list(folder) == sorted([version.media.name, version.poster.name])
    assert served(client.get(f"/versions/{version.uid}/media/"), media_backend) == stored_bytes(version.media.name)
    assert served(client.get(f"/versions/{version.uid}/poster/"), media_backend) == stored_bytes(version.poster.name)


def test_a_failed_upload_leaves_no_object_behind(media_backend, staff, owner, film_clip, settings):
    slug = unique_slug("broken")
    with pytest.raises(ApplicationError, match="not an image or video"):
        services.item_create(uploader=staff, upload=SimpleUploadedFile("x.png", b"\x89PNG\r\n\x1a\n broken"),
                             kind=Item.Kind.PHOTO, title="Broken", slug=slug)
    assert media_list(f"items/{slug}") == [] and not Item.objects.filter(slug=slug).exists()
    item = make_item()
    before = media_list(f"items/{item.slug}")
    with pytest.raises(ApplicationError, match="not an image or video"):
        services.homework_hand_in(author=owner, item=item, upload=SimpleUploadedFile("x.png", b"<svg/>"))
    with pytest.raises(ApplicationError, match="hand in an image"):
        services.homework_hand_in(author=owner, item=item, upload=upload_of(film_clip))
    # Stored, then refused by the row's checks: the stored file goes again.
    with pytest.raises(ValidationError):
        services.homework_hand_in(author=owner, item=item, upload=png_upload(), licence="mine-all-mine")
    assert media_list(f"items/{item.slug}") == before and not Version.objects.exists()
    assert [p for p in Path(settings.SCRATCH_DIR, "uploads").rglob("*") if p.is_file()] == []


def test_replacing_an_items_media_removes_the_old_files_once_committed(media_backend, staff, noisy_png,
                                                                        django_capture_on_commit_callbacks):
    item = services.item_create(uploader=staff, upload=SimpleUploadedFile("a.png", noisy_png), kind=Item.Kind.PHOTO,
                                title="Scan", slug=unique_slug("scan"))
    run_derived_media(item)
    old = sorted([item.media.name, item.poster.name])
    with pytest.raises(ApplicationError):
        services.item_save_with_media(item=item, upload=SimpleUploadedFile("b.png", b"broken"))
    item.refresh_from_db()
    assert sorted([item.media.name, item.poster.name]) == old and media_list(f"items/{item.slug}") == old
    with mock.patch("gallery.tasks.make_derived_media.delay"), django_capture_on_commit_callbacks(execute=True):
        services.item_save_with_media(item=item, upload=png_upload(seed=9))
    item.refresh_from_db()
    assert item.media.name not in old and not item.poster
    run_derived_media(item)
    assert media_list(f"items/{item.slug}") == sorted([item.media.name, item.poster.name])  # the old ones gone


def test_a_video_browsers_cannot_play_gets_a_stored_web_copy(media_backend, owner, pcm_clip, settings, client):
    film = make_item(kind=Item.Kind.FILM)
    version = services.homework_hand_in(author=owner, item=film, upload=upload_of(pcm_clip))
    folder = f"items/{film.slug}/versions/{version.uid}"
    assert version.media.name == f"{folder}/media.mkv"
    run_derived_media(version)
    assert version.web_media.name == f"{folder}/web.mp4" and version.poster.name == f"{folder}/media-poster.jpg"
    web = probe(media_local_file(version.web_media.name))
    assert web.browser_playable and web.frame_count == 10 and web.audio_codecs == ["aac"]
    assert jpeg_size(version.poster.name) == (160, 120)
    assert scratch_files(settings) == []
    assert served(client.get(f"/versions/{version.uid}/media/"), media_backend) == stored_bytes(version.web_media.name)
    original = client.get(f"/versions/{version.uid}/original/")
    assert served(original, media_backend) == pcm_clip.read_bytes()


def test_the_worker_removes_its_scratch_copies_when_it_fails(media_backend, owner, pcm_clip, settings):
    film = make_item(kind=Item.Kind.FILM)
    version = services.homework_hand_in(author=owner, item=film, upload=upload_of(pcm_clip))
    with mock.patch("gallery.services.transcode_for_web", side_effect=OSError("disk full")), \
            pytest.raises(OSError, match="disk full"):
        run_derived_media(version)
    version.refresh_from_db()
    assert version.poster and not version.web_media  # the poster came first and is kept
    assert scratch_files(settings) == []
    assert media_list(f"items/{film.slug}/versions/{version.uid}") == sorted([version.media.name, version.poster.name])
    assert run_derived_media(version).web_media  # the retry finishes the job


def test_a_second_delivery_of_the_task_leaves_one_poster(media_backend, owner):
    version = make_version(make_item(), owner)
    real_poster = services.media_poster_jpeg
    calls = []

    def raced(media, kind):
        calls.append(kind)
        if len(calls) == 1:  # another delivery of the task makes and attaches its poster meanwhile
            services.media_make_derived(model_label="gallery.Version", pk=version.pk)
        return real_poster(media, kind)

    with mock.patch("gallery.services.media_poster_jpeg", side_effect=raced):
        services.media_make_derived(model_label="gallery.Version", pk=version.pk)
    version.refresh_from_db()
    assert len(calls) == 2
    assert media_list(f"items/{version.item.slug}/versions/{version.uid}") == sorted(
        [version.media.name, version.poster.name])


@pytest.mark.parametrize("which", ["media", "original", "poster"])
def test_a_hidden_versions_files_are_for_staff_only(media_backend, owner, stranger, staff, which):
    version = run_derived_media(make_version(make_item(), owner))
    services.version_hide(moderator=staff, version=version)
    url = f"/versions/{version.uid}/{which}/"
    for viewer in (None, stranger, owner):  # hidden from its author too
        client = Client()
        if viewer is not None:
            client.force_login(viewer)
        assert client.get(url).status_code == 404
    moderator = Client()
    moderator.force_login(staff)
    name = version.poster.name if which == "poster" else version.media.name
    assert served(moderator.get(url), media_backend) == stored_bytes(name)


def test_a_deleted_item_takes_its_files_and_its_versions_files_along(media_backend, staff, owner,
                                                                     django_capture_on_commit_callbacks):
    item = run_derived_media(services.item_create(uploader=staff, upload=png_upload(), kind=Item.Kind.PHOTO,
                                                  title="Gone", slug=unique_slug("gone")))
    version = run_derived_media(services.homework_hand_in(author=owner, item=item, upload=png_upload(seed=2)))
    assert len(media_list(f"items/{item.slug}")) == 4
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            version.delete()
            raise RuntimeError("rolled back")
    assert media_exists(version.media.name) and media_exists(version.poster.name)  # a rollback keeps them
    with django_capture_on_commit_callbacks(execute=True):
        item.delete()
    assert media_list(f"items/{item.slug}") == []


def test_a_published_local_file_is_copied_into_the_store(media_backend, owner, film_clip):
    item = make_item(kind=Item.Kind.FILM)
    version = services.version_create_from_file(item=item, author=owner, path=film_clip,
                                                media_info=probe(film_clip).as_dict(), recipe={"name": "film-light"},
                                                ai_color=False)
    assert version.media.name == f"items/{item.slug}/versions/{version.uid}/media.mp4"
    assert stored_bytes(version.media.name) == film_clip.read_bytes() and film_clip.is_file()


def test_the_demo_content_is_stored_and_seeded_once(media_backend, client):
    assert seed_demo_items(with_versions=False) == len(DEMO_ITEMS)
    for item in Item.objects.all():
        assert item.media.name.startswith(f"items/{item.slug}/original") and media_exists(item.media.name)
        assert item.poster.name.endswith("-poster.jpg") and jpeg_size(item.poster.name)
    film = Item.objects.get(slug="demo-astronaut-film")
    assert served(client.get("/items/demo-astronaut-film/media/"), media_backend) == stored_bytes(film.media.name)
    assert seed_demo_items(with_versions=False) == 0  # a second run adds nothing


def test_a_curator_replacing_the_file_in_the_admin_removes_the_old_files(media_backend, make_user, client,
                                                                         django_capture_on_commit_callbacks):
    curator = make_user("admin", is_staff=True, is_superuser=True)
    client.force_login(curator)
    item = run_derived_media(services.item_create(uploader=curator, upload=png_upload(), kind=Item.Kind.PHOTO,
                                                  title="Bund", slug=unique_slug("bund")))
    form = {"slug": item.slug, "kind": "photo", "title": "The Bund", "date_precision": "year"}
    with mock.patch("gallery.tasks.make_derived_media.delay"), django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/gallery/item/{item.pk}/change/", {**form, "media": png_upload(seed=5)})
    assert response.status_code == 302, response.content.decode()[:2000]
    item.refresh_from_db()
    assert item.title == "The Bund" and media_list(f"items/{item.slug}") == [item.media.name]


def test_a_partners_logo_is_served(media_backend, client):
    from gallery.models import Partner
    from restoration_site.media import media_save_bytes

    partner = Partner.objects.create(slug=unique_slug("daily"), name="Daily")
    partner.logo.name = media_save_bytes(b"\x89PNG logo bytes", f"partners/{partner.slug}/logo.png")
    partner.save()
    assert served(client.get(f"/partners/{partner.slug}/logo/"), media_backend) == b"\x89PNG logo bytes"
