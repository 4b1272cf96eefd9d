"""Django's storage API on a real S3 server (SeaweedFS): multipart uploads, presigned URLs, no overwrites."""
import os
import re
import time

import requests
from django.core.files import File
from django.core.files.base import ContentFile


def test_a_file_over_8_mb_is_streamed_up_in_parts_and_read_back_equal(s3_storage, seaweedfs, tmp_path):
    payload = os.urandom(9 * 1024 * 1024 + 123)
    source = tmp_path / "reel.mp4"
    source.write_bytes(payload)
    with source.open("rb") as handle:
        name = s3_storage.save("films/reel.mp4", File(handle))
    head = seaweedfs.s3_client().head_object(Bucket=s3_storage.bucket_name, Key=name)
    # A multipart upload's ETag is the MD5 of its parts' MD5s, followed by the number of parts.
    assert re.fullmatch(r'"[0-9a-f]{32}-2"', head["ETag"]), head["ETag"]
    assert s3_storage.size(name) == len(payload)
    with s3_storage.open(name, "rb") as stored:
        assert stored.read() == payload


def test_exists_and_delete(s3_storage):
    name = s3_storage.save("posters/still.png", ContentFile(b"png bytes"))
    assert s3_storage.exists(name)
    s3_storage.delete(name)
    assert not s3_storage.exists(name)


def test_a_presigned_url_gives_the_bytes_and_nothing_else_opens_the_file(s3_storage):
    name = s3_storage.save("versions/restored.mp4", ContentFile(b"restored film"))
    url = s3_storage.url(name)
    assert "X-Amz-Expires=300" in url
    response = requests.get(url, timeout=10)
    assert (response.status_code, response.content) == (200, b"restored film")
    forged = re.sub(r"X-Amz-Signature=[0-9a-f]+", "X-Amz-Signature=" + "0" * 64, url)
    assert requests.get(forged, timeout=10).status_code == 403
    assert requests.get(url.partition("?")[0], timeout=10).status_code == 403


def test_a_presigned_url_stops_working_when_it_expires(s3_storage):
    name = s3_storage.save("versions/short-lived.png", ContentFile(b"still"))
    url = s3_storage.url(name, expire=2)
    assert requests.get(url, timeout=10).status_code == 200
    deadline = time.monotonic() + 6
    while requests.get(url, timeout=10).status_code == 200:
        assert time.monotonic() < deadline, "the URL still works 6 s after it expired"
        time.sleep(0.25)
    assert requests.get(url, timeout=10).status_code == 403


def test_a_name_already_taken_gets_a_new_one(s3_storage):
    first = s3_storage.save("items/original.png", ContentFile(b"first"))
    second = s3_storage.save("items/original.png", ContentFile(b"second"))
    assert first == "items/original.png"
    assert second != first and re.fullmatch(r"items/original_\w+\.png", second), second
    with s3_storage.open(first) as kept:
        assert kept.read() == b"first"
