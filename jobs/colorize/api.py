"""Thin DRF views to colorize: preview one frame in seconds, then launch the job for the whole clip.
Routed under /api/jobs/colorize/ by jobs/colorize/api_urls.py."""
from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle, UserRateThrottle
from rest_framework.views import APIView

from engine.stages.colorize import DEFAULT_SATURATION, MODELS
from gallery.api.fields import FiniteFloatField
from gallery.api.inputs import InputSerializer
from gallery.api.responses import with_errors
from gallery.models import Item
from jobs.colorize import services
from jobs.api import JobOutputSerializer
from jobs.selectors import job_snapshot


class ColorizeInputSerializer(InputSerializer):
    item = serializers.PrimaryKeyRelatedField(queryset=Item.objects.all(), required=False,
                                              help_text="The gallery item to colorize.")
    job = serializers.UUIDField(required=False, help_text="Or one of your jobs: its uploaded file is colorized.")
    frame = serializers.IntegerField(min_value=0, default=0, help_text=(
        "The frame the scribble and the colorized keyframe belong to (0 for a still)."))
    scribble = serializers.FileField(required=False, help_text=(
        "An RGBA PNG over the frame: pixels of alpha > 0 give their colour. Any size; it is scaled to the frame."))
    reference_frame = serializers.FileField(required=False, help_text="This frame, colorized elsewhere (an image).")
    reference_images = serializers.ListField(
        child=serializers.FileField(), required=False, max_length=services.MAX_REFERENCE_IMAGES,
        help_text="Colour photos or paintings of the same scene, matched by their features.")
    model = serializers.ChoiceField(choices=MODELS, default="none",
                                    help_text="A learned colorizer for what nothing else colours (when installed).")
    saturation = FiniteFloatField(min_value=services.MIN_SATURATION, max_value=services.MAX_SATURATION,
                                  default=DEFAULT_SATURATION,
                                  help_text="Boost of estimated colours; luminance never changes.")

    def validate(self, data):
        if ("item" in data) == ("job" in data):
            raise serializers.ValidationError({"item": _("Send either an item or a job.")})
        return data


def _source_and_hints(request, given: dict):
    source = services.color_source_get(user=request.user, item_id=given["item"].pk if "item" in given else None,
                                             job_id=given.get("job"))
    hints = services.color_hints_read(frame=given["frame"], scribble=given.get("scribble"),
                                            reference_frame=given.get("reference_frame"),
                                            reference_images=given.get("reference_images", []))
    return source, hints


class PreviewThrottle(UserRateThrottle):
    """A preview is made in the request, on the web server's CPU: enough to try things, not to flood it."""

    scope = "color_preview"
    rate = "240/hour"


class ColorizePreviewApi(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser]
    throttle_classes = [PreviewThrottle]

    @extend_schema(request={"multipart/form-data": ColorizeInputSerializer},
                   responses=with_errors({(200, "image/png"): OpenApiResponse(OpenApiTypes.BINARY, description=(
                       f"The frame colorized, at most {services.PREVIEW_MAX_HEIGHT} px tall, with the "
                       "frame's own luminance."))}, 404, 409),
                   summary="Preview one frame colorized (in seconds)")
    def post(self, request):
        data = ColorizeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        given = data.validated_data
        source, hints = _source_and_hints(request, given)
        png = services.colorize_preview(source=source, hints=hints, model=given["model"],
                                              saturation=given["saturation"])
        return HttpResponse(png, content_type="image/png", headers={"Cache-Control": "no-store"})


class ColorizeLaunchApi(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser]
    throttle_scope = "job_launch"
    throttle_classes = [ScopedRateThrottle]

    class ColorizeLaunchInputSerializer(ColorizeInputSerializer):
        base_recipe = serializers.ChoiceField(choices=["", *services.base_recipe_names()], default="",
                                              allow_blank=True, help_text="A preset that restores before colouring.")
        allow_cpu = serializers.BooleanField(default=False)
        confirm = serializers.BooleanField(default=False, help_text=(
            "Launch even though the same recipe is already queued or running on this item."))

    @extend_schema(request={"multipart/form-data": ColorizeLaunchInputSerializer},
                   responses=with_errors({201: JobOutputSerializer}, 404, 409),
                   summary="Colorize a whole clip or still (a job; its version is labelled AI-generated color)")
    def post(self, request):
        data = self.ColorizeLaunchInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        given = data.validated_data
        source, hints = _source_and_hints(request, given)
        job = services.colorize_job_create(
            owner=request.user, source=source, hints=hints, base_recipe=given["base_recipe"], model=given["model"],
            saturation=given["saturation"], allow_cpu=given["allow_cpu"], confirm=given["confirm"])
        return Response(job_snapshot(job), status=status.HTTP_201_CREATED)

