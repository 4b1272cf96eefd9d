"""Colorization that does not flicker, with ground truth.

Real colour photos (scikit-image's astronaut, coffee, chelsea) pan as a clip; the clip is made
gray and coloured again from its first colour frame, given (a) as a reference image coloured
into every frame on its own (per-frame colorization: what makes other tools flicker), (b) the
same reference image with our temporal propagation, and (c) the first frame as a colorized
keyframe of the clip, propagated. Scores against the true colours: chroma PSNR, colourfulness
(Hasler and Suesstrunk; the truth's beside it), warping error of the RGB result and of its
colour alone (shown at constant luminance, flow from the truth), all in the same run. Then the
spatial solver's and the whole stage's time per frame at 240p, 480p and 720p.

Usage: python bench/colorize.py [--size 320x240] [--frames 24] [--quick]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from skimage import data

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from engine.color.scribble import solve_chroma  # noqa: E402
from engine.color.space import chroma, chroma_psnr, chroma_view, combine, luminance  # noqa: E402
from engine.color.transfer import transfer_samples  # noqa: E402
from engine.metrics import colorfulness, warping_error  # noqa: E402
from engine.stages.colorize import Colorize  # noqa: E402
from engine.synthetic import pan_frames  # noqa: E402

PHOTOS = ("astronaut", "coffee", "chelsea")


def gray(frame: np.ndarray) -> np.ndarray:
    return np.repeat(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)


def per_frame(reference: np.ndarray, frames: list[np.ndarray]) -> list[np.ndarray]:
    """Each frame coloured on its own from the reference image, as our stage would without time."""
    out = []
    for frame in frames:
        target, weight = transfer_samples(frame, reference)
        out.append(combine(luminance(frame), solve_chroma(frame[..., 0], target * 1.15, weight)))
    return out


def timed(make):
    started = time.perf_counter()
    frames = make()
    return frames, time.perf_counter() - started


def scores(truth, frames, seconds):
    # Frame 0 is the reference itself for (c); it is left out of every row alike.
    return (np.mean([chroma_psnr(a, b) for a, b in zip(truth[1:], frames[1:])]),
            np.mean([colorfulness(f) for f in frames[1:]]),
            warping_error(frames, truth),
            warping_error([chroma_view(f) for f in frames], truth),
            seconds / len(frames) if seconds else float("nan"))


def quality(size: tuple[int, int], count: int, work: Path) -> None:
    print(f"\n### Quality: {count} frames at {size[0]}x{size[1]}, pan of 2.5 px per frame; "
          "frame 0 in colour is the reference")
    print("| clip | method | chroma PSNR dB | colourfulness (truth) | warping error | colour warping error | s/frame |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for name in PHOTOS:
        truth = list(pan_frames(getattr(data, name)(), count=count, size=size, shift_per_frame=2.5))
        grays = [gray(f) for f in truth]
        reference = work / f"{name}.png"
        Image.fromarray(truth[0]).save(reference)
        truth_colorful = np.mean([colorfulness(f) for f in truth[1:]])
        rows = {
            "gray input": (grays, 0.0),
            "naive: keyframe chroma copied, not moved": (
                [combine(luminance(g), chroma(truth[0])) for g in grays], 0.0),
            "(a) per-frame transfer from the image": timed(lambda: per_frame(truth[0], grays)),
            "(b) ours: image + temporal propagation": timed(
                lambda: list(Colorize(reference_images=[str(reference)]).apply(iter(grays)))),
            "(c) ours: keyframe + temporal propagation": timed(
                lambda: list(Colorize(reference_frames=[{"frame": 0, "image": str(reference)}]).apply(iter(grays)))),
        }
        for label, (frames, seconds) in rows.items():
            p, c, w, cw, s = scores(truth, frames, seconds)
            speed = f"{s:.3f}" if s == s else "-"
            print(f"| {name} | {label} | {p:.2f} | {c:.1f} ({truth_colorful:.1f}) | {w:.3f} | {cw:.3f} | {speed} |")


def speed(heights: list[int], frames: int) -> None:
    print(f"\n### Time per frame (one process; solver: transfer samples spread over the whole frame, best of 3; "
          f"stage: {frames} frames, keyframe at 0, propagated). Wall and CPU seconds: on a shared machine CPU time "
          "is the steadier figure")
    print("| size | solver wall s | solver CPU s | stage wall s/frame | stage CPU s/frame |")
    print("| --- | ---: | ---: | ---: | ---: |")
    photo = data.astronaut()
    for height in heights:
        width = round(height * 16 / 9 / 2) * 2
        clip = list(pan_frames(photo, count=frames, size=(width, height), shift_per_frame=3.0))
        y = cv2.cvtColor(clip[0], cv2.COLOR_RGB2GRAY)
        target, weight = transfer_samples(y, clip[0])
        runs = []
        for _ in range(3):
            started, cpu = time.perf_counter(), time.process_time()
            solve_chroma(y, target, weight)
            runs.append((time.perf_counter() - started, time.process_time() - cpu))
        with tempfile.TemporaryDirectory() as work:
            key = Path(work) / "key.png"
            Image.fromarray(clip[0]).save(key)
            grays = [gray(f) for f in clip]
            started, cpu = time.perf_counter(), time.process_time()
            list(Colorize(reference_frames=[{"frame": 0, "image": str(key)}]).apply(iter(grays)))
            stage_wall, stage_cpu = (time.perf_counter() - started) / frames, (time.process_time() - cpu) / frames
        solver_wall, solver_cpu = min(runs)
        print(f"| {height}p ({width}x{height}) | {solver_wall:.3f} | {solver_cpu:.3f} | {stage_wall:.3f} | "
              f"{stage_cpu:.3f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="320x240")
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--quick", action="store_true", help="small clips, a smoke run")
    args = parser.parse_args()
    width, height = map(int, args.size.split("x"))
    if args.quick:
        width, height, args.frames = 128, 96, 8
    with tempfile.TemporaryDirectory() as work:
        quality((width, height), args.frames, Path(work))
    speed([240] if args.quick else [240, 480, 720], 4 if args.quick else 8)
    return 0


if __name__ == "__main__":
    sys.exit(main())
