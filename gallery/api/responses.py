"""What every API endpoint answers with, and how the schema describes it: a page of results
(the settings' PageNumberPagination), the error body {"message", "extra"}, and (ApiSchema, the
settings' schema class) every error status an operation can answer."""
from __future__ import annotations

import uritemplate
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import force_instance
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.settings import api_settings


class ErrorSerializer(serializers.Serializer):
    message = serializers.CharField(help_text="What went wrong, in words to show the user.")
    extra = serializers.DictField(help_text="Details, e.g. the fields that failed validation.")


def with_errors(responses: dict, *codes: int) -> dict:
    """`responses` for extend_schema, plus the error body for each of the status `codes`: those
    that depend on what the operation does (409 for a state conflict, 403 for a staff-only read,
    404 for a page past the end, 429 for a daily cap...). ApiSchema adds the ones every operation
    of its kind can answer."""
    return {**responses, **{code: ErrorSerializer for code in codes}}


UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


class ApiSchema(AutoSchema):
    """The schema of an operation, with the error answers that follow from how it is routed:
    - 400 (a body that fails validation, or a field it does not take) and 415 (a body in another
      format) for every write; 403 for every write (login, CSRF) and every read that needs a login;
    - 404 when the path names something (an item, a job...) that may not exist or not be shown;
    - 429 for a throttled write.
    Input serializers (gallery.api.inputs) say that they take no other field, and (for PATCH too)
    which of theirs are required."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in sorted(self._error_codes()):
            responses.setdefault(str(code), self._get_response_for_code(ErrorSerializer, str(code),
                                                                        direction=direction))
        return dict(sorted(responses.items()))

    def _error_codes(self) -> set[int]:
        codes = set()
        if self.method in UNSAFE_METHODS:
            codes |= {400, 403, 415}
            if getattr(self.view, "throttle_scope", None) or self.view.throttle_classes:
                codes.add(429)
        if any(isinstance(permission, IsAuthenticated) for permission in self.view.get_permissions()):
            codes.add(403)
        if uritemplate.variables(self.path):
            codes.add(404)
        return codes

    def _get_request_for_media_type(self, serializer, direction="request"):
        # drf-spectacular takes a PATCH's input as partial (every field optional), as DRF's generic
        # views make it. The API's PATCH views validate their input whole: a required field is.
        if self.method == "PATCH" and getattr(force_instance(serializer), "strict_input", False):
            self.method = "PUT"
            try:
                return super()._get_request_for_media_type(serializer, direction)
            finally:
                self.method = "PATCH"
        return super()._get_request_for_media_type(serializer, direction)

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        if getattr(serializer, "strict_input", False):
            schema["additionalProperties"] = False
        return schema


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


def paginated_response(request, view, rows, serializer_class: type) -> Response:
    """The page of `rows` the request asks for, serialized with `serializer_class`."""
    paginator = api_settings.DEFAULT_PAGINATION_CLASS()
    page = paginator.paginate_queryset(rows, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True, context={"request": request}).data)
