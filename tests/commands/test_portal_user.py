"""`manage.py portal_user`: create people with one role and grants, print their API token."""
from __future__ import annotations

import uuid
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from sessions_app import selectors
from sessions_app.models import AccessGrant, ApiToken, AuditAction, AuditEvent, Role

PW = "a-Good-long-pw-1"


def run(*args, stderr=None):
    out = StringIO()
    call_command("portal_user", *args, stdout=out, stderr=stderr or StringIO())
    return out.getvalue()


@pytest.mark.parametrize(("role", "label"), [("operator", "Operator"), ("helpdesk", "Helpdesk"),
                                             ("auditor", "Auditor"), ("admin", "Administrator")])
def test_add_creates_a_user_with_the_role(db, role, label):
    output = run("add", "pat", "--role", role, "--password", "S3cret-pw-long")
    assert output.strip() == f"pat: {label}"
    user = get_user_model().objects.get(username="pat")
    assert user.check_password("S3cret-pw-long")
    assert selectors.user_role(user) == Role(role)
    assert user.is_staff is (role == "admin")
    assert AuditEvent.objects.filter(action=AuditAction.ROLE_CHANGE, actor_username="system").exists()


def test_add_again_changes_the_role_and_password(db):
    run("add", "pat", "--role", "operator", "--password", PW)
    run("add", "pat", "--role", "auditor", "--password", "another-Long-pw-2")
    user = get_user_model().objects.get(username="pat")
    assert selectors.user_role(user) == Role.AUDITOR and user.check_password("another-Long-pw-2")
    assert list(user.groups.values_list("name", flat=True)) == ["auditor"]


def test_operator_with_org_gets_a_grant_on_every_workload(backed_up_org):
    output = run("add", "pat", "--role", "operator", "--password", PW, "--org", str(backed_up_org.upstream_id))
    assert output.strip() == f"pat: Operator, grants: {backed_up_org.name} (all workloads)"
    assert list(AccessGrant.objects.values_list("organization", "workload")) == [(backed_up_org.pk, "")]


def test_operator_with_org_and_workloads_is_limited_to_them(backed_up_org, other_org):
    output = run("add", "pat", "--role", "operator", "--password", PW, "--org", str(backed_up_org.upstream_id),
                 "--org", str(other_org.upstream_id), "--workload", "exchange", "--workload", "teams")
    assert f"{backed_up_org.name} (exchange/teams)" in output and f"{other_org.name} (exchange/teams)" in output
    user = get_user_model().objects.get(username="pat")
    assert selectors.workloads_allowed(user=user, organization=other_org) == {"exchange", "teams"}
    assert AccessGrant.objects.count() == 4


def test_org_not_cached_yet_is_read_from_vb365(upstream, db, sim):
    org_id = sim.organization(backed_up=True)["id"]
    run("add", "pat", "--role", "operator", "--password", PW, "--org", org_id)
    assert AccessGrant.objects.get().organization.upstream_id == uuid.UUID(org_id)


@pytest.mark.parametrize("org_id", [str(uuid.UUID(int=1)), "not-a-uuid"])
def test_unknown_org_is_an_error(organizations, org_id):
    with pytest.raises(CommandError, match=f"VB365 has no organization with id {org_id}"):
        run("add", "pat", "--role", "operator", "--password", PW, "--org", org_id)
    assert not AccessGrant.objects.exists()


def test_org_for_a_role_that_sees_everything_is_an_error(backed_up_org):
    with pytest.raises(CommandError, match="--org only applies to operators"):
        run("add", "pat", "--role", "helpdesk", "--password", PW, "--org", str(backed_up_org.upstream_id))
    assert not get_user_model().objects.filter(username="pat").exists()


def test_unreachable_vb365_is_an_error(upstream, db, sim):
    sim.fault(down=True)
    with pytest.raises(CommandError, match="Cannot read organizations from VB365"):
        run("add", "pat", "--role", "operator", "--password", PW, "--org", str(uuid.uuid4()))


def test_unknown_role_is_refused(db):
    with pytest.raises(CommandError):
        run("add", "pat", "--role", "tenant", "--password", PW)


def test_token_shows_a_new_token_once_with_its_expiry_and_keeps_only_its_hash(db, client):
    run("add", "pat", "--role", "auditor", "--password", PW)
    notes = StringIO()
    first, second = run("token", "pat", stderr=notes).strip(), run("token", "pat").strip()
    assert first != second and len(first) > 40
    stored = ApiToken.objects.filter(user__username="pat").order_by("created_at").first()
    assert stored is not None
    assert f"Expires {stored.expires_at:%Y-%m-%d %H:%M} UTC" in notes.getvalue()
    assert stored.prefix in notes.getvalue() and first not in notes.getvalue()
    assert first not in " ".join(str(v) for v in ApiToken.objects.values_list("key_hash", "prefix"))
    response = client.get("/api/sessions/", HTTP_AUTHORIZATION=f"Token {first}")
    assert response.status_code == 200
    created = AuditEvent.objects.filter(action=AuditAction.TOKEN_CREATE)
    assert created.count() == 2 and {event.actor_username for event in created} == {"system"}


def test_revoke_tokens_ends_every_token_of_the_user(db, client):
    run("add", "pat", "--role", "auditor", "--password", PW)
    tokens = [run("token", "pat").strip() for _ in range(2)]
    assert run("revoke-tokens", "pat").strip() == "pat: 2 tokens revoked"
    for token in tokens:
        assert client.get("/api/sessions/", HTTP_AUTHORIZATION=f"Token {token}").status_code == 401
    assert AuditEvent.objects.filter(action=AuditAction.TOKEN_REVOKE).count() == 2
    assert run("revoke-tokens", "pat").strip() == "pat: 0 tokens revoked"


def test_revoke_tokens_for_an_unknown_user_is_an_error(db):
    with pytest.raises(CommandError, match="No user named ghost"):
        run("revoke-tokens", "ghost")


@pytest.mark.parametrize(("password", "why"), [
    ("short-1", "too short"),
    ("password1234", "too common"),
    ("123456789012345", "entirely numeric"),
    ("patricia-smith", "too similar"),
])
def test_a_weak_password_is_refused_clearly_and_nothing_is_created(db, password, why):
    with pytest.raises(CommandError, match=f"The password is not accepted: .*{why}"):
        run("add", "patricia-smith", "--role", "operator", "--password", password)
    assert not get_user_model().objects.filter(username="patricia-smith").exists()
    assert not AuditEvent.objects.exists()


def test_a_weak_password_leaves_an_existing_user_as_it_was(db):
    run("add", "pat", "--role", "operator", "--password", PW)
    with pytest.raises(CommandError, match="The password is not accepted"):
        run("add", "pat", "--role", "admin", "--password", "short")
    user = get_user_model().objects.get(username="pat")
    assert user.check_password(PW) and selectors.user_role(user) == Role.OPERATOR


def test_token_for_an_unknown_user_is_an_error(db):
    with pytest.raises(CommandError, match="No user named ghost"):
        run("token", "ghost")


def test_token_for_a_user_without_a_role_is_an_error(nobody):
    with pytest.raises(CommandError, match="nina has no portal role"):
        run("token", "nina")


def test_add_is_audited_like_the_admin_with_before_and_after(db):
    run("add", "pat", "--role", "admin", "--password", PW)
    events = list(AuditEvent.objects.exclude(action=AuditAction.TOKEN_CREATE).order_by("sequence"))
    assert [(event.action, event.actor_username) for event in events] == [
        (AuditAction.USER_CREATE, "system"), (AuditAction.USER_CHANGE, "system"), (AuditAction.ROLE_CHANGE, "system")]
    assert events[1].details == {"user": "pat", "before": {"is_staff": False, "is_superuser": False},
                                 "after": {"is_staff": True, "is_superuser": True}}
    assert events[2].details == {"user": "pat", "before": {"groups": []}, "after": {"groups": ["admin"]},
                                 "role": "admin"}


def test_add_again_records_the_role_change_and_that_the_password_changed(db):
    run("add", "pat", "--role", "operator", "--password", PW)
    first = AuditEvent.objects.count()
    run("add", "pat", "--role", "auditor", "--password", "another-Long-pw-2")
    events = list(AuditEvent.objects.order_by("sequence"))[first:]
    assert [event.details for event in events] == [
        {"user": "pat", "before": {}, "after": {}, "password_changed": True},
        {"user": "pat", "before": {"groups": ["operator"]}, "after": {"groups": ["auditor"]}, "role": "auditor"}]


def test_grants_given_on_the_command_line_are_audited(backed_up_org):
    run("add", "pat", "--role", "operator", "--password", PW, "--org", str(backed_up_org.upstream_id),
        "--workload", "exchange")
    event = AuditEvent.objects.get(action=AuditAction.GRANT_CHANGE)
    assert event.details == {"user": "pat", "organization": f"{backed_up_org.name} ({backed_up_org.upstream_id})",
                             "change": "set", "workloads": ["exchange"], "before": {"workloads": []},
                             "after": {"workloads": ["exchange"]}}
