"""Template filters of the gallery pages."""
from django import template

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
