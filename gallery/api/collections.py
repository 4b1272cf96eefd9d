"""The collections and partners API: curated collections (drafts for staff only) with their
items in order, and the media partners with their published collections."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from gallery import selectors
from gallery.api.responses import PAGE_PARAMETER, page_of, paginated_response, with_errors
from gallery.api.serializers import CollectionSerializer, PartnerDetailSerializer, PartnerSerializer


class CollectionListApi(APIView):
    @extend_schema(operation_id="collections_list", summary="Published collections (staff also see drafts)",
                   parameters=[PAGE_PARAMETER], responses=with_errors({200: page_of(CollectionSerializer)}, 404))
    def get(self, request):
        return paginated_response(request, self, selectors.collections_visible(user=request.user), CollectionSerializer)


class CollectionDetailApi(APIView):
    @extend_schema(operation_id="collections_retrieve", summary="A collection: its partner and items in order",
                   responses=with_errors({200: CollectionSerializer}, 404))
    def get(self, request, slug):
        collection = selectors.collection_get_visible(slug=slug, user=request.user)
        return Response(CollectionSerializer(collection).data)


class PartnerListApi(APIView):
    @extend_schema(operation_id="partners_list", summary="Media partners",
                   parameters=[PAGE_PARAMETER], responses=with_errors({200: page_of(PartnerSerializer)}, 404))
    def get(self, request):
        return paginated_response(request, self, selectors.partners_by_name(), PartnerSerializer)


class PartnerDetailApi(APIView):
    @extend_schema(operation_id="partners_retrieve", summary="A media partner and its published collections",
                   responses=with_errors({200: PartnerDetailSerializer}, 404))
    def get(self, request, slug):
        return Response(PartnerDetailSerializer(selectors.partner_detail(slug=slug)).data)
