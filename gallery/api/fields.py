"""Serializer fields the API's serializers share: an item's kind (with its own schema name), a
number that must be finite, and ids in a request validated into the rows they name (through
gallery.selectors)."""
from __future__ import annotations

import math

from django.utils.translation import gettext_lazy
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


class VisibleVersionField(serializers.UUIDField):
    """A version's uid in a request, validated into the Version (one that is not hidden)."""

    default_error_messages = {"missing": gettext_lazy("No such version.")}

    def to_internal_value(self, data) -> Version:
        try:
            return selectors.version_get_visible(uid=super().to_internal_value(data))
        except NotFound:
            self.fail("missing")


class CommentIdField(serializers.IntegerField):
    """A comment's id in a request, validated into the Comment."""

    default_error_messages = {"missing": gettext_lazy("No such comment.")}

    def to_internal_value(self, data) -> Comment:
        try:
            return selectors.comment_get(comment_id=super().to_internal_value(data))
        except NotFound:
            self.fail("missing")


class FiniteFloatField(serializers.FloatField):
    """A FloatField that refuses NaN and infinities (float() reads "nan" and "inf"; NaN passes any
    min_value and max_value, since every comparison with it is false)."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            self.fail("invalid")
        return value
