"""A job's life: the one function that moves its state, the timeline lines, live events, cancel.

The state machine is the table `jobs.models.ALLOWED_TRANSITIONS`; `job_transition` is the only
writer of `Job.state` after creation, and refuses a move the table does not allow, whatever
Python's optimisation flags.
"""
from __future__ import annotations

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from jobs import events
from jobs.models import ALLOWED_TRANSITIONS, Job, JobEvent, JobState, job_file_path
from jobs.selectors import job_snapshot
from restoration_site.errors import ApplicationError
from restoration_site.media import media_delete_folder


class TransitionNotAllowed(Exception):
    """A move the state machine forbids: a bug in the caller, never a user's doing."""


def job_transition(job: Job, target: str, *, source: str | None = None, where: Q | None = None, **fields) -> bool:
    """Move `job` from `source` (default: its state as read) to `target`, writing `fields` too, in one
    conditional UPDATE that also checks `where`. Returns False when the row is no longer in
    `source` (or `where` fails): another writer got there first. Raises TransitionNotAllowed when
    the table forbids the move. `job` is read again afterwards, so it shows the row as it is."""
    source = source or job.state
    if target not in ALLOWED_TRANSITIONS.get(source, ()):
        raise TransitionNotAllowed(f"A job cannot go from {source} to {target}.")
    rows = Job.objects.filter(pk=job.pk, state=source)
    if where is not None:
        rows = rows.filter(where)
    moved = rows.update(state=target, **fields) == 1
    job.refresh_from_db()
    return moved


def job_event_record(job: Job, kind: str, *, worker: str = "", message: str = "", **data) -> JobEvent:
    """Add a line to the job's timeline."""
    return JobEvent.objects.create(job=job, kind=kind, worker=worker, message=message, data=data)


def job_broadcast(job: Job, *, with_preview: bool = True) -> None:
    """Send the job's snapshot to every page watching it (best effort: the row is the truth)."""
    snapshot = job_snapshot(job)
    if not with_preview:
        # The preview is most of an event's bytes; pages keep the last one they got.
        del snapshot["preview"]
    events.send_job_event(job.group_name, snapshot)


def job_checkpoint_folder(job: Job) -> str:
    """The stored folder where a running job keeps its checkpoint, so that any worker can resume it."""
    return job_file_path(job, "checkpoint")


def job_checkpoint_discard(job: Job) -> None:
    media_delete_folder(job_checkpoint_folder(job))


def job_cancel(*, job: Job) -> Job:
    """Cancel a queued job at once; ask a running one to stop (the worker checks between frames)."""
    if job.is_finished:
        raise ApplicationError(_("This job has already finished."), status_code=409)
    if job.state == JobState.QUEUED and job_transition(job, JobState.CANCELLED, source=JobState.QUEUED,
                                                       finished_at=timezone.now(), cancel_requested=True):
        job_event_record(job, JobEvent.Kind.CANCELLED)
    elif Job.objects.filter(pk=job.pk, state=JobState.RUNNING, cancel_requested=False).update(cancel_requested=True):
        # Not a move of state: the worker ends the job as cancelled when it sees the flag.
        job_event_record(job, JobEvent.Kind.CANCEL_REQUESTED)
        job.refresh_from_db()
    else:
        job.refresh_from_db()
    job_broadcast(job)
    return job
