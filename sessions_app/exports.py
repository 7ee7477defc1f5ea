"""CSV exports, produced as a stream of lines so that memory stays flat for any number of rows."""
from __future__ import annotations

import codecs
import contextlib
import csv
import json
from collections.abc import Iterator
from datetime import timezone as dt_timezone
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
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
    """Header, then one CSV line per event. Memory stays flat: PostgreSQL streams the rows with COPY, already
    formatted; other databases are read in chunks and formatted here."""
    # One line ending for both paths: PostgreSQL's COPY writes LF.
    writer = csv.writer(_Line(), lineterminator="\n")
    yield writer.writerow(AUDIT_COLUMNS)
    if connection.vendor == "postgresql":
        with contextlib.suppress(EmptyResultSet):  # a filter that can match nothing (e.g. .none())
            yield from _copy_rows(events)
        return
    for values in events.values_list(*AUDIT_COLUMNS).iterator(chunk_size=CHUNK_SIZE):
        yield writer.writerow([_cell(value) for value in values])


# Cells a spreadsheet would run as a formula get a leading quote, in both paths.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# On PostgreSQL each column is formatted in SQL exactly as _cell formats it in Python.
_PG_GUARDED_TEXT = "CASE WHEN left({0}, 1) IN ('=', '+', '-', '@', E'\\t', E'\\r') THEN '''' || {0} ELSE {0} END"
_PG_CELLS = {
    "created_at": "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
    "details": "details::text",
}


def _pg_cell(column: str) -> str:
    if column in _PG_CELLS:
        return _PG_CELLS[column]
    if AuditEvent._meta.get_field(column).get_internal_type() in ("CharField", "TextField"):
        return _PG_GUARDED_TEXT.format(column)
    return column


def _copy_rows(events: QuerySet[AuditEvent]) -> Iterator[str]:
    inner, params = events.values_list(*AUDIT_COLUMNS).query.sql_with_params()
    columns = ", ".join(_pg_cell(column) for column in AUDIT_COLUMNS)
    decoder = codecs.getincrementaldecoder("utf-8")()
    with connection.cursor() as cursor:
        statement = f"COPY (SELECT {columns} FROM ({inner}) AS events) TO STDOUT (FORMAT csv)"
        with cursor.cursor.copy(statement, params) as copy:
            for chunk in copy:
                yield decoder.decode(bytes(chunk))
    rest = decoder.decode(b"", final=True)
    if rest:
        yield rest


def _cell(value: Any) -> Any:
    if hasattr(value, "astimezone"):
        return value.astimezone(dt_timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        # Spreadsheet formula injection: a leading quote keeps the text inert.
        return "'" + value
    return value
