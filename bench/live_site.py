"""A real site for the queue benchmarks: a private Redis, N Celery workers and daphne on a fresh SQLite DB.

The same processes `make run` starts (scripts/site_processes.py), in a temporary folder, with the
per-user caps raised so that one user can launch the benchmark's jobs.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
import site_processes  # noqa: E402

PASSWORD = "pw-for-benchmarks-1"
MAKE_USER = """
import django; django.setup()
from django.contrib.auth import get_user_model
get_user_model().objects.create_user(username="bench", password=%r)
""" % PASSWORD


class LiveSite:
    def __init__(self, workers: int, **settings: str):
        self.work = Path(tempfile.mkdtemp(prefix="bench-queue-"))
        self.db = self.work / "db.sqlite3"
        redis_port, web_port = site_processes.free_port(), site_processes.free_port()
        self.url = f"http://127.0.0.1:{web_port}"
        self.env = {**os.environ, "DJANGO_SETTINGS_MODULE": "restoration_site.settings", "DEBUG": "1",
                    "DATABASE_URL": f"sqlite:///{self.db}", "MEDIA_ROOT": str(self.work / "media"),
                    "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0", "LOG_LEVEL": "WARNING",
                    "JOB_MAX_ACTIVE_PER_USER": "1000", "JOB_LAUNCH_RATE": "10000/hour", **settings}
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=self.env, check=True)
        subprocess.run([sys.executable, "-c", MAKE_USER], cwd=ROOT, env=self.env, check=True)
        self.processes = [site_processes.start_redis(redis_port, self.work / "redis", log=self.log("redis"))]
        try:
            self.processes.append(site_processes.start_web(self.env, "127.0.0.1", web_port, log=self.log("web")))
            self.workers = 0
            for _ in range(workers):
                self.add_worker()
        except BaseException:
            self.stop()
            raise

    def add_worker(self) -> None:
        """Start one more Celery worker (concurrency 1) and wait until it answers."""
        name = f"cpu{self.workers}"
        self.processes.append(site_processes.start_worker(self.env, name=name, log=self.log(f"worker-{name}")))
        self.workers += 1
        site_processes.wait_until(lambda: self.workers_answering() >= self.workers, timeout=120, what=f"Worker {name}")

    def log(self, name: str):
        return open(self.work / f"{name}.log", "wb")

    def workers_answering(self) -> int:
        result = subprocess.run([sys.executable, "-m", "celery", "-A", "restoration_site", "inspect", "ping",
                                 "--timeout", "2"], cwd=ROOT, env=self.env, capture_output=True, text=True)
        return result.stdout.count("pong")

    def login(self) -> requests.Session:
        session = requests.Session()
        session.get(f"{self.url}/accounts/login/", timeout=30)
        response = session.post(f"{self.url}/accounts/login/", timeout=30, data={
            "username": "bench", "password": PASSWORD, "csrfmiddlewaretoken": session.cookies["csrftoken"]})
        assert response.url.rstrip("/") == self.url, "login failed"
        session.headers.update({"X-CSRFToken": session.cookies["csrftoken"], "Referer": self.url + "/"})
        return session

    def launch(self, session: requests.Session, clip: Path, recipe: str) -> str:
        with open(clip, "rb") as handle:
            response = session.post(f"{self.url}/api/jobs/", files={"file": (clip.name, handle)},
                                    data={"recipe": recipe}, timeout=120)
        response.raise_for_status()
        return response.json()["id"]

    def stop(self) -> None:
        site_processes.stop(list(reversed(self.processes)))


def make_clip(folder: Path, frames: int, size=(160, 120), fps: float = 12.0) -> Path:
    from skimage import data

    from engine.synthetic import make_old_film

    path = folder / f"clip-{frames}-{size[0]}x{size[1]}.mp4"
    make_old_film(data.astronaut(), path, seconds=frames / fps, fps=fps, size=size, seed=3)
    return path


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]
