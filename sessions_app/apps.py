from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SessionsAppConfig(AppConfig):
    name = "sessions_app"
    label = "sessions_app"
    verbose_name = "Restore Desk"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Fail at start-up, naming every missing upstream setting, rather than on the first restore.
        from sessions_app.upstream.config import upstream_config_from_settings

        upstream_config_from_settings()
        from sessions_app.http import trusted_proxy_networks

        trusted_proxy_networks()  # a mistyped DJANGO_TRUSTED_PROXIES stops the start, naming the entry
        from sessions_app import checks, signals  # noqa: F401  (registers the checks, connects the audit receivers)
        from sessions_app.services import database_roles

        post_migrate.connect(database_roles.runtime_role_grant_after_migrate, sender=self)
