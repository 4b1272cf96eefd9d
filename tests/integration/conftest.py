"""Real processes for integration tests: a private Redis, a Celery worker and daphne, sharing the test DB."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from django.db import connection
from skimage import data

from engine.synthetic import make_old_film
from tests.integration import browser

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import site_processes  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives the site in Chromium (tests/integration/browser.py)")


def pytest_collection_finish(session):
    """The browser tests never skip: without Chromium a run that selects them stops at once, saying
    how to install it."""
    if browser.CHROMIUM is None and any(item.get_closest_marker("browser") for item in session.items):
        pytest.exit(browser.MISSING_MESSAGE, returncode=pytest.ExitCode.USAGE_ERROR)


def pytest_terminal_summary(terminalreporter):
    """A line saying how many browser tests ran, and in which browser."""
    outcomes = {}
    for outcome in ("passed", "failed", "error", "skipped"):
        reports = [report for report in terminalreporter.stats.get(outcome, [])
                   if "browser" in getattr(report, "keywords", {}) and (outcome != "passed" or report.when == "call")]
        if reports:
            outcomes[outcome] = len({report.nodeid for report in reports})
    if outcomes:
        counts = ", ".join(f"{count} {outcome}" for outcome, count in outcomes.items())
        terminalreporter.write_line(f"browser tests: {counts} (Chromium: {browser.CHROMIUM})")


@dataclass
class Site:
    url: str
    env: dict
    logs: Path
    media: Path
    worker: object = None

    def make_user(self, username: str, password: str = "pw-for-integration-1", **extra):
        from django.contrib.auth import get_user_model
        from django.contrib.auth.hashers import make_password

        # PBKDF2: the hasher the real settings of the web process know.
        return get_user_model().objects.create(username=username, password=make_password(password, hasher="pbkdf2_sha256"),
                                               **extra)

    def login(self, username: str, password: str = "pw-for-integration-1") -> requests.Session:
        session = requests.Session()
        session.get(f"{self.url}/accounts/login/", timeout=10)
        response = session.post(f"{self.url}/accounts/login/", timeout=10, data={
            "username": username, "password": password, "csrfmiddlewaretoken": session.cookies["csrftoken"]})
        assert response.url.rstrip("/") == self.url, "login failed"
        session.headers.update({"X-CSRFToken": session.cookies["csrftoken"], "Referer": self.url + "/"})
        return session

    def dump_logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in sorted(self.logs.iterdir()))


def test_database_url() -> str:
    settings = connection.settings_dict
    if settings["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings['NAME']}"
    user = settings.get("USER") or "postgres"
    return f"postgres://{user}@{settings.get('HOST') or '127.0.0.1'}:{settings.get('PORT') or 5432}/{settings['NAME']}"


@pytest.fixture
def make_clip(tmp_path):
    """make_clip(frames) -> a degraded 12 fps, 320x240 clip with audio of that many frames."""

    def make(frames: int, photo=None, seed: int = 0) -> Path:
        path = tmp_path / f"clip-{frames}-{seed}.mp4"
        make_old_film(photo if photo is not None else data.astronaut(), path, seconds=frames / 12, fps=12.0,
                      size=(320, 240), seed=seed)
        return path

    return make


@pytest.fixture
def site(request, transactional_db, settings, tmp_path):
    """Redis + Celery worker + daphne, all real, on free loopback ports.

    A test may add settings for the processes with `@pytest.mark.site_env(NAME="value")`.
    """
    logs = tmp_path / "logs"
    logs.mkdir()
    media = tmp_path / "media"
    settings.MEDIA_ROOT = media
    redis_port, web_port = site_processes.free_port(), site_processes.free_port()
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(DJANGO_SETTINGS_MODULE="restoration_site.settings", DATABASE_URL=test_database_url(),
               REDIS_URL=f"redis://127.0.0.1:{redis_port}/0", MEDIA_ROOT=str(media), DEBUG="1",
               PYTHONUNBUFFERED="1")
    marker = request.node.get_closest_marker("site_env")
    env.update(marker.kwargs if marker else {})
    processes = []
    site = Site(url=f"http://127.0.0.1:{web_port}", env=env, logs=logs, media=media)
    try:
        processes.append(site_processes.start_redis(redis_port, tmp_path / "redis", log=open(logs / "redis.log", "wb")))
        worker = site_processes.start_worker(env, log=open(logs / "worker.log", "wb"))
        site.worker = worker
        processes.append(worker)
        processes.append(site_processes.start_web(env, "127.0.0.1", web_port, log=open(logs / "web.log", "wb")))
        site_processes.wait_until(lambda: site_processes.worker_ready(env), timeout=60, what="The Celery worker", process=worker)
        yield site
    except BaseException:
        print(site.dump_logs())
        raise
    finally:
        site_processes.stop(list(reversed(processes)))
