"""Job forms that other apps' pages show, so that those apps need not import jobs."""
from django import template

from jobs.forms import RecipeForm

register = template.Library()


@register.simple_tag
def restore_form() -> RecipeForm:
    """An empty form to launch a job on a gallery item (`{% restore_form as form %}`)."""
    return RecipeForm()
