"""Media files through Django's storage API, the same calls for local files and an S3 bucket.

The apps never build a path under MEDIA_ROOT: they save a local file into the store under a
name, fetch a stored file into a local folder to work on it, delete names or whole folders, and
answer a request for a file. With the local backend a stored file has a path of its own, which
`media_local_file` and `media_response` use instead of copying; with S3 there is none.
"""
from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import shutil
import uuid
from pathlib import Path, PurePosixPath

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.utils.http import content_disposition_header

COPY_CHUNK_BYTES = 4 * 1024 * 1024
# What a store that is down or refusing raises: a local disk's errors, or an S3 endpoint's.
MEDIA_STORE_ERRORS = (OSError, BotoCoreError, ClientError)
RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


def media_local_root(name: str) -> Path | None:
    """The local path of stored `name` when the store is a local folder, else None (S3)."""
    try:
        return Path(default_storage.path(name))
    except NotImplementedError:
        return None


def scratch_dir(*parts: str) -> Path:
    """A folder under SCRATCH_DIR (this machine's own working space), made if missing."""
    folder = Path(settings.SCRATCH_DIR).joinpath(*parts)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def media_save(local_path: str | Path, name: str) -> str:
    """Stream the file at `local_path` into the store as `name` (or a free name beside it, never
    overwriting); returns the stored name. Large files are not held in memory (S3: a multipart
    upload). A failed save leaves no object behind."""
    with open(local_path, "rb") as handle:
        return _save(name, File(handle, name=PurePosixPath(name).name))


def media_replace(local_path: str | Path, name: str) -> str:
    """Store the file at `local_path` as exactly `name`, replacing what was there (for files that
    one writer owns and rewrites, such as a job's checkpoint manifest)."""
    media_delete(name)
    stored = media_save(local_path, name)
    if stored != name:  # another writer took the name between the delete and the save
        media_delete(stored)
        raise FileExistsError(f"{name} was written by someone else meanwhile")
    return stored


def media_save_bytes(data: bytes, name: str) -> str:
    """Store `data` as `name` (or a free name beside it); returns the stored name."""
    return _save(name, ContentFile(data, name=PurePosixPath(name).name))


def _save(name: str, content) -> str:
    # The name is chosen first so that a save cut short can be removed: FileSystemStorage leaves
    # a partial file behind; s3transfer aborts its multipart upload, and a single PUT is whole or absent.
    chosen = default_storage.get_available_name(name)
    made = _missing_local_folders(chosen)
    try:
        return default_storage.save(chosen, content)
    except BaseException:
        media_delete(chosen)
        for folder in made:  # deepest first; the folders this save made, if still empty
            try:
                folder.rmdir()
            except OSError:
                break
        raise


def _missing_local_folders(name: str) -> list[Path]:
    """The folders under MEDIA_ROOT that saving `name` will make (local backend), deepest first."""
    local = media_local_root(name)
    if local is None:
        return []
    root = Path(settings.MEDIA_ROOT).resolve()
    return [folder for folder in local.resolve().parents if root in folder.parents and not folder.exists()]


def media_fetch(name: str, destination: str | Path) -> Path:
    """Copy stored `name` to the local file `destination` (streamed; written under a temporary name
    and renamed, so `destination` is whole or absent). Raises FileNotFoundError when it is missing."""
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(f"{destination.name}.{uuid.uuid4().hex}.partial")
    try:
        with open(partial, "wb") as target:
            if media_local_root(name) is None:
                _s3_download(name, target)
            else:
                with default_storage.open(name, "rb") as source:
                    shutil.copyfileobj(source, target, COPY_CHUNK_BYTES)
        os.replace(partial, destination)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return destination


def _s3_download(name: str, target) -> None:
    """Stream an object into `target` in parts with boto3's transfer manager (the storage's own
    open() would first read the whole object into a temporary file)."""
    storage = default_storage
    try:
        storage.connection.meta.client.download_fileobj(storage.bucket_name, name, target,
                                                        Config=storage.transfer_config)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
            raise FileNotFoundError(name) from None
        raise


def media_local_file(name: str) -> Path:
    """A local file with the bytes of stored `name`, to read: the file itself with the local
    backend, else a copy cached under SCRATCH_DIR/cache (stored names are never overwritten, so a
    copy of the right size is the same file). The cache keeps the copies used last, up to
    SCRATCH_CACHE_MAX_BYTES."""
    local = media_local_root(name)
    if local is not None:
        if not local.is_file():
            raise FileNotFoundError(name)
        return local
    key = hashlib.sha256(name.encode()).hexdigest()[:32]
    cached = scratch_dir("cache", key[:2]) / f"{key}{PurePosixPath(name).suffix}"
    if cached.is_file() and cached.stat().st_size == default_storage.size(name):
        os.utime(cached)  # used now: the last to be evicted
        return cached
    media_fetch(name, cached)
    _trim_cache(keep=cached)
    return cached


def _trim_cache(*, keep: Path) -> None:
    """Delete the least recently used cached copies until the cache fits SCRATCH_CACHE_MAX_BYTES."""
    copies = []
    for path in scratch_dir("cache").glob("*/*"):
        try:
            stat = path.stat()
        except FileNotFoundError:  # another process evicted it meanwhile
            continue
        copies.append((stat.st_mtime, stat.st_size, path))
    total = sum(size for _mtime, size, _path in copies)
    for _mtime, size, path in sorted(copies):
        if total <= settings.SCRATCH_CACHE_MAX_BYTES:
            break
        if path != keep and not path.name.endswith(".partial"):
            path.unlink(missing_ok=True)
            total -= size


def media_exists(name: str) -> bool:
    return bool(name) and default_storage.exists(name)


def media_delete(*names: str) -> None:
    """Delete stored files; a name already gone is no error."""
    for name in names:
        if name:
            default_storage.delete(name)


def media_list(folder: str) -> list[str]:
    """The names of every stored file under `folder` (recursively), sorted."""
    folder = folder.strip("/")
    try:
        directories, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return []
    names = [f"{folder}/{file}" for file in files]
    for directory in directories:
        names.extend(media_list(f"{folder}/{directory}"))
    return sorted(names)


def media_delete_folder(folder: str) -> None:
    """Delete every stored file under `folder`, and the local folder itself with the local backend."""
    if not folder.strip("/"):
        raise ValueError("refusing to delete the whole media store")
    media_delete(*media_list(folder))
    local = media_local_root(folder.strip("/"))
    if local is not None:
        shutil.rmtree(local, ignore_errors=True)


def media_response(request, name: str, *, download_name: str, as_attachment: bool = False):
    """Answer a request for stored `name`: the bytes, honouring one `Range: bytes=a-b` (so video can
    seek), from a local store; a redirect to a presigned URL that works for
    MEDIA_URL_EXPIRE_SECONDS from S3 (the browser then reads the bucket itself, ranges included).
    Callers check permission first. A missing file is a 404."""
    content_type = mimetypes.guess_type(download_name)[0] or "application/octet-stream"
    disposition = content_disposition_header(as_attachment, download_name)
    local = media_local_root(name) if name else None
    if local is None:
        if not media_exists(name):
            raise Http404("The file is missing.")
        url = default_storage.url(name, parameters={"ResponseContentType": content_type,
                                                    "ResponseContentDisposition": disposition})
        response = HttpResponseRedirect(url)
        # The URL carries a signature that expires: neither the browser nor a proxy may keep it.
        response["Cache-Control"] = "private, no-store"
        return response
    if not local.is_file():
        raise Http404("The file is missing.")
    response = _local_file_response(request, local, content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = disposition
    return response


def _local_file_response(request, path: Path, content_type: str):
    size = path.stat().st_size
    match = RANGE_RE.match(request.headers.get("Range", ""))
    if not (match and (match.group(1) or match.group(2))):
        response = FileResponse(open(path, "rb"), content_type=content_type)
        response["Content-Length"] = str(size)
        response["Accept-Ranges"] = "bytes"
        return response
    first, last = match.groups()
    if first:
        start, end = int(first), min(int(last) if last else size - 1, size - 1)
    else:
        start, end = max(0, size - int(last)), size - 1
    if start > end or start >= size:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    response = FileResponse(_Slice(path, start, end - start + 1), status=206, content_type=content_type)
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    return response


class _Slice:
    """A file object that reads at most `length` bytes from `start`."""

    def __init__(self, path: Path, start: int, length: int):
        self._file = open(path, "rb")
        self._file.seek(start)
        self._left = length

    def read(self, size: int = -1) -> bytes:
        size = self._left if size < 0 else min(size, self._left)
        data = self._file.read(size)
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._file.close()
