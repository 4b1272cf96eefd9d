"""Faults with real processes: Redis or the web server restarted mid-job, a chunk damaged between attempts."""
import os
import signal

import av
import psutil
import pytest

from jobs.models import Job

import site_processes  # scripts/site_processes.py, put on the path by conftest: how the site's processes start

from .clients import Watcher, frame_in_db, launch, wait_for

FRAMES = 240
CHUNK = 16


def child_process(name: str) -> psutil.Process:
    """One of the site's processes (started by this test process), found by a word of its command line."""
    found = [p for p in psutil.Process().children() if name in " ".join(p.cmdline())]
    assert len(found) == 1, found
    return found[0]


@pytest.fixture
def restarted():
    """Processes a test starts again; stopped at the end like the site's own."""
    processes = []
    yield processes
    site_processes.stop(processes)


@pytest.mark.site_env(JOB_CHUNK_FRAMES=str(CHUNK))
def test_redis_restarted_mid_job_the_job_finishes_and_pages_reconnect(site, make_clip, tmp_path, restarted):
    session, job_id = launch(site, make_clip(FRAMES, seed=7))
    watcher = Watcher(site, session, job_id)
    watcher.start()
    wait_for(lambda: frame_in_db(job_id) > 0, "the job to start restoring")

    redis = child_process("redis-server")
    port = int(site.env["REDIS_URL"].rsplit(":", 1)[1].split("/")[0])
    redis.terminate()
    redis.wait(10)
    # Redis is down: the worker goes on restoring and writing progress to the DB.
    frame_at_stop = frame_in_db(job_id)
    wait_for(lambda: frame_in_db(job_id) > frame_at_stop + CHUNK, "progress in the DB while Redis is down")
    connections_before = watcher.connections
    restarted.append(site_processes.start_redis(port, tmp_path / "redis", log=open(site.logs / "redis-2.log", "wb")))
    assert Job.objects.get(pk=job_id).state == "running", "the job finished before Redis came back"

    assert watcher.done.wait(180), site.dump_logs()
    job = Job.objects.get(pk=job_id)
    assert job.state == "succeeded", job.error + site.dump_logs()
    assert job.attempts == 1  # it went on in the same attempt: nothing redone
    # The page's socket dropped with Redis, came back by itself, got the DB snapshot, then live events.
    assert watcher.connections > connections_before
    again = watcher.after(connections_before + 1)
    assert again[0]["type"] == "snapshot"
    assert [m for m in again[1:] if m["type"] == "event"], again
    assert again[-1]["job"]["state"] == "succeeded"
    live = [m["job"]["progress"]["frame"] for m in again if m["job"]["progress"]["phase"] == "restore"]
    assert live == sorted(live)


@pytest.mark.site_env(JOB_CHUNK_FRAMES=str(CHUNK))
def test_web_server_restarted_mid_job_nothing_is_lost(site, make_clip, restarted):
    session, job_id = launch(site, make_clip(FRAMES, seed=8))
    watcher = Watcher(site, session, job_id)
    watcher.start()
    wait_for(lambda: frame_in_db(job_id) > 0, "the job to start restoring")

    web = child_process("daphne")
    web.terminate()
    web.wait(15)
    # The web server is down: the job goes on in the worker.
    frame_at_stop = frame_in_db(job_id)
    wait_for(lambda: frame_in_db(job_id) > frame_at_stop + CHUNK, "progress while the web server is down")
    connections_before = watcher.connections
    port = int(site.url.rsplit(":", 1)[1])
    restarted.append(site_processes.start_web(site.env, "127.0.0.1", port, log=open(site.logs / "web-2.log", "wb")))
    assert Job.objects.get(pk=job_id).state == "running", "the job finished before the web server came back"

    assert watcher.done.wait(180), site.dump_logs()
    job = Job.objects.get(pk=job_id)
    assert (job.state, job.attempts) == ("succeeded", 1), job.error + site.dump_logs()
    again = watcher.after(connections_before + 1)
    assert again[0]["type"] == "snapshot" and again[0]["job"]["progress"]["frame"] > frame_at_stop
    assert again[-1]["job"]["state"] == "succeeded"
    # The session outlived the server: the result downloads with the same cookie.
    assert session.get(site.url + again[-1]["job"]["result_url"], timeout=30).status_code == 200


@pytest.mark.site_env(JOB_STALE_SECONDS="3", JOB_CHUNK_FRAMES=str(CHUNK))
def test_a_chunk_damaged_while_the_worker_was_down_is_made_again(site, make_clip, tmp_path):
    frames = 128
    session, job_id = launch(site, make_clip(frames, seed=9))
    watcher = Watcher(site, session, job_id)
    watcher.start()
    checkpoint = site.media / "jobs" / job_id / "checkpoint"
    wait_for(lambda: len(list(checkpoint.glob("chunk-*.mkv"))) >= 3, "three finished chunks")
    (pool,) = psutil.Process(site.worker.pid).children()
    pool.kill()  # SIGKILL mid-job; the job is claimed again once its heartbeat is 3 s old
    chunk = checkpoint / "chunk-00001.mkv"
    chunk.write_bytes(chunk.read_bytes()[:1000])

    assert watcher.done.wait(180), site.dump_logs()
    job = Job.objects.get(pk=job_id)
    assert (job.state, job.attempts) == ("succeeded", 2), job.error + site.dump_logs()
    # The second attempt kept chunk 0 and made chunk 1 (frames 17-32) again, from its context on.
    resumed = [m["job"]["progress"]["frame"] for _, m in watcher.messages
               if m["job"]["attempts"] == 2 and m["job"]["progress"]["phase"] == "restore"]
    assert resumed and 0 < min(resumed) <= CHUNK, resumed
    result = session.get(site.url + f"/jobs/{job_id}/result/", timeout=30)
    (tmp_path / "result.mp4").write_bytes(result.content)
    with av.open(str(tmp_path / "result.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == frames
    assert not checkpoint.exists()


def vanish(worker):
    """SIGKILL a whole Celery worker, pool and all: nothing hands its job back, only the reaper can notice."""
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()


@pytest.mark.site_env(JOB_STALE_SECONDS="3", JOB_MAX_ATTEMPTS="2", JOB_REAP_INTERVAL="1",
                      JOB_CHUNK_FRAMES=str(CHUNK))
def test_a_job_whose_worker_vanished_is_requeued_then_given_up(site, make_clip, tmp_path, restarted):
    session, job_id = launch(site, make_clip(FRAMES, seed=10))
    restarted.append(site_processes.start_beat(site.env, tmp_path / "beat-schedule", log=open(site.logs / "beat.log", "wb")))
    restarted.append(site_processes.start_maintenance_worker(site.env, log=open(site.logs / "maintenance.log", "wb")))
    wait_for(lambda: frame_in_db(job_id) > 0, "the job to start restoring")
    vanish(site.worker)
    # The reaper (sent by beat to the maintenance worker) re-queues the job; the new worker resumes it.
    restarted.append(site_processes.start_worker(site.env, name="second", log=open(site.logs / "worker-2.log", "wb")))
    wait_for(lambda: Job.objects.get(pk=job_id).attempts == 2 and frame_in_db(job_id) > 0,
             "the job to run again on the second worker", timeout=180)
    vanish(restarted[-1])
    restarted.append(site_processes.start_worker(site.env, name="third", log=open(site.logs / "worker-3.log", "wb")))
    wait_for(lambda: Job.objects.get(pk=job_id).state != "running", "the reaper to give up", timeout=180)

    job = Job.objects.get(pk=job_id)
    assert (job.state, job.attempts) == ("failed", 2), site.dump_logs()
    assert job.error == "The worker running this job stopped responding 2 times; the job was given up."
    assert not job.result and not (site.media / "jobs" / job_id / "checkpoint").exists()
    assert session.get(f"{site.url}/api/jobs/{job_id}/", timeout=10).json()["error"] == job.error
