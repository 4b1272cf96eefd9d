"""Jobs in a given state, made through the real services."""
from django.core.files.uploadedfile import SimpleUploadedFile

from jobs.services.launch import job_create_from_upload
from jobs.services.workers import worker_announce


def upload_of(path, name=None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes())


def job_for(owner, clip, recipe="film-light"):
    return job_create_from_upload(owner=owner, upload=upload_of(clip), recipe_name=recipe)


def gpu_worker(hostname="gpu@box", **fields):
    """A GPU worker that has just announced itself."""
    fields = {"queues": ["gpu"], "has_gpu": True, "installed_models": ["gpen-bfr-512"], **fields}
    return worker_announce(hostname=hostname, **fields)
