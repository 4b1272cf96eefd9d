"""Checking an uploaded file by decoding it, and storing it under a server-made name; decoding an
uploaded picture given with a launch."""
from __future__ import annotations

import logging
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from PIL import Image

from engine.errors import UnsupportedMedia
from engine.io import probe
from engine.io.image import read_image, write_image
from engine.io.probe import MediaInfo, verify_streams
from restoration_site.errors import DISK_FULL_ERRNOS, ApplicationError, disk_full_error
from restoration_site.media import media_save, scratch_dir

logger = logging.getLogger(__name__)

# The engine speaks English and knows nothing of Django; its messages a user can see are
# listed here so that makemessages extracts them, and translated where they are shown.
ENGINE_MESSAGES = [
    gettext_noop("The file is empty."),
    gettext_noop("The file is not an image or video we can read."),
    gettext_noop("The video stream is damaged: no frame could be decoded."),
    gettext_noop("The image has too many pixels to be decoded safely."),
    gettext_noop("The video is incomplete or damaged: part of its data is missing or unreadable."),
]

# Container -> the suffix a stored copy gets; images are re-encoded to PNG (drops EXIF/GPS).
VIDEO_SUFFIX = {"mov": ".mp4", "matroska": ".mkv", "avi": ".avi"}


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def spool_upload(upload) -> Path:
    """Copy an uploaded file to a private temporary file, refusing it past UPLOAD_MAX_BYTES."""
    if upload.size is not None and upload.size > settings.UPLOAD_MAX_BYTES:
        raise ApplicationError(_("The file is %(size)s; the limit is %(limit)s.") % {
            "size": _megabytes(upload.size), "limit": _megabytes(settings.UPLOAD_MAX_BYTES)})
    with disk_full_refused():
        handle = tempfile.NamedTemporaryFile(dir=scratch_dir("uploads"), prefix="upload-", delete=False)
        try:
            with handle:
                for chunk in upload.chunks():
                    handle.write(chunk)
        except BaseException:
            Path(handle.name).unlink(missing_ok=True)
            raise
    return Path(handle.name)


@contextmanager
def disk_full_refused():
    """Within it, a write that finds the disk full becomes ApplicationError(507) saying so (the
    caller removes what it wrote); other errors pass through as they are."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in DISK_FULL_ERRNOS:
            raise
        logger.error("Out of disk space while taking an upload: %s", exc)
        raise disk_full_error() from exc


def inspect_media(path: Path) -> MediaInfo:
    """Decode `path` and check it against the caps; ApplicationError says what is wrong. A video
    within the caps then has every packet read and its last seconds decoded, so a file cut short
    or with a damaged end is refused here rather than found out by a job (see README)."""
    try:
        info = probe(path, max_pixels=settings.UPLOAD_MAX_PIXELS)
    except UnsupportedMedia as exc:
        raise _unusable(exc) from None
    if info.kind == "video":
        if info.pixels > settings.UPLOAD_MAX_VIDEO_PIXELS:
            raise ApplicationError(_("The video is %(w)dx%(h)d; at most %(max)s pixels per frame are allowed.") % {
                "w": info.width, "h": info.height, "max": f"{settings.UPLOAD_MAX_VIDEO_PIXELS:,}"})
        if info.duration > settings.UPLOAD_MAX_SECONDS:
            raise ApplicationError(_("The video lasts %(d).0f s; at most %(max).0f s are allowed.") % {
                "d": info.duration, "max": settings.UPLOAD_MAX_SECONDS})
        try:
            verify_streams(path)
        except UnsupportedMedia as exc:
            raise _unusable(exc) from None
    return info


def _unusable(exc: UnsupportedMedia) -> ApplicationError:
    return ApplicationError(_("This file cannot be used: %(reason)s Allowed: PNG, JPEG, TIFF or WebP images; "
                              "MP4, MOV, MKV, WebM or AVI videos.") % {"reason": _(str(exc))})


def store_checked_media(path: Path, info: MediaInfo, name: str) -> str:
    """Store a checked local file in the media store as `name` plus a suffix: images re-encoded to
    PNG (which drops EXIF and GPS), videos streamed as they are. Returns the stored name; a full
    disk is ApplicationError(507), with nothing stored."""
    with disk_full_refused():  # media_save removes what it stored of a save cut short
        if info.kind != "image":
            return media_save(path, name + VIDEO_SUFFIX.get(info.format, ".mp4"))
        with tempfile.TemporaryDirectory(dir=scratch_dir("uploads")) as folder:
            png = Path(folder) / "picture.png"
            write_image(png, read_image(path))
            return media_save(png, name + ".png")


def decode_uploaded_picture(upload, field_name: str, *, rgba: bool = False):
    """An uploaded picture (a reference photo, a scribble) decoded, never trusted by its name, as
    HxWx3 RGB (or HxWx4 RGBA with `rgba`) uint8. ApplicationError names `field_name` when it is
    too large, unreadable or a video."""
    limit = settings.UPLOAD_MAX_PICTURE_BYTES
    if upload.size is not None and upload.size > limit:
        raise ApplicationError(_("%(field)s: the image is %(size)s; the limit is %(limit)s.") % {
            "field": field_name, "size": _megabytes(upload.size), "limit": _megabytes(limit)},
            extra={"field": field_name})
    spooled = spool_upload(upload)
    try:
        try:
            info = inspect_media(spooled)
        except ApplicationError as exc:
            raise ApplicationError(f"{field_name}: {exc.message}", extra={"field": field_name}) from None
        if info.kind != "image":
            raise ApplicationError(_("%(field)s: this must be a picture (PNG, JPEG, TIFF or WebP), not a video.")
                                   % {"field": field_name}, extra={"field": field_name})
        if rgba:
            with Image.open(spooled) as img:
                return np.asarray(img.convert("RGBA")).copy()
        return read_image(spooled)
    finally:
        spooled.unlink(missing_ok=True)
