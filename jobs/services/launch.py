"""Launching a job: the recipe checked, the owner's limits, the queue (GPU or CPU), the source
file checked by decoding it and stored, the row created and its message sent after commit."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from engine.errors import RecipeError
from engine.io.probe import MediaInfo
from engine.recipes import load_recipe, recipe_from_dict, recipe_needs_gpu
from jobs.models import ACTIVE_STATES, RETRYABLE_STATES, Job, JobAsset, JobEvent, job_file_path
from jobs.selectors import gpu_seconds_used_today, gpu_workers_online, jobs_active_count, user_priority
from jobs.services.assets import (job_assets_attach, job_assets_copy, job_assets_discard, recipe_with_asset_paths,
                                  recipe_without_files)
from jobs.services.dispatch import job_enqueue
from jobs.services.lifecycle import job_event_record
from restoration_site.errors import ApplicationError
from restoration_site.media import media_delete_folder, media_local_file
from restoration_site.uploads import inspect_media, spool_upload, store_checked_media


def recipe_resolve(name: str = "", recipe: dict | None = None, assets: Sequence[JobAsset] = ()) -> dict:
    """A preset by name, or a recipe given in full (e.g. a version's, to restore again), validated
    as the engine will run it, with `assets`; what is stored names no file."""
    try:
        given = recipe if recipe is not None else load_recipe(name).as_dict()
        # The engine checks that each picture is a readable file: local copies (cached on S3).
        paths = [(asset.role, asset.frame, str(_local_file(asset.file.name, _asset_gone(asset))))
                 for asset in assets]
        resolved = recipe_from_dict(recipe_with_asset_paths(given, paths)).as_dict()
    except RecipeError as exc:
        raise ApplicationError(str(exc), extra={"field": "recipe"}) from None
    return recipe_without_files(resolved)


def _asset_gone(asset: JobAsset) -> ApplicationError:
    return ApplicationError(_("A picture sent with the launch is gone; add it again."), status_code=409,
                            extra={"field": asset.role})


def _local_file(name: str, missing: ApplicationError) -> Path:
    """A local file to read with the bytes of stored `name`; `missing` when it is not in the store."""
    try:
        return media_local_file(name)
    except FileNotFoundError:
        raise missing from None


def _check_active_limit(owner, *, lock: bool = False) -> None:
    """Refuse a launch when the owner already has JOB_MAX_ACTIVE_PER_USER jobs queued or running.

    With `lock` (inside the transaction that inserts the job) the owner's row is locked first, so
    that concurrent launches by one user count one after another: on PostgreSQL SELECT ... FOR
    UPDATE; SQLite's IMMEDIATE transactions already serialize writers. Without it, a cheap early
    refusal before any file is stored."""
    limit = settings.JOB_MAX_ACTIVE_PER_USER
    if owner.is_staff:
        return
    if lock:
        get_user_model().objects.select_for_update().filter(pk=owner.pk).first()
    active = jobs_active_count(owner)
    if active >= limit:
        raise ApplicationError(ngettext("You have %(n)d job queued or running; at most %(limit)d at once. Cancel "
                                        "one or wait for one to finish.",
                                        "You have %(n)d jobs queued or running; at most %(limit)d at once. Cancel "
                                        "one or wait for one to finish.", active) % {"n": active, "limit": limit},
                               status_code=429)


def _choose_queue(*, owner, recipe: dict, allow_cpu: bool) -> str:
    """The queue a recipe goes to: `gpu` when it needs one and a GPU worker and the owner's GPU
    time allow it; else `cpu` if the owner accepts a slower run, else a refusal saying why."""
    if not recipe_needs_gpu(recipe):
        return "cpu"
    online = gpu_workers_online() > 0
    budget_left = owner.is_staff or gpu_seconds_used_today(owner) < settings.JOB_GPU_SECONDS_PER_DAY
    if online and budget_left:
        return "gpu"
    if allow_cpu:
        return "cpu"
    if not online:
        raise ApplicationError(_("This recipe needs a GPU and no GPU worker is online. You may run it on the CPU "
                                 "instead (much slower), or try again later."),
                               status_code=409, extra={"field": "allow_cpu"})
    raise ApplicationError(_("You have used today's GPU time (%(minutes)d minutes a day); it renews at midnight. "
                             "You may run this job on the CPU instead (much slower).")
                           % {"minutes": settings.JOB_GPU_SECONDS_PER_DAY // 60},
                           status_code=429, extra={"field": "allow_cpu"})


def _check_same_recipe_running(*, owner, item, recipe: dict) -> None:
    """Ask before a second run of the same recipe on the same item: it is usually a double click."""
    active = Job.objects.filter(owner=owner, item=item, state__in=ACTIVE_STATES)
    same = next((job for job in active if job.recipe == recipe), None)
    if same is not None:
        raise ApplicationError(_("You already have a job with this recipe on this item (%(state)s). Launch another "
                                 "one anyway?") % {"state": same.get_state_display().lower()},
                               status_code=409, extra={"confirm_required": True, "job": str(same.id)})


def job_create_from_upload(*, owner, upload, recipe_name: str = "", recipe: dict | None = None,
                           assets: Sequence[JobAsset] = (), allow_cpu: bool = False) -> Job:
    """Check the upload by decoding it, store it, and queue a job with a preset or a full recipe
    and the pictures given with it (`assets`, stored and not yet attached). Nothing new is kept on
    failure (the assets stay for the caller to keep or discard)."""
    _check_active_limit(owner)
    recipe = recipe_resolve(recipe_name, recipe, assets)
    queue = _choose_queue(owner=owner, recipe=recipe, allow_cpu=allow_cpu)
    spooled = spool_upload(upload)
    try:
        info = inspect_media(spooled)
        return _job_create(owner=owner, source_path=spooled, info=info, source_name=upload.name or "", recipe=recipe,
                           assets=assets, queue=queue)
    finally:
        spooled.unlink(missing_ok=True)


def job_create_for_item(*, owner, item, recipe_name: str = "", recipe: dict | None = None,
                        assets: Sequence[JobAsset] = (), allow_cpu: bool = False, confirm: bool = False) -> Job:
    """Queue a job on a gallery item's original file, with a preset or a full recipe and `assets`.

    The same recipe on the same item while one of the owner's runs is queued or running is refused
    with a 409 unless `confirm`.
    """
    _check_active_limit(owner)
    recipe = recipe_resolve(recipe_name, recipe, assets)
    if not confirm:
        _check_same_recipe_running(owner=owner, item=item, recipe=recipe)
    queue = _choose_queue(owner=owner, recipe=recipe, allow_cpu=allow_cpu)
    path = _local_file(item.media.name, ApplicationError(_("This item's file is missing."), status_code=409))
    info = inspect_media(path)
    return _job_create(owner=owner, source_path=path, info=info, source_name=PurePosixPath(item.media.name).name,
                       recipe=recipe, item=item, assets=assets, queue=queue)


def _job_create(*, owner, source_path: Path, info: MediaInfo, source_name: str, recipe: dict, queue: str,
                assets: Sequence[JobAsset] = (), item=None) -> Job:
    job = Job(owner=owner, item=item, kind=info.kind, recipe=recipe, source_name=source_name[:255],
              source_info=info.as_dict(), progress={"phase": "queued", "frame": 0, "total": info.frame_count},
              queue=queue, priority=user_priority(owner))
    # The job's own copy, under its new id: the item's original or an old job's file may go.
    job.source.name = store_checked_media(source_path, info, job_file_path(job, "source"))
    try:
        job.full_clean()
        with transaction.atomic():
            _check_active_limit(owner, lock=True)  # counted again, with the owner's row locked, before the insert
            job.save()
            job_assets_attach(assets=assets, job=job)
            job_event_record(job, JobEvent.Kind.QUEUED, queue=queue)
            transaction.on_commit(lambda: job_enqueue(job))
    except BaseException:
        media_delete_folder(job_file_path(job, ""))  # the new job's folder holds only this source
        raise
    return job


def job_retry(*, job: Job) -> Job:
    """Run a failed or cancelled job again, as a new job on the same file with the same recipe."""
    if job.state not in RETRYABLE_STATES:
        raise ApplicationError(_("Only a failed or cancelled job can be run again."), status_code=409)
    _check_active_limit(job.owner)
    # A job the owner chose to run on the CPU may again; a GPU one needs GPU time left.
    queue = _choose_queue(owner=job.owner, recipe=job.recipe, allow_cpu=job.queue == "cpu")
    info = MediaInfo(**job.source_info)
    source = _local_file(job.source.name, ApplicationError(_("This job's file is gone: upload it again."),
                                                           status_code=409))
    assets = job_assets_copy(assets=job.assets.all(), owner=job.owner)
    try:
        again = _job_create(owner=job.owner, source_path=source, info=info, source_name=job.source_name,
                            recipe=job.recipe, assets=assets, item=job.item, queue=queue)
    except BaseException:
        job_assets_discard(assets)
        raise
    job_event_record(job, JobEvent.Kind.RETRIED, new_job=str(again.id))
    return again


def version_pictures_withheld(*, version, owner) -> int:
    """How many of the pictures given to the job that made `version` (reference photos of people,
    scribbles, colour references) "restore again" by `owner` leaves out: those of another person.
    A published version carries its recipe and its result, never its author's pictures."""
    if version.job_id is None:
        return 0
    return JobAsset.objects.filter(job_id=version.job_id).exclude(owner=owner).count()


def job_create_from_version(*, owner, version, allow_cpu: bool = False, confirm: bool = False) -> Job:
    """"Restore again": a job on the version's item with the exact recipe that made the version.

    The pictures its job was given (reference photos, scribbles) travel only when they are the new
    owner's own: another person's files are not shared with a copy of their recipe, and a job reads
    only its owner's files. A faces recipe then runs without reference photos (the caller says so:
    version_pictures_withheld); a colorize recipe that needs its scribbles is refused.
    """
    made_by = version.job
    assets = job_assets_copy(assets=made_by.assets.all(), owner=owner) if made_by is not None else []
    try:
        return job_create_for_item(owner=owner, item=version.item, recipe=version.recipe, assets=assets,
                                   allow_cpu=allow_cpu, confirm=confirm)
    except ApplicationError as exc:
        if exc.extra.get("field") == "recipe" and made_by is not None and made_by.owner_id != owner.pk:
            raise ApplicationError(_("This version was made with its author's own pictures (scribbles or color "
                                     "references), which are not shared. Use Colorize to give your own."),
                                   extra={"field": "recipe"}) from None
        raise
    finally:
        if assets:
            job_assets_discard(assets)  # only those a refused launch left unattached
