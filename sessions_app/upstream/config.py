"""Upstream configuration, built once per client from Django settings."""
from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

SUPPORTED_API_VERSIONS = range(1, 9)


@dataclass(frozen=True)
class UpstreamConfig:
    base_url: str
    username: str
    password: str
    verify_tls: bool | str
    timeout: tuple[float, float]
    max_retries: int
    api_version: int

    @property
    def cache_namespace(self) -> str:
        """Identifies one upstream account, so that tokens of different servers or users never mix."""
        return f"{self.base_url}|v{self.api_version}|{self.username}"


def parse_verify_tls(value: str | bool) -> bool | str:
    """`true`/`false`, or the path of a CA bundle (what `requests` takes as `verify`)."""
    if isinstance(value, bool):
        return value
    lowered = value.strip().lower()
    if lowered in {"true", "1", "yes", "on", ""}:
        return True
    if lowered in {"false", "0", "no", "off"}:
        return False
    return value.strip()


def upstream_config_from_settings() -> UpstreamConfig:
    """Build the config from settings.

    Raises ImproperlyConfigured naming every missing or invalid key at once. Not cached, so that
    `override_settings` and the pytest `settings` fixture keep working.
    """
    problems = [f"{name} is not set" for name in ("VB365_URL", "VB365_USERNAME", "VB365_PASSWORD")
                if not getattr(settings, name, "")]
    numbers: dict[str, float] = {}
    for name, kind in (("VB365_API_VERSION", int), ("VB365_CONNECT_TIMEOUT", float), ("VB365_READ_TIMEOUT", float),
                       ("VB365_MAX_RETRIES", int)):
        try:
            numbers[name] = kind(getattr(settings, name))
        except (TypeError, ValueError):
            problems.append(f"{name} must be a number, not {getattr(settings, name, None)!r}")
    if "VB365_API_VERSION" in numbers and int(numbers["VB365_API_VERSION"]) not in SUPPORTED_API_VERSIONS:
        problems.append(f"VB365_API_VERSION must be 1 to 8, not {int(numbers['VB365_API_VERSION'])}")
    if problems:
        raise ImproperlyConfigured(f"Restore Desk's upstream settings are incomplete: {'; '.join(problems)} "
                                   "(see README.md, Settings).")
    return UpstreamConfig(
        base_url=str(settings.VB365_URL).rstrip("/"),
        username=settings.VB365_USERNAME,
        password=settings.VB365_PASSWORD,
        verify_tls=parse_verify_tls(settings.VB365_VERIFY_TLS),
        timeout=(numbers["VB365_CONNECT_TIMEOUT"], numbers["VB365_READ_TIMEOUT"]),
        max_retries=int(numbers["VB365_MAX_RETRIES"]),
        api_version=int(numbers["VB365_API_VERSION"]),
    )
