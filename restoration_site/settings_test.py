"""Test settings: the real settings with fast password hashing and a private media folder.

Unit tests use the in-memory channel layer; the integration tests start real processes with
the real settings (see tests/integration).
"""
import os
import tempfile
from pathlib import Path

from restoration_site.settings import *  # noqa: F401,F403
from restoration_site.settings import BASE_DIR, DATABASES

# MD5 is fast for unit tests; PBKDF2 stays known so that the integration tests' real processes
# (which use the real settings) can check passwords made here.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", "django.contrib.auth.hashers.PBKDF2PasswordHasher"]
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="restoration-test-media-"))
SCRATCH_DIR = Path(tempfile.mkdtemp(prefix="restoration-test-scratch-"))
STATIC_ROOT = Path(tempfile.mkdtemp(prefix="restoration-test-static-"))
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so that the integration tests' worker and web processes share it.
    (BASE_DIR / "var").mkdir(exist_ok=True)
    # One file per test run, so that two runs on one machine do not share it.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / f"test-db-{os.getpid()}.sqlite3")}
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {  # noqa: F405
    scope: "1000/hour" for scope in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]}}  # noqa: F405
SIGNUP_RATE = "1000/hour"  # tests that count sign-ups set their own rate
