import json

import pytest

from engine.errors import Cancelled, RecipeError
from engine.io import probe
from engine.notes import Note
from engine.pipeline import Pipeline
from engine.recipes import load_recipe, preset_names, recipe_from_dict


def test_presets_load_and_validate():
    assert {"film-default", "film-light", "film-heavy"} <= set(preset_names())
    for name in preset_names():
        assert load_recipe(name).stages


@pytest.mark.parametrize("recipe, message", [
    ({"stages": []}, "stages: must be a non-empty list"),
    ({"stages": [{"stage": "sharpen-everything"}]}, "stages[0].stage: unknown stage 'sharpen-everything'"),
    ({"stages": [{"stage": "denoise", "params": {"radius": 9}}]}, "stages[0].params.radius: must be between 1 and 5"),
    ({"stages": [{"stage": "deflicker"}, {"stage": "denoise", "params": {"strenght": 3}}]},
     "stages[1].params.strenght: unknown parameter"),
    ({"stages": [{"stage": "denoise", "params": {"strength": "lots"}}]}, "stages[0].params.strength: must be a float"),
])
def test_bad_recipes_name_the_bad_field(recipe, message):
    with pytest.raises(RecipeError) as error:
        recipe_from_dict(recipe)
    assert message in str(error.value)


def test_unknown_preset_lists_the_known_ones(tmp_path):
    with pytest.raises(RecipeError, match="film-default"):
        load_recipe("film-1890")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(RecipeError, match="not valid JSON"):
        load_recipe(str(bad))


def test_video_run_reports_progress_and_keeps_frames_and_audio(film_clip, tmp_path):
    events = []
    result = Pipeline(load_recipe("film-default"), progress_interval=0).run(
        film_clip, tmp_path / "out.mp4", on_event=events.append)
    info = probe(tmp_path / "out.mp4")
    assert (result.frames, info.frame_count, info.audio_codecs) == (24, 24, ["aac"])
    assert info.duration == pytest.approx(2.0, abs=1 / 12)
    frames = [e.frame for e in events if e.phase == "restore"]
    assert frames == sorted(frames) and frames[-1] == 24 and len(frames) >= 3
    assert events[-1].phase == "done" and events[-1].fraction == 1.0
    assert events[0].preview[:2] == b"\xff\xd8"  # a JPEG
    assert all(e.eta_seconds is not None for e in events if e.phase == "restore")


def test_cancel_stops_between_frames_and_leaves_no_output(film_clip, tmp_path):
    seen = []

    def cancel_after_five():
        seen.append(1)
        return len(seen) > 5

    with pytest.raises(Cancelled):
        Pipeline(load_recipe("film-light")).run(film_clip, tmp_path / "out.mp4", should_cancel=cancel_after_five)
    assert len(seen) == 6
    assert not (tmp_path / "out.mp4").exists()
    assert list(tmp_path.iterdir()) == []


def test_image_run_writes_a_png(tmp_path, noisy_png):
    source = tmp_path / "in.png"
    source.write_bytes(noisy_png)
    result = Pipeline(load_recipe("film-default")).run(source, tmp_path / "out.png")
    info = probe(tmp_path / "out.png")
    assert (result.kind, info.kind, info.width) == ("image", "image", 128)


def test_recipe_round_trips_through_json():
    recipe = load_recipe("film-heavy")
    again = recipe_from_dict(json.loads(json.dumps(recipe.as_dict())))
    assert again.as_dict() == recipe.as_dict()


def test_the_result_merges_what_the_stages_say_about_models_and_color(tmp_path, noisy_png, monkeypatch):
    from engine.stages.sharpen import Sharpen
    from engine.stages.tone import Tone

    source = tmp_path / "in.png"
    source.write_bytes(noisy_png)
    recipe = recipe_from_dict({"stages": [{"stage": "tone"}, {"stage": "sharpen"}]})
    used = {"key": "realesrgan-x4plus", "sha256": "ab" * 32, "licence": "BSD-3-Clause"}
    coded = Note("sharpen.example", "sharpened 3 times", times=3)
    monkeypatch.setattr(Tone, "provenance", lambda self: {"models": [used], "notes": ["fell back"]})
    monkeypatch.setattr(Sharpen, "provenance", lambda self: {"models": [used], "ai_color": True, "notes": [coded]})
    result = Pipeline(recipe).run(source, tmp_path / "out.png")
    # Every note in English; those with a code also as a fact another language can be told.
    assert result.provenance == {"models": [used], "notes": ["tone: fell back", "sharpen: sharpened 3 times"],
                                 "facts": [{"stage": "sharpen", "code": "sharpen.example", "values": {"times": 3}}],
                                 "ai_color": True}
    plain = Pipeline(recipe_from_dict({"stages": [{"stage": "deflicker"}]})).run(source, tmp_path / "plain.png")
    assert plain.provenance == {"models": [], "notes": [], "facts": [], "ai_color": False}
