"""The API: every refusal (403, or 404 for what the user may not see) is audited once, naming the operation
that was refused and its target (PortalApi.handle_exception → services.refusals)."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from rest_framework.test import APIClient

from sessions_app.models import AuditAction, AuditEvent, AuditOutcome, Organization, StartRequest
from tests.api.conftest import start_body
from tests.views.conftest import make_session

OUTSIDE_GRANTS = "organization outside the user's grants"


def denials(username: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED, actor_username=username)
                .order_by("sequence"))


def test_start_for_an_organization_outside_the_grants_is_audited(client_for: Callable[..., APIClient], operator: Any,
                                                                  other_org: Organization) -> None:
    response = client_for(operator).post("/api/sessions/", start_body(other_org), format="json")
    assert response.status_code == 404 and not StartRequest.objects.exists()
    [event] = denials("olivia")
    assert event.outcome == AuditOutcome.DENIED and event.organization_id == str(other_org.upstream_id)
    assert event.details == {"operation": "session.start", "target": str(other_org.upstream_id),
                             "why": OUTSIDE_GRANTS}


def test_an_auditors_start_is_audited(client_for: Callable[..., APIClient], auditor: Any,
                                      backed_up_org: Organization) -> None:
    response = client_for(auditor).post("/api/sessions/", start_body(backed_up_org), format="json")
    assert response.status_code == 403
    [event] = denials("alice")
    assert event.details == {"operation": "session.start", "target": ""}


def test_a_workload_outside_the_grant_is_audited(client_for: Callable[..., APIClient], exchange_operator: Any,
                                                 other_org: Organization, sim: Any) -> None:
    response = client_for(exchange_operator).post("/api/sessions/", start_body(other_org, workload="teams"),
                                                  format="json")
    assert response.status_code == 400
    [event] = denials("oscar")
    assert event.workload == "teams"
    assert event.details == {"operation": "session.start", "target": str(other_org.upstream_id),
                             "why": "workload outside the user's grants"}


def test_restore_points_of_a_foreign_organization_are_audited(client_for: Callable[..., APIClient], operator: Any,
                                                              other_org: Organization) -> None:
    response = client_for(operator).get(f"/api/organizations/{other_org.upstream_id}/restore-points/")
    assert response.status_code == 404
    [event] = denials("olivia")
    assert event.details == {"operation": "restore_points.list", "target": str(other_org.upstream_id),
                             "why": OUTSIDE_GRANTS}


def test_a_refused_stop_is_recorded_as_a_stop(client_for: Callable[..., APIClient], operator: Any,
                                              other_org: Organization) -> None:
    foreign = make_session(other_org, state="working")
    response = client_for(operator).post(f"/api/sessions/{foreign.upstream_id}/stop/")
    assert response.status_code == 404
    [event] = denials("olivia")
    assert event.session_upstream_id == str(foreign.upstream_id)
    assert event.details == {"operation": "session.stop", "target": str(foreign.upstream_id),
                             "why": "session outside the user's grants"}


def test_an_auditors_stop_is_recorded_as_a_stop(client_for: Callable[..., APIClient], auditor: Any,
                                                backed_up_org: Organization) -> None:
    session = make_session(backed_up_org, state="working")
    assert client_for(auditor).post(f"/api/sessions/{session.upstream_id}/stop/").status_code == 403
    [event] = denials("alice")
    assert event.details == {"operation": "session.stop", "target": str(session.upstream_id),
                             "why": "role may not stop it"}


def test_a_guessed_session_is_audited_as_unknown(client_for: Callable[..., APIClient], operator: Any) -> None:
    guess = str(uuid.uuid4())
    assert client_for(operator).get(f"/api/sessions/{guess}/events/").status_code == 404
    [event] = denials("olivia")
    assert event.details == {"operation": "session.events", "target": guess, "why": "no such session"}


def test_a_person_without_a_role_is_audited(client_for: Callable[..., APIClient], nobody: Any) -> None:
    assert client_for(nobody).get("/api/sessions/").status_code == 403
    [event] = denials("nina")
    assert event.details == {"operation": "session.list", "target": ""}


def test_signed_out_callers_are_not_refusals(api_client: APIClient, db: Any) -> None:
    assert api_client.get("/api/sessions/").status_code == 401
    assert not AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED).exists()


def test_repeated_probes_write_one_event(client_for: Callable[..., APIClient], operator: Any,
                                         other_org: Organization) -> None:
    client = client_for(operator)
    for _ in range(20):
        assert client.post("/api/sessions/", start_body(other_org), format="json").status_code == 404
    assert len(denials("olivia")) == 1
