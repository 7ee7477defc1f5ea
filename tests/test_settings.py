"""portal.settings read from a clean environment, in a subprocess, as a server would start."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
SHOW = ("import json, portal.settings as s; print(json.dumps({'engine': s.DATABASES['default']['ENGINE'], "
        "'name': s.DATABASES['default']['NAME'], 'host': s.DATABASES['default'].get('HOST'), "
        "'cache': s.CACHES['default']['BACKEND'], 'location': s.CACHES['default'].get('LOCATION'), "
        "'debug': s.DEBUG, 'secret': s.SECRET_KEY, 'hosts': s.ALLOWED_HOSTS}))")


def python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `code` from the project directory with nothing in the environment but PATH and `env`."""
    return subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, timeout=60,
                          env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env})


def test_settings_import_with_only_the_secret_key():
    result = python(SHOW, DJANGO_SECRET_KEY="x")
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["secret"] == "x" and values["debug"] is False
    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert values["hosts"] == ["localhost", "127.0.0.1"]


def test_missing_secret_key_fails_naming_it():
    result = python("import portal.settings")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "DJANGO_SECRET_KEY" in result.stderr


def test_setup_without_upstream_settings_names_each_missing_one():
    result = python("import django; django.setup()", DJANGO_SECRET_KEY="x", DJANGO_SETTINGS_MODULE="portal.settings")
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured")
    for name in ("VB365_URL", "VB365_USERNAME", "VB365_PASSWORD"):
        assert f"{name} is not set" in last_line


def test_setup_with_upstream_settings_succeeds():
    result = python("import django; django.setup(); print('ok')", DJANGO_SECRET_KEY="x",
                    DJANGO_SETTINGS_MODULE="portal.settings", VB365_URL="https://vb365.example:4443",
                    VB365_USERNAME="svc", VB365_PASSWORD="pw")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_bad_api_version_is_named():
    result = python("import django; django.setup()", DJANGO_SECRET_KEY="x", DJANGO_SETTINGS_MODULE="portal.settings",
                    VB365_URL="https://vb365.example", VB365_USERNAME="svc", VB365_PASSWORD="pw",
                    VB365_API_VERSION="9")
    assert "VB365_API_VERSION must be 1 to 8, not 9" in result.stderr


def test_database_and_cache_urls_choose_postgresql_and_redis():
    result = python(SHOW, DJANGO_SECRET_KEY="x", DATABASE_URL="postgres://desk:pw@db.internal:5432/restoredesk",
                    CACHE_URL="redis://cache.internal:6379/1")
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["engine"] == "django.db.backends.postgresql"
    assert (values["name"], values["host"]) == ("restoredesk", "db.internal")
    assert values["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert values["location"] == "redis://cache.internal:6379/1"


def test_hosts_and_debug_come_from_the_environment():
    result = python(SHOW, DJANGO_SECRET_KEY="x", DJANGO_DEBUG="true", DJANGO_ALLOWED_HOSTS="desk.example,10.0.0.5")
    values = json.loads(result.stdout)
    assert values["debug"] is True and values["hosts"] == ["desk.example", "10.0.0.5"]
