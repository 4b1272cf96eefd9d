"""Settings for one machine by default; every deployment choice comes from an environment variable.

See the README's "Settings" table for each variable.
"""
from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from restoration_site.secret_key import secret_key_from_file
from restoration_site.storage_url import media_origin, media_storage_from_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in ("1", "true", "yes", "on")


def env_list(name: str, default: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


# --- Production by default: DEBUG, SECRET_KEY and TLS (see also the end of this file) ---
# Debug pages only when asked for with DEBUG=1: they show settings and the URL list.
DEBUG = env_bool("DEBUG", False)
# Without SECRET_KEY, a random key made at the first start and kept in SECRET_KEY_FILE, so that every
# process of the site (web, workers, beat) and every later start use the same one.
SECRET_KEY_FILE = Path(os.environ.get("SECRET_KEY_FILE", BASE_DIR / "var" / "secret_key"))
SECRET_KEY = os.environ.get("SECRET_KEY", "") or secret_key_from_file(SECRET_KEY_FILE)
# BEHIND_TLS=1: the site is reached over HTTPS (a proxy passing X-Forwarded-Proto): plain HTTP is
# redirected, cookies are secure and HSTS is sent. Without it plain HTTP works (loopback, tests).
BEHIND_TLS = env_bool("BEHIND_TLS", False)
# --- end of the production block ---
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "gallery",
    "jobs",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "restoration_site.errors.NotFoundMiddleware",
]

ROOT_URLCONF = "restoration_site.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
WSGI_APPLICATION = None
ASGI_APPLICATION = "restoration_site.asgi.application"

DATABASES = {"default": dj_database_url.parse(
    os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}"), conn_max_age=0
)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the worker write the same file: WAL lets readers go on during a write,
    # and IMMEDIATE transactions wait for the lock instead of failing on upgrade.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# One date format per language (restoration_site/formats/<lang>/formats.py): "4 Dec 2026", "2026年12月4日".
FORMAT_MODULE_PATH = ["restoration_site.formats"]
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "var" / "static"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "var" / "media"))
# Media go to an S3-compatible bucket when MEDIA_STORAGE_URL names one (see restoration_site.storage_url),
# and a file's URL there is presigned for MEDIA_URL_EXPIRE_SECONDS.
MEDIA_URL_EXPIRE_SECONDS = int(os.environ.get("MEDIA_URL_EXPIRE_SECONDS", 300))
# This machine's own working space: uploads being checked, a worker's job folders, cached copies of
# stored files. Never shared between machines; everything kept lives in the media store.
SCRATCH_DIR = Path(os.environ.get("SCRATCH_DIR", BASE_DIR / "var" / "scratch"))
# Copies of stored files kept in SCRATCH_DIR/cache (with object storage) for reading them again.
SCRATCH_CACHE_MAX_BYTES = int(os.environ.get("SCRATCH_CACHE_MAX_BYTES", 2 * 1024**3))
STORAGES = {
    "default": media_storage_from_url(os.environ.get("MEDIA_STORAGE_URL", ""),
                                      url_expire_seconds=MEDIA_URL_EXPIRE_SECONDS),
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": "restoration"},
    }
}

# Celery: the DB row is the truth about a job, so results are not stored in Redis. A job's
# message is acknowledged only when it finishes, so a worker killed mid-job hands it back.
CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "cpu"
CELERY_TASK_SOFT_TIME_LIMIT = int(os.environ.get("JOB_SOFT_TIME_LIMIT", 6 * 3600))
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 120
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT + 600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis restarting must stop neither a worker nor the job it runs: the worker retries the broker for
# as long as it takes, and a running job goes on (its late ack may be lost with the connection; the
# message then comes back later and finds the job finished: jobs.services.job_run skips it).
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)

# A running job whose heartbeat is older than this is taken to have lost its worker, and may be
# claimed again to resume from its last finished chunk.
JOB_STALE_SECONDS = int(os.environ.get("JOB_STALE_SECONDS", 120))
JOB_CHUNK_FRAMES = int(os.environ.get("JOB_CHUNK_FRAMES", 120))
JOB_MAX_ATTEMPTS = int(os.environ.get("JOB_MAX_ATTEMPTS", 3))
JOB_MAX_ACTIVE_PER_USER = int(os.environ.get("JOB_MAX_ACTIVE_PER_USER", 3))
# GPU seconds a user's jobs may use per day (staff: no limit); the day starts at midnight in TIME_ZONE.
JOB_GPU_SECONDS_PER_DAY = int(os.environ.get("JOB_GPU_SECONDS_PER_DAY", 1800))
# Workers write a heartbeat row this often; one silent for JOB_WORKER_STALE_SECONDS counts as offline.
JOB_WORKER_HEARTBEAT_SECONDS = int(os.environ.get("JOB_WORKER_HEARTBEAT_SECONDS", 30))
JOB_WORKER_STALE_SECONDS = int(os.environ.get("JOB_WORKER_STALE_SECONDS", 90))
# The ETA's guess before any job with the same stages has been measured: megapixels per second
# for one stage, deliberately low so a first estimate errs on the long side.
JOB_ETA_DEFAULT_MPX_PER_SECOND = float(os.environ.get("JOB_ETA_DEFAULT_MPX_PER_SECOND", 0.5))
# The periodic repairs go to a queue of their own, `maintenance`, which a small worker of its own
# consumes (scripts/run.py starts one; see the README's "Scaling out"): the reaper then runs while
# every job worker is busy with a long job, or down, which is when it is needed.
MAINTENANCE_QUEUE = "maintenance"
CELERY_TASK_ROUTES = {name: {"queue": MAINTENANCE_QUEUE} for name in (
    "jobs.reap_stale_jobs", "gallery.make_missing_posters", "jobs.sweep_job_assets")}
JOB_REAP_INTERVAL = float(os.environ.get("JOB_REAP_INTERVAL", 60))
CELERY_BEAT_SCHEDULE = {
    # A round not run within its interval is dropped (the next one does the same work), so rounds
    # do not pile up while the maintenance worker is away.
    "reap-stale-jobs": {"task": "jobs.reap_stale_jobs", "schedule": JOB_REAP_INTERVAL,
                        "options": {"expires": JOB_REAP_INTERVAL}},
    # Posters whose task never ran (broker down at upload) or failed are made later.
    "make-missing-posters": {"task": "gallery.make_missing_posters", "schedule": 300.0},
    # Reference photos and scribbles that no job or version uses any more.
    "sweep-job-assets": {"task": "jobs.sweep_job_assets", "schedule": 3600.0},
}

HOMEWORK_DAILY_CAP = int(os.environ.get("HOMEWORK_DAILY_CAP", 5))

ENGINE_MODELS_DIR = Path(os.environ.get("ENGINE_MODELS_DIR", BASE_DIR / "var" / "models"))

# Upload caps (see README). Files above FILE_UPLOAD_MAX_MEMORY_SIZE go to a temporary file.
UPLOAD_MAX_BYTES = int(os.environ.get("UPLOAD_MAX_BYTES", 200 * 1024 * 1024))
UPLOAD_MAX_PIXELS = int(os.environ.get("UPLOAD_MAX_PIXELS", 40_000_000))
UPLOAD_MAX_VIDEO_PIXELS = int(os.environ.get("UPLOAD_MAX_VIDEO_PIXELS", 1920 * 1088))
UPLOAD_MAX_SECONDS = float(os.environ.get("UPLOAD_MAX_SECONDS", 120))
# Pictures given with a launch (reference photos, scribbles, color references): far smaller than a film.
UPLOAD_MAX_PICTURE_BYTES = int(os.environ.get("UPLOAD_MAX_PICTURE_BYTES", 20 * 1024 * 1024))
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_PERMISSIONS = 0o640

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "gallery.api.responses.ApiSchema",  # every error status an operation answers
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "restoration_site.errors.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "job_launch": os.environ.get("JOB_LAUNCH_RATE", "30/hour"),
        "comment": os.environ.get("COMMENT_RATE", "60/hour"),
        "homework": os.environ.get("HOMEWORK_RATE", "20/hour"),
        "report": os.environ.get("REPORT_RATE", "20/hour"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "History restoration API",
    "DESCRIPTION": "Browse historical items and run restoration jobs.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI's files come from the sidecar package, so the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Abuse limits: login lockout, sign-ups per address, one cache for the counts ----------------
# See the README's "Limits" settings. The client's address is REMOTE_ADDR, or, with
# TRUSTED_PROXY_COUNT reverse proxies in front that each append to X-Forwarded-For, the address the
# outermost of them saw (restoration_site.ratelimit.client_address; never a header the client wrote).
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", 0))
REST_FRAMEWORK["NUM_PROXIES"] = TRUSTED_PROXY_COUNT
# Throttle counts (API and HTML writes, sign-ups) and cached page fragments live in the default
# cache. One process (make run) may keep it in memory; several web processes must share one, so
# set CACHE_URL to a Redis (e.g. redis://127.0.0.1:6379/1), or each process counts on its own.
CACHE_URL = os.environ.get("CACHE_URL", "")
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
          if CACHE_URL else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Failed logins (site and admin) are counted by django-axes per username and client address
# together: LOGIN_FAILURE_LIMIT failures lock that pair out for LOGIN_COOLOFF_MINUTES (each try
# during the wait starts it again); a successful login resets the count. The account stays open
# from other addresses, so a stranger cannot lock its owner out.
from datetime import timedelta  # noqa: E402

INSTALLED_APPS += ["axes"]
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]  # last, as django-axes asks
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", 5))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("LOGIN_COOLOFF_MINUTES", 15)))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "restoration_site.ratelimit.client_address"
AXES_LOCKOUT_CALLABLE = "restoration_site.accounts.lockout_response"
AXES_USERNAME_CALLABLE = "restoration_site.accounts.login_attempt_username"
AXES_VERBOSE = False
AXES_DISABLE_ACCESS_LOG = True  # failures are kept (AccessAttempt), not a record of every successful login
# New accounts per client address (DRF's rate format: "5/hour", "20/day").
SIGNUP_RATE = os.environ.get("SIGNUP_RATE", "5/hour")
# --- end of abuse limits ---------------------------------------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if BEHIND_TLS:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Load balancers' health checks come over plain HTTP from inside.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 31536000))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- Content-Security-Policy and Permissions-Policy (django-csp, django-permissions-policy) ---
# No inline script, style or handler anywhere on the site: scripts and styles come from static files,
# page data from json_script blocks or data- attributes. Pictures and videos may also come from the
# media store (presigned S3 URLs name its endpoint); 'self' covers the site's own ws:/wss: (the job
# page's websocket). The API docs (Swagger UI) load their start-up script from a URL of their own
# (SpectacularSwaggerSplitView), so they need no exception.
MEDIA_STORE_ORIGINS = [origin for origin in [media_origin(STORAGES["default"])] if origin]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:", *MEDIA_STORE_ORIGINS],
        "media-src": ["'self'", "blob:", *MEDIA_STORE_ORIGINS],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# Browser features no page of the site uses are off for it and for anything it might embed.
PERMISSIONS_POLICY = {
    "accelerometer": [], "ambient-light-sensor": [], "bluetooth": [], "browsing-topics": [], "camera": [],
    "display-capture": [], "geolocation": [], "gyroscope": [], "hid": [], "idle-detection": [],
    "magnetometer": [], "microphone": [], "midi": [], "payment": [], "serial": [], "usb": [],
    "fullscreen": ["self"],
}
# --- end of the CSP and Permissions-Policy block ---

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
