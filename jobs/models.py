"""A restoration job: the DB row is the truth about its state, progress and result."""
import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class JobState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


# Which state may follow which; anything else is a bug or a race lost.
ALLOWED_TRANSITIONS = {
    JobState.QUEUED: {JobState.RUNNING, JobState.CANCELLED, JobState.FAILED},
    JobState.RUNNING: {JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED, JobState.QUEUED},
    JobState.SUCCEEDED: set(),
    JobState.FAILED: set(),
    JobState.CANCELLED: set(),
}
FINISHED_STATES = {JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED}


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
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

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
