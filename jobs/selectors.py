"""Reads about jobs, with the ownership rule in one place."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from engine.recipes import recipe_needs_gpu
from jobs.models import ACTIVE_STATES, Job, JobEvent, JobState, StageThroughput, UserQuota, WorkerNode
from restoration_site.errors import NotFound

# Guess of how much slower a GPU recipe runs on a CPU, until such a run has been measured.
CPU_SLOWDOWN_GUESS = 10.0


def jobs_visible_to(user) -> QuerySet[Job]:
    """The jobs `user` may see: their own, or all for staff."""
    if not user.is_authenticated:
        return Job.objects.none()
    queryset = Job.objects.select_related("owner", "item")
    return queryset if user.is_staff else queryset.filter(owner=user)


def job_get_visible(*, user, job_id) -> Job:
    """The job, or NotFound for a stranger: another user's job is not revealed to exist."""
    try:
        return jobs_visible_to(user).get(pk=job_id)
    except (Job.DoesNotExist, ValueError, TypeError, DjangoValidationError):
        raise NotFound(_("No such job.")) from None


def jobs_active_count(owner) -> int:
    """The owner's jobs that are queued or running."""
    return Job.objects.filter(owner=owner, state__in=ACTIVE_STATES).count()


def workers_online() -> QuerySet[WorkerNode]:
    fresh = timezone.now() - timedelta(seconds=settings.JOB_WORKER_STALE_SECONDS)
    return WorkerNode.objects.filter(last_seen__gte=fresh)


def gpu_workers_online() -> int:
    return sum(1 for worker in workers_online() if worker.has_gpu and "gpu" in worker.queues)


def user_priority(user) -> int:
    return UserQuota.objects.filter(user=user).values_list("priority", flat=True).first() or 0


def _today_start():
    return timezone.make_aware(datetime.combine(timezone.localdate(), time.min))


def gpu_seconds_used_today(user) -> float:
    """GPU time of the user's jobs since midnight: finished ones and the running one so far."""
    start, now = _today_start(), timezone.now()
    jobs = Job.objects.filter(owner=user, queue="gpu", started_at__isnull=False).filter(
        Q(finished_at__isnull=True, state=JobState.RUNNING) | Q(finished_at__gte=start))
    return sum(max(0.0, ((job.finished_at or now) - max(job.started_at, start)).total_seconds())
               for job in jobs.only("started_at", "finished_at"))


def user_quota(user) -> dict:
    """What a user may still launch: active jobs and today's GPU time (None means no limit, for staff)."""
    active = jobs_active_count(user)
    gpu_used = round(gpu_seconds_used_today(user))
    gpu_allowed = None if user.is_staff else settings.JOB_GPU_SECONDS_PER_DAY
    priority = user_priority(user)
    return {
        "active_jobs": {"used": active, "allowed": None if user.is_staff else settings.JOB_MAX_ACTIVE_PER_USER},
        "gpu_seconds": {"used": gpu_used, "allowed": gpu_allowed,
                        "remaining": None if gpu_allowed is None else max(0, gpu_allowed - gpu_used)},
        "gpu_resets_at": (_today_start() + timedelta(days=1)).isoformat(),
        "gpu_workers_online": gpu_workers_online(),
        "priority": priority,
        "priority_label": str(UserQuota.Priority(priority).label),
    }


def stage_key(recipe: dict) -> str:
    """What throughput is measured per: the recipe's stage names in order (as StageThroughput.stages)."""
    return "+".join(stage["stage"] for stage in recipe.get("stages", []))[:255]


def job_megapixels(job: Job) -> float:
    """The work in a job: source frames times frame size, in megapixels. Source frames, not output
    ones, so that a queued job (whose output count is not known yet) is measured like a finished one."""
    info = job.source_info
    return info.get("frame_count", 1) * info.get("width", 0) * info.get("height", 0) / 1e6


def _measured_rates() -> dict[tuple[str, str], float]:
    return {(t.stages, t.device): t.mpx_per_second for t in StageThroughput.objects.all()}


def _job_seconds(job: Job, rates: dict) -> tuple[float, bool]:
    """Seconds `job` takes alone on its queue's device, and whether that comes from a measurement."""
    rate = rates.get((stage_key(job.recipe), job.queue))
    if rate:
        return job_megapixels(job) / rate, True
    stages = max(1, len(job.recipe.get("stages", [])))
    guess = settings.JOB_ETA_DEFAULT_MPX_PER_SECOND / stages
    if job.queue == "cpu" and recipe_needs_gpu(job.recipe):
        guess /= CPU_SLOWDOWN_GUESS
    return job_megapixels(job) / guess, False


class QueueState:
    """The queues as one read (the queued and running jobs, measured speeds, workers online): what
    the position and ETA of any number of queued jobs are made from, in a fixed number of queries."""

    def __init__(self):
        self.active = list(Job.objects.filter(state__in=ACTIVE_STATES).only(
            "id", "state", "queue", "priority", "created_at", "progress", "recipe", "source_info"))
        self.rates = _measured_rates()
        self.workers = list(workers_online())

    @staticmethod
    def _starts_before(other: Job, job: Job) -> bool:
        """Whether queued `other` starts before `job` on their queue: higher priority, then older."""
        return (other.state == JobState.QUEUED and other.queue == job.queue and other.pk != job.pk
                and (other.priority, -other.created_at.timestamp()) > (job.priority, -job.created_at.timestamp()))

    def position(self, job: Job) -> int | None:
        """1 for the next queued job to start on its queue, 2 for the one after, ...; None once started."""
        if job.state != JobState.QUEUED:
            return None
        return sum(1 for other in self.active if self._starts_before(other, job)) + 1

    def eta(self, job: Job) -> dict | None:
        """An estimate of the seconds until a queued job is done: the work ahead of it on its queue
        (shared among the queue's workers) plus its own, at the measured throughput."""
        if job.state != JobState.QUEUED:
            return None
        ahead = 0.0
        for other in self.active:
            running_here = other.state == JobState.RUNNING and other.queue == job.queue
            if running_here or self._starts_before(other, job):
                seconds, _measured = _job_seconds(other, self.rates)
                left = 1.0 - (other.progress or {}).get("fraction", 0.0) if running_here else 1.0
                ahead += seconds * max(0.0, left)
        workers = max(1, sum(1 for worker in self.workers if job.queue in worker.queues))
        own, measured = _job_seconds(job, self.rates)
        return {"seconds": round(ahead / workers + own, 1), "measured": measured}


def job_publishable(job: Job) -> bool:
    """Whether its result may still become a version of its item (once it succeeds)."""
    return job.item_id is not None and job.state in (*ACTIVE_STATES, JobState.SUCCEEDED) \
        and not hasattr(job, "version")


def job_events(job: Job) -> list[dict]:
    """The job's timeline, oldest first, each line in the reader's language."""
    return [{"kind": event.kind, "kind_label": event.get_kind_display(), "text": job_event_text(event),
             "worker": event.worker, "data": event.data, "created_at": event.created_at.isoformat()}
            for event in job.events.all()]


def job_event_text(event: JobEvent) -> str:
    data, kind = event.data, JobEvent.Kind
    if event.kind == kind.QUEUED:
        return _("Queued for a %(queue)s worker") % {"queue": data.get("queue", "cpu").upper()}
    if event.kind == kind.STARTED:
        return _("Started on %(worker)s (attempt %(attempt)d)") % {"worker": event.worker, "attempt": data.get("attempt", 1)}
    if event.kind == kind.RECLAIMED:
        return _("Taken over by %(worker)s after its worker stopped responding; resumes from the last "
                 "finished chunk (attempt %(attempt)d)") % {"worker": event.worker, "attempt": data.get("attempt", 1)}
    if event.kind == kind.REQUEUED:
        return _("Put back in the queue: worker %(worker)s stopped responding") % {"worker": event.worker}
    if event.kind == kind.CHUNK_DONE:
        return _("Chunk %(chunk)d done (frames %(first)d to %(last)d)") % data
    if event.kind == kind.FAILED:
        return _("Failed: %(reason)s") % {"reason": event.message}
    if event.kind == kind.SUCCEEDED:
        return _("Finished: %(frames)d frames in %(seconds)d s") % data
    if event.kind == kind.RETRIED:
        return _("Run again as a new job")
    return event.get_kind_display()


def job_snapshot(job: Job) -> dict:
    """The state a page or API client needs to draw a job, the same in every channel."""
    return job_snapshots([job])[0]


def job_snapshots(jobs) -> list[dict]:
    """Snapshots of many jobs in a fixed number of queries, whatever their number."""
    jobs = list(jobs)
    counts = dict(JobEvent.objects.filter(job__in=jobs).order_by().values_list("job").annotate(n=Count("id")))
    queues = QueueState() if any(job.state == JobState.QUEUED for job in jobs) else None
    return [_snapshot(job, events_count=counts.get(job.pk, 0), queues=queues) for job in jobs]


def _snapshot(job: Job, *, events_count: int, queues: QueueState | None) -> dict:
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
            "fraction": 1.0 if job.state == JobState.SUCCEEDED else progress.get("fraction", 0.0),
            "fps": progress.get("fps", 0.0),
            "eta_seconds": progress.get("eta_seconds"),
        },
        "preview": job.preview or None,
        "error": job.error,
        "cancel_requested": job.cancel_requested,
        "attempts": job.attempts,
        "queue": job.queue,
        "queue_position": queues.position(job) if queues else None,
        # Measured speed for the jobs ahead and this one; `measured` is false for a first guess.
        "queue_eta": queues.eta(job) if queues else None,
        "slower_on_cpu": job.queue == "cpu" and recipe_needs_gpu(job.recipe),
        "events_count": events_count,
        "result_url": reverse("jobs:result", args=[job.id]) if job.result else None,
        "source_url": reverse("jobs:source", args=[job.id]),
        "created_at": job.created_at.isoformat() if job.created_at else None,
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def queue_overview() -> dict:
    """What the staff queue page shows: queues, workers, states, throughput, recent failures."""
    online = set(workers_online().values_list("pk", flat=True))
    return {
        "queues": _queue_lengths(),
        "workers": [(worker, worker.pk in online) for worker in WorkerNode.objects.all()],
        "states": _jobs_per_state(),
        "throughput": list(StageThroughput.objects.all()[:30]),
        "failed": list(Job.objects.filter(state=JobState.FAILED).select_related("owner").order_by("-finished_at")[:20]),
    }


def _jobs_per_state() -> list[tuple[str, int]]:
    counts = dict(Job.objects.values_list("state").annotate(n=Count("id")).order_by())
    return [(label, counts.get(value, 0)) for value, label in JobState.choices]


def _queue_lengths() -> list[dict]:
    """Jobs waiting and running per queue, as the database (the truth about jobs) has them."""
    rows = Job.objects.filter(state__in=ACTIVE_STATES).values_list("queue", "state").annotate(
        n=Count("id")).order_by()
    queues: dict[str, dict] = {}
    for queue, state, n in rows:
        row = queues.setdefault(queue, {"queue": queue, "waiting": 0, "running": 0})
        row["waiting" if state == JobState.QUEUED else "running"] += n
    return [queues[name] for name in sorted(queues)]
