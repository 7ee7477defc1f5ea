from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from sessions_app.models import AuditAction, AuditEvent, Role
from tests.conftest import PASSWORD, make_user


def test_token_is_issued_for_valid_credentials_and_authenticates(api_client: APIClient, operator: Any) -> None:
    response = api_client.post("/api/auth/token/", {"username": "olivia", "password": PASSWORD}, format="json")

    assert response.status_code == 200
    token = response.json()["token"]
    assert set(response.json()) == {"token"}
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.get("/api/organizations/").status_code == 200


def test_token_is_the_same_on_every_request(api_client: APIClient, operator: Any) -> None:
    first = api_client.post("/api/auth/token/", {"username": "olivia", "password": PASSWORD}, format="json")
    second = api_client.post("/api/auth/token/", {"username": "olivia", "password": PASSWORD})

    assert first.json()["token"] == second.json()["token"]


def test_token_issue_is_audited_as_a_sign_in(api_client: APIClient, operator: Any) -> None:
    api_client.post("/api/auth/token/", {"username": "olivia", "password": PASSWORD}, format="json")

    assert AuditEvent.objects.filter(action=AuditAction.SIGN_IN, actor_username="olivia").exists()


def test_wrong_password_is_refused_in_the_envelope_and_audited(api_client: APIClient, operator: Any) -> None:
    response = api_client.post("/api/auth/token/", {"username": "olivia", "password": "wrong"}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert "non_field_errors" in body["extra"]["fields"]
    assert AuditEvent.objects.filter(action=AuditAction.SIGN_IN_FAILED, actor_username="olivia").exists()


def test_missing_fields_are_named(api_client: APIClient, db: Any) -> None:
    response = api_client.post("/api/auth/token/", {}, format="json")

    assert response.status_code == 400
    assert set(response.json()["extra"]["fields"]) == {"username", "password"}


def test_inactive_user_gets_no_token(api_client: APIClient, operator: Any) -> None:
    operator.is_active = False
    operator.save()

    response = api_client.post("/api/auth/token/", {"username": "olivia", "password": PASSWORD}, format="json")

    assert response.status_code == 400


def test_anonymous_request_is_401_with_token_challenge(api_client: APIClient, db: Any) -> None:
    response = api_client.get("/api/sessions/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["code"] == "not_authenticated"


def test_unknown_token_is_401(api_client: APIClient, db: Any) -> None:
    api_client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")

    response = api_client.get("/api/organizations/")

    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_browser_session_works_for_reads_and_needs_csrf_for_writes(operator: Any, backed_up_org: Any) -> None:
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(operator)

    assert browser.get("/api/organizations/").status_code == 200
    response = browser.post("/api/sessions/", {"organization": str(backed_up_org.upstream_id)}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["message"]


@pytest.mark.django_db
def test_repeated_failures_are_throttled_with_429(api_client: APIClient, settings: Any) -> None:
    settings.SIGN_IN_FAILURES_PER_USER = 2
    make_user("yuri", Role.OPERATOR)
    for _ in range(2):
        assert api_client.post("/api/auth/token/", {"username": "yuri", "password": "bad"}, format="json").status_code == 400
    response = api_client.post("/api/auth/token/", {"username": "yuri", "password": PASSWORD}, format="json")
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
