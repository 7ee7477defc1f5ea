from __future__ import annotations

from django.apps import AppConfig


class SessionsAppConfig(AppConfig):
    name = "sessions_app"
    label = "sessions_app"
    verbose_name = "Restore Desk"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Fail at start-up, naming every missing upstream setting, rather than on the first restore.
        from sessions_app.upstream.config import upstream_config_from_settings

        upstream_config_from_settings()
        from sessions_app import signals  # noqa: F401  (connects the audit receivers)
