"""services.api_tokens: issue, authenticate, revoke; and the migration that carries DRF's plain tokens over hashed."""
from __future__ import annotations

import hashlib
import importlib
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone

from sessions_app.models import ApiToken, ApiTokenKind, AuditAction, AuditEvent, Role
from sessions_app.services import api_tokens
from tests.conftest import make_user
from tests.database_roles import database_owner, runs_as_runtime_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def pat() -> Any:
    return make_user("pat", Role.AUDITOR)


def test_a_token_authenticates_until_it_expires(pat: Any) -> None:
    issued = api_tokens.api_token_create(user=pat)
    assert api_tokens.api_token_authenticate(key=issued.key).user == pat
    ApiToken.objects.update(expires_at=timezone.now())
    with pytest.raises(api_tokens.ApiTokenRefused, match="expired"):
        api_tokens.api_token_authenticate(key=issued.key)


def test_no_token_outlives_api_token_hours(pat: Any, settings: Any) -> None:
    settings.API_TOKEN_HOURS = 2
    issued = api_tokens.api_token_create(user=pat, kind=ApiTokenKind.TENANT,
                                         expires_at=timezone.now() + timedelta(hours=8))
    assert issued.token.expires_at - timezone.now() <= timedelta(hours=2)


def test_revoking_ends_the_token_once_and_is_audited_once(pat: Any) -> None:
    issued = api_tokens.api_token_create(user=pat)
    assert api_tokens.api_token_revoke(token=issued.token, actor=pat, why="test") is True
    assert api_tokens.api_token_revoke(token=issued.token, actor=pat) is False
    with pytest.raises(api_tokens.ApiTokenRefused, match="revoked"):
        api_tokens.api_token_authenticate(key=issued.key)
    assert AuditEvent.objects.filter(action=AuditAction.TOKEN_REVOKE).count() == 1


def test_revoke_all_ends_only_that_users_live_tokens(pat: Any) -> None:
    other = api_tokens.api_token_create(user=make_user("quinn", Role.AUDITOR))
    mine = [api_tokens.api_token_create(user=pat) for _ in range(2)]
    assert api_tokens.api_tokens_revoke_all(user=pat) == 2
    for issued in mine:
        with pytest.raises(api_tokens.ApiTokenRefused):
            api_tokens.api_token_authenticate(key=issued.key)
    assert api_tokens.api_token_authenticate(key=other.key).user.get_username() == "quinn"


def test_an_inactive_users_token_is_refused(pat: Any) -> None:
    issued = api_tokens.api_token_create(user=pat)
    pat.is_active = False
    pat.save()
    with pytest.raises(api_tokens.ApiTokenRefused, match="inactive"):
        api_tokens.api_token_authenticate(key=issued.key)


def test_long_ended_tokens_are_cleared_when_the_user_gets_a_new_one(pat: Any) -> None:
    old = api_tokens.api_token_create(user=pat)
    recent = api_tokens.api_token_create(user=pat)
    ApiToken.objects.filter(pk=old.token.pk).update(expires_at=timezone.now() - timedelta(days=31))
    ApiToken.objects.filter(pk=recent.token.pk).update(expires_at=timezone.now() - timedelta(days=1))
    api_tokens.api_token_create(user=pat)
    assert set(ApiToken.objects.values_list("pk", flat=True)) >= {recent.token.pk}
    assert not ApiToken.objects.filter(pk=old.token.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_drf_tokens_are_carried_over_hashed_with_an_expiry_and_the_plain_keys_deleted(pat: Any,
                                                                                     settings: Any) -> None:
    """An installation upgraded from DRF's authtoken: its table holds plain keys. The table is laid out as the
    owner (a migration's role); the runtime role gets what the carried-over migration step needs."""
    settings.API_TOKEN_HOURS = 48
    tenant = make_user("tenant:someone@contoso.example", Role.TENANT)
    staff_key, tenant_key = "a" * 40, "b" * 40
    with database_owner() as owner, owner.cursor() as cursor:
        cursor.execute("CREATE TABLE authtoken_token (\"key\" varchar(40) PRIMARY KEY, created timestamp, "
                       "user_id integer NOT NULL)")
        cursor.execute("INSERT INTO authtoken_token (\"key\", created, user_id) VALUES (%s, %s, %s), (%s, %s, %s)",
                       [staff_key, timezone.now(), pat.pk, tenant_key, timezone.now(), tenant.pk])
        if runs_as_runtime_role():
            cursor.execute(f"GRANT SELECT, DELETE ON authtoken_token TO {settings.DATABASE_RUNTIME_ROLE}")
    migration = importlib.import_module("sessions_app.migrations.0007_api_tokens_expire")
    try:
        migration.hash_drf_tokens(apps, SimpleNamespace(connection=connection))

        carried = ApiToken.objects.get()
        assert carried.user == pat and carried.kind == ApiTokenKind.STAFF
        assert carried.key_hash == hashlib.sha256(staff_key.encode()).hexdigest()
        assert timedelta(hours=47) < carried.expires_at - timezone.now() <= timedelta(hours=48)
        assert api_tokens.api_token_authenticate(key=staff_key).user == pat
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM authtoken_token")
            assert cursor.fetchone()[0] == 0
    finally:
        with database_owner() as owner, owner.cursor() as cursor:
            cursor.execute("DROP TABLE authtoken_token")
