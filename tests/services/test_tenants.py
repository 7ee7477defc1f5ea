"""Tenant self-service against the simulator in v4, v5, v6 and v8: sign in, start, list, stop, isolation."""
from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from sessions_app import exceptions, selectors
from sessions_app.models import AuditAction, AuditEvent, Organization, Role
from sessions_app.services import restore_sessions, session_start, tenants
from sessions_app.specs import StartSpec
from sessions_app.upstream import client as upstream_client
from sessions_app.upstream import errors

TENANT_VERSIONS = [4, 5, 6, 8]


@pytest.fixture
def tenant_org(sim: Any) -> dict[str, Any]:
    return sim.organization(backed_up=True, tenant=True)


def sign_in(tenant_org: dict[str, Any]) -> tenants.TenantSignIn:
    return tenants.tenant_sign_in(username=tenant_org["tenant"]["username"], password=tenant_org["tenant"]["password"])


def client_of(user: Any) -> Any:
    return tenants.client_for(user=user)


@pytest.mark.django_db
@pytest.mark.parametrize("version", TENANT_VERSIONS)
def test_tenant_signs_in_starts_lists_and_stops_within_its_organization(upstream, tenant_org, version):
    upstream(version)
    signed_in = sign_in(tenant_org)
    user = signed_in.user
    assert str(signed_in.organization.upstream_id) == tenant_org["id"]
    assert selectors.user_role(user) == Role.TENANT
    assert list(selectors.organization_list(user=user)) == [signed_in.organization]
    client = client_of(user)
    session = session_start.restore_session_start(actor=user, key=str(uuid.uuid4()), client=client, spec=StartSpec(
        organization=signed_in.organization, workload="exchange", reason="I deleted my calendar", scope="my mailbox"))
    assert session.reason == "I deleted my calendar" and session.requested_by == user
    assert session.organization == signed_in.organization
    assert [s.upstream_id for s in selectors.restore_session_list(user=user)] == [session.upstream_id]
    stopped = restore_sessions.restore_session_stop(actor=user, session=session, client=client)
    assert stopped.state == "stopped"
    actions = list(AuditEvent.objects.filter(actor_username=user.get_username()).values_list("action", flat=True))
    assert AuditAction.SESSION_START in actions and AuditAction.SESSION_STOP in actions


@pytest.mark.django_db
def test_tenant_cannot_see_or_stop_another_organizations_session(upstream, tenant_org, operator, other_org, helpdesk):
    upstream(8)
    foreign = session_start.restore_session_start(actor=helpdesk, key=str(uuid.uuid4()), spec=StartSpec(
        organization=other_org, workload="exchange", reason="someone else's"))
    user = sign_in(tenant_org).user
    assert selectors.restore_session_get(user=user, upstream_id=foreign.upstream_id) is None
    with pytest.raises(exceptions.NotVisible):
        restore_sessions.restore_session_stop(actor=user, session=foreign, client=client_of(user))
    with pytest.raises(exceptions.NotVisible):
        session_start.restore_session_start(actor=user, key=str(uuid.uuid4()), client=client_of(user), spec=StartSpec(
            organization=other_org, workload="exchange", reason="x"))


@pytest.mark.django_db
def test_wrong_credentials_are_refused_and_audited(upstream, tenant_org):
    upstream(8)
    with pytest.raises(tenants.TenantSignInFailed) as caught:
        tenants.tenant_sign_in(username=tenant_org["tenant"]["username"], password="wrong")
    assert caught.value.message == tenants.WRONG_CREDENTIALS
    failure = AuditEvent.objects.get(action=AuditAction.SIGN_IN_FAILED)
    assert failure.actor_username == f"tenant:{tenant_org['tenant']['username']}"
    assert "wrong" not in str(failure.details)


@pytest.mark.django_db
def test_organization_vb365_does_not_know_is_refused(upstream, sim, tenant_org):
    upstream(8)
    sim.fault(status=404, path="(?i)/v8/organization$")
    with pytest.raises(tenants.TenantSignInFailed) as caught:
        sign_in(tenant_org)
    assert caught.value.message == tenants.ORGANIZATION_UNKNOWN
    assert AuditEvent.objects.filter(action=AuditAction.SIGN_IN_FAILED).count() == 1


@pytest.mark.django_db
def test_upstream_refusing_tenant_sign_in_is_explained(upstream, sim, tenant_org):
    upstream(8)
    sim.fault(status=403, path="(?i)/v8/token$")
    with pytest.raises(tenants.TenantSignInFailed) as caught:
        sign_in(tenant_org)
    assert "does not let organizations sign in" in caught.value.message


@pytest.mark.django_db
def test_api_v1_has_no_tenant_sign_in(upstream, tenant_org):
    upstream(1)
    with pytest.raises(tenants.TenantSignInFailed) as caught:
        sign_in(tenant_org)
    assert "v1" in caught.value.message


@pytest.mark.django_db
def test_token_stays_encrypted_server_side_and_is_refreshed(upstream, sim, tenant_org):
    upstream(8)
    user = sign_in(tenant_org).user
    store = tenants.TenantTokenStore(user.pk)
    sealed = cache.get(f"vb365:tenant-token:{user.pk}")
    token = store.load()
    assert token is not None and token.access_token not in sealed and token.refresh_token not in sealed
    sim.expire_tokens()
    client_of(user).get_own_organization()
    refreshed = store.load()
    assert refreshed is not None and refreshed.access_token != token.access_token


@pytest.mark.django_db
def test_sign_out_forgets_the_tokens(upstream, tenant_org):
    upstream(8)
    user = sign_in(tenant_org).user
    tenants.tenant_sign_out(user=user)
    assert tenants.TenantTokenStore(user.pk).load() is None
    with pytest.raises(errors.UpstreamAuthError):
        client_of(user).get_own_organization()


@pytest.mark.django_db
def test_signing_in_again_reuses_the_tenant_user(upstream, tenant_org):
    upstream(8)
    first = sign_in(tenant_org).user
    second = sign_in(tenant_org).user
    assert first.pk == second.pk and not second.has_usable_password()
    assert Organization.objects.filter(upstream_id=tenant_org["id"]).count() == 1


@pytest.mark.django_db
def test_the_sign_in_ends_8_hours_on_whatever_refreshes_happen(upstream, sim, tenant_org):
    upstream(8)
    signed_in = sign_in(tenant_org)
    store = tenants.TenantTokenStore(signed_in.user.pk)
    assert timedelta(hours=7, minutes=59) < signed_in.ends_at - timezone.now() <= timedelta(hours=8)
    ends_at, before = store.ends_at(), store.load()
    assert ends_at is not None and before is not None and abs((ends_at - signed_in.ends_at).total_seconds()) < 1
    sim.expire_tokens()
    client_of(signed_in.user).get_own_organization()
    ends_at, after = store.ends_at(), store.load()
    assert after is not None and after.access_token != before.access_token
    assert ends_at is not None and abs((ends_at - signed_in.ends_at).total_seconds()) < 1


@pytest.mark.django_db
def test_a_refresh_finishing_after_sign_out_does_not_sign_the_tenant_in_again(upstream, tenant_org):
    upstream(8)
    user = sign_in(tenant_org).user
    store = tenants.TenantTokenStore(user.pk)
    token = store.load()
    assert token is not None
    tenants.tenant_sign_out(user=user)
    store.save(token)
    assert store.load() is None and not tenants.tenant_sign_in_alive(user=user)


@pytest.mark.django_db
def test_sign_out_revokes_the_tenants_api_tokens_and_audits_it(upstream, tenant_org):
    upstream(8)
    signed_in = sign_in(tenant_org)
    issued = tenants.tenant_api_token_create(sign_in=signed_in)
    assert issued.token.expires_at == signed_in.ends_at
    tenants.tenant_sign_out(user=signed_in.user)
    issued.token.refresh_from_db()
    assert issued.token.revoked_at is not None
    revoke = AuditEvent.objects.get(action=AuditAction.TOKEN_REVOKE)
    assert revoke.details == {"user": signed_in.user.get_username(), "token": issued.token.prefix,
                              "kind": "tenant", "expires_at": issued.token.expires_at.isoformat(), "why": "sign-out"}


@pytest.mark.django_db
def test_vb365_refusing_the_tenant_ends_the_sign_in(upstream, sim, tenant_org):
    upstream(8)
    user = sign_in(tenant_org).user
    assert tenants.tenant_sign_in_alive(user=user)
    sim.fault(status=401, path="(?i)/v8/organization$")
    with pytest.raises(errors.UpstreamAuthError):
        client_of(user).get_own_organization()
    assert tenants.TenantTokenStore(user.pk).load() is None
    assert not tenants.tenant_sign_in_alive(user=user)


@pytest.mark.django_db
def test_vb365_forbidding_one_operation_ends_nothing(upstream, sim, tenant_org):
    upstream(8)
    user = sign_in(tenant_org).user
    sim.fault(status=403, path="(?i)/v8/organization$")
    with pytest.raises(errors.UpstreamAuthError):
        client_of(user).get_own_organization()
    assert tenants.tenant_sign_in_alive(user=user)


@pytest.mark.django_db
def test_the_client_for_a_tenant_speaks_as_the_tenant_and_for_everyone_else_as_the_service_account(
        upstream, tenant_org, operator):
    upstream(8)
    tenant_user = sign_in(tenant_org).user

    assert client_of(tenant_user).as_tenant
    assert client_of(operator) is upstream_client.get_client() and not client_of(operator).as_tenant
