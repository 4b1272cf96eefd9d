"""Template filters of the gallery pages."""
from django import template

from gallery.services import moment_text

register = template.Library()


@register.filter
def moment(seconds) -> str:
    """A moment of a clip as 1:23 (1:02:03 past an hour)."""
    return moment_text(float(seconds))
