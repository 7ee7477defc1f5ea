"""API test helpers: clients signed in with a real token, and sessions started through the API itself."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from sessions_app.models import Organization
from sessions_app.services import api_tokens, sync


def token_client(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_tokens.api_token_create(user=user).key}")
    return client


@pytest.fixture
def api_client() -> APIClient:
    """Not signed in."""
    return APIClient()


@pytest.fixture
def client_for() -> Callable[[Any], APIClient]:
    return token_client


def start_body(organization: Organization, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "organization": str(organization.upstream_id), "point_in_time": "latest", "workload": "exchange",
        "show_deleted": False, "show_all_versions": False, "reason": "INC-1: restore a deleted folder",
        "scope": "mailbox of j.doe",
    }
    body.update(overrides)
    return body


@pytest.fixture
def start_session() -> Callable[..., dict[str, Any]]:
    """Start a session through the API as `user`; returns the response body (asserts 201)."""

    def start(user: Any, organization: Organization, **overrides: Any) -> dict[str, Any]:
        response = token_client(user).post("/api/sessions/", start_body(organization, **overrides), format="json")
        assert response.status_code == 201, response.json()
        return response.json()

    return start


@pytest.fixture(params=["foreign", "random", "not-a-uuid"])
def unseen_session_id(request: Any, exchange_operator: Any, other_org: Organization,
                      start_session: Callable[..., dict[str, Any]]) -> str:
    """A session id olivia (the `operator`) may not see: another operator's session, a guess, garbage."""
    foreign = start_session(exchange_operator, other_org)["id"]
    return {"foreign": foreign, "random": str(uuid.uuid4()), "not-a-uuid": "not-a-uuid"}[request.param]


@pytest.fixture
def history(organizations: list[Organization]) -> int:
    """The simulator's session history copied into the local cache (no events: they load on demand)."""
    return sync.restore_sessions_sync(full=True, with_events=False).seen


@pytest.fixture
def tenant_api(tenant_organization: Organization, tenant_credentials: dict[str, str]) -> APIClient:
    """Signed in as the tenant organization: its own credentials, checked by VB365 (/api/auth/tenant-token/)."""
    client = APIClient()
    response = client.post("/api/auth/tenant-token/", tenant_credentials, format="json")
    assert response.status_code == 200, response.json()
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    return client


PROVIDER_ONLY_KEYS = {"initiated_by", "on_behalf_of", "ticket", "scope_name", "client_host"}
PROVIDER_SECRETS = ("PROVIDER-REASON", "PROVIDER-SCOPE", "INC-PROVIDER-77", "harry", "olivia", "10.20.30.40")
