"""Gallery pages under concurrent load, beside a bare Django view measured in the same run.

Fills a fresh database with N items (10,000 by default), one item with many versions and
comments, starts the real ASGI server (daphne), and hammers each page with C concurrent
keep-alive clients for D seconds. Prints requests/s and p50/p95 latency per page and the
ratio to `/healthz` (a view that touches neither the database nor templates).

Usage: python bench/gallery_load.py [--items 10000] [--concurrency 8] [--seconds 10] [--pages item,home]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import site_processes  # noqa: E402

FILL = """
import django, os, sys
django.setup()
from django.contrib.auth import get_user_model
from gallery.models import Item, Version, Comment, Vote
n = int(sys.argv[1])
users = [get_user_model().objects.create(username=f"u{i}") for i in range(20)]
Item.objects.bulk_create([Item(slug=f"item-{i}", kind=("film", "photo", "painting")[i % 3], title=f"Item {i}",
    year=1880 + i % 120, place=("Beijing", "Shanghai", "Tianjin")[i % 3], media=f"items/item-{i}/original.png",
    poster=f"items/item-{i}/poster.jpg") for i in range(n)], batch_size=2000)
item = Item.objects.get(slug="item-0")
versions = Version.objects.bulk_create([Version(item=item, author=users[i % 20], title=f"v{i}", is_homework=True,
    media=f"items/item-0/versions/{i}/media.png") for i in range(50)])
Vote.objects.bulk_create([Vote(version=v, user=u) for v in versions for u in users[:5]])
tops = Comment.objects.bulk_create([Comment(item=item, author=users[i % 20], body=f"comment {i}") for i in range(100)])
Comment.objects.bulk_create([Comment(item=item, author=users[i % 20], body=f"reply {i}", parent=tops[i]) for i in range(100)])
"""


def hammer(url: str, concurrency: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client():
        nonlocal errors
        session = requests.Session()
        mine = []
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                ok = session.get(url, timeout=30).status_code == 200
            except requests.RequestException:
                ok = False
            mine.append(time.perf_counter() - started)
            if not ok:
                with lock:
                    errors += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    return {
        "requests": len(latencies), "errors": errors, "rps": len(latencies) / seconds,
        "p50_ms": 1000 * statistics.median(latencies),
        "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--pages", default="", help="comma-separated words; only pages whose label starts with "
                        "one of them (the bare view always runs), e.g. --pages item")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-gallery-"))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "restoration_site.settings", "DEBUG": "1",
           "DATABASE_URL": f"sqlite:///{work / 'db.sqlite3'}", "MEDIA_ROOT": str(work / "media"),
           "REDIS_URL": "redis://127.0.0.1:1/0", "LOG_LEVEL": "WARNING"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", FILL, str(args.items)], cwd=ROOT, env=env, check=True)
    print(f"filled {args.items} items in {time.monotonic() - started:.1f} s")
    port = site_processes.free_port()
    web = site_processes.start_web(env, "127.0.0.1", port, log=open(work / "web.log", "wb"))
    base = f"http://127.0.0.1:{port}"
    pages = [("bare view /healthz", "/healthz"), ("home", "/"), ("gallery, page 1", "/gallery/"),
             ("gallery, page 200", "/gallery/?page=200"), ("gallery, filtered", "/gallery/?kind=film&decade=1920"),
             ("item, 50 versions, 200 comments", "/items/item-0/"), ("API items", "/api/items/")]
    if args.pages:
        wanted = tuple(word.strip() for word in args.pages.split(","))
        pages = [pages[0]] + [page for page in pages[1:] if page[0].startswith(wanted)]
    try:
        rows = []
        for label, path in pages:
            requests.get(base + path, timeout=30)  # warm up
            rows.append((label, hammer(base + path, args.concurrency, args.seconds)))
    finally:
        site_processes.stop([web])
    bare = rows[0][1]["rps"]
    print(f"\n{args.items} items, {args.concurrency} concurrent clients, {args.seconds:.0f} s per page, daphne, SQLite")
    print(f"{'page':34} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'errors':>7} {'vs bare':>8}")
    for label, row in rows:
        print(f"{label:34} {row['rps']:8.1f} {row['p50_ms']:8.1f} {row['p95_ms']:8.1f} {row['errors']:7d} "
              f"{row['rps'] / bare:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
