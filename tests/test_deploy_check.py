"""`manage.py check --deploy` is clean with production settings, and settings come only from the environment."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": "a-production-secret-that-is-long-and-random-enough-0123456789abcdef",
    "AUDIT_CHAIN_KEY": "a-production-audit-chain-key-long-and-random-0123456789abcdef",
    "RESTORE_CREDENTIALS_KEY": "a-production-restore-credentials-key-long-and-random-0123456789",
    "DJANGO_DEBUG": "false",
    "DJANGO_ALLOWED_HOSTS": "restore.example.com",
    "DJANGO_SECURE_HSTS_SECONDS": "31536000",
    "DJANGO_SECURE_SSL_REDIRECT": "true",
    "VB365_URL": "https://vb365.example.com:4443",
    "VB365_USERNAME": "svc-restore",
    "VB365_PASSWORD": "not-used-by-check",
}


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **env}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120)


def test_deploy_check_is_clean_with_production_settings():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_deploy_check_flags_debug_in_production():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                 {**PRODUCTION_ENV, "DJANGO_DEBUG": "true"})
    assert result.returncode != 0 and "DEBUG" in result.stdout + result.stderr


@pytest.mark.parametrize(("change", "message"), [
    ({"AUDIT_CHAIN_KEY": ""}, "AUDIT_CHAIN_KEY is not set"),
    ({"AUDIT_CHAIN_KEY": PRODUCTION_ENV["DJANGO_SECRET_KEY"]}, "AUDIT_CHAIN_KEY equals DJANGO_SECRET_KEY"),
    ({"AUDIT_CHAIN_KEY": "short-key"}, "AUDIT_CHAIN_KEY is shorter than 32 characters"),
    ({"DJANGO_SECRET_KEY": "change-me-to-a-long-random-string"}, "DJANGO_SECRET_KEY is the example value"),
    ({"DJANGO_SECRET_KEY": "django-insecure-" + "x" * 50}, "DJANGO_SECRET_KEY is the example value"),
])
def test_deploy_check_refuses_missing_or_example_secrets(change, message):
    result = run(["manage.py", "check", "--deploy"], {**PRODUCTION_ENV, **change})
    assert result.returncode != 0
    assert message in result.stderr


def test_start_up_names_every_missing_upstream_setting():
    env = {key: value for key, value in PRODUCTION_ENV.items() if not key.startswith("VB365_")}
    result = run(["manage.py", "check"], env)
    assert result.returncode != 0
    for name in ("VB365_URL", "VB365_USERNAME", "VB365_PASSWORD"):
        assert name in result.stderr
