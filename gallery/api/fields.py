"""Serializer fields the API's serializers share: an item's kind (with its own schema name), a
number that must be finite, and ids in a request validated into the rows they name (through
gallery.selectors)."""
from __future__ import annotations

import math

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers

from gallery import selectors
from gallery.models import Comment, Item, Version
from restoration_site.errors import NotFound


class ItemKindField(serializers.ChoiceField):
    """Item.Kind; the schema names its enum ItemKindEnum (an enum named after the field, KindEnum,
    would clash with the jobs' image/video kind)."""

    def __init__(self, **kwargs):
        super().__init__(choices=Item.Kind.choices, **kwargs)


class ItemKindFieldSchema(OpenApiSerializerFieldExtension):
    target_class = ItemKindField

    def get_name(self):
        # A filter's kind may be blank ("any kind"): its own enum, with "" among the values.
        return "ItemKindFilterEnum" if self.target.allow_blank else "ItemKindEnum"

    def map_serializer_field(self, auto_schema, direction):
        blank = [""] if self.target.allow_blank else []  # a filter's "any kind"
        return {"type": "string", "enum": [*Item.Kind.values, *blank],
                "description": " * ".join([""] + [f"`{value}` - {label}\n" for value, label in Item.Kind.choices])}


def _requesting_user(field):
    request = field.context.get("request")
    return request.user if request is not None else None


def _named(field, lookup):
    """`lookup()`'s row, or its NotFound with the field's name in the message, as other field errors."""
    try:
        return lookup()
    except NotFound as exc:
        raise NotFound(f"{field.field_name}: {exc.message}", extra={"fields": {field.field_name: [exc.message]}}) \
            from None


class VisibleVersionField(serializers.UUIDField):
    """A version's uid in a request, validated into the Version if the requesting user may see it
    (gallery.selectors.version_shown_to; without a request in the context, only versions that are
    not hidden). One that does not exist or is not shown is a 404, as reading it is."""

    def to_internal_value(self, data) -> Version:
        uid = super().to_internal_value(data)
        return _named(self, lambda: selectors.version_require_shown(selectors.version_get(uid=uid),
                                                                     _requesting_user(self)))


class CommentIdField(serializers.IntegerField):
    """A comment's id in a request, validated into the Comment if the requesting user may see it
    (gallery.selectors.comment_shown_to: not deleted; hidden ones for staff only). One that does
    not exist or is not shown is a 404, as reading it is."""

    def to_internal_value(self, data) -> Comment:
        comment_id = super().to_internal_value(data)
        return _named(self, lambda: selectors.comment_require_shown(selectors.comment_get(comment_id=comment_id),
                                                                     _requesting_user(self)))


class FiniteFloatField(serializers.FloatField):
    """A FloatField that refuses NaN and infinities (float() reads "nan" and "inf"; NaN passes any
    min_value and max_value, since every comparison with it is false)."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            self.fail("invalid")
        return value
