"""Many restoration jobs launched at once over the API, against two real Celery workers.

Checks what a user of a shared queue cares about: every job finishes (none lost) and none runs
twice (its `attempts` counts its claims, its timeline its starts: both must be 1). Measures the
wait from a job's row being created to a worker claiming it, first with an idle worker (one job
at a time: the queue's own latency), then for the burst (mostly the jobs ahead of it). The
reference is the ideal wall time of the burst, the sum of the jobs' run times shared by the
workers: the ratio says how much the queue adds.

Usage: python bench/queue_load.py [--jobs 50] [--workers 2] [--idle 10] [--frames 12]
"""
from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import requests

from live_site import LiveSite, make_clip, percentile

FINISHED = ("succeeded", "failed", "cancelled")


def job_rows(db) -> dict[str, dict]:
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        rows = connection.execute("SELECT id, state, attempts, worker, created_at, started_at, finished_at "
                                  "FROM jobs_job").fetchall()
    return {str(uuid.UUID(row["id"])): dict(row) for row in rows}


def starts_per_job(db) -> Counter:
    """How many times each job was started or taken over, from the jobs' timelines."""
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT job_id FROM jobs_jobevent WHERE kind IN ('started', 'reclaimed')")
        return Counter(str(uuid.UUID(job_id)) for (job_id,) in rows.fetchall())


def wait_finished(db, ids: list[str], timeout: float) -> dict[str, dict]:
    """The jobs' rows once all have finished, or at `timeout` (a job still unfinished then counts as lost)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = job_rows(db)
        if all(rows.get(i, {}).get("state") in FINISHED for i in ids) or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def seconds_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--idle", type=int, default=10, help="jobs run one at a time for the idle-worker latency")
    parser.add_argument("--frames", type=int, default=12, help="frames per clip (160x120, 12 fps)")
    parser.add_argument("--recipe", default="film-light")
    args = parser.parse_args()

    site = LiveSite(workers=args.workers)
    try:
        session = site.login()
        clip = make_clip(site.work, args.frames)
        idle = []
        for _ in range(args.idle):
            idle.append(site.launch(session, clip, args.recipe))
            wait_finished(site.db, idle[-1:], timeout=300)

        def launch(_):
            own = requests.Session()  # one per thread: a Session is not thread-safe
            own.cookies.update(session.cookies)
            own.headers.update(session.headers)
            return site.launch(own, clip, args.recipe)

        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            burst = list(pool.map(launch, range(args.jobs)))
        launched = time.monotonic() - started
        rows = wait_finished(site.db, burst, timeout=600)
        wall = time.monotonic() - started
    finally:
        site.stop()

    def waits(ids):
        return [seconds_between(rows[i]["created_at"], rows[i]["started_at"]) for i in ids]

    states = Counter(rows[i]["state"] for i in burst)
    lost = [i for i in burst if rows[i]["state"] not in FINISHED]
    burst = [i for i in burst if i not in lost]
    runs = [seconds_between(rows[i]["started_at"], rows[i]["finished_at"]) for i in burst]
    starts = starts_per_job(site.db)
    twice = sum(rows[i]["attempts"] != 1 or starts[i] != 1 for i in idle + burst)
    per_worker = Counter(rows[i]["worker"].split("@")[0] for i in burst)
    ideal = sum(runs) / args.workers
    idle_waits, burst_waits = waits(idle), waits(burst)

    print(f"\n{args.jobs} jobs ({args.recipe}, {args.frames} frames of 160x120) launched over the API "
          f"by 8 threads, {args.workers} Celery workers (concurrency 1 each), Redis, daphne, SQLite")
    print("| what | figure |")
    print("| --- | --- |")
    print(f"| idle worker: row created -> claimed, p50 / p95 ({args.idle} jobs) | "
          f"{1000 * statistics.median(idle_waits):.0f} / {1000 * percentile(idle_waits, 0.95):.0f} ms |")
    print(f"| burst: all {args.jobs} launched in | {launched:.1f} s |")
    print(f"| burst: finished / lost / run twice | {states['succeeded']} / {len(lost)} / {twice} "
          f"(other states: {dict((s, n) for s, n in states.items() if s != 'succeeded') or 'none'}) |")
    print(f"| burst: jobs per worker | {', '.join(f'{w}: {n}' for w, n in sorted(per_worker.items()))} |")
    print(f"| burst: wait for a worker, p50 / p95 | {statistics.median(burst_waits):.1f} / "
          f"{percentile(burst_waits, 0.95):.1f} s |")
    print(f"| burst: run time of one job, p50 | {statistics.median(runs):.2f} s |")
    print(f"| burst: wall time / ideal (sum of run times / workers) | {wall:.1f} s / {ideal:.1f} s = "
          f"{wall / ideal:.2f}x |")
    print(f"| burst: throughput | {args.jobs / wall * 60:.1f} jobs/min |")
    return 0 if states["succeeded"] == args.jobs and twice == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
