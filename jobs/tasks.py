"""Celery entry points: thin wrappers around the services."""
from celery import shared_task
from django.conf import settings

from jobs import services


@shared_task(name="jobs.run_job", bind=True, max_retries=100)
def run_job(self, job_id: str) -> None:
    outcome = services.job_run(job_id=job_id, worker=self.request.hostname)
    if outcome == services.RunOutcome.BUSY:
        # A redelivered message for a job whose worker may have just died: look again once its
        # heartbeat could have gone stale, then resume it from its checkpoint.
        raise self.retry(countdown=settings.JOB_STALE_SECONDS)


@shared_task(name="jobs.reap_stale_jobs")
def reap_stale_jobs() -> dict:
    return services.jobs_reap_stale()
