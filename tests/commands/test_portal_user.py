"""`manage.py portal_user`: create people with one role and grants, print their API token."""
from __future__ import annotations

import uuid
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from sessions_app import selectors
from sessions_app.models import AccessGrant, AuditAction, AuditEvent, Role


def run(*args):
    out = StringIO()
    call_command("portal_user", *args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize(("role", "label"), [("operator", "Operator"), ("helpdesk", "Helpdesk"),
                                             ("auditor", "Auditor"), ("admin", "Administrator")])
def test_add_creates_a_user_with_the_role(db, role, label):
    output = run("add", "pat", "--role", role, "--password", "S3cret-pw")
    assert output.strip() == f"pat: {label}"
    user = get_user_model().objects.get(username="pat")
    assert user.check_password("S3cret-pw")
    assert selectors.user_role(user) == Role(role)
    assert user.is_staff is (role == "admin")
    assert AuditEvent.objects.filter(action=AuditAction.ROLE_CHANGE, actor_username="system").exists()


def test_add_again_changes_the_role_and_password(db):
    run("add", "pat", "--role", "operator", "--password", "one")
    run("add", "pat", "--role", "auditor", "--password", "two")
    user = get_user_model().objects.get(username="pat")
    assert selectors.user_role(user) == Role.AUDITOR and user.check_password("two")
    assert list(user.groups.values_list("name", flat=True)) == ["auditor"]


def test_operator_with_org_gets_a_grant_on_every_workload(backed_up_org):
    output = run("add", "pat", "--role", "operator", "--password", "x", "--org", str(backed_up_org.upstream_id))
    assert output.strip() == f"pat: Operator, grants: {backed_up_org.name} (all workloads)"
    assert list(AccessGrant.objects.values_list("organization", "workload")) == [(backed_up_org.pk, "")]


def test_operator_with_org_and_workloads_is_limited_to_them(backed_up_org, other_org):
    output = run("add", "pat", "--role", "operator", "--password", "x", "--org", str(backed_up_org.upstream_id),
                 "--org", str(other_org.upstream_id), "--workload", "exchange", "--workload", "teams")
    assert f"{backed_up_org.name} (exchange/teams)" in output and f"{other_org.name} (exchange/teams)" in output
    user = get_user_model().objects.get(username="pat")
    assert selectors.workloads_allowed(user=user, organization=other_org) == {"exchange", "teams"}
    assert AccessGrant.objects.count() == 4


def test_org_not_cached_yet_is_read_from_vb365(upstream, db, sim):
    org_id = sim.organization(backed_up=True)["id"]
    run("add", "pat", "--role", "operator", "--password", "x", "--org", org_id)
    assert AccessGrant.objects.get().organization.upstream_id == uuid.UUID(org_id)


@pytest.mark.parametrize("org_id", [str(uuid.UUID(int=1)), "not-a-uuid"])
def test_unknown_org_is_an_error(organizations, org_id):
    with pytest.raises(CommandError, match=f"VB365 has no organization with id {org_id}"):
        run("add", "pat", "--role", "operator", "--password", "x", "--org", org_id)
    assert not AccessGrant.objects.exists()


def test_org_for_a_role_that_sees_everything_is_an_error(backed_up_org):
    with pytest.raises(CommandError, match="--org only applies to operators"):
        run("add", "pat", "--role", "helpdesk", "--password", "x", "--org", str(backed_up_org.upstream_id))
    assert not get_user_model().objects.filter(username="pat").exists()


def test_unreachable_vb365_is_an_error(upstream, db, sim):
    sim.fault(down=True)
    with pytest.raises(CommandError, match="Cannot read organizations from VB365"):
        run("add", "pat", "--role", "operator", "--password", "x", "--org", str(uuid.uuid4()))


def test_unknown_role_is_refused(db):
    with pytest.raises(CommandError):
        run("add", "pat", "--role", "tenant", "--password", "x")


def test_token_prints_the_same_40_character_key_each_time(db):
    run("add", "pat", "--role", "auditor", "--password", "x")
    first, second = run("token", "pat").strip(), run("token", "pat").strip()
    assert len(first) == 40 and first.isalnum()
    assert first == second


def test_token_for_an_unknown_user_is_an_error(db):
    with pytest.raises(CommandError, match="No user named ghost"):
        run("token", "ghost")


def test_token_for_a_user_without_a_role_is_an_error(nobody):
    with pytest.raises(CommandError, match="nina has no portal role"):
        run("token", "nina")
