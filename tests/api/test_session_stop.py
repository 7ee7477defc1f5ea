from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from rest_framework.test import APIClient

from sessions_app import exceptions
from sessions_app.models import AuditAction, AuditEvent, AuditOutcome, Organization, RestoreSession
from tests.api.conftest import start_body
from tests.conftest import SimControl

STOP = "POST /v8/RestoreSessions/{restoreSessionId}/Stop"


def stop(client: APIClient, session_id: str) -> Any:
    return client.post(f"/api/sessions/{session_id}/stop/")


def test_requester_stops_their_session(client_for: Callable[..., APIClient], operator: Any,
                                       backed_up_org: Organization,
                                       start_session: Callable[..., dict[str, Any]]) -> None:
    started = start_session(operator, backed_up_org)

    response = stop(client_for(operator), started["id"])

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == started["id"]
    assert body["state"] == "stopped"
    assert body["ended_at"] is not None
    assert RestoreSession.objects.get(upstream_id=started["id"]).state == "stopped"


def test_stopping_twice_is_409(client_for: Callable[..., APIClient], operator: Any, backed_up_org: Organization,
                               start_session: Callable[..., dict[str, Any]]) -> None:
    started = start_session(operator, backed_up_org)
    client = client_for(operator)
    stop(client, started["id"])

    response = stop(client, started["id"])

    assert response.status_code == 409
    assert response.json() == {"message": exceptions.SESSION_ALREADY_STOPPED, "code": "already_stopped",
                                "extra": {}}


def test_helpdesk_stops_anyones_session(client_for: Callable[..., APIClient], operator: Any, helpdesk: Any,
                                        backed_up_org: Organization,
                                        start_session: Callable[..., dict[str, Any]]) -> None:
    started = start_session(operator, backed_up_org)

    assert stop(client_for(helpdesk), started["id"]).status_code == 200


def test_auditor_may_not_stop(client_for: Callable[..., APIClient], operator: Any, auditor: Any,
                              backed_up_org: Organization, start_session: Callable[..., dict[str, Any]]) -> None:
    started = start_session(operator, backed_up_org)

    response = stop(client_for(auditor), started["id"])

    assert response.status_code == 403
    assert RestoreSession.objects.get(upstream_id=started["id"]).state == "working"


def test_session_outside_grants_or_unknown_is_404(client_for: Callable[..., APIClient], operator: Any,
                                                  exchange_operator: Any, unseen_session_id: str) -> None:
    response = stop(client_for(operator), unseen_session_id)

    assert response.status_code == 404
    assert RestoreSession.objects.get(requested_by=exchange_operator).state == "working"


def test_user_without_role_is_refused(client_for: Callable[..., APIClient], nobody: Any, operator: Any,
                                      backed_up_org: Organization,
                                      start_session: Callable[..., dict[str, Any]]) -> None:
    started = start_session(operator, backed_up_org)

    assert stop(client_for(nobody), started["id"]).status_code == 403


def test_anonymous_is_401(api_client: APIClient, db: Any) -> None:
    assert stop(api_client, str(uuid.uuid4())).status_code == 401


def test_upstream_unavailable_is_503_and_the_session_stays_working(
        client_for: Callable[..., APIClient], operator: Any, backed_up_org: Organization, sim: SimControl,
        start_session: Callable[..., dict[str, Any]]) -> None:
    started = start_session(operator, backed_up_org)
    sim.fault(status=503, path="Stop")

    response = stop(client_for(operator), started["id"])

    assert response.status_code == 503
    assert response.has_header("Retry-After")
    assert RestoreSession.objects.get(upstream_id=started["id"]).state == "working"


def test_upstream_timeout_is_504(client_for: Callable[..., APIClient], operator: Any, backed_up_org: Organization,
                                 sim: SimControl, settings: Any,
                                 start_session: Callable[..., dict[str, Any]]) -> None:
    started = start_session(operator, backed_up_org)
    settings.VB365_READ_TIMEOUT = 0.5
    # The read-back after the failed stop times out as well, so the outcome stays unknown.
    sim.fault(latency_ms=2000, path="RestoreSessions")

    response = stop(client_for(operator), started["id"])

    assert response.status_code == 504


def test_a_tenant_may_not_stop_a_provider_session_and_the_refusal_is_audited(
        tenant_api: APIClient, provider_session: RestoreSession, sim: SimControl) -> None:
    stops = sim.request_count(STOP)

    response = stop(tenant_api, str(provider_session.upstream_id))

    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert sim.request_count(STOP) == stops
    assert RestoreSession.objects.get(pk=provider_session.pk).state == "working"
    refused = AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED,
                                        session_upstream_id=str(provider_session.upstream_id)).get()
    assert refused.actor_username.startswith("tenant:")
    assert refused.outcome == AuditOutcome.DENIED and refused.details["operation"] == "session.stop"


def test_a_tenant_stops_a_session_of_its_own_users(tenant_api: APIClient, tenant_organization: Organization,
                                                   provider_session: RestoreSession) -> None:
    started = tenant_api.post("/api/sessions/", start_body(tenant_organization), format="json").json()

    assert stop(tenant_api, started["id"]).json()["state"] == "stopped"
