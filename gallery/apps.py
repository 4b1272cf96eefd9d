from django.apps import AppConfig


class GalleryConfig(AppConfig):
    name = "gallery"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from gallery import tasks  # noqa: F401  (registers the Celery tasks that gallery.services sends by name)
