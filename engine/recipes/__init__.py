"""Named recipes: an ordered list of stages and their parameters, validated with clear messages."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from engine.errors import RecipeError
from engine.stages import STAGES, Stage

PRESETS_DIR = Path(__file__).parent


@dataclass
class Recipe:
    name: str
    description: str = ""
    stages: list[Stage] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "stages": [{"stage": s.name, "params": dataclasses.asdict(s)} for s in self.stages],
        }


RECIPE_SUFFIXES = (".json", ".yaml", ".yml")


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.iterdir() if p.suffix in RECIPE_SUFFIXES)


def load_recipe(name_or_path: str) -> Recipe:
    """A preset by name, or a JSON or YAML file by path."""
    path = Path(name_or_path)
    if path.suffix not in RECIPE_SUFFIXES:
        found = [PRESETS_DIR / f"{name_or_path}{suffix}" for suffix in RECIPE_SUFFIXES
                 if "/" not in name_or_path and (PRESETS_DIR / f"{name_or_path}{suffix}").is_file()]
        if not found:
            raise RecipeError(f"Unknown recipe {name_or_path!r}; presets: {', '.join(preset_names())}.")
        path = found[0]
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise RecipeError(f"Recipe file {str(path)!r} does not exist.") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        kind = "JSON" if path.suffix == ".json" else "YAML"
        raise RecipeError(f"Recipe file {str(path)!r} is not valid {kind}: {exc}") from None
    return recipe_from_dict(data)


def recipe_from_dict(data: dict) -> Recipe:
    """Build and validate a recipe; a RecipeError names the bad field, e.g. `stages[1].params.radius`."""
    if not isinstance(data, dict):
        raise RecipeError("recipe: must be an object with 'name' and 'stages'.")
    stages_data = data.get("stages")
    if not isinstance(stages_data, list) or not stages_data:
        raise RecipeError("stages: must be a non-empty list.")
    stages = [_stage_from_dict(item, f"stages[{i}]") for i, item in enumerate(stages_data)]
    if sum(1 for s in stages if s.name == "interpolate") > 1:
        raise RecipeError("stages: at most one 'interpolate' stage (one frame-rate conversion) per recipe.")
    return Recipe(name=str(data.get("name", "custom")), description=str(data.get("description", "")), stages=stages)


def _stage_from_dict(item, where: str) -> Stage:
    if not isinstance(item, dict) or "stage" not in item:
        raise RecipeError(f"{where}: must be an object with a 'stage' name.")
    cls = STAGES.get(item["stage"])
    if cls is None:
        raise RecipeError(f"{where}.stage: unknown stage {item['stage']!r}; known: {', '.join(sorted(STAGES))}.")
    params = item.get("params", {})
    if not isinstance(params, dict):
        raise RecipeError(f"{where}.params: must be an object.")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for key, value in params.items():
        if key not in fields:
            raise RecipeError(f"{where}.params.{key}: unknown parameter of {cls.name}; known: {', '.join(fields)}.")
        values[key] = _coerce(value, fields[key].type, f"{where}.params.{key}")
    stage = cls(**values)
    try:
        stage.validate()
    except RecipeError as exc:
        raise RecipeError(f"{where}.params.{exc}") from None
    return stage


def _coerce(value, type_name, where: str):
    if isinstance(type_name, type):
        kind = type_name
    else:
        kind = {"int": int, "float": float, "bool": bool, "str": str}.get(type_name, str)
    if kind is bool:
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "1", "yes", "false", "0", "no"):
            return str(value).lower() in ("true", "1", "yes")
        raise RecipeError(f"{where}: must be true or false.")
    try:
        coerced = kind(value)
    except (TypeError, ValueError):
        raise RecipeError(f"{where}: must be a {kind.__name__}, not {value!r}.") from None
    if kind is int and isinstance(value, float) and value != coerced:
        raise RecipeError(f"{where}: must be a whole number, not {value!r}.")
    return coerced
