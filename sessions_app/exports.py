"""CSV exports, produced as a stream of lines so that memory stays flat for any number of rows."""
from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import timezone as dt_timezone
from typing import Any

from django.db.models import QuerySet

from sessions_app.models import AuditEvent

AUDIT_COLUMNS = ("sequence", "created_at", "actor_username", "on_behalf_of_username", "action", "outcome",
                 "organization_id", "organization_name", "workload", "session_upstream_id", "reason", "scope",
                 "ticket", "client_address", "details", "hash")
CHUNK_SIZE = 2000


class _Line:
    """A file-like object whose write() returns the line instead of storing it."""

    def write(self, value: str) -> str:
        return value


def audit_csv_rows(events: QuerySet[AuditEvent]) -> Iterator[str]:
    """Header, then one CSV line per event, read from the database in chunks with a server-side cursor."""
    writer = csv.writer(_Line())
    yield writer.writerow(AUDIT_COLUMNS)
    for values in events.values_list(*AUDIT_COLUMNS).iterator(chunk_size=CHUNK_SIZE):
        yield writer.writerow([_cell(value) for value in values])


def _cell(value: Any) -> Any:
    if hasattr(value, "astimezone"):
        return value.astimezone(dt_timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        # Spreadsheet formula injection: a leading quote keeps the text inert.
        return "'" + value
    return value
