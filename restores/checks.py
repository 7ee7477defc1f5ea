"""`manage.py check --deploy`: the key Microsoft 365 credentials are sealed with (restores.services.credentials).

Without RESTORE_CREDENTIALS_KEY the portal still runs and saves and exports work, but no restore can take
credentials (a password, a device code, an organization's application credentials): a warning, not an error.
"""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

RESTORE_CREDENTIALS_KEY_MIN_LENGTH = 32


@checks.register(checks.Tags.security, deploy=True)
def restore_credentials_key_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    key = settings.RESTORE_CREDENTIALS_KEY
    if not key:
        return [checks.Warning("RESTORE_CREDENTIALS_KEY is not set: restores that need Microsoft 365 credentials "
                               "are refused (saves and exports work).",
                               hint="Set it to a long random value kept outside the database.", id="restoredesk.W101")]
    if key in (str(settings.SECRET_KEY), settings.AUDIT_CHAIN_KEY):
        return [checks.Error("RESTORE_CREDENTIALS_KEY equals DJANGO_SECRET_KEY or AUDIT_CHAIN_KEY.",
                             hint="Use a key of its own.", id="restoredesk.E101")]
    if len(key) < RESTORE_CREDENTIALS_KEY_MIN_LENGTH:
        return [checks.Error(f"RESTORE_CREDENTIALS_KEY is shorter than {RESTORE_CREDENTIALS_KEY_MIN_LENGTH} "
                             "characters.", hint="Use a long random value, e.g. `python -c 'import secrets; "
                                                 "print(secrets.token_urlsafe(48))'`.", id="restoredesk.E102")]
    return []
