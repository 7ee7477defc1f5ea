"""Stopping a session: the confirmation form posts here; refusals and upstream faults come back as messages."""
from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from sessions_app import exceptions
from sessions_app.models import AuditAction, AuditEvent, RestoreSession
from tests.conftest import PASSWORD
from tests.views.conftest import STOP, make_session, page_text


def url(session):
    return reverse("sessions_app:session-stop", args=[getattr(session, "upstream_id", session)])


def detail(session):
    return reverse("sessions_app:session-detail", args=[session.upstream_id])


def test_anonymous_is_sent_to_sign_in(client, db):
    response = client.post(url(uuid.uuid4()))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_get_lands_on_the_session_page_with_a_message_and_the_stop_button(operator_client, operator,
                                                                         backed_up_org, start_session, sim):
    """The sign-in page sends a person whose sign-in expired back to the stop URL with a GET."""
    session = start_session(operator, backed_up_org)
    before = sim.request_count(STOP)
    response = operator_client.get(url(session), follow=True)
    assert response.redirect_chain == [(detail(session), 302)]
    text = page_text(response)
    assert "Nothing was stopped: stopping takes a press of the Stop button" in text
    assert "Stop session" in text and "State Working" in text
    assert sim.request_count(STOP) == before
    assert not AuditEvent.objects.filter(action=AuditAction.SESSION_STOP).exists()


def test_get_after_sign_in_redirect_reaches_the_session_page(client, operator, backed_up_org, start_session):
    session = start_session(operator, backed_up_org)
    response = client.get(url(session))
    assert response.status_code == 302 and response["Location"] == f"{reverse('login')}?next={url(session)}"
    response = client.post(response["Location"], {"username": "olivia", "password": PASSWORD}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1] == (detail(session), 302)
    assert "Stop session" in page_text(response)


def test_get_on_a_stopped_session_says_it_has_stopped(operator_client, backed_up_org):
    session = make_session(backed_up_org, state="stopped")
    response = operator_client.get(url(session), follow=True)
    assert response.redirect_chain == [(detail(session), 302)]
    assert "This restore session has already stopped." in page_text(response)


def test_get_by_someone_who_may_not_stop_stops_nothing_and_offers_no_button(signed_in, auditor, operator,
                                                                            backed_up_org, start_session):
    session = start_session(operator, backed_up_org)
    response = signed_in(auditor).get(url(session), follow=True)
    text = page_text(response)
    assert "Nothing was stopped." in text and "Stop session" not in text
    assert RestoreSession.objects.get(pk=session.pk).state == "working"


def test_stop_from_the_dashboard_returns_to_the_dashboard(operator_client, operator, backed_up_org, start_session):
    session = start_session(operator, backed_up_org)
    dashboard = reverse("sessions_app:dashboard") + "?page=1"
    response = operator_client.post(url(session), {"next": dashboard})
    assert response.status_code == 302 and response["Location"] == dashboard
    assert RestoreSession.objects.get(pk=session.pk).state == "stopped"


def test_stop_ignores_a_next_address_on_another_site(operator_client, operator, backed_up_org, start_session):
    session = start_session(operator, backed_up_org)
    response = operator_client.post(url(session), {"next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == detail(session)


def test_detail_page_form_posts_here(operator_client, operator, backed_up_org, start_session):
    session = start_session(operator, backed_up_org)
    html = operator_client.get(detail(session)).content.decode()
    assert f'action="{url(session)}"' in html and 'method="post"' in html
    assert "Stop this restore session?" in html


def test_stop_stops_and_says_so(operator_client, operator, backed_up_org, start_session, sim):
    session = start_session(operator, backed_up_org)
    before = sim.request_count(STOP)
    response = operator_client.post(url(session), follow=True)
    assert response.redirect_chain == [(detail(session), 302)]
    text = page_text(response)
    assert "The restore session has stopped." in text
    assert "State Stopped" in text and "Stop session" not in text
    assert sim.request_count(STOP) == before + 1
    assert AuditEvent.objects.filter(action=AuditAction.SESSION_STOP, session_upstream_id=str(session.upstream_id),
                                     actor_username="olivia").exists()


def test_stopping_a_stopped_session_says_it_already_stopped(operator_client, operator, backed_up_org, start_session,
                                                            sim):
    session = start_session(operator, backed_up_org)
    operator_client.post(url(session))
    before = sim.request_count(STOP)
    response = operator_client.post(url(session), follow=True)
    assert exceptions.SESSION_ALREADY_STOPPED in page_text(response)
    assert sim.request_count(STOP) == before


def test_upstream_failure_is_a_message_and_the_session_keeps_working(operator_client, operator, backed_up_org,
                                                                     start_session, sim):
    session = start_session(operator, backed_up_org)
    sim.fault(path="(?i)/stop$", status=503)
    sim.fault(path="(?i)restoresessions/[^/]+$", status=503)
    response = operator_client.post(url(session), follow=True)
    assert response.status_code == 200
    assert "VB365 could not complete this (HTTP 503)" in page_text(response)
    session.refresh_from_db()
    assert session.state == "working"
    sim.clear_faults()
    assert "Stop session" in page_text(operator_client.get(detail(session)))


@pytest.mark.parametrize("which", ["foreign", "guessed"])
def test_operator_gets_404_for_foreign_or_guessed_session(operator_client, helpdesk, other_org, start_session, sim,
                                                          which):
    foreign = start_session(helpdesk, other_org) if which == "foreign" else None
    before = sim.request_count(STOP)
    assert operator_client.post(url(foreign or uuid.uuid4())).status_code == 404
    assert sim.request_count(STOP) == before
    if foreign is not None:
        assert RestoreSession.objects.get(upstream_id=foreign.upstream_id).state == "working"


def test_person_without_a_role_gets_404(signed_in, nobody, operator, backed_up_org, start_session, sim):
    session = start_session(operator, backed_up_org)
    before = sim.request_count(STOP)
    assert signed_in(nobody).post(url(session)).status_code == 404
    assert sim.request_count(STOP) == before


def test_auditor_stop_sends_nothing_upstream(signed_in, auditor, operator, backed_up_org, start_session, sim):
    session = start_session(operator, backed_up_org)
    before = sim.request_count(STOP)
    signed_in(auditor).post(url(session))
    assert sim.request_count(STOP) == before
    session.refresh_from_db()
    assert session.state == "working"
    assert AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED, actor_username="alice",
                                     session_upstream_id=str(session.upstream_id)).exists()


def test_auditor_stop_is_forbidden(signed_in, auditor, operator, backed_up_org, start_session):
    session = start_session(operator, backed_up_org)
    assert signed_in(auditor).post(url(session)).status_code == 403


@pytest.mark.parametrize("who", ["helpdesk", "admin_user"])
def test_helpdesk_and_admin_may_stop_anyones_session(signed_in, request, operator, backed_up_org, start_session,
                                                     who):
    session = start_session(operator, backed_up_org)
    response = signed_in(request.getfixturevalue(who)).post(url(session), follow=True)
    assert "The restore session has stopped." in page_text(response)


def test_exchange_only_operator_cannot_stop_other_workloads(signed_in, exchange_operator, helpdesk, other_org,
                                                           start_session, sim):
    session = start_session(helpdesk, other_org, workload="onedrive")
    before = sim.request_count(STOP)
    assert signed_in(exchange_operator).post(url(session)).status_code == 404
    assert sim.request_count(STOP) == before


def test_a_tenant_may_not_stop_a_provider_session_and_the_refusal_is_audited(tenant_pages, provider_session, sim):
    stops = sim.request_count(STOP)

    response = tenant_pages.post(url(provider_session))

    assert response.status_code == 403
    assert sim.request_count(STOP) == stops
    assert RestoreSession.objects.get(pk=provider_session.pk).state == "working"
    refused = AuditEvent.objects.get(action=AuditAction.ACCESS_DENIED,
                                     session_upstream_id=str(provider_session.upstream_id))
    assert refused.actor_username.startswith("tenant:") and refused.details["operation"] == "session.stop"
