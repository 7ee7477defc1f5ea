"""POST /api/auth/token/ issues a new, expiring token; DELETE /api/auth/token/ revokes the one it is called with."""
from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from sessions_app.models import ApiToken, AuditAction, AuditEvent, Role
from tests.conftest import PASSWORD, make_user

URL = "/api/auth/token/"


def issue(api_client: APIClient, username: str = "olivia") -> dict[str, Any]:
    response = api_client.post(URL, {"username": username, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def with_token(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_token_is_issued_with_its_expiry_and_authenticates(api_client: APIClient, operator: Any,
                                                           settings: Any) -> None:
    settings.API_TOKEN_HOURS = 24
    body = issue(api_client)

    assert set(body) == {"token", "expires_at"}
    expires_at = parse_datetime(body["expires_at"])
    assert expires_at is not None
    assert timedelta(hours=23, minutes=59) < expires_at - timezone.now() <= timedelta(hours=24)
    assert with_token(body["token"]).get("/api/organizations/").status_code == 200


def test_every_request_issues_a_new_token_and_both_work(api_client: APIClient, operator: Any) -> None:
    first, second = issue(api_client)["token"], issue(api_client)["token"]

    assert first != second
    assert with_token(first).get("/api/organizations/").status_code == 200
    assert with_token(second).get("/api/organizations/").status_code == 200


def test_the_database_keeps_only_a_hash_and_a_short_prefix(api_client: APIClient, operator: Any) -> None:
    token = issue(api_client)["token"]

    stored = ApiToken.objects.get(user=operator)
    assert stored.key_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token.startswith(stored.prefix) and len(stored.prefix) < len(token) // 3
    row = " ".join(str(value) for value in ApiToken.objects.filter(pk=stored.pk).values().get().values())
    assert token not in row
    # What a copy of the database holds does not sign in.
    assert with_token(stored.key_hash).get("/api/organizations/").status_code == 401
    assert with_token(stored.prefix).get("/api/organizations/").status_code == 401


def test_issue_is_audited_as_a_sign_in_and_a_token_creation_without_the_token(api_client: APIClient,
                                                                               operator: Any) -> None:
    token = issue(api_client)["token"]

    assert AuditEvent.objects.filter(action=AuditAction.SIGN_IN, actor_username="olivia").exists()
    created = AuditEvent.objects.get(action=AuditAction.TOKEN_CREATE, actor_username="olivia")
    assert created.details["user"] == "olivia" and created.details["kind"] == "staff"
    assert token.startswith(created.details["token"]) and created.details["expires_at"]
    assert token not in str(created.details)


def test_delete_revokes_the_token_it_is_called_with_and_only_that_one(api_client: APIClient,
                                                                      operator: Any) -> None:
    first, second = issue(api_client)["token"], issue(api_client)["token"]

    response = with_token(first).delete(URL)

    assert response.status_code == 204
    refused = with_token(first).get("/api/organizations/")
    assert refused.status_code == 401
    assert refused.json()["code"] == "authentication_failed" and "revoked" in refused.json()["message"]
    assert with_token(second).get("/api/organizations/").status_code == 200
    revoked = AuditEvent.objects.get(action=AuditAction.TOKEN_REVOKE)
    assert revoked.actor_username == "olivia" and first.startswith(revoked.details["token"])
    assert first not in str(revoked.details)
    assert AuditEvent.objects.filter(action=AuditAction.SIGN_OUT, actor_username="olivia").exists()


def test_delete_without_a_token_is_401(api_client: APIClient, operator: Any) -> None:
    response = api_client.delete(URL)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_delete_with_a_browser_session_is_refused(operator: Any) -> None:
    browser = APIClient()
    browser.force_login(operator)

    assert browser.delete(URL).status_code == 401


def test_an_expired_token_is_401_in_the_envelope(api_client: APIClient, operator: Any) -> None:
    token = issue(api_client)["token"]
    ApiToken.objects.filter(user=operator).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = with_token(token).get("/api/sessions/")

    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed" and "expired" in response.json()["message"]


def test_a_stale_token_sent_along_does_not_block_getting_a_new_one(api_client: APIClient, operator: Any) -> None:
    old = issue(api_client)["token"]
    with_token(old).delete(URL)

    response = with_token(old).post(URL, {"username": "olivia", "password": PASSWORD}, format="json")

    assert response.status_code == 200 and response.json()["token"] != old


def test_wrong_password_is_refused_in_the_envelope_and_audited(api_client: APIClient, operator: Any) -> None:
    response = api_client.post(URL, {"username": "olivia", "password": "wrong"}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert "non_field_errors" in body["extra"]["fields"]
    assert AuditEvent.objects.filter(action=AuditAction.SIGN_IN_FAILED, actor_username="olivia").exists()
    assert not ApiToken.objects.exists()


def test_missing_fields_are_named(api_client: APIClient, db: Any) -> None:
    response = api_client.post(URL, {}, format="json")

    assert response.status_code == 400
    assert set(response.json()["extra"]["fields"]) == {"username", "password"}


def test_inactive_user_gets_no_token(api_client: APIClient, operator: Any) -> None:
    operator.is_active = False
    operator.save()

    response = api_client.post(URL, {"username": "olivia", "password": PASSWORD}, format="json")

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
        assert api_client.post(URL, {"username": "yuri", "password": "bad"}, format="json").status_code == 400
    response = api_client.post(URL, {"username": "yuri", "password": PASSWORD}, format="json")
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
