"""POST /api/auth/tenant-token/: an API token for a tenant, checked by VB365 with the organization's credentials."""
from __future__ import annotations

import uuid
from typing import Any

import pytest
from rest_framework.test import APIClient

from sessions_app.models import AuditAction, AuditEvent

URL = "/api/auth/tenant-token/"


@pytest.fixture
def tenant_org(sim: Any) -> dict[str, Any]:
    return sim.organization(backed_up=True, tenant=True)


@pytest.mark.django_db
def test_tenant_gets_a_token_and_works_only_in_its_organization(api_client: APIClient, upstream: Any,
                                                                 organizations: Any, tenant_org: dict[str, Any],
                                                                 other_org: Any) -> None:
    response = api_client.post(URL, {"username": tenant_org["tenant"]["username"],
                                      "password": tenant_org["tenant"]["password"]}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["organization"]["id"] == tenant_org["id"] and len(body["token"]) == 40
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {body['token']}")

    listed = api_client.get("/api/organizations/").json()
    assert [org["id"] for org in listed["results"]] == [tenant_org["id"]]
    started = api_client.post("/api/sessions/", {"organization": tenant_org["id"], "point_in_time": "latest",
                                                 "workload": "exchange", "reason": "tenant via API"}, format="json",
                              HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert started.status_code == 201, started.json()
    session_id = started.json()["id"]
    assert api_client.get(f"/api/sessions/{session_id}/events/").status_code == 200
    assert api_client.post(f"/api/sessions/{session_id}/stop/").json()["state"] == "stopped"
    foreign = api_client.post("/api/sessions/", {"organization": str(other_org.upstream_id), "point_in_time": "latest",
                                                 "workload": "exchange", "reason": "not mine"}, format="json")
    assert foreign.status_code == 404


@pytest.mark.django_db
def test_wrong_credentials_get_401_with_the_reason(api_client: APIClient, upstream: Any,
                                                    tenant_org: dict[str, Any]) -> None:
    response = api_client.post(URL, {"username": tenant_org["tenant"]["username"], "password": "nope"},
                               format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "tenant_sign_in_failed"
    assert "did not accept" in response.json()["message"]
    assert AuditEvent.objects.filter(action=AuditAction.SIGN_IN_FAILED).count() == 1


@pytest.mark.django_db
def test_missing_fields_are_a_400_with_field_errors(api_client: APIClient, upstream: Any) -> None:
    response = api_client.post(URL, {"username": "x"}, format="json")
    assert response.status_code == 400
    assert "password" in response.json()["extra"]["fields"]
