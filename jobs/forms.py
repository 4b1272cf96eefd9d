from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from engine.recipes import load_recipe, preset_names
from jobs.face_services import MAX_FACE_REFERENCES, has_faces_stage


def recipe_choices():
    # Colouring needs the user's references or scribbles: it has its own page (jobs:colorize).
    recipes = {name: load_recipe(name) for name in preset_names()}
    return [(name, f"{name}: {recipe.description}") for name, recipe in recipes.items()
            if all(stage.name != "colorize" for stage in recipe.stages)]


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


class StoredPathsField(forms.Field):
    """Names of files stored by an earlier try, sent back by the confirmation page; the service
    checks that they are the user's."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        return [str(name) for name in value or [] if name]


def face_references_field():
    return MultipleImageField(
        label=_("Reference photos of the people (faces recipes)"), required=False,
        # ngettext_lazy with a key: the number goes in when the page is drawn, in its language.
        help_text=ngettext_lazy("Optional: a clear photo of a person in the shot, to keep their face true. "
                                "Only used by recipes that restore faces.",
                                "Optional: up to %(n)d clear photos of the people in the shot, to keep their faces "
                                "true. Only used by recipes that restore faces.", "n") % {"n": MAX_FACE_REFERENCES})


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


def allow_cpu_field():
    return forms.BooleanField(label=_("Run on a CPU if no GPU is free for me (much slower)"), required=False,
                              help_text=_("Only matters for recipes that need a GPU."))


class JobForm(FaceReferencesMixin, forms.Form):
    file = forms.FileField(label=_("Image or video"),
                           help_text=_("PNG, JPEG, TIFF or WebP images; MP4, MOV, MKV, WebM or AVI videos."))
    recipe = forms.ChoiceField(label=_("Recipe"), choices=recipe_choices, initial="film-default")
    face_references = face_references_field()
    allow_cpu = allow_cpu_field()


class RecipeForm(FaceReferencesMixin, forms.Form):
    recipe = forms.ChoiceField(label=_("Recipe"), choices=recipe_choices, initial="film-default")
    face_references = face_references_field()
    allow_cpu = allow_cpu_field()
    # Set by the confirmation page: launch although the same recipe already runs on the item.
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)
    # Set by the confirmation page: the photos stored by the first try, so they need not be added again.
    face_references_stored = StoredPathsField(required=False)
