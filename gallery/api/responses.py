"""What every gallery endpoint answers with, and how the schema describes it: a page of results
(the settings' PageNumberPagination) and the error body {"message", "extra"}."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.settings import api_settings


class ErrorSerializer(serializers.Serializer):
    message = serializers.CharField(help_text="What went wrong, in words to show the user.")
    extra = serializers.DictField(help_text="Details, e.g. the fields that failed validation.")


def with_errors(responses: dict, *codes: int) -> dict:
    """`responses` for extend_schema, plus the error body for each of the status `codes`."""
    return {**responses, **{code: ErrorSerializer for code in codes}}


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
