"""The film-default recipe against an ffmpeg filter chain, on damaged film with ground truth.

Clean frames pan over a real photo; engine.synthetic's old-film damage (flicker, grain, dust,
a scratch) is added. Our recipe's stages and ffmpeg's `deflicker,hqdn3d` and `deflicker,nlmeans`
both restore it from raw frames to raw frames, so encoding plays no part; each output is scored
against the clean (gray) frames, and each side's speed is measured in the same run.

Usage: python bench/recipe_quality.py [--size 854x480] [--frames 48]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np
from skimage import data

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from engine.metrics import flicker_index, psnr, ssim  # noqa: E402
from engine.recipes import load_recipe  # noqa: E402
from engine.synthetic import degrade, pan_frames  # noqa: E402

PEERS = {
    "ffmpeg deflicker,hqdn3d": "deflicker=size=15,hqdn3d=16:12:24:18",
    "ffmpeg deflicker,nlmeans": "deflicker=size=15,nlmeans=s=12",
}


def gray3(rgb: np.ndarray) -> np.ndarray:
    return np.repeat(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)


def run_ffmpeg(frames, width, height, vf, work: Path):
    raw_in, raw_out = work / "in.rgb", work / "out.rgb"
    raw_in.write_bytes(b"".join(f.tobytes() for f in frames))
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
               "-s", f"{width}x{height}", "-r", "16", "-i", str(raw_in), "-vf", f"format=yuv444p,{vf}",
               "-f", "rawvideo", "-pix_fmt", "rgb24", str(raw_out)]
    started = time.perf_counter()
    subprocess.run(command, check=True)
    seconds = time.perf_counter() - started
    return list(np.frombuffer(raw_out.read_bytes(), np.uint8).reshape(-1, height, width, 3)), seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="854x480")
    parser.add_argument("--frames", type=int, default=48)
    args = parser.parse_args()
    width, height = map(int, args.size.split("x"))
    rng = np.random.default_rng(7)
    clean = [gray3(f) for f in pan_frames(data.astronaut(), count=args.frames, size=(width, height))]
    damaged = [degrade(f, rng) for f in clean]

    recipe = load_recipe("film-default")
    started = time.perf_counter()
    frames = iter(damaged)
    for stage in recipe.stages:
        frames = stage.apply(frames)
    ours = list(frames)
    rows = [("input (damaged)", damaged, None), ("ours: film-default", ours, time.perf_counter() - started)]
    with tempfile.TemporaryDirectory() as work:
        for label, vf in PEERS.items():
            output, seconds = run_ffmpeg(damaged, width, height, vf, Path(work))
            rows.append((label, output, seconds))

    scored = range(8, args.frames - 8)  # away from the ends, where windows are clipped on both sides
    print(f"\nold-film damage on a {width}x{height} pan, {args.frames} frames at 16 fps; scores against the clean frames")
    print(f"| {'restoration':28} | fps   | PSNR dB | SSIM  | flicker |")
    print(f"| {'-' * 28} | ----- | ------- | ----- | ------- |")
    for label, output, seconds in rows:
        p = np.mean([psnr(clean[i], output[i]) for i in scored])
        s = np.mean([ssim(clean[i], output[i]) for i in scored[::4]])
        speed = f"{len(output) / seconds:5.1f}" if seconds else "    -"
        print(f"| {label:28} | {speed} | {p:7.2f} | {s:.3f} | {flicker_index(output[8:-8]):7.2f} |")
    print(f"| {'clean (the floor)':28} |     - |       - |     - | {flicker_index(clean[8:-8]):7.2f} |")
    print("\nours runs in process; ffmpeg's time includes reading and writing raw frames")
    return 0


if __name__ == "__main__":
    sys.exit(main())
