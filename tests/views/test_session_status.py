"""The live part of the detail page, polled while a session works."""
from __future__ import annotations

import uuid

from django.urls import reverse

from tests.views.conftest import make_session, page_text


def url(session):
    return reverse("sessions_app:session-status", args=[getattr(session, "upstream_id", session)])


def test_anonymous_is_sent_to_sign_in(client, db):
    response = client.get(url(uuid.uuid4()))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_working_session_returns_the_fragment_with_its_state(operator_client, operator, backed_up_org,
                                                             start_session):
    session = start_session(operator, backed_up_org)
    response = operator_client.get(url(session))
    assert response.status_code == 200
    assert response.templates[0].name == "sessions_app/_session_live.html"
    assert "base.html" not in [t.name for t in response.templates]
    assert response["X-Session-State"] == "working"
    assert "<html" not in response.content.decode()
    assert "State Working" in page_text(response)


def test_session_stopped_upstream_is_reported_stopped(operator_client, operator, backed_up_org, start_session):
    from sessions_app.upstream import client as upstream

    session = start_session(operator, backed_up_org)
    upstream.get_client().stop_restore_session(str(session.upstream_id))
    response = operator_client.get(url(session))
    assert response["X-Session-State"] == "stopped"
    assert "State Stopped" in page_text(response)


def test_upstream_failure_is_shown_in_the_fragment(operator_client, operator, backed_up_org, start_session, sim):
    session = start_session(operator, backed_up_org)
    sim.fault(path="(?i)restoresessions", status=503)
    response = operator_client.get(url(session))
    assert response.status_code == 200
    assert response["X-Session-State"] == "working"
    assert "Showing the last known state." in page_text(response)


def test_events_are_paged(signed_in, helpdesk, backed_up_org):
    from django.utils import timezone

    from sessions_app.models import RestoreSessionEvent

    session = make_session(backed_up_org)
    RestoreSessionEvent.objects.bulk_create([
        RestoreSessionEvent(session=session, upstream_id=uuid.uuid4(), order=i, title=f"event number {i}",
                            fetched_at=timezone.now()) for i in range(25)])
    client = signed_in(helpdesk)
    first = page_text(client.get(url(session)))
    assert "event number 19" in first and "event number 20" not in first
    assert "Page 1 of 2 (25 in all)" in first
    second = page_text(client.get(url(session), {"events": 2}))
    assert "event number 24" in second and "event number 0 " not in second


def test_foreign_or_guessed_session_is_not_found(operator_client, backed_up_org, other_org):
    assert operator_client.get(url(make_session(other_org))).status_code == 404
    assert operator_client.get(url(uuid.uuid4())).status_code == 404
