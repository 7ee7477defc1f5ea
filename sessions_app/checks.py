"""System checks that `manage.py check --deploy` runs: secrets that must not reach production."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

# The value .env.example ships with, and the prefix of the key `django-admin startproject` writes.
EXAMPLE_SECRET_KEY = "change-me-to-a-long-random-string"
DJANGO_INSECURE_PREFIX = "django-insecure-"
AUDIT_CHAIN_KEY_MIN_LENGTH = 32


@checks.register(checks.Tags.security, deploy=True)
def secrets_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    secret_key = str(settings.SECRET_KEY)
    audit_key = settings.AUDIT_CHAIN_KEY
    if secret_key == EXAMPLE_SECRET_KEY or secret_key.startswith(DJANGO_INSECURE_PREFIX):
        errors.append(checks.Error("DJANGO_SECRET_KEY is the example value (or Django's insecure default).",
                                   hint="Set it to a long random value of your own.", id="restoredesk.E001"))
    if not audit_key:
        errors.append(checks.Error("AUDIT_CHAIN_KEY is not set: the audit trail cannot be signed.",
                                   hint="Set it to a long random value, different from DJANGO_SECRET_KEY.",
                                   id="restoredesk.E002"))
    elif audit_key == secret_key:
        errors.append(checks.Error("AUDIT_CHAIN_KEY equals DJANGO_SECRET_KEY.",
                                   hint="Use a key of its own: it must outlive a change of the secret key.",
                                   id="restoredesk.E003"))
    elif len(audit_key) < AUDIT_CHAIN_KEY_MIN_LENGTH:
        errors.append(checks.Error(f"AUDIT_CHAIN_KEY is shorter than {AUDIT_CHAIN_KEY_MIN_LENGTH} characters.",
                                   hint="Use a long random value, e.g. `python -c 'import secrets; "
                                        "print(secrets.token_urlsafe(48))'`.", id="restoredesk.E004"))
    return errors
