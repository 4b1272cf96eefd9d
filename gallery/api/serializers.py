"""The gallery API's output serializers: what items, versions, comments, reports, collections and
partners look like in a response (and in the schema at /api/schema/). They read what
gallery.selectors fetched and attached (related rows, prefetched lists), so a list costs no query
per row."""
from __future__ import annotations

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from gallery.api.fields import ItemKindField
from gallery.models import Item, Licence
from gallery.selectors import version_shown_to


class OptionalURLField(serializers.URLField):
    """A URL that may be missing: null, not "", when there is none (the schema says format uri)."""

    def __init__(self, **kwargs):
        super().__init__(allow_null=True, **kwargs)

    def to_representation(self, value):
        return value or None


class PartnerBriefSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    display_name = serializers.CharField(help_text="The Chinese name when the request's language is Chinese.")
    url = OptionalURLField(help_text="The partner's own website; null when it has none.")
    api_url = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.STR)
    def get_api_url(self, partner) -> str:
        return reverse("api-partner", args=[partner.slug])


class ItemBriefSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    kind = ItemKindField()
    title = serializers.CharField()
    display_title = serializers.CharField(help_text="The title in the request's language, when there is one.")
    date_text = serializers.CharField()
    year = serializers.IntegerField(allow_null=True)
    circa = serializers.BooleanField()
    place = serializers.CharField()
    creator = serializers.CharField()
    media_url = serializers.SerializerMethodField()
    poster_url = serializers.SerializerMethodField()
    page_url = serializers.CharField(source="get_absolute_url")
    api_url = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.STR)
    def get_media_url(self, item) -> str:
        return reverse("item-media", args=[item.slug, "media"])

    @extend_schema_field({"type": "string", "nullable": True})
    def get_poster_url(self, item) -> str | None:
        return reverse("item-media", args=[item.slug, "poster"]) if item.poster else None

    @extend_schema_field(OpenApiTypes.STR)
    def get_api_url(self, item) -> str:
        return reverse("api-item", args=[item.slug])


class ItemSummarySerializer(ItemBriefSerializer):
    restoration_count = serializers.IntegerField(
        help_text="Visible restorations of this item: published from jobs, and homework.")
    homework_count = serializers.IntegerField(help_text="Visible homework handed in for this item.")


class ModelUseSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The engine's name for the model, e.g. gpen-bfr-512.")
    sha256 = serializers.CharField(help_text="Hash of the weights that ran.")
    licence = serializers.CharField()
    non_commercial = serializers.BooleanField(help_text="The weights' licence forbids commercial use.")


class ProvenanceSerializer(serializers.Serializer):
    models = ModelUseSerializer(many=True)
    notes = serializers.ListField(child=serializers.CharField(), help_text="E.g. a fallback a stage took.")


class VersionSerializer(serializers.Serializer):
    uid = serializers.UUIDField()
    item = serializers.SlugField(source="item.slug")
    parent = serializers.UUIDField(source="parent.uid", allow_null=True)
    title = serializers.CharField()
    description = serializers.CharField(help_text="How it was made (for homework).")
    author = serializers.CharField(source="author.username", allow_null=True)
    licence = serializers.ChoiceField(choices=Licence.choices)
    recipe = serializers.JSONField(help_text=(
        "Stages, parameters and models, for a version made by a job (the pictures it was given are not named)."))
    provenance = ProvenanceSerializer(help_text="The learned models (with weight hashes and licences) that made it.")
    ai_color = serializers.BooleanField(help_text="The colors are made up by a machine.")
    is_homework = serializers.BooleanField()
    featured = serializers.BooleanField()
    is_hidden = serializers.BooleanField(help_text="Hidden by a moderator (only staff see hidden versions).")
    job = serializers.UUIDField(source="job_id", allow_null=True)
    vote_count = serializers.IntegerField()
    voted = serializers.BooleanField(help_text="Whether the requesting user votes for it.")
    media_info = serializers.JSONField()
    media_url = serializers.SerializerMethodField()
    original_url = serializers.SerializerMethodField()
    poster_url = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    @extend_schema_field(OpenApiTypes.STR)
    def get_media_url(self, version) -> str:
        return reverse("version-media", args=[version.uid, "media"])

    @extend_schema_field(OpenApiTypes.STR)
    def get_original_url(self, version) -> str:
        return reverse("version-media", args=[version.uid, "original"])

    @extend_schema_field({"type": "string", "nullable": True})
    def get_poster_url(self, version) -> str | None:
        return reverse("version-media", args=[version.uid, "poster"]) if version.poster else None


class CollectionBriefSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    title = serializers.CharField()
    display_title = serializers.CharField()
    partner = PartnerBriefSerializer(allow_null=True)
    api_url = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.STR)
    def get_api_url(self, collection) -> str:
        return reverse("api-collection", args=[collection.slug])


class ItemDetailSerializer(ItemBriefSerializer):
    title_zh = serializers.CharField()
    title_en = serializers.CharField()
    description = serializers.CharField()
    description_zh = serializers.CharField()
    display_description = serializers.CharField()
    date_precision = serializers.ChoiceField(choices=Item.DatePrecision.choices)
    institution = serializers.CharField()
    call_number = serializers.CharField()
    source_url = serializers.CharField()
    rights = serializers.CharField()
    credit_line = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField(), source="tag_list")
    media_info = serializers.JSONField(help_text="Technical facts read by decoding the file at upload.")
    original_url = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    # The lists selectors.item_detail() attaches, not the unfiltered relations.
    versions = VersionSerializer(many=True, source="versions_visible",
                                 help_text="Visible versions, featured first, newest first.")
    collections = CollectionBriefSerializer(many=True, source="collections_published",
                                            help_text="Published collections that include it.")

    @extend_schema_field(OpenApiTypes.STR)
    def get_original_url(self, item) -> str:
        return reverse("item-media", args=[item.slug, "original"])


class CommentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    parent = serializers.IntegerField(source="parent_id", allow_null=True)
    version = serializers.SerializerMethodField()
    author = serializers.CharField(source="author.username")
    body = serializers.SerializerMethodField()
    at_seconds = serializers.FloatField(allow_null=True, help_text="The moment of the clip it is about, if any.")
    is_hidden = serializers.BooleanField()
    is_deleted = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field({"type": "string", "format": "uuid", "nullable": True,
                          "description": "The version the comment is about, if any (and shown to you)."})
    def get_version(self, comment) -> str | None:
        request = self.context.get("request")
        if comment.version is None or not version_shown_to(comment.version, request and request.user):
            return None
        return str(comment.version.uid)

    @extend_schema_field({"type": "string", "nullable": True,
                          "description": "Null when deleted, or hidden by a moderator (staff still see it)."})
    def get_body(self, comment) -> str | None:
        request = self.context.get("request")
        if comment.is_deleted or (comment.is_hidden and not (request and request.user.is_staff)):
            return None
        return comment.body


class CommentThreadSerializer(CommentSerializer):
    replies = CommentSerializer(many=True, source="replies.all", help_text="Replies, oldest first (one level).")


class ReportedCommentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    item = serializers.SlugField(source="item.slug")
    author = serializers.CharField(source="author.username")
    body = serializers.CharField()
    is_hidden = serializers.BooleanField()
    is_deleted = serializers.BooleanField()


class ReportedVersionSerializer(serializers.Serializer):
    uid = serializers.UUIDField()
    item = serializers.SlugField(source="item.slug")
    author = serializers.CharField(source="author.username", allow_null=True)
    title = serializers.CharField()
    is_hidden = serializers.BooleanField()


class ReportSerializer(serializers.Serializer):
    """A report as its reporter gets it back: what it points at by id, never its content (a comment
    or version hidden meanwhile must not be read through its report)."""

    id = serializers.IntegerField()
    comment = serializers.IntegerField(source="comment_id", allow_null=True, help_text="The reported comment's id, or:")
    version = serializers.UUIDField(source="version.uid", allow_null=True, help_text="the reported version's uid.")
    reason = serializers.CharField()
    state = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    @extend_schema_field({"type": "string", "enum": ["open", "hidden", "dismissed"],
                          "description": "Open until a moderator hides what it points at or dismisses it."})
    def get_state(self, report) -> str:
        return report.resolution or "open"


class ReportModerationSerializer(serializers.Serializer):
    """A report as staff see it in the moderation queue: with what it points at."""

    id = serializers.IntegerField()
    reporter = serializers.CharField(source="reporter.username")
    reason = serializers.CharField()
    comment = ReportedCommentSerializer(allow_null=True)
    version = ReportedVersionSerializer(allow_null=True)
    created_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    resolved_by = serializers.CharField(source="resolved_by.username", allow_null=True)
    resolution = serializers.CharField(help_text='"hidden", "dismissed", or empty while open.')


class CollectionEntrySerializer(serializers.Serializer):
    position = serializers.IntegerField()
    item = ItemBriefSerializer()


class CollectionSerializer(CollectionBriefSerializer):
    title_zh = serializers.CharField()
    introduction = serializers.CharField()
    introduction_zh = serializers.CharField()
    display_introduction = serializers.CharField()
    is_published = serializers.BooleanField(help_text="Drafts are shown to staff only.")
    entries = CollectionEntrySerializer(many=True, source="entries.all", help_text="The items, in order.")
    page_url = serializers.CharField(source="get_absolute_url")
    created_at = serializers.DateTimeField()


class PartnerSerializer(PartnerBriefSerializer):
    name_zh = serializers.CharField()
    description = serializers.CharField()
    description_zh = serializers.CharField()
    display_description = serializers.CharField()
    page_url = serializers.CharField(source="get_absolute_url")


class PartnerDetailSerializer(PartnerSerializer):
    collections = CollectionSerializer(many=True, source="collections_published",
                                       help_text="Its published collections.")


class VoteResultSerializer(serializers.Serializer):
    voted = serializers.BooleanField()
    vote_count = serializers.IntegerField()
