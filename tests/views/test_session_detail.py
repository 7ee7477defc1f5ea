"""One session's page: what was asked and why, its live state and events, for those who may see it."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from sessions_app.models import RestoreSession
from tests.views.conftest import PROVIDER_SECRETS, make_session, page_text, start_form, table_rows


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


def test_a_tenant_sees_when_and_what_the_provider_did_but_none_of_its_internal_fields(
        tenant_pages, signed_in, helpdesk, provider_session):
    response = tenant_pages.get(url(provider_session))

    text = page_text(response)
    assert response.status_code == 200
    assert "Workload Exchange" in text and "State Working" in text and "Started by Your service provider" in text
    assert not any(secret in text for secret in PROVIDER_SECRETS)
    assert "Initiated by" not in text and "Client host" not in text and provider_session.client_host not in text
    assert "Stop session" not in text
    staff_text = page_text(signed_in(helpdesk).get(url(provider_session)))
    assert "INC-PROVIDER-77" in staff_text and "on behalf of olivia" in staff_text


def test_a_tenant_sees_its_own_users_session_in_full(tenant_pages, tenant_organization):
    started = tenant_pages.post(reverse("sessions_app:session-start"),
                                start_form(tenant_organization, reason="TENANT-REASON my inbox", scope="my mailbox"))
    text = page_text(tenant_pages.get(started["Location"]))

    assert "Reason TENANT-REASON my inbox" in text and "Scope my mailbox" in text
    assert "Requested by tenant:" in text and "Stop session" in text


@pytest.mark.parametrize("events_page", ["99999999999999999999", "-1", "1e400"])
def test_an_events_page_number_beyond_any_range_shows_the_events(operator_client, operator, backed_up_org,
                                                                  start_session, events_page):
    session = start_session(operator, backed_up_org)
    response = operator_client.get(url(session), {"events": events_page})
    assert response.status_code == 200
    assert "No events yet." not in page_text(response)


def test_a_session_started_in_vb365_says_so_instead_of_a_blank_requester(signed_in, helpdesk, backed_up_org):
    session = make_session(backed_up_org, origin="upstream", initiated_by="CONTOSO\\admin")
    assert "Requested by Started in VB365 by CONTOSO\\admin" in page_text(signed_in(helpdesk).get(url(session)))


def test_times_in_vb365_details_are_shown_in_the_persons_time_zone(signed_in, helpdesk, backed_up_org, settings):
    session = make_session(backed_up_org, details="Restore point 42 (2026-11-30T09:02:47.000000Z).")
    client = signed_in(helpdesk)
    client.cookies["tz"] = "Europe/Berlin"
    html = client.get(url(session)).content.decode()
    assert "T09:02:47.000000Z" not in html.replace('datetime="', "")
    assert "Details Restore point 42 (2026-11-30 10:02:47 CET)." in page_text(client.get(url(session)))


def test_the_start_and_stop_events_show_no_type_rather_than_none(operator_client, operator, backed_up_org,
                                                                  start_session):
    session = start_session(operator, backed_up_org)
    response = operator_client.get(url(session))
    [started] = [row for row in table_rows(response, "session-events") if "Restore session started" in row]
    assert started[1] == "—"


def test_events_are_newest_first_while_the_session_works(operator_client, operator, backed_up_org, start_session,
                                                         sim):
    session = start_session(operator, backed_up_org)
    sim.advance_clock(16)
    RestoreSession.objects.filter(pk=session.pk).update(fetched_at=timezone.now() - timedelta(minutes=1))
    response = operator_client.get(url(session))
    orders = [int(row[0]) for row in table_rows(response, "session-events")]
    assert len(orders) >= 3 and orders == sorted(orders, reverse=True)
    assert "Newest first while the session works" in page_text(response)


def test_an_ended_sessions_events_are_oldest_first_and_can_be_turned_round(operator_client, operator, backed_up_org,
                                                                          start_session, sim):
    session = start_session(operator, backed_up_org)
    sim.advance_clock(16)
    operator_client.post(reverse("sessions_app:session-stop", args=[session.upstream_id]))
    response = operator_client.get(url(session))
    orders = [int(row[0]) for row in table_rows(response, "session-events")]
    assert orders == sorted(orders) and len(orders) >= 3
    assert "Oldest first · Show newest first" in page_text(response)
    turned = operator_client.get(url(session), {"events_order": "newest"})
    assert [int(row[0]) for row in table_rows(turned, "session-events")] == orders[::-1]
    assert "Newest first · Show oldest first" in page_text(turned)


def test_last_read_from_vb365_is_in_the_live_part(operator_client, operator, backed_up_org, start_session):
    session = start_session(operator, backed_up_org)
    RestoreSession.objects.filter(pk=session.pk).update(fetched_at=timezone.now() - timedelta(minutes=1))
    fragment = operator_client.get(reverse("sessions_app:session-status", args=[session.upstream_id]))
    session.refresh_from_db()
    assert f"Last read from VB365 {timezone.localtime(session.fetched_at):%Y-%m-%d %H:%M:%S}" in page_text(fragment)
