"""Many websocket clients watching one job: how late do live progress events arrive?

Each event carries the worker's send time (`sent_at`, added by jobs/events.py); a client notes
when it arrives, on the same machine, so the difference is the delivery latency through Redis
(channels_redis) and daphne. Two jobs are queued before any worker starts, so every client watches
from the first event: job A with one client (the reference, in the same run), then job B with N
clients. Prints p50/p95/max latency for each and the ratio.

Usage: python bench/ws_fanout.py [--clients 200] [--frames 120]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time

from websockets.asyncio.client import connect

from live_site import LiveSite, make_clip, percentile

FINISHED = ("succeeded", "failed", "cancelled")


class Client:
    def __init__(self, url: str, headers: dict, origin: str):
        self.url, self.headers, self.origin = url, headers, origin
        self.latencies: list[float] = []
        self.sizes: list[int] = []
        self.final = None
        self.subscribed = asyncio.Event()

    async def watch(self, connecting: asyncio.Semaphore):
        async with connecting:  # a few handshakes at a time, as pages open over a few seconds
            ws = await connect(self.url, additional_headers=self.headers, origin=self.origin, open_timeout=120,
                               max_size=None)
            await ws.recv()  # the snapshot: this client is now in the job's group
            self.subscribed.set()
        async with ws:
            async for raw in ws:
                received = time.time()
                job = json.loads(raw)["job"]
                if "sent_at" in job:
                    self.latencies.append(received - job["sent_at"])
                    self.sizes.append(len(raw))
                if job["state"] in FINISHED:
                    self.final = job["state"]
                    return


def summary(clients: list[Client]) -> dict:
    latencies = [1000 * value for client in clients for value in client.latencies]
    counts = [len(client.latencies) for client in clients]
    sizes = [size for client in clients for size in client.sizes]
    return {"events": len(latencies), "kb": statistics.mean(sizes) / 1024, "p50": statistics.median(latencies), "p95": percentile(latencies, 0.95),
            "max": max(latencies), "finished": sum(c.final == "succeeded" for c in clients),
            "per_client": f"{min(counts)}-{max(counts)}"}


async def watch_both(site: LiveSite, session, jobs: dict[str, str], clients: int) -> dict[str, list[Client]]:
    base = site.url.replace("http", "ws")
    headers = {"Cookie": f"sessionid={session.cookies['sessionid']}"}
    groups = {"A": [Client(f"{base}/ws/jobs/{jobs['A']}/", headers, site.url)],
              "B": [Client(f"{base}/ws/jobs/{jobs['B']}/", headers, site.url) for _ in range(clients)]}
    connecting = asyncio.Semaphore(20)
    tasks = [asyncio.create_task(c.watch(connecting)) for group in groups.values() for c in group]
    started = time.monotonic()
    await asyncio.wait_for(asyncio.gather(*(c.subscribed.wait() for g in groups.values() for c in g)), 300)
    print(f"{clients + 1} clients subscribed in {time.monotonic() - started:.1f} s; starting the worker")
    await asyncio.to_thread(site.add_worker)
    await asyncio.wait_for(asyncio.gather(*tasks), 900)
    return groups


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--frames", type=int, default=120, help="frames of the watched clip (320x240, 12 fps)")
    parser.add_argument("--recipe", default="film-light")
    args = parser.parse_args()

    site = LiveSite(workers=0)  # jobs stay queued until every client watches
    try:
        session = site.login()
        clip = make_clip(site.work, args.frames, size=(320, 240))
        jobs = {"A": site.launch(session, clip, args.recipe), "B": site.launch(session, clip, args.recipe)}
        groups = asyncio.run(watch_both(site, session, jobs, args.clients))
    finally:
        site.stop()

    rows = {"A": summary(groups["A"]), "B": summary(groups["B"])}
    print(f"\nLive progress events of one job ({args.recipe}, {args.frames} frames of 320x240), "
          "worker -> Redis -> daphne -> websocket, loopback")
    print("| clients | events received | per client | KiB per event | p50 ms | p95 ms | max ms | saw the end "
          "| p95 vs 1 client |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, clients in (("A", 1), ("B", args.clients)):
        row = rows[name]
        print(f"| {clients} | {row['events']} | {row['per_client']} | {row['kb']:.1f} | {row['p50']:.1f} | "
              f"{row['p95']:.1f} | {row['max']:.1f} | {row['finished']}/{clients} | "
              f"{row['p95'] / rows['A']['p95']:.2f}x |")
    return 0 if rows["B"]["finished"] == args.clients else 1


if __name__ == "__main__":
    sys.exit(main())
