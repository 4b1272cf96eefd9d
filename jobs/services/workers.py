"""Workers say what they can run (queues, a GPU, installed models) and that they are alive."""
from __future__ import annotations

from django.utils import timezone

from jobs.models import WorkerNode


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
