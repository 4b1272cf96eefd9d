"""The gallery: historical items with provenance and rights, their restorations (versions),
homework handed in by the community, comments, votes, reports, partners and collections."""
import re
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


def item_file_path(item, filename: str) -> str:
    return f"items/{item.slug}/{filename}"


def version_file_path(version, filename: str) -> str:
    return f"items/{version.item.slug}/versions/{version.uid}/{filename}"


def partner_file_path(partner, filename: str) -> str:
    return f"partners/{partner.slug}/{filename}"


def _localized(obj, field: str) -> str:
    """The Chinese text of `field` when the page is in Chinese and one exists, else the original."""
    chinese = getattr(obj, f"{field}_zh", "")
    language = get_language() or ""
    return chinese if language.startswith("zh") and chinese else getattr(obj, field)


class Licence(models.TextChoices):
    CC0 = "CC0-1.0", "CC0 1.0"
    CC_BY = "CC-BY-4.0", "CC BY 4.0"
    CC_BY_SA = "CC-BY-SA-4.0", "CC BY-SA 4.0"
    CC_BY_NC = "CC-BY-NC-4.0", "CC BY-NC 4.0"
    RESERVED = "all-rights-reserved", _("All rights reserved")


class Partner(models.Model):
    """A media partner (a newspaper, an archive) that collaborates on collections."""

    slug = models.SlugField(unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_zh = models.CharField(_("Chinese name"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    description_zh = models.TextField(_("Chinese description"), blank=True)
    url = models.URLField(_("website"), blank=True)
    logo = models.FileField(upload_to=partner_file_path, max_length=300, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("partner", args=[self.slug])

    @property
    def display_name(self) -> str:
        return _localized(self, "name")

    @property
    def display_description(self) -> str:
        return _localized(self, "description")


class Item(models.Model):
    """A historical film clip, photograph or painting: the original and where it comes from."""

    class Kind(models.TextChoices):
        FILM = "film", _("Film clip")
        PHOTO = "photo", _("Photograph")
        PAINTING = "painting", _("Painting")

    class DatePrecision(models.TextChoices):
        DAY = "day", _("day")
        YEAR = "year", _("year")
        DECADE = "decade", _("decade")
        CENTURY = "century", _("century")

    slug = models.SlugField(unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200, help_text=_("In the original language."))
    title_zh = models.CharField(_("Chinese title"), max_length=200, blank=True)
    title_en = models.CharField(_("English title"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    description_zh = models.TextField(_("Chinese description"), blank=True)
    date_text = models.CharField(_("date of the original"), max_length=64, blank=True,
                                 help_text=_("As a person would write it, e.g. 'c. 1925' or 'May 1919'."))
    year = models.PositiveSmallIntegerField(_("year"), null=True, blank=True, db_index=True,
                                            help_text=_("The year used for sorting and the decade filter."))
    date_precision = models.CharField(max_length=8, choices=DatePrecision.choices, default=DatePrecision.YEAR)
    circa = models.BooleanField(_("circa"), default=False)
    place = models.CharField(_("place"), max_length=200, blank=True, db_index=True)
    creator = models.CharField(_("creator"), max_length=200, blank=True, help_text=_("Leave empty when unknown."))
    institution = models.CharField(_("holding institution"), max_length=200, blank=True)
    call_number = models.CharField(_("call number"), max_length=100, blank=True)
    source_url = models.URLField(_("source URL"), blank=True)
    rights = models.CharField(_("rights statement"), max_length=300, blank=True)
    credit_line = models.CharField(_("credit line"), max_length=300, blank=True)
    tags = models.CharField(_("tags"), max_length=300, blank=True, help_text=_("Comma-separated."))
    media = models.FileField(upload_to=item_file_path, max_length=300)
    media_info = models.JSONField(default=dict, blank=True, help_text=_("Technical facts read at upload."))
    web_media = models.FileField(upload_to=item_file_path, max_length=300, blank=True,
                                 help_text=_("A browser-playable copy, when the original is not."))
    poster = models.FileField(upload_to=item_file_path, max_length=300, blank=True)
    uploader = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="uploaded_items")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "id"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("item", args=[self.slug])

    @property
    def display_title(self) -> str:
        language = get_language() or ""
        if language.startswith("zh") and self.title_zh:
            return self.title_zh
        if language.startswith("en") and self.title_en:
            return self.title_en
        return self.title

    @property
    def display_description(self) -> str:
        return _localized(self, "description")

    @property
    def tag_list(self) -> list[str]:
        return [t.strip() for t in self.tags.split(",") if t.strip()]


class Collection(models.Model):
    """Items curated by staff, often with a media partner, in an order with an introduction."""

    slug = models.SlugField(unique=True)
    title = models.CharField(_("title"), max_length=200)
    title_zh = models.CharField(_("Chinese title"), max_length=200, blank=True)
    introduction = models.TextField(_("introduction"), blank=True)
    introduction_zh = models.TextField(_("Chinese introduction"), blank=True)
    partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.SET_NULL, related_name="collections")
    curator = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    is_published = models.BooleanField(_("published"), default=False)
    items = models.ManyToManyField(Item, through="CollectionItem", related_name="collections")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("collection", args=[self.slug])

    @property
    def display_title(self) -> str:
        return _localized(self, "title")

    @property
    def display_introduction(self) -> str:
        return _localized(self, "introduction")


class CollectionItem(models.Model):
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="entries")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="collection_entries")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["collection", "item"], name="unique_item_per_collection")]


# Licence names that forbid commercial use: "CC-BY-NC-4.0", "non-commercial research only".
NON_COMMERCIAL = re.compile(r"\bNC\b|non-?commercial", re.IGNORECASE)


class Version(models.Model):
    """A restoration of an item: made by a job on this site or handed in as homework (交作业)."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="versions")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children",
                               help_text=_("The version this one was made from; empty for the original."))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="versions")
    title = models.CharField(_("title"), max_length=200, blank=True)
    description = models.TextField(_("how it was made"), blank=True,
                                   help_text=_("Tools, models and steps, for a version made elsewhere."))
    licence = models.CharField(_("licence"), max_length=32, choices=Licence.choices, default=Licence.CC_BY)
    recipe = models.JSONField(default=dict, blank=True, help_text=_("Stages, parameters, models and weight hashes."))
    ai_color = models.BooleanField(_("AI-generated color"), default=False)
    is_homework = models.BooleanField(default=False)
    featured = models.BooleanField(default=False, db_index=True)
    is_hidden = models.BooleanField(default=False, help_text=_("Hidden by a moderator."))
    job = models.OneToOneField("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="version")
    media = models.FileField(upload_to=version_file_path, max_length=300)
    media_info = models.JSONField(default=dict, blank=True)
    web_media = models.FileField(upload_to=version_file_path, max_length=300, blank=True,
                                 help_text=_("A browser-playable copy, when the upload is not."))
    poster = models.FileField(upload_to=version_file_path, max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "id"]

    def __str__(self) -> str:
        return self.title or f"{self.item} ({self.created_at:%Y-%m-%d})"

    def get_absolute_url(self) -> str:
        return f"{self.item.get_absolute_url()}#version-{self.uid}"

    @property
    def provenance(self) -> dict:
        """The learned models that made it and notes (a fallback taken), as the engine recorded them in
        the recipe: {"models": [{"key", "sha256", "short_hash", "licence", "non_commercial"}], "notes": [...]}.
        Missing or malformed parts read as empty: recipes of older versions have none."""
        recorded = self.recipe.get("provenance") if isinstance(self.recipe, dict) else None
        if not isinstance(recorded, dict):
            return {"models": [], "notes": []}
        models_used = []
        for model in recorded.get("models") or []:
            if not isinstance(model, dict) or not model.get("key"):
                continue
            sha256, licence = str(model.get("sha256") or ""), str(model.get("licence") or "")
            models_used.append({
                "key": str(model["key"]), "sha256": sha256, "short_hash": sha256[:12], "licence": licence,
                "non_commercial": model.get("commercial_use") is False or bool(NON_COMMERCIAL.search(licence)),
            })
        notes = [str(note) for note in recorded.get("notes") or [] if note]
        return {"models": models_used, "notes": notes}


class Vote(models.Model):
    version = models.ForeignKey(Version, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="votes")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["version", "user"], name="one_vote_per_user_per_version")]


class Comment(models.Model):
    """A comment on an item (optionally about one version); replies go one level deep."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="comments")
    version = models.ForeignKey(Version, null=True, blank=True, on_delete=models.CASCADE, related_name="comments")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comments")
    body = models.TextField(_("comment"), max_length=5000)
    # A moment of a film clip the comment is about (seconds from its start), shown as a link that
    # seeks the item's player.
    at_seconds = models.FloatField(_("moment"), null=True, blank=True,
                                   help_text=_("The moment of the clip the comment is about, in seconds."))
    is_hidden = models.BooleanField(default=False, help_text=_("Hidden by a moderator."))
    is_deleted = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    # Any change (edit, hide, delete): the item page's cached comment threads are keyed on it.
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]


class Report(models.Model):
    """A visitor's report of a comment or a version, for the staff moderation queue."""

    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports")
    comment = models.ForeignKey(Comment, null=True, blank=True, on_delete=models.CASCADE, related_name="reports")
    version = models.ForeignKey(Version, null=True, blank=True, on_delete=models.CASCADE, related_name="reports")
    reason = models.CharField(_("reason"), max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="resolved_reports")
    resolution = models.CharField(max_length=16, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(comment__isnull=False) | Q(version__isnull=False),
                                   name="report_has_a_target"),
        ]
