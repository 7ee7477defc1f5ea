"""What VB365 says of a session or an event, as the local columns that mirror it.

Shared by the services that write sessions (starting, refreshing, stopping) and by the history sync: neither
borrows it from the other. Never the portal's own fields (who asked, why): those come from a StartSpec.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.utils import timezone

from sessions_app.models import RestoreSession, RestoreSessionEvent, SessionState
from sessions_app.upstream.types import RestoreSessionDTO, RestoreSessionEventDTO

# The event columns VB365 owns; a re-read event overwrites exactly these.
EVENT_FIELDS = ("type", "status", "title", "message", "order", "start_time", "end_time", "duration", "item_name",
                "item_type", "item_size_bytes", "source", "target", "raw", "fetched_at")


def upstream_fields(dto: RestoreSessionDTO, *, api_version: int) -> dict[str, Any]:
    """The local columns that mirror the upstream session (never the portal's own fields)."""
    return {
        "workload": dto.workload,
        "name": dto.name,
        "organization_name": dto.organization_name,
        "state": dto.state,
        # VB365 sends "result": "Success" while a session still works (CONTRACT.md §6, the v3 example): a
        # working session has no result yet.
        "result": "" if dto.state == SessionState.WORKING else dto.result,
        "creation_time": dto.creation_time,
        "end_time": dto.end_time,
        "upstream_point_in_time": dto.point_in_time,
        "initiated_by": dto.initiated_by,
        "details": dto.details,
        "scope_name": dto.scope_name,
        "client_host": dto.client_host,
        "upstream_reason": dto.reason,
        "etag": dto.etag,
        "raw": dto.raw,
        "fetched_at": timezone.now(),
        "api_version": api_version,
        "forgotten_upstream_at": None,
    }


def event_rows(session: RestoreSession, events: Iterable[RestoreSessionEventDTO], *, fetched_at: datetime
               ) -> list[RestoreSessionEvent]:
    """Unsaved event rows of `session`, one per DTO."""
    return [
        RestoreSessionEvent(
            session=session, upstream_id=dto.id, type=dto.type, status=dto.status, title=dto.title,
            message=dto.message, order=dto.order, start_time=dto.start_time, end_time=dto.end_time,
            duration=dto.duration, item_name=dto.item_name, item_type=dto.item_type,
            item_size_bytes=dto.item_size_bytes, source=dto.source, target=dto.target, raw=dto.raw,
            fetched_at=fetched_at,
        )
        for dto in events
    ]
