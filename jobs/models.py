"""A restoration job: the DB row is the truth about its state, progress and result."""
import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class JobState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


# Which state may follow which. Every write of a job's state goes through
# jobs.services.lifecycle.job_transition, which refuses any other move.
ALLOWED_TRANSITIONS = {
    # claimed by a worker; cancelled before it started; given up (its file is gone)
    JobState.QUEUED: {JobState.RUNNING, JobState.CANCELLED, JobState.FAILED},
    # finished; taken over by another worker after its own stopped responding (RUNNING again);
    # put back in the queue by the reaper
    JobState.RUNNING: {JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED, JobState.RUNNING, JobState.QUEUED},
    JobState.SUCCEEDED: set(),
    JobState.FAILED: set(),
    JobState.CANCELLED: set(),
}
ACTIVE_STATES = (JobState.QUEUED, JobState.RUNNING)
FINISHED_STATES = (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)
# A job in one of these may be run again, as a new job with the same file and recipe.
RETRYABLE_STATES = (JobState.FAILED, JobState.CANCELLED)


def job_file_path(job, filename: str) -> str:
    return f"jobs/{job.id}/{filename}"


class Job(models.Model):
    class Kind(models.TextChoices):
        IMAGE = "image", _("Image")
        VIDEO = "video", _("Video")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="jobs")
    item = models.ForeignKey("gallery.Item", null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs")
    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.QUEUED, db_index=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    recipe = models.JSONField(help_text="The validated recipe: stages and their parameters.")
    source = models.FileField(upload_to=job_file_path, max_length=300)
    source_name = models.CharField(max_length=255, blank=True, help_text="The name the user's file had.")
    source_info = models.JSONField(default=dict, help_text="Facts read by decoding the upload.")
    result = models.FileField(upload_to=job_file_path, max_length=300, blank=True)
    progress = models.JSONField(default=dict, blank=True)
    preview = models.TextField(blank=True, help_text="The latest frame preview as a JPEG data URL.")
    error = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    worker = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    queue = models.CharField(max_length=16, default="cpu", db_index=True,
                             help_text="The Celery queue it was sent to: gpu or cpu; also the device it runs on.")
    priority = models.SmallIntegerField(default=0, help_text="The owner's priority when it was launched; higher starts first.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Set when the broker could not take the job's message; the reaper sends it again.
    dispatch_pending = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.recipe.get('name', 'job')} {self.id} ({self.state})"

    @property
    def is_finished(self) -> bool:
        return self.state in FINISHED_STATES

    @property
    def group_name(self) -> str:
        """The channel-layer group that carries this job's live events."""
        return f"job-{self.id}"


class JobEvent(models.Model):
    """One line of a job's timeline. The text is made when shown, in the reader's language."""

    class Kind(models.TextChoices):
        QUEUED = "queued", _("Queued")
        STARTED = "started", _("Started")
        RECLAIMED = "reclaimed", _("Taken over")
        REQUEUED = "requeued", _("Put back in the queue")
        CHUNK_DONE = "chunk_done", _("Chunk done")
        CANCEL_REQUESTED = "cancel_requested", _("Cancel requested")
        CANCELLED = "cancelled", _("Cancelled")
        FAILED = "failed", _("Failed")
        SUCCEEDED = "succeeded", _("Succeeded")
        RETRIED = "retried", _("Run again")

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    worker = models.CharField(max_length=255, blank=True)
    message = models.TextField(blank=True, help_text="Free text, e.g. the reason a job failed.")
    data = models.JSONField(default=dict, blank=True, help_text="Numbers the text is made from: chunk, frames, attempt.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.job_id} {self.kind}"


class WorkerNode(models.Model):
    """A Celery worker as it last announced itself; online while `last_seen` is fresh."""

    hostname = models.CharField(max_length=255, unique=True)
    queues = models.JSONField(default=list)
    has_gpu = models.BooleanField(default=False)
    installed_models = models.JSONField(default=list, help_text="Keys of the learned models whose weights it has.")
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["hostname"]

    def __str__(self) -> str:
        return self.hostname


class StageThroughput(models.Model):
    """Measured speed of a set of stages on a device, smoothed over finished jobs."""

    stages = models.CharField(max_length=255, help_text='The recipe\'s stage names joined by "+".')
    device = models.CharField(max_length=8)
    fps = models.FloatField(help_text="Source frames per second, wall time (decoding and encoding included).")
    mpx_per_second = models.FloatField(help_text="Megapixels per second: what ETAs use, as frame sizes differ.")
    samples = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["stages", "device"], name="unique_throughput_per_stages_device")]
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"{self.stages} on {self.device}: {self.fps:.2f} frames/s"


class UserQuota(models.Model):
    """What staff set for one user; a user without a row has the defaults."""

    class Priority(models.IntegerChoices):
        NORMAL = 0, _("Normal")
        PARTNER = 1, _("Partner collaboration")

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="job_quota")
    priority = models.SmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    note = models.CharField(max_length=255, blank=True, help_text="Why, e.g. the partner institution.")

    def __str__(self) -> str:
        return f"{self.user} ({self.get_priority_display()})"


def job_asset_path(asset, filename: str) -> str:
    return f"jobs/assets/{asset.owner_id}/{asset.id}{PurePosixPath(filename).suffix}"


class JobAsset(models.Model):
    """A picture a person gives with a launch: a reference photo of a person, a color scribble, a
    colorized keyframe, a color reference. Stored by its storage name, never named by a path in
    the recipe: the worker hands the engine local copies when the job runs.

    Stored before its job exists (a launch may first ask a question), then attached to the job;
    one never attached is removed by the hourly sweep, and its file with it.
    """

    class Role(models.TextChoices):
        FACE_REFERENCE = "face_reference", _("Reference photo of a person")
        SCRIBBLE = "scribble", _("Color scribble")
        KEYFRAME = "keyframe", _("Colorized keyframe")
        COLOR_REFERENCE = "color_reference", _("Color reference picture")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="job_assets")
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.CASCADE, related_name="assets")
    role = models.CharField(max_length=16, choices=Role.choices)
    frame = models.PositiveIntegerField(null=True, blank=True,
                                        help_text="The frame a scribble or keyframe belongs to.")
    position = models.PositiveSmallIntegerField(default=0, help_text="Order among the job's assets of this role.")
    file = models.FileField(upload_to=job_asset_path, max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["role", "position", "created_at"]
        indexes = [models.Index(fields=["job", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_role_display()} {self.id}"
