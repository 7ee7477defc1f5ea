"""Restore Desk settings.

This is the only module that reads the environment. Every knob is listed in `.env.example` and README.md.
Values are read once, at import; a `.env` file beside manage.py is read when present (OS variables win).
"""
from __future__ import annotations

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    env.read_env(BASE_DIR / ".env")

# GENERAL
# ------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_TZ = True
USE_I18N = False
LANGUAGE_CODE = "en-us"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "sessions_app",
]

MIDDLEWARE = [
    "sessions_app.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "sessions_app.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "sessions_app.middleware.UserTimeZoneMiddleware",
]

# One backend: each failed sign-in costs one password hash, and the session user comes with its profile.
AUTHENTICATION_BACKENDS = ["sessions_app.auth_backends.PortalModelBackend"]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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
                "sessions_app.context_processors.portal",
            ],
        },
    },
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "sessions_app:dashboard"
LOGOUT_REDIRECT_URL = "login"

# DATABASES
# ------------------------------------------------------------------------------
# Views make upstream calls, so no ATOMIC_REQUESTS: services open short transactions themselves.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)


def sqlite_for_concurrency(database: dict) -> dict:  # type: ignore[type-arg]
    """SQLite with several writers (threads, the demo): take the write lock up front, wait instead of failing."""
    if database["ENGINE"].endswith("sqlite3"):
        database.setdefault("OPTIONS", {}).update(
            {"transaction_mode": "IMMEDIATE", "timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"})
    return database


sqlite_for_concurrency(DATABASES["default"])

# CACHES
# ------------------------------------------------------------------------------
# Shared by every worker: upstream tokens, locks and idempotency markers live here.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

# SECURITY
# ------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("DJANGO_BEHIND_PROXY", default=False) else None

# STATIC FILES
# ------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
                    if not DEBUG else "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# UPSTREAM (VB365 REST API)
# ------------------------------------------------------------------------------
# Checked at start-up by sessions_app.apps (sessions_app.upstream.config names every missing key).
VB365_URL = env("VB365_URL", default="")
VB365_API_VERSION = env.int("VB365_API_VERSION", default=8)
VB365_USERNAME = env("VB365_USERNAME", default="")
VB365_PASSWORD = env("VB365_PASSWORD", default="")
# "true", "false", or the path of a CA bundle that signs the server's certificate.
VB365_VERIFY_TLS = env("VB365_VERIFY_TLS", default="true")
VB365_CONNECT_TIMEOUT = env.float("VB365_CONNECT_TIMEOUT", default=5.0)
VB365_READ_TIMEOUT = env.float("VB365_READ_TIMEOUT", default=30.0)
VB365_MAX_RETRIES = env.int("VB365_MAX_RETRIES", default=2)

# DJANGO REST FRAMEWORK
# ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "sessions_app.api.authentication.PortalTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "sessions_app.api.exception_handlers.portal_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Restore Desk API",
    "DESCRIPTION": "Start, follow and stop Veeam Backup for Microsoft 365 restore sessions.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"WorkloadEnum": "sessions_app.models.Workload"},
}

# LOGGING
# ------------------------------------------------------------------------------
LOG_LEVEL = env("DJANGO_LOG_LEVEL", default="INFO")
# "plain" for people, "json" for log shippers. Neither ever carries a credential or a token.
LOG_FORMAT = env("DJANGO_LOG_FORMAT", default="plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "sessions_app.middleware.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "portal.logging.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "sessions_app": {"level": LOG_LEVEL},
        "sessions_app.upstream": {"level": "DEBUG" if DEBUG else LOG_LEVEL},
    },
}

# THROTTLING
# ------------------------------------------------------------------------------
# Failed sign-ins allowed per user name and per client address in the window, before sign-in is refused.
SIGN_IN_FAILURES_PER_USER = env.int("SIGN_IN_FAILURES_PER_USER", default=5)
SIGN_IN_FAILURES_PER_ADDRESS = env.int("SIGN_IN_FAILURES_PER_ADDRESS", default=20)
SIGN_IN_THROTTLE_SECONDS = env.int("SIGN_IN_THROTTLE_SECONDS", default=900)
