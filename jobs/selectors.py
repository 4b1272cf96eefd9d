"""Reads about jobs, with the ownership rule in one place."""
from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from django.urls import reverse

from jobs.models import Job, JobState


def jobs_visible_to(user) -> QuerySet[Job]:
    """The jobs `user` may see: their own, or all for staff."""
    if not user.is_authenticated:
        return Job.objects.none()
    queryset = Job.objects.select_related("owner", "item")
    return queryset if user.is_staff else queryset.filter(owner=user)


def job_get_visible(*, user, job_id) -> Job:
    """The job, or Http404 for a stranger: another user's job is not revealed to exist."""
    try:
        return jobs_visible_to(user).get(pk=job_id)
    except (Job.DoesNotExist, ValueError, TypeError):
        raise Http404("No such job.") from None


def queue_position(job: Job) -> int | None:
    """1 for the next queued job to start, 2 for the one after, ...; None once it has started."""
    if job.state != JobState.QUEUED:
        return None
    return Job.objects.filter(state=JobState.QUEUED, created_at__lt=job.created_at).count() + 1


def job_snapshot(job: Job) -> dict:
    """The state a page or API client needs to draw a job, the same in every channel."""
    progress = job.progress or {}
    return {
        "id": str(job.id),
        "state": job.state,
        "state_label": job.get_state_display(),
        "kind": job.kind,
        "recipe": job.recipe.get("name", ""),
        "stages": [s["stage"] for s in job.recipe.get("stages", [])],
        "progress": {
            "phase": progress.get("phase", ""),
            "stage": progress.get("stage", ""),
            "frame": progress.get("frame", 0),
            "total": progress.get("total", job.source_info.get("frame_count", 0)),
            "fraction": 1.0 if job.state == "succeeded" else progress.get("fraction", 0.0),
            "fps": progress.get("fps", 0.0),
            "eta_seconds": progress.get("eta_seconds"),
        },
        "preview": job.preview or None,
        "error": job.error,
        "cancel_requested": job.cancel_requested,
        "attempts": job.attempts,
        "queue_position": queue_position(job),
        "result_url": reverse("jobs:result", args=[job.id]) if job.result else None,
        "source_url": reverse("jobs:source", args=[job.id]),
        "created_at": job.created_at.isoformat() if job.created_at else None,
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }
