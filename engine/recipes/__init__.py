"""Named recipes: an ordered list of stages and their parameters, validated with clear messages.

What a recipe does that the site must know (does it need a GPU worker, does it generate colour,
does it change the frame rate) is asked of its stages: `recipe_needs_gpu`, `recipe_makes_color`
and `recipe_changes_frame_rate` take a Recipe or a recipe as stored (a dict, possibly of an
older engine: stage names it does not know count as classical, parameters it does not know are
ignored); `stage_makes_color` and `stage_changes_frame_rate` answer for one stored stage.
"""
from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field
from functools import lru_cache
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

    @property
    def needs_gpu(self) -> bool:
        """Whether a stage runs a learned model that needs a GPU to run at a usable speed."""
        return any(stage.needs_gpu for stage in self.stages)

    @property
    def makes_color(self) -> bool:
        """Whether a stage generates colour the source did not have."""
        return any(stage.makes_color for stage in self.stages)

    @property
    def changes_frame_rate(self) -> bool:
        return any(stage.changes_frame_rate for stage in self.stages)


RECIPE_SUFFIXES = (".json", ".yaml", ".yml")


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.iterdir() if p.suffix in RECIPE_SUFFIXES)


def presets(*, makes_color: bool | None = None) -> dict[str, Recipe]:
    """The presets by name, in name order; with `makes_color`, only those that do (True) or do not
    (False) generate colour (the site offers colouring on a page of its own)."""
    recipes = {name: load_recipe(name) for name in preset_names()}
    return {name: recipe for name, recipe in recipes.items() if makes_color is None or recipe.makes_color == makes_color}


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
    if sum(1 for s in stages if s.changes_frame_rate) > 1:
        raise RecipeError("stages: at most one 'interpolate' stage (one frame-rate conversion) per recipe.")
    return Recipe(name=str(data.get("name", "custom")), description=str(data.get("description", "")), stages=stages)


def recipe_needs_gpu(recipe: Recipe | dict) -> bool:
    """Whether a recipe (a Recipe, or a dict as stored by the site) runs a learned model that needs
    a GPU: a faces stage with GPEN (model "auto" or a GPEN key), superres with realesrgan-x4plus."""
    return any(stage.needs_gpu for stage in _stages_of(recipe))


def recipe_makes_color(recipe: Recipe | dict) -> bool:
    """Whether a recipe (a Recipe, or a dict as stored) generates colour: it has a colorize stage."""
    return any(stage.makes_color for stage in _stages_of(recipe))


def recipe_changes_frame_rate(recipe: Recipe | dict) -> bool:
    """Whether a recipe (a Recipe, or a dict as stored) converts the frame rate (interpolate)."""
    return any(stage.changes_frame_rate for stage in _stages_of(recipe))


def stage_makes_color(stage: dict) -> bool:
    """Whether one stored stage ({"stage": name, "params": {...}}) generates colour."""
    cls = _stored_stage_class(stage)
    return cls is not None and cls.makes_color


def stage_changes_frame_rate(stage: dict) -> bool:
    """Whether one stored stage ({"stage": name, "params": {...}}) converts the frame rate."""
    cls = _stored_stage_class(stage)
    return cls is not None and cls.changes_frame_rate


def _stored_stage_class(item) -> type[Stage] | None:
    name = item.get("stage") if isinstance(item, dict) else None
    return STAGES.get(name) if isinstance(name, str) else None


def _stages_of(recipe: Recipe | dict) -> list[Stage]:
    if isinstance(recipe, Recipe):
        return recipe.stages
    items = recipe.get("stages") if isinstance(recipe, dict) else None
    return [stage for stage in map(_stored_stage, items if isinstance(items, list) else []) if stage is not None]


def _stored_stage(item) -> Stage | None:
    """The stage a stored recipe names, built from the parameters that still fit, unvalidated (a
    reference photo may be gone since); None for a stage this engine does not know."""
    cls = _stored_stage_class(item)
    if cls is None:
        return None
    params = item.get("params")
    types = _parameter_types(cls)
    values = {}
    for key, value in (params.items() if isinstance(params, dict) else ()):
        if key in types and value is not None:
            try:
                values[key] = _coerce(value, types[key], key)
            except RecipeError:
                pass
    try:
        return cls(**values)
    except (TypeError, ValueError):
        return cls()


def _stage_from_dict(item, where: str) -> Stage:
    if not isinstance(item, dict) or "stage" not in item:
        raise RecipeError(f"{where}: must be an object with a 'stage' name.")
    cls = STAGES.get(item["stage"])
    if cls is None:
        raise RecipeError(f"{where}.stage: unknown stage {item['stage']!r}; known: {', '.join(sorted(STAGES))}.")
    params = item.get("params", {})
    if not isinstance(params, dict):
        raise RecipeError(f"{where}.params: must be an object.")
    types = _parameter_types(cls)
    values = {}
    for key, value in params.items():
        if key not in types:
            raise RecipeError(f"{where}.params.{key}: unknown parameter of {cls.name}; known: {', '.join(types)}.")
        values[key] = _coerce(value, types[key], f"{where}.params.{key}")
    stage = cls(**values)
    try:
        stage.validate()
    except RecipeError as exc:
        raise RecipeError(f"{where}.params.{exc}") from None
    return stage


@lru_cache(maxsize=None)
def _parameter_types(cls: type[Stage]) -> dict[str, type]:
    """A stage's parameters (its dataclass fields, in order) and their types, from its type hints."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _coerce(value, kind: type, where: str):
    """`value` as a `kind` (bool, int, float, str or a list type such as ListParam): "2" becomes 2
    (from a command line's --set), 2.0 an int 2 but 2.5 an error, "yes" True."""
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
