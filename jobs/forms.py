from django import forms
from django.utils.translation import gettext_lazy as _

from engine.recipes import load_recipe, preset_names


def recipe_choices():
    return [(name, f"{name}: {load_recipe(name).description}") for name in preset_names()]


class JobForm(forms.Form):
    file = forms.FileField(label=_("Image or video"),
                           help_text=_("PNG, JPEG, TIFF or WebP images; MP4, MOV, MKV, WebM or AVI videos."))
    recipe = forms.ChoiceField(label=_("Recipe"), choices=recipe_choices, initial="film-default")


class RecipeForm(forms.Form):
    recipe = forms.ChoiceField(label=_("Recipe"), choices=recipe_choices, initial="film-default")
