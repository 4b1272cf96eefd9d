"""'How it was made', in plain words a visitor reads in their own language.

A job's or a version's recipe record ({"name", "stages": [{"stage", "params"}], "provenance": {...}})
becomes: the recipe's name, one sentence per stage saying what it did, the learned models by their
titles with licence and weight hash, the notes the engine coded (engine.notes.Note, stored as
provenance "facts") told in the reader's language, and the AI-colour label. The raw recipe (stage
keys and parameters) goes behind a "details" toggle; file names and error texts are never shown.
"""
from __future__ import annotations

import json

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from engine.models import registry
from gallery.models import NON_COMMERCIAL

# Parameters that hold pictures given with a job: shown as a count, never by their stored names.
FILE_PARAMS = {"reference_frames", "reference_images", "scribbles", "references"}

STAGE_TITLES = {
    "deflicker": gettext_lazy("Deflicker"),
    "descratch": gettext_lazy("Dust and scratches"),
    "denoise": gettext_lazy("Denoise"),
    "tone": gettext_lazy("Tone"),
    "sharpen": gettext_lazy("Sharpen"),
    "upscale": gettext_lazy("Enlarge"),
    "superres": gettext_lazy("Super-resolution"),
    "faces": gettext_lazy("Faces"),
    "colorize": gettext_lazy("Colour"),
    "interpolate": gettext_lazy("Frame interpolation"),
}

# The presets as a visitor reads them: the engine's own descriptions speak to the command line (flags,
# file names); these say what each does to a film, in the reader's language. A recipe not listed
# here (a new preset, a file) shows its name and its engine description.
RECIPE_TEXTS = {
    "film-default": (gettext_lazy("Old film"),
                     gettext_lazy("Steadies the flicker, removes dust and scratches, then reduces grain while "
                                  "following the motion.")),
    "film-light": (gettext_lazy("Light touch"),
                   gettext_lazy("Only evens out the flicker; the grain is kept.")),
    "film-heavy": (gettext_lazy("Badly damaged film"),
                   gettext_lazy("Stronger flicker correction, more sensitive dust and scratch removal, wider and "
                                "stronger denoising.")),
    "film-faces": (gettext_lazy("Old film with people"),
                   gettext_lazy("As for old film, then each person's face is followed through the shot and restored "
                                "from several frames (with GPEN where it is installed, otherwise Real-ESRGAN).")),
    "film-motion": (gettext_lazy("Smooth motion"),
                    gettext_lazy("For film shot at 12 to 18 frames a second: as for old film, then new frames made "
                                 "in between, to play smoothly at 30 frames a second.")),
    "film-sr": (gettext_lazy("Old film, enlarged"),
                gettext_lazy("As for old film, then enlarged twice with the Real-ESRGAN model, or with a Lanczos "
                             "filter where its weights are not installed.")),
    "film-colorize": (gettext_lazy("Old film in colour"),
                      gettext_lazy("As for old film, then colour from your reference pictures or scribbles, carried "
                                   "along the motion without flicker. The colours are an estimate.")),
    "painting": (gettext_lazy("Paintings and photographs"),
                 gettext_lazy("Gentle denoising, restored tonal range and local contrast, crisper detail.")),
}

MODEL_ROLES = {
    "super-resolution": gettext_lazy("super-resolution"),
    "face-detection": gettext_lazy("finding faces"),
    "face-restoration": gettext_lazy("face restoration"),
    "colorization": gettext_lazy("colour"),
}


def stage_title(key: str) -> str:
    return str(STAGE_TITLES.get(key, key))


def recipe_title(name: str) -> str:
    return str(RECIPE_TEXTS[name][0]) if name in RECIPE_TEXTS else name


def recipe_description(name: str, engine_description: str = "") -> str:
    return str(RECIPE_TEXTS[name][1]) if name in RECIPE_TEXTS else engine_description


def _number(value, default):
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def _count(params: dict, name: str) -> int:
    value = params.get(name)
    return len(value) if isinstance(value, list) else 0


def stage_summary(key: str, params: dict) -> str:
    """One sentence: what the stage did to the picture, with the settings that matter to a viewer."""
    if key == "deflicker":
        radius = int(_number(params.get("radius"), 7))
        return ngettext("Evened out the flicker of brightness from frame to frame, comparing each frame with %(n)d "
                        "frame on either side.",
                        "Evened out the flicker of brightness from frame to frame, comparing each frame with %(n)d "
                        "frames on either side.", radius) % {"n": radius}
    if key == "descratch":
        return _("Found specks of dust, blotches and scratch lines that come and go between frames, and filled "
                 "them in from the neighbouring frames.")
    if key == "denoise":
        radius = int(_number(params.get("radius"), 2))
        return ngettext("Reduced grain and noise by combining each frame with %(n)d neighbour on either side after "
                        "following the motion, so that moving things stay sharp.",
                        "Reduced grain and noise by combining each frame with %(n)d neighbours on either side after "
                        "following the motion, so that moving things stay sharp.", radius) % {"n": radius}
    if key == "tone":
        if _number(params.get("clahe"), 0) > 0:
            return _("Restored the range from black to white and brought out local contrast.")
        return _("Restored the range from black to white.")
    if key == "sharpen":
        return _("Made fine detail crisper, leaving flat areas alone.")
    if key == "upscale":
        return _("Enlarged the picture %(scale)d times with a classical filter.") % {
            "scale": int(_number(params.get("scale"), 2))}
    if key == "superres":
        return _("Enlarged the picture %(scale)d times with a learned super-resolution model.") % {
            "scale": int(_number(params.get("scale"), 2))}
    if key == "faces":
        photos = _count(params, "references")
        if photos:
            return ngettext("Followed each face through the shot and restored it from several frames of the same "
                            "face, with %(n)d reference photo.",
                            "Followed each face through the shot and restored it from several frames of the same "
                            "face, with %(n)d reference photos.", photos) % {"n": photos}
        return _("Followed each face through the shot and restored it from several frames of the same face.")
    if key == "colorize":
        given = _count(params, "reference_frames") + _count(params, "reference_images") + _count(params, "scribbles")
        if given:
            return ngettext("Added colour from %(n)d picture or scribble given with the job, carried along the "
                            "motion. The colours are an estimate, not the original ones.",
                            "Added colour from %(n)d pictures or scribbles given with the job, carried along the "
                            "motion. The colours are an estimate, not the original ones.", given) % {"n": given}
        return _("Added colour estimated by a learned model, carried along the motion. The colours are an "
                 "estimate, not the original ones.")
    if key == "interpolate":
        fps = _number(params.get("fps"), 24)
        return _("Made new frames between the existing ones by following the motion, to play at %(fps)s frames "
                 "per second.") % {"fps": f"{fps:g}"}
    return _("A step of the restoration.")


def fact_text(code: str, values: dict) -> str | None:
    """A coded engine note in the reader's language; None for a code this site does not know."""
    def number(name):
        return int(_number(values.get(name), 0))

    if code == "colorize.cuts":
        frames = [str(f) for f in values.get("frames") or [] if isinstance(f, int)]
        return _("New shots begin at frames %(frames)s: colour is not carried across a cut.") % {
            "frames": ", ".join(frames)}
    if code == "colorize.uncolored":
        return ngettext("%(n)d frame before the first reference was too far from it and stays grey.",
                        "%(n)d frames before the first reference were too far from it and stay grey.",
                        number("frames")) % {"n": number("frames")}
    if code == "colorize.fills":
        return ngettext("Where motion uncovered new areas, colour was filled in from the references (%(n)d frame).",
                        "Where motion uncovered new areas, colour was filled in from the references (%(n)d frames).",
                        number("frames")) % {"n": number("frames")}
    if code == "colorize.model_unused":
        return _("The learned colour model could not be used on this server: the colours come from the "
                 "pictures and scribbles given only.")
    if code == "colorize.saturation":
        return _("Estimated colours were made %(factor)s times as saturated (brightness unchanged).") % {
            "factor": f"{_number(values.get('factor'), 1):g}"}
    if code == "faces.no_restorer":
        return _("No face model was asked for: faces were restored by combining several frames only.")
    if code == "faces.fallback_sr":
        return _("The GPEN face model could not be used on this server: faces were restored by combining several "
                 "frames, then enlarged by Real-ESRGAN.")
    if code == "faces.fallback_unsharp":
        return _("No face model could be used on this server: faces were restored by combining several frames, "
                 "then sharpened.")
    if code == "faces.tracked":
        faces = number("faces")
        return ngettext("%(faces)d face followed over %(frames)d frames; the face model ran %(restored)d times "
                        "instead of %(seen)d (once per face per frame).",
                        "%(faces)d faces followed over %(frames)d frames; the face model ran %(restored)d times "
                        "instead of %(seen)d (once per face per frame).", faces) % {
            "faces": faces, "frames": number("frames"), "restored": number("restored"), "seen": number("seen")}
    if code == "faces.references":
        return _("Reference photos: a face was found in %(found)d of %(given)d; %(matched)d matched a person in "
                 "the shot.") % {"found": number("found"), "given": number("given"), "matched": number("matched")}
    if code == "superres.model_unused":
        return _("The super-resolution model could not be used on this server: the picture was enlarged "
                 "%(scale)d times with a classical filter instead.") % {"scale": number("scale") or 2}
    return None


def _model(record: dict) -> dict | None:
    key = str(record.get("key") or "")
    if not key:
        return None
    try:
        spec = registry.get_spec(key)
        title, role = spec.title, MODEL_ROLES.get(spec.task, "")
    except Exception:  # a model this site no longer lists: its key is all there is
        title, role = key, ""
    sha256, licence = str(record.get("sha256") or ""), str(record.get("licence") or "")
    return {"key": key, "title": title, "role": str(role), "licence": licence, "sha256": sha256, "short_hash": sha256[:12],
            "non_commercial": record.get("commercial_use") is False or bool(NON_COMMERCIAL.search(licence))}


def _param_text(name: str, value) -> str:
    if name in FILE_PARAMS:
        return ngettext("%(n)d picture", "%(n)d pictures", len(value) if isinstance(value, list) else 0) % {
            "n": len(value) if isinstance(value, list) else 0}
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def how_it_was_made(recipe) -> dict | None:
    """The record as shown to a visitor; None when the recipe says nothing (homework without one)."""
    if not isinstance(recipe, dict) or not isinstance(recipe.get("stages"), list) or not recipe["stages"]:
        return None
    steps, details = [], []
    for stage in recipe["stages"]:
        if not isinstance(stage, dict) or not isinstance(stage.get("stage"), str):
            continue
        params = stage.get("params") if isinstance(stage.get("params"), dict) else {}
        steps.append({"key": stage["stage"], "title": stage_title(stage["stage"]),
                      "summary": stage_summary(stage["stage"], params)})
        details.append({"key": stage["stage"],
                        "params": [(name, _param_text(name, value)) for name, value in sorted(params.items())]})
    provenance = recipe.get("provenance") if isinstance(recipe.get("provenance"), dict) else {}
    models = [model for model in map(_model, [m for m in provenance.get("models") or [] if isinstance(m, dict)])
              if model]
    notes = []
    for fact in provenance.get("facts") or []:
        if isinstance(fact, dict) and isinstance(fact.get("values"), dict):
            text = fact_text(str(fact.get("code")), fact["values"])
            if text and text not in notes:
                notes.append(text)
    return {"recipe": str(recipe.get("name") or ""), "recipe_title": recipe_title(str(recipe.get("name") or "")),
            "steps": steps, "models": models, "notes": notes,
            "ai_color": bool(provenance.get("ai_color")) or any(s["key"] == "colorize" for s in steps),
            "details": details}
