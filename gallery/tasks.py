"""Celery entry points for the gallery: thin wrappers around the services."""
from celery import shared_task

from gallery import services


@shared_task(name="gallery.make_derived_media")
def make_derived_media(model_label: str, pk: int) -> None:
    services.media_make_derived(model_label=model_label, pk=pk)
