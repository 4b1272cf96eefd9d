from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.conf import settings

        from engine.models import registry

        # One models folder for the web process and every worker, wherever they were started.
        registry.configure(models_dir=settings.ENGINE_MODELS_DIR)
        from jobs import checks  # noqa: F401  (registers the system checks)
        from jobs import signals  # noqa: F401  (asset files go with their rows)
        from jobs import tasks  # noqa: F401  (registers the tasks that services send by name)
