"""Jobs in a given state, made through the real services."""
from django.core.files.uploadedfile import SimpleUploadedFile

from jobs import services


def upload_of(path, name=None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes())


def job_for(owner, clip, recipe="film-light"):
    return services.job_create_from_upload(owner=owner, upload=upload_of(clip), recipe_name=recipe)
