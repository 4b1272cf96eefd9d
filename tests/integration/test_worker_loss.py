"""A worker process killed with SIGKILL mid-job: the job is picked up again and resumes from its checkpoint."""
import json
import threading
import time

import av
import psutil
import pytest
from websockets.sync.client import connect

from engine.pipeline import Pipeline
from engine.recipes import load_recipe
from jobs.models import Job

FRAMES = 240
CHUNK = 16


@pytest.fixture
def clip(make_clip):
    return make_clip(FRAMES, seed=5)


def record_progress(site, session, job_id, frames: list, done: threading.Event):
    url = site.url.replace("http", "ws") + f"/ws/jobs/{job_id}/"
    with connect(url, additional_headers={"Cookie": f"sessionid={session.cookies['sessionid']}"},
                 origin=site.url, open_timeout=10) as ws:
        while not done.is_set():
            try:
                message = json.loads(ws.recv(timeout=1))
            except TimeoutError:
                continue
            job = message["job"]
            if job.get("state") == "running" and job["progress"]["phase"] in ("starting", "restore"):
                frames.append((job["attempts"], job["progress"]["frame"]))
            if job.get("state") in ("succeeded", "failed", "cancelled"):
                done.set()


@pytest.mark.site_env(JOB_STALE_SECONDS="3", JOB_CHUNK_FRAMES=str(CHUNK))
def test_sigkill_of_the_worker_process_resumes_from_the_last_chunk(site, clip, tmp_path):
    site.make_user("patient")
    session = site.login("patient")
    with open(clip, "rb") as handle:
        response = session.post(f"{site.url}/api/jobs/", files={"file": ("long.mp4", handle)},
                                data={"recipe": "film-default"}, timeout=30)
    job_id = response.json()["id"]
    frames, done = [], threading.Event()
    listener = threading.Thread(target=record_progress, args=(site, session, job_id, frames, done), daemon=True)
    listener.start()

    checkpoint = site.media / "jobs" / job_id / "checkpoint"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(checkpoint.glob("chunk-*.mkv"))) < 3:
        time.sleep(0.05)
    pool = psutil.Process(site.worker.pid).children()
    assert len(pool) == 1, "expected one pool process running the job"
    chunks_at_kill = len(list(checkpoint.glob("chunk-*.mkv")))
    pool[0].kill()  # SIGKILL: no cleanup, no acknowledgement

    assert done.wait(180), site.dump_logs()
    job = Job.objects.get(pk=job_id)
    assert job.state == "succeeded", job.error + site.dump_logs()
    assert job.attempts == 2
    assert chunks_at_kill < FRAMES // CHUNK, "the job finished before the worker could be killed"
    # The second attempt (claimed once the heartbeat was 3 s stale) started at the last finished
    # chunk, less the recipe's frames of temporal context, not at the first frame.
    context = Pipeline(load_recipe("film-default")).context_frames
    resumed = [frame for attempt, frame in frames if attempt == 2 and frame > 0]
    assert resumed and min(resumed) >= chunks_at_kill * CHUNK - context + 1, (chunks_at_kill, frames)

    result = session.get(site.url + f"/jobs/{job_id}/result/", timeout=30)
    (tmp_path / "result.mp4").write_bytes(result.content)
    with av.open(str(tmp_path / "result.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == FRAMES
        assert [s.codec_context.name for s in container.streams.audio] == ["aac"]
    assert not checkpoint.exists()
