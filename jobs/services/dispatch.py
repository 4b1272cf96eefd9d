"""Handing a job to the broker. When the broker is unreachable the job stays queued in the DB,
marked for the reaper to send again, so a launch during a Redis outage is not lost."""
from __future__ import annotations

import logging

from celery import current_app
from kombu.exceptions import OperationalError as KombuOperationalError

from jobs.models import Job

logger = logging.getLogger(__name__)

# The task jobs.tasks registers; looked up by name so that services never import the tasks
# module (which imports services).
RUN_TASK = "jobs.run_job"
# Celery message priority per user priority. On Redis the lowest number is consumed first, and
# kombu keeps the steps 0, 3, 6, 9: normal jobs take 6 so that partners' jobs (3) overtake them.
CELERY_PRIORITY = {0: 6, 1: 3}


def job_enqueue(job: Job) -> bool:
    """Send the job's message to its queue; False (and the job marked) when the broker is away."""
    try:
        current_app.tasks[RUN_TASK].apply_async(args=[str(job.id)], queue=job.queue,
                                                priority=CELERY_PRIORITY.get(job.priority, 6), retry=False)
    except (KombuOperationalError, OSError):
        logger.warning("Broker unreachable; job %s will be sent again by the reaper", job.id)
        Job.objects.filter(pk=job.pk).update(dispatch_pending=True)
        return False
    if job.dispatch_pending:
        Job.objects.filter(pk=job.pk).update(dispatch_pending=False)
        job.dispatch_pending = False
    return True
