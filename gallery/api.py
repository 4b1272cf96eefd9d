"""Thin DRF views for the gallery. Input serializers sit next to their view; every write goes
through gallery.services (which raise ApplicationError: rendered as {"message", "extra"}), every
read through gallery.selectors or a small read below, each a fixed number of queries."""
from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from gallery import selectors, services
from gallery.models import Collection, CollectionItem, Comment, Item, Licence, Partner, Report, Version
from jobs.selectors import job_get_visible
from restoration_site.errors import ApplicationError

# ---------------------------------------------------------------------------------------------
# Output serializers
# ---------------------------------------------------------------------------------------------


class ItemKindField(serializers.ChoiceField):
    """Item.Kind; the schema names its enum ItemKindEnum (an enum named after the field, KindEnum,
    would clash with the jobs' image/video kind)."""

    def __init__(self, **kwargs):
        super().__init__(choices=Item.Kind.choices, **kwargs)


class ItemKindFieldSchema(OpenApiSerializerFieldExtension):
    target_class = ItemKindField

    def get_name(self):
        return "ItemKindEnum"

    def map_serializer_field(self, auto_schema, direction):
        return {"type": "string", "enum": list(Item.Kind.values),
                "description": " * ".join([""] + [f"`{value}` - {label}\n" for value, label in Item.Kind.choices])}


class ErrorSerializer(serializers.Serializer):
    message = serializers.CharField(help_text="What went wrong, in words to show the user.")
    extra = serializers.DictField(help_text="Details, e.g. the fields that failed validation.")


def _with_errors(responses: dict, *codes: int) -> dict:
    return {**responses, **{code: ErrorSerializer for code in codes}}


class PartnerBriefSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    display_name = serializers.CharField(help_text="The Chinese name when the request's language is Chinese.")
    url = serializers.URLField(allow_blank=True)
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
    recipe = serializers.JSONField(source="recipe_public", help_text=(
        "Stages, parameters and models, for a version made by a job (files it used by their name only)."))
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
    # The lists _item_detail() attaches, not the unfiltered relations.
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
    version = serializers.UUIDField(source="version.uid", allow_null=True,
                                    help_text="The version the comment is about, if any.")
    author = serializers.CharField(source="author.username")
    body = serializers.SerializerMethodField()
    is_hidden = serializers.BooleanField()
    is_deleted = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True)

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
                                       help_text="Its published collections (attached by the view).")


class VoteResultSerializer(serializers.Serializer):
    voted = serializers.BooleanField()
    vote_count = serializers.IntegerField()


# ---------------------------------------------------------------------------------------------
# Pagination: the settings' PageNumberPagination, described in the schema as a page of results
# ---------------------------------------------------------------------------------------------

_PAGE_SERIALIZERS: dict[type, type] = {}


def page_of(serializer_class: type) -> type:
    """The schema of one page of `serializer_class` results (what PageNumberPagination returns)."""
    if serializer_class not in _PAGE_SERIALIZERS:
        name = "Paginated" + serializer_class.__name__.removesuffix("Serializer") + "ListSerializer"
        _PAGE_SERIALIZERS[serializer_class] = type(name, (serializers.Serializer,), {
            "__module__": __name__,
            "count": serializers.IntegerField(),
            "next": serializers.CharField(allow_null=True),
            "previous": serializers.CharField(allow_null=True),
            "results": serializer_class(many=True),
        })
    return _PAGE_SERIALIZERS[serializer_class]


PAGE_PARAMETER = OpenApiParameter("page", int, description="Page number (20 results a page).")


def _paginated(request, view, rows, serializer_class: type) -> Response:
    paginator = api_settings.DEFAULT_PAGINATION_CLASS()
    page = paginator.paginate_queryset(rows, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True, context={"request": request}).data)


# ---------------------------------------------------------------------------------------------
# Reads the selectors do not have (yet): lookups by key with the same visibility rules
# ---------------------------------------------------------------------------------------------


def _item(slug: str) -> Item:
    return get_object_or_404(Item, slug=slug)


def _visible_version(user, uid) -> Version:
    """A version with `vote_count` and `voted` for `user`; hidden ones are 404 except for staff."""
    return get_object_or_404(selectors._visible_versions(user, include_hidden=user.is_staff), uid=uid)


def _item_versions(item: Item, user) -> QuerySet[Version]:
    """The item's versions; staff also get hidden ones (marked `is_hidden`), as on the item page."""
    return (selectors._visible_versions(user, include_hidden=user.is_staff).filter(item=item)
            .order_by("-featured", "-created_at", "id"))


def _item_detail(slug: str, user) -> Item:
    """The item, with `versions` (visible, with votes) and `collections` (published) attached: 3 queries."""
    item = _item(slug)
    item.versions_visible = list(_item_versions(item, user))
    item.collections_published = list(item.collections.filter(is_published=True).select_related("partner"))
    return item


def _comment_threads(item: Item) -> QuerySet[Comment]:
    replies = Comment.objects.select_related("author", "version").order_by("created_at", "id")
    return (Comment.objects.filter(item=item, parent=None).select_related("author", "version")
            .prefetch_related(Prefetch("replies", queryset=replies)).order_by("created_at", "id"))


def _collections_visible_to(user) -> QuerySet[Collection]:
    """Published collections (with their ordered items and partner); staff also see drafts."""
    if not user.is_staff:
        return selectors.published_collections()
    entries = CollectionItem.objects.select_related("item").order_by("position", "id")
    return Collection.objects.select_related("partner").prefetch_related(Prefetch("entries", queryset=entries))


def _comment(comment_id: int) -> Comment:
    return get_object_or_404(Comment.objects.select_related("author", "version"), pk=comment_id)


def _require_staff(user, message: str) -> None:
    if not user.is_staff:
        raise ApplicationError(message, status_code=403)


class VisibleVersionField(serializers.UUIDField):
    """A version's uid in a request, validated into the (visible) Version."""

    default_error_messages = {"missing": gettext_lazy("No such version.")}

    def to_internal_value(self, data):
        version = Version.objects.filter(uid=super().to_internal_value(data), is_hidden=False).first()
        if version is None:
            self.fail("missing")
        return version


class CommentIdField(serializers.IntegerField):
    """A comment's id in a request, validated into the Comment."""

    default_error_messages = {"missing": gettext_lazy("No such comment.")}

    def to_internal_value(self, data):
        comment = Comment.objects.select_related("parent").filter(pk=super().to_internal_value(data)).first()
        if comment is None:
            self.fail("missing")
        return comment


class ThrottledWritesMixin:
    """ScopedRateThrottle (by the view's `throttle_scope`) on POST only; reads are never throttled."""

    def get_throttles(self):
        return [ScopedRateThrottle()] if self.request.method == "POST" else []


# ---------------------------------------------------------------------------------------------
# Items
# ---------------------------------------------------------------------------------------------


class ItemListCreateApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    class ItemFilterSerializer(serializers.Serializer):
        kind = ItemKindField(required=False, allow_blank=True)
        decade = serializers.IntegerField(required=False, min_value=0, max_value=9990,
                                          help_text="The first year of a decade, e.g. 1920.")
        place = serializers.CharField(required=False, allow_blank=True, max_length=200)
        collection = serializers.SlugField(required=False, allow_blank=True, help_text="A published collection.")
        has_homework = serializers.BooleanField(required=False, default=False)
        q = serializers.CharField(required=False, allow_blank=True, max_length=200,
                                  help_text="Words in the title, description, place, creator or tags.")

        def validate_decade(self, value):
            if value % 10:
                raise serializers.ValidationError(_("A decade starts at a year that ends in 0, e.g. 1920."))
            return value

    class ItemCreateInputSerializer(serializers.ModelSerializer):
        file = serializers.FileField(help_text="The original: a video for a film clip, an image otherwise.")
        kind = ItemKindField()
        slug = serializers.SlugField(required=False, max_length=40, help_text="Made from the title when empty.")

        class Meta:
            model = Item
            fields = ["file", "kind", "title", "slug", "title_zh", "title_en", "description", "description_zh",
                      "date_text", "year", "date_precision", "circa", "place", "creator", "institution",
                      "call_number", "source_url", "rights", "credit_line", "tags"]

    @extend_schema(operation_id="items_list", summary="Browse the items (newest first)",
                   parameters=[ItemFilterSerializer, PAGE_PARAMETER],
                   responses=_with_errors({200: page_of(ItemSummarySerializer)}, 400, 404))
    def get(self, request):
        filters = self.ItemFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        items = selectors.items_filtered(
            kind=data.get("kind", ""), decade=data.get("decade"), place=data.get("place", "").strip(),
            collection=data.get("collection", ""), has_homework=data["has_homework"], q=data.get("q", "").strip())
        return _paginated(request, self, items, ItemSummarySerializer)

    @extend_schema(operation_id="items_create", summary="Add a historical item (staff)",
                   request=ItemCreateInputSerializer,
                   responses=_with_errors({201: ItemDetailSerializer}, 400, 403))
    def post(self, request):
        data = self.ItemCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        upload, kind, title = fields.pop("file"), fields.pop("kind"), fields.pop("title")
        item = services.item_create(uploader=request.user, upload=upload, kind=kind, title=title, **fields)
        detail = ItemDetailSerializer(_item_detail(item.slug, request.user), context={"request": request})
        return Response(detail.data, status=status.HTTP_201_CREATED)


class ItemDetailApi(APIView):
    @extend_schema(operation_id="items_retrieve", summary="An item: provenance, rights, facts, versions",
                   responses=_with_errors({200: ItemDetailSerializer}, 404))
    def get(self, request, slug):
        item = _item_detail(slug, request.user)
        return Response(ItemDetailSerializer(item, context={"request": request}).data)


class ItemVersionListApi(APIView):
    @extend_schema(operation_id="items_versions_list", summary="An item's visible versions, featured first",
                   parameters=[PAGE_PARAMETER], responses=_with_errors({200: page_of(VersionSerializer)}, 404))
    def get(self, request, slug):
        return _paginated(request, self, _item_versions(_item(slug), request.user), VersionSerializer)


class HomeworkApi(ThrottledWritesMixin, APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]
    throttle_scope = "homework"

    class HomeworkInputSerializer(serializers.Serializer):
        file = serializers.FileField(help_text="Your restoration: a video for a film clip, an image otherwise.")
        title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
        description = serializers.CharField(required=False, allow_blank=True, default="",
                                            help_text="Tools, models and steps: others learn from it.")
        licence = serializers.ChoiceField(choices=Licence.choices, default=Licence.CC_BY)
        ai_color = serializers.BooleanField(required=False, default=False)
        parent = VisibleVersionField(required=False, allow_null=True, help_text="The version you started from.")

    @extend_schema(operation_id="items_homework_create", summary="Hand in homework (交作业) for an item",
                   request=HomeworkInputSerializer,
                   responses=_with_errors({201: VersionSerializer}, 400, 403, 404, 429))
    def post(self, request, slug):
        item = _item(slug)
        data = self.HomeworkInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        version = services.homework_hand_in(
            author=request.user, item=item, upload=fields["file"], title=fields["title"],
            description=fields["description"], licence=fields["licence"], ai_color=fields["ai_color"],
            parent=fields.get("parent"))
        return Response(VersionSerializer(_visible_version(request.user, version.uid)).data,
                        status=status.HTTP_201_CREATED)


# ---------------------------------------------------------------------------------------------
# Versions
# ---------------------------------------------------------------------------------------------


class VersionDetailApi(APIView):
    @extend_schema(operation_id="versions_retrieve", summary="A version: author, licence, recipe, votes",
                   responses=_with_errors({200: VersionSerializer}, 404))
    def get(self, request, uid):
        return Response(VersionSerializer(_visible_version(request.user, uid)).data)


class VersionVoteApi(APIView):
    @extend_schema(operation_id="versions_vote", summary="Vote for a version, or take the vote back",
                   request=None, responses=_with_errors({200: VoteResultSerializer}, 403, 404))
    def post(self, request, uid):
        version = _visible_version(request.user, uid)
        voted = services.vote_toggle(user=request.user, version=version)
        return Response({"voted": voted, "vote_count": version.votes.count()})


class VersionFeatureApi(APIView):
    class FeatureInputSerializer(serializers.Serializer):
        featured = serializers.BooleanField(default=True)

    @extend_schema(operation_id="versions_feature", summary="Feature a version, or stop featuring it (staff)",
                   request=FeatureInputSerializer, responses=_with_errors({200: VersionSerializer}, 400, 403, 404))
    def post(self, request, uid):
        version = _visible_version(request.user, uid)
        data = self.FeatureInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.version_feature(moderator=request.user, version=version, featured=data.validated_data["featured"])
        return Response(VersionSerializer(version).data)


class JobPublishApi(APIView):
    permission_classes = [IsAuthenticated]

    class PublishInputSerializer(serializers.Serializer):
        title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="",
                                      help_text="The recipe's name when empty.")
        licence = serializers.ChoiceField(choices=Licence.choices, default=Licence.CC_BY)

    @extend_schema(operation_id="jobs_publish", summary="Publish a finished job's result as a version of its item",
                   request=PublishInputSerializer, responses=_with_errors({201: VersionSerializer}, 400, 403, 404, 409))
    def post(self, request, job_id):
        job = job_get_visible(user=request.user, job_id=job_id)
        data = self.PublishInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = services.version_publish_from_job(user=request.user, job=job, **data.validated_data)
        return Response(VersionSerializer(_visible_version(request.user, version.uid)).data,
                        status=status.HTTP_201_CREATED)


# ---------------------------------------------------------------------------------------------
# Comments
# ---------------------------------------------------------------------------------------------


class ItemCommentListCreateApi(ThrottledWritesMixin, APIView):
    throttle_scope = "comment"

    class CommentInputSerializer(serializers.Serializer):
        body = serializers.CharField(max_length=5000, trim_whitespace=False)
        version = VisibleVersionField(required=False, allow_null=True, help_text="The version it is about.")
        parent = CommentIdField(required=False, allow_null=True,
                                help_text="The comment it answers; a reply to a reply joins its thread.")

    @extend_schema(operation_id="items_comments_list", summary="An item's comment threads with their replies",
                   parameters=[PAGE_PARAMETER],
                   responses=_with_errors({200: page_of(CommentThreadSerializer)}, 404))
    def get(self, request, slug):
        return _paginated(request, self, _comment_threads(_item(slug)), CommentThreadSerializer)

    @extend_schema(operation_id="items_comments_create", summary="Comment on an item, or reply to a comment",
                   request=CommentInputSerializer, responses=_with_errors({201: CommentSerializer}, 400, 403, 404, 429))
    def post(self, request, slug):
        item = _item(slug)
        data = self.CommentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        comment = services.comment_create(author=request.user, item=item, body=fields["body"],
                                          version=fields.get("version"), parent=fields.get("parent"))
        return Response(CommentSerializer(comment, context={"request": request}).data,
                        status=status.HTTP_201_CREATED)


class CommentDetailApi(APIView):
    class CommentEditInputSerializer(serializers.Serializer):
        body = serializers.CharField(max_length=5000, trim_whitespace=False)

    @extend_schema(operation_id="comments_edit", summary="Edit your own comment",
                   request=CommentEditInputSerializer,
                   responses=_with_errors({200: CommentSerializer}, 400, 403, 404, 409))
    def patch(self, request, comment_id):
        comment = _comment(comment_id)
        data = self.CommentEditInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.comment_edit(user=request.user, comment=comment, body=data.validated_data["body"])
        return Response(CommentSerializer(comment, context={"request": request}).data)

    @extend_schema(operation_id="comments_delete", summary="Delete a comment (its author, or staff)",
                   request=None, responses=_with_errors({204: None}, 403, 404))
    def delete(self, request, comment_id):
        services.comment_delete(user=request.user, comment=_comment(comment_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class CommentHideApi(APIView):
    class HideInputSerializer(serializers.Serializer):
        hidden = serializers.BooleanField(default=True)

    @extend_schema(operation_id="comments_hide", summary="Hide or show a comment (staff)",
                   request=HideInputSerializer, responses=_with_errors({200: CommentSerializer}, 400, 403, 404))
    def post(self, request, comment_id):
        comment = _comment(comment_id)
        data = self.HideInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.comment_hide(moderator=request.user, comment=comment, hidden=data.validated_data["hidden"])
        return Response(CommentSerializer(comment, context={"request": request}).data)


# ---------------------------------------------------------------------------------------------
# Reports and moderation
# ---------------------------------------------------------------------------------------------


class ReportListCreateApi(ThrottledWritesMixin, APIView):
    throttle_scope = "report"

    class ReportInputSerializer(serializers.Serializer):
        comment = CommentIdField(required=False, allow_null=True, help_text="The comment's id, or:")
        version = VisibleVersionField(required=False, allow_null=True, help_text="the version's uid.")
        reason = serializers.CharField(max_length=500, allow_blank=True, help_text="What is wrong.")

    @extend_schema(operation_id="reports_list", summary="Open reports, oldest first (staff)",
                   parameters=[PAGE_PARAMETER], responses=_with_errors({200: page_of(ReportSerializer)}, 403, 404))
    def get(self, request):
        _require_staff(request.user, _("Only staff can see reports."))
        return _paginated(request, self, selectors.open_reports(), ReportSerializer)

    @extend_schema(operation_id="reports_create", summary="Report a comment or a version to the moderators",
                   request=ReportInputSerializer, responses=_with_errors({201: ReportSerializer}, 400, 403, 429))
    def post(self, request):
        data = self.ReportInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        report = services.report_create(reporter=request.user, reason=fields["reason"],
                                        comment=fields.get("comment"), version=fields.get("version"))
        return Response(ReportSerializer(report).data, status=status.HTTP_201_CREATED)


class ReportResolveApi(APIView):
    class ResolveInputSerializer(serializers.Serializer):
        hide = serializers.BooleanField(help_text="Hide the reported comment or version; false dismisses it.")

    @extend_schema(operation_id="reports_resolve", summary="Close a report, hiding what it points at or not (staff)",
                   request=ResolveInputSerializer, responses=_with_errors({200: ReportSerializer}, 400, 403, 404, 409))
    def post(self, request, report_id):
        _require_staff(request.user, _("Only staff can do this."))
        report = get_object_or_404(Report.objects.select_related("reporter", "comment__author", "comment__item",
                                                                 "version__author", "version__item"), pk=report_id)
        data = self.ResolveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        report = services.report_resolve(moderator=request.user, report=report, hide=data.validated_data["hide"])
        return Response(ReportSerializer(report).data)


# ---------------------------------------------------------------------------------------------
# Collections and partners
# ---------------------------------------------------------------------------------------------


class CollectionListApi(APIView):
    @extend_schema(operation_id="collections_list", summary="Published collections (staff also see drafts)",
                   parameters=[PAGE_PARAMETER], responses=_with_errors({200: page_of(CollectionSerializer)}, 404))
    def get(self, request):
        return _paginated(request, self, _collections_visible_to(request.user), CollectionSerializer)


class CollectionDetailApi(APIView):
    @extend_schema(operation_id="collections_retrieve", summary="A collection: its partner and items in order",
                   responses=_with_errors({200: CollectionSerializer}, 404))
    def get(self, request, slug):
        collection = get_object_or_404(_collections_visible_to(request.user), slug=slug)
        return Response(CollectionSerializer(collection).data)


class PartnerListApi(APIView):
    @extend_schema(operation_id="partners_list", summary="Media partners",
                   parameters=[PAGE_PARAMETER], responses=_with_errors({200: page_of(PartnerSerializer)}, 404))
    def get(self, request):
        return _paginated(request, self, Partner.objects.order_by("name", "id"), PartnerSerializer)


class PartnerDetailApi(APIView):
    @extend_schema(operation_id="partners_retrieve", summary="A media partner and its published collections",
                   responses=_with_errors({200: PartnerDetailSerializer}, 404))
    def get(self, request, slug):
        page = selectors.partner_page(slug=slug)
        partner = page["partner"]
        partner.collections_published = page["collections"]
        return Response(PartnerDetailSerializer(partner).data)
