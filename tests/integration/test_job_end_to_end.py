"""A job over HTTP, run by a real Celery worker, watched over a real websocket through real Redis."""
import json
import time

import av
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect


FRAMES = 96


@pytest.fixture
def long_clip(make_clip):
    return make_clip(FRAMES, seed=2)


def watch(site, session, job_id, *, timeout=240.0):
    """Collect websocket messages until the job finishes."""
    url = site.url.replace("http", "ws") + f"/ws/jobs/{job_id}/"
    cookie = f"sessionid={session.cookies['sessionid']}"
    messages = []
    with connect(url, additional_headers={"Cookie": cookie}, origin=site.url, open_timeout=10) as ws:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = json.loads(ws.recv(timeout=deadline - time.monotonic()))
            messages.append(message)
            if message["job"].get("state") in ("succeeded", "failed", "cancelled"):
                break
    return messages


def test_job_runs_on_the_worker_with_live_progress_over_websocket(site, long_clip, tmp_path):
    site.make_user("restorer")
    session = site.login("restorer")
    with open(long_clip, "rb") as handle:
        response = session.post(f"{site.url}/api/jobs/", files={"file": ("long.mp4", handle)},
                                data={"recipe": "film-default"}, timeout=30)
    assert response.status_code == 201, response.text
    job_id = response.json()["id"]

    messages = watch(site, session, job_id)
    assert messages[0]["type"] == "snapshot"
    final = messages[-1]["job"]
    assert final["state"] == "succeeded", site.dump_logs()
    progress = [m["job"]["progress"] for m in messages[1:]
                if m["type"] == "event" and m["job"]["state"] == "running" and m["job"]["progress"]["phase"] == "restore"]
    assert len(progress) >= 3, messages
    frames = [p["frame"] for p in progress]
    assert frames == sorted(frames) and 0 < frames[0] < FRAMES
    assert all(p["total"] == FRAMES and p["eta_seconds"] is not None for p in progress)
    assert final["progress"]["fraction"] == 1.0

    result = session.get(site.url + final["result_url"], timeout=30)
    assert result.status_code == 200 and result.headers["Content-Type"] == "video/mp4"
    (tmp_path / "result.mp4").write_bytes(result.content)
    with av.open(str(tmp_path / "result.mp4")) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert sum(1 for _ in container.decode(video=0)) == FRAMES
        assert [s.codec_context.name for s in container.streams.audio] == ["aac"]

    # The state survives a reload: the API and a new websocket give the same finished snapshot.
    assert session.get(f"{site.url}/api/jobs/{job_id}/", timeout=10).json()["state"] == "succeeded"
    assert watch(site, session, job_id)[0]["job"]["state"] == "succeeded"


def test_a_strangers_websocket_is_closed_with_4403(site, long_clip):
    site.make_user("owner2")
    site.make_user("nosy")
    owner = site.login("owner2")
    with open(long_clip, "rb") as handle:
        job_id = owner.post(f"{site.url}/api/jobs/", files={"file": ("c.mp4", handle)},
                            data={"recipe": "film-light"}, timeout=30).json()["id"]
    nosy = site.login("nosy")
    url = site.url.replace("http", "ws") + f"/ws/jobs/{job_id}/"
    with connect(url, additional_headers={"Cookie": f"sessionid={nosy.cookies['sessionid']}"},
                 origin=site.url, open_timeout=10) as ws:
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)
        assert ws.close_code == 4403
