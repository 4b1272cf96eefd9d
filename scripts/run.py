"""Set up and run the whole site on one machine: Redis, a Celery worker and the ASGI server.

Usage: python scripts/run.py [--host 127.0.0.1] [--port 8000]   (the README's `make run`)
With MEDIA_STORAGE=seaweedfs (and no MEDIA_STORAGE_URL) it starts a local SeaweedFS for the media.
Ctrl-C stops every process this started.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import site_processes  # noqa: E402

ROOT = site_processes.ROOT


def manage(*args: str, env: dict) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
    args = parser.parse_args()

    if not site_processes.port_is_free(args.host, args.port):
        print(f"Port {args.port} on {args.host} is in use. Choose another: make run PORT=8080", file=sys.stderr)
        return 2

    env = dict(os.environ)
    media_storage = env.get("MEDIA_STORAGE", "").strip().lower()
    if media_storage not in ("", "seaweedfs"):
        print(f"MEDIA_STORAGE must be seaweedfs or empty (files under MEDIA_ROOT), not {media_storage!r}.",
              file=sys.stderr)
        return 2
    var = ROOT / "var"
    (var / "log").mkdir(parents=True, exist_ok=True)
    processes: list[subprocess.Popen] = []
    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        if "REDIS_URL" not in env:
            redis_port = site_processes.free_port()
            print(f"Starting Redis on 127.0.0.1:{redis_port} ({site_processes.redis_server_binary()})")
            processes.append(site_processes.start_redis(redis_port, var / "redis", log=open(var / "log" / "redis.log", "ab")))
            env["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
        else:
            print(f"Using Redis at {env['REDIS_URL']}")
        if env.get("MEDIA_STORAGE_URL"):
            print("Media go to the bucket of MEDIA_STORAGE_URL")
        elif media_storage == "seaweedfs":
            s3_port = site_processes.free_port()
            print(f"Starting SeaweedFS (S3) on 127.0.0.1:{s3_port} ({site_processes.seaweedfs_binary()})")
            seaweedfs = site_processes.start_seaweedfs(s3_port, var / "seaweedfs",
                                                       log=open(var / "log" / "seaweedfs.log", "ab"))
            processes.append(seaweedfs.process)
            seaweedfs.create_bucket("media")
            env["MEDIA_STORAGE_URL"] = seaweedfs.storage_url("media")
        print("Preparing the database, static files and demo content")
        manage("migrate", "--noinput", "-v", "0", env=env)
        manage("collectstatic", "--noinput", "-v", "0", env=env)
        manage("seed_demo", env=env)
        # A machine with a GPU takes the GPU recipes too; the worker tells the site what it can run.
        queues, name = ("cpu,gpu", "gpu") if site_processes.has_gpu() else ("cpu", "cpu")
        print(f"Starting a Celery worker (queues: {queues}), Celery beat (periodic tasks) and the ASGI server (daphne)")
        worker_log = open(var / "log" / "worker.log", "ab")
        processes.append(site_processes.start_worker(env, queues=queues, name=name, log=worker_log))
        processes.append(site_processes.start_beat(env, var / "celerybeat-schedule", log=open(var / "log" / "beat.log", "ab")))
        processes.append(site_processes.start_web(env, args.host, args.port, log=open(var / "log" / "web.log", "ab")))
        print(f"\nThe site is up at http://{args.host}:{args.port}/  (logs in var/log/; Ctrl-C stops everything)\n")
        while not stopping:
            for process in processes:
                if process.poll() is not None:
                    print(f"A process exited (code {process.returncode}): {' '.join(process.args[:4])}; stopping.",
                          file=sys.stderr)
                    return 1
            time.sleep(0.5)
        return 0
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"Could not start the site: {exc}", file=sys.stderr)
        return 1
    finally:
        print("Stopping…")
        site_processes.stop(list(reversed(processes)))


if __name__ == "__main__":
    sys.exit(main())
