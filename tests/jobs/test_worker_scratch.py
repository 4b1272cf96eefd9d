"""A worker starting up clears what a killed worker left in this machine's scratch folder."""
from jobs.models import JobState
from jobs.services.lifecycle import job_cancel
from jobs.services.workers import worker_scratch_sweep
from restoration_site.media import scratch_dir

from .factories import job_for


def test_folders_of_finished_jobs_go_and_those_of_active_jobs_stay(owner, film_clip, settings, tmp_path):
    settings.SCRATCH_DIR = tmp_path / "scratch"
    queued, cancelled = job_for(owner, film_clip), job_for(owner, film_clip)
    job_cancel(job=cancelled)
    for job in (queued, cancelled):
        (scratch_dir("jobs", str(job.id), "attempt-1-0a1b2c3d") / "source.mp4").write_bytes(b"left by a killed worker")
    gone = scratch_dir("jobs", "6f1c1f4e-5a55-4d7e-9a51-2b7b2f0f7c11")  # a job deleted since
    other = scratch_dir("jobs", "not-a-job")

    swept = worker_scratch_sweep()

    assert sorted(swept) == sorted([str(cancelled.id), gone.name])
    assert not (tmp_path / "scratch" / "jobs" / str(cancelled.id)).exists() and not gone.exists()
    assert (tmp_path / "scratch" / "jobs" / str(queued.id) / "attempt-1-0a1b2c3d" / "source.mp4").exists()
    assert other.exists()
    assert (queued.state, cancelled.state) == (JobState.QUEUED, JobState.CANCELLED)


def test_an_empty_scratch_folder_is_no_error(db, settings, tmp_path):
    settings.SCRATCH_DIR = tmp_path / "scratch"
    assert worker_scratch_sweep() == []
