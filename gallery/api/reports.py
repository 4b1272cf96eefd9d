"""The moderation API: anyone reports a comment or a version they can see (the answer names it by
id only); staff list the open reports and resolve them, hiding what was reported or not."""
from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from gallery import selectors, services
from gallery.api.fields import CommentIdField, VisibleVersionField
from gallery.api.inputs import InputSerializer
from gallery.api.responses import PAGE_PARAMETER, page_of, paginated_response, with_errors
from gallery.api.serializers import ReportModerationSerializer, ReportSerializer
from gallery.api.throttling import ThrottledWritesMixin
from restoration_site.errors import ApplicationError


def _require_staff(user, message: str) -> None:
    if not user.is_staff:
        raise ApplicationError(message, status_code=403)


class ReportListCreateApi(ThrottledWritesMixin, APIView):
    throttle_scope = "report"

    class ReportInputSerializer(InputSerializer):
        comment = CommentIdField(required=False, allow_null=True, help_text="The comment's id, or:")
        version = VisibleVersionField(required=False, allow_null=True, help_text="the version's uid.")
        reason = serializers.CharField(max_length=500, allow_blank=True, help_text="What is wrong.")

    @extend_schema(operation_id="reports_list", summary="Open reports, oldest first (staff)",
                   parameters=[PAGE_PARAMETER], responses=with_errors({200: page_of(ReportModerationSerializer)}, 403, 404))
    def get(self, request):
        _require_staff(request.user, _("Only staff can see reports."))
        return paginated_response(request, self, selectors.open_reports(), ReportModerationSerializer)

    @extend_schema(operation_id="reports_create", summary="Report a comment or a version to the moderators",
                   request=ReportInputSerializer, responses=with_errors({201: ReportSerializer}, 400, 403, 404, 409, 429))
    def post(self, request):
        data = self.ReportInputSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        report = services.report_create(reporter=request.user, reason=fields["reason"],
                                        comment=fields.get("comment"), version=fields.get("version"))
        return Response(ReportSerializer(report).data, status=status.HTTP_201_CREATED)


class ReportResolveApi(APIView):
    class ResolveInputSerializer(InputSerializer):
        hide = serializers.BooleanField(help_text="Hide the reported comment or version; false dismisses it.")

    @extend_schema(operation_id="reports_resolve", summary="Close a report, hiding what it points at or not (staff)",
                   request=ResolveInputSerializer,
                   responses=with_errors({200: ReportModerationSerializer}, 400, 403, 404, 409))
    def post(self, request, report_id):
        _require_staff(request.user, _("Only staff can do this."))
        report = selectors.report_get(report_id=report_id)
        data = self.ResolveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        report = services.report_resolve(moderator=request.user, report=report, hide=data.validated_data["hide"])
        return Response(ReportModerationSerializer(report).data)
