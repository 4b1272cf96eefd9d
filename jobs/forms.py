"""The forms that launch a job: on one's own upload, and on a gallery item."""
from django import forms
from django.utils.translation import gettext_lazy as _

from engine.recipes import presets
from gallery.how_made import recipe_description, recipe_title
from jobs.face_references.forms import FaceReferencesMixin, StoredAssetsField, face_references_field


def recipe_choices():
    # Coloring needs the user's references or scribbles: it has its own page (jobs:colorize).
    # Called each time the form is drawn (a callable's choices are), so labels are in the page's language.
    return [(name, f"{recipe_title(name)}: {recipe_description(name, recipe.description)}")
            for name, recipe in presets(makes_color=False).items()]


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
    face_references_stored = StoredAssetsField(required=False)
