"""The child-process side of the benchmarks: `python bench/worker.py TASK 'JSON spec'`.

Each candidate runs in a process of its own so that its peak RSS, read by the parent when it
exits, is its own. The result is printed as one JSON line, the last on stdout.
"""
from __future__ import annotations

import time

STARTED = time.perf_counter()

import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

import clips  # noqa: E402
from cv_peers import PEERS  # noqa: E402
from engine.io import VideoEncoder, probe, read_video_frames  # noqa: E402
from engine.metrics import flicker_index, psnr, ssim, warping_error  # noqa: E402
from engine.pipeline import Pipeline  # noqa: E402
from engine.recipes import load_recipe  # noqa: E402
from engine.stages import STAGES  # noqa: E402

IMPORT_SECONDS = time.perf_counter() - STARTED


class Timed:
    """An iterator that adds up the time spent producing its items (to tell decoding from work)."""

    def __init__(self, items):
        self.items = iter(items)
        self.seconds = 0.0

    def __iter__(self):
        return self

    def __next__(self):
        start = time.perf_counter()
        try:
            return next(self.items)
        finally:
            self.seconds += time.perf_counter() - start


def task_info(spec: dict) -> dict:
    """What the parent needs to know to plan and describe: which stages exist, what film-default does."""
    return {"ours": sorted(STAGES), "film_default": [stage.name for stage in load_recipe("film-default").stages]}


def task_clips(spec: dict) -> dict:
    """Write the clips of one size named in spec["kinds"] into spec["dir"]."""
    size = tuple(spec["size"])
    count = spec["frames"]
    fps = spec.get("fps", clips.FPS)
    folder = Path(spec["dir"])
    made = {}
    for kind in spec["kinds"]:
        clean = clips.clean_frames(size, count, fps)
        if kind in clips.H264_KINDS:
            path = folder / f"{kind}.mp4"
            with VideoEncoder(path, fps=fps, crf=18, preset="veryfast") as encoder:
                for frame in clips.H264_KINDS[kind](clean):
                    encoder.write(frame)
        else:
            path = folder / f"{kind}.nut"
            clips.write_raw(path, clips.RAW_KINDS[kind](clean), fps)
        made[kind] = str(path)
    return made


def _operation(candidate: dict):
    """frames -> frames for {"ours": stage name, "params": {...}} or {"opencv": peer name}."""
    if "ours" in candidate:
        return STAGES[candidate["ours"]](**candidate.get("params", {})).apply
    peer = PEERS[candidate["opencv"]]
    return lambda frames: (peer(frame) for frame in frames)


def task_stage(spec: dict) -> dict:
    """Raw clip in, raw clip out through one stage (ours or an OpenCV peer), streaming."""
    operation = _operation(spec["candidate"])
    source = Timed(read_video_frames(spec["input"]))
    started = time.perf_counter()
    writing = 0.0
    writer = clips.RawWriter(spec["output"])
    for frame in operation(source):
        start = time.perf_counter()
        writer.write(frame)
        writing += time.perf_counter() - start
    start = time.perf_counter()
    writer.close()
    writing += time.perf_counter() - start
    seconds = time.perf_counter() - started
    return {"frames": writer.frames_written, "seconds": seconds, "work_seconds": seconds - source.seconds - writing,
            "import_seconds": IMPORT_SECONDS}


def task_passthrough(spec: dict) -> dict:
    """Decode to RGB and encode again as the pipeline writes results (H.264 crf 18, veryfast)."""
    fps = probe(spec["input"]).fps
    started = time.perf_counter()
    with VideoEncoder(spec["output"], fps=fps, crf=18, preset="veryfast") as encoder:
        for frame in read_video_frames(spec["input"]):
            encoder.write(frame)
    return {"frames": encoder.frames_written, "seconds": time.perf_counter() - started,
            "import_seconds": IMPORT_SECONDS}


def task_pipeline(spec: dict) -> dict:
    """A whole recipe through Pipeline.run, source file to result mp4."""
    pipeline = Pipeline(load_recipe(spec["recipe"]))
    started, cpu_started = time.perf_counter(), time.process_time()
    result = pipeline.run(spec["input"], spec["output"])
    return {"frames": result.frames, "seconds": time.perf_counter() - started, "import_seconds": IMPORT_SECONDS,
            "cpu_seconds": time.process_time() - cpu_started}


def task_score(spec: dict) -> dict:
    """Quality of each clip of spec["tests"] (name -> path) against spec["reference"], all decoded alike.

    PSNR is the mean of per-frame PSNRs over every frame; SSIM the mean over `ssim_frames`
    frames spread evenly (it is slow at 1080p); the warping error, when `warp_frames` > 0, is
    over the first that many frames with flow from the reference; the flicker index, when
    `flicker` is set, over every frame. The reference's own flicker index and warping error
    (the floor a perfect result would get) come under "reference".
    """
    total = spec["frames"]
    ssim_at = set(np.linspace(0, total - 1, min(total, spec.get("ssim_frames", 8))).round().astype(int).tolist())
    warp_frames = spec.get("warp_frames", 0)
    paths = {"reference": spec["reference"], **spec["tests"]}
    names = list(spec["tests"])
    psnrs = {name: [] for name in names}
    ssims = {name: [] for name in names}
    kept = []  # the first warp_frames frames of every clip, reference first
    streams = zip(*(read_video_frames(path) for path in paths.values()), strict=True)
    for index, (reference, *tests) in enumerate(streams):
        for name, test in zip(names, tests):
            psnrs[name].append(psnr(reference, test))
            if index in ssim_at:
                ssims[name].append(ssim(reference, test))
        if index < warp_frames:
            kept.append((reference, *tests))
    results = {name: {"psnr": float(np.mean(psnrs[name])), "ssim": float(np.mean(ssims[name])) if ssims[name] else None}
               for name in names}
    results["reference"] = {}
    for position, name in enumerate(["reference", *names]):
        if spec.get("flicker"):
            results[name]["flicker"] = flicker_index(read_video_frames(paths[name]))
        if warp_frames:
            clip = [frames[position] for frames in kept]
            results[name]["warp"] = warping_error(clip, reference_frames=[frames[0] for frames in kept])
    return results


TASKS = {"info": task_info, "clips": task_clips, "stage": task_stage, "passthrough": task_passthrough,
         "pipeline": task_pipeline, "score": task_score}

if __name__ == "__main__":
    print(json.dumps(TASKS[sys.argv[1]](json.loads(sys.argv[2]))))
