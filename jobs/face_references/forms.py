"""Form fields for reference photos of people, shared by the job forms."""
from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from engine.recipes import load_recipe
from jobs.face_references.services import MAX_FACE_REFERENCES, has_faces_stage


class MultipleImageInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    """Several files in one <input type=file multiple>; cleans to a list (empty when none)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleImageInput(attrs={"accept": "image/*"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        clean_one = super().clean
        files = data if isinstance(data, (list, tuple)) else [data]
        return [clean_one(file, initial) for file in files if file]


class StoredAssetsField(forms.Field):
    """Ids of photos stored by an earlier try, sent back by the confirmation page; the service
    checks that they are the user's and unused."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        return [str(asset_id) for asset_id in value or [] if asset_id]


def _face_references_help() -> str:
    return ngettext("Optional: a clear photo of a person in the shot, to keep their face true. "
                    "Only used by recipes that restore faces.",
                    "Optional: up to %(n)d clear photos of the people in the shot, to keep their faces "
                    "true. Only used by recipes that restore faces.", MAX_FACE_REFERENCES) % {"n": MAX_FACE_REFERENCES}


# Fields are built when their form class is, at import: the text is looked up when a page is drawn, in its language.
face_references_help = lazy(_face_references_help, str)


def face_references_field():
    return MultipleImageField(label=_("Reference photos of the people (faces recipes)"), required=False,
                              help_text=face_references_help())


class FaceReferencesMixin:
    """Photos make sense only with a recipe that has a faces stage: say so rather than ignore them.
    Their count and content are checked by the service, which stores them."""

    def clean(self):
        cleaned = super().clean()
        photos = cleaned.get("face_references") or cleaned.get("face_references_stored")
        recipe = cleaned.get("recipe")  # absent when not a preset: its own error says so
        if photos and recipe and not has_faces_stage(load_recipe(recipe).as_dict()):
            self.add_error("face_references", _("Reference photos are only used by recipes that restore faces: "
                                                "choose a faces recipe or remove the photos."))
        return cleaned
