"""Measured speed of finished jobs per set of stages and device: what ETAs are made from."""
from __future__ import annotations

from jobs.models import Job, StageThroughput
from jobs.selectors import job_megapixels, stage_key

# Weight of the newest job in the moving average: recent enough to follow a change of hardware,
# smooth enough that one odd clip does not swing every ETA.
THROUGHPUT_SMOOTHING = 0.3


def throughput_record(*, job: Job) -> None:
    """Fold a succeeded job's speed into the measured throughput of its stages on its device.

    Only first attempts count: a resumed run's wall time misses the frames done before it.
    """
    if job.attempts != 1 or not job.started_at or not job.finished_at:
        return
    seconds = (job.finished_at - job.started_at).total_seconds()
    frames = job.source_info.get("frame_count", 0)
    if seconds <= 0 or frames <= 0:
        return
    fps, mpx_per_second = frames / seconds, job_megapixels(job) / seconds
    row, created = StageThroughput.objects.get_or_create(
        stages=stage_key(job.recipe), device=job.queue,
        defaults={"fps": fps, "mpx_per_second": mpx_per_second, "samples": 1})
    if not created:
        row.fps += THROUGHPUT_SMOOTHING * (fps - row.fps)
        row.mpx_per_second += THROUGHPUT_SMOOTHING * (mpx_per_second - row.mpx_per_second)
        row.samples += 1
        row.save()
