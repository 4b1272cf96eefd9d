"""Historical items (film clips, photos, paintings) with their provenance and rights."""
from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


def item_file_path(item, filename: str) -> str:
    return f"items/{item.slug}/{filename}"


class Item(models.Model):
    class Kind(models.TextChoices):
        FILM = "film", _("Film clip")
        PHOTO = "photo", _("Photograph")
        PAINTING = "painting", _("Painting")

    slug = models.SlugField(unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200)
    title_zh = models.CharField(_("Chinese title"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    description_zh = models.TextField(_("Chinese description"), blank=True)
    date_text = models.CharField(_("date of the original"), max_length=64, blank=True)
    place = models.CharField(_("place"), max_length=200, blank=True)
    creator = models.CharField(_("creator"), max_length=200, blank=True, help_text=_("Leave empty when unknown."))
    source = models.CharField(_("source"), max_length=300, blank=True,
                              help_text=_("Holding institution and call number, or a URL."))
    rights = models.CharField(_("rights statement"), max_length=300, blank=True)
    credit_line = models.CharField(_("credit line"), max_length=300, blank=True)
    media = models.FileField(upload_to=item_file_path, max_length=300)
    media_info = models.JSONField(default=dict, blank=True)
    poster = models.FileField(upload_to=item_file_path, max_length=300, blank=True)
    uploader = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "id"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("item", args=[self.slug])

    @property
    def display_title(self) -> str:
        if get_language() and get_language().startswith("zh") and self.title_zh:
            return self.title_zh
        return self.title

    @property
    def display_description(self) -> str:
        if get_language() and get_language().startswith("zh") and self.description_zh:
            return self.description_zh
        return self.description
