"""Every write about jobs: create, cancel, claim, run, finish. Views and tasks only call these."""
from __future__ import annotations

import base64
import errno
import logging
import math
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
from kombu.exceptions import OperationalError as KombuOperationalError

from engine.errors import Cancelled, EngineError, RecipeError
from engine.pipeline import Pipeline, ProgressEvent, output_suffix
from engine.io.probe import MediaInfo
from engine.recipes import load_recipe, recipe_from_dict
from jobs.events import send_job_event
from jobs.models import ALLOWED_TRANSITIONS, Job, JobEvent, JobState, StageThroughput, WorkerNode, job_file_path
from jobs.selectors import (gpu_seconds_used_today, gpu_workers_online, job_megapixels, job_snapshot,
                            recipe_needs_gpu, stage_key, user_priority)
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
    active = Job.objects.filter(owner=owner, item=item, state__in=[JobState.QUEUED, JobState.RUNNING])
    same = next((job for job in active if job.recipe == recipe), None)
    if same is not None:
        raise ApplicationError(_("You already have a job with this recipe on this item (%(state)s). Launch another "
                                 "one anyway?") % {"state": same.get_state_display().lower()},
                               status_code=409, extra={"confirm_required": True, "job": str(same.id)})


def job_create_from_upload(*, owner, upload, recipe_name: str = "", recipe: dict | None = None,
                           allow_cpu: bool = False) -> Job:
    """Check the upload by decoding it, store it, and queue a job with a preset or a full recipe.
    Nothing is kept on failure."""
    _check_active_limit(owner)
    recipe = recipe_resolve(recipe_name, recipe)
    queue = _choose_queue(owner=owner, recipe=recipe, allow_cpu=allow_cpu)
    spooled = spool_upload(upload)
    try:
        info = inspect_media(spooled)
        return _job_create(owner=owner, source_path=spooled, info=info, source_name=upload.name or "", recipe=recipe,
                           queue=queue)
    finally:
        spooled.unlink(missing_ok=True)


def job_create_for_item(*, owner, item, recipe_name: str = "", recipe: dict | None = None, allow_cpu: bool = False,
                        confirm: bool = False) -> Job:
    """Queue a job on a gallery item's original file, with a preset or a full recipe.

    The same recipe on the same item while one of the owner's runs is queued or running is refused
    with a 409 unless `confirm`.
    """
    _check_active_limit(owner)
    recipe = recipe_resolve(recipe_name, recipe)
    if not confirm:
        _check_same_recipe_running(owner=owner, item=item, recipe=recipe)
    queue = _choose_queue(owner=owner, recipe=recipe, allow_cpu=allow_cpu)
    path = Path(item.media.path)
    info = inspect_media(path)
    return _job_create(owner=owner, source_path=path, info=info, source_name=path.name, recipe=recipe, item=item,
                       queue=queue)


def _job_create(*, owner, source_path: Path, info: MediaInfo, source_name: str, recipe: dict, queue: str,
                item=None) -> Job:
    job = Job(owner=owner, item=item, kind=info.kind, recipe=recipe, source_name=source_name[:255],
              source_info=info.as_dict(), progress={"phase": "queued", "frame": 0, "total": info.frame_count},
              queue=queue, priority=user_priority(owner))
    stored = store_media(source_path, info, Path(settings.MEDIA_ROOT) / job_file_path(job, "source"))
    try:
        job.source.name = str(stored.relative_to(settings.MEDIA_ROOT))
        job.full_clean()
        with transaction.atomic():
            job.save()
            _event(job, JobEvent.Kind.QUEUED, queue=queue)
            transaction.on_commit(lambda: _enqueue(job))
    except Exception:
        shutil.rmtree(stored.parent, ignore_errors=True)
        raise
    return job


# Celery message priority per user priority. On Redis the lowest number is consumed first, and
# kombu keeps the steps 0, 3, 6, 9: normal jobs take 6 so that partners' jobs (3) overtake them.
CELERY_PRIORITY = {0: 6, 1: 3}


def _enqueue(job: Job) -> bool:
    """Hand the job to the broker. When the broker is unreachable the job stays queued in the DB,
    marked for the reaper to send again, so a launch during a Redis outage is not lost."""
    from jobs.tasks import run_job

    try:
        run_job.apply_async(args=[str(job.id)], queue=job.queue, priority=CELERY_PRIORITY.get(job.priority, 6),
                            retry=False)
    except (KombuOperationalError, OSError):
        logger.warning("Broker unreachable; job %s will be sent again by the reaper", job.id)
        Job.objects.filter(pk=job.pk).update(dispatch_pending=True)
        return False
    if job.dispatch_pending:
        Job.objects.filter(pk=job.pk).update(dispatch_pending=False)
        job.dispatch_pending = False
    return True


def _event(job: Job, kind: str, *, worker: str = "", message: str = "", **data) -> None:
    """Add a line to the job's timeline."""
    JobEvent.objects.create(job=job, kind=kind, worker=worker, message=message, data=data)


def job_retry(*, job: Job) -> Job:
    """Run a failed or cancelled job again, as a new job on the same file with the same recipe."""
    if job.state not in (JobState.FAILED, JobState.CANCELLED):
        raise ApplicationError(_("Only a failed or cancelled job can be run again."), status_code=409)
    _check_active_limit(job.owner)
    # A job the owner chose to run on the CPU may again; a GPU one needs GPU time left.
    queue = _choose_queue(owner=job.owner, recipe=job.recipe, allow_cpu=job.queue == "cpu")
    info = MediaInfo(**job.source_info)
    again = _job_create(owner=job.owner, source_path=Path(job.source.path), info=info, source_name=job.source_name,
                        recipe=job.recipe, item=job.item, queue=queue)
    _event(job, JobEvent.Kind.RETRIED, new_job=str(again.id))
    return again


def job_cancel(*, job: Job) -> Job:
    """Cancel a queued job at once; ask a running one to stop (the worker checks between frames)."""
    if job.is_finished:
        raise ApplicationError(_("This job has already finished."), status_code=409)
    if _transition(job, JobState.QUEUED, JobState.CANCELLED, finished_at=timezone.now(), cancel_requested=True):
        _event(job, JobEvent.Kind.CANCELLED)
        job.refresh_from_db()
    else:
        if Job.objects.filter(pk=job.pk, state=JobState.RUNNING, cancel_requested=False).update(cancel_requested=True):
            _event(job, JobEvent.Kind.CANCEL_REQUESTED)
        job.refresh_from_db()
    _publish(job)
    return job


def _transition(job: Job, source: str, target: str, **fields) -> bool:
    """Move the job from `source` to `target` only if it is still in `source` (an atomic claim)."""
    assert target in ALLOWED_TRANSITIONS[source], f"{source} -> {target} is not allowed"
    return Job.objects.filter(pk=job.pk, state=source).update(state=target, **fields) == 1


def _publish(job: Job, *, with_preview: bool = True) -> None:
    snapshot = job_snapshot(job)
    if not with_preview:
        # The preview is most of an event's bytes; pages keep the last one they got.
        del snapshot["preview"]
    send_job_event(job.group_name, snapshot)


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
    if job.state == JobState.RUNNING and job.attempts >= settings.JOB_MAX_ATTEMPTS:
        # Its worker died under it JOB_MAX_ATTEMPTS times (e.g. a pool process killed for memory, whose
        # message Celery hands back): never start it again; the reaper gives it up once it is stale.
        jobs_reap_stale()
        job.refresh_from_db()
        return RunOutcome.SKIPPED if job.is_finished else RunOutcome.BUSY
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
        run = pipeline.run(job.source.path, result_path, checkpoint_dir=job_checkpoint_dir(job),
                           on_event=reporter.on_event, should_cancel=reporter.should_cancel)
    except Cancelled:
        _finish(job, JobState.CANCELLED)
    except EngineError as exc:
        _finish(job, JobState.FAILED, error=str(exc))
    except Exception as exc:
        # The user sees a sentence, never a traceback; the log keeps the details.
        logger.exception("Job %s failed", job.id)
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            error = _("The server ran out of disk space while restoring; nothing was kept. Try again later.")
        else:
            error = _("The restoration failed because of an internal error.")
        _finish(job, JobState.FAILED, error=error)
    else:
        # The recipe keeps how it ran (models and weight hashes, fallbacks, AI colour) for the version
        # that may be published from it; recipes ignore the extra key when run again.
        _finish(job, JobState.SUCCEEDED, result=result_name, recipe={**job.recipe, "provenance": run.provenance})
    return RunOutcome.RAN


def _claim(job: Job, worker: str) -> bool:
    now = timezone.now()
    # Progress starts afresh: a resumed attempt reports its own frames from its first event on.
    progress = {"phase": "starting", "frame": 0, "total": job.progress.get("total", 0)}
    fields = {"state": JobState.RUNNING, "heartbeat_at": now, "worker": worker, "attempts": F("attempts") + 1,
              "progress": progress}
    attempt = job.attempts + 1
    if Job.objects.filter(pk=job.pk, state=JobState.QUEUED).update(started_at=now, **fields):
        _event(job, JobEvent.Kind.STARTED, worker=worker, attempt=attempt)
        return True
    stale = now - timedelta(seconds=settings.JOB_STALE_SECONDS)
    if Job.objects.filter(pk=job.pk, state=JobState.RUNNING, heartbeat_at__lt=stale).update(**fields):
        _event(job, JobEvent.Kind.RECLAIMED, worker=worker, attempt=attempt)
        return True
    return False


def _finish(job: Job, state: str, **fields) -> None:
    """End a running job. The pipeline has already removed any partial output; the checkpoint goes too."""
    ended = _transition(job, JobState.RUNNING, state, finished_at=timezone.now(), heartbeat_at=timezone.now(), **fields)
    shutil.rmtree(job_checkpoint_dir(job), ignore_errors=True)
    job.refresh_from_db()
    if ended:
        _record_end(job)
    _publish(job)


def _record_end(job: Job) -> None:
    """The timeline's last line, and for a success its speed for later ETAs."""
    if job.state == JobState.FAILED:
        _event(job, JobEvent.Kind.FAILED, worker=job.worker, message=job.error)
    elif job.state == JobState.CANCELLED:
        _event(job, JobEvent.Kind.CANCELLED, worker=job.worker)
    else:
        seconds = (job.finished_at - job.started_at).total_seconds() if job.started_at else 0
        _event(job, JobEvent.Kind.SUCCEEDED, worker=job.worker, frames=job.progress.get("total", 0), seconds=round(seconds))
        throughput_record(job=job)


# Weight of the newest job in the moving average: recent enough to follow a change of hardware,
# smooth enough that one odd clip does not swing every ETA.
THROUGHPUT_SMOOTHING = 0.3


def throughput_record(*, job: Job) -> None:
    """Fold a succeeded job's speed into the measured throughput of its stages on its device.

    Only first attempts count: a resumed run's wall time misses the frames done before it.
    """
    if job.attempts != 1 or not job.started_at or not job.finished_at:
        return
    seconds = (job.finished_at - job.started_at).total_seconds()
    frames = job.source_info.get("frame_count", 0)
    if seconds <= 0 or frames <= 0:
        return
    fps, mpx_per_second = frames / seconds, job_megapixels(job) / seconds
    row, created = StageThroughput.objects.get_or_create(
        stages=stage_key(job.recipe), device=job.queue,
        defaults={"fps": fps, "mpx_per_second": mpx_per_second, "samples": 1})
    if not created:
        row.fps += THROUGHPUT_SMOOTHING * (fps - row.fps)
        row.mpx_per_second += THROUGHPUT_SMOOTHING * (mpx_per_second - row.mpx_per_second)
        row.samples += 1
        row.save()


def jobs_reap_stale() -> dict:
    """Re-queue running jobs whose worker stopped sending heartbeats; fail them after JOB_MAX_ATTEMPTS.
    Send again the queued jobs the broker could not take when they were launched.

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
                _event(job, JobEvent.Kind.FAILED, worker=job.worker, message=message)
                failed += 1
        elif Job.objects.filter(pk=job.pk, state=JobState.RUNNING, heartbeat_at__lt=stale).update(
                state=JobState.QUEUED, worker=""):
            _event(job, JobEvent.Kind.REQUEUED, worker=job.worker)
            transaction.on_commit(lambda job=job: _enqueue(job))
            requeued += 1
        else:
            continue
        job.refresh_from_db()
        _publish(job)
    resent = sum(_enqueue(job) for job in Job.objects.filter(state=JobState.QUEUED, dispatch_pending=True))
    return {"requeued": requeued, "failed": failed, "resent": resent}


# Folders of files that users give with a launch (colour references and scribbles, face photos).
JOB_ASSET_ROOTS = ("colorize", "faces")


def job_assets_sweep(*, max_age_hours: float = 24) -> int:
    """Remove asset folders that no job or version names any more (a launch that was refused, a
    confirmation page left, deleted jobs) once they are older than `max_age_hours`. Run by beat."""
    from django.apps import apps
    from django.db.models import TextField
    from django.db.models.functions import Cast

    version_model = apps.get_model("gallery", "Version")
    cutoff = time.time() - max_age_hours * 3600
    removed = 0
    for root in JOB_ASSET_ROOTS:
        for folder in Path(settings.MEDIA_ROOT, root).glob("*/*"):
            if not folder.is_dir() or folder.stat().st_mtime > cutoff:
                continue
            named = any(model.objects.annotate(text=Cast("recipe", TextField())).filter(text__contains=folder.name)
                        .exists() for model in (Job, version_model))
            if not named:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
    return removed


class JobProgress:
    """Writes the pipeline's progress to the job row and the channel layer; reads the cancel flag."""

    CANCEL_POLL_SECONDS = 0.5

    def __init__(self, job: Job):
        self.job = job
        self._cancel = False
        self._cancel_checked = 0.0
        # A resumed attempt does not record again the chunks an earlier one finished.
        self._chunks_recorded = job.events.filter(kind=JobEvent.Kind.CHUNK_DONE).count()

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
        self._record_chunks(event)
        _publish(self.job, with_preview=bool(event.preview))

    def _record_chunks(self, event: ProgressEvent) -> None:
        """One timeline line per checkpoint chunk restored. Events are throttled, so one event may
        close several chunks. (A rate-converting recipe rounds its chunks a little; close enough.)"""
        if self.job.kind != Job.Kind.VIDEO or event.phase != "restore":
            return
        size = settings.JOB_CHUNK_FRAMES
        done = event.frame // size if event.frame < event.total else math.ceil(event.total / size)
        for chunk in range(self._chunks_recorded + 1, done + 1):
            _event(self.job, JobEvent.Kind.CHUNK_DONE, worker=self.job.worker, chunk=chunk,
                   first=(chunk - 1) * size + 1, last=min(chunk * size, event.total))
        self._chunks_recorded = max(self._chunks_recorded, done)

    def should_cancel(self) -> bool:
        now = time.monotonic()
        if not self._cancel and now - self._cancel_checked >= self.CANCEL_POLL_SECONDS:
            self._cancel_checked = now
            self._cancel = Job.objects.filter(pk=self.job.pk, cancel_requested=True).exists()
        return self._cancel


def worker_announce(*, hostname: str, queues: list[str], has_gpu: bool, installed_models: list[str]) -> WorkerNode:
    """A worker says what it can run (at start, and again if its row went missing)."""
    now = timezone.now()
    node, _created = WorkerNode.objects.update_or_create(hostname=hostname, defaults={
        "queues": sorted(queues), "has_gpu": has_gpu, "installed_models": sorted(installed_models),
        "started_at": now, "last_seen": now})
    return node


def worker_heartbeat(*, hostname: str) -> bool:
    """Mark a worker as alive now; False if it never announced itself (it should, then)."""
    return WorkerNode.objects.filter(hostname=hostname).update(last_seen=timezone.now()) == 1


def worker_forget(*, hostname: str) -> None:
    """A worker shutting down cleanly leaves the list at once instead of going stale."""
    WorkerNode.objects.filter(hostname=hostname).delete()
