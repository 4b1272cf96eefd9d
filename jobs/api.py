"""Thin DRF views for jobs. Input serializers sit next to their view; output is the job snapshot."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from engine.recipes import load_recipe, preset_names
from jobs import services
from jobs.selectors import job_get_visible, job_snapshot, jobs_visible_to


class JobProgressSerializer(serializers.Serializer):
    phase = serializers.CharField()
    stage = serializers.CharField()
    frame = serializers.IntegerField()
    total = serializers.IntegerField()
    fraction = serializers.FloatField()
    fps = serializers.FloatField()
    eta_seconds = serializers.FloatField(allow_null=True)


class JobOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    state = serializers.ChoiceField(choices=["queued", "running", "succeeded", "failed", "cancelled"])
    state_label = serializers.CharField()
    kind = serializers.ChoiceField(choices=["image", "video"])
    recipe = serializers.CharField()
    stages = serializers.ListField(child=serializers.CharField())
    progress = JobProgressSerializer()
    preview = serializers.CharField(allow_null=True, help_text="JPEG data URL of the latest frame.")
    error = serializers.CharField()
    cancel_requested = serializers.BooleanField()
    attempts = serializers.IntegerField(help_text="How many times a worker has started this job.")
    queue_position = serializers.IntegerField(allow_null=True, help_text="1 = next to start; null once started.")
    result_url = serializers.CharField(allow_null=True)
    source_url = serializers.CharField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class JobListCreateApi(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]
    throttle_scope = "job_launch"

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(help_text="An image (PNG, JPEG, TIFF, WebP) or a video (MP4, MOV, MKV, WebM, AVI).")
        recipe = serializers.ChoiceField(choices=preset_names(), default="film-default")

    def get_throttles(self):
        return [ScopedRateThrottle()] if self.request.method == "POST" else []

    @extend_schema(responses=JobOutputSerializer(many=True), summary="List my jobs")
    def get(self, request):
        jobs = jobs_visible_to(request.user).filter(owner=request.user)[:100]
        return Response([job_snapshot(job) for job in jobs])

    @extend_schema(request=InputSerializer, responses={201: JobOutputSerializer}, summary="Upload and launch a job")
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = services.job_create_from_upload(
            owner=request.user, upload=data.validated_data["file"], recipe_name=data.validated_data["recipe"])
        return Response(job_snapshot(job), status=status.HTTP_201_CREATED)


class JobDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=JobOutputSerializer, summary="A job's state and progress")
    def get(self, request, job_id):
        return Response(job_snapshot(job_get_visible(user=request.user, job_id=job_id)))


class JobCancelApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=JobOutputSerializer, summary="Cancel a queued or running job")
    def post(self, request, job_id):
        job = services.job_cancel(job=job_get_visible(user=request.user, job_id=job_id))
        return Response(job_snapshot(job))


class JobRetryApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={201: JobOutputSerializer},
                   summary="Run a failed or cancelled job again (a new job, same file and recipe)")
    def post(self, request, job_id):
        again = services.job_retry(job=job_get_visible(user=request.user, job_id=job_id))
        return Response(job_snapshot(again), status=status.HTTP_201_CREATED)


class RecipeListApi(APIView):
    permission_classes = []

    class RecipeSerializer(serializers.Serializer):
        name = serializers.CharField()
        description = serializers.CharField()
        stages = serializers.ListField(child=serializers.DictField())

    @extend_schema(responses=RecipeSerializer(many=True), summary="The preset recipes")
    def get(self, request):
        return Response([load_recipe(name).as_dict() for name in preset_names()])
