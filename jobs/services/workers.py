"""Workers say what they can run (queues, a GPU, installed models) and that they are alive."""
from __future__ import annotations

import shutil
import uuid

from django.utils import timezone

from jobs.models import ACTIVE_STATES, Job, WorkerNode
from restoration_site.media import scratch_dir


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


def worker_scratch_sweep() -> list[str]:
    """Remove this machine's job folders (under SCRATCH_DIR/jobs) of jobs that are no longer queued
    or running: what a worker killed mid-job left behind. A job still active keeps its folder, as
    another worker process on this machine may be working in it. Returns the job ids swept."""
    folders = {folder.name: folder for folder in scratch_dir("jobs").iterdir() if folder.is_dir()}
    ids = []
    for name in folders:
        try:
            ids.append(uuid.UUID(name))
        except ValueError:  # not a job's folder: leave it alone
            continue
    active = {str(pk) for pk in Job.objects.filter(pk__in=ids, state__in=ACTIVE_STATES).values_list("pk", flat=True)}
    swept = [str(pk) for pk in ids if str(pk) not in active]
    for job_id in swept:
        shutil.rmtree(folders[job_id], ignore_errors=True)
    return swept
