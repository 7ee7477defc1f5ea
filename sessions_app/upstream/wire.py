"""What differs between API versions on the wire: paths, envelopes, enum casing and date formats.

Reference: CONTRACT.md §5 (starting), §8 (stopping), §10 (details a client must get right).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sessions_app.upstream.types import TYPE_BY_WORKLOAD

ALL_WORKLOADS = ("exchange", "onedrive", "sharepoint", "teams")


def wire_datetime(moment: datetime, pattern: str) -> str:
    """`moment` in UTC, written by a strftime `pattern` whose %Y is always four digits: the C library's %Y writes
    the year 29 as "29", a date the server refuses."""
    utc = moment.astimezone(timezone.utc)
    return utc.strftime(pattern.replace("%Y", f"{utc.year:04d}"))


@dataclass(frozen=True)
class Dialect:
    version: int

    @property
    def prefix(self) -> str:
        return f"v{self.version}"

    @property
    def workloads(self) -> tuple[str, ...]:
        # Reference: CONTRACT.md §5.1. v1 explores Exchange only; Teams (`vet`) arrives in v5.
        if self.version == 1:
            return ("exchange",)
        if self.version < 5:
            return ALL_WORKLOADS[:3]
        return ALL_WORKLOADS

    @property
    def has_restore_points(self) -> bool:
        # Reference: CONTRACT.md §4.3, no REST restore-point listing before v6.
        return self.version >= 6

    @property
    def has_events(self) -> bool:
        # Reference: CONTRACT.md §7, events are documented from v2.
        return self.version >= 2

    @property
    def has_start_time_filter(self) -> bool:
        return self.version >= 4

    @property
    def supports_tenant_sign_in(self) -> bool:
        return self.version >= 2

    def explore_path(self, organization_id: str | None) -> str:
        """Admin explore when an organization id is given, the tenant's own explore otherwise."""
        if self.version == 1 and not organization_id:
            # Reference: CONTRACT.md §5.1, the v1 tenant explore lives under RestoreSessions.
            return "RestoreSessions/Action"
        if self.version <= 5:
            return f"Organizations/{organization_id}/Action" if organization_id else "Organization/Action"
        return f"Organizations/{organization_id}/explore" if organization_id else "Organization/Explore"

    def explore_body(self, *, point_in_time: datetime, workload: str, show_deleted: bool,
                     show_all_versions: bool) -> dict[str, Any]:
        if self.version == 1:
            # Reference: CONTRACT.md §5.1, v1 takes the datetime alone, as `yyyy.MM.dd HH:mm:ss`.
            return {"explore": {"datetime": wire_datetime(point_in_time, "%Y.%m.%d %H:%M:%S")}}
        if self.version <= 5:
            options: dict[str, Any] = {"datetime": wire_datetime(point_in_time, "%Y.%m.%d %H:%M:%S"),
                                       "type": TYPE_BY_WORKLOAD[workload]}
            if self.version >= 3:
                options.update(showDeleted=show_deleted, showAllVersions=show_all_versions)
            return {"explore": options}
        return {
            "dateTime": wire_datetime(point_in_time, "%Y-%m-%dT%H:%M:%SZ"),
            "type": TYPE_BY_WORKLOAD[workload].capitalize(),
            "showDeleted": show_deleted,
            "showAllVersions": show_all_versions,
        }

    def stop_request(self, session_id: str) -> tuple[str, dict[str, Any] | None]:
        """(path, JSON body) of the stop call."""
        if self.version <= 5:
            return f"RestoreSessions/{session_id}/Action", {"stop": None}
        return f"RestoreSessions/{session_id}/Stop", None

    def token_form(self, fields: dict[str, str]) -> dict[str, str]:
        if self.version >= 7:
            # Reference: CONTRACT.md §3. Without it a v7+ server also expects an antiforgery cookie.
            return {**fields, "disable_antiforgery_token": "true"}
        return fields
