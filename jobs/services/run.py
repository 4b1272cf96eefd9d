"""What a worker does with a job: claim it, run its recipe in the engine while reporting progress,
and end it succeeded, failed or cancelled."""
from __future__ import annotations

import base64
import contextlib
import errno
import logging
import math
import shutil
import socket
import time
import uuid
from datetime import timedelta
from pathlib import Path, PurePosixPath
from typing import Callable

from django.conf import settings
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from engine.errors import Cancelled, EngineError
from engine.io.probe import MediaInfo
from engine.pipeline import Pipeline, ProgressEvent, output_suffix
from engine.recipes import recipe_from_dict
from jobs.models import Job, JobAsset, JobEvent, JobState, job_file_path
from jobs.services.assets import recipe_with_asset_paths
from jobs.services.dispatch import job_enqueue
from jobs.services.lifecycle import (job_broadcast, job_checkpoint_discard, job_checkpoint_folder, job_event_record,
                                     job_transition)
from jobs.services.reaper import jobs_reap_stale
from jobs.services.throughput import throughput_record
from restoration_site.media import media_delete, media_fetch, media_list, media_replace, media_save, scratch_dir

logger = logging.getLogger(__name__)


class RunOutcome:
    RAN = "ran"
    BUSY = "busy"  # running on a worker that is still alive: try again later
    SKIPPED = "skipped"  # finished, cancelled or gone: nothing to do


def job_run(*, job_id: str, worker: str | None = None, should_hand_back: Callable[[], bool] | None = None) -> str:
    """Claim a job and run its recipe; the row ends succeeded, failed or cancelled.

    When `should_hand_back` turns true (the worker is shutting down), the job stops at its next frame
    and goes back to the queue, its stored checkpoint kept and its message sent again, so that the
    next worker resumes it at once.

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
        return RunOutcome.SKIPPED if job.state != JobState.RUNNING else RunOutcome.BUSY
    job_broadcast(job)
    # This attempt's own working folder on this machine: the worker reads no other machine's files,
    # and no other attempt (here or elsewhere) shares it. Nothing in it outlives the attempt.
    scratch = scratch_dir("jobs", str(job.id), f"attempt-{job.attempts}-{uuid.uuid4().hex[:8]}")
    try:
        _run_attempt(job, scratch, should_hand_back=should_hand_back)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        with contextlib.suppress(OSError):
            scratch.parent.rmdir()  # the job's folder, unless another attempt on this machine still uses it
    return RunOutcome.RAN


class ResultNotStored(Exception):
    """The restored file was made but could not be saved to the media store."""


def _run_attempt(job: Job, scratch: Path, *, should_hand_back: Callable[[], bool] | None = None) -> None:
    """Fetch the source, the assets and the checkpoint so far into `scratch`, restore there while
    copying each checkpoint file to the store, store the result and end the job."""
    reporter = JobProgress(job, should_hand_back=should_hand_back)
    try:
        source = media_fetch(job.source.name, scratch / f"source{PurePosixPath(job.source.name).suffix}")
        assets = [(asset.role, asset.frame, str(_fetch_asset(asset, scratch / "assets"))) for asset in job.assets.all()]
        checkpoint = _CheckpointCopy(job, scratch / "checkpoint", heartbeat=reporter.heartbeat)
        checkpoint.fetch()
        pipeline = Pipeline(recipe_from_dict(recipe_with_asset_paths(job.recipe, assets)),
                            chunk_frames=settings.JOB_CHUNK_FRAMES)
        result = scratch / f"result{output_suffix(MediaInfo(**job.source_info))}"
        run = pipeline.run(source, result, checkpoint_dir=checkpoint.folder, on_event=reporter.on_event,
                           should_cancel=reporter.should_cancel, on_checkpoint_file=checkpoint.save,
                           on_checkpoint_file_removed=checkpoint.delete)
        try:
            result_name = media_save(result, job_file_path(job, result.name))
        except Exception as exc:  # a failed save leaves no object behind
            raise ResultNotStored from exc
    except Cancelled:
        if reporter.handing_back and not Job.objects.filter(pk=job.pk, cancel_requested=True).exists():
            _hand_back(job)
        else:
            _finish(job, JobState.CANCELLED)
    except EngineError as exc:
        _finish(job, JobState.FAILED, error=str(exc))
    except Exception as exc:
        # The user sees a sentence, never a traceback; the log keeps the details.
        logger.exception("Job %s failed", job.id)
        _finish(job, JobState.FAILED, error=_failure_message(exc))
    else:
        # The recipe keeps how it ran (models and weight hashes, fallbacks, AI colour) for the version
        # that may be published from it; recipes ignore the extra key when run again.
        _finish(job, JobState.SUCCEEDED, result=result_name, recipe={**job.recipe, "provenance": run.provenance})


def _failure_message(exc: Exception) -> str:
    cause = exc.__cause__ if isinstance(exc, ResultNotStored) else exc
    if isinstance(cause, OSError) and cause.errno in (errno.ENOSPC, errno.EDQUOT):
        return _("The server ran out of disk space while restoring; nothing was kept. Try again later.")
    if isinstance(exc, ResultNotStored):
        return _("The restored file could not be saved to the media store; nothing was kept. Try again later.")
    return _("The restoration failed because of an internal error.")


def _fetch_asset(asset: JobAsset, folder: Path) -> Path:
    return media_fetch(asset.file.name, folder / f"{asset.pk}{PurePosixPath(asset.file.name).suffix}")


class _CheckpointCopy:
    """The job's checkpoint in a local `folder` for the engine, and in the store, where the next
    attempt, on any worker, finds it: fetched at the start, then each file the engine commits is
    saved under the same name (a chunk's hash before the chunk, as the engine tells them) and each
    one it drops (a damaged chunk) deleted."""

    def __init__(self, job: Job, folder: Path, *, heartbeat):
        self.stored = job_checkpoint_folder(job)
        self.folder = folder
        self.heartbeat = heartbeat
        folder.mkdir(parents=True, exist_ok=True)

    def fetch(self) -> None:
        for name in media_list(self.stored):
            media_fetch(name, self.folder / PurePosixPath(name).relative_to(self.stored))
            self.heartbeat()  # a long checkpoint takes a while to fetch: the job is not stale meanwhile

    def save(self, path: Path) -> None:
        media_replace(path, self._name(path))
        self.heartbeat()

    def delete(self, path: Path) -> None:
        media_delete(self._name(path))

    def _name(self, path: Path) -> str:
        return f"{self.stored}/{path.relative_to(self.folder).as_posix()}"


def _claim(job: Job, worker: str) -> bool:
    """Take a queued job, or a running one whose worker went silent (it resumes from its checkpoint)."""
    now = timezone.now()
    # Progress starts afresh: a resumed attempt reports its own frames from its first event on.
    progress = {"phase": "starting", "frame": 0, "total": job.progress.get("total", 0)}
    fields = {"heartbeat_at": now, "worker": worker, "attempts": F("attempts") + 1, "progress": progress}
    attempt = job.attempts + 1
    if job.state == JobState.QUEUED:
        # started_at is the first start: a job re-queued after losing its worker keeps it, so its
        # duration counts every attempt.
        if job_transition(job, JobState.RUNNING, source=JobState.QUEUED,
                          started_at=Coalesce(F("started_at"), Value(now)), **fields):
            job_event_record(job, JobEvent.Kind.STARTED, worker=worker, attempt=attempt)
            return True
        if job.state != JobState.RUNNING:
            return False
    stale = now - timedelta(seconds=settings.JOB_STALE_SECONDS)
    if job_transition(job, JobState.RUNNING, source=JobState.RUNNING, where=Q(heartbeat_at__lt=stale), **fields):
        job_event_record(job, JobEvent.Kind.RECLAIMED, worker=worker, attempt=attempt)
        return True
    return False


def _finish(job: Job, state: str, **fields) -> None:
    """End a running job. The pipeline has already removed any partial output; the stored checkpoint
    goes too, and a stored result that the row did not take (another writer ended it first)."""
    now = timezone.now()
    ended = job_transition(job, state, source=JobState.RUNNING, finished_at=now, heartbeat_at=now, **fields)
    job_checkpoint_discard(job)
    if ended:
        _record_end(job)
    elif fields.get("result"):
        media_delete(fields["result"])
    job_broadcast(job)


def _hand_back(job: Job) -> None:
    """The worker is stopping: the job goes back to the queue, its stored checkpoint kept, and its
    message is sent again (or marked for the reaper if the broker is away). The attempt does not
    count towards JOB_MAX_ATTEMPTS, which counts workers that died under the job."""
    worker = job.worker
    if not job_transition(job, JobState.QUEUED, source=JobState.RUNNING, worker="", attempts=F("attempts") - 1):
        return
    job_event_record(job, JobEvent.Kind.REQUEUED, worker=worker, handed_back=True)
    job_broadcast(job)
    job_enqueue(job)
    logger.info("Job %s handed back to the queue: the worker is stopping", job.id)


def _record_end(job: Job) -> None:
    """The timeline's last line, and for a success its speed for later ETAs."""
    if job.state == JobState.FAILED:
        job_event_record(job, JobEvent.Kind.FAILED, worker=job.worker, message=job.error)
    elif job.state == JobState.CANCELLED:
        job_event_record(job, JobEvent.Kind.CANCELLED, worker=job.worker)
    else:
        seconds = (job.finished_at - job.started_at).total_seconds() if job.started_at else 0
        job_event_record(job, JobEvent.Kind.SUCCEEDED, worker=job.worker, frames=job.progress.get("total", 0),
                         seconds=round(seconds))
        throughput_record(job=job)


class JobProgress:
    """Writes the pipeline's progress to the job row and the channel layer; reads the cancel flag."""

    CANCEL_POLL_SECONDS = 0.5

    def __init__(self, job: Job, *, should_hand_back: Callable[[], bool] | None = None):
        self.job = job
        self._should_hand_back = should_hand_back or (lambda: False)
        self.handing_back = False
        self._cancel = False
        self._cancel_checked = 0.0
        # A resumed attempt does not record again the chunks an earlier one finished.
        self._chunks_recorded = job.events.filter(kind=JobEvent.Kind.CHUNK_DONE).count()

    def heartbeat(self) -> None:
        """Say the job is alive while no frames flow (files being fetched or stored)."""
        now = timezone.now()
        Job.objects.filter(pk=self.job.pk).update(heartbeat_at=now)
        self.job.heartbeat_at = now

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
        # Progress is not a move of state: the row keeps RUNNING, only its numbers change.
        Job.objects.filter(pk=self.job.pk).update(**fields)
        for name, value in fields.items():
            setattr(self.job, name, value)
        self._record_chunks(event)
        job_broadcast(self.job, with_preview=bool(event.preview))

    def _record_chunks(self, event: ProgressEvent) -> None:
        """One timeline line per checkpoint chunk restored. Events are throttled, so one event may
        close several chunks. (A rate-converting recipe rounds its chunks a little; close enough.)"""
        if self.job.kind != Job.Kind.VIDEO or event.phase != "restore":
            return
        size = settings.JOB_CHUNK_FRAMES
        done = event.frame // size if event.frame < event.total else math.ceil(event.total / size)
        for chunk in range(self._chunks_recorded + 1, done + 1):
            job_event_record(self.job, JobEvent.Kind.CHUNK_DONE, worker=self.job.worker, chunk=chunk,
                             first=(chunk - 1) * size + 1, last=min(chunk * size, event.total))
        self._chunks_recorded = max(self._chunks_recorded, done)

    def should_cancel(self) -> bool:
        """Whether the pipeline should stop: the user cancelled, or the worker is handing the job back."""
        if not self.handing_back and self._should_hand_back():
            self.handing_back = True
        if self.handing_back:
            return True
        now = time.monotonic()
        if not self._cancel and now - self._cancel_checked >= self.CANCEL_POLL_SECONDS:
            self._cancel_checked = now
            self._cancel = Job.objects.filter(pk=self.job.pk, cancel_requested=True).exists()
        return self._cancel
