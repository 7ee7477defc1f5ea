"""The audit CSV: the filtered trail, every download audited, cells a spreadsheet will not execute."""
from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from sessions_app.exports import AUDIT_COLUMNS
from sessions_app.models import AuditAction, AuditEvent, AuditOutcome
from sessions_app.services.audit import audit_event_record

URL = reverse("sessions_app:audit-export")


def read_csv(response):
    assert response.streaming
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_anonymous_is_sent_to_sign_in(client, db):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_export_is_a_csv_download_with_a_header_and_one_row_per_event(signed_in, auditor, backed_up_org):
    audit_event_record(action=AuditAction.SESSION_START, actor_username="olivia", organization=backed_up_org,
                       workload="exchange", reason="mail folder", scope="j.doe", ticket="INC-1")
    response = signed_in(auditor).get(URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="restore-desk-audit.csv"'
    rows = read_csv(response)
    assert list(rows[0]) == list(AUDIT_COLUMNS)
    started = next(row for row in rows if row["action"] == "session_start")
    assert started["actor_username"] == "olivia" and started["organization_name"] == backed_up_org.name
    assert (started["reason"], started["scope"], started["ticket"]) == ("mail folder", "j.doe", "INC-1")
    assert started["created_at"].endswith("Z")
    assert len(rows) == AuditEvent.objects.count()


def test_filters_apply_to_the_export(signed_in, auditor):
    audit_event_record(action=AuditAction.SESSION_STOP, actor_username="olivia")
    audit_event_record(action=AuditAction.SESSION_STOP, actor_username="oscar")
    rows = read_csv(signed_in(auditor).get(URL, {"actor": "oscar"}))
    assert [(row["actor_username"], row["action"]) for row in rows] == [("oscar", "session_stop")]


def test_every_export_is_audited_with_its_filters(signed_in, auditor):
    signed_in(auditor).get(URL, {"action": "session_stop"})
    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert event.actor_username == "alice"
    assert event.details == {"export": "audit_csv", "filters": {"action": "session_stop"}}


def test_formula_looking_cells_are_exported_inert(signed_in, auditor):
    audit_event_record(action=AuditAction.SESSION_START, actor_username="olivia", reason="=HYPERLINK(\"http://x\")",
                       scope="+1+2", ticket="@SUM(A1)")
    [row] = read_csv(signed_in(auditor).get(URL, {"action": "session_start"}))
    assert row["reason"] == "'=HYPERLINK(\"http://x\")"
    assert row["scope"] == "'+1+2"
    assert row["ticket"] == "'@SUM(A1)"


def test_failed_sign_in_username_cannot_inject_a_formula(client, signed_in, auditor):
    client.post(reverse("login"), {"username": "=cmd|' /C calc'!A0", "password": "x"})
    rows = read_csv(signed_in(auditor).get(URL, {"action": "sign_in_failed"}))
    assert rows[0]["actor_username"] == "'=cmd|' /C calc'!A0"


@pytest.mark.parametrize("who", ["operator", "helpdesk", "nobody"])
def test_others_get_403_and_an_access_denied_event(signed_in, request, who):
    user = request.getfixturevalue(who)
    response = signed_in(user).get(URL)
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()
    denied = AuditEvent.objects.get(action=AuditAction.ACCESS_DENIED, actor_username=user.username)
    assert denied.outcome == AuditOutcome.DENIED and denied.details == {"operation": "audit.export", "target": ""}
