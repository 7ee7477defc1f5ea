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
    assert values["cache"] == "portal.cache.RedisCache"
    assert values["location"] == "redis://cache.internal:6379/1"


def test_hosts_and_debug_come_from_the_environment():
    result = python(SHOW, DJANGO_SECRET_KEY="x", DJANGO_DEBUG="true", DJANGO_ALLOWED_HOSTS="desk.example,10.0.0.5")
    values = json.loads(result.stdout)
    assert values["debug"] is True and values["hosts"] == ["desk.example", "10.0.0.5"]


def test_session_and_api_token_lifetimes_default_to_a_working_day_and_30_days():
    code = ("import json, portal.settings as s; print(json.dumps([s.SESSION_COOKIE_AGE, s.API_TOKEN_HOURS, "
            "[v['NAME'].rsplit('.', 1)[1] for v in s.AUTH_PASSWORD_VALIDATORS]]))")
    age, token_hours, validators = json.loads(python(code, DJANGO_SECRET_KEY="x").stdout)
    assert age == 8 * 3600 and token_hours == 720
    assert validators == ["UserAttributeSimilarityValidator", "MinimumLengthValidator", "CommonPasswordValidator",
                          "NumericPasswordValidator"]
    age, token_hours, _ = json.loads(python(code, DJANGO_SECRET_KEY="x", DJANGO_SESSION_HOURS="2",
                                            API_TOKEN_HOURS="24").stdout)
    assert age == 2 * 3600 and token_hours == 24


def test_trusted_proxies_imply_being_behind_a_proxy_unless_told_otherwise():
    code = ("import json, portal.settings as s; "
            "print(json.dumps([s.TRUSTED_PROXIES, s.BEHIND_PROXY, s.SECURE_PROXY_SSL_HEADER]))")
    assert json.loads(python(code, DJANGO_SECRET_KEY="x").stdout) == [[], False, None]
    proxies, behind, header = json.loads(python(code, DJANGO_SECRET_KEY="x",
                                                DJANGO_TRUSTED_PROXIES="10.0.0.5,10.1.0.0/16").stdout)
    assert proxies == ["10.0.0.5", "10.1.0.0/16"] and behind is True and header == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert json.loads(python(code, DJANGO_SECRET_KEY="x", DJANGO_TRUSTED_PROXIES="10.0.0.5",
                             DJANGO_BEHIND_PROXY="false").stdout)[1:] == [False, None]


def test_a_mistyped_trusted_proxy_stops_the_start_naming_it():
    result = python("import django; django.setup()", DJANGO_SECRET_KEY="x", DJANGO_SETTINGS_MODULE="portal.settings",
                    VB365_URL="https://vb365.example", VB365_USERNAME="svc", VB365_PASSWORD="pw",
                    DJANGO_TRUSTED_PROXIES="10.0.0.5,lb.internal")
    assert result.returncode != 0 and "DJANGO_TRUSTED_PROXIES: 'lb.internal'" in result.stderr


def test_earlier_secret_keys_come_from_the_environment_and_default_to_none():
    code = "import json, portal.settings as s; print(json.dumps(s.SECRET_KEY_FALLBACKS))"
    assert json.loads(python(code, DJANGO_SECRET_KEY="x").stdout) == []
    rotating = python(code, DJANGO_SECRET_KEY="new", DJANGO_SECRET_KEY_FALLBACKS="old-1,old-2")
    assert json.loads(rotating.stdout) == ["old-1", "old-2"]


def test_email_url_wins_over_the_email_settings_and_intervals_default_as_documented():
    show = ("import json, portal.settings as s; print(json.dumps({k: getattr(s, k) for k in ('EMAIL_BACKEND', "
            "'EMAIL_HOST', 'EMAIL_PORT', 'EMAIL_HOST_USER', 'SYNC_INTERVAL_SECONDS', 'SESSION_IDLE_MINUTES', "
            "'SYNC_FAILURE_ALERT_AFTER', 'HEALTHZ_REQUIRE_WORKER')}))")
    values = json.loads(python(show, DJANGO_SECRET_KEY="x", EMAIL_HOST="ignored",
                               EMAIL_URL="smtp://desk:pw@mail.internal:2525").stdout)
    assert values["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (values["EMAIL_HOST"], values["EMAIL_PORT"], values["EMAIL_HOST_USER"]) == ("mail.internal", 2525, "desk")
    assert (values["SYNC_INTERVAL_SECONDS"], values["SESSION_IDLE_MINUTES"], values["SYNC_FAILURE_ALERT_AFTER"],
            values["HEALTHZ_REQUIRE_WORKER"]) == (300, 60, 3, True)
    console = json.loads(python(show, DJANGO_SECRET_KEY="x", EMAIL_URL="consolemail://").stdout)
    assert console["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
