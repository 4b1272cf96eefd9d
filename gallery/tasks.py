"""Celery entry points for the gallery: thin wrappers around the services."""
from celery import shared_task

from gallery import services
from restoration_site.media import MEDIA_STORE_ERRORS


@shared_task(name="gallery.make_derived_media", autoretry_for=MEDIA_STORE_ERRORS, retry_backoff=30, max_retries=3)
def make_derived_media(model_label: str, pk: int) -> None:
    services.media_make_derived(model_label=model_label, pk=pk)


@shared_task(name="gallery.make_missing_posters")
def make_missing_posters() -> int:
    return services.media_derived_sweep()
