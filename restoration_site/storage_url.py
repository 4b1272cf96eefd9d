"""The media storage from one URL: local files by default, an S3-compatible bucket when a URL is given.

    s3://ACCESS_KEY:SECRET@host:port/bucket?region=us-east-1&secure=0

The key and secret are percent-encoded when they hold reserved characters. `secure=0` talks plain
HTTP to the endpoint (a SeaweedFS on loopback); the default is HTTPS. Messages about a bad URL
never repeat the secret.
"""
from __future__ import annotations

import re
import urllib.parse

from boto3.s3.transfer import TransferConfig
from django.core.exceptions import ImproperlyConfigured

FILE_SYSTEM = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
EXAMPLE = "s3://ACCESS_KEY:SECRET@127.0.0.1:8333/bucket-name?region=us-east-1&secure=0"
# S3's rules for a bucket name: 3-63 lowercase letters, digits, dots and hyphens, a letter or digit at each end.
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
QUERY_KEYS = {"region", "secure"}
TRANSFER_PART_BYTES = 8 * 1024 * 1024
TRANSFER_CONCURRENCY = 4


def media_storage_from_url(url: str, *, url_expire_seconds: int = 300) -> dict:
    """The STORAGES["default"] entry for MEDIA_STORAGE_URL `url` (empty: files under MEDIA_ROOT).

    With a bucket, file URLs are presigned and last `url_expire_seconds`, and a name already taken
    gets a new one instead of being overwritten.
    """
    if not url.strip():
        return dict(FILE_SYSTEM)
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme != "s3":
        raise bad_url("the URL must start with s3://")
    if "@" in parts.path + parts.query + parts.fragment:
        raise bad_url("percent-encode the key and secret: write / as %2F, ? as %3F, # as %23 and @ as %40")
    if not parts.username or not parts.password:
        raise bad_url("give the access key and the secret before the host, as ACCESS_KEY:SECRET@")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise bad_url("the port must be a number from 1 to 65535")
    if not parts.hostname:
        raise bad_url("give the host of the endpoint, e.g. 127.0.0.1:8333")
    bucket = parts.path.strip("/")
    if not bucket:
        raise bad_url("give the bucket name as the path, e.g. …@127.0.0.1:8333/media")
    if "/" in bucket:
        raise bad_url(f"the path must be one bucket name, not {parts.path!r}")
    if not BUCKET_NAME.fullmatch(bucket) or ".." in bucket:
        raise bad_url(f"{bucket!r} is not a valid bucket name (3 to 63 lowercase letters, digits, dots and "
                      "hyphens, starting and ending with a letter or digit)")
    query = query_options(parts.query)
    secure = query.get("secure", "1")
    if secure not in ("0", "1"):
        raise bad_url(f"secure must be 0 (HTTP) or 1 (HTTPS), not {secure!r}")
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "access_key": urllib.parse.unquote(parts.username),
            "secret_key": urllib.parse.unquote(parts.password),
            "bucket_name": bucket,
            "endpoint_url": f"{'https' if secure == '1' else 'http'}://{parts.netloc.rpartition('@')[2]}",
            "region_name": query.get("region", "us-east-1"),
            "addressing_style": "path",
            "signature_version": "s3v4",
            "default_acl": None,
            "file_overwrite": False,
            "querystring_auth": True,
            "querystring_expire": url_expire_seconds,
            # Memory stays bounded whatever a file's size: reads spool to disk past 8 MB, and an
            # upload holds at most a few 8 MB parts at once.
            "max_memory_size": TRANSFER_PART_BYTES,
            "transfer_config": bounded_transfer_config(),
        },
    }


def bounded_transfer_config() -> TransferConfig:
    config = TransferConfig(multipart_threshold=TRANSFER_PART_BYTES, multipart_chunksize=TRANSFER_PART_BYTES,
                            max_concurrency=TRANSFER_CONCURRENCY)
    # Parts read ahead of their upload (s3transfer's own setting; boto3's constructor does not take it).
    config.max_in_memory_upload_chunks = TRANSFER_CONCURRENCY
    return config


def query_options(query: str) -> dict[str, str]:
    try:
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise bad_url(f"the query must be name=value pairs joined by &, not {query!r}") from None
    names = [name for name, _value in pairs]
    unknown = sorted(set(names) - QUERY_KEYS)
    if unknown:
        raise bad_url(f"unknown option {', '.join(unknown)} (known: {', '.join(sorted(QUERY_KEYS))})")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise bad_url(f"{', '.join(repeated)} is given more than once")
    options = dict(pairs)
    if "region" in options and not options["region"]:
        raise bad_url("region is empty")
    return options


def bad_url(reason: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"MEDIA_STORAGE_URL: {reason}. Expected e.g. {EXAMPLE}")


def media_origin(storage: dict) -> str:
    """The origin (scheme://host:port) that browsers fetch media from for the STORAGES entry `storage`:
    the S3 endpoint's (presigned URLs are path-style, on the endpoint), or "" for files the site serves."""
    endpoint = storage.get("OPTIONS", {}).get("endpoint_url", "")
    if not endpoint:
        return ""
    parts = urllib.parse.urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"
