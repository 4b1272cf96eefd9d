import os
import subprocess
import sys
from pathlib import Path

from django.core.checks import run_checks

ROOT = Path(__file__).resolve().parent.parent


def test_in_memory_layer_and_eager_celery_are_refused_in_production(settings):
    settings.DEBUG = False
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.CELERY_TASK_ALWAYS_EAGER = True
    ids = {message.id for message in run_checks()}
    assert {"jobs.E001", "jobs.E002"} <= ids


def test_real_services_pass_the_check(settings):
    settings.DEBUG = False
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {}}}
    settings.CELERY_TASK_ALWAYS_EAGER = False
    assert not {"jobs.E001", "jobs.E002"} & {message.id for message in run_checks()}


def production_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
    env.update(DJANGO_SETTINGS_MODULE="restoration_site.settings", DEBUG="0", ALLOWED_HOSTS="restore.example.org")
    env.update(extra)
    return env


def test_check_deploy_passes_with_production_settings():
    env = production_env(SECRET_KEY="a-long-random-production-secret-" + "x7Kq9" * 10)
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_without_a_secret_key_refuses_to_start():
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=production_env(),
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_the_engine_reads_weights_from_the_sites_models_folder(settings):
    """Configured once at start-up, so a worker started from any folder finds the same weights."""
    from engine.models import registry

    assert registry.models_dir() == settings.ENGINE_MODELS_DIR.resolve()
