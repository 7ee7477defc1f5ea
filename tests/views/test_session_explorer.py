"""The explorer on a session's page: shown while the session works, to those who may browse it."""
from __future__ import annotations

from django.urls import reverse

from sessions_app.services import restore_sessions


def url(session):
    return reverse("sessions_app:session-detail", args=[session.upstream_id])


def test_the_requester_gets_the_explorer_of_a_working_session(operator_client, operator, backed_up_org,
                                                              start_session):
    session = start_session(operator, backed_up_org)
    html = operator_client.get(url(session)).content.decode()
    assert 'id="explorer"' in html and 'role="tree"' in html
    assert f'data-api="/api/sessions/{session.upstream_id}/browse/"' in html
    assert "sessions_app/explorer.js" in html


def test_a_stopped_session_has_no_explorer(operator_client, operator, backed_up_org, start_session):
    session = start_session(operator, backed_up_org)
    restore_sessions.restore_session_stop(actor=operator, session=session)
    html = operator_client.get(url(session)).content.decode()
    assert 'id="explorer"' not in html and "explorer.js" not in html


def test_auditors_see_the_session_but_not_its_contents(signed_in, auditor, operator, backed_up_org, start_session):
    session = start_session(operator, backed_up_org)
    response = signed_in(auditor).get(url(session))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="explorer"' not in html and 'id="explorer-not-allowed"' in html
