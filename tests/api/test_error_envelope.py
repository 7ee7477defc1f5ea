"""Every error, whatever raised it, has the shape {"message", "code", "extra"}."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from sessions_app.models import Organization
from tests.api.conftest import start_body
from tests.conftest import SimControl


def assert_envelope(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"message", "code", "extra"}
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["extra"], dict)
    if code is not None:
        assert body["code"] == code
    return body


def test_field_errors_are_under_extra_fields(client_for: Callable[..., APIClient], operator: Any,
                                             backed_up_org: Organization) -> None:
    response = client_for(operator).post("/api/sessions/", {"organization": str(backed_up_org.upstream_id)},
                                         format="json")

    body = assert_envelope(response, 400, "invalid")
    assert set(body["extra"]["fields"]) == {"workload", "reason"}
    assert all(isinstance(message, str) for messages in body["extra"]["fields"].values() for message in messages)


def test_unreadable_json_is_400(client_for: Callable[..., APIClient], operator: Any) -> None:
    response = client_for(operator).post("/api/sessions/", "{not json", content_type="application/json")

    assert_envelope(response, 400, "parse_error")


def test_unsupported_media_type_is_415(client_for: Callable[..., APIClient], operator: Any) -> None:
    response = client_for(operator).post("/api/sessions/", "<xml/>", content_type="application/xml")

    assert_envelope(response, 415, "unsupported_media_type")


def test_401_403_404_405(api_client: APIClient, client_for: Callable[..., APIClient], auditor: Any,
                         operator: Any, backed_up_org: Organization) -> None:
    assert_envelope(api_client.get("/api/organizations/"), 401, "not_authenticated")
    client = client_for(auditor)
    assert_envelope(client.post("/api/sessions/", start_body(backed_up_org), format="json"), 403,
                    "permission_denied")
    assert_envelope(client.get("/api/sessions/00000000-0000-0000-0000-000000000000/"), 404, "not_found")
    assert_envelope(client_for(operator).delete("/api/sessions/"), 405, "method_not_allowed")


def test_409_conflict(client_for: Callable[..., APIClient], operator: Any, backed_up_org: Organization,
                      start_session: Callable[..., dict[str, Any]]) -> None:
    session = start_session(operator, backed_up_org)
    client = client_for(operator)
    client.post(f"/api/sessions/{session['id']}/stop/")

    assert_envelope(client.post(f"/api/sessions/{session['id']}/stop/"), 409, "already_stopped")


@pytest.mark.parametrize(("fault", "status", "code"), [
    ({"status": 503}, 503, "upstream_unavailable"),
    ({"down": True}, 503, "upstream_unavailable"),
    ({"status": 500}, 502, "upstream_rejected"),
    ({"status": 409}, 502, "upstream_rejected"),
    ({"malformed": True}, 502, "upstream_bad_response"),
])
def test_upstream_failures_map_to_gateway_statuses(client_for: Callable[..., APIClient], operator: Any,
                                                   backed_up_org: Organization, sim: SimControl,
                                                   fault: dict[str, Any], status: int, code: str) -> None:
    sim.fault(path="explore|RestoreSessions", **fault)

    response = client_for(operator).post("/api/sessions/", start_body(backed_up_org), format="json")

    body = assert_envelope(response, status, code)
    assert "upstream_status" in body["extra"]
    if status == 503:
        assert int(response["Retry-After"]) > 0


def test_upstream_timeout_is_504(client_for: Callable[..., APIClient], operator: Any, backed_up_org: Organization,
                                 sim: SimControl, settings: Any) -> None:
    settings.VB365_READ_TIMEOUT = 0.5
    sim.fault(latency_ms=2000, path="explore|RestoreSessions")

    response = client_for(operator).post("/api/sessions/", start_body(backed_up_org), format="json")

    assert_envelope(response, 504, "upstream_timeout")


def test_upstream_credentials_refused_is_502(client_for: Callable[..., APIClient], operator: Any,
                                             backed_up_org: Organization, sim: SimControl) -> None:
    sim.fault(status=403, path="explore")

    response = client_for(operator).post("/api/sessions/", start_body(backed_up_org), format="json")

    assert_envelope(response, 502, "upstream_auth")
