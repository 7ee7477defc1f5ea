from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from sessions_app import exceptions
from sessions_app.models import Organization, RestoreSession, Role, StartRequest
from tests.api.conftest import start_body
from tests.conftest import SimControl, make_user

EXPLORE = "POST /v8/Organizations/{organizationId}/explore"
SESSION_KEYS = {
    "id", "organization", "workload", "point_in_time", "requested_latest", "state", "result", "name",
    "initiated_by", "started_by_tenant", "requested_by", "on_behalf_of", "reason", "scope", "ticket", "scope_name",
    "client_host",
    "details", "created_at", "ended_at", "origin", "fetched_at",
}


def test_operator_starts_a_session_of_the_latest_backup(client_for: Callable[..., APIClient], operator: Any,
                                                        backed_up_org: Organization) -> None:
    response = client_for(operator).post("/api/sessions/", start_body(backed_up_org), format="json")

    assert response.status_code == 201
    session = response.json()
    assert set(session) == SESSION_KEYS
    assert session["organization"] == {"id": str(backed_up_org.upstream_id), "name": backed_up_org.name}
    assert session["workload"] == "exchange"
    assert session["state"] == "working"
    assert session["point_in_time"] is None and session["requested_latest"] is True
    assert session["requested_by"] == "olivia"
    assert session["origin"] == "portal"
    assert session["reason"] == "INC-1: restore a deleted folder"
    assert session["scope"] == "mailbox of j.doe"
    assert session["ended_at"] is None
    assert RestoreSession.objects.filter(upstream_id=session["id"]).exists()


@pytest.mark.parametrize(("sent", "expected"), [
    ("2025-03-01T10:00:00Z", "2025-03-01T10:00:00Z"),
    ("2025-03-01T12:00:00+02:00", "2025-03-01T10:00:00Z"),
    ("2025-03-01T10:00:00", "2025-03-01T10:00:00Z"),
])
def test_point_in_time_is_read_as_iso_8601_in_utc(client_for: Callable[..., APIClient], operator: Any,
                                                  backed_up_org: Organization, sent: str, expected: str) -> None:
    response = client_for(operator).post("/api/sessions/", start_body(backed_up_org, point_in_time=sent),
                                         format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["point_in_time"] == expected
    assert response.json()["requested_latest"] is False


def test_future_point_in_time_is_refused(client_for: Callable[..., APIClient], operator: Any,
                                         backed_up_org: Organization) -> None:
    future = (timezone.now() + timedelta(days=1)).isoformat()

    response = client_for(operator).post("/api/sessions/", start_body(backed_up_org, point_in_time=future),
                                         format="json")

    assert response.status_code == 400
    assert response.json()["extra"]["fields"]["point_in_time"] == [exceptions.POINT_IN_TIME_IN_FUTURE]


@pytest.mark.parametrize("bad", ["yesterday", "2025-13-01T00:00:00Z", 12, "0001-01-01T00:00:00+01:00"])
def test_unreadable_point_in_time_is_400(client_for: Callable[..., APIClient], operator: Any,
                                         backed_up_org: Organization, bad: Any) -> None:
    response = client_for(operator).post("/api/sessions/", start_body(backed_up_org, point_in_time=bad),
                                         format="json")

    assert response.status_code == 400
    assert "point_in_time" in response.json()["extra"]["fields"]


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_reason_is_required(client_for: Callable[..., APIClient], operator: Any, backed_up_org: Organization,
                            reason: str | None) -> None:
    body = start_body(backed_up_org, reason=reason)
    if reason is None:
        del body["reason"]

    response = client_for(operator).post("/api/sessions/", body, format="json")

    assert response.status_code == 400
    assert response.json()["extra"]["fields"]["reason"] == [exceptions.REASON_REQUIRED]


def test_bad_choices_are_named(client_for: Callable[..., APIClient], operator: Any,
                               backed_up_org: Organization) -> None:
    body = {**start_body(backed_up_org, workload="mail"), "organization": "x"}

    response = client_for(operator).post("/api/sessions/", body, format="json")

    assert response.status_code == 400
    assert set(response.json()["extra"]["fields"]) == {"workload", "organization"}


@pytest.mark.parametrize("target", ["foreign", "random"])
def test_organization_outside_grants_or_unknown_is_404(client_for: Callable[..., APIClient], operator: Any,
                                                       other_org: Organization, target: str) -> None:
    organization_id = other_org.upstream_id if target == "foreign" else uuid.uuid4()
    body = {**start_body(other_org), "organization": str(organization_id)}

    response = client_for(operator).post("/api/sessions/", body, format="json")

    assert response.status_code == 404
    assert not RestoreSession.objects.exists()


def test_workload_outside_grants_is_refused(client_for: Callable[..., APIClient], exchange_operator: Any,
                                            other_org: Organization) -> None:
    response = client_for(exchange_operator).post("/api/sessions/", start_body(other_org, workload="onedrive"),
                                                  format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "start_refused"
    assert "workload" in body["extra"]["fields"]


def test_exchange_operator_may_start_exchange(client_for: Callable[..., APIClient], exchange_operator: Any,
                                              other_org: Organization) -> None:
    response = client_for(exchange_operator).post("/api/sessions/", start_body(other_org), format="json")

    assert response.status_code == 201


def test_never_backed_up_organization_is_refused(client_for: Callable[..., APIClient], helpdesk: Any,
                                                 never_backed_up_org: Organization) -> None:
    response = client_for(helpdesk).post("/api/sessions/", start_body(never_backed_up_org), format="json")

    assert response.status_code == 400
    assert response.json()["extra"]["fields"]["organization"] == [exceptions.ORGANIZATION_NEVER_BACKED_UP]


@pytest.mark.parametrize("role", ["auditor", "nobody"])
def test_roles_that_may_not_start_get_403(request: pytest.FixtureRequest, client_for: Callable[..., APIClient],
                                          backed_up_org: Organization, role: str) -> None:
    user = request.getfixturevalue(role)

    response = client_for(user).post("/api/sessions/", start_body(backed_up_org), format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_anonymous_start_is_401(api_client: APIClient, backed_up_org: Organization) -> None:
    assert api_client.post("/api/sessions/", start_body(backed_up_org), format="json").status_code == 401


def test_helpdesk_starts_on_behalf_with_a_ticket(client_for: Callable[..., APIClient], helpdesk: Any,
                                                 operator: Any, backed_up_org: Organization) -> None:
    body = start_body(backed_up_org, on_behalf_of="olivia", ticket="INC-42")

    response = client_for(helpdesk).post("/api/sessions/", body, format="json")

    assert response.status_code == 201
    assert response.json()["requested_by"] == "harry"
    assert response.json()["on_behalf_of"] == "olivia"
    assert response.json()["ticket"] == "INC-42"


def test_on_behalf_without_ticket_is_refused(client_for: Callable[..., APIClient], helpdesk: Any, operator: Any,
                                             backed_up_org: Organization) -> None:
    response = client_for(helpdesk).post("/api/sessions/", start_body(backed_up_org, on_behalf_of="olivia"),
                                         format="json")

    assert response.status_code == 400
    assert response.json()["extra"]["fields"]["ticket"] == [exceptions.ON_BEHALF_REQUIRES_TICKET]


def test_operator_may_not_start_on_behalf(client_for: Callable[..., APIClient], operator: Any, helpdesk: Any,
                                          backed_up_org: Organization) -> None:
    response = client_for(operator).post("/api/sessions/", start_body(backed_up_org, on_behalf_of="harry",
                                                                       ticket="INC-1"), format="json")

    assert response.status_code == 403


def test_on_behalf_of_unknown_user_is_400(client_for: Callable[..., APIClient], helpdesk: Any,
                                          backed_up_org: Organization) -> None:
    response = client_for(helpdesk).post("/api/sessions/", start_body(backed_up_org, on_behalf_of="ghost",
                                                                       ticket="INC-1"), format="json")

    assert response.status_code == 400
    assert "on_behalf_of" in response.json()["extra"]["fields"]


def test_on_behalf_of_an_inactive_user_is_400(client_for: Callable[..., APIClient], helpdesk: Any, operator: Any,
                                             backed_up_org: Organization) -> None:
    operator.is_active = False
    operator.save(update_fields=["is_active"])
    response = client_for(helpdesk).post("/api/sessions/", start_body(backed_up_org, on_behalf_of="olivia",
                                                                       ticket="INC-1"), format="json")

    # Answered as for a username that does not exist: an inactive person is nobody to start for.
    assert response.status_code == 400
    assert response.json()["extra"]["fields"]["on_behalf_of"] == ["Object with username=olivia does not exist."]
    assert not RestoreSession.objects.exists()


def test_same_idempotency_key_starts_one_upstream_session(client_for: Callable[..., APIClient], operator: Any,
                                                          backed_up_org: Organization, sim: SimControl) -> None:
    client = client_for(operator)
    before = sim.request_count(EXPLORE)

    first = client.post("/api/sessions/", start_body(backed_up_org), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post("/api/sessions/", start_body(backed_up_org), format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert sim.request_count(EXPLORE) == before + 1
    assert RestoreSession.objects.count() == 1


def test_idempotency_key_reused_with_another_body_is_409(client_for: Callable[..., APIClient], operator: Any,
                                                         backed_up_org: Organization) -> None:
    client = client_for(operator)
    client.post("/api/sessions/", start_body(backed_up_org), format="json", HTTP_IDEMPOTENCY_KEY="k-2")

    response = client.post("/api/sessions/", start_body(backed_up_org, reason="something else"), format="json",
                           HTTP_IDEMPOTENCY_KEY="k-2")

    assert response.status_code == 409
    assert response.json()["message"] == exceptions.IDEMPOTENCY_KEY_REUSED


REUSED_KEY_CHANGES = {
    "point_in_time": lambda org: {"point_in_time": (org.last_backup - timedelta(days=2)).isoformat()},
    "scope": lambda org: {"scope": "every mailbox"},
    "ticket": lambda org: {"ticket": "INC-99"},
    # Someone else who may start sessions there (on behalf of anyone else is refused before the key is read).
    "on_behalf_of": lambda org: {"on_behalf_of": make_user("otto", Role.OPERATOR, grants=[(org, "")]).username},
    "show_deleted": lambda org: {"show_deleted": True},
    "workload": lambda org: {"workload": "onedrive"},
}


@pytest.mark.parametrize("changed", sorted(REUSED_KEY_CHANGES))
def test_idempotency_key_reused_with_any_other_field_is_409_and_starts_nothing(
        client_for: Callable[..., APIClient], helpdesk: Any, operator: Any, backed_up_org: Organization,
        sim: SimControl, changed: str) -> None:
    client = client_for(helpdesk)
    first_body = start_body(backed_up_org, on_behalf_of="olivia", ticket="INC-42")
    first = client.post("/api/sessions/", first_body, format="json", HTTP_IDEMPOTENCY_KEY="k-any")
    before = sim.request_count(EXPLORE)

    response = client.post("/api/sessions/", {**first_body, **REUSED_KEY_CHANGES[changed](backed_up_org)},
                           format="json", HTTP_IDEMPOTENCY_KEY="k-any")

    assert first.status_code == 201
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_reused"
    assert response.json()["message"] == exceptions.IDEMPOTENCY_KEY_REUSED
    assert sim.request_count(EXPLORE) == before
    assert RestoreSession.objects.count() == 1


def test_idempotency_key_with_the_same_body_replays_the_first_answer(
        client_for: Callable[..., APIClient], helpdesk: Any, operator: Any, backed_up_org: Organization,
        sim: SimControl) -> None:
    client = client_for(helpdesk)
    assert backed_up_org.last_backup is not None
    body = start_body(backed_up_org, on_behalf_of="olivia", ticket="INC-42",
                      point_in_time=(backed_up_org.last_backup - timedelta(days=2)).isoformat())

    first = client.post("/api/sessions/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-same")
    again = client.post("/api/sessions/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-same")

    assert first.status_code == again.status_code == 201
    assert again.json() == {**first.json(), "fetched_at": again.json()["fetched_at"]}


def test_without_idempotency_key_each_request_starts_a_session(client_for: Callable[..., APIClient],
                                                               operator: Any, backed_up_org: Organization,
                                                               sim: SimControl) -> None:
    client = client_for(operator)
    before = sim.request_count(EXPLORE)

    first = client.post("/api/sessions/", start_body(backed_up_org), format="json")
    second = client.post("/api/sessions/", start_body(backed_up_org), format="json")

    assert first.json()["id"] != second.json()["id"]
    assert sim.request_count(EXPLORE) == before + 2


def test_overlong_idempotency_key_is_400(client_for: Callable[..., APIClient], operator: Any,
                                         backed_up_org: Organization) -> None:
    response = client_for(operator).post("/api/sessions/", start_body(backed_up_org), format="json",
                                         HTTP_IDEMPOTENCY_KEY="k" * 129)

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["extra"]["fields"]


def test_upstream_unavailable_is_503_and_the_reason_is_kept(client_for: Callable[..., APIClient], operator: Any,
                                                            backed_up_org: Organization, sim: SimControl) -> None:
    sim.fault(status=503, path="explore")

    response = client_for(operator).post("/api/sessions/", start_body(backed_up_org), format="json",
                                         HTTP_IDEMPOTENCY_KEY="k-3")

    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    failed = StartRequest.objects.get(key="k-3")
    assert failed.status == StartRequest.Status.FAILED
    assert failed.reason == "INC-1: restore a deleted folder"


def test_retry_with_the_same_key_after_an_outage_starts_the_session(client_for: Callable[..., APIClient],
                                                                     operator: Any, backed_up_org: Organization,
                                                                     sim: SimControl) -> None:
    client = client_for(operator)
    sim.fault(status=503, path="explore")
    client.post("/api/sessions/", start_body(backed_up_org), format="json", HTTP_IDEMPOTENCY_KEY="k-4")
    sim.clear_faults()

    response = client.post("/api/sessions/", start_body(backed_up_org), format="json", HTTP_IDEMPOTENCY_KEY="k-4")

    assert response.status_code == 201


def test_upstream_rejection_is_502(client_for: Callable[..., APIClient], operator: Any,
                                   backed_up_org: Organization, sim: SimControl) -> None:
    sim.fault(status=400, path="explore")

    response = client_for(operator).post("/api/sessions/", start_body(backed_up_org), format="json")

    assert response.status_code == 502
    assert response.json()["code"] == "upstream_rejected"
    assert response.json()["extra"]["upstream_status"] == 400


def test_upstream_timeout_is_504(client_for: Callable[..., APIClient], operator: Any, backed_up_org: Organization,
                                 sim: SimControl, settings: Any) -> None:
    settings.VB365_READ_TIMEOUT = 0.5
    # The look-up for a session created despite the timeout times out as well (else the service adopts it).
    sim.fault(latency_ms=2000, path="explore|RestoreSessions")

    response = client_for(operator).post("/api/sessions/", start_body(backed_up_org), format="json")

    assert response.status_code == 504
    assert response.json()["code"] == "upstream_timeout"


@pytest.mark.parametrize("key", ["a\x00b", "tab\tinside", "x" * 129])
def test_unprintable_or_long_idempotency_keys_are_a_400(client_for: Callable[..., APIClient], operator: Any,
                                                         backed_up_org: Organization, key: str) -> None:
    response = client_for(operator).post("/api/sessions/", {"organization": str(backed_up_org.upstream_id),
                                                            "point_in_time": "latest", "workload": "exchange",
                                                            "reason": "r"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["extra"]["fields"]


def test_nul_characters_in_on_behalf_of_are_a_400(client_for: Callable[..., APIClient], helpdesk: Any,
                                                   backed_up_org: Organization) -> None:
    response = client_for(helpdesk).post("/api/sessions/", {"organization": str(backed_up_org.upstream_id),
                                                            "point_in_time": "latest", "workload": "exchange",
                                                            "reason": "r", "ticket": "T-1",
                                                            "on_behalf_of": "ol\x00ivia"}, format="json")
    assert response.status_code == 400
    assert "on_behalf_of" in response.json()["extra"]["fields"]
