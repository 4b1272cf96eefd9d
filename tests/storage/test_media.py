"""restoration_site.media on both backends: what the apps do with stored files."""
import io
import os
import tracemalloc
from unittest import mock

import pytest
import requests
from django.core.files.storage import default_storage
from django.test import RequestFactory

from restoration_site import media


def test_a_saved_file_is_fetched_back_equal_and_names_are_never_overwritten(media_backend, tmp_path):
    payload = os.urandom(9 * 1024 * 1024 + 7)  # past one S3 part: a multipart upload
    source = tmp_path / "reel.mp4"
    source.write_bytes(payload)
    first = media.media_save(source, "jobs/1/source.mp4")
    second = media.media_save(source, "jobs/1/source.mp4")
    assert first == "jobs/1/source.mp4" and second != first and second.startswith("jobs/1/source")
    fetched = media.media_fetch(first, tmp_path / "down" / "copy.mp4")
    assert fetched.read_bytes() == payload
    assert not list((tmp_path / "down").glob("*.partial"))


def test_replace_keeps_the_name_and_the_new_bytes(media_backend, tmp_path):
    source = tmp_path / "manifest.json"
    source.write_text("first")
    assert media.media_replace(source, "jobs/4/checkpoint/manifest.json") == "jobs/4/checkpoint/manifest.json"
    source.write_text("second")
    assert media.media_replace(source, "jobs/4/checkpoint/manifest.json") == "jobs/4/checkpoint/manifest.json"
    assert media.media_fetch("jobs/4/checkpoint/manifest.json", tmp_path / "back.json").read_text() == "second"
    assert media.media_list("jobs/4") == ["jobs/4/checkpoint/manifest.json"]


def test_fetching_a_missing_name_raises_and_leaves_no_file(media_backend, tmp_path):
    with pytest.raises(FileNotFoundError):
        media.media_fetch("jobs/none/source.mp4", tmp_path / "copy.mp4")
    assert list(tmp_path.glob("copy.mp4*")) == []


class DroppedUpload(io.FileIO):
    """A file whose reading breaks after its first 4 MB, as an upload whose disk or peer fails."""

    def read(self, size=-1):
        if self.tell() >= 4 * 1024 * 1024:
            raise OSError("connection reset")
        return super().read(size)


def test_a_save_that_fails_midway_leaves_no_object(media_backend, tmp_path, request):
    source = tmp_path / "big.mp4"
    source.write_bytes(os.urandom(9 * 1024 * 1024))
    with mock.patch("restoration_site.media.open", lambda path, mode: DroppedUpload(path, "r"), create=True):
        with pytest.raises(OSError, match="connection reset"):
            media.media_save(source, "items/broken/original.mp4")
    assert not default_storage.exists("items/broken/original.mp4")
    assert media.media_list("items/broken") == []
    if media_backend == "s3":  # the part already sent does not linger as an unfinished upload
        uploads = request.getfixturevalue("seaweedfs").s3_client().list_multipart_uploads(
            Bucket=default_storage.bucket_name)
        assert not uploads.get("Uploads"), uploads


def test_list_and_delete_a_folder(media_backend):
    for name in ("jobs/7/checkpoint/chunk-00000.mkv", "jobs/7/checkpoint/chunk-00000.sha256", "jobs/7/result.mp4",
                 "jobs/8/result.mp4"):
        media.media_save_bytes(b"x", name)
    assert media.media_list("jobs/7") == ["jobs/7/checkpoint/chunk-00000.mkv", "jobs/7/checkpoint/chunk-00000.sha256",
                                          "jobs/7/result.mp4"]
    media.media_delete_folder("jobs/7/checkpoint")
    assert media.media_list("jobs/7") == ["jobs/7/result.mp4"]
    assert media.media_list("jobs/8") == ["jobs/8/result.mp4"]
    with pytest.raises(ValueError):
        media.media_delete_folder("/")


def test_a_local_file_to_read_is_the_stored_file_or_a_cached_copy(media_backend, settings):
    name = media.media_save_bytes(b"frame bytes", "items/1/original.png")
    local = media.media_local_file(name)
    assert local.read_bytes() == b"frame bytes"
    if media_backend == "local":
        assert local == settings.MEDIA_ROOT / name
    else:
        assert settings.SCRATCH_DIR in local.parents
        assert media.media_local_file(name) == local  # cached: not fetched twice
    with pytest.raises(FileNotFoundError):
        media.media_local_file("items/1/missing.png")


def test_the_cache_of_copies_keeps_the_ones_used_last_within_its_size(settings, s3_storage, tmp_path):
    settings.SCRATCH_DIR = tmp_path / "scratch"
    settings.SCRATCH_CACHE_MAX_BYTES = 2500
    names = [media.media_save_bytes(bytes([n]) * 1000, f"items/{n}/original.png") for n in range(3)]
    first, second = media.media_local_file(names[0]), media.media_local_file(names[1])
    os.utime(first, (1, 1))  # the first was used long ago
    os.utime(second, (2, 2))
    media.media_local_file(names[0])  # ...and now again
    third = media.media_local_file(names[2])  # 3000 bytes: one copy must go, the least recently used
    assert first.exists() and third.exists() and not second.exists()
    assert media.media_local_file(names[1]).read_bytes() == bytes([1]) * 1000  # fetched again when needed


def test_a_response_streams_local_bytes_with_ranges_or_redirects_to_a_presigned_url(media_backend):
    name = media.media_save_bytes(b"0123456789", "jobs/2/result.mp4")
    request = RequestFactory().get("/", HTTP_RANGE="bytes=2-5")
    response = media.media_response(request, name, download_name="restored-2.mp4", as_attachment=True)
    if media_backend == "local":
        assert response.status_code == 206
        assert b"".join(response.streaming_content) == b"2345"
        assert response["Content-Range"] == "bytes 2-5/10"
        assert response["Content-Disposition"] == 'attachment; filename="restored-2.mp4"'
    else:
        assert response.status_code == 302
        assert response["Cache-Control"] == "private, no-store"
        bucket = requests.get(response["Location"], headers={"Range": "bytes=2-5"}, timeout=10)
        assert (bucket.status_code, bucket.content) == (206, b"2345")
        assert bucket.headers["Content-Disposition"] == 'attachment; filename="restored-2.mp4"'
        assert bucket.headers["Content-Type"] == "video/mp4"


def test_a_response_for_a_missing_file_is_404(media_backend):
    from django.http import Http404

    with pytest.raises(Http404):
        media.media_response(RequestFactory().get("/"), "jobs/3/none.mp4", download_name="x.mp4")


def test_a_large_file_goes_up_and_down_without_being_held_in_memory(media_backend, tmp_path):
    size_mb = 160
    source = tmp_path / "long-film.mp4"
    with open(source, "wb") as handle:
        for _ in range(size_mb):
            handle.write(os.urandom(1024 * 1024))
    tracemalloc.start()
    try:
        name = media.media_save(source, "jobs/9/result.mp4")
        upload_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        media.media_fetch(name, tmp_path / "back.mp4")
        download_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # S3 holds a few 8 MB parts at a time (about 60 MB up, 40 MB down, whatever the size).
    assert upload_peak < 96 * 1024 * 1024 and download_peak < 96 * 1024 * 1024, (upload_peak, download_peak)
    assert (tmp_path / "back.mp4").stat().st_size == size_mb * 1024 * 1024
