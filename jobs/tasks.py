"""Celery entry points: thin wrappers around the services."""
from celery import shared_task

from jobs import services


@shared_task(name="jobs.run_job")
def run_job(job_id: str) -> None:
    services.job_run(job_id=job_id, worker=run_job.request.hostname)
