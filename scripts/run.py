"""Set up and run the whole site on one machine: Redis, Celery workers and beat, and the ASGI server.

Usage: python scripts/run.py [--host 127.0.0.1] [--port 8000]   (the README's `make run`)
With MEDIA_STORAGE=seaweedfs (and no MEDIA_STORAGE_URL) it starts a local SeaweedFS for the media.
A process that exits is started again (site_processes.Supervisor). Ctrl-C stops every process this
started: the web server and beat first, then the workers warmly (a running job is handed back, to
resume at the next start), the media store and Redis last.
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
# A worker handing back its job stops at the job's next frame; a slow recipe's frame can take a while.
WORKER_STOP_GRACE = float(os.environ.get("WORKER_STOP_GRACE", 90))
STOP_ORDER = [["web", "beat"], ["worker", "maintenance worker"], ["seaweedfs"], ["redis"]]


class Interrupted(Exception):
    """Ctrl-C (or SIGTERM) while the site was still starting."""


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

    def log(name: str):
        return open(var / "log" / f"{name}.log", "ab")

    supervisor = site_processes.Supervisor()
    state = {"starting": True, "stopping": False}

    def on_signal(signum, frame):
        state["stopping"] = True
        if state["starting"]:
            raise Interrupted

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        if "REDIS_URL" not in env:
            redis_port = site_processes.free_port()
            print(f"Starting Redis on 127.0.0.1:{redis_port} ({site_processes.redis_server_binary()})")
            redis_log = log("redis")
            supervisor.start("redis", lambda: site_processes.start_redis(redis_port, var / "redis", log=redis_log))
            env["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
        else:
            print(f"Using Redis at {env['REDIS_URL']}")
        if env.get("MEDIA_STORAGE_URL"):
            print("Media go to the bucket of MEDIA_STORAGE_URL")
        elif media_storage == "seaweedfs":
            s3_port = site_processes.free_port()
            print(f"Starting SeaweedFS (S3) on 127.0.0.1:{s3_port} ({site_processes.seaweedfs_binary()})")
            seaweedfs = site_processes.start_seaweedfs(s3_port, var / "seaweedfs", log=log("seaweedfs"))
            credentials = (seaweedfs.access_key, seaweedfs.secret_key)
            seaweedfs_log = log("seaweedfs")
            # Started again with the same credentials, which the other processes hold.
            supervisor.children.append(site_processes.Child(
                "seaweedfs", lambda: site_processes.start_seaweedfs(
                    s3_port, var / "seaweedfs", log=seaweedfs_log, credentials=credentials).process,
                10.0, seaweedfs.process, time.monotonic()))
            seaweedfs.create_bucket("media")
            env["MEDIA_STORAGE_URL"] = seaweedfs.storage_url("media")
        # Migrate, collect and seed only what changed since the last start (scripts/prepare_site.py),
        # in one process that exits when done.
        print("Preparing the database, static files and demo content", flush=True)
        subprocess.run([sys.executable, "scripts/prepare_site.py"], cwd=ROOT, env=env, check=True)
        # A machine with a GPU takes the GPU recipes too; the worker tells the site what it can run.
        queues, name = ("cpu,gpu", "gpu") if site_processes.has_gpu() else ("cpu", "cpu")
        # The web server first, alone: it answers sooner without the workers loading beside it on a
        # small machine, and a job launched meanwhile waits in the queue.
        print(f"Starting the ASGI server (daphne), then a Celery worker (queues: {queues}), a maintenance "
              "worker and Celery beat (periodic repairs)", flush=True)
        worker_log, maintenance_log, beat_log, web_log = log("worker"), log("maintenance"), log("beat"), log("web")
        supervisor.start("web", lambda: site_processes.start_web(env, args.host, args.port, log=web_log))
        supervisor.start("worker", lambda: site_processes.start_worker(env, queues=queues, name=name, log=worker_log),
                         grace=WORKER_STOP_GRACE)
        supervisor.start("maintenance worker", lambda: site_processes.start_maintenance_worker(env, log=maintenance_log),
                         grace=WORKER_STOP_GRACE)
        supervisor.start("beat", lambda: site_processes.start_beat(env, var / "celerybeat-schedule", log=beat_log))
        state["starting"] = False
        print(f"\nThe site is up at http://{args.host}:{args.port}/  (logs in var/log/; Ctrl-C stops everything)\n",
              flush=True)
        while not state["stopping"]:
            trouble = supervisor.watch()
            if trouble:
                print(trouble, file=sys.stderr)
                return 1
            time.sleep(0.5)
        return 0
    except Interrupted:
        return 130
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"Could not start the site: {exc}", file=sys.stderr)
        return 1
    finally:
        state["starting"] = False  # a second Ctrl-C must not break off the stopping
        print("Stopping: the web server and beat, then the workers (a running job is handed back), Redis last…",
              flush=True)
        supervisor.stop(STOP_ORDER)


if __name__ == "__main__":
    sys.exit(main())
