"""The items API: browse and add historical items, read one with its versions and collections,
list its versions, hand in homework for it."""
from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from gallery import selectors, services
from gallery.api.fields import ItemKindField, VisibleVersionField
from gallery.api.inputs import InputSerializer, StrictInputMixin
from gallery.api.responses import PAGE_PARAMETER, page_of, paginated_response, with_errors
from gallery.api.serializers import ItemDetailSerializer, ItemSummarySerializer, VersionSerializer
from gallery.api.throttling import ThrottledWritesMixin
from gallery.models import Item, Licence


@extend_schema_field({"type": "integer", "minimum": 0, "maximum": 9990, "multipleOf": 10})
class DecadeField(serializers.IntegerField):
    """A decade's first year (validate_decade refuses one that does not end in 0)."""


class ItemListCreateApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    class ItemFilterSerializer(serializers.Serializer):
        kind = ItemKindField(required=False, allow_blank=True)
        decade = DecadeField(required=False, min_value=0, max_value=9990,
                             help_text="The first year of a decade, e.g. 1920.")
        place = serializers.CharField(required=False, allow_blank=True, max_length=200)
        collection = serializers.SlugField(required=False, allow_blank=True, help_text="A published collection.")
        has_homework = serializers.BooleanField(required=False, default=False)
        has_restorations = serializers.BooleanField(required=False, default=False,
                                                    help_text="Items with a visible restoration: published or homework.")
        q = serializers.CharField(required=False, allow_blank=True, max_length=200,
                                  help_text="Words in the title, description, place, creator or tags.")

        def validate_decade(self, value):
            if value % 10:
                raise serializers.ValidationError(_("A decade starts at a year that ends in 0, e.g. 1920."))
            return value

    class ItemCreateInputSerializer(StrictInputMixin, serializers.ModelSerializer):
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
                   responses=with_errors({200: page_of(ItemSummarySerializer)}, 400, 404))
    def get(self, request):
        filters = self.ItemFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        items = selectors.items_filtered(
            kind=data.get("kind", ""), decade=data.get("decade"), place=data.get("place", "").strip(),
            collection=data.get("collection", ""), has_homework=data["has_homework"],
            has_restorations=data["has_restorations"], q=data.get("q", "").strip())
        return paginated_response(request, self, items, ItemSummarySerializer)

    @extend_schema(operation_id="items_create", summary="Add a historical item (staff)",
                   request=ItemCreateInputSerializer,
                   responses=with_errors({201: ItemDetailSerializer}, 400, 403))
    def post(self, request):
        data = self.ItemCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        upload, kind, title = fields.pop("file"), fields.pop("kind"), fields.pop("title")
        item = services.item_create(uploader=request.user, upload=upload, kind=kind, title=title, **fields)
        detail = selectors.item_detail(slug=item.slug, user=request.user)
        return Response(ItemDetailSerializer(detail, context={"request": request}).data, status=status.HTTP_201_CREATED)


class ItemDetailApi(APIView):
    @extend_schema(operation_id="items_retrieve", summary="An item: provenance, rights, facts, versions",
                   responses=with_errors({200: ItemDetailSerializer}, 404))
    def get(self, request, slug):
        item = selectors.item_detail(slug=slug, user=request.user)
        return Response(ItemDetailSerializer(item, context={"request": request}).data)


class ItemVersionListApi(APIView):
    @extend_schema(operation_id="items_versions_list", summary="An item's visible versions, featured first",
                   parameters=[PAGE_PARAMETER], responses=with_errors({200: page_of(VersionSerializer)}, 404))
    def get(self, request, slug):
        versions = selectors.item_versions(item=selectors.item_get(slug=slug), user=request.user)
        return paginated_response(request, self, versions, VersionSerializer)


class HomeworkApi(ThrottledWritesMixin, APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]
    throttle_scope = "homework"

    class HomeworkInputSerializer(InputSerializer):
        file = serializers.FileField(help_text="Your restoration: a video for a film clip, an image otherwise.")
        title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
        description = serializers.CharField(required=False, allow_blank=True, default="",
                                            help_text="Tools, models and steps: others learn from it.")
        licence = serializers.ChoiceField(choices=Licence.choices, default=Licence.CC_BY)
        ai_color = serializers.BooleanField(required=False, default=False)
        parent = VisibleVersionField(required=False, allow_null=True, help_text="The version you started from.")

    @extend_schema(operation_id="items_homework_create", summary="Hand in homework (交作业) for an item",
                   request=HomeworkInputSerializer,
                   responses=with_errors({201: VersionSerializer}, 400, 403, 404, 429))
    def post(self, request, slug):
        item = selectors.item_get(slug=slug)
        data = self.HomeworkInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        version = services.homework_hand_in(
            author=request.user, item=item, upload=fields["file"], title=fields["title"],
            description=fields["description"], licence=fields["licence"], ai_color=fields["ai_color"],
            parent=fields.get("parent"))
        return Response(VersionSerializer(selectors.version_get_visible(uid=version.uid, user=request.user)).data,
                        status=status.HTTP_201_CREATED)
