from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from sessions_app.models import Organization, RestoreSession
from sessions_app.services import restore_sessions
from tests.api.conftest import PROVIDER_ONLY_KEYS, PROVIDER_SECRETS
from tests.conftest import SimControl

GET_SESSION = "GET /v8/RestoreSessions/{restoreSessionId}"


def test_requester_reads_their_session(client_for: Callable[..., APIClient], operator: Any,
                                       backed_up_org: Organization,
                                       start_session: Callable[..., dict[str, Any]]) -> None:
    started = start_session(operator, backed_up_org)

    response = client_for(operator).get(f"/api/sessions/{started['id']}/")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == started["id"]
    assert body["requested_by"] == "olivia"
    assert body["state"] == "working"
    assert body["fetched_at"] >= started["fetched_at"]


def test_working_session_is_reread_from_the_upstream(client_for: Callable[..., APIClient], operator: Any,
                                                     backed_up_org: Organization, sim: SimControl,
                                                     start_session: Callable[..., dict[str, Any]]) -> None:
    started = start_session(operator, backed_up_org)
    _age(started["id"])
    before = sim.request_count(GET_SESSION)

    client_for(operator).get(f"/api/sessions/{started['id']}/")

    assert sim.request_count(GET_SESSION) == before + 1


def test_a_record_read_within_the_live_interval_is_served_without_asking_upstream(
        client_for: Callable[..., APIClient], operator: Any, backed_up_org: Organization, sim: SimControl,
        start_session: Callable[..., dict[str, Any]]) -> None:
    started = start_session(operator, backed_up_org)
    before = sim.request_count(GET_SESSION)

    for _ in range(3):
        assert client_for(operator).get(f"/api/sessions/{started['id']}/").status_code == 200

    assert sim.request_count(GET_SESSION) == before


def _age(session_id: str) -> None:
    """Make the stored record older than the live refresh interval."""
    RestoreSession.objects.filter(upstream_id=session_id).update(
        fetched_at=timezone.now() - restore_sessions.LIVE_REFRESH_INTERVAL * 2)


def test_upstream_down_serves_the_cached_record(client_for: Callable[..., APIClient], operator: Any,
                                                backed_up_org: Organization, sim: SimControl,
                                                start_session: Callable[..., dict[str, Any]]) -> None:
    started = start_session(operator, backed_up_org)
    _age(started["id"])
    sim.fault(down=True)

    response = client_for(operator).get(f"/api/sessions/{started['id']}/")

    assert response.status_code == 200
    assert response.json()["fetched_at"] < started["fetched_at"]


@pytest.mark.parametrize("role", ["helpdesk", "auditor"])
def test_review_roles_read_any_session(request: pytest.FixtureRequest, client_for: Callable[..., APIClient],
                                       operator: Any, backed_up_org: Organization, role: str,
                                       start_session: Callable[..., dict[str, Any]]) -> None:
    started = start_session(operator, backed_up_org)

    response = client_for(request.getfixturevalue(role)).get(f"/api/sessions/{started['id']}/")

    assert response.status_code == 200


def test_upstream_session_shape(client_for: Callable[..., APIClient], helpdesk: Any, history: int) -> None:
    session = RestoreSession.objects.filter(state="stopped").first()
    assert session is not None

    body = client_for(helpdesk).get(f"/api/sessions/{session.upstream_id}/").json()

    assert body["origin"] == "upstream"
    assert body["requested_by"] is None
    assert body["state"] == "stopped"
    assert body["ended_at"] is not None
    assert body["result"] in {"success", "warning", "failed", None}


def test_session_outside_grants_or_unknown_is_404(client_for: Callable[..., APIClient], operator: Any,
                                                  unseen_session_id: str) -> None:
    response = client_for(operator).get(f"/api/sessions/{unseen_session_id}/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_user_without_role_is_refused(client_for: Callable[..., APIClient], nobody: Any, operator: Any,
                                      backed_up_org: Organization,
                                      start_session: Callable[..., dict[str, Any]]) -> None:
    started = start_session(operator, backed_up_org)

    assert client_for(nobody).get(f"/api/sessions/{started['id']}/").status_code == 403


def test_anonymous_is_401(api_client: APIClient, db: Any) -> None:
    assert api_client.get(f"/api/sessions/{uuid.uuid4()}/").status_code == 401


def test_a_tenant_reads_a_provider_session_without_its_internal_fields(
        client_for: Callable[..., APIClient], helpdesk: Any, tenant_api: APIClient,
        provider_session: RestoreSession) -> None:
    as_tenant = tenant_api.get(f"/api/sessions/{provider_session.upstream_id}/")
    as_staff = client_for(helpdesk).get(f"/api/sessions/{provider_session.upstream_id}/")

    assert as_tenant.status_code == as_staff.status_code == 200
    body = as_tenant.json()
    assert (body["workload"], body["state"], body["started_by_tenant"]) == ("exchange", "working", False)
    assert (body["requested_by"], body["reason"], body["scope"]) == (None, "", "")
    assert PROVIDER_ONLY_KEYS.isdisjoint(body)
    assert not any(secret in as_tenant.content.decode() for secret in PROVIDER_SECRETS)
    staff = as_staff.json()
    assert (staff["requested_by"], staff["on_behalf_of"], staff["ticket"]) == ("harry", "olivia", "INC-PROVIDER-77")
    assert staff["initiated_by"] and staff["client_host"] and staff["started_by_tenant"] is False
