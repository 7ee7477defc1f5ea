"""The audit CSV writer: header, one line per event, UTC timestamps, inert formula-looking cells."""
from __future__ import annotations

import csv
import io
from datetime import datetime
from datetime import timezone as dt_timezone
from zoneinfo import ZoneInfo

import pytest

from sessions_app import exports
from sessions_app.models import AuditAction, AuditEvent
from sessions_app.services.audit import audit_event_record


def rows(queryset):
    return list(csv.reader(io.StringIO("".join(exports.audit_csv_rows(queryset)))))


def test_header_then_one_row_per_event_in_column_order(db):
    audit_event_record(action=AuditAction.EXPORT, actor_username="alice", reason="monthly review",
                       details={"b": 2, "a": 1})
    header, *body = rows(AuditEvent.objects.all())
    assert tuple(header) == exports.AUDIT_COLUMNS
    assert len(body) == 1
    row = dict(zip(header, body[0], strict=True))
    assert row["actor_username"] == "alice" and row["action"] == "export" and row["reason"] == "monthly review"
    assert row["details"] == '{"a": 1, "b": 2}'
    assert row["sequence"] == str(AuditEvent.objects.get().sequence)
    assert len(row["hash"]) == 64


def test_empty_trail_is_just_the_header(db):
    assert rows(AuditEvent.objects.none()) == [list(exports.AUDIT_COLUMNS)]


def test_lines_end_with_lf_and_quote_commas_and_newlines(db):
    audit_event_record(action=AuditAction.EXPORT, reason='line one\nline "two", three')
    lines = list(exports.audit_csv_rows(AuditEvent.objects.all()))
    assert all(line.endswith("\n") and not line.endswith("\r\n") for line in lines)
    assert rows(AuditEvent.objects.all())[1][exports.AUDIT_COLUMNS.index("reason")] == 'line one\nline "two", three'


@pytest.mark.parametrize(("value", "exported"), [
    ("=1+2", "'=1+2"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"),
    ("plain", "plain"), ("", ""), ("a=b", "a=b"),
])
def test_formula_guard(value, exported):
    assert exports._cell(value) == exported


def test_datetimes_are_utc_with_microseconds_whatever_the_zone():
    moment = datetime(2026, 1, 15, 13, 0, 5, 123456, tzinfo=ZoneInfo("Europe/Berlin"))
    assert exports._cell(moment) == "2026-01-15T12:00:05.123456Z"
    assert exports._cell(datetime(2026, 7, 1, tzinfo=dt_timezone.utc)) == "2026-07-01T00:00:00.000000Z"


def test_numbers_and_dicts_pass_through_readably():
    assert exports._cell(42) == 42
    assert exports._cell({"z": [1], "a": None}) == '{"a": null, "z": [1]}'


def test_export_reads_in_chunks_without_loading_everything(db, django_assert_max_num_queries):
    for n in range(5):
        audit_event_record(action=AuditAction.EXPORT, actor_username=f"u{n}")
    with django_assert_max_num_queries(1):
        assert len(rows(AuditEvent.objects.order_by("sequence"))) == 6
