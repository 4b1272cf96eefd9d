import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
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


def test_check_deploy_passes_with_production_settings_behind_tls():
    env = production_env(SECRET_KEY="a-long-random-production-secret-" + "x7Kq9" * 10, BEHIND_TLS="1")
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


SHOW = ("import json, django; django.setup(); from django.conf import settings as s; print(json.dumps({"
        "'debug': s.DEBUG, 'key': s.SECRET_KEY, 'redirect': s.SECURE_SSL_REDIRECT, 'proxy': s.SECURE_PROXY_SSL_HEADER,"
        " 'session_secure': s.SESSION_COOKIE_SECURE, 'csrf_secure': s.CSRF_COOKIE_SECURE, 'hsts': s.SECURE_HSTS_SECONDS}))")


def default_settings(tmp_path, **extra) -> dict:
    """The settings a process started with nothing set sees (the secret key file in `tmp_path`)."""
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    env.update(DJANGO_SETTINGS_MODULE="restoration_site.settings", SECRET_KEY_FILE=str(tmp_path / "var" / "secret_key"),
               **extra)
    result = subprocess.run([sys.executable, "-c", SHOW], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_production_is_the_default_with_a_secret_key_made_once_and_kept(tmp_path):
    first = default_settings(tmp_path)
    assert first["debug"] is False
    key_file = tmp_path / "var" / "secret_key"
    assert key_file.read_text().strip() == first["key"] and len(first["key"]) >= 50
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert default_settings(tmp_path)["key"] == first["key"]  # the next start, or another process
    assert default_settings(tmp_path / "elsewhere")["key"] != first["key"]
    assert default_settings(tmp_path, SECRET_KEY="given-" + "k" * 50)["key"] == "given-" + "k" * 50


def test_processes_starting_together_share_one_secret_key(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "restoration_site.settings",
           "SECRET_KEY_FILE": str(tmp_path / "secret_key")}
    env.pop("SECRET_KEY", None)
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    starts = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
              for _ in range(4)]
    keys = {start.communicate()[0].strip() for start in starts}
    assert keys == {(tmp_path / "secret_key").read_text().strip()}
    assert [path.name for path in tmp_path.iterdir()] == ["secret_key"]  # no temporary file left


def test_plain_http_without_behind_tls_and_https_enforced_with_it(tmp_path):
    plain = default_settings(tmp_path)
    assert plain["redirect"] is False and plain["proxy"] is None
    assert plain["session_secure"] is False and plain["csrf_secure"] is False and plain["hsts"] == 0
    tls = default_settings(tmp_path, BEHIND_TLS="1")
    assert tls["redirect"] is True and tls["proxy"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert tls["session_secure"] is True and tls["csrf_secure"] is True and tls["hsts"] > 0


def test_debug_only_when_asked_for(tmp_path):
    assert default_settings(tmp_path, DEBUG="1")["debug"] is True


@pytest.mark.django_db
def test_a_missing_page_in_production_is_the_sites_404_without_the_url_list(client, settings):
    settings.DEBUG = False
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    text = response.content.decode()
    assert "Page not found" in text and "The other shore of history" in text
    assert "URLconf" not in text and "api/schema/" not in text and "admin/" not in text
    chinese = client.get("/no/such/page/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "页面不存在" in chinese.content.decode()


def test_a_server_error_in_production_is_the_sites_500_page(client, settings):
    from django.test import Client

    settings.DEBUG = False
    settings.ROOT_URLCONF = "tests.failing_urls"
    response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500
    text = response.content.decode()
    assert "Server error" in text and "Traceback" not in text and "SECRET_KEY" not in text


def test_the_engine_reads_weights_from_the_sites_models_folder(settings):
    """Configured once at start-up, so a worker started from any folder finds the same weights."""
    from engine.models import registry

    assert registry.models_dir() == settings.ENGINE_MODELS_DIR.resolve()
