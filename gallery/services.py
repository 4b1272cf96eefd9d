"""Every write in the gallery: items, versions (homework and published job results), votes,
comments, reports, moderation. Views and the API only call these."""
from __future__ import annotations

import logging
import math
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path, PurePosixPath

from celery import current_app
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models.signals import post_delete
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from engine.io import probe, read_image, read_video_frames, transcode_for_web
from engine.errors import EngineError
from engine.pipeline import jpeg_preview
from gallery import selectors
from gallery.models import Comment, Item, Licence, Partner, Report, Version, Vote, item_file_path, version_file_path
from restoration_site.errors import ApplicationError
from restoration_site.media import (MEDIA_STORE_ERRORS, media_delete, media_fetch, media_local_root, media_save,
                                    media_save_bytes, scratch_dir)
from restoration_site.uploads import inspect_media, spool_upload, store_checked_media

logger = logging.getLogger(__name__)

def _require_staff(user) -> None:
    if not (user.is_authenticated and user.is_staff):
        raise ApplicationError(_("Only staff can do this."), status_code=403)


def _media_kind_for(item: Item) -> str:
    return "video" if item.kind == Item.Kind.FILM else "image"


POSTER_WIDTH = 640


def media_poster_jpeg(media: Path, kind: str) -> bytes:
    """A small JPEG for grids and players: a video's first frame, or an image scaled down (a scan
    can be tens of megabytes; grids must not load it)."""
    first = next(iter(read_video_frames(media))) if kind == "video" else read_image(media)
    return jpeg_preview(first, min(POSTER_WIDTH, first.shape[1]), quality=85)


def poster_name(media_name: str) -> str:
    """The stored name of a media file's poster: `<stem>-poster.jpg` beside it."""
    media = PurePosixPath(media_name)
    return str(media.with_name(f"{media.stem}-poster.jpg"))


def _schedule_derived_media(obj: Item | Version) -> None:
    """After the row is saved, a worker makes its poster and, when browsers cannot play the video
    (ProRes, HEVC, 10-bit, PCM audio), an H.264 copy: decoding and encoding stay out of the request.
    Robust: a broker that is down must not turn a stored upload into an error; the page shows a
    placeholder until the poster exists.

    The task is looked up by the name gallery.tasks registers it under (GalleryConfig.ready imports
    that module): the tasks call these services, so importing them here would make a cycle."""
    make_derived_media = current_app.tasks["gallery.make_derived_media"]
    transaction.on_commit(lambda: make_derived_media.delay(obj._meta.label, obj.pk), robust=True)


def _readable_copy(name: str, folder: Path) -> Path:
    """A local file with stored `name`'s bytes: the stored file itself on the local backend, else a
    download into `folder` (the worker may be another machine; the caller removes `folder`)."""
    local = media_local_root(name)
    return local if local is not None else media_fetch(name, folder / PurePosixPath(name).name)


def _attach_derived(obj: Item | Version, field: str, stored: str) -> None:
    """Point `obj`'s empty `field` at `stored`, unless another delivery of the task did it first or
    the media was replaced meanwhile: then `stored` is not wanted and goes."""
    attached = type(obj).objects.filter(pk=obj.pk, media=obj.media.name, **{field: ""}).update(**{field: stored})
    if attached:
        setattr(obj, field, stored)
    else:
        media_delete(stored)


def media_make_derived(*, model_label: str, pk: int) -> None:
    """Write the poster and, when needed, the browser-playable copy of an item's or version's media
    (run by a Celery worker, on any machine); a second run does nothing. The work is done on local
    files in a scratch folder, removed afterwards whatever happens."""
    obj = apps.get_model(model_label).objects.filter(pk=pk).first()
    if obj is None:
        return
    with tempfile.TemporaryDirectory(dir=scratch_dir("derived")) as work:
        source = _readable_copy(obj.media.name, Path(work))
        info = probe(source)
        if not obj.poster:
            stored = media_save_bytes(media_poster_jpeg(source, info.kind), poster_name(obj.media.name))
            _attach_derived(obj, "poster", stored)
        if info.kind == "video" and not info.browser_playable and not obj.web_media:
            target = Path(work) / "web.mp4"
            transcode_for_web(source, target)
            stored = media_save(target, str(PurePosixPath(obj.media.name).with_name("web.mp4")))
            _attach_derived(obj, "web_media", stored)


# The file fields of each model whose rows own their files.
MEDIA_FIELDS = {Item: ("media", "web_media", "poster"), Version: ("media", "web_media", "poster"),
                Partner: ("logo",)}


def _media_delete_with_row(sender, instance, **kwargs) -> None:
    """A deleted item, version or partner takes its files along (the admin deletes rows, and an
    item's versions go with it), once the deletion is committed: a rollback keeps both."""
    names = [getattr(instance, field).name for field in MEDIA_FIELDS[sender] if getattr(instance, field)]
    transaction.on_commit(lambda: media_delete(*names))


# Connected here, where the rule lives; GalleryConfig.ready imports this module (through gallery.tasks).
post_delete.connect(_media_delete_with_row, sender=Item, dispatch_uid="gallery.item_media_delete")
post_delete.connect(_media_delete_with_row, sender=Version, dispatch_uid="gallery.version_media_delete")
post_delete.connect(_media_delete_with_row, sender=Partner, dispatch_uid="gallery.partner_media_delete")


def media_derived_sweep(*, older_than_seconds: int = 120, limit: int = 20) -> int:
    """Make the posters that are still missing a while after upload (the broker was down, or the
    task failed); returns how many media were done. Run periodically by Celery beat."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    done = 0
    for model in (Item, Version):
        for pk in model.objects.filter(poster="", created_at__lt=cutoff).exclude(media="").values_list(
                "pk", flat=True)[:limit]:
            try:
                media_make_derived(model_label=model._meta.label, pk=pk)
                done += 1
            except (EngineError, *MEDIA_STORE_ERRORS):
                logger.warning("Could not make the poster of %s %s", model._meta.label, pk, exc_info=True)
    return done


def item_create(*, uploader, upload, kind: str, title: str, **fields) -> Item:
    """Add a historical item (staff only)."""
    _require_staff(uploader)
    base = slugify(fields.pop("slug", "") or title)[:40] or "item"
    slug, n = base, 1
    while Item.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    item = Item(slug=slug, kind=kind, title=title, uploader=uploader, **fields)
    return item_save_with_media(item=item, upload=upload)


def item_save_with_media(*, item: Item, upload) -> Item:
    """Save `item` with `upload` as its original: checked by decoding it, stored under a server-made
    name (images re-encoded, which drops EXIF and GPS), with its technical facts; a worker then makes
    its poster and, when browsers cannot play it, a web copy. On failure nothing new is kept and an
    existing item keeps its files; on success the files it replaced are removed."""
    spooled = spool_upload(upload)
    try:
        info = inspect_media(spooled)
        expected = "video" if item.kind == Item.Kind.FILM else "image"
        if info.kind != expected:
            raise ApplicationError(_("A film clip needs a video file.") if item.kind == Item.Kind.FILM
                                   else _("A photograph or painting needs an image file."))
        # A fresh name for every upload, so the files an existing item points to stay until replaced.
        stem = f"original-{uuid.uuid4().hex[:8]}"
        stored = store_checked_media(spooled, info, item_file_path(item, stem))
    finally:
        spooled.unlink(missing_ok=True)
    # The stored names come from the row: the admin's form has already put the upload on `item.media`.
    saved = Item.objects.filter(pk=item.pk).values_list(*MEDIA_FIELDS[Item]).first() if item.pk else None
    replaced = [name for name in saved or () if name]
    try:
        item.media, item.media_info, item.web_media, item.poster = stored, info.as_dict(), "", ""
        item.full_clean()
        with transaction.atomic():
            item.save()
            _schedule_derived_media(item)
    except Exception:
        media_delete(stored)
        raise
    # Only once the new name is committed: a caller's transaction that rolls back keeps the old one.
    transaction.on_commit(lambda: media_delete(*replaced))
    return item


def homework_remaining_today(user) -> int:
    since = timezone.now() - timedelta(days=1)
    used = Version.objects.filter(author=user, is_homework=True, created_at__gte=since).count()
    return max(0, settings.HOMEWORK_DAILY_CAP - used)


def homework_hand_in(*, author, item: Item, upload, title: str = "", description: str = "",
                     licence: str = Licence.CC_BY, ai_color: bool = False, parent: Version | None = None) -> Version:
    """A community member's own restoration of `item` (交作业), made anywhere, checked like any upload."""
    if not author.is_authenticated:
        raise ApplicationError(_("Log in to hand in homework."), status_code=403)
    if homework_remaining_today(author) <= 0:
        raise ApplicationError(_("You have handed in %(cap)d pieces of homework in the last 24 hours; "
                                 "that is the daily limit.") % {"cap": settings.HOMEWORK_DAILY_CAP}, status_code=429)
    if parent is not None:
        selectors.version_require_shown(parent, author)
        if parent.item_id != item.pk:
            raise ApplicationError(_("The parent version belongs to another item."))
    spooled = spool_upload(upload)
    try:
        info = inspect_media(spooled)
        if info.kind != _media_kind_for(item):
            raise ApplicationError(_("This item is a film clip: hand in a video.") if item.kind == Item.Kind.FILM
                                   else _("This item is a still picture: hand in an image."))
        homework_require_matching(item, info)
        version = Version(item=item, author=author, parent=parent, title=title[:200], description=description,
                          licence=licence, ai_color=ai_color, is_homework=True, media_info=info.as_dict())
        stored = store_checked_media(spooled, info, version_file_path(version, "media"))
    finally:
        spooled.unlink(missing_ok=True)
    with transaction.atomic():
        # Count again with the author's row locked, so parallel uploads cannot pass the cap together.
        get_user_model().objects.select_for_update().filter(pk=author.pk).first()
        if homework_remaining_today(author) <= 0:
            media_delete(stored)
            raise ApplicationError(_("You have handed in %(cap)d pieces of homework in the last 24 hours; "
                                     "that is the daily limit.") % {"cap": settings.HOMEWORK_DAILY_CAP},
                                   status_code=429)
        return _save_version(version, stored)


# How far a restoration may stray from its item and still be the same picture: its proportions
# within 1% (a border trimmed by a pixel or two, a size rounded to even), a clip's length within
# two frames or a tenth of a second (an encoder adds or drops a frame at the end).
ASPECT_TOLERANCE = 0.01
DURATION_TOLERANCE_FRAMES = 2
DURATION_TOLERANCE_SECONDS = 0.1


def _aspect_words(width: int, height: int) -> str:
    divisor = math.gcd(width, height) or 1
    ratio = f"{width // divisor}:{height // divisor}"
    return f"{width}x{height} ({ratio})" if len(ratio) <= 7 else f"{width}x{height} ({width / height:.2f}:1)"


def homework_require_matching(item: Item, info) -> None:
    """Homework is a restoration of this item: the same proportions and, for a clip, the same length.
    Items whose facts were not recorded are not checked."""
    known = item.media_info or {}
    width, height = known.get("width") or 0, known.get("height") or 0
    if width and height and info.width and info.height:
        if abs((info.width / info.height) / (width / height) - 1) > ASPECT_TOLERANCE:
            raise ApplicationError(
                _("This file does not have the item's proportions: the item is %(item)s, the file is %(file)s. "
                  "Hand in the whole picture, restored, without cropping or stretching it.")
                % {"item": _aspect_words(width, height), "file": _aspect_words(info.width, info.height)},
                extra={"field": "file"})
    duration, fps = known.get("duration") or 0.0, known.get("fps") or 0.0
    if info.kind == "video" and duration and info.duration:
        tolerance = max(DURATION_TOLERANCE_FRAMES / fps if fps else 0.0, DURATION_TOLERANCE_SECONDS)
        if abs(info.duration - duration) > tolerance:
            raise ApplicationError(
                _("This clip is not as long as the item: the item lasts %(item).2f s, the file %(file).2f s. "
                  "Hand in the whole clip, restored (a different frame rate is fine).")
                % {"item": duration, "file": info.duration}, extra={"field": "file"})


def _save_version(version: Version, stored: str) -> Version:
    try:
        version.media.name = stored
        version.full_clean()
        with transaction.atomic():
            version.save()
            _schedule_derived_media(version)
    except Exception:
        media_delete(stored)
        raise
    return version


def version_create_from_file(*, item: Item, author, path: Path, media_info: dict, recipe: dict, ai_color: bool,
                             title: str = "", licence: str = Licence.CC_BY, job=None) -> Version:
    """A version of `item` from a finished restoration's local file at `path` (copied into the media
    store, so the file may go), with the recipe that made it; the jobs app publishes job results
    through it."""
    version = Version(item=item, author=author, job=job, title=title[:200], licence=licence, recipe=recipe,
                      ai_color=ai_color, media_info=media_info)
    stored = media_save(path, version_file_path(version, "media" + Path(path).suffix))
    return _save_version(version, stored)


def vote_toggle(*, user, version: Version) -> bool:
    """Vote for a version, or take the vote back; returns whether the user now votes for it."""
    if not user.is_authenticated:
        raise ApplicationError(_("Log in to vote."), status_code=403)
    selectors.version_require_shown(version, user)
    if version.is_hidden:  # staff see it, but its votes stay as they were
        raise ApplicationError(_("This version was hidden by a moderator."), status_code=409)
    deleted, _ignored = Vote.objects.filter(user=user, version=version).delete()
    if deleted:
        return False
    try:
        with transaction.atomic():
            Vote.objects.create(user=user, version=version)
    except IntegrityError:  # a double click raced us: the vote is there
        pass
    return True


def comment_create(*, author, item: Item, body: str, version: Version | None = None,
                   parent: Comment | None = None, at_seconds: float | None = None) -> Comment:
    """A comment on `item`, about one of its versions or not, or a reply to one of its comments:
    only about a version the author may see and in answer to a comment they may see (hidden ones
    are for staff, deleted ones for nobody); anything else is NotFound, as reading it is."""
    if not author.is_authenticated:
        raise ApplicationError(_("Log in to comment."), status_code=403)
    if version is not None:
        selectors.version_require_shown(version, author)
    if parent is not None:
        selectors.comment_require_shown(parent, author)
        if parent.parent_id is not None:
            parent = selectors.comment_require_shown(parent.parent, author)  # one level of replies: same thread
    body = body.strip()
    if not body:
        raise ApplicationError(_("The comment is empty."))
    if parent is not None and parent.item_id != item.pk:
        raise ApplicationError(_("That comment belongs to another item."))
    if version is not None and version.item_id != item.pk:
        raise ApplicationError(_("That version belongs to another item."))
    if at_seconds is not None:
        comment_require_moment(item, at_seconds)
    comment = Comment(item=item, version=version, parent=parent, author=author, body=body, at_seconds=at_seconds)
    comment.full_clean()
    comment.save()
    return comment


def comment_require_moment(item: Item, at_seconds: float) -> None:
    """A comment may point at a moment of a film clip, within the clip."""
    if item.kind != Item.Kind.FILM:
        raise ApplicationError(_("Only a film clip's comments can point at a moment."), extra={"field": "at_seconds"})
    duration = (item.media_info or {}).get("duration") or 0.0
    if not math.isfinite(at_seconds) or at_seconds < 0 or (duration and at_seconds > duration):
        raise ApplicationError(_("The moment must be within the clip (0 to %(end)s).") % {"end": moment_text(duration)},
                               extra={"field": "at_seconds"})


def moment_text(seconds: float) -> str:
    """1:23, or 1:02:03 past an hour."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def moment_parse(text: str) -> float:
    """Seconds from "83", "83.5", "1:23" or "1:02:03"; ValueError for anything else."""
    parts = text.strip().split(":")
    if not 1 <= len(parts) <= 3 or any(not part.strip() for part in parts):
        raise ValueError(text)
    seconds = float(parts[-1])
    whole = [int(part) for part in parts[:-1]]
    if len(parts) > 1 and not 0 <= seconds < 60 or any(n < 0 for n in whole) or (len(parts) == 3 and whole[1] >= 60):
        raise ValueError(text)
    total = seconds + sum(n * 60 ** (len(whole) - i) for i, n in enumerate(whole))
    if not math.isfinite(total) or total < 0:
        raise ValueError(text)
    return total


def comment_edit(*, user, comment: Comment, body: str) -> Comment:
    if comment.author_id != user.pk:
        raise ApplicationError(_("You can only edit your own comments."), status_code=403)
    if comment.is_deleted:
        raise ApplicationError(_("This comment was deleted."), status_code=409)
    body = body.strip()
    if not body:
        raise ApplicationError(_("The comment is empty."))
    comment.body, comment.edited_at = body, timezone.now()
    comment.full_clean()
    comment.save(update_fields=["body", "edited_at", "changed_at"])
    return comment


def comment_delete(*, user, comment: Comment) -> None:
    """Soft delete (replies stay readable); by the author or staff."""
    if comment.author_id != user.pk and not user.is_staff:
        raise ApplicationError(_("You can only delete your own comments."), status_code=403)
    comment.is_deleted = True
    comment.save(update_fields=["is_deleted", "changed_at"])


def comment_hide(*, moderator, comment: Comment, hidden: bool = True) -> None:
    _require_staff(moderator)
    comment.is_hidden = hidden
    comment.save(update_fields=["is_hidden", "changed_at"])


def version_hide(*, moderator, version: Version, hidden: bool = True) -> None:
    """Hide a version from everyone but staff (who see it marked on the item page), or show it again."""
    _require_staff(moderator)
    version.is_hidden = hidden
    version.save(update_fields=["is_hidden"])


def version_feature(*, moderator, version: Version, featured: bool = True) -> None:
    _require_staff(moderator)
    version.featured = featured
    version.save(update_fields=["featured"])


def report_create(*, reporter, reason: str, comment: Comment | None = None, version: Version | None = None) -> Report:
    """Report a comment or a version to the moderators: only one the reporter may see (NotFound
    otherwise, as reading it is)."""
    if not reporter.is_authenticated:
        raise ApplicationError(_("Log in to report."), status_code=403)
    if (comment is None) == (version is None):
        raise ApplicationError(_("Report either a comment or a version."))
    if comment is not None:
        selectors.comment_require_shown(comment, reporter)
    if version is not None:
        selectors.version_require_shown(version, reporter)
    reason = reason.strip()
    if not reason:
        raise ApplicationError(_("Say what is wrong."))
    if Report.objects.filter(reporter=reporter, comment=comment, version=version, resolved_at=None).exists():
        raise ApplicationError(_("You have already reported this; a moderator will look at it."), status_code=409)
    report = Report(reporter=reporter, comment=comment, version=version, reason=reason[:500])
    report.full_clean()
    report.save()
    return report


def report_resolve(*, moderator, report: Report, hide: bool) -> Report:
    """Close a report; with `hide`, the reported comment or version is hidden."""
    _require_staff(moderator)
    if report.resolved_at is not None:
        raise ApplicationError(_("This report is already resolved."), status_code=409)
    with transaction.atomic():
        if hide and report.comment_id:
            comment_hide(moderator=moderator, comment=report.comment)
        if hide and report.version_id:
            version_hide(moderator=moderator, version=report.version)
        report.resolved_at, report.resolved_by = timezone.now(), moderator
        report.resolution = "hidden" if hide else "dismissed"
        report.save(update_fields=["resolved_at", "resolved_by", "resolution"])
    return report
