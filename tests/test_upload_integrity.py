"""Uploads whose data is not all there are refused before anything is stored: a faststart mp4 cut
short (its index at the front promises frames that are missing) and one whose end is garbage,
as a gallery item, as homework and as a job's input; and a full disk at upload is a 507 that
leaves nothing behind."""
from __future__ import annotations

import errno
from pathlib import Path
from unittest import mock

import av
import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from engine.errors import UnsupportedMedia
from engine.io.probe import INCOMPLETE, probe, verify_streams
from gallery import services
from gallery.models import Item, Version
from jobs.models import Job
from jobs.services.launch import job_create_from_upload
from restoration_site.errors import ApplicationError
from tests.gallery.factories import make_item, png_upload

pytestmark = pytest.mark.django_db

DAMAGED = "The video is incomplete or damaged"


def remux_faststart(source: Path, target: Path) -> Path:
    """`source`'s packets in an mp4 whose index (moov) comes first, as web-ready files have it."""
    with av.open(str(source)) as given, av.open(str(target), "w", format="mp4",
                                                 options={"movflags": "+faststart"}) as out:
        streams = {stream.index: out.add_stream_from_template(stream) for stream in given.streams}
        for packet in given.demux():
            if packet.dts is not None:
                packet.stream = streams[packet.stream.index]
                out.mux(packet)
    return target


@pytest.fixture(scope="module")
def faststart_clip(film_clip, tmp_path_factory) -> Path:
    return remux_faststart(film_clip, tmp_path_factory.mktemp("faststart") / "film.mp4")


@pytest.fixture(scope="module")
def truncated_clip(faststart_clip) -> bytes:
    """The first 30% of the faststart clip: it still probes and its first frame decodes."""
    data = faststart_clip.read_bytes()
    return data[:int(len(data) * 0.3)]


@pytest.fixture(scope="module")
def garbage_tail_clip(faststart_clip) -> bytes:
    """The faststart clip with its last quarter overwritten by random bytes (same size, same index)."""
    data = faststart_clip.read_bytes()
    cut = int(len(data) * 0.75)
    return data[:cut] + np.random.default_rng(7).integers(0, 256, len(data) - cut, dtype=np.uint8).tobytes()


@pytest.fixture(params=["truncated", "garbage tail"])
def damaged(request, truncated_clip, garbage_tail_clip) -> bytes:
    return truncated_clip if request.param == "truncated" else garbage_tail_clip


def files_under(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


@pytest.fixture
def store(media_root, settings, tmp_path):
    """Empty media and scratch folders, checked to stay empty."""
    settings.SCRATCH_DIR = tmp_path / "scratch"
    return {"media": media_root, "scratch": settings.SCRATCH_DIR}


def assert_nothing_kept(store, before=()):
    assert files_under(store["media"]) == sorted(before)
    assert not store["scratch"].exists() or files_under(store["scratch"]) == []
    assert not Job.objects.exists()
    assert not Version.objects.exists()


@pytest.fixture
def staff(make_user):
    return make_user("curator", is_staff=True)


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- the check itself -------------------------------------------------------------------------

def test_the_damaged_clips_pass_the_old_probe_but_not_the_stream_check(faststart_clip, truncated_clip,
                                                                         garbage_tail_clip, tmp_path):
    """What a first-frame probe takes for a good file: the check reads it all."""
    verify_streams(faststart_clip)  # a whole file passes
    for name, data in [("cut.mp4", truncated_clip), ("garbage.mp4", garbage_tail_clip)]:
        path = tmp_path / name
        path.write_bytes(data)
        assert probe(path).duration == pytest.approx(2.0, abs=0.1)  # the index still says 2 s
        with pytest.raises(UnsupportedMedia, match=INCOMPLETE):
            verify_streams(path)


@pytest.mark.parametrize("suffix, codec, pix_fmt", [
    ("mov", "mpeg4", "yuv420p"), ("avi", "mjpeg", "yuvj420p"), ("mkv", "libx264", "yuv420p"),
])
def test_other_containers_whole_pass_and_damaged_are_refused(tmp_path, suffix, codec, pix_fmt):
    from tests.engine.test_io_formats import encode

    whole = encode(tmp_path / f"clip.{suffix}", codec, pix_fmt, count=48)
    if suffix == "mov":
        whole = remux_mov_faststart(whole, tmp_path / "fast.mov")
    verify_streams(whole)
    data = whole.read_bytes()
    cut = tmp_path / f"cut.{suffix}"
    cut.write_bytes(data[:int(len(data) * 0.3)])
    garbage = tmp_path / f"garbage.{suffix}"
    garbage.write_bytes(data[:int(len(data) * 0.85)] + bytes(np.random.default_rng(1).integers(
        0, 256, len(data) - int(len(data) * 0.85), dtype=np.uint8)))
    for damaged_file in (cut, garbage):
        try:
            probe(damaged_file)
        except UnsupportedMedia:
            continue  # refused already by the first look
        with pytest.raises(UnsupportedMedia, match=INCOMPLETE):
            verify_streams(damaged_file)


def remux_mov_faststart(source: Path, target: Path) -> Path:
    with av.open(str(source)) as given, av.open(str(target), "w", format="mov",
                                                 options={"movflags": "+faststart"}) as out:
        streams = {stream.index: out.add_stream_from_template(stream) for stream in given.streams}
        for packet in given.demux():
            if packet.dts is not None:
                packet.stream = streams[packet.stream.index]
                out.mux(packet)
    return target


def test_whole_clips_of_the_test_suite_pass(film_clip, pcm_clip, faststart_clip):
    for clip in (film_clip, pcm_clip, faststart_clip):
        verify_streams(clip)


# --- each upload path -------------------------------------------------------------------------

def test_an_item_with_a_damaged_video_is_refused_by_the_service(staff, store, damaged):
    with pytest.raises(ApplicationError, match=DAMAGED) as refused:
        services.item_create(uploader=staff, upload=SimpleUploadedFile("clip.mp4", damaged), kind=Item.Kind.FILM,
                             title="Cut short")
    assert refused.value.status_code == 400
    assert not Item.objects.exists()
    assert_nothing_kept(store)


def test_an_item_with_a_damaged_video_is_a_400_through_the_api(staff, store, damaged):
    response = login(staff).post("/api/items/", {"kind": "film", "title": "Cut short",
                                                 "file": SimpleUploadedFile("clip.mp4", damaged)})
    assert response.status_code == 400, response.content
    assert DAMAGED in response.json()["message"]
    assert not Item.objects.exists()
    assert_nothing_kept(store)


def test_an_item_with_a_damaged_video_is_refused_on_the_admin_form(make_user, store, truncated_clip):
    curator = make_user("admin", is_staff=True, is_superuser=True)
    response = login(curator).post("/admin/gallery/item/add/", {
        "title": "Cut short", "slug": "cut-short", "kind": "film", "media": SimpleUploadedFile("clip.mp4", truncated_clip),
        "date_precision": "unknown", "licence": "", "_save": "Save"})
    assert response.status_code == 200  # the form again, with the error
    assert DAMAGED in response.content.decode()
    assert not Item.objects.exists()
    assert_nothing_kept(store)


def test_homework_with_a_damaged_video_is_refused(owner, store, damaged):
    film = make_item(kind=Item.Kind.FILM)
    before = files_under(store["media"])
    with pytest.raises(ApplicationError, match=DAMAGED):
        services.homework_hand_in(author=owner, item=film, upload=SimpleUploadedFile("mine.mp4", damaged))
    response = login(owner).post(f"/items/{film.slug}/homework/", {"file": SimpleUploadedFile("mine.mp4", damaged),
                                                                    "licence": "CC-BY-4.0"},
                                 HTTP_ACCEPT="application/json")
    assert response.status_code == 400, response.content
    assert DAMAGED in response.json()["message"]
    api = login(owner).post(f"/api/items/{film.slug}/homework/", {"file": SimpleUploadedFile("mine.mp4", damaged)})
    assert api.status_code == 400 and DAMAGED in api.json()["message"]
    assert_nothing_kept(store, before)


def test_a_job_on_a_damaged_video_is_refused(owner, store, damaged):
    with mock.patch("jobs.tasks.run_job.apply_async") as enqueue:
        with pytest.raises(ApplicationError, match=DAMAGED):
            job_create_from_upload(owner=owner, upload=SimpleUploadedFile("clip.mp4", damaged),
                                   recipe_name="film-light")
        client = login(owner)
        api = client.post("/api/jobs/", {"file": SimpleUploadedFile("clip.mp4", damaged), "recipe": "film-light"})
        assert api.status_code == 400 and DAMAGED in api.json()["message"]
        page = client.post("/jobs/new/", {"file": SimpleUploadedFile("clip.mp4", damaged), "recipe": "film-light"})
        assert page.status_code == 400 and DAMAGED in page.content.decode()
    assert not enqueue.called
    assert_nothing_kept(store)


def test_the_whole_faststart_clip_is_still_taken(owner, store, faststart_clip):
    with mock.patch("jobs.tasks.run_job.apply_async"):
        response = login(owner).post("/api/jobs/", {"file": SimpleUploadedFile("clip.mp4", faststart_clip.read_bytes()),
                                                    "recipe": "film-light"})
    assert response.status_code == 201, response.content


# --- a full disk ------------------------------------------------------------------------------

DISK_FULL = "The server is out of disk space"


def no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.fixture(params=["spool", "store"])
def full_disk(request, store):
    """The disk fills while the upload is copied to scratch ("spool"), or while it is saved into the
    media store after it was checked ("store": half the file written, then ENOSPC)."""
    if request.param == "spool":
        import tempfile

        real = tempfile.NamedTemporaryFile

        def filling(*args, **kwargs):
            """A scratch file that takes half of the first chunk, then finds the disk full."""
            handle = real(*args, **kwargs)
            original_write = handle.write

            def write(data):
                original_write(data[:len(data) // 2])
                handle.flush()
                no_space()
            handle.write = write
            return handle

        with mock.patch("restoration_site.uploads.tempfile.NamedTemporaryFile", filling):
            yield request.param
        return
    from django.core.files.storage import FileSystemStorage

    def half_then_full(self, name, content):
        """What Django's save leaves when the disk fills: half the file, under the chosen name."""
        path = Path(self.path(name))
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content.read()
        path.write_bytes(data[:len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    with mock.patch.object(FileSystemStorage, "_save", half_then_full):
        yield request.param


def test_a_full_disk_at_a_job_upload_is_a_507_and_nothing_is_left(owner, store, film_clip, full_disk):
    with mock.patch("jobs.tasks.run_job.apply_async") as enqueue:
        client = login(owner)
        api = client.post("/api/jobs/", {"file": SimpleUploadedFile("clip.mp4", film_clip.read_bytes()),
                                         "recipe": "film-light"})
        assert api.status_code == 507, api.content
        assert api.json()["message"].startswith(DISK_FULL)
        assert_nothing_kept(store)
        page = client.post("/jobs/new/", {"file": SimpleUploadedFile("clip.mp4", film_clip.read_bytes()),
                                          "recipe": "film-light"})
        assert page.status_code == 507
        assert DISK_FULL in page.content.decode()
    assert not enqueue.called
    assert_nothing_kept(store)
    assert [p for p in store["media"].rglob("*")] == []  # not even an empty job folder


@pytest.fixture
def photo(store):
    return make_item()


def test_a_full_disk_at_homework_and_item_uploads_is_a_507(owner, staff, store, photo, full_disk):
    before = files_under(store["media"])
    api = login(owner).post(f"/api/items/{photo.slug}/homework/", {"file": png_upload()})
    assert api.status_code == 507 and api.json()["message"].startswith(DISK_FULL)
    page = login(owner).post(f"/items/{photo.slug}/homework/", {"file": png_upload(), "licence": "CC-BY-4.0"},
                             HTTP_ACCEPT="application/json")
    assert page.status_code == 507 and DISK_FULL in page.json()["message"]
    with pytest.raises(ApplicationError, match=DISK_FULL):
        services.item_create(uploader=staff, upload=png_upload(), kind=Item.Kind.PHOTO, title="Full")
    assert Item.objects.count() == 1
    assert_nothing_kept(store, before)


@pytest.fixture
def tiny_disk(tmp_path, settings):
    """A real filesystem with room for one copy of the film clip, not two (a tmpfs: needs root;
    the patched tests above always run)."""
    import subprocess

    folder = tmp_path / "tiny"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=640k", "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    settings.SCRATCH_DIR = folder / "scratch"
    settings.MEDIA_ROOT = folder / "media"
    settings.MEDIA_ROOT.mkdir()
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def test_a_really_full_disk_is_a_507_and_leaves_nothing(owner, tiny_disk, film_clip):
    assert 400_000 < film_clip.stat().st_size < 600_000  # one copy fits; the spool and the stored copy do not
    with mock.patch("jobs.tasks.run_job.apply_async") as enqueue:
        api = login(owner).post("/api/jobs/", {"file": SimpleUploadedFile("clip.mp4", film_clip.read_bytes()),
                                               "recipe": "film-light"})
    assert api.status_code == 507, api.content
    assert api.json()["message"].startswith(DISK_FULL)
    assert not enqueue.called and not Job.objects.exists()
    assert [p for p in tiny_disk.rglob("*") if p.is_file()] == []
    assert [p for p in (tiny_disk / "media").rglob("*")] == []


def test_a_full_disk_while_django_reads_a_large_upload_is_a_507(owner, store, settings):
    """Past FILE_UPLOAD_MAX_MEMORY_SIZE Django writes the body to a temporary file while parsing it,
    before any view runs (in the CSRF check for pages): a full disk there is a 507 too."""
    from django.core.files.uploadhandler import TemporaryFileUploadHandler

    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    big = bytes(64 * 1024)
    with mock.patch.object(TemporaryFileUploadHandler, "receive_data_chunk", lambda *args: no_space()), \
            mock.patch("jobs.tasks.run_job.apply_async") as enqueue:
        api = client.post("/api/jobs/", {"file": SimpleUploadedFile("clip.mp4", big), "recipe": "film-light"})
        page = client.post("/jobs/new/", {"file": SimpleUploadedFile("clip.mp4", big), "recipe": "film-light"})
    assert api.status_code == 507 and api.json()["message"].startswith(DISK_FULL)
    assert page.status_code == 507 and DISK_FULL in page.content.decode()
    assert not enqueue.called and not Job.objects.exists()
    assert_nothing_kept(store)
