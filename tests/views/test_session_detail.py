"""One session's page: what was asked and why, its live state and events, for those who may see it."""
from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from sessions_app.models import RestoreSession
from tests.views.conftest import make_session, page_text


def url(session):
    return reverse("sessions_app:session-detail", args=[getattr(session, "upstream_id", session)])


def test_anonymous_is_sent_to_sign_in(client, db):
    target = url(uuid.uuid4())
    response = client.get(target)
    assert response.status_code == 302 and response["Location"] == f"{reverse('login')}?next={target}"


def test_requester_sees_request_state_and_events(operator_client, operator, backed_up_org, start_session):
    session = start_session(operator, backed_up_org, reason="Lost invoices folder", scope="mailbox of a.b",
                            show_deleted=True)
    response = operator_client.get(url(session))
    assert response.status_code == 200
    assert "sessions_app/session_detail.html" in [t.name for t in response.templates]
    text = page_text(response)
    assert f"Exchange restore session — {backed_up_org.name}" in text
    assert "Reason Lost invoices folder" in text
    assert "Scope or ticket mailbox of a.b" in text
    assert "Point in time Latest backup" in text
    assert "Options deleted items" in text
    assert "Requested by olivia" in text
    assert "Origin Restore Desk" in text
    assert "State Working" in text
    assert "Events" in text and "No events yet." not in text
    assert "Stop session" in text


@pytest.mark.parametrize("which", ["foreign", "guessed"])
def test_operator_gets_404_for_a_foreign_or_guessed_session(operator_client, helpdesk, other_org, start_session,
                                                            which):
    target = start_session(helpdesk, other_org) if which == "foreign" else uuid.uuid4()
    assert operator_client.get(url(target)).status_code == 404


def test_malformed_id_is_not_found(operator_client):
    assert operator_client.get("/sessions/not-a-uuid/").status_code == 404


def test_exchange_only_operator_sees_exchange_but_not_onedrive(signed_in, exchange_operator, other_org):
    exchange = make_session(other_org, workload="exchange")
    onedrive = make_session(other_org, workload="onedrive")
    client = signed_in(exchange_operator)
    assert client.get(url(exchange)).status_code == 200
    assert client.get(url(onedrive)).status_code == 404


def test_nobody_gets_404(signed_in, nobody, backed_up_org):
    assert signed_in(nobody).get(url(make_session(backed_up_org))).status_code == 404


@pytest.mark.parametrize(("who", "may_stop"), [("helpdesk", True), ("admin_user", True), ("auditor", False)])
def test_reviewers_see_any_session_and_only_some_may_stop(signed_in, request, operator, backed_up_org,
                                                          start_session, who, may_stop):
    session = start_session(operator, backed_up_org)
    response = signed_in(request.getfixturevalue(who)).get(url(session))
    assert response.status_code == 200
    assert ("Stop session" in page_text(response)) is may_stop


def test_finished_session_is_not_read_again_and_offers_no_stop(operator_client, backed_up_org, sim):
    session = make_session(backed_up_org, state="stopped", result="warning", reason="old one")
    before = sim.stats()["requests"]
    response = operator_client.get(url(session))
    assert response.status_code == 200
    text = page_text(response)
    assert "State Stopped" in text and "Result Warning" in text and "Stop session" not in text
    assert sim.stats()["requests"] == before


def test_upstream_down_shows_the_last_known_state(operator_client, operator, backed_up_org, start_session, sim):
    session = start_session(operator, backed_up_org, reason="still visible when down")
    sim.fault(down=True)
    response = operator_client.get(url(session))
    assert response.status_code == 200
    text = page_text(response)
    assert "Showing the last known state." in text
    assert "still visible when down" in text and "State Working" in text


def test_session_forgotten_by_vb365_is_kept_and_says_so(operator_client, operator, backed_up_org, start_session):
    session = start_session(operator, backed_up_org)
    RestoreSession.objects.filter(pk=session.pk).update(upstream_id=uuid.uuid4())
    session.refresh_from_db()
    text = page_text(operator_client.get(url(session)))
    assert "VB365 record Removed by VB365 on" in text


def test_session_started_elsewhere_shows_initiator_and_origin(signed_in, helpdesk, backed_up_org):
    session = make_session(backed_up_org, origin="upstream", reason="", upstream_reason="console restore",
                           initiated_by="CONTOSO\\admin")
    text = page_text(signed_in(helpdesk).get(url(session)))
    assert "Reason console restore" in text
    assert "Initiated by (VB365) CONTOSO\\admin" in text
    assert "Origin VB365 (console, PowerShell, other clients)" in text
