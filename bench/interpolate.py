"""Frame-rate conversion against ffmpeg's minterpolate, with ground truth.

A smooth pan over a real photo is made at 24 fps; every other frame is dropped (12 fps, as old
film), then both converters bring it back to 24 fps. The recreated frames are scored against the
true ones (PSNR, SSIM), and the speed of each is measured in the same run.

Usage: python bench/interpolate.py [--size 854x480] [--frames 48]
"""
from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from skimage import data

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from engine.metrics import psnr, ssim  # noqa: E402
from engine.stages import Interpolate  # noqa: E402
from engine.synthetic import pan_frames  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="854x480")
    parser.add_argument("--frames", type=int, default=48, help="input frames at 12 fps")
    args = parser.parse_args()
    width, height = map(int, args.size.split("x"))
    truth = list(pan_frames(data.astronaut(), count=2 * args.frames, size=(width, height), shift_per_frame=2.0))
    source = truth[::2]
    recreated = range(1, 2 * args.frames - 2, 2)  # true frames that exist only between two inputs

    stage = Interpolate(fps=24.0, dedupe=False)
    stage.bind(12.0)
    started = time.perf_counter()
    ours = list(stage.apply(iter(source)))
    ours_seconds = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as work:
        raw_in, raw_out = Path(work) / "in.rgb", Path(work) / "out.rgb"
        raw_in.write_bytes(b"".join(f.tobytes() for f in source))
        command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
                   "-s", f"{width}x{height}", "-r", "12", "-i", str(raw_in),
                   "-vf", "minterpolate=fps=24:mi_mode=mci:mc_mode=aobmc:me_mode=bidir",
                   "-f", "rawvideo", "-pix_fmt", "rgb24", str(raw_out)]
        started = time.perf_counter()
        subprocess.run(command, check=True)
        ffmpeg_seconds = time.perf_counter() - started
        flat = np.frombuffer(raw_out.read_bytes(), np.uint8)
        theirs = list(flat.reshape(-1, height, width, 3))

    def score(frames):
        usable = [j for j in recreated if j < len(frames)]
        return (np.mean([psnr(truth[j], frames[j]) for j in usable]),
                np.mean([ssim(truth[j], frames[j]) for j in usable[::4]]))

    blend = [((truth[j - 1].astype(np.uint16) + truth[j + 1]) // 2).astype(np.uint8) if j % 2 else truth[j]
             for j in range(2 * args.frames - 1)]
    rows = [("ours: Interpolate (DIS flow, occlusion-aware)", len(ours), ours_seconds, *score(ours)),
            ("ffmpeg minterpolate mci/aobmc/bidir", len(theirs), ffmpeg_seconds, *score(theirs)),
            ("naive: average of the two neighbours", len(blend), float("nan"), *score(blend))]
    print(f"\n12 -> 24 fps, {width}x{height}, {args.frames} input frames; scores on the recreated frames")
    print(f"| {'converter':46} | out frames | output fps | PSNR dB | SSIM  |")
    print(f"| {'-' * 46} | ---------- | ---------- | ------- | ----- |")
    for label, count, seconds, p, s in rows:
        speed = f"{count / seconds:10.1f}" if seconds == seconds else f"{'-':>10}"
        print(f"| {label:46} | {count:10d} | {speed} | {p:7.2f} | {s:.3f} |")
    print(f"peak RSS: this process (ours, with the clip held for scoring) "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB, "
          f"ffmpeg {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MB")
    print(f"\nspeed ratio ours / ffmpeg: {(len(ours) / ours_seconds) / (len(theirs) / ffmpeg_seconds):.2f}x "
          "(ours in process; ffmpeg's time includes reading and writing raw frames)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
