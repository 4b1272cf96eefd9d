"""Peak memory of the faces, colorize and superres stages against a clip's length, and resume.

Standalone: makes synthetic clips (a short and a long one), runs `python -m engine restore` on
each under /usr/bin/time -v, and prints a table: stage, frames, peak RSS MB, seconds, and, for the
resume runs (--checkpoint, --chunk-frames, SIGKILL after the second chunk, run again), the frame the
resumed run restarted from and how many already-saved frames it recomputed.

    .venv/bin/python bench/stage_memory.py [--short 60] [--long 300] [--size 320x240]
        [--stages faces,sr,colorize] [--no-resume] [--work /tmp/stage_memory]
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FPS = 12.0
# Runs the CLI exactly as `python -m engine restore ...`, and reports where decoding started and
# how many frames were decoded (to count the frames a resumed run recomputes).
WRAPPER = r"""
import atexit, sys
import engine.pipeline as pipeline
seen = {"start": None, "decoded": 0}
original = pipeline.read_video_frames
def counting(path, start=0):
    seen["start"] = start
    for frame in original(path, start):
        seen["decoded"] += 1
        yield frame
pipeline.read_video_frames = counting
atexit.register(lambda: print("BENCH " + repr(seen), file=sys.stderr, flush=True))
from engine.cli import main
sys.exit(main(sys.argv[1:]))
"""


def make_clips(work: Path, counts: list[int], size: tuple[int, int]) -> dict:
    """Faces clips (moving faces, lightly degraded) and pan clips (gray old film) with the true
    colour first frame as key.png, for each frame count."""
    import cv2
    import numpy as np
    from skimage import data

    from engine.faces.synthetic import moving_faces_clip
    from engine.synthetic import degrade, pan_frames, write_clip

    work.mkdir(parents=True, exist_ok=True)
    clips = {}
    for count in counts:
        faces = work / f"faces-{count}.mp4"
        if not faces.exists():
            rng = np.random.default_rng(1)
            clip = moving_faces_clip(count, size)
            write_clip(faces, (degrade(f, rng, grain=6.0, scratches=0, gray=False) for f in clip.frames),
                       fps=FPS, audio_seconds=count / FPS)
        pan = work / f"pan-{count}.mp4"
        key = work / f"key-{count}.png"
        if not pan.exists():
            rng = np.random.default_rng(2)
            clean = list(pan_frames(data.astronaut(), count=count, size=size, shift_per_frame=1.0))
            cv2.imwrite(str(key), cv2.cvtColor(clean[0], cv2.COLOR_RGB2BGR))
            write_clip(pan, (degrade(f, rng) for f in clean), fps=FPS, audio_seconds=count / FPS)
            del clean
        clips[count] = {"faces": faces, "pan": pan, "key": key}
    return clips


def job(stage: str, clip: dict) -> tuple[Path, list[str]]:
    if stage == "faces":
        return clip["faces"], ["--recipe", "film-faces"]
    if stage == "sr":
        return clip["pan"], ["--recipe", "film-sr"]
    reference = json.dumps([{"frame": 0, "image": str(clip["key"])}])
    return clip["pan"], ["--recipe", "film-colorize", "--set", f"colorize.reference_frames={reference}"]


def run(source: Path, output: Path, args: list[str], *, kill_after_chunk: Path | None = None) -> dict:
    command = ["/usr/bin/time", "-v", sys.executable, "-c", WRAPPER, "restore", str(source), "-o", str(output), *args]
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    killed = False
    if kill_after_chunk is not None:
        while process.poll() is None:
            if kill_after_chunk.exists():
                # SIGKILL the engine (the child of /usr/bin/time), as a crash would.
                children = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout
                for pid in children.split():
                    os.kill(int(pid), signal.SIGKILL)
                killed = True
                break
            time.sleep(0.05)
    out, err = process.communicate()
    seconds = time.monotonic() - started
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)
    bench = re.search(r"BENCH (\{.*\})", err)
    return {"rc": process.returncode, "killed": killed, "seconds": seconds,
            "peak_mb": int(peak.group(1)) / 1024 if peak else float("nan"),
            "seen": ast.literal_eval(bench.group(1)) if bench else None,
            "tail": (out + err)[-600:]}


def check_output(output: Path, source: Path, expected: int) -> str:
    from engine.io import probe

    info, src = probe(output), probe(source)
    problems = []
    if info.frame_count != expected:
        problems.append(f"{info.frame_count} frames, expected {expected}")
    if src.has_audio and not info.has_audio:
        problems.append("audio lost")
    return "ok" if not problems else "; ".join(problems)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", type=int, default=60)
    parser.add_argument("--long", type=int, default=300)
    parser.add_argument("--size", default="320x240")
    parser.add_argument("--stages", default="faces,sr,colorize")
    parser.add_argument("--chunk-frames", type=int, default=40)
    parser.add_argument("--no-resume", action="store_true")
    parser.add_argument("--work", default="/tmp/stage_memory")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    clips = make_clips(work, [args.short, args.long], size)
    rows = []
    header = f"{'stage':9} {'frames':>6} {'run':8} {'peak RSS MB':>11} {'seconds':>8} {'restart at':>10} " \
             f"{'recomputed':>10}  output"
    print(header, flush=True)

    def report(row):
        rows.append(row)
        print(f"{row['stage']:9} {row['frames']:6d} {row['run']:8} {row['peak_mb']:11.0f} {row['seconds']:8.1f} "
              f"{row.get('restart', ''):>10} {row.get('recomputed', ''):>10}  {row['check']}", flush=True)

    for stage in args.stages.split(","):
        for count in (args.short, args.long):
            source, recipe = job(stage, clips[count])
            output = work / f"out-{stage}-{count}.mp4"
            result = run(source, output, recipe)
            check = check_output(output, source, count) if result["rc"] == 0 else f"FAILED rc={result['rc']}: " \
                                                                                  f"{result['tail']}"
            report({"stage": stage, "frames": count, "run": "plain", **result, "check": check})
        if args.no_resume:
            continue
        count = args.long
        source, recipe = job(stage, clips[count])
        folder = work / f"ckpt-{stage}"
        subprocess.run(["rm", "-rf", str(folder)], check=True)
        output = work / f"out-{stage}-{count}-resumed.mp4"
        resume = [*recipe, "--checkpoint", str(folder), "--chunk-frames", str(args.chunk_frames)]
        first = run(source, output, resume, kill_after_chunk=folder / "chunk-00001.mkv")
        chunks = len(list(folder.glob("chunk-*.mkv")))
        report({"stage": stage, "frames": count, "run": "killed", **first,
                "check": f"killed={first['killed']}, {chunks} chunks kept"})
        second = run(source, output, resume)
        seen = second["seen"] or {}
        saved = chunks * args.chunk_frames
        check = check_output(output, source, count) if second["rc"] == 0 else f"FAILED rc={second['rc']}: " \
                                                                             f"{second['tail']}"
        report({"stage": stage, "frames": count, "run": "resumed", **second, "restart": seen.get("start"),
                "recomputed": max(0, saved - (seen.get("start") or 0)), "check": check})
    return 0 if all(r["check"].startswith(("ok", "killed=True")) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
