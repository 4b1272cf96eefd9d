from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from jobs import checks  # noqa: F401  (registers the system checks)
        from jobs import signals  # noqa: F401  (asset files go with their rows)
        from jobs import tasks  # noqa: F401  (registers the tasks that services send by name)
