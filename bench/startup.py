"""How long `make run` (scripts/run.py) takes from its start to the site answering GET / with 200.

    python bench/startup.py                 # one cold start, then 3 warm starts of the same site
    python bench/startup.py --warm 5        # more warm starts
    python bench/startup.py --keep DIR      # use (and keep) DIR: a second call starts warm at once

Each start runs scripts/run.py as `make run` does, with its database, media, static files and
secret key in a folder of its own; a cold start is the first one in an empty folder (migrate,
collectstatic and the demo content, restorations included), a warm one a start after it, nothing
changed. The launcher's lines are printed with the second each came at, to show where the time goes.
The machine's load average is given at each start: on a shared machine it moves the figures.
"""
from __future__ import annotations

import argparse
import http.client
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import site_processes  # noqa: E402


def status_of_home(port: int) -> int | None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/")
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()


def one_start(work: Path, label: str) -> float:
    """Start the site in `work`, return the seconds until GET / answers 200, then stop it."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DJANGO_SETTINGS_MODULE", "REDIS_URL", "MEDIA_STORAGE", "MEDIA_STORAGE_URL", "DEBUG")}
    env.update(DATABASE_URL=f"sqlite:///{work / 'db.sqlite3'}", MEDIA_ROOT=str(work / "media"),
               STATIC_ROOT=str(work / "static"), SECRET_KEY_FILE=str(work / "secret_key"), PYTHONUNBUFFERED="1")
    port = site_processes.free_port()
    load = os.getloadavg()[0]
    started = time.monotonic()
    run = subprocess.Popen([sys.executable, "scripts/run.py", "--port", str(port)], cwd=ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []

    def read():
        for line in run.stdout:
            if line.strip():
                lines.append(f"  {time.monotonic() - started:6.1f} s  {line.rstrip()}")

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        while status_of_home(port) != 200:
            if run.poll() is not None:
                raise SystemExit(f"scripts/run.py exited with {run.returncode}:\n" + "\n".join(lines))
            time.sleep(0.05)
        seconds = time.monotonic() - started
        time.sleep(0.5)  # the "site is up" line
    finally:
        run.send_signal(signal.SIGINT)
        run.wait(180)
        reader.join(5)
    print(f"{label}: {seconds:.1f} s to the first 200 on / (load average {load:.2f} at the start)")
    print("\n".join(line for line in lines if "Stopping" not in line))
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm", type=int, default=3, help="warm starts after the cold one")
    parser.add_argument("--keep", type=Path, help="a folder to use and keep (warm from the start if it has a site)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-startup-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        figures = {}
        if not (work / "db.sqlite3").exists():
            figures["cold"] = [one_start(work, "cold start")]
        figures["warm"] = [one_start(work, f"warm start {n + 1}") for n in range(args.warm)]
        print()
        for kind, seconds in figures.items():
            print(f"{kind}: " + ", ".join(f"{s:.1f}" for s in seconds) + f" s (median {statistics.median(seconds):.1f} s)")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
