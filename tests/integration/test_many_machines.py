"""The many-machine shape on one machine: web and workers share only the database, Redis and an
S3 bucket (SeaweedFS). Each worker has its own scratch folder and no media folder of the web's;
a worker killed mid-job leaves its chunks in the bucket, and the other worker finishes the job
from them.

The database is the test run's: PostgreSQL in CI's second pass, SQLite (a file all processes
open) in the first.
"""
import os
import secrets
import signal
from pathlib import Path

import av
import numpy as np
import pytest
import requests

from engine.pipeline import Pipeline
from engine.recipes import recipe_from_dict
from jobs.models import Job
from restoration_site.media import media_list
from restoration_site.storage_url import media_storage_from_url
from tests.engine.helpers import assert_same_encoded_frames

import site_processes  # scripts/site_processes.py, put on the path by tests/conftest.py

from .clients import Watcher, launch, wait_for
from .conftest import Site
from .conftest import test_database_url as database_url  # an alias, so pytest does not collect it

FRAMES = 96
CHUNK = 16


def stored_chunks(job_id) -> list[str]:
    return [name for name in media_list(f"jobs/{job_id}/checkpoint") if name.endswith(".mkv")]


@pytest.fixture
def machines(transactional_db, settings, tmp_path, seaweedfs):
    """daphne, Celery beat and two Celery workers ("west" and "east"), each with its own SCRATCH_DIR
    and a MEDIA_ROOT that is not the web's (and does not exist); media in a fresh bucket."""
    bucket = f"machines-{secrets.token_hex(4)}"
    seaweedfs.create_bucket(bucket)
    storage_url = seaweedfs.storage_url(bucket)
    settings.STORAGES = {**settings.STORAGES, "default": media_storage_from_url(storage_url)}
    logs = tmp_path / "logs"
    logs.mkdir()
    redis_port, web_port = site_processes.free_port(), site_processes.free_port()
    shared = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    shared.update(DJANGO_SETTINGS_MODULE="restoration_site.settings", DATABASE_URL=database_url(),
                  REDIS_URL=f"redis://127.0.0.1:{redis_port}/0", MEDIA_STORAGE_URL=storage_url, DEBUG="1",
                  PYTHONUNBUFFERED="1", JOB_STALE_SECONDS="3", JOB_REAP_INTERVAL="1", JOB_CHUNK_FRAMES=str(CHUNK))

    def machine(name: str) -> dict:
        return {**shared, "MEDIA_ROOT": str(tmp_path / name / "no-media"), "SCRATCH_DIR": str(tmp_path / name / "scratch")}

    site = Site(url=f"http://127.0.0.1:{web_port}", env=machine("web"), logs=logs, media=tmp_path / "web" / "no-media")
    site.workers = {}
    processes = []
    try:
        processes.append(site_processes.start_redis(redis_port, tmp_path / "redis", log=open(logs / "redis.log", "wb")))
        for name in ("west", "east"):
            worker = site_processes.start_worker(machine(name), name=name, log=open(logs / f"worker-{name}.log", "wb"))
            site.workers[name] = worker
            processes.append(worker)
        processes.append(site_processes.start_beat(machine("beat"), tmp_path / "beat-schedule",
                                                   log=open(logs / "beat.log", "wb")))
        # Beside beat, the worker of the periodic repairs (the reaper among them).
        processes.append(site_processes.start_maintenance_worker(machine("beat"), log=open(logs / "maintenance.log", "wb")))
        processes.append(site_processes.start_web(site.env, "127.0.0.1", web_port, log=open(logs / "web.log", "wb")))
        site_processes.wait_until(lambda: site_processes.worker_ready(shared), timeout=60, what="The Celery workers")
        yield site
    except BaseException:
        print(site.dump_logs())
        raise
    finally:
        site_processes.stop(list(reversed(processes)))


def decoded(path: Path) -> tuple[list[np.ndarray], float]:
    """A video's frames and its audio stream's duration in seconds."""
    with av.open(str(path)) as container:
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    with av.open(str(path)) as container:
        audio = container.streams.audio[0]
        seconds = float(audio.duration * audio.time_base) if audio.duration else float(container.duration / 1e6)
    return frames, seconds


def test_a_worker_killed_mid_job_the_other_worker_finishes_it_from_the_chunks_in_the_bucket(
        machines, make_clip, tmp_path):
    clip = make_clip(FRAMES, seed=11)
    session, job_id = launch(machines, clip)
    watcher = Watcher(machines, session, job_id)
    watcher.start()
    wait_for(lambda: len(stored_chunks(job_id)) >= 2, "two chunks uploaded to the bucket", timeout=240)
    first = Job.objects.get(pk=job_id).worker.partition("@")[0]
    other = "east" if first == "west" else "west"
    killed = machines.workers[first]
    os.killpg(killed.pid, signal.SIGKILL)  # the whole worker, pool and all: its machine is gone
    killed.wait()
    kept = len(stored_chunks(job_id))

    assert watcher.done.wait(300), machines.dump_logs()
    job = Job.objects.get(pk=job_id)
    assert (job.state, job.attempts, job.worker.partition("@")[0]) == ("succeeded", 2, other), \
        job.error + machines.dump_logs()
    progress = [(m["job"]["attempts"], m["job"]["progress"]["frame"]) for _, m in watcher.messages
                if m["job"]["progress"].get("phase") == "restore"]
    assert any(attempt == 1 for attempt, _frame in progress), progress
    resumed = [frame for attempt, frame in progress if attempt == 2]
    # The second attempt starts after the chunks the first left in the bucket, not at frame 0.
    assert resumed and min(resumed) >= (kept - 1) * CHUNK, (kept, progress)

    # The result comes through the web: a redirect to a presigned URL of the bucket.
    answer = session.get(f"{machines.url}/jobs/{job_id}/result/", timeout=30, allow_redirects=False)
    assert answer.status_code == 302, answer.text
    result = tmp_path / "result.mp4"
    result.write_bytes(requests.get(answer.headers["Location"], timeout=30).content)

    # An uninterrupted run of the same recipe on the same clip, here: the same frames, audio kept.
    recipe = {k: v for k, v in job.recipe.items() if k != "provenance"}
    reference = tmp_path / "reference.mp4"
    Pipeline(recipe_from_dict(recipe), chunk_frames=CHUNK).run(clip, reference, checkpoint_dir=tmp_path / "ref-chunks")
    (ours, our_audio), (theirs, their_audio) = decoded(result), decoded(reference)
    assert len(ours) == len(theirs) == FRAMES
    assert_same_encoded_frames(ours, theirs)
    assert abs(our_audio - FRAMES / 12) < 0.1 and abs(our_audio - their_audio) < 0.05

    # Nothing went through a shared folder: no media folder was made anywhere, the bucket's
    # checkpoint is gone, and the finishing worker cleaned its scratch.
    machine_folders = tmp_path.glob("*/no-media")
    assert list(machine_folders) == []
    assert stored_chunks(job_id) == []
    assert not list((tmp_path / other / "scratch").glob(f"jobs/{job_id}/*"))
