"""The audit trail page: for auditors and admins; everyone else is refused, and the refusal is itself audited."""
from __future__ import annotations

import pytest
from django.urls import reverse

from sessions_app.models import AuditAction, AuditEvent, AuditOutcome
from sessions_app.services.audit import audit_event_record
from tests.views.conftest import page_text, table_rows

URL = reverse("sessions_app:audit-list")


def actions(response):
    return [row[3] for row in table_rows(response, "audit-table")]


def test_anonymous_is_sent_to_sign_in(client, db):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"] == f"{reverse('login')}?next={URL}"


@pytest.mark.parametrize("who", ["auditor", "admin_user"])
def test_auditor_and_admin_see_the_trail_newest_first(signed_in, request, backed_up_org, who):
    audit_event_record(action=AuditAction.SESSION_START, actor_username="olivia", organization=backed_up_org,
                       workload="exchange", reason="first reason", scope="mailbox", ticket="INC-9")
    audit_event_record(action=AuditAction.EXPORT, actor_username="alice")
    response = signed_in(request.getfixturevalue(who)).get(URL)
    assert response.status_code == 200
    assert "sessions_app/audit_list.html" in [t.name for t in response.templates]
    rows = table_rows(response, "audit-table")
    assert [row[3] for row in rows].index("Export") < [row[3] for row in rows].index("Session started")
    assert [int(row[0]) for row in rows] == sorted((int(row[0]) for row in rows), reverse=True)
    started = next(row for row in rows if row[3] == "Session started")
    assert started[2] == "olivia" and started[5] == backed_up_org.name and started[6] == "exchange"
    assert started[8] == "first reason · mailbox · INC-9"
    assert "Export these events as CSV" in page_text(response)


@pytest.mark.parametrize("who", ["operator", "helpdesk", "nobody"])
def test_others_are_refused_and_the_refusal_is_recorded(signed_in, request, who):
    user = request.getfixturevalue(who)
    response = signed_in(user).get(URL)
    assert response.status_code == 403
    denied = AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED, actor_username=user.username).get()
    assert denied.outcome == AuditOutcome.DENIED and denied.details == {"page": "audit"}


@pytest.mark.parametrize(("query", "expected"), [
    ({"actor": "olivia"}, ["Session started"]),
    ({"action": "export"}, ["Export"]),
    ({"outcome": "failure"}, ["Session start failed"]),
    ({"workload": "teams"}, ["Session start failed"]),
    ({"search": "PAYROLL"}, ["Session start failed"]),
])
def test_each_filter_narrows_the_trail(signed_in, auditor, backed_up_org, query, expected):
    audit_event_record(action=AuditAction.SESSION_START, actor_username="olivia", organization=backed_up_org,
                       workload="exchange", reason="mail")
    audit_event_record(action=AuditAction.EXPORT, actor_username="someone")
    audit_event_record(action=AuditAction.SESSION_START_FAILED, actor_username="oscar", outcome=AuditOutcome.FAILURE,
                       workload="teams", reason="payroll channel")
    client = signed_in(auditor)
    assert actions(client.get(URL, query)) == expected


def test_organization_filter(signed_in, auditor, backed_up_org, other_org):
    audit_event_record(action=AuditAction.SESSION_START, actor_username="a", organization=backed_up_org)
    audit_event_record(action=AuditAction.SESSION_STOP, actor_username="b", organization=other_org)
    response = signed_in(auditor).get(URL, {"organization": str(other_org.upstream_id)})
    assert actions(response) == ["Session stopped"]


def test_nothing_matching_says_so(signed_in, auditor):
    response = signed_in(auditor).get(URL, {"actor": "no-such-person"})
    assert "No audit events match." in page_text(response)


def test_export_link_carries_the_filters(signed_in, auditor):
    html = signed_in(auditor).get(URL, {"action": "export", "page": "1"}).content.decode()
    assert f'href="{reverse("sessions_app:audit-export")}?action=export"' in html


def test_trail_is_paged(signed_in, auditor):
    for n in range(30):
        audit_event_record(action=AuditAction.EXPORT, actor_username=f"user{n}")
    client = signed_in(auditor)
    first = client.get(URL, {"action": "export"})
    assert len(table_rows(first, "audit-table")) == 25
    assert "Page 1 of 2" in page_text(first)
    assert len(table_rows(client.get(URL, {"action": "export", "page": 2}), "audit-table")) == 5
