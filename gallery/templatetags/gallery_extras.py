"""Template filters of the gallery pages."""
from django import template

from gallery import how_made as how_made_text
from gallery.how_made import how_it_was_made
from gallery.services import moment_text

register = template.Library()


@register.filter
def moment(seconds) -> str:
    """A moment of a clip as 1:23 (1:02:03 past an hour)."""
    return moment_text(float(seconds))


@register.filter
def how_made(recipe):
    """A recipe record in plain words (gallery.how_made.how_it_was_made), or None."""
    return how_it_was_made(recipe)


@register.filter
def recipe_title(name) -> str:
    """A preset's name as a visitor reads it, in their language (its own name when not a preset)."""
    return how_made_text.recipe_title(str(name or ""))


@register.filter
def stage_titles(keys) -> list[str]:
    """Stage keys (a list, or joined by "+") as titles in the reader's language."""
    if isinstance(keys, str):
        keys = [key for key in keys.split("+") if key]
    return [how_made_text.stage_title(str(key)) for key in keys or []]
