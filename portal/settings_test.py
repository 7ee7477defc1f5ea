"""Test settings: production settings with fast, local, deterministic overrides."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-not-secret")

from portal.settings import *  # noqa: E402,F401,F403
from portal.settings import BASE_DIR, STORAGES, env, redis_clients_shared, sqlite_for_concurrency  # noqa: E402
from restores.storage_settings import restore_storage_entry  # noqa: E402

SECRET_KEY = "test-only-not-secret"
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SESSION_COOKIE_SECURE = False
# Static files come straight from the source folders; no collectstatic before tests.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
# Restore downloads of a test run go to a folder of its own, on the file system (tests of S3 set their own).
RESTORE_FILES_ROOT = Path(tempfile.gettempdir()) / f"restoredesk-test-restores-{os.getpid()}"
STORAGES["restores"] = restore_storage_entry(files_root=RESTORE_FILES_ROOT)
CSRF_COOKIE_SECURE = False

# The second CI pass sets TEST_DATABASE_URL / TEST_CACHE_URL to run the same suite on PostgreSQL and Redis.
DATABASES = {"default": env.db("TEST_DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not :memory:, so that live_server threads and concurrency tests see one database.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / f".test-db-{os.getpid()}.sqlite3")}
sqlite_for_concurrency(DATABASES["default"])
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # as in production (portal/settings.py)
# With TEST_DATABASE_RUNTIME_ROLE, TEST_DATABASE_URL names the owner, who creates and migrates the test
# database; the tests then run as the runtime role (tests/database_roles.py).
DATABASE_RUNTIME_ROLE = env("TEST_DATABASE_RUNTIME_ROLE", default="")
CACHES = {"default": redis_clients_shared(env.cache("TEST_CACHE_URL", default="locmemcache://"))}
if CACHES["default"]["BACKEND"].endswith("RedisCache"):
    CACHES["default"]["KEY_PREFIX"] = f"restoredesk-test-{os.getpid()}"

AUDIT_CHAIN_KEY = "test-only-audit-chain-key-0123456789abcdef"
AUDIT_CHAIN_OLD_KEYS = []
# One file per test process, emptied after each test (tests/conftest.py).
AUDIT_CHECKPOINT_PATH = Path(tempfile.gettempdir()) / f"restoredesk-test-audit-checkpoints-{os.getpid()}.jsonl"
AUDIT_CHECKPOINT_SYSLOG = ""

# Tests run without a background worker unless they start one (tests/background).
HEALTHZ_REQUIRE_WORKER = False

VB365_URL = "https://upstream.invalid"
VB365_USERNAME = "svc-restore"
VB365_PASSWORD = "not-a-real-password"
VB365_API_VERSION = 8
VB365_VERIFY_TLS = "true"
VB365_CONNECT_TIMEOUT = 2.0
VB365_READ_TIMEOUT = 5.0
VB365_MAX_RETRIES = 0

# Restore jobs (restores/): a test key for sealing credentials; polls without waiting.
RESTORE_CREDENTIALS_KEY = "test-only-restore-credentials-key-0123456789"
RESTORE_CREDENTIALS_OLD_KEYS = []
RESTORE_POLL_SECONDS = 0.05
