"""Benchmarks of the restoration engine against ffmpeg and plain OpenCV.

    python bench/run.py                      # everything, 10-15 minutes on 2 cores
    python bench/run.py --quick              # a smoke run on tiny clips, well under a minute
    python bench/run.py --only denoise,memory --sizes 480p --seconds 2

Every figure is printed beside a peer measured in the same run, as a ratio: on a small, shared
machine the ratio holds where absolute times do not. Each candidate (ours and the peer alike)
runs in a child process of its own, which gives its peak RSS. Only the standard library is
imported here, so that this parent stays small (see measure.py).
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import platform
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Callable

import ffmpeg_peer
from measure import Run, Table, own_peak_mb, ratio, run_child, run_worker

BENCHMARKS = ["passthrough", "deflicker", "denoise", "stages", "recipe", "memory"]
# Run only when named: the sweep that chose the peers' settings in ffmpeg_peer.py.
EXTRA = ["tune"]
FPS = 24  # the clips' frame rate (clips.FPS)
# Old film ran at 16-18 frames a second; the long clips of the memory benchmark use that.
MEMORY_FPS = 16
# A candidate whose run takes less than this is run up to REPEATS times; the fastest counts.
REPEATS = 3
# The whole-recipe comparison runs every candidate this many times, in interleaved rounds, whatever
# its length: its figure is the median, so that one burst of load elsewhere does not decide it.
RECIPE_ROUNDS = 3
REPEAT_UNDER_SECONDS = 5.0


def fps(run: Run | None, frames: int) -> float | None:
    """Frames per second of a run (the frames a worker reports having done, when it reports)."""
    if run is None:
        return None
    done = run.result().get("frames", frames) if run.stdout.strip() else frames
    return done / max(run.work_seconds, 1e-9)


def cpu_seconds(run: Run) -> float:
    """CPU time of a run: a worker's own count of its work (start-up left out, as in fps), else the process's."""
    reported = run.result().get("cpu_seconds") if run.stdout.strip() else None
    return reported if reported is not None else run.cpu_seconds


def peak(run: Run | None) -> float | None:
    return run.peak_mb if run else None


def size_of(name: str) -> tuple[int, int]:
    """(width, height) for "480p" and the like: 16:9, both even."""
    height = int(name.lower().removesuffix("p"))
    return round(height * 16 / 9 / 2) * 2, height + height % 2


def triple(*values) -> str:
    """Several figures in one cell: "31.2 / 29.8 / 24.8"."""
    return " / ".join("-" if v is None else (f"{v:.3f}" if abs(v) < 1 else f"{v:.2f}") for v in values)


class Bench:
    def __init__(self, args, work: Path):
        self.quick = args.quick
        self.sizes = args.sizes or (["240p"] if args.quick else ["480p", "1080p"])
        self.seconds = args.seconds
        self.work = work
        self.failures: list[str] = []
        self.made: dict[str, dict[str, str]] = {}
        self.import_seconds: list[float] = []
        # SSIM of a 1080p frame takes most of a second: it is averaged over a few frames only.
        self.ssim_frames = 4 if self.quick else 6
        info = run_worker("info", {})
        if not info.ok:
            raise SystemExit(f"The engine does not load: {info.failure()}")
        self.info = info.result()

    # --- plumbing -------------------------------------------------------------------------

    def frames(self, size: str) -> int:
        """Frames per stage clip: 4 s up to 720p, 1.5 s above (1080p stages are slow), 16 frames quick.

        At least 16: ffmpeg's deflicker garbles a clip shorter than its 15-frame window.
        """
        seconds = self.seconds or (0.5 if self.quick else 4.0 if size_of(size)[1] <= 720 else 1.5)
        return max(16, round(seconds * FPS))

    def clips(self, size: str, kinds: list[str], frames: int | None = None, rate: int = FPS) -> dict[str, str]:
        """Paths of the clips of `kinds` at `size`, made (in a child) the first time they are asked for."""
        frames = frames or self.frames(size)
        key = f"{size}-{frames}-{rate}fps"
        made = self.made.setdefault(key, {})
        missing = [k for k in kinds if k not in made]
        if missing:
            folder = self.work / key
            folder.mkdir(exist_ok=True)
            run = run_worker("clips", {"size": size_of(size), "frames": frames, "fps": rate, "dir": str(folder),
                                       "kinds": missing})
            if not run.ok:
                raise SystemExit(f"Could not make the test clips: {run.failure()}")
            made.update(run.result())
        return made

    def output(self, name: str) -> str:
        return str(self.work / name)

    def child(self, what: str, run: Run) -> Run | None:
        """`run` if it succeeded; else the failure is recorded and None returned."""
        if run.ok:
            return run
        self.failures.append(f"{what}: {run.failure()}")
        print(f"  FAILED {what}: {run.failure()}", file=sys.stderr)
        return None

    def ours(self, what: str, task: str, spec: dict) -> Run | None:
        """A worker task (ours, or a plain OpenCV peer) in a child process."""
        run = self.child(what, run_worker(task, spec))
        if run:
            self.import_seconds.append(run.result()["import_seconds"])
        return run

    def ffmpeg(self, what: str, argv: list[str]) -> Run | None:
        return self.child(what, run_child(argv))

    def fastest(self, candidates: dict[str, Callable[[], Run | None]]) -> dict[str, Run | None]:
        """Each candidate's fastest run. A candidate whose run is short is run again, up to REPEATS
        times in rounds interleaved with the others, so that a passing burst of load on a shared
        machine does not decide a ratio; slow ones run once. The peak RSS kept is the largest seen.
        """
        best: dict[str, Run | None] = {}
        peaks: dict[str, float] = {}
        for round_ in range(1 if self.quick else REPEATS):
            for name, make in candidates.items():
                if round_ and (best[name] is None or best[name].seconds > REPEAT_UNDER_SECONDS):
                    continue
                run = make()
                if run is None:
                    best[name] = None
                    continue
                peaks[name] = max(peaks.get(name, 0.0), run.peak_mb)
                if best.get(name) is None or run.work_seconds < best[name].work_seconds:
                    best[name] = run
        return {name: run and dataclasses.replace(run, peak_mb=peaks[name]) for name, run in best.items()}

    def score(self, reference: str, tests: dict[str, str], frames: int, **options) -> dict[str, dict]:
        """Quality of each test clip (name -> path) against `reference`, in one child; see worker.task_score.

        Names whose run failed, or a failed scoring, read as {}.
        """
        spec = {"reference": reference, "tests": tests, "frames": frames, "ssim_frames": self.ssim_frames, **options}
        run = self.child(f"scoring {', '.join(tests)}", run_worker("score", spec))
        return defaultdict(dict, run.result() if run else {})

    @staticmethod
    def remove(*paths: str) -> None:
        for path in paths:
            Path(path).unlink(missing_ok=True)

    # --- benchmarks -----------------------------------------------------------------------

    def passthrough(self) -> Table:
        table = Table("Pass-through: decode + encode (H.264 crf 18, veryfast, yuv420p)",
                      ["size", "frames", "ours fps", "ffmpeg fps", "ratio", "ours MB", "ffmpeg MB",
                       "PSNR dB vs source: ours / ffmpeg"],
                      ["ours: read_video_frames -> VideoEncoder (through RGB); ffmpeg: `ffmpeg -i in -c:v libx264 "
                       "-preset veryfast -crf 18 -pix_fmt yuv420p -movflags +faststart -an out.mp4` (YUV throughout).",
                       "source: an H.264 crf 18 clip of the pan with mild flicker and grain; target ratio >= 0.8x."])
        for size in self.sizes:
            frames = self.frames(size)
            source = self.clips(size, ["source"])["source"]
            outputs = {"ours": self.output(f"pass-ours-{size}.mp4"), "peer": self.output(f"pass-ffmpeg-{size}.mp4")}
            runs = self.fastest({
                "ours": lambda: self.ours(f"passthrough {size}", "passthrough",
                                          {"input": source, "output": outputs["ours"]}),
                "peer": lambda: self.ffmpeg(f"ffmpeg passthrough {size}",
                                            ffmpeg_peer.transcode(source, outputs["peer"])),
            })
            scores = self.score(source, {who: outputs[who] for who in runs if runs[who]}, frames, ssim_frames=0)
            quality = [scores[who].get("psnr") for who in ("ours", "peer")]
            table.add(size, frames, fps(runs["ours"], frames), fps(runs["peer"], frames),
                      ratio(fps(runs["ours"], frames), fps(runs["peer"], frames)), peak(runs["ours"]),
                      peak(runs["peer"]), triple(*quality))
            self.remove(*outputs.values())
        return table

    def deflicker(self) -> Table:
        table = Table("Deflicker vs ffmpeg deflicker",
                      ["size", "frames", "ours fps", "ffmpeg fps", "ratio", "ours MB", "ffmpeg MB",
                       "PSNR dB: ours / ffmpeg / input", "SSIM: ours / ffmpeg / input",
                       "flicker: ours / ffmpeg / input / clean"],
                      ["input: the clean pan with a random gain (+-12 %) and offset (+-8 levels) per frame and grain "
                       "of sigma 4; quality against the clean frames.",
                       "ours: Deflicker(radius=7); ffmpeg: `" + ffmpeg_peer.DEFLICKER + "` (the same 15-frame window).",
                       "both read and write raw RGB (NUT), file to file; flicker = mean |change of mean luma| between "
                       "frames, 0-255 levels (the clean pan has some of its own)."])
        for size in self.sizes:
            frames = self.frames(size)
            made = self.clips(size, ["clean", "flicker"])
            clean, source = made["clean"], made["flicker"]
            outputs = {"ours": self.output(f"deflicker-ours-{size}.nut"),
                       "peer": self.output(f"deflicker-ffmpeg-{size}.nut")}
            runs = self.fastest({
                "ours": lambda: self.ours(f"deflicker {size}", "stage", {
                    "input": source, "output": outputs["ours"], "candidate": {"ours": "deflicker",
                                                                             "params": {"radius": 7}}}),
                "peer": lambda: self.ffmpeg(f"ffmpeg deflicker {size}",
                                            ffmpeg_peer.filter_to_raw(source, outputs["peer"], ffmpeg_peer.DEFLICKER)),
            })
            tests = {**{who: outputs[who] for who in runs if runs[who]}, "input": source}
            scores = self.score(clean, tests, frames, flicker=True)
            scores = [scores[who] for who in ("ours", "peer", "input", "reference")]
            ours_fps, peer_fps = fps(runs["ours"], frames), fps(runs["peer"], frames)
            table.add(size, frames, ours_fps, peer_fps, ratio(ours_fps, peer_fps), peak(runs["ours"]),
                      peak(runs["peer"]), triple(*(s.get("psnr") for s in scores[:3])),
                      triple(*(s.get("ssim") for s in scores[:3])), triple(*(s.get("flicker") for s in scores)))
            self.remove(*outputs.values())
        return table

    def denoise(self) -> Table:
        warp_frames = 8 if self.quick else 16
        peers = {"nlmeans": ffmpeg_peer.NLMEANS, "hqdn3d": ffmpeg_peer.HQDN3D}
        table = Table("Denoise vs ffmpeg nlmeans and hqdn3d",
                      ["size", "frames", "peer", "ours fps", "peer fps", "ratio", "ours MB", "peer MB",
                       "PSNR dB: ours / peer / input", "SSIM: ours / peer / input",
                       "warp err: ours / peer / input / clean"],
                      ["input: the clean pan plus independent gaussian noise of sigma 15 on every pixel and channel; "
                       "quality against the clean frames.",
                       "ours: TemporalDenoise(radius=2, strength=15); peers: `" + ffmpeg_peer.NLMEANS + "` and `"
                       + ffmpeg_peer.HQDN3D + "` (strengths tuned on this noise, see `--only tune`).",
                       f"both read and write raw RGB (NUT), file to file. PSNR: mean over all frames; SSIM: mean over "
                       f"{self.ssim_frames} frames spread over the clip.",
                       f"warp err: temporal warping error over the first {warp_frames} frames, flow from the clean "
                       "frames: mean |frame t - frame t+1 warped onto t| over non-occluded pixels, 0-255 levels "
                       "(lower = steadier; the clean clip's own figure is the floor)."])
        for size in self.sizes:
            frames = self.frames(size)
            made = self.clips(size, ["clean", "noisy"])
            clean, source = made["clean"], made["noisy"]
            outputs = {who: self.output(f"denoise-{who}-{size}.nut") for who in ["ours", *peers]}
            candidates = {"ours": lambda: self.ours(f"denoise {size}", "stage", {
                "input": source, "output": outputs["ours"],
                "candidate": {"ours": "denoise", "params": {"radius": 2, "strength": 15.0}}})}
            for name, vf in peers.items():
                candidates[name] = lambda name=name, vf=vf: self.ffmpeg(
                    f"ffmpeg {name} {size}", ffmpeg_peer.filter_to_raw(source, outputs[name], vf))
            runs = self.fastest(candidates)
            tests = {**{who: outputs[who] for who in runs if runs[who]}, "input": source}
            scores = self.score(clean, tests, frames, warp_frames=warp_frames)
            ours_fps = fps(runs["ours"], frames)
            for name in peers:
                peer_fps = fps(runs[name], frames)
                cells = [[scores[who].get(metric) for who in ("ours", name, "input")] for metric in ("psnr", "ssim")]
                table.add(size, frames, f"ffmpeg {name}", ours_fps, peer_fps, ratio(ours_fps, peer_fps),
                          peak(runs["ours"]), peak(runs[name]), triple(*cells[0]), triple(*cells[1]),
                          triple(*(scores[who].get("warp") for who in ("ours", name, "input", "reference"))))
            self.remove(*outputs.values())
        return table

    def stages(self) -> Table:
        available = self.info["ours"]
        # (our stage, its params, the input clip, the plain OpenCV peer, what the peer is)
        plans = [
            ("tone", {}, "faded", "normalize", "cv2.normalize min-max"),
            ("sharpen", {}, "blurred", "unsharp", "cv2 unsharp mask (RGB)"),
            ("upscale", {"scale": 2}, "half", "bicubic2x", "cv2.resize bicubic 2x"),
            ("descratch", {}, "damaged", "median3", "cv2.medianBlur 3x3"),
        ]
        notes = ["ours and the peer both run in a child process reading and writing raw RGB (NUT); fps is file to "
                 "file, `work ratio` compares the time inside the stage alone (reading and writing left out).",
                 "inputs, with the clean pan as ground truth: tone: faded (60 % contrast, blacks lifted by 50, "
                 "grain 2); sharpen: blurred (gaussian sigma 1.2); upscale: the clean frames shrunk 2x "
                 "(INTER_AREA), so the size given is the output's; descratch: engine.synthetic.degrade dust and "
                 "a line scratch per frame, grain 3, colour kept.",
                 "stages with default parameters (upscale: scale 2)."]
        missing = [p[0] for p in plans if p[0] not in available]
        if missing:
            notes.append(f"not measured ({', '.join(missing)}): not registered in engine.stages.STAGES here.")
        table = Table("Per-frame stages vs plain OpenCV",
                      ["stage", "size", "frames", "peer", "ours fps", "peer fps", "ratio", "work ratio", "ours MB",
                       "peer MB", "PSNR dB: ours / peer / input", "SSIM: ours / peer / input"], notes)
        for size in self.sizes:
            frames = self.frames(size)
            for stage, params, kind, peer_name, peer_label in plans:
                if stage not in available:
                    continue
                made = self.clips(size, ["clean", kind])
                clean, source = made["clean"], made[kind]
                outputs = {who: self.output(f"{stage}-{who}-{size}.nut") for who in ("ours", "peer")}
                specs = {who: {"input": source, "output": outputs[who], "candidate": candidate}
                         for who, candidate in (("ours", {"ours": stage, "params": params}),
                                                ("peer", {"opencv": peer_name}))}
                runs = self.fastest({who: lambda who=who: self.ours(f"{stage} {who} {size}", "stage", specs[who])
                                     for who in specs})
                tests = {who: outputs[who] for who in runs if runs[who]}
                if kind != "half":  # the shrunk input has no same-size reference
                    tests["input"] = source
                scores = self.score(clean, tests, frames)
                work = {who: run.result()["frames"] / max(run.result()["work_seconds"], 1e-9) if run else None
                        for who, run in runs.items()}
                ours_fps, peer_fps = fps(runs["ours"], frames), fps(runs["peer"], frames)
                table.add(stage, size, frames, peer_label, ours_fps, peer_fps, ratio(ours_fps, peer_fps),
                          ratio(work["ours"], work["peer"]), peak(runs["ours"]), peak(runs["peer"]),
                          triple(*(scores[w].get("psnr") for w in ("ours", "peer", "input"))),
                          triple(*(scores[w].get("ssim") for w in ("ours", "peer", "input"))))
                self.remove(*outputs.values())
        return table

    def recipe(self) -> Table:
        """film-default against ffmpeg's nlmeans on the same damaged clip, file to file, in the same run."""
        size = "240p" if self.quick else self.sizes[0]
        frames = 16 if self.quick else round((self.seconds or 3.0) * FPS)
        rounds = 1 if self.quick else RECIPE_ROUNDS
        peers = {"ffmpeg deflicker,nlmeans": "deflicker=size=15,nlmeans=s=12",
                 "ffmpeg nlmeans (its defaults)": "nlmeans"}
        table = Table(f"The film-default recipe vs ffmpeg nlmeans, {size}, {frames} frames, file to file",
                      ["candidate", "fps (median)", "fps (best)", "ratio (median)", "CPU s / frame", "CPU ratio", "MB",
                       "PSNR dB", "SSIM"],
                      ["source: the pan with engine.synthetic's old-film damage (gray, flicker, grain of sigma 12, "
                       "a scratch per frame, dust), H.264 crf 18; quality against the clean gray frames.",
                       "ours: Pipeline(load_recipe('film-default')).run(source, output) (" + " -> ".join(
                           self.info["film_default"]) + ") in a child process; peers: `ffmpeg -vf VF` to the same "
                       "H.264 crf 18 veryfast; both decode the mp4 and encode their result. Our fps leaves out "
                       "the child's Python start-up; ffmpeg's includes its own.",
                       f"{rounds} interleaved rounds of every candidate: fps is the median (and the best) of them; "
                       "CPU s / frame (user + system time of all the process's threads: ffmpeg's from wait4, ours "
                       "from the work alone, start-up left out as in fps) counts what each one cost whatever else "
                       "ran on the machine: on a loaded machine it is the steadier figure.",
                       "ratio: ours / peer (above 1 = ours faster); CPU ratio: the peer's CPU time / ours."])
        made = self.clips(size, ["oldfilm"], frames=frames)
        clean = self.clips(size, ["clean_gray"], frames=frames)["clean_gray"]
        source = made["oldfilm"]
        outputs = {"ours": self.output(f"recipe-ours-{size}.mp4"),
                   **{name: self.output(f"recipe-peer{i}-{size}.mp4") for i, name in enumerate(peers)}}
        candidates = {"ours: film-default": lambda: self.ours(f"film-default {size}", "pipeline", {
            "recipe": "film-default", "input": source, "output": outputs["ours"]})}
        for name, vf in peers.items():
            candidates[name] = lambda name=name, vf=vf: self.ffmpeg(
                f"{name} {size}", ffmpeg_peer.transcode(source, outputs[name], vf))
        runs: dict[str, list[Run]] = {name: [] for name in candidates}
        for _ in range(rounds):
            for name, make in candidates.items():
                run = make()
                if run is not None:
                    runs[name].append(run)
        tests = {"ours: film-default": outputs["ours"], **{name: outputs[name] for name in peers}, "input": source}
        tests = {name: path for name, path in tests.items() if name == "input" or runs[name]}
        scores = self.score(clean, tests, frames)

        def median(values):
            values = sorted(values)
            return values[len(values) // 2] if values else None

        figures = {name: {"fps": median(fps(r, frames) for r in done), "best": max((fps(r, frames) for r in done),
                                                                                   default=None),
                          "cpu": median(cpu_seconds(r) / frames for r in done),
                          "mb": max((r.peak_mb for r in done), default=None)} for name, done in runs.items()}
        ours = figures["ours: film-default"]
        for name, figure in figures.items():
            is_ours = name == "ours: film-default"
            table.add(name, figure["fps"], figure["best"], "" if is_ours else ratio(ours["fps"], figure["fps"]),
                      figure["cpu"], "" if is_ours else ratio(figure["cpu"], ours["cpu"]), figure["mb"],
                      scores[name].get("psnr"), scores[name].get("ssim"))
        table.add("input (damaged)", "", "", "", "", "", "", scores["input"].get("psnr"), scores["input"].get("ssim"))
        self.remove(*outputs.values())
        return table

    def memory(self) -> Table:
        size = "240p" if self.quick else "480p"
        lengths = (1, 6) if self.quick else (10, 60)
        chain = "deflicker=size=15,hqdn3d=16:12:24:18"
        table = Table(f"Memory growth: the film-default recipe through Pipeline.run, {size}, {MEMORY_FPS} fps",
                      ["clip", "frames", "ours fps", "ffmpeg fps", "ratio", "ours MB", "ffmpeg MB"],
                      ["ours: Pipeline(load_recipe('film-default')).run(source, output) ("
                       + " -> ".join(self.info["film_default"]) + ", then H.264 crf 18) in a child process; peer: "
                       "ffmpeg `-vf " + chain + "` to H.264 crf 18 veryfast, for scale.",
                       f"source: the pan at {MEMORY_FPS} fps (silent-film speed) with engine.synthetic's old-film "
                       "damage (gray, flicker, grain, scratch, dust), H.264 crf 18.",
                       f"target: peak RSS of the {lengths[1]} s clip within 1.2x of the {lengths[0]} s clip."])
        peaks = {}
        for seconds in lengths:
            frames = seconds * MEMORY_FPS
            source = self.clips(size, ["oldfilm"], frames=frames, rate=MEMORY_FPS)["oldfilm"]
            outputs = {"ours": self.output(f"memory-ours-{seconds}.mp4"),
                       "peer": self.output(f"memory-ffmpeg-{seconds}.mp4")}
            runs = self.fastest({
                "ours": lambda: self.ours(f"pipeline {seconds} s", "pipeline",
                                          {"recipe": "film-default", "input": source, "output": outputs["ours"]}),
                "peer": lambda: self.ffmpeg(f"ffmpeg chain {seconds} s",
                                            ffmpeg_peer.transcode(source, outputs["peer"], chain)),
            })
            peaks[seconds] = (peak(runs["ours"]), peak(runs["peer"]))
            table.add(f"{seconds} s", frames, fps(runs["ours"], frames), fps(runs["peer"], frames),
                      ratio(fps(runs["ours"], frames), fps(runs["peer"], frames)), *peaks[seconds])
            self.remove(*outputs.values())
        short, long = peaks[lengths[0]], peaks[lengths[1]]
        table.add(f"{lengths[1]} s / {lengths[0]} s", "", "", "", "", ratio(long[0], short[0]), ratio(long[1], short[1]))
        return table

    def tune(self) -> Table:
        """The sweep behind the peers' settings: each denoiser at a few strengths on one clip."""
        size = self.sizes[0]
        frames = self.frames(size) if self.seconds or self.quick else FPS
        made = self.clips(size, ["clean", "noisy"], frames=frames)
        table = Table(f"Denoiser settings on gaussian noise of sigma 15, {size}, {frames} frames",
                      ["candidate", "fps", "MB", "PSNR dB", "SSIM"],
                      ["the settings in ffmpeg_peer.py are the best PSNR of each ffmpeg filter here."])
        candidates = [(f"ffmpeg format=gbrp,nlmeans=s={s}", f"format=gbrp,nlmeans=s={s}") for s in (4, 8, 12, 16)]
        candidates += [(f"ffmpeg format=gbrp,hqdn3d={p}", f"format=gbrp,hqdn3d={p}")
                       for p in ("4:4:6:6", "8:8:12:12", "12:12:18:18", "16:16:24:24", "20:20:30:30")]
        candidates += [(f"ours TemporalDenoise(radius={r}, strength={s})", {"radius": r, "strength": float(s)})
                       for r, s in ((2, 8), (2, 15), (2, 25), (3, 15))]
        output = self.output("tune.nut")
        for label, how in candidates:
            if isinstance(how, str):
                run = self.ffmpeg(label, ffmpeg_peer.filter_to_raw(made["noisy"], output, how))
            else:
                run = self.ours(label, "stage", {"input": made["noisy"], "output": output,
                                                 "candidate": {"ours": "denoise", "params": how}})
            score = self.score(made["clean"], {"output": output}, frames)["output"] if run else {}
            table.add(label, fps(run, frames), peak(run), score.get("psnr"), score.get("ssim"))
        self.remove(output)
        return table


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({model}), {platform.system()} {platform.release()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny clips (240p, 16 frames), one run each: a smoke run")
    parser.add_argument("--sizes", type=lambda s: [x.strip() for x in s.split(",") if x.strip()],
                        help="comma-separated frame sizes for the stage benchmarks (default 480p,1080p)")
    parser.add_argument("--seconds", type=float, help="length of the stage clips (default 4 s up to 720p, 1.5 s above)")
    parser.add_argument("--only", type=lambda s: [x.strip() for x in s.split(",") if x.strip()],
                        help=f"comma-separated benchmarks: {', '.join(BENCHMARKS + EXTRA)}")
    parser.add_argument("--workdir", help="where the clips go (default: a temporary folder, removed at the end)")
    argv = sys.argv[1:] if argv is None else argv
    # `python -m engine bench -- --quick` passes the "--" along.
    args = parser.parse_args(argv[1:] if argv[:1] == ["--"] else argv)
    names = args.only or BENCHMARKS
    unknown = [n for n in names if n not in BENCHMARKS + EXTRA]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; known: {', '.join(BENCHMARKS + EXTRA)}")
    for size in args.sizes or []:
        if not size.lower().removesuffix("p").isdigit():
            parser.error(f"--sizes: {size!r} is not like 480p")

    work = Path(tempfile.mkdtemp(prefix="bench-", dir=args.workdir))
    bench = Bench(args, work)
    started = time.monotonic()
    print(f"# Benchmarks, {datetime.datetime.now():%Y-%m-%d %H:%M}\n")
    print(f"- machine: {machine()}; load average at start {os.getloadavg()[0]:.2f}")
    print(f"- Python {platform.python_version()}, ffmpeg {ffmpeg_peer.version()}")
    print("- fps ratio = ours / peer (above 1 = ours faster); MB = peak RSS of the candidate's process\n",
          flush=True)
    try:
        for name in names:
            began, load = time.monotonic(), os.getloadavg()[0]
            table = getattr(bench, name)()
            table.notes.append(f"took {time.monotonic() - began:.0f} s; load average {load:.2f} at the start, "
                               f"{os.getloadavg()[0]:.2f} at the end ({os.cpu_count()} = every core busy).")
            print(table.render(), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    imports = bench.import_seconds
    print(f"- our child processes' start-up (Python imports, {min(imports, default=0):.1f}-"
          f"{max(imports, default=0):.1f} s) is left out of our fps; ffmpeg's wall time includes its own.")
    print(f"- total {time.monotonic() - started:.0f} s; load average at the end {os.getloadavg()[0]:.2f}; "
          f"this parent's peak RSS {own_peak_mb():.0f} MB (a floor under every child's figure)")
    if bench.failures:
        print(f"\n{len(bench.failures)} run(s) failed:\n" + "\n".join(f"- {f}" for f in bench.failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
