"""MEDIA_STORAGE_URL: local files when unset, an S3 bucket's options from the URL, a clear message when bad."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from restoration_site.storage_url import media_storage_from_url

ROOT = Path(__file__).resolve().parent.parent
SECRET = "s3cr3t-Value"


def test_no_url_keeps_the_local_file_system():
    assert media_storage_from_url("") == {"BACKEND": "django.core.files.storage.FileSystemStorage"}


def test_a_seaweedfs_url_gives_every_option():
    storage = media_storage_from_url(f"s3://site-key:{SECRET}@127.0.0.1:8333/media?region=eu-west-3&secure=0",
                                     url_expire_seconds=60)
    transfer = storage["OPTIONS"].pop("transfer_config")
    assert storage == {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "access_key": "site-key", "secret_key": SECRET, "bucket_name": "media",
        "endpoint_url": "http://127.0.0.1:8333", "region_name": "eu-west-3", "addressing_style": "path",
        "signature_version": "s3v4", "default_acl": None, "file_overwrite": False, "querystring_auth": True,
        "querystring_expire": 60, "max_memory_size": 8 * 1024 * 1024}}
    # Bounded memory: 8 MB parts, four at a time (measured in tests/storage/test_media.py).
    assert (transfer.multipart_chunksize, transfer.max_concurrency, transfer.max_in_memory_upload_chunks) == (
        8 * 1024 * 1024, 4, 4)


def test_https_us_east_1_and_300_seconds_by_default():
    options = media_storage_from_url("s3://key:secret@objects.example.org/film-media/")["OPTIONS"]
    assert options["endpoint_url"] == "https://objects.example.org"
    assert (options["region_name"], options["querystring_expire"]) == ("us-east-1", 300)
    assert options["bucket_name"] == "film-media"


def test_percent_encoded_credentials_and_an_ipv6_host():
    options = media_storage_from_url("s3://AK%2FIA:wJal%2FrX%2BU%40tn%23e@[::1]:9000/media.v2?secure=1")["OPTIONS"]
    assert (options["access_key"], options["secret_key"]) == ("AK/IA", "wJal/rX+U@tn#e")
    assert options["endpoint_url"] == "https://[::1]:9000"


@pytest.mark.parametrize(("url", "message"), [
    (f"http://key:{SECRET}@127.0.0.1:8333/media", "must start with s3://"),
    ("127.0.0.1:8333/media", "must start with s3://"),
    ("s3://127.0.0.1:8333/media", "give the access key and the secret"),
    ("s3://key@127.0.0.1:8333/media", "give the access key and the secret"),
    (f"s3://key:{SECRET}/x@127.0.0.1:8333/media", "percent-encode the key and secret"),
    (f"s3://key:{SECRET}#x@127.0.0.1:8333/media", "percent-encode the key and secret"),
    (f"s3://key:{SECRET}@127.0.0.1:eighty/media", "the port must be a number"),
    (f"s3://key:{SECRET}@127.0.0.1:70000/media", "the port must be a number"),
    (f"s3://key:{SECRET}@:8333/media", "give the host"),
    (f"s3://key:{SECRET}@127.0.0.1:8333", "give the bucket name"),
    (f"s3://key:{SECRET}@127.0.0.1:8333/media/films", "the path must be one bucket name"),
    (f"s3://key:{SECRET}@127.0.0.1:8333/Media", "'Media' is not a valid bucket name"),
    (f"s3://key:{SECRET}@127.0.0.1:8333/me", "'me' is not a valid bucket name"),
    (f"s3://key:{SECRET}@127.0.0.1:8333/my..media", "'my..media' is not a valid bucket name"),
    (f"s3://key:{SECRET}@127.0.0.1:8333/media?secure=no", "secure must be 0 (HTTP) or 1 (HTTPS), not 'no'"),
    (f"s3://key:{SECRET}@127.0.0.1:8333/media?region=", "region is empty"),
    (f"s3://key:{SECRET}@127.0.0.1:8333/media?bucket=x&acl=public",
     "unknown option acl, bucket (known: region, secure)"),
    (f"s3://key:{SECRET}@127.0.0.1:8333/media?secure=0&secure=1", "secure is given more than once"),
    (f"s3://key:{SECRET}@127.0.0.1:8333/media?secure", "the query must be name=value pairs"),
])
def test_a_bad_url_says_what_is_wrong_and_never_shows_the_secret(url, message):
    with pytest.raises(ImproperlyConfigured) as raised:
        media_storage_from_url(url)
    text = str(raised.value)
    assert text.startswith("MEDIA_STORAGE_URL: ") and message in text, text
    assert "Expected e.g. s3://ACCESS_KEY:SECRET@127.0.0.1:8333/bucket-name?region=us-east-1&secure=0" in text
    assert SECRET not in text


def python(*args: str, **env: str) -> subprocess.CompletedProcess:
    """Python in a fresh process with the real settings and `env`."""
    base = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "MEDIA_STORAGE_URL")}
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          env={**base, "DJANGO_SETTINGS_MODULE": "restoration_site.settings", **env})


def test_the_settings_read_the_url_and_the_expiry_from_the_environment():
    result = python("-c", "from django.core.files.storage import storages; s = storages['default']; "
                    "print(type(s).__name__, s.bucket_name, s.endpoint_url, s.querystring_expire)",
                    MEDIA_STORAGE_URL="s3://key:secret@127.0.0.1:8333/media?secure=0", MEDIA_URL_EXPIRE_SECONDS="90")
    assert result.stdout.split() == ["S3Storage", "media", "http://127.0.0.1:8333", "90"], result.stderr


def test_a_bad_url_stops_the_site_from_starting():
    result = python("manage.py", "check", MEDIA_STORAGE_URL=f"s3://key:{SECRET}@127.0.0.1:8333/Media")
    assert result.returncode != 0
    assert "MEDIA_STORAGE_URL: 'Media' is not a valid bucket name" in result.stderr
    assert SECRET not in result.stderr
