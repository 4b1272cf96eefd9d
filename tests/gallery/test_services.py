import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from engine.io import probe
from gallery import services
from gallery.models import Item, Report, Version, Vote
from restoration_site.errors import ApplicationError
from restoration_site.media import media_exists, media_local_file
from tests.gallery.factories import make_item, make_version, png_upload, run_derived_media
from tests.jobs.factories import upload_of


@pytest.fixture
def item(media_root):
    return make_item()


@pytest.fixture
def staff(make_user):
    return make_user("curator", is_staff=True)


def files_under(root):
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def test_homework_is_stored_and_listed_with_its_facts(owner, item, media_root):
    version = services.homework_hand_in(author=owner, item=item, upload=png_upload(), title="Mine",
                                        description="Levels in GIMP", ai_color=True)
    assert version.is_homework and version.ai_color and version.author == owner
    assert version.media.name == f"items/{item.slug}/versions/{version.uid}/media.png"
    assert version.media_info["width"] == 64
    assert probe(media_local_file(version.media.name)).kind == "image"
    assert not version.poster  # made by the worker, not in the request
    run_derived_media(version)
    assert probe(media_local_file(version.poster.name)).format == "jpeg"  # grids load this small copy, not the upload


def test_a_large_scan_gets_a_small_poster_for_grids(staff, media_root):
    item = services.item_create(uploader=staff, upload=png_upload(size=(2400, 1600)), kind=Item.Kind.PAINTING,
                                title="Big scan")
    poster = probe(media_local_file(run_derived_media(item).poster.name))
    assert (poster.width, poster.height) == (640, 427) and poster.format == "jpeg"


def test_homework_must_match_the_items_kind(owner, media_root, film_clip):
    photo = make_item()
    with pytest.raises(ApplicationError, match="This item is a still picture: hand in an image."):
        services.homework_hand_in(author=owner, item=photo, upload=upload_of(film_clip))
    assert not Version.objects.exists()


@pytest.mark.parametrize("content", [b"", b"<svg onload='alert(1)'/>", b"\x89PNG\r\n\x1a\n broken"])
def test_bad_homework_files_leave_nothing_behind(owner, item, media_root, content):
    before = files_under(media_root)
    with pytest.raises(ApplicationError):
        services.homework_hand_in(author=owner, item=item, upload=SimpleUploadedFile("x.png", content))
    assert not Version.objects.exists()
    assert files_under(media_root) == before


def test_the_daily_homework_cap(owner, item, media_root, settings):
    settings.HOMEWORK_DAILY_CAP = 2
    for seed in range(2):
        services.homework_hand_in(author=owner, item=item, upload=png_upload(seed=seed))
    assert services.homework_remaining_today(owner) == 0
    with pytest.raises(ApplicationError) as error:
        services.homework_hand_in(author=owner, item=item, upload=png_upload(seed=3))
    assert error.value.status_code == 429 and "daily limit" in error.value.message


def test_votes_toggle_one_per_user(owner, stranger, item, media_root):
    version = make_version(item, owner)
    assert services.vote_toggle(user=stranger, version=version) is True
    assert services.vote_toggle(user=owner, version=version) is True
    assert Vote.objects.filter(version=version).count() == 2
    assert services.vote_toggle(user=stranger, version=version) is False
    assert list(Vote.objects.filter(version=version).values_list("user__username", flat=True)) == ["owner"]


def test_replies_are_one_level_deep(owner, stranger, item, media_root):
    top = services.comment_create(author=owner, item=item, body="Beautiful")
    reply = services.comment_create(author=stranger, item=item, body="Agreed", parent=top)
    deeper = services.comment_create(author=owner, item=item, body="Thanks", parent=reply)
    assert reply.parent == top and deeper.parent == top
    with pytest.raises(ApplicationError, match="empty"):
        services.comment_create(author=owner, item=item, body="   ")


def test_only_the_author_edits_and_the_author_or_staff_deletes(owner, stranger, staff, item, media_root):
    comment = services.comment_create(author=owner, item=item, body="First")
    with pytest.raises(ApplicationError) as error:
        services.comment_edit(user=stranger, comment=comment, body="Hacked")
    assert error.value.status_code == 403
    services.comment_edit(user=owner, comment=comment, body="First, edited")
    comment.refresh_from_db()
    assert comment.body == "First, edited" and comment.edited_at is not None
    with pytest.raises(ApplicationError):
        services.comment_delete(user=stranger, comment=comment)
    services.comment_delete(user=staff, comment=comment)
    comment.refresh_from_db()
    assert comment.is_deleted


def test_reports_reach_staff_who_hide_or_dismiss(owner, stranger, staff, item, media_root):
    comment = services.comment_create(author=owner, item=item, body="Spam spam")
    report = services.report_create(reporter=stranger, comment=comment, reason="spam")
    with pytest.raises(ApplicationError) as error:
        services.report_resolve(moderator=stranger, report=report, hide=True)
    assert error.value.status_code == 403
    services.report_resolve(moderator=staff, report=report, hide=True)
    comment.refresh_from_db()
    assert comment.is_hidden and Report.objects.get().resolution == "hidden"
    with pytest.raises(ApplicationError, match="already resolved"):
        services.report_resolve(moderator=staff, report=report, hide=False)
    with pytest.raises(ApplicationError, match="either a comment or a version"):
        services.report_create(reporter=stranger, reason="x")


def test_only_staff_feature_and_create_items(owner, staff, item, media_root, noisy_png):
    version = make_version(item, owner)
    with pytest.raises(ApplicationError):
        services.version_feature(moderator=owner, version=version)
    services.version_feature(moderator=staff, version=version)
    version.refresh_from_db()
    assert version.featured
    upload = SimpleUploadedFile("scan.png", noisy_png)
    with pytest.raises(ApplicationError):
        services.item_create(uploader=owner, upload=upload, kind=Item.Kind.PHOTO, title="Nope")
    created = services.item_create(uploader=staff, upload=SimpleUploadedFile("scan.png", noisy_png),
                                   kind=Item.Kind.PAINTING, title="Portrait of the Qianlong Emperor", year=1736)
    assert created.slug == "portrait-of-the-qianlong-emperor" and created.media_info["kind"] == "image"


def test_a_film_item_gets_a_poster_and_its_facts(staff, media_root, film_clip):
    item = services.item_create(uploader=staff, upload=upload_of(film_clip), kind=Item.Kind.FILM,
                                title="Beijing street, 1920s")
    assert item.media_info["fps"] == 12.0 and item.media_info["audio_codecs"] == ["aac"]
    assert not item.poster
    poster = probe(media_local_file(run_derived_media(item).poster.name))  # the first frame, scaled for grids
    assert item.poster.name.endswith("poster.jpg") and (poster.width, poster.height) == (320, 240)
    with pytest.raises(ApplicationError, match="A film clip needs a video file."):
        services.item_create(uploader=staff, upload=png_upload(), kind=Item.Kind.FILM, title="Not a film")


def test_a_video_browsers_cannot_play_gets_a_web_copy_from_the_worker(owner, media_root, pcm_clip,
                                                                       django_capture_on_commit_callbacks, client):
    film = make_item(kind=Item.Kind.FILM)
    assert not probe(pcm_clip).browser_playable  # PCM audio in Matroska
    with mock.patch("gallery.tasks.make_derived_media.delay") as enqueue:
        with django_capture_on_commit_callbacks(execute=True):
            version = services.homework_hand_in(author=owner, item=film, upload=upload_of(pcm_clip))
    enqueue.assert_called_once_with("gallery.Version", version.pk)
    assert not version.web_media and not version.poster
    run_derived_media(version)
    assert probe(media_local_file(version.poster.name)).format == "jpeg"
    web = probe(media_local_file(version.web_media.name))
    assert web.browser_playable and web.frame_count == 10 and web.audio_codecs == ["aac"]
    played = client.get(f"/versions/{version.uid}/media/")
    assert played["Content-Type"] == "video/mp4"
    assert client.get(f"/versions/{version.uid}/original/")["Content-Disposition"].endswith('.mkv"')


def test_a_playable_upload_gets_a_poster_but_no_copy(owner, media_root, film_clip,
                                                     django_capture_on_commit_callbacks):
    film = make_item(kind=Item.Kind.FILM)
    with mock.patch("gallery.tasks.make_derived_media.delay") as enqueue:
        with django_capture_on_commit_callbacks(execute=True):
            version = services.homework_hand_in(author=owner, item=film, upload=upload_of(film_clip))
    enqueue.assert_called_once_with("gallery.Version", version.pk)
    run_derived_media(version)
    assert version.poster and not version.web_media
    poster_name = version.poster.name
    run_derived_media(version)  # a repeated delivery of the task changes nothing
    assert version.poster.name == poster_name


def test_uploads_leave_decoding_to_the_worker(staff, owner, item, media_root, film_clip,
                                             django_capture_on_commit_callbacks):
    """The request stores and checks the file; posters and web copies are the task's."""
    with mock.patch("gallery.tasks.make_derived_media.delay") as enqueue, \
            mock.patch("gallery.services.media_poster_jpeg") as write_poster, \
            mock.patch("gallery.services.transcode_for_web") as transcode:
        with django_capture_on_commit_callbacks(execute=True):
            film = services.item_create(uploader=staff, upload=upload_of(film_clip), kind=Item.Kind.FILM, title="Clip")
            version = services.homework_hand_in(author=owner, item=item, upload=png_upload())
    write_poster.assert_not_called()
    transcode.assert_not_called()
    assert [c.args for c in enqueue.call_args_list] == [("gallery.Item", film.pk), ("gallery.Version", version.pk)]
    assert not film.poster and not version.poster


def test_a_web_process_knows_the_task_that_services_send_by_name():
    """The services look make_derived_media up by its registered name (importing gallery.tasks would
    make a cycle); a process that never imports the tasks itself, as the web server, must know it."""
    script = ("import django; django.setup(); import sys; from celery import current_app; "
              "print('gallery.make_derived_media' in current_app.tasks)")
    done = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[2], capture_output=True,
                          text=True, timeout=120,
                          env={**os.environ, "DJANGO_SETTINGS_MODULE": "restoration_site.settings_test"})
    assert done.stdout.strip() == "True", done.stderr


def test_a_broker_that_is_down_does_not_lose_the_upload(owner, item, media_root, django_capture_on_commit_callbacks):
    from kombu.exceptions import OperationalError

    with mock.patch("gallery.tasks.make_derived_media.delay", side_effect=OperationalError("no broker")):
        with django_capture_on_commit_callbacks(execute=True):
            version = services.homework_hand_in(author=owner, item=item, upload=png_upload())
    assert Version.objects.filter(pk=version.pk).exists() and not version.poster
    # The periodic sweep makes the missing poster once the upload is a little old.
    assert services.media_derived_sweep() == 0  # too fresh: its own task may still be on the way
    Version.objects.filter(pk=version.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    assert services.media_derived_sweep() == 1
    version.refresh_from_db()
    assert version.poster and media_exists(version.poster.name)
    assert services.media_derived_sweep() == 0


def test_the_item_page_shows_a_placeholder_until_the_poster_is_made(owner, item, media_root, client):
    version = services.homework_hand_in(author=owner, item=item, upload=png_upload(), title="Mine")
    page = client.get(item.get_absolute_url()).content.decode()
    assert "thumb-placeholder" in page and f"/versions/{version.uid}/poster/" not in page
    run_derived_media(version)
    page = client.get(item.get_absolute_url()).content.decode()
    assert f"/versions/{version.uid}/poster/" in page


def test_curators_add_items_in_the_admin_with_checked_uploads(client, make_user, media_root, tmp_path):
    from PIL import Image as PILImage

    staff = make_user("admin", is_staff=True, is_superuser=True)
    client.force_login(staff)
    photo = tmp_path / "scan.jpg"
    exif = PILImage.Exif()
    exif[0x8825] = {1: "N", 2: (31.0, 14.0, 0.0)}
    PILImage.new("RGB", (80, 60), (90, 80, 70)).save(photo, format="JPEG", exif=exif)
    form = {"slug": "bund-1930", "kind": "photo", "title": "The Bund", "date_precision": "year"}
    with open(photo, "rb") as handle:
        response = client.post("/admin/gallery/item/add/", {**form, "media": handle})
    assert response.status_code == 302, response.content.decode()[:2000]
    item = Item.objects.get(slug="bund-1930")
    assert re.fullmatch(r"items/bund-1930/original-[0-9a-f]{8}\.png", item.media.name) and item.uploader == staff
    assert item.media_info["width"] == 80
    with default_storage.open(item.media.name, "rb") as handle, PILImage.open(handle) as stored:
        assert not stored.getexif()
    bad = client.post("/admin/gallery/item/add/", {**form, "slug": "bad", "media": SimpleUploadedFile("x.jpg", b"nope")})
    assert bad.status_code == 200 and "not an image or video" in bad.content.decode()
    assert not Item.objects.filter(slug="bad").exists()


def test_the_admins_item_form_gets_the_upload_progress_bar(client, make_user, media_root):
    client.force_login(make_user("admin", is_staff=True, is_superuser=True))
    page = client.get("/admin/gallery/item/add/").content.decode()
    assert "js/upload.js" in page
    assert 'data-upload-sending="Uploading: {percent}%"' in page  # its labels, on the file input


def test_hidden_versions_take_no_votes_and_reports_are_not_repeated(owner, stranger, item, media_root):
    version = make_version(item, owner)
    services.report_create(reporter=stranger, version=version, reason="not a restoration")
    with pytest.raises(ApplicationError, match="already reported"):
        services.report_create(reporter=stranger, version=version, reason="again")
    version.is_hidden = True
    version.save()
    with pytest.raises(ApplicationError):
        services.vote_toggle(user=stranger, version=version)


def test_homework_must_have_the_items_proportions(owner, item, media_root):
    before = files_under(media_root)
    with pytest.raises(ApplicationError, match=r"the item is 64x48 \(4:3\), the file is 64x36 \(16:9\)"):
        services.homework_hand_in(author=owner, item=item, upload=png_upload(size=(64, 36)))
    assert not Version.objects.exists() and files_under(media_root) == before
    # Larger (an upscale) or a pixel off after rounding: the same picture.
    services.homework_hand_in(author=owner, item=item, upload=png_upload(size=(256, 192)))
    services.homework_hand_in(author=owner, item=item, upload=png_upload(size=(64, 48), seed=1))
    assert Version.objects.count() == 2


def test_homework_of_a_clip_must_last_as_long_as_the_clip(owner, media_root, film_clip):
    """film_clip: 320x240, 24 frames at 12 fps (2 s)."""
    film = make_item(Item.Kind.FILM)
    film.media_info = {"kind": "video", "width": 320, "height": 240, "duration": 3.0, "fps": 12.0}
    film.save()
    with pytest.raises(ApplicationError, match=r"the item lasts 3.00 s, the file 2.00 s"):
        services.homework_hand_in(author=owner, item=film, upload=upload_of(film_clip))
    assert not Version.objects.exists()
    film.media_info["duration"] = 2.1  # within two frames (and a tenth of a second)
    film.save()
    services.homework_hand_in(author=owner, item=film, upload=upload_of(film_clip))
    film.media_info.update(width=640, height=360, duration=2.0)
    film.save()
    with pytest.raises(ApplicationError, match=r"the item is 640x360 \(16:9\), the file is 320x240 \(4:3\)"):
        services.homework_hand_in(author=owner, item=film, upload=upload_of(film_clip))


def test_a_comment_may_point_at_a_moment_of_a_clip_within_it(owner, media_root):
    from gallery.services import moment_parse

    film = make_item(Item.Kind.FILM)
    film.media_info = {"kind": "video", "width": 320, "height": 240, "duration": 95.0, "fps": 24.0}
    film.save()
    comment = services.comment_create(author=owner, item=film, body="The tram turns here", at_seconds=83.5)
    assert comment.at_seconds == 83.5
    with pytest.raises(ApplicationError, match=r"within the clip \(0 to 1:35\)"):
        services.comment_create(author=owner, item=film, body="Too late", at_seconds=96)
    with pytest.raises(ApplicationError, match="Only a film clip's comments"):
        services.comment_create(author=owner, item=make_item(), body="A photo", at_seconds=1)
    assert [moment_parse(t) for t in ("83", "1:23", "1:02:03", "0:05.5")] == [83, 83, 3723, 5.5]
    for bad in ("", "1:75", "-3", "nan", "inf", "1::2", "a:b"):
        with pytest.raises(ValueError):
            moment_parse(bad)
