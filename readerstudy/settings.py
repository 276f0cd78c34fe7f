"""Settings of readerstudy: one module, every deployment value read from the environment.

Production needs at least ``SECRET_KEY``, ``ALLOWED_HOSTS`` and usually ``DATABASE_URL``;
development (``DJANGO_DEBUG=1``) and the test suite run with no configuration at all on an
SQLite file under ``var/``. See docs/configuration.md for every variable.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
# Every variable this module reads (the env_* functions add to it, wherever in this module
# they are called): none of them may ever be sent to a model server as an API key
# (readerstudy/generation/keys.py).
_ENV_READ: set[str] = set()
SETTINGS_ENVIRONMENT_VARIABLES = _ENV_READ


def env_str(name: str, default: str = "") -> str:
    _ENV_READ.add(name)
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    _ENV_READ.add(name)
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}: expected a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    _ENV_READ.add(name)
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}: expected an integer, got {raw!r}") from exc


def env_list(name: str, default: str = "") -> list[str]:
    _ENV_READ.add(name)
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)
_ENV_READ.add("PYTEST_VERSION")
# The test suite (pytest sets PYTEST_VERSION) and DJANGO_DEBUG=1 are development mode:
# a secret key is generated for them, and `manage.py demo` may create the demo accounts.
DEV_MODE = DEBUG or "PYTEST_VERSION" in os.environ
VAR_DIR = Path(env_str("READERSTUDY_VAR_DIR", str(BASE_DIR / "var")))


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key:
        return key
    if not DEV_MODE:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set in the environment when DJANGO_DEBUG is off "
            '(generate one with: python -c "import secrets; print(secrets.token_urlsafe(50))")'
        )
    path = VAR_DIR / "dev-secret-key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEV_MODE else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # The parts, in the order imports may go (docs/architecture.md). ``readerstudy`` itself is
    # the project (settings, urls, wsgi/asgi, celery, middleware), not an app.
    "readerstudy.core",
    "readerstudy.audit",
    "readerstudy.studies",  # label "readerstudy"
    "readerstudy.reading",
    "readerstudy.generation",
    "evaluation",
    "readerstudy.bundles",
    "analysis",
    "fixtures",
]

# The models of label ``readerstudy`` live in several parts (studies, reading, generation, audit,
# core) but keep one app label, so tables, content types, permissions and the rows of
# django_migrations stay as they were. Their migrations are frozen history and stay where they
# always were, in the project package (docs/architecture.md, docs/upgrading.md).
MIGRATION_MODULES = {"readerstudy": "readerstudy.migrations"}

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before WhiteNoise, so that static files get the Content-Security-Policy too.
    "readerstudy.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "readerstudy.audit.context.AuditRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "readerstudy.urls"
WSGI_APPLICATION = "readerstudy.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: DATABASE_URL (postgres://user@host:port/name via psycopg 3), default SQLite.
# With persistent connections (DATABASE_CONN_MAX_AGE > 0) a database restart leaves every idle
# worker thread holding a dead connection; the health check replaces it before the request
# uses it, instead of failing that request with a 500 (tests/faults/test_database_restart.py).
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'readerstudy.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
        conn_health_checks=env_bool("DATABASE_CONN_HEALTH_CHECKS", True),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        "transaction_mode": "IMMEDIATE",
        # Seconds a writer waits for another one's transaction (e.g. an import) before
        # "database is locked"; see docs/bundle.md ("Imports on SQLite").
        "timeout": env_int("READERSTUDY_SQLITE_BUSY_TIMEOUT", 20),
    }
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-readerstudy.sqlite3")}
    if not Path(DATABASES["default"]["NAME"]).parent.exists():
        Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Invitation emails (members page). The console backend prints them (demo and development);
# set EMAIL_BACKEND (and Django's EMAIL_HOST...) for a real mail server.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "readerstudy@localhost")
#: Days an invitation link stays valid.
INVITATION_DAYS = env_int("INVITATION_DAYS", 14)

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# Static files are served by the app itself (WhiteNoise): nothing comes from a CDN.
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    # plotly.min.js of the installed plotly package, as analysis/vendor/plotly.min.js
    "analysis.staticfiles.PlotlyJsFinder",
]
if DEV_MODE:
    # Serve straight from the app folders during development and tests (no collectstatic).
    WHITENOISE_USE_FINDERS = True
    WHITENOISE_AUTOREFRESH = True
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
    },
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEV_MODE
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        ),
    },
}
# Case images and other uploads. They are never served from a public URL: views check access.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media-not-public/"
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = env_int("FILE_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024 * 1024)
# Largest bulk import through the API (readings or Likert scores; JSON body or uploaded CSV):
# 413 above it.
API_IMPORT_MAX_BYTES = env_int("API_IMPORT_MAX_BYTES", 20 * 1024 * 1024)
# Resource limits of a study bundle (import_study; readerstudy/bundles/limits.py, docs/bundle.md).
# Sizes are uncompressed (what a .zip declares for its members, or the files of a folder); a
# bundle over a limit is refused before its tables or images are read. The defaults admit
# bench/bench_import.py (100,000 cases, 1,000,000 readings).
BUNDLE_MAX_BYTES = env_int("READERSTUDY_BUNDLE_MAX_BYTES", 8 * 1024**3)
BUNDLE_MAX_FILES = env_int("READERSTUDY_BUNDLE_MAX_FILES", 200_000)
BUNDLE_MAX_TABLE_BYTES = env_int("READERSTUDY_BUNDLE_MAX_TABLE_BYTES", 256 * 1024**2)
BUNDLE_MAX_ROWS = env_int("READERSTUDY_BUNDLE_MAX_ROWS", 2_000_000)
BUNDLE_MAX_COLUMNS = env_int("READERSTUDY_BUNDLE_MAX_COLUMNS", 100)
IMAGE_MAX_BYTES = env_int("READERSTUDY_IMAGE_MAX_BYTES", 256 * 1024**2)
IMAGE_MAX_PIXELS = env_int("READERSTUDY_IMAGE_MAX_PIXELS", 50_000_000)
DICOM_MAX_FRAMES = env_int("READERSTUDY_DICOM_MAX_FRAMES", 1000)
# Key of the HMAC that derives de-identified DICOM UIDs and patient pseudonyms
# (readerstudy.core.dicom); SECRET_KEY when unset. Changing it changes the UIDs of later imports.
DICOM_UID_KEY = env_str("READERSTUDY_DICOM_UID_KEY") or SECRET_KEY

# Security. Production defaults are strict; each can be relaxed explicitly (e.g. behind a
# TLS-terminating proxy on a hospital network, set SECURE_SSL_REDIRECT=0).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEV_MODE)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEV_MODE)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEV_MODE)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEV_MODE else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEV_MODE)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEV_MODE)
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = env_bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", True)

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so that a missing or bad token is a 401 with WWW-Authenticate.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "readerstudy.core.api.pagination.StandardPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "readerstudy.core.api.exceptions.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "readerstudy API",
    "DESCRIPTION": "Blinded reader studies, Likert rating and analysis.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No online validator badge: it would load an image from validator.swagger.io (offline,
    # and outside the Content-Security-Policy). Read by static/readerstudy/api_docs.js.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "REDOC_DIST": "SIDECAR",
    # Choice sets that share a field name get stable schema names.
    "ENUM_NAME_OVERRIDES": {
        "CaseSplitEnum": "readerstudy.studies.models.Case.Split",
        "GenerationRunSplitEnum": "readerstudy.generation.models.GenerationRun.Split",
        "SessionStatusEnum": "readerstudy.core.sessions.SessionStatus",
        "GenerationRunStatusEnum": "readerstudy.generation.models.GenerationRun.Status",
        "AssignmentStatusEnum": [("open", "Open"), ("closed", "Closed")],
        "SessionOrderEnum": "readerstudy.core.sessions.SessionOrder",
    },
}

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Sign-in throttling (readerstudy/core/throttle.py): after LIMIT failures of one username (LIMIT_IP
# of one client address) within the window, each further attempt waits BASE seconds, doubling
# with each failure up to MAX (a slow-down, never a lock); the window counts from the last one.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_FAILURE_LIMIT_IP = env_int("LOGIN_FAILURE_LIMIT_IP", 20)
LOGIN_FAILURE_WINDOW = env_int("LOGIN_FAILURE_WINDOW", 15 * 60)
LOGIN_BACKOFF_BASE = env_int("LOGIN_BACKOFF_BASE", 1)
LOGIN_BACKOFF_MAX = env_int("LOGIN_BACKOFF_MAX", 5 * 60)
for _name in ("LOGIN_FAILURE_LIMIT", "LOGIN_FAILURE_LIMIT_IP", "LOGIN_BACKOFF_BASE"):
    if globals()[_name] < 1:
        raise ImproperlyConfigured(f"{_name}: expected at least 1, got {globals()[_name]}")
if LOGIN_FAILURE_WINDOW < 0 or LOGIN_BACKOFF_MAX < LOGIN_BACKOFF_BASE:
    raise ImproperlyConfigured(
        "LOGIN_FAILURE_WINDOW must be 0 or more and LOGIN_BACKOFF_MAX at least LOGIN_BACKOFF_BASE"
    )


def _trusted_proxies(entries: list[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"TRUSTED_PROXIES: {entry!r} is not an IP address or network (e.g. 10.0.0.2, "
                "10.0.0.0/24, ::1)"
            ) from exc
    return networks


# The reverse proxies (addresses or networks) whose X-Forwarded-For names the client
# (readerstudy/audit/context.py, client_ip). Empty: the peer address (REMOTE_ADDR) is the client.
TRUSTED_PROXIES = _trusted_proxies(env_list("TRUSTED_PROXIES"))

# Content-Security-Policy and Permissions-Policy (readerstudy/middleware.py). Everything is
# served by the app itself, so 'self' is enough; images may also be data:/blob: URLs.
CONTENT_SECURITY_POLICY = env_str(
    "CONTENT_SECURITY_POLICY",
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; "
    "form-action 'self'",
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
# Background work: model generation runs started from the page (docs/generation.md).
# With CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0) they go to a Celery worker
# (`celery -A readerstudy worker`); without one the same task code runs in-process.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "readerstudy")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Load the Celery app with the settings, so that every Django process (web, manage.py, tests)
# has it before a shared task is sent. Not in readerstudy/__init__.py: importing the package
# must not load Django (the pure statistics import readerstudy.core.choices).
import readerstudy.celery  # noqa: E402, F401

# The cache (the dashboard's results): CACHE_URL (e.g. redis://127.0.0.1:6379/1) shares it
# between web processes and the Celery worker; without it, files in READERSTUDY_CACHE_DIR
# (default var/cache) share it between the processes of one machine (the web server's workers,
# `manage.py demo` and `import_study`, which precompute the dashboard); the test suite keeps a
# per-process memory cache (each test database is new).
CACHE_URL = env_str("CACHE_URL")
CACHE_DIR = Path(env_str("READERSTUDY_CACHE_DIR", str(VAR_DIR / "cache")))
CACHES: dict[str, dict[str, Any]] = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
        if CACHE_URL
        else (
            {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "rs"}
            if "PYTEST_VERSION" in os.environ
            else {
                "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                "LOCATION": str(CACHE_DIR),
                "OPTIONS": {"MAX_ENTRIES": 1000},
            }
        )
    )
}
# The dashboard's background precomputation after a change (analysis/precompute.py): off,
# inline, thread (a thread of the web process) or celery (needs CACHE_URL); off in the tests.
ANALYSIS_PRECOMPUTE_MODES = ("off", "inline", "thread", "celery")
ANALYSIS_PRECOMPUTE = env_str(
    "READERSTUDY_ANALYSIS_PRECOMPUTE",
    "off"
    if "PYTEST_VERSION" in os.environ
    else ("celery" if CELERY_BROKER_URL and CACHE_URL else "thread"),
)
if ANALYSIS_PRECOMPUTE not in ANALYSIS_PRECOMPUTE_MODES:
    raise ImproperlyConfigured(
        f"READERSTUDY_ANALYSIS_PRECOMPUTE: expected one of {', '.join(ANALYSIS_PRECOMPUTE_MODES)}, "
        f"got {ANALYSIS_PRECOMPUTE!r}"
    )
# Seconds between the first change and the precompute (later changes are coalesced into it).
ANALYSIS_PRECOMPUTE_DELAY = env_int("READERSTUDY_ANALYSIS_PRECOMPUTE_DELAY_MS", 2000) / 1000

# celery: send to the worker; thread: a background thread of the web process (no broker);
# inline: before the request returns (tests).
GENERATION_DISPATCH = env_str(
    "READERSTUDY_GENERATION_DISPATCH", "celery" if CELERY_BROKER_URL else "thread"
)
if GENERATION_DISPATCH not in {"celery", "thread", "inline"}:
    raise ImproperlyConfigured(
        "READERSTUDY_GENERATION_DISPATCH: expected celery, thread or inline, "
        f"got {GENERATION_DISPATCH!r}"
    )
GENERATION_RETRY_BASE_SECONDS = env_int("READERSTUDY_GENERATION_RETRY_BASE_MS", 1000) / 1000
GENERATION_RETRY_CAP_SECONDS = 60.0
GENERATION_STALE_SECONDS = env_int("READERSTUDY_GENERATION_STALE_SECONDS", 120)
GENERATION_BATCH_POLL_SECONDS = env_int("READERSTUDY_GENERATION_BATCH_POLL_SECONDS", 60)
# The HTTP client of the openai package logs every request at INFO; keep it to warnings.
LOGGING["loggers"].update({"httpx2": {"level": "WARNING"}, "openai": {"level": "WARNING"}})

# Where generation may send requests and which API keys it may send (docs/configuration.md).
# Keys: the names listed in GENERATION_API_KEYS and every name starting with
# GENERATION_API_KEY_PREFIX; never a variable of these settings (SECRET_KEY, DATABASE_URL, ...).
GENERATION_API_KEYS = env_list("GENERATION_API_KEYS")
GENERATION_API_KEY_PREFIX = env_str("GENERATION_API_KEY_PREFIX", "READERSTUDY_KEY_")
# Servers: the public OpenAI and Azure OpenAI endpoints (GENERATION_PUBLIC_ENDPOINTS) plus the
# base URLs listed here, e.g. http://gpu01:8000/v1 for a local vLLM. Development and the test
# suite allow the demo's local server (python -m tests.openai_server --port 8011).
GENERATION_PUBLIC_ENDPOINTS = env_bool("GENERATION_PUBLIC_ENDPOINTS", True)
GENERATION_ALLOWED_BASE_URLS = env_list(
    "GENERATION_ALLOWED_BASE_URLS", "http://127.0.0.1:8011" if DEV_MODE else ""
)
# Link-local addresses (169.254.0.0/16, fe80::/10: cloud metadata services live there).
GENERATION_ALLOW_LINK_LOCAL = env_bool("GENERATION_ALLOW_LINK_LOCAL", False)
