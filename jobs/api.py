"""Thin DRF views for jobs. Input serializers sit next to their view; output is the job snapshot."""
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from engine.recipes import load_recipe, preset_names
from gallery.api.inputs import InputSerializer, refuse_any_body
from gallery.api.responses import with_errors
from gallery.api.serializers import VersionSerializer
from gallery.models import Item, Licence
from gallery.selectors import version_get_visible
from jobs.face_references import services as face_references
from jobs.models import JobState
from jobs.services.launch import job_retry
from jobs.services.lifecycle import job_cancel
from jobs.services.publish import job_publish
from jobs.selectors import job_events, job_get_visible, job_snapshot, job_snapshots, jobs_visible_to, user_quota


class JobProgressSerializer(serializers.Serializer):
    phase = serializers.CharField()
    stage = serializers.CharField()
    frame = serializers.IntegerField()
    total = serializers.IntegerField()
    fraction = serializers.FloatField()
    fps = serializers.FloatField()
    eta_seconds = serializers.FloatField(allow_null=True)


class QueueEtaSerializer(serializers.Serializer):
    seconds = serializers.FloatField(help_text="Estimated seconds until the job is done, queue wait included.")
    measured = serializers.BooleanField(help_text="False while nothing like it has been measured: a rough guess.")


class JobOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    state = serializers.ChoiceField(choices=JobState.values)
    state_label = serializers.CharField()
    kind = serializers.ChoiceField(choices=["image", "video"])
    recipe = serializers.CharField()
    stages = serializers.ListField(child=serializers.CharField())
    progress = JobProgressSerializer()
    preview = serializers.CharField(allow_null=True, help_text="JPEG data URL of the latest frame.")
    error = serializers.CharField()
    cancel_requested = serializers.BooleanField()
    attempts = serializers.IntegerField(help_text="How many times a worker has started this job.")
    queue = serializers.ChoiceField(choices=["cpu", "gpu"], help_text="The queue, and so the device, it runs on.")
    queue_position = serializers.IntegerField(allow_null=True, help_text="1 = next to start; null once started.")
    queue_eta = QueueEtaSerializer(allow_null=True, help_text="An estimate, while queued; null once started.")
    slower_on_cpu = serializers.BooleanField(help_text="A recipe meant for a GPU, running on a CPU.")
    events_count = serializers.IntegerField(help_text="Lines in its timeline (see the events endpoint).")
    result_url = serializers.CharField(allow_null=True)
    source_url = serializers.CharField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class JobListCreateApi(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    throttle_scope = "job_launch"

    class LaunchInputSerializer(InputSerializer):
        file = serializers.FileField(required=False,
                                     help_text="An image (PNG, JPEG, TIFF, WebP) or a video (MP4, MOV, MKV, WebM, AVI).")
        item = serializers.PrimaryKeyRelatedField(queryset=Item.objects.all(), required=False,
                                                  help_text="Or a gallery item to restore, instead of a file.")
        recipe = serializers.ChoiceField(choices=preset_names(), default="film-default")
        face_references = serializers.ListField(
            child=serializers.FileField(), required=False, max_length=face_references.MAX_FACE_REFERENCES,
            help_text=("Reference photos of the people in the shot (images, several parts of this name in a "
                       "multipart body), for recipes with a faces stage (e.g. film-faces); refused with any other."))
        allow_cpu = serializers.BooleanField(default=False, help_text=(
            "Run a recipe that needs a GPU on a CPU when no GPU worker is online or your GPU time is spent."))
        confirm = serializers.BooleanField(default=False, help_text=(
            "Launch even though the same recipe is already queued or running on this item."))

        def validate(self, data):
            if ("file" in data) == ("item" in data):
                raise serializers.ValidationError({"file": _("Send either a file or an item.")})
            return data

    def get_throttles(self):
        return [ScopedRateThrottle()] if self.request.method == "POST" else []

    @extend_schema(responses=JobOutputSerializer(many=True), summary="List my jobs")
    def get(self, request):
        jobs = jobs_visible_to(request.user).filter(owner=request.user)[:100]
        return Response(job_snapshots(jobs))

    @extend_schema(request=LaunchInputSerializer, responses=with_errors({201: JobOutputSerializer}, 409),
                   summary="Upload and launch a job")
    def post(self, request):
        data = self.LaunchInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        given = data.validated_data
        job = face_references.job_create_with_face_references(
            owner=request.user, item=given.get("item"), upload=given.get("file"), recipe_name=given["recipe"],
            uploads=given.get("face_references", []), allow_cpu=given["allow_cpu"], confirm=given["confirm"])
        return Response(job_snapshot(job), status=status.HTTP_201_CREATED)


class JobDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=JobOutputSerializer, summary="A job's state and progress")
    def get(self, request, job_id):
        return Response(job_snapshot(job_get_visible(user=request.user, job_id=job_id)))


class JobCancelApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=with_errors({200: JobOutputSerializer}, 409),
                   summary="Cancel a queued or running job")
    def post(self, request, job_id):
        job = job_get_visible(user=request.user, job_id=job_id)
        refuse_any_body(request)
        job = job_cancel(job=job)
        return Response(job_snapshot(job))


class JobRetryApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=with_errors({201: JobOutputSerializer}, 409, 429),
                   summary="Run a failed or cancelled job again (a new job, same file and recipe)")
    def post(self, request, job_id):
        job = job_get_visible(user=request.user, job_id=job_id)
        refuse_any_body(request)
        again = job_retry(job=job)
        return Response(job_snapshot(again), status=status.HTTP_201_CREATED)


class JobPublishApi(APIView):
    permission_classes = [IsAuthenticated]

    class PublishInputSerializer(InputSerializer):
        title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="",
                                      help_text="The recipe's name when empty.")
        licence = serializers.ChoiceField(choices=Licence.choices, default=Licence.CC_BY)

    @extend_schema(operation_id="jobs_publish", summary="Publish a finished job's result as a version of its item",
                   request=PublishInputSerializer, responses=with_errors({201: VersionSerializer}, 400, 403, 404, 409))
    def post(self, request, job_id):
        job = job_get_visible(user=request.user, job_id=job_id)
        data = self.PublishInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = job_publish(user=request.user, job=job, **data.validated_data)
        return Response(VersionSerializer(version_get_visible(uid=version.uid, user=request.user)).data,
                        status=status.HTTP_201_CREATED)


class JobEventsApi(APIView):
    permission_classes = [IsAuthenticated]

    class EventSerializer(serializers.Serializer):
        kind = serializers.CharField()
        kind_label = serializers.CharField()
        text = serializers.CharField(help_text="The line as a person reads it, in the request's language.")
        worker = serializers.CharField()
        data = serializers.DictField(help_text="Its numbers: chunk, first and last frame, attempt, ...")
        created_at = serializers.DateTimeField()

    @extend_schema(responses=EventSerializer(many=True), summary="A job's timeline, oldest first")
    def get(self, request, job_id):
        return Response(job_events(job_get_visible(user=request.user, job_id=job_id)))


class QuotaUsageSerializer(serializers.Serializer):
    used = serializers.IntegerField()
    allowed = serializers.IntegerField(allow_null=True, help_text="null: no limit (staff).")


class GpuQuotaSerializer(QuotaUsageSerializer):
    remaining = serializers.IntegerField(allow_null=True)


class QuotaSerializer(serializers.Serializer):
    active_jobs = QuotaUsageSerializer(help_text="Jobs queued or running now.")
    gpu_seconds = GpuQuotaSerializer(help_text="GPU seconds of today.")
    gpu_resets_at = serializers.DateTimeField()
    gpu_workers_online = serializers.IntegerField(help_text="0: recipes that need a GPU can only run on a CPU.")
    priority = serializers.IntegerField(help_text="0 normal, 1 partner collaboration (set by staff).")
    priority_label = serializers.CharField()


class JobQuotaApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=QuotaSerializer, summary="What I may still launch: active jobs and today's GPU time")
    def get(self, request):
        return Response(user_quota(request.user))


class RecipeListApi(APIView):
    permission_classes = [AllowAny]  # (the schema then says that no login is needed)

    class RecipeSerializer(serializers.Serializer):
        name = serializers.CharField()
        description = serializers.CharField()
        stages = serializers.ListField(child=serializers.DictField())

    @extend_schema(responses=RecipeSerializer(many=True), summary="The preset recipes")
    def get(self, request):
        return Response([load_recipe(name).as_dict() for name in preset_names()])
