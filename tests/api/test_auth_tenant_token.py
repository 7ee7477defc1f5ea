"""POST /api/auth/tenant-token/: an API token for a tenant, checked by VB365 with the organization's credentials."""
from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from sessions_app.models import ApiToken, ApiTokenKind, AuditAction, AuditEvent
from sessions_app.services import tenants
from sessions_app.upstream.auth import Token

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
    assert body["organization"]["id"] == tenant_org["id"] and len(body["token"]) > 40
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


def tenant_token(api_client: APIClient, tenant_org: dict[str, Any]) -> dict[str, Any]:
    response = api_client.post(URL, {"username": tenant_org["tenant"]["username"],
                                      "password": tenant_org["tenant"]["password"]}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def run_out_vb365_token() -> None:
    """The tenant's VB365 access token runs out, at VB365 and in Restore Desk's store (as an hour later)."""
    user_id = ApiToken.objects.values_list("user_id", flat=True).first()
    assert user_id is not None
    store = tenants.TenantTokenStore(user_id)
    token = store.load()
    assert token is not None
    store.save(Token(token.access_token, token.refresh_token, time.time() - 1))


def with_token(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.mark.django_db
def test_a_tenant_token_ends_with_the_vb365_sign_in_at_most_8_hours_on(api_client: APIClient, upstream: Any,
                                                                       tenant_org: dict[str, Any]) -> None:
    body = tenant_token(api_client, tenant_org)

    expires_at = parse_datetime(body["expires_at"])
    assert expires_at is not None
    assert timedelta(hours=7, minutes=59) < expires_at - timezone.now() <= timedelta(hours=8)
    token = ApiToken.objects.get()
    assert token.kind == ApiTokenKind.TENANT
    sign_in_end = tenants.TenantTokenStore(token.user_id).ends_at()
    assert sign_in_end is not None and abs((sign_in_end - token.expires_at).total_seconds()) < 1


@pytest.mark.django_db
def test_a_tenant_token_past_its_end_is_401(api_client: APIClient, upstream: Any,
                                            tenant_org: dict[str, Any]) -> None:
    token = tenant_token(api_client, tenant_org)["token"]
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = with_token(token).get("/api/sessions/")

    assert response.status_code == 401 and response.json()["code"] == "authentication_failed"


@pytest.mark.django_db
def test_delete_signs_the_tenant_out_everywhere(api_client: APIClient, upstream: Any,
                                                tenant_org: dict[str, Any]) -> None:
    first, second = tenant_token(api_client, tenant_org)["token"], tenant_token(api_client, tenant_org)["token"]
    user_id = ApiToken.objects.values_list("user_id", flat=True).first()
    assert user_id is not None

    assert with_token(first).delete("/api/auth/token/").status_code == 204

    for token in (first, second):
        response = with_token(token).get("/api/sessions/")
        assert response.status_code == 401 and response.json()["code"] == "authentication_failed"
    assert tenants.TenantTokenStore(user_id).load() is None
    assert ApiToken.objects.filter(revoked_at__isnull=True).count() == 0
    assert AuditEvent.objects.filter(action=AuditAction.TOKEN_REVOKE).count() == 2


@pytest.mark.django_db
def test_signing_out_of_the_pages_revokes_the_tenants_api_tokens(api_client: APIClient, client: Any, upstream: Any,
                                                                  tenant_org: dict[str, Any]) -> None:
    token = tenant_token(api_client, tenant_org)["token"]
    signed_in = client.post(reverse("sessions_app:tenant-sign-in"), {
        "username": tenant_org["tenant"]["username"], "password": tenant_org["tenant"]["password"]})
    assert signed_in.status_code == 302

    client.post(reverse("logout"))

    assert with_token(token).get("/api/sessions/").status_code == 401
    assert ApiToken.objects.get().revoked_at is not None


@pytest.mark.django_db
def test_a_tenant_token_stops_once_vb365_refuses_the_tenant_even_for_local_reads(
        api_client: APIClient, upstream: Any, sim: Any, tenant_org: dict[str, Any]) -> None:
    token = tenant_token(api_client, tenant_org)["token"]
    assert with_token(token).get("/api/sessions/").status_code == 200
    # VB365 no longer accepts the tenant: its access token runs out and the refresh is refused.
    sim.expire_tokens()
    run_out_vb365_token()
    sim.fault(status=401, path="(?i)/v8/token$")

    response = with_token(token).get("/api/sessions/")

    assert response.status_code == 401
    assert response.json()["message"] == tenants.SIGN_IN_ENDED
    revoked = ApiToken.objects.get()
    assert revoked.revoked_at is not None
    assert AuditEvent.objects.get(action=AuditAction.TOKEN_REVOKE).details["why"] == "VB365 sign-in ended"
    sim.clear_faults()
    assert with_token(token).get("/api/sessions/").status_code == 401


@pytest.mark.django_db
def test_a_401_from_vb365_during_a_call_ends_the_tenant_token_with_a_401(
        api_client: APIClient, upstream: Any, sim: Any, tenant_org: dict[str, Any]) -> None:
    token = tenant_token(api_client, tenant_org)["token"]
    sim.fault(status=401, path="(?i)/v8/organization/explore")

    response = with_token(token).post("/api/sessions/", {
        "organization": tenant_org["id"], "point_in_time": "latest", "workload": "exchange", "reason": "refused"},
        format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))

    assert response.status_code == 401, response.json()
    assert response.json()["message"] == tenants.SIGN_IN_ENDED
    assert ApiToken.objects.get().revoked_at is not None


@pytest.mark.django_db
def test_vb365_unreachable_is_not_a_refusal(api_client: APIClient, upstream: Any, sim: Any,
                                            tenant_org: dict[str, Any]) -> None:
    token = tenant_token(api_client, tenant_org)["token"]
    sim.expire_tokens()
    run_out_vb365_token()
    sim.fault(down=True)

    assert with_token(token).get("/api/sessions/").status_code == 200
    assert ApiToken.objects.get().revoked_at is None
