"""Celery entry points: thin wrappers around the services, and the worker's announcements."""
import logging
import os
import signal
import threading
import time

from billiard.process import active_children
from celery import shared_task
from celery.signals import heartbeat_sent, worker_process_init, worker_ready, worker_shutdown, worker_shutting_down
from django.conf import settings

from jobs.services import reaper, run, workers

logger = logging.getLogger(__name__)


@shared_task(name="jobs.run_job", bind=True, max_retries=100)
def run_job(self, job_id: str) -> None:
    outcome = run.job_run(job_id=job_id, worker=self.request.hostname, should_hand_back=_handing_back.is_set)
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


# The queues whose tasks are jobs. A worker of the `maintenance` queue alone (the periodic repairs)
# runs none: it has no capabilities to report and no job folders to sweep.
JOB_QUEUES = frozenset({"cpu", "gpu"})


@worker_ready.connect
def announce_worker(sender, **kwargs):
    queues = list(sender.app.amqp.queues.consume_from)
    runs_jobs = bool(JOB_QUEUES & set(queues))
    capabilities = machine_capabilities() if runs_jobs else {"has_gpu": False, "installed_models": []}
    _announced.update(hostname=sender.hostname, queues=queues, **capabilities)
    workers.worker_announce(**_announced)
    _last_heartbeat[0] = time.monotonic()
    if not runs_jobs:
        return
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


# A warm shutdown (SIGTERM to the worker's main process: `make run`'s Ctrl-C, a deploy) hands the
# running job back instead of waiting hours for it or killing it: the main process tells its pool
# processes with this signal, and the job, at its next frame, goes back to the queue with its
# stored checkpoint, for the next worker to resume at once (jobs.services.run.job_run).
HAND_BACK_SIGNAL = signal.SIGUSR2
_handing_back = threading.Event()


@worker_process_init.connect
def listen_for_hand_back(**kwargs):
    """In each pool process: the main process's signal asks for the running job back."""
    _handing_back.clear()
    signal.signal(HAND_BACK_SIGNAL, lambda signum, frame: _handing_back.set())


@worker_shutting_down.connect
def hand_back_running_jobs(sender, **kwargs):
    """In the main process, as it starts to shut down: a solo or threads pool runs the job here;
    a prefork pool's processes are told."""
    _handing_back.set()
    for child in active_children():
        try:
            os.kill(child.pid, HAND_BACK_SIGNAL)
        except (ProcessLookupError, TypeError):  # gone already, or not started
            pass


@worker_shutdown.connect
def forget_worker(sender, **kwargs):
    if _announced:
        workers.worker_forget(hostname=_announced["hostname"])


@shared_task(name="jobs.sweep_job_assets")
def sweep_job_assets() -> int:
    return reaper.job_assets_sweep()
