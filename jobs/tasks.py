"""Celery entry points: thin wrappers around the services, and the worker's announcements."""
import logging
import os
import time

from celery import shared_task
from celery.signals import heartbeat_sent, worker_ready, worker_shutdown
from django.conf import settings

from jobs.services import reaper, run, workers

logger = logging.getLogger(__name__)


@shared_task(name="jobs.run_job", bind=True, max_retries=100)
def run_job(self, job_id: str) -> None:
    outcome = run.job_run(job_id=job_id, worker=self.request.hostname)
    if outcome == run.RunOutcome.BUSY:
        # A redelivered message for a job whose worker may have just died: look again once its
        # heartbeat could have gone stale, then resume it from its checkpoint.
        raise self.retry(countdown=settings.JOB_STALE_SECONDS)


@shared_task(name="jobs.reap_stale_jobs")
def reap_stale_jobs() -> dict:
    return reaper.jobs_reap_stale()


def machine_capabilities() -> dict:
    """What this machine can run: a CUDA GPU or not, and the learned models whose weights it has."""
    # Asked in the worker's parent process, which forks the pool: NVML's answer leaves CUDA
    # uninitialised there, so the children can still use the GPU.
    os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
    import torch

    from engine.models import registry

    return {"has_gpu": torch.cuda.is_available(),
            "installed_models": [s.key for s in registry.all_specs() if registry.is_available(s.key)]}


# What this worker announced, to announce it again if its row went missing; and when it last wrote.
_announced: dict = {}
_last_heartbeat = [0.0]


@worker_ready.connect
def announce_worker(sender, **kwargs):
    _announced.update(hostname=sender.hostname, queues=list(sender.app.amqp.queues.consume_from),
                      **machine_capabilities())
    workers.worker_announce(**_announced)
    _last_heartbeat[0] = time.monotonic()
    swept = workers.worker_scratch_sweep()
    if swept:
        logger.info("Removed the scratch folders of %d finished jobs: %s", len(swept), ", ".join(swept))


@heartbeat_sent.connect
def worker_heartbeat(sender, **kwargs):
    # Celery's own heartbeat fires every 2 s; the row only needs to be fresh within JOB_WORKER_STALE_SECONDS.
    if not _announced or time.monotonic() - _last_heartbeat[0] < settings.JOB_WORKER_HEARTBEAT_SECONDS:
        return
    _last_heartbeat[0] = time.monotonic()
    try:
        if not workers.worker_heartbeat(hostname=_announced["hostname"]):
            workers.worker_announce(**_announced)
    except Exception as exc:  # the database away for a moment must not stop the worker's event loop
        logger.warning("Could not record the worker's heartbeat: %s", exc)


@worker_shutdown.connect
def forget_worker(sender, **kwargs):
    if _announced:
        workers.worker_forget(hostname=_announced["hostname"])


@shared_task(name="jobs.sweep_job_assets")
def sweep_job_assets() -> int:
    return reaper.job_assets_sweep()
