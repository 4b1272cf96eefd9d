"""The comments API: an item's comment threads, commenting and replying, editing and deleting
one's own comment, hiding a comment (staff)."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from gallery import selectors, services
from gallery.api.fields import CommentIdField, FiniteFloatField, VisibleVersionField
from gallery.api.inputs import InputSerializer, refuse_any_body
from gallery.api.responses import PAGE_PARAMETER, page_of, paginated_response, with_errors
from gallery.api.serializers import CommentSerializer, CommentThreadSerializer
from gallery.api.throttling import ThrottledWritesMixin


class ItemCommentListCreateApi(ThrottledWritesMixin, APIView):
    throttle_scope = "comment"

    class CommentInputSerializer(InputSerializer):
        body = serializers.CharField(max_length=5000, trim_whitespace=False)
        version = VisibleVersionField(required=False, allow_null=True, help_text="The version it is about.")
        parent = CommentIdField(required=False, allow_null=True,
                                help_text="The comment it answers; a reply to a reply joins its thread.")
        at_seconds = FiniteFloatField(required=False, allow_null=True, min_value=0,
                                      help_text="A moment of the film clip it is about, in seconds from the start.")

    @extend_schema(operation_id="items_comments_list", summary="An item's comment threads with their replies",
                   parameters=[PAGE_PARAMETER],
                   responses=with_errors({200: page_of(CommentThreadSerializer)}, 404))
    def get(self, request, slug):
        threads = selectors.comment_threads(item=selectors.item_get(slug=slug))
        return paginated_response(request, self, threads, CommentThreadSerializer)

    @extend_schema(operation_id="items_comments_create", summary="Comment on an item, or reply to a comment",
                   request=CommentInputSerializer, responses=with_errors({201: CommentSerializer}, 400, 403, 404, 429))
    def post(self, request, slug):
        item = selectors.item_get(slug=slug)
        data = self.CommentInputSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        comment = services.comment_create(author=request.user, item=item, body=fields["body"],
                                          version=fields.get("version"), parent=fields.get("parent"),
                                          at_seconds=fields.get("at_seconds"))
        return Response(CommentSerializer(comment, context={"request": request}).data,
                        status=status.HTTP_201_CREATED)


class CommentDetailApi(APIView):
    class CommentEditInputSerializer(InputSerializer):
        body = serializers.CharField(max_length=5000, trim_whitespace=False)

    @extend_schema(operation_id="comments_edit", summary="Edit your own comment",
                   request=CommentEditInputSerializer,
                   responses=with_errors({200: CommentSerializer}, 400, 403, 404, 409))
    def patch(self, request, comment_id):
        comment = selectors.comment_get(comment_id=comment_id)
        data = self.CommentEditInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.comment_edit(user=request.user, comment=comment, body=data.validated_data["body"])
        return Response(CommentSerializer(comment, context={"request": request}).data)

    @extend_schema(operation_id="comments_delete", summary="Delete a comment (its author, or staff)",
                   request=None, responses=with_errors({204: None}, 403, 404))
    def delete(self, request, comment_id):
        comment = selectors.comment_get(comment_id=comment_id)
        refuse_any_body(request)
        services.comment_delete(user=request.user, comment=comment)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CommentHideApi(APIView):
    class HideInputSerializer(InputSerializer):
        hidden = serializers.BooleanField(default=True)

    @extend_schema(operation_id="comments_hide", summary="Hide or show a comment (staff)",
                   request=HideInputSerializer, responses=with_errors({200: CommentSerializer}, 400, 403, 404))
    def post(self, request, comment_id):
        comment = selectors.comment_get(comment_id=comment_id)
        data = self.HideInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.comment_hide(moderator=request.user, comment=comment, hidden=data.validated_data["hidden"])
        return Response(CommentSerializer(comment, context={"request": request}).data)
