"""Media storage on S3 (a SeaweedFS on loopback) against a plain file copy of the same bytes.

    python bench/storage.py              # 8, 64 and 256 MB files and a 60 s 480p job, a few minutes on 2 cores
    python bench/storage.py --quick      # 1 and 16 MB files and a 6 s job, one run each: a smoke run
    python bench/storage.py --sizes 32 --seconds 20

The project's own code is measured: Django's settings with MEDIA_STORAGE_URL pointing at a bucket of
a SeaweedFS this bench starts (so STORAGES["default"] comes from storage_url.media_storage_from_url),
and restoration_site.media's media_save, media_replace, media_fetch and media_delete_folder. The peer
is shutil.copyfile of the same bytes on the same disk, in the same run: ratios hold on a shared
machine where absolute times do not. Two tables:

- files: upload (media_save) and download (media_fetch) of random bytes, beside a copy;
- a job: what a worker does for one restoration besides the engine (fetch the source, upload the
  FFV1 checkpoint chunks with their hashes and the manifest, upload the result, delete the
  checkpoint folder), per minute of 480p video, beside copying the same files.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import clips  # noqa: E402
import site_processes  # noqa: E402
from measure import Table, ratio  # noqa: E402

MB = 1024 * 1024
REPEATS = 3  # each figure is the fastest of this many runs (one with --quick)
VIDEO_SIZE = (854, 480)
FPS = 24
CHUNK_FRAMES = 120
BUCKET = "bench-storage"


def peak_rss_growth(action: Callable[[], object]) -> tuple[float, float | None]:
    """(seconds, MB by which this process's peak RSS rose above its RSS before) for `action()`.

    The kernel's high-water mark is reset first (clear_refs 5); where that is refused, None."""
    before = _status_kb("VmRSS")
    try:
        Path("/proc/self/clear_refs").write_text("5")
        reset = True
    except OSError:
        reset = False
    started = time.perf_counter()
    action()
    seconds = time.perf_counter() - started
    return seconds, (_status_kb("VmHWM") - before) / 1024 if reset else None


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def write_random_file(path: Path, size: int) -> None:
    with open(path, "wb") as handle:
        for start in range(0, size, 4 * MB):
            handle.write(os.urandom(min(4 * MB, size - start)))


def mb_per_s(size: int, seconds: float | None) -> float | None:
    return size / MB / seconds if seconds else None


class Best:
    """The fastest time and the largest memory growth seen over the repeats of one measurement."""

    def __init__(self):
        self.seconds: float | None = None
        self.growth: float | None = None

    def add(self, seconds: float, growth: float | None) -> None:
        self.seconds = seconds if self.seconds is None else min(self.seconds, seconds)
        if growth is not None:
            self.growth = growth if self.growth is None else max(self.growth, growth)


class StorageBench:
    def __init__(self, args, work: Path):
        self.quick = args.quick
        self.repeats = 1 if args.quick else REPEATS
        self.sizes = args.sizes or ([1, 16] if args.quick else [8, 64, 256])
        self.seconds = args.seconds or (6.0 if args.quick else 60.0)
        self.work = work

    def files(self) -> Table:
        from restoration_site.media import media_delete, media_fetch, media_save

        table = Table("Files: upload and download through restoration_site.media vs shutil.copyfile",
                      ["MB", "operation", "S3 ms", "S3 MB/s", "copy ms", "copy MB/s", "time ratio S3 / copy",
                       "S3 peak RSS +MB"],
                      [f"random bytes (MB = 2^20 bytes); each time is the fastest of {self.repeats} run(s), "
                       "upload, download and copy interleaved.",
                       "upload: media_save(local file, name) (S3Storage: boto3 upload_fileobj, multipart from 8 MB); "
                       "download: media_fetch(name, local file); copy: shutil.copyfile of the same bytes on the "
                       "same disk as SeaweedFS's data (no fsync on either side: the page cache takes the writes).",
                       "time ratio = S3 seconds / copy seconds (above 1 = S3 slower). S3 peak RSS +MB: how far "
                       "this process's peak resident memory rose above its resident memory before the call."])
        # One save and fetch first, so that no figure carries the client's set-up and first connection.
        warm_up = self.work / "warm-up.bin"
        write_random_file(warm_up, MB)
        stored = media_save(warm_up, "bench/warm-up.bin")
        media_fetch(stored, warm_up)
        media_delete(stored)
        warm_up.unlink()
        for size_mb in self.sizes:
            size = size_mb * MB
            source = self.work / f"random-{size_mb}.bin"
            write_random_file(source, size)
            upload, download, copy = Best(), Best(), Best()
            for _ in range(self.repeats):
                copied, fetched = self.work / "copy.bin", self.work / "fetched.bin"
                copy.add(*peak_rss_growth(lambda: shutil.copyfile(source, copied)))
                copied.unlink()
                stored = []
                upload.add(*peak_rss_growth(lambda: stored.append(media_save(source, f"bench/{source.name}"))))
                download.add(*peak_rss_growth(lambda: media_fetch(stored[0], fetched)))
                if fetched.read_bytes() != source.read_bytes():
                    raise SystemExit(f"{stored[0]} came back with other bytes than were stored")
                fetched.unlink()
                media_delete(stored[0])
            for operation, best in (("upload", upload), ("download", download)):
                table.add(size_mb, operation, best.seconds * 1000, mb_per_s(size, best.seconds), copy.seconds * 1000,
                          mb_per_s(size, copy.seconds), ratio(best.seconds, copy.seconds), best.growth)
            source.unlink()
        return table

    def job(self) -> Table:
        from engine.checkpoint import ChunkStore
        from engine.hashing import file_sha256
        from engine.io import VideoEncoder
        from engine.synthetic import write_clip
        from restoration_site.media import media_delete, media_delete_folder, media_fetch, media_replace, media_save

        frames = round(self.seconds * FPS)
        size = VIDEO_SIZE
        folder = self.work / "job"
        folder.mkdir()
        # The job's inputs and outputs, made once (the engine's work, not timed): the source as a
        # user uploads it, the checkpoint the restoration leaves, the result it encodes.
        source = folder / "source.mp4"
        write_clip(source, clips.old_film(clips.clean_frames(size, frames), seed=4), fps=FPS)
        checkpoint = ChunkStore(folder / "checkpoint", source_sha256=file_sha256(source), recipe={"bench": "storage"},
                                chunk_frames=CHUNK_FRAMES, fps=FPS)
        began = time.perf_counter()
        checkpoint.write(clips.clean_frames(size, frames), 0)
        chunk_seconds = time.perf_counter() - began
        result = folder / "result.mp4"
        with VideoEncoder(result, fps=FPS) as encoder:
            for frame in checkpoint.read():
                encoder.write(frame)
        # In the order the job would upload them: each chunk with its hash, the manifest last.
        chunk_files = sorted(checkpoint.folder.glob("chunk-*"))
        checkpoint_files = chunk_files + [checkpoint.folder / "manifest.json"]
        chunk_bytes = [p.stat().st_size for p in chunk_files if p.suffix == ".mkv"]
        stored_source = media_save(source, "uploads/bench-source.mp4")  # the user's upload, not timed
        store = self.work / "local-store"  # the peer's media folder, on the same disk
        (store / "uploads").mkdir(parents=True)
        shutil.copyfile(source, store / "uploads" / source.name)
        scratch = self.work / "scratch-job"

        def storage_steps(run: int) -> dict[str, Callable[[], object]]:
            prefix = f"checkpoints/bench-{run}"
            return {
                "fetch the source": lambda: media_fetch(stored_source, scratch / "source.mp4"),
                "upload the checkpoint": lambda: [media_replace(p, f"{prefix}/{p.name}") for p in checkpoint_files],
                "upload the result": lambda: stored_results.append(media_save(result, f"results/bench-{run}.mp4")),
                "delete the checkpoint folder": lambda: media_delete_folder(prefix),
            }

        def copy_steps(run: int) -> dict[str, Callable[[], object]]:
            target = store / "checkpoints" / f"bench-{run}"

            def copy_checkpoint():
                target.mkdir(parents=True)
                for path in checkpoint_files:
                    shutil.copyfile(path, target / path.name)

            return {
                "fetch the source": lambda: shutil.copyfile(store / "uploads" / source.name, scratch / "source.mp4"),
                "upload the checkpoint": copy_checkpoint,
                "upload the result": lambda: shutil.copyfile(result, store / f"result-{run}.mp4"),
                "delete the checkpoint folder": lambda: shutil.rmtree(target),
            }

        steps = list(storage_steps(0))
        s3 = {step: Best() for step in steps}
        copy = {step: Best() for step in steps}
        stored_results: list[str] = []
        for run in range(self.repeats):
            for bests, make in ((copy, copy_steps), (s3, storage_steps)):
                scratch.mkdir()
                for step, action in make(run).items():
                    bests[step].add(*peak_rss_growth(action))
                shutil.rmtree(scratch)
            (store / f"result-{run}.mp4").unlink()
            media_delete(*stored_results)
            stored_results.clear()
        media_delete(stored_source)

        files = {"fetch the source": [source], "upload the checkpoint": checkpoint_files,
                 "upload the result": [result], "delete the checkpoint folder": checkpoint_files}
        minutes = frames / FPS / 60
        table = Table(f"A job's storage work: {frames / FPS:g} s of {size[0]}x{size[1]} video at {FPS} fps",
                      ["step", "files", "MB", "S3 s", "copy s", "time ratio S3 / copy", "S3 peak RSS +MB"],
                      [f"each time is the fastest of {self.repeats} run(s) of the whole sequence; the copy peer "
                       "does the same with shutil.copyfile into a local folder (fetch: copy out of it; delete: "
                       "shutil.rmtree).",
                       "source: engine.synthetic.write_clip of bench/clips.py's old-film pan (gray, flicker, grain, "
                       f"scratches, dust), H.264 crf 18, {source.stat().st_size / MB:.1f} MB.",
                       f"checkpoint: engine.checkpoint.ChunkStore of the clean pan (standing in for restored frames: "
                       f"grain would make chunks larger), FFV1 bgr0 chunks of {CHUNK_FRAMES} frames: "
                       f"{len(chunk_bytes)} chunk(s), the first {chunk_bytes[0] / MB:.1f} MB "
                       f"({CHUNK_FRAMES / FPS:g} s of video), "
                       f"{sum(chunk_bytes) / MB / minutes:.0f} MB per minute of video; each uploaded with "
                       "media_replace, its .sha256 after it, manifest.json last. Writing the chunks (the engine's "
                       f"FFV1 encode, frame making included) took {chunk_seconds:.1f} s, not counted here.",
                       "result: engine.io.VideoEncoder (H.264 crf 18) of the checkpoint's frames, uploaded with "
                       f"media_save, {result.stat().st_size / MB:.1f} MB. delete: media_delete_folder.",
                       "time ratio = S3 seconds / copy seconds (above 1 = S3 slower)."])
        for step in steps:
            table.add(step, len(files[step]), sum(p.stat().st_size for p in files[step]) / MB
                      if step != "delete the checkpoint folder" else "", s3[step].seconds, copy[step].seconds,
                      ratio(s3[step].seconds, copy[step].seconds), s3[step].growth)
        s3_total = sum(best.seconds for best in s3.values())
        copy_total = sum(best.seconds for best in copy.values())
        growths = [best.growth for best in s3.values() if best.growth is not None]
        table.add("total", "", "", s3_total, copy_total, ratio(s3_total, copy_total), max(growths, default=None))
        table.add("total per minute of video", "", "", s3_total / minutes, copy_total / minutes,
                  ratio(s3_total, copy_total), "")
        shutil.rmtree(folder)
        return table


def seaweedfs_version() -> str:
    try:
        answer = subprocess.run([site_processes.seaweedfs_binary(), "version"], capture_output=True, text=True,
                                timeout=30)
    except (OSError, RuntimeError, subprocess.TimeoutExpired):
        return "unknown"
    words = answer.stdout.split()
    return words[2] if len(words) > 2 and words[0] == "version" else "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 and 16 MB files, a 6 s job, one run each")
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",") if x.strip()],
                        help="comma-separated file sizes in MB (default 8,64,256)")
    parser.add_argument("--seconds", type=float, help="length of the job's video (default 60 s)")
    parser.add_argument("--workdir", help="where the files and SeaweedFS's data go (default: a temporary folder, "
                                          "removed at the end)")
    args = parser.parse_args(argv)
    if any(size <= 0 for size in args.sizes or []) or (args.seconds is not None and args.seconds * FPS < 1):
        parser.error("sizes and seconds must be positive")

    work = Path(tempfile.mkdtemp(prefix="bench-storage-", dir=args.workdir))
    started = time.monotonic()
    server = None
    try:
        log_path = work / "seaweedfs.log"
        with log_path.open("wb") as log:
            try:
                server = site_processes.start_seaweedfs(site_processes.free_port(), work / "seaweedfs", log=log)
            except RuntimeError as exc:
                raise SystemExit(f"SeaweedFS did not start: {exc}\n{log_path.read_text(errors='replace')[-2000:]}")
            server.create_bucket(BUCKET)
            # The site's own settings, with the media store at the bucket and scratch in the work folder.
            os.environ.update(DJANGO_SETTINGS_MODULE="restoration_site.settings",
                              MEDIA_STORAGE_URL=server.storage_url(BUCKET), SCRATCH_DIR=str(work / "scratch"),
                              MEDIA_ROOT=str(work / "media"))
            import django
            import storages

            django.setup()
            from django.conf import settings

            backend = settings.STORAGES["default"]["BACKEND"]
            if backend != "storages.backends.s3.S3Storage":
                raise SystemExit(f"The settings did not take MEDIA_STORAGE_URL: the media store is {backend}")
            print(f"# Media storage benchmark, {datetime.datetime.now():%Y-%m-%d %H:%M}\n")
            print(f"- machine: {os.cpu_count()} cores, {platform.system()} {platform.release()}; load average at "
                  f"start {os.getloadavg()[0]:.2f} ({os.cpu_count()} = every core busy)")
            print(f"- Python {platform.python_version()}, Django {django.get_version()}, django-storages "
                  f"{storages.__version__}, SeaweedFS {seaweedfs_version()} (`weed mini` on 127.0.0.1), "
                  f"storage backend {backend}")
            print("- time ratio = S3 seconds / copy seconds of the same bytes in the same run (above 1 = S3 slower)\n",
                  flush=True)
            bench = StorageBench(args, work)
            for name in ("files", "job"):
                began, load = time.monotonic(), os.getloadavg()[0]
                table = getattr(bench, name)()
                table.notes.append(f"took {time.monotonic() - began:.0f} s; load average {load:.2f} at the start, "
                                   f"{os.getloadavg()[0]:.2f} at the end.")
                print(table.render(), flush=True)
    finally:
        if server is not None:
            site_processes.stop([server.process])
        shutil.rmtree(work, ignore_errors=True)
    print(f"- total {time.monotonic() - started:.0f} s; load average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
