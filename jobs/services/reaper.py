"""Periodic repairs (run by Celery beat): jobs whose worker went silent, jobs the broker never
took, and files that no job uses any more."""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from jobs.models import Job, JobAsset, JobEvent, JobState
from jobs.services.dispatch import job_enqueue
from jobs.services.lifecycle import job_broadcast, job_checkpoint_discard, job_event_record, job_transition


def jobs_reap_stale() -> dict:
    """Re-queue running jobs whose worker stopped sending heartbeats; fail them after JOB_MAX_ATTEMPTS.
    Send again the queued jobs the broker could not take when they were launched.

    A re-queued job resumes from its checkpoint on the next worker.
    """
    stale = timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS)
    still_stale = Q(heartbeat_at__lt=stale)
    requeued, failed = 0, 0
    for job in Job.objects.filter(still_stale, state=JobState.RUNNING):
        worker = job.worker
        if job.attempts >= settings.JOB_MAX_ATTEMPTS:
            message = _("The worker running this job stopped responding %(n)d times; the job was given up.") % {
                "n": job.attempts}
            if not job_transition(job, JobState.FAILED, source=JobState.RUNNING, where=still_stale,
                                  finished_at=timezone.now(), error=message):
                continue
            job_checkpoint_discard(job)
            job_event_record(job, JobEvent.Kind.FAILED, worker=worker, message=message)
            failed += 1
        else:
            if not job_transition(job, JobState.QUEUED, source=JobState.RUNNING, where=still_stale, worker=""):
                continue
            job_event_record(job, JobEvent.Kind.REQUEUED, worker=worker)
            transaction.on_commit(lambda job=job: job_enqueue(job))
            requeued += 1
        job_broadcast(job)
    resent = sum(job_enqueue(job) for job in Job.objects.filter(state=JobState.QUEUED, dispatch_pending=True))
    return {"requeued": requeued, "failed": failed, "resent": resent}


def job_assets_sweep(*, max_age_hours: float = 24) -> int:
    """Remove the pictures stored for launches that never happened (refused, or a confirmation page
    left unanswered) once they are older than `max_age_hours`; their files go with them."""
    cutoff = timezone.now() - timedelta(hours=max_age_hours)
    removed = 0
    for asset in JobAsset.objects.filter(job__isnull=True, created_at__lt=cutoff):
        asset.delete()
        removed += 1
    return removed
