"""Every write about jobs: create, cancel, claim, run, finish. Views and tasks only call these."""
from __future__ import annotations

import base64
import logging
import shutil
import socket
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from engine.errors import Cancelled, EngineError, RecipeError
from engine.pipeline import Pipeline, ProgressEvent, output_suffix
from engine.io.probe import MediaInfo
from engine.recipes import load_recipe, recipe_from_dict
from jobs.events import send_job_event
from jobs.models import ALLOWED_TRANSITIONS, Job, JobState, job_file_path
from jobs.selectors import job_snapshot
from restoration_site.uploads import inspect_media, spool_upload, store_media
from restoration_site.errors import ApplicationError

logger = logging.getLogger(__name__)


def recipe_resolve(name: str = "", recipe: dict | None = None) -> dict:
    """A preset by name, or a recipe given in full (e.g. a version's, to restore again), validated."""
    try:
        return (recipe_from_dict(recipe) if recipe is not None else load_recipe(name)).as_dict()
    except RecipeError as exc:
        raise ApplicationError(str(exc), extra={"field": "recipe"}) from None


def jobs_active_count(owner) -> int:
    return Job.objects.filter(owner=owner, state__in=[JobState.QUEUED, JobState.RUNNING]).count()


def _check_active_limit(owner) -> None:
    limit = settings.JOB_MAX_ACTIVE_PER_USER
    if not owner.is_staff and jobs_active_count(owner) >= limit:
        raise ApplicationError(_("You have %(n)d jobs queued or running, the most at once; cancel one or wait "
                                 "for one to finish.") % {"n": limit}, status_code=429)


def job_create_from_upload(*, owner, upload, recipe_name: str) -> Job:
    """Check the upload by decoding it, store it, and queue a job. Nothing is kept on failure."""
    _check_active_limit(owner)
    recipe = recipe_resolve(recipe_name)
    spooled = spool_upload(upload)
    try:
        info = inspect_media(spooled)
        return _job_create(owner=owner, source_path=spooled, info=info, source_name=upload.name or "", recipe=recipe)
    finally:
        spooled.unlink(missing_ok=True)


def job_create_for_item(*, owner, item, recipe_name: str = "", recipe: dict | None = None) -> Job:
    """Queue a job on a gallery item's original file, with a preset or a full recipe."""
    _check_active_limit(owner)
    recipe = recipe_resolve(recipe_name, recipe)
    path = Path(item.media.path)
    info = inspect_media(path)
    return _job_create(owner=owner, source_path=path, info=info, source_name=path.name, recipe=recipe, item=item)


def _job_create(*, owner, source_path: Path, info: MediaInfo, source_name: str, recipe: dict, item=None) -> Job:
    job = Job(owner=owner, item=item, kind=info.kind, recipe=recipe, source_name=source_name[:255],
              source_info=info.as_dict(), progress={"phase": "queued", "frame": 0, "total": info.frame_count})
    stored = store_media(source_path, info, Path(settings.MEDIA_ROOT) / job_file_path(job, "source"))
    try:
        job.source.name = str(stored.relative_to(settings.MEDIA_ROOT))
        job.full_clean()
        with transaction.atomic():
            job.save()
            transaction.on_commit(lambda: _enqueue(job))
    except Exception:
        shutil.rmtree(stored.parent, ignore_errors=True)
        raise
    return job


def _enqueue(job: Job) -> None:
    from jobs.tasks import run_job

    run_job.apply_async(args=[str(job.id)], queue=settings.CELERY_TASK_DEFAULT_QUEUE)


def job_retry(*, job: Job) -> Job:
    """Run a failed or cancelled job again, as a new job on the same file with the same recipe."""
    if job.state not in (JobState.FAILED, JobState.CANCELLED):
        raise ApplicationError(_("Only a failed or cancelled job can be run again."), status_code=409)
    _check_active_limit(job.owner)
    info = MediaInfo(**job.source_info)
    return _job_create(owner=job.owner, source_path=Path(job.source.path), info=info, source_name=job.source_name,
                       recipe=job.recipe, item=job.item)


def job_cancel(*, job: Job) -> Job:
    """Cancel a queued job at once; ask a running one to stop (the worker checks between frames)."""
    if job.is_finished:
        raise ApplicationError(_("This job has already finished."), status_code=409)
    if _transition(job, JobState.QUEUED, JobState.CANCELLED, finished_at=timezone.now(), cancel_requested=True):
        job.refresh_from_db()
    else:
        Job.objects.filter(pk=job.pk, state=JobState.RUNNING).update(cancel_requested=True)
        job.refresh_from_db()
    _publish(job)
    return job


def _transition(job: Job, source: str, target: str, **fields) -> bool:
    """Move the job from `source` to `target` only if it is still in `source` (an atomic claim)."""
    assert target in ALLOWED_TRANSITIONS[source], f"{source} -> {target} is not allowed"
    return Job.objects.filter(pk=job.pk, state=source).update(state=target, **fields) == 1


def _publish(job: Job) -> None:
    send_job_event(job.group_name, job_snapshot(job))


def job_checkpoint_dir(job: Job) -> Path:
    return Path(settings.MEDIA_ROOT) / job_file_path(job, "checkpoint")


class RunOutcome:
    RAN = "ran"
    BUSY = "busy"  # running on a worker that is still alive: try again later
    SKIPPED = "skipped"  # finished, cancelled or gone: nothing to do


def job_run(*, job_id: str, worker: str | None = None) -> str:
    """Claim a job and run its recipe; the row ends succeeded, failed or cancelled.

    A queued job is claimed; so is a running job whose heartbeat is older than JOB_STALE_SECONDS
    (its worker died): it resumes from its checkpoint. The claim is one conditional UPDATE, so two
    workers never run the same job.
    """
    job = Job.objects.filter(pk=job_id).first()
    if job is None or job.is_finished:
        return RunOutcome.SKIPPED
    if not _claim(job, worker or socket.gethostname()):
        job.refresh_from_db()
        return RunOutcome.SKIPPED if job.state != JobState.RUNNING else RunOutcome.BUSY
    job.refresh_from_db()
    _publish(job)
    result_name = job_file_path(job, "result" + output_suffix(MediaInfo(**job.source_info)))
    result_path = Path(settings.MEDIA_ROOT) / result_name
    reporter = JobProgress(job)
    try:
        pipeline = Pipeline(recipe_from_dict(job.recipe), chunk_frames=settings.JOB_CHUNK_FRAMES)
        pipeline.run(job.source.path, result_path, checkpoint_dir=job_checkpoint_dir(job),
                     on_event=reporter.on_event, should_cancel=reporter.should_cancel)
    except Cancelled:
        _finish(job, JobState.CANCELLED)
    except EngineError as exc:
        _finish(job, JobState.FAILED, error=str(exc))
    except Exception:
        logger.exception("Job %s failed", job.id)
        _finish(job, JobState.FAILED, error=_("The restoration failed because of an internal error."))
    else:
        _finish(job, JobState.SUCCEEDED, result=result_name)
    return RunOutcome.RAN


def _claim(job: Job, worker: str) -> bool:
    now = timezone.now()
    # Progress starts afresh: a resumed attempt reports its own frames from its first event on.
    progress = {"phase": "starting", "frame": 0, "total": job.progress.get("total", 0)}
    fields = {"state": JobState.RUNNING, "heartbeat_at": now, "worker": worker, "attempts": F("attempts") + 1,
              "progress": progress}
    if Job.objects.filter(pk=job.pk, state=JobState.QUEUED).update(started_at=now, **fields):
        return True
    stale = now - timedelta(seconds=settings.JOB_STALE_SECONDS)
    return Job.objects.filter(pk=job.pk, state=JobState.RUNNING, heartbeat_at__lt=stale).update(**fields) == 1


def _finish(job: Job, state: str, **fields) -> None:
    """End a running job. The pipeline has already removed any partial output; the checkpoint goes too."""
    _transition(job, JobState.RUNNING, state, finished_at=timezone.now(), heartbeat_at=timezone.now(), **fields)
    shutil.rmtree(job_checkpoint_dir(job), ignore_errors=True)
    job.refresh_from_db()
    _publish(job)


def jobs_reap_stale() -> dict:
    """Re-queue running jobs whose worker stopped sending heartbeats; fail them after JOB_MAX_ATTEMPTS.

    Run periodically (Celery beat). A re-queued job resumes from its checkpoint on the next worker.
    """
    stale = timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS)
    requeued, failed = 0, 0
    for job in Job.objects.filter(state=JobState.RUNNING, heartbeat_at__lt=stale):
        if job.attempts >= settings.JOB_MAX_ATTEMPTS:
            message = _("The worker running this job stopped responding %(n)d times; the job was given up.") % {
                "n": job.attempts}
            if _transition(job, JobState.RUNNING, JobState.FAILED, finished_at=timezone.now(), error=message):
                shutil.rmtree(job_checkpoint_dir(job), ignore_errors=True)
                failed += 1
        elif Job.objects.filter(pk=job.pk, state=JobState.RUNNING, heartbeat_at__lt=stale).update(
                state=JobState.QUEUED, worker=""):
            transaction.on_commit(lambda job=job: _enqueue(job))
            requeued += 1
        else:
            continue
        job.refresh_from_db()
        _publish(job)
    return {"requeued": requeued, "failed": failed}


class JobProgress:
    """Writes the pipeline's progress to the job row and the channel layer; reads the cancel flag."""

    CANCEL_POLL_SECONDS = 0.5

    def __init__(self, job: Job):
        self.job = job
        self._cancel = False
        self._cancel_checked = 0.0

    def on_event(self, event: ProgressEvent) -> None:
        progress = {
            "phase": event.phase,
            "stage": "+".join(event.stages),
            "frame": event.frame,
            "total": event.total,
            "fraction": round(event.fraction, 4),
            "fps": round(event.fps, 2),
            "eta_seconds": None if event.eta_seconds is None else round(event.eta_seconds, 1),
        }
        fields = {"progress": progress, "heartbeat_at": timezone.now()}
        if event.preview:
            fields["preview"] = "data:image/jpeg;base64," + base64.b64encode(event.preview).decode()
        Job.objects.filter(pk=self.job.pk).update(**fields)
        for name, value in fields.items():
            setattr(self.job, name, value)
        _publish(self.job)

    def should_cancel(self) -> bool:
        now = time.monotonic()
        if not self._cancel and now - self._cancel_checked >= self.CANCEL_POLL_SECONDS:
            self._cancel_checked = now
            self._cancel = Job.objects.filter(pk=self.job.pk, cancel_requested=True).exists()
        return self._cancel
