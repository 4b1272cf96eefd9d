"""System checks: production must run the real channel layer and a real Celery worker."""
from django.conf import settings
from django.core.checks import Error, register


@register(deploy=False)
def real_services_when_not_debug(app_configs, **kwargs):
    if settings.DEBUG:
        return []
    errors = []
    backend = settings.CHANNEL_LAYERS.get("default", {}).get("BACKEND", "")
    if backend.endswith("InMemoryChannelLayer"):
        errors.append(Error(
            "The in-memory channel layer only reaches consumers in the same process.",
            hint="Use channels_redis.core.RedisChannelLayer (set REDIS_URL).",
            id="jobs.E001",
        ))
    if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        errors.append(Error(
            "Eager Celery runs restoration jobs inside the web request.",
            hint="Unset CELERY_TASK_ALWAYS_EAGER and run a Celery worker.",
            id="jobs.E002",
        ))
    return errors
