"""Clients of a running site for the integration tests: a websocket watcher like the job page's,
a launch over the API, waiting for a condition."""
import json
import threading
import time

from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from jobs.models import Job

FINISHED = ("succeeded", "failed", "cancelled")


class Watcher(threading.Thread):
    """A websocket client that behaves like static/js/job.js: when the socket drops it reconnects with
    a doubling delay, until the job finishes. Records (connection number, message) pairs."""

    def __init__(self, site, session, job_id):
        super().__init__(daemon=True)
        self.url = site.url.replace("http", "ws") + f"/ws/jobs/{job_id}/"
        self.origin = site.url
        self.cookie = f"sessionid={session.cookies['sessionid']}"
        self.messages: list[tuple[int, dict]] = []
        self.connections = 0
        self.done = threading.Event()

    def run(self):
        delay = 0.25
        while not self.done.is_set():
            try:
                with connect(self.url, additional_headers={"Cookie": self.cookie}, origin=self.origin,
                             open_timeout=5) as ws:
                    self.connections += 1
                    delay = 0.25
                    while True:
                        message = json.loads(ws.recv())
                        self.messages.append((self.connections, message))
                        if message["job"]["state"] in FINISHED:
                            self.done.set()
                            return
            except (ConnectionClosed, InvalidStatus, OSError, TimeoutError):
                time.sleep(delay)
                delay = min(delay * 2, 4.0)

    def after(self, connection: int) -> list[dict]:
        return [message for number, message in self.messages if number >= connection]


def launch(site, clip, recipe="film-default"):
    site.make_user("restorer")
    session = site.login("restorer")
    with open(clip, "rb") as handle:
        response = session.post(f"{site.url}/api/jobs/", files={"file": ("clip.mp4", handle)},
                                data={"recipe": recipe}, timeout=30)
    assert response.status_code == 201, response.text
    return session, response.json()["id"]


def wait_for(check, what: str, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def frame_in_db(job_id) -> int:
    job = Job.objects.get(pk=job_id)
    return job.progress.get("frame", 0) if job.state == "running" and job.progress.get("phase") == "restore" else 0


