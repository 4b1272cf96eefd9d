"""What stages declare about themselves (GPU, colour, frame rate) and the recipe-level questions
the site asks of a Recipe or of a recipe as stored; parameter coercion from type hints."""
import pytest

from engine.errors import RecipeError
from engine.recipes import (load_recipe, preset_names, presets, recipe_changes_frame_rate, recipe_from_dict,
                            recipe_makes_color, recipe_needs_gpu, stage_changes_frame_rate, stage_makes_color)
from engine.stages import STAGES
from engine.stages.faces import GPEN_KEYS

CLASSICAL = ("deflicker", "descratch", "denoise", "tone", "sharpen", "upscale", "interpolate", "colorize")


def stored(*stages) -> dict:
    """A recipe as the site stores it on a job."""
    return {"name": "custom", "stages": [{"stage": name, "params": params} for name, params in stages]}


@pytest.mark.parametrize("name", CLASSICAL)
def test_classical_stages_need_no_gpu(name):
    assert STAGES[name]().needs_gpu is False


@pytest.mark.parametrize("model, expected", [("auto", True), ("none", False)] + [(key, True) for key in GPEN_KEYS])
def test_faces_need_a_gpu_for_gpen(model, expected):
    assert STAGES["faces"](model=model).needs_gpu is expected
    assert recipe_needs_gpu(stored(("denoise", {}), ("faces", {"model": model}))) is expected


@pytest.mark.parametrize("params, expected", [({}, False), ({"model": "realesr-animevideov3", "scale": 4}, False),
                                              ({"model": "realesrgan-x4plus", "scale": 4}, True)])
def test_super_resolution_needs_a_gpu_for_the_large_model(params, expected):
    assert STAGES["superres"](**params).needs_gpu is expected
    assert recipe_needs_gpu(stored(("superres", params))) is expected
    assert recipe_from_dict(stored(("superres", params))).needs_gpu is expected


def test_only_colorize_makes_color_and_only_interpolate_changes_the_frame_rate():
    assert {name for name, cls in STAGES.items() if cls.makes_color} == {"colorize"}
    assert {name for name, cls in STAGES.items() if cls.changes_frame_rate} == {"interpolate"}
    assert STAGES["colorize"]().makes_color and STAGES["interpolate"]().changes_frame_rate


def test_the_questions_answer_alike_for_a_recipe_and_its_stored_dict():
    for name in preset_names():
        recipe = load_recipe(name)
        as_stored = recipe.as_dict()
        assert recipe_needs_gpu(recipe) is recipe_needs_gpu(as_stored) is recipe.needs_gpu
        assert recipe_makes_color(recipe) is recipe_makes_color(as_stored) is recipe.makes_color
        assert recipe_changes_frame_rate(recipe) is recipe_changes_frame_rate(as_stored) is recipe.changes_frame_rate
    assert load_recipe("film-faces").needs_gpu and not load_recipe("film-default").needs_gpu
    assert load_recipe("film-colorize").makes_color and load_recipe("film-motion").changes_frame_rate


def test_old_stored_recipes_are_answered_without_errors():
    old = stored(("sepia-tone", {"model": "gpen-bfr-512"}),  # a stage this engine no longer knows
                 ("faces", {"model": None, "blur": 3}),  # no model given: the default "auto"; an old parameter
                 ("superres", {"scale": "many"}),  # a value that no longer fits: the default
                 ("colorize", {"reference_frames": [{"frame": 0, "image": "/gone/key.png"}]}))  # file gone
    assert recipe_needs_gpu(old) and recipe_makes_color(old) and not recipe_changes_frame_rate(old)
    assert not recipe_needs_gpu(stored(("sepia-tone", {"model": "auto"}), ("faces", {"model": "none"})))
    assert not recipe_makes_color(stored(("colourise", {})))
    for broken in ({}, {"stages": None}, {"stages": ["denoise", None, {"stage": ["x"]}]}, None):
        assert not recipe_needs_gpu(broken) and not recipe_makes_color(broken)
        assert not recipe_changes_frame_rate(broken)


def test_stored_stages_say_whether_they_make_color_or_change_the_rate():
    assert stage_makes_color({"stage": "colorize", "params": {}}) and not stage_makes_color({"stage": "denoise"})
    assert stage_changes_frame_rate({"stage": "interpolate"}) and not stage_changes_frame_rate({"stage": "faces"})
    assert not stage_makes_color({"stage": "unknown"}) and not stage_changes_frame_rate({})


def test_presets_can_leave_out_those_that_make_color():
    assert list(presets()) == preset_names()
    assert "film-colorize" in presets(makes_color=True)
    without = presets(makes_color=False)
    assert "film-colorize" not in without and "film-default" in without
    assert all(not recipe.makes_color for recipe in without.values())
    assert set(presets(makes_color=True)) | set(without) == set(preset_names())


def test_parameters_are_coerced_by_their_type_hints():
    recipe = recipe_from_dict(stored(("denoise", {"radius": "3", "strength": 8}),
                                     ("descratch", {"dust": "no", "scratch_min_length": "0.5"}),
                                     ("colorize", {"reference_images": "", "model": "zhang-eccv16"}),
                                     ("faces", {"references": [], "min_face": 30})))
    denoise, descratch, colorize, faces = recipe.stages
    assert (denoise.radius, denoise.strength) == (3, 8.0) and type(denoise.strength) is float
    assert descratch.dust is False and descratch.scratch_min_length == 0.5
    assert colorize.reference_images == [] and faces.min_face == 30.0
    assert recipe_from_dict(stored(("upscale", {"scale": 2.0}))).stages[0].scale == 2


@pytest.mark.parametrize("params, message", [
    ({"radius": 2.5}, "stages[1].params.radius: must be a whole number, not 2.5."),
    ({"radius": 7}, "stages[1].params.radius: must be between 1 and 5 frames"),
    ({"strength": "lots"}, "stages[1].params.strength: must be a float, not 'lots'."),
])
def test_coercion_and_validation_errors_name_the_field(params, message):
    with pytest.raises(RecipeError) as error:
        recipe_from_dict(stored(("deflicker", {}), ("denoise", params)))
    assert str(error.value) == message


def test_a_bool_parameter_takes_only_yes_or_no():
    with pytest.raises(RecipeError, match=r"stages\[0\].params.dedupe: must be true or false"):
        recipe_from_dict(stored(("interpolate", {"dedupe": "maybe"})))


def test_two_frame_rate_conversions_are_refused():
    with pytest.raises(RecipeError, match="at most one 'interpolate' stage"):
        recipe_from_dict(stored(("interpolate", {}), ("interpolate", {"fps": 30})))


def test_the_parameters_a_stage_says_name_files_are_its_own():
    import dataclasses

    from engine.stages import STAGES

    declared = {name: cls.file_params for name, cls in STAGES.items() if cls.file_params}
    assert declared == {"faces": ("references",), "colorize": ("reference_frames", "reference_images", "scribbles")}
    for name, params in declared.items():
        assert set(params) <= {field.name for field in dataclasses.fields(STAGES[name])}
