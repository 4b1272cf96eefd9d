"""What every API input serializer shares (gallery's and jobs'): a field the operation does not take
is refused with a 400 that names it, not ignored (a misspelt or invented parameter, e.g. `scale`
on a job launch, would otherwise give a plain default job and a 201). The schema says so too: an
input's component has "additionalProperties": false (InputSchemaMixin)."""
from __future__ import annotations

import re
from collections.abc import Mapping

from django.utils.translation import gettext_lazy
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from restoration_site.errors import UNKNOWN_FIELD

# Django's CSRF token, which an HTML form's body carries and the CSRF check reads: no operation's field.
IGNORED_FIELDS = frozenset({"csrfmiddlewaretoken"})
# A list in a multipart body may be sent as name[0], name[1] (DRF reads both forms).
_INDEXED = re.compile(r"^([^\[]+)\[")
UNKNOWN_FIELD_MESSAGE = gettext_lazy("Unknown field.")


def unknown_fields(data: Mapping, known) -> list[str]:
    """The names in `data` (a parsed request body) that are none of `known`, sorted."""
    names = {_base_name(str(key)) for key in data}
    return sorted(names - set(known) - IGNORED_FIELDS)


def _base_name(key: str) -> str:
    indexed = _INDEXED.match(key)
    return indexed.group(1) if indexed else key


class StrictInputMixin:
    """For a serializer of request data: refuses any field it does not declare (as writable)."""

    strict_input = True

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = unknown_fields(data, (field.field_name for field in self._writable_fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: [ErrorDetail(str(UNKNOWN_FIELD_MESSAGE), code=UNKNOWN_FIELD)] for name in unknown})
        return super().to_internal_value(data)


class InputSerializer(StrictInputMixin, serializers.Serializer):
    """The base of the API's input serializers."""


class NoInputSerializer(InputSerializer):
    """The body of an operation that takes none (vote, cancel, retry, delete): empty, or refused."""


def refuse_any_body(request) -> None:
    """A 400 naming the fields when an operation that takes no body is sent some."""
    NoInputSerializer(data=request.data).is_valid(raise_exception=True)
