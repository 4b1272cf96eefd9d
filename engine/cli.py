"""`python -m engine restore|recipes|bench`: the engine without the site.

Bad input gives one clear line on stderr and a non-zero exit, never a traceback.
"""
from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
from pathlib import Path

from tqdm import tqdm

from engine.errors import Cancelled, EngineError, RecipeError
from engine.io import probe
from engine.pipeline import Pipeline, ProgressEvent
from engine.recipes import load_recipe, preset_names, recipe_from_dict

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


def apply_overrides(recipe: dict, assignments: list[str]) -> dict:
    """Apply `stage.param=value` assignments to a recipe dict; values are JSON or plain strings."""
    recipe = copy.deepcopy(recipe)
    for assignment in assignments:
        target, separator, raw = assignment.partition("=")
        stage_name, dot, param = target.partition(".")
        if not separator or not dot or not param:
            raise RecipeError(f"--set {assignment}: expected stage.param=value, e.g. denoise.strength=8")
        stages = [s for s in recipe["stages"] if s["stage"] == stage_name]
        if not stages:
            raise RecipeError(f"--set {assignment}: the recipe has no stage {stage_name!r} "
                              f"(it has: {', '.join(s['stage'] for s in recipe['stages'])}).")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        for stage in stages:
            stage.setdefault("params", {})[param] = value
    return recipe


class _ProgressBar:
    """A tqdm bar per phase, fed by the pipeline's progress events."""

    def __init__(self):
        self.bar = None
        self.phase = None

    def __call__(self, event: ProgressEvent) -> None:
        if event.phase == "done":
            self.close()
            return
        if event.phase != self.phase:
            self.close()
            self.phase = event.phase
            label = {"restore": "+".join(event.stages), "encode": "encode", "finish": "audio"}[event.phase]
            self.bar = tqdm(total=event.total, desc=label, unit="frame", initial=0, dynamic_ncols=True)
        self.bar.total = max(self.bar.total or 0, event.total)
        self.bar.update(event.frame - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def cmd_restore(args) -> int:
    source = Path(args.input)
    if not source.is_file():
        raise EngineError(f"{source}: no such file.")
    recipe = load_recipe(args.recipe)
    if args.set:
        recipe = recipe_from_dict(apply_overrides(recipe.as_dict(), args.set))
    info = probe(source)
    output = Path(args.output)
    expected = ".mp4" if info.kind == "video" else None
    if expected and output.suffix.lower() != expected:
        raise EngineError(f"{output}: a video is restored to an .mp4 file.")
    if not output.parent.is_dir():
        raise EngineError(f"{output.parent}: no such folder for the output.")
    bar = _ProgressBar()
    try:
        result = Pipeline(recipe, chunk_frames=args.chunk_frames).run(
            source, output, checkpoint_dir=args.checkpoint, on_event=bar)
    finally:
        bar.close()
    print(f"{result.output}: {result.frames} frame(s) in {result.seconds:.1f} s "
          f"({result.frames / max(result.seconds, 1e-6):.1f} frames/s)")
    return 0


def cmd_recipes(args) -> int:
    for name in preset_names():
        recipe = load_recipe(name)
        stages = " -> ".join(s["stage"] for s in recipe.as_dict()["stages"])
        print(f"{name:14} {stages:40} {recipe.description}")
    return 0


def cmd_models(args) -> int:
    """List every known model: found or missing, hash verified, licence, where to get it."""
    from engine.models import registry

    print(f"models folder: {registry.models_dir()}")
    for spec in registry.all_specs():
        result = registry.status(spec.key, check_hash=not args.no_hash)
        state = ("verified" if result.verified else "found" if result.intact else "DAMAGED") if result.found else "missing"
        use = "commercial use allowed" if spec.commercial_use else "NON-COMMERCIAL"
        print(f"{spec.key:28} {state:9} {spec.task:18} {spec.licence} ({use})")
        print(f"{'':28} licence as written in {spec.licence_source}")
        if not result.verified:
            print(f"{'':28} {result.message}")
    return 0


def run_benchmarks(bench_args: list[str]) -> int:
    runner = Path(__file__).resolve().parent.parent / "bench" / "run.py"
    if not runner.is_file():
        raise EngineError("The benchmarks live in bench/ of the source tree, which is not here.")
    return subprocess.call([sys.executable, str(runner), *bench_args])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m engine", description="Restore old film and pictures.")
    commands = parser.add_subparsers(dest="command", required=True)
    restore = commands.add_parser("restore", help="restore a video or an image")
    restore.add_argument("input")
    restore.add_argument("-o", "--output", required=True, help="an .mp4 for a video; .png/.jpg/.tif for an image")
    restore.add_argument("--recipe", default="film-default", help="a preset name or a recipe file (.json/.yaml)")
    restore.add_argument("--checkpoint", help="a folder for resumable chunks; run again with it to resume")
    restore.add_argument("--chunk-frames", type=int, default=120, help="frames per checkpoint chunk")
    restore.add_argument("--set", action="append", metavar="STAGE.PARAM=VALUE", help="override a recipe parameter")
    restore.set_defaults(handler=cmd_restore)
    recipes = commands.add_parser("recipes", help="list the preset recipes")
    recipes.set_defaults(handler=cmd_recipes)
    models = commands.add_parser("models", help="list the learned models: found or missing, verified, licence")
    models.add_argument("--no-hash", action="store_true", help="check sizes only (faster)")
    models.set_defaults(handler=cmd_models)
    commands.add_parser("bench", help="run the benchmarks in bench/ (options: bench --help)")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:
        # The benchmarks parse their own options (`bench --quick --only denoise`).
        return _guarded(lambda: run_benchmarks(argv[1:]))
    args = build_parser().parse_args(argv)
    return _guarded(lambda: args.handler(args), checkpoint=getattr(args, "checkpoint", None))


def _guarded(action, checkpoint=None) -> int:
    try:
        return action()
    except Cancelled:
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        hint = " run again with the same --checkpoint to resume." if checkpoint else ""
        print(f"\nInterrupted;{hint or ' nothing was written.'}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except EngineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return EXIT_BAD_INPUT
