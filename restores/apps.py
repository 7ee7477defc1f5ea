from __future__ import annotations

from django.apps import AppConfig


class RestoresConfig(AppConfig):
    """Item-level restores, saves and exports inside a restore session, each a tracked RestoreJob."""

    name = "restores"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from restores import checks  # noqa: F401  (registers the deploy check of RESTORE_CREDENTIALS_KEY)
