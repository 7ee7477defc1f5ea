"""Restore Desk settings.

This is the only module that reads the environment. Every knob is listed in `.env.example` and README.md.
Values are read once, at import; a `.env` file beside manage.py is read when present (OS variables win).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import environ

from restores.storage_settings import S3Location, restore_storage_entry

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    env.read_env(BASE_DIR / ".env")

# GENERAL
# ------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY")
# Earlier secret keys, comma-separated, still accepted while a new DJANGO_SECRET_KEY takes over: signed sessions,
# and the VB365 tokens sealed in the cache (a token sealed with a key not listed here is a miss: a new grant).
SECRET_KEY_FALLBACKS = env.list("DJANGO_SECRET_KEY_FALLBACKS", default=[])
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
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "sessions_app",
    "django_tasks",
    "django_tasks_db",
    "background",
    "restores",
]

MIDDLEWARE = [
    "sessions_app.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "sessions_app.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise, so that static files keep their caching: everything else is never stored by caches.
    "sessions_app.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Before any view or service can store a query parameter or form field: NUL is refused with 400.
    "sessions_app.middleware.NullCharacterMiddleware",
    "sessions_app.middleware.TenantSignInMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "sessions_app.middleware.UserTimeZoneMiddleware",
    # The cache (Redis) unreachable: a 503 that says so (pages and API), not a 500.
    "sessions_app.middleware.CacheOutageMiddleware",
    # Marks the restore session a request is about as active (at most one write a minute): idle sessions stop.
    "sessions_app.middleware.SessionActivityMiddleware",
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
# A kept connection is checked before its first use in each request or worker loop: after a database restart
# the process reconnects instead of failing (a worker would otherwise exit on the dropped connection).
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DJANGO_CONN_HEALTH_CHECKS", default=True)


def sqlite_for_concurrency(database: dict[str, Any]) -> dict[str, Any]:
    """SQLite with several writers (threads, the demo): take the write lock up front, wait instead of failing."""
    if database["ENGINE"].endswith("sqlite3"):
        database.setdefault("OPTIONS", {}).update(
            {"transaction_mode": "IMMEDIATE", "timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"})
    return database


sqlite_for_concurrency(DATABASES["default"])
# PostgreSQL: the role the portal runs as, when migrations run as another (owner) role. After `migrate`, it
# is granted SELECT and INSERT on the audit trail and SELECT, INSERT, UPDATE, DELETE on the other tables.
DATABASE_RUNTIME_ROLE = env("DATABASE_RUNTIME_ROLE", default="")

# AUDIT TRAIL
# ------------------------------------------------------------------------------
# The HMAC key that signs each link of the chain. Never stored in the database; required in production and
# different from DJANGO_SECRET_KEY. Earlier keys (comma-separated) only verify the segments they signed.
AUDIT_CHAIN_KEY = env("AUDIT_CHAIN_KEY", default="")
AUDIT_CHAIN_OLD_KEYS = env.list("AUDIT_CHAIN_OLD_KEYS", default=[])
# Checkpoints of the chain head, outside the database: a JSON-lines file (appended to, created on demand),
# and syslog too when an address is set ("/dev/log", or "host:port" for UDP).
AUDIT_CHECKPOINT_PATH = Path(env("AUDIT_CHECKPOINT_PATH", default="") or BASE_DIR / "var" / "audit-checkpoints.jsonl")
AUDIT_CHECKPOINT_SYSLOG = env("AUDIT_CHECKPOINT_SYSLOG", default="")
AUDIT_CHECKPOINT_EVERY = env.int("AUDIT_CHECKPOINT_EVERY", default=100)

# CACHES
# ------------------------------------------------------------------------------
def redis_clients_shared(cache: dict[str, Any]) -> dict[str, Any]:
    """Django's Redis cache builds a client per call; portal.cache.RedisCache shares one per connection pool."""
    if cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
        cache["BACKEND"] = "portal.cache.RedisCache"
    return cache


# Shared by every worker: upstream tokens, locks and idempotency markers live here.
CACHES = {"default": redis_clients_shared(env.cache("CACHE_URL", default="locmemcache://"))}
# Pages of a session's backup contents (never changing while it lives) are kept this long at most; stopping
# the session drops them sooner.
BROWSE_CACHE_SECONDS = env.int("BROWSE_CACHE_SECONDS", default=8 * 3600)

# SECURITY
# ------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
# A browser session lasts a working day, not Django's two weeks. A tenant's ends sooner, with its VB365 sign-in.
SESSION_COOKIE_AGE = int(env.float("DJANGO_SESSION_HOURS", default=8) * 3600)
# API tokens of staff and operators live this long (a new one is one POST /api/auth/token/ away). Tenant
# tokens end with their VB365 sign-in, and never outlive this either.
API_TOKEN_HOURS = env.int("API_TOKEN_HOURS", default=720)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
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
# The proxies (addresses or networks) in front of the portal. Only they are believed about the client's address
# (X-Forwarded-For, see sessions_app/http.py) and, with DJANGO_BEHIND_PROXY, about HTTPS (X-Forwarded-Proto).
# Naming proxies implies being behind one, unless DJANGO_BEHIND_PROXY says otherwise.
TRUSTED_PROXIES = env.list("DJANGO_TRUSTED_PROXIES", default=[])
BEHIND_PROXY = env.bool("DJANGO_BEHIND_PROXY", default=bool(TRUSTED_PROXIES))
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None

# STATIC FILES
# ------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT: Path | None = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
                    if not DEBUG else "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# RESTORE DOWNLOADS (saves and exports; restores/storage.py)
# ------------------------------------------------------------------------------
# STORAGES["restores"]: the file system under RESTORE_FILES_ROOT, or S3-compatible storage once a bucket is named
# (RESTORE_STORAGE_URL = s3://[KEY:SECRET@]BUCKET[/PREFIX][?endpoint_url=…&region=…], or the RESTORE_S3_* settings,
# which win over the URL). Workers on several machines need S3.
RESTORE_FILES_ROOT = Path(env("RESTORE_FILES_ROOT", default="") or BASE_DIR / "var" / "restores")
STORAGES["restores"] = restore_storage_entry(
    files_root=RESTORE_FILES_ROOT,
    url=env("RESTORE_STORAGE_URL", default=""),
    s3=S3Location(bucket=env("RESTORE_S3_BUCKET", default=""), prefix=env("RESTORE_S3_PREFIX", default=""),
                  endpoint_url=env("RESTORE_S3_ENDPOINT_URL", default=""),
                  access_key=env("RESTORE_S3_ACCESS_KEY_ID", default=""),
                  secret_key=env("RESTORE_S3_SECRET_ACCESS_KEY", default=""),
                  region=env("RESTORE_S3_REGION", default="")),
)
# A saved or exported file can be downloaded this long after it was made; the scheduled purge then deletes it.
EXPORT_RETENTION_HOURS = env.int("EXPORT_RETENTION_HOURS", default=24)

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
    "filters": {"request_id": {"()": "sessions_app.middleware.RequestIdLogFilter"},
                "refusal_without_traceback": {"()": "portal.logging.RefusalWithoutTracebackFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(client_address)s] %(message)s"},
        "json": {"()": "portal.logging.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        # Django's own handlers are dropped (its debug-only console printed every warning a second time):
        # its records reach the root handler alone, once. A 4xx is one line, without a traceback.
        "django": {"handlers": [], "level": "WARNING"},
        "django.request": {"filters": ["refusal_without_traceback"]},
        # The development server's line per request, only with DEBUG (then 4xx are WARNING, 5xx ERROR).
        "django.server": {"handlers": ["console"], "level": "INFO" if DEBUG else "CRITICAL", "propagate": False},
        "sessions_app": {"level": LOG_LEVEL},
        "sessions_app.upstream": {"level": "DEBUG" if DEBUG else LOG_LEVEL},
        "background": {"level": LOG_LEVEL},
        "restores": {"level": LOG_LEVEL},
    },
}

# THROTTLING
# ------------------------------------------------------------------------------
# Failed sign-ins allowed per user name and per client address in the window, before sign-in is refused.
SIGN_IN_FAILURES_PER_USER = env.int("SIGN_IN_FAILURES_PER_USER", default=5)
SIGN_IN_FAILURES_PER_ADDRESS = env.int("SIGN_IN_FAILURES_PER_ADDRESS", default=20)
SIGN_IN_THROTTLE_SECONDS = env.int("SIGN_IN_THROTTLE_SECONDS", default=900)
# Refused requests (403, 404 for what the user may not see): repeats of one refusal (same person or address,
# operation and target) within the window are counted, not each audited; one summary event carries the count.
AUDIT_REFUSAL_WINDOW_SECONDS = env.int("AUDIT_REFUSAL_WINDOW_SECONDS", default=600)
# Distinct targets one person's refusals of one operation may name per window; beyond, they count under "*".
AUDIT_REFUSAL_TARGETS_PER_WINDOW = env.int("AUDIT_REFUSAL_TARGETS_PER_WINDOW", default=20)

# BACKGROUND WORK (background/: django-tasks on its database backend, `manage.py worker`)
# ------------------------------------------------------------------------------
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# A worker writes its heartbeat this often; one silent for WORKER_STALE_SECONDS is dead: /healthz fails (when
# no worker is alive) and the task it was running is handed to another worker (or ends as interrupted).
WORKER_HEARTBEAT_SECONDS = env.int("WORKER_HEARTBEAT_SECONDS", default=10)
WORKER_STALE_SECONDS = env.int("WORKER_STALE_SECONDS", default=60)
# /healthz fails while no worker's heartbeat is fresh (turn off only where no worker runs by design).
HEALTHZ_REQUIRE_WORKER = env.bool("HEALTHZ_REQUIRE_WORKER", default=True)
# Periodic tasks: their intervals. 0 turns one off.
SYNC_INTERVAL_SECONDS = env.int("SYNC_INTERVAL_SECONDS", default=300)
# A session the portal started, with no activity through the portal for this long, is stopped. 0: never.
SESSION_IDLE_MINUTES = env.int("SESSION_IDLE_MINUTES", default=60)
SESSION_IDLE_CHECK_SECONDS = env.int("SESSION_IDLE_CHECK_SECONDS", default=60)
AUDIT_CHECKPOINT_INTERVAL_SECONDS = env.int("AUDIT_CHECKPOINT_INTERVAL_SECONDS", default=3600)
TOKEN_REFRESH_INTERVAL_SECONDS = env.int("TOKEN_REFRESH_INTERVAL_SECONDS", default=60)
# Administrators are told by e-mail once the scheduled sync has failed this many times in a row.
SYNC_FAILURE_ALERT_AFTER = env.int("SYNC_FAILURE_ALERT_AFTER", default=3)

# RESTORE JOBS (restores/: item restores, saves and exports; see restores/services/)
# ------------------------------------------------------------------------------
# v4–v7 hold a restore POST until VB365 has restored everything: the worker waits this long for the answer.
VB365_RESTORE_TIMEOUT = env.int("VB365_RESTORE_TIMEOUT", default=4 * 3600)
# The key Microsoft 365 credentials are sealed with (Fernet): an organization's application credentials, and
# an operator's credentials on their way to the worker. Kept in the environment, never in the database;
# without it, restores need the device code flow. Earlier keys (comma-separated) still open what they sealed.
RESTORE_CREDENTIALS_KEY = env("RESTORE_CREDENTIALS_KEY", default="")
RESTORE_CREDENTIALS_OLD_KEYS = env.list("RESTORE_CREDENTIALS_OLD_KEYS", default=[])
# Credentials handed to the worker that no worker took within this long are destroyed (the job then fails).
RESTORE_CREDENTIALS_HANDOFF_SECONDS = env.int("RESTORE_CREDENTIALS_HANDOFF_SECONDS", default=900)
# How often a v8 restore run's statistics and events are read while it runs.
RESTORE_POLL_SECONDS = env.float("RESTORE_POLL_SECONDS", default=2.0)
# Periodic: jobs whose worker died are ended (or resumed), stale credential hand-offs destroyed.
RESTORE_JOB_CHECK_SECONDS = env.int("RESTORE_JOB_CHECK_SECONDS", default=30)
# Periodic: expired download files are purged.
EXPORT_PURGE_INTERVAL_SECONDS = env.int("EXPORT_PURGE_INTERVAL_SECONDS", default=600)

# E-MAIL
# ------------------------------------------------------------------------------
# EMAIL_URL (smtp://user:password@host:587, smtp+tls://…, consolemail://) wins over the usual EMAIL_* settings.
if env("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
    EMAIL_HOST = env("EMAIL_HOST", default="localhost")
    EMAIL_PORT = env.int("EMAIL_PORT", default=25)
    EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
    EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
    EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
# Every SMTP conversation gives up after this long (the task then retries later).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Restore Desk <restoredesk@localhost>")
