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
    assert started[2] == "olivia" and started[6] == backed_up_org.name and started[7] == "Exchange"
    assert started[5] == f"Started an Exchange restore session in {backed_up_org.name}."
    assert started[9] == "first reason · mailbox · INC-9"
    assert "Export these events as CSV" in page_text(response)


@pytest.mark.parametrize("who", ["operator", "helpdesk", "nobody"])
def test_others_are_refused_and_the_refusal_is_recorded(signed_in, request, who):
    user = request.getfixturevalue(who)
    response = signed_in(user).get(URL)
    assert response.status_code == 403
    denied = AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED, actor_username=user.username).get()
    assert denied.outcome == AuditOutcome.DENIED and denied.details == {"operation": "audit.view", "target": ""}


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


@pytest.mark.parametrize(("page", "shown"), [("99999999999999999999", "Page 2 of 2"), ("-3", "Page 2 of 2"),
                                             ("9223372036854775808", "Page 2 of 2"), ("1e400", "Page 1 of 2")])
def test_a_page_number_beyond_any_range_shows_a_page_never_an_error(signed_in, auditor, page, shown):
    for n in range(30):
        audit_event_record(action=AuditAction.EXPORT, actor_username=f"user{n}")
    response = signed_in(auditor).get(URL, {"action": "export", "page": page})
    assert response.status_code == 200
    assert shown in page_text(response)


def test_grant_changes_say_who_where_and_whether_added_or_removed(signed_in, auditor, admin_user, operator,
                                                                   backed_up_org):
    from sessions_app.models import AccessGrant
    from sessions_app.services import accounts

    grant = accounts.grant_add(user=operator, organization=backed_up_org, workload="onedrive", actor=admin_user)
    accounts.grant_revoke(grant=AccessGrant.objects.get(pk=grant.pk), actor=admin_user)
    rows = [row for row in table_rows(signed_in(auditor).get(URL, {"action": "grant_change"}), "audit-table")
            if row[2] == "root"]
    assert [row[5].split("Details")[0] for row in rows] == [
        f"Removed a grant: olivia may no longer restore OneDrive in {backed_up_org.name} (left: all workloads).",
        f"Added a grant: olivia may now restore OneDrive in {backed_up_org.name}.",
    ]


def test_grant_changes_recorded_in_the_older_shape_read_the_same(signed_in, auditor, backed_up_org):
    audit_event_record(action=AuditAction.GRANT_CHANGE, actor_username="system", organization=backed_up_org,
                       details={"user": "oscar", "workload": "teams", "revoked": True})
    [row] = table_rows(signed_in(auditor).get(URL, {"action": "grant_change"}), "audit-table")
    assert row[5].startswith(f"Removed a grant: oscar may no longer restore Teams in {backed_up_org.name}.")


def test_rows_link_the_whole_session_id_and_the_person(signed_in, auditor, backed_up_org):
    import uuid as uuid_module

    session_id = str(uuid_module.uuid4())
    audit_event_record(action=AuditAction.SESSION_STOP, actor_username="olivia", organization=backed_up_org,
                       workload="sharepoint", session_upstream_id=session_id)
    response = signed_in(auditor).get(URL)
    html = response.content.decode()
    link = reverse("sessions_app:session-detail", args=[session_id])
    assert f'<a href="{link}"><code>{session_id}</code></a>' in html
    assert '<a href="?actor=olivia"' in html
    [row] = [row for row in table_rows(response, "audit-table") if row[3] == "Session stopped"]
    assert row[8] == session_id and row[7] == "SharePoint"
    assert row[5] == f"Stopped a SharePoint restore session in {backed_up_org.name}."


def test_details_are_on_the_page_with_times_in_the_viewers_zone(signed_in, auditor):
    audit_event_record(action=AuditAction.TOKEN_CREATE, actor_username="root", details={
        "user": "olivia", "token": "rd_ab12", "kind": "staff", "expires_at": "2026-11-30T09:02:47+00:00"})
    client = signed_in(auditor)
    client.cookies["tz"] = "Europe/Berlin"
    response = client.get(URL, {"action": "token_create"})
    [row] = table_rows(response, "audit-table")
    assert row[5].startswith("Created the API token rd_ab12… for olivia.Details")
    assert ("Created the API token rd_ab12… for olivia. Details user olivia expires at 2026-11-30 10:02:47 CET "
            "kind staff token rd_ab12") in page_text(response)
    assert "<details>" in response.content.decode()


def test_a_session_id_that_is_not_one_is_shown_without_a_link(signed_in, auditor):
    audit_event_record(action=AuditAction.ACCESS_DENIED, actor_username="olivia", session_upstream_id="not-an-id",
                       details={"operation": "session.view", "target": "not-an-id", "why": "no such session"})
    response = signed_in(auditor).get(URL, {"action": "access_denied"})
    assert response.status_code == 200
    [row] = [row for row in table_rows(response, "audit-table") if row[2] == "olivia"]
    assert row[5].startswith("Refused session.view of not-an-id: no such session.") and row[8] == "not-an-id"


def test_the_trail_filters_by_opened_backup_contents(signed_in, auditor, backed_up_org):
    audit_event_record(action=AuditAction.BROWSE_OPEN, actor_username="olivia", organization=backed_up_org,
                       workload="exchange", session_upstream_id="0c82eff8-0f80-49f5-82b2-3ac674af11a7",
                       details={"container": "mailbox", "container_id": "m-1", "name": "Adele Vance"})
    audit_event_record(action=AuditAction.EXPORT, actor_username="alice")
    response = signed_in(auditor).get(URL, {"action": AuditAction.BROWSE_OPEN})
    rows = table_rows(response, "audit-table")
    assert [row[3] for row in rows] == ["Backup contents opened"]
    opened = f"Opened the mailbox Adele Vance in an Exchange restore session in {backed_up_org.name}."
    assert rows[0][5].startswith(opened)
