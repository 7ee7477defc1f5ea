"""Django admin: inspection only for cached and audit records; grant changes go through the audited service."""
from __future__ import annotations

import pytest
from django.urls import reverse

from sessions_app.models import AccessGrant, AuditAction, AuditEvent, RestoreSession
from sessions_app.services.audit import audit_event_record
from tests.views.conftest import make_session

READ_ONLY = ["organization", "restoresession", "restoresessionevent", "startrequest", "syncrun", "auditevent"]


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize("model", [*READ_ONLY, "accessgrant", "userprofile"])
def test_every_changelist_loads(admin_client, backed_up_org, model):
    make_session(backed_up_org)
    response = admin_client.get(reverse(f"admin:sessions_app_{model}_changelist"))
    assert response.status_code == 200


def test_admin_index_lists_restore_desk(admin_client):
    response = admin_client.get(reverse("admin:index"))
    assert response.status_code == 200 and "Restore Desk" in response.content.decode()


def test_restore_session_page_is_view_only(admin_client, backed_up_org):
    session = make_session(backed_up_org, reason="inspect me")
    response = admin_client.get(reverse("admin:sessions_app_restoresession_change", args=[session.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "inspect me" in html and 'name="_save"' not in html
    assert admin_client.get(reverse("admin:sessions_app_restoresession_add")).status_code == 403


@pytest.mark.parametrize("model", ["restoresession", "auditevent"])
def test_delete_and_change_are_forbidden(admin_client, backed_up_org, model):
    target = (make_session(backed_up_org) if model == "restoresession"
              else audit_event_record(action=AuditAction.EXPORT, actor_username="x"))
    delete = reverse(f"admin:sessions_app_{model}_delete", args=[target.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    change = reverse(f"admin:sessions_app_{model}_change", args=[target.pk])
    assert admin_client.post(change, {"reason": "rewritten"}).status_code == 403
    assert admin_client.get(reverse(f"admin:sessions_app_{model}_add")).status_code == 403
    assert type(target).objects.filter(pk=target.pk).exists()


def test_audit_changelist_offers_no_bulk_delete(admin_client):
    event = audit_event_record(action=AuditAction.EXPORT, actor_username="x")
    changelist = reverse("admin:sessions_app_auditevent_changelist")
    assert 'name="action"' not in admin_client.get(changelist).content.decode()
    admin_client.post(changelist, {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"})
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_operator_may_not_open_the_admin(operator_client):
    response = operator_client.get(reverse("admin:index"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_adding_a_grant_is_audited(admin_client, operator, other_org):
    response = admin_client.post(reverse("admin:sessions_app_accessgrant_add"),
                                 {"user": operator.pk, "organization": other_org.pk, "workload": "teams"})
    assert response.status_code == 302
    assert AccessGrant.objects.filter(user=operator, organization=other_org, workload="teams").exists()
    event = AuditEvent.objects.filter(action=AuditAction.GRANT_CHANGE).latest("sequence")
    assert event.actor_username == "root" and event.organization_id == str(other_org.upstream_id)
    assert event.details == {"user": "olivia", "workload": "teams"}


def test_changing_a_grant_is_audited_as_revoke_and_add(admin_client, operator, backed_up_org, other_org):
    grant = AccessGrant.objects.get(user=operator, organization=backed_up_org)
    before = AuditEvent.objects.filter(action=AuditAction.GRANT_CHANGE).count()
    response = admin_client.post(reverse("admin:sessions_app_accessgrant_change", args=[grant.pk]),
                                 {"user": operator.pk, "organization": backed_up_org.pk, "workload": "exchange"})
    assert response.status_code == 302
    assert list(AccessGrant.objects.filter(user=operator).values_list("workload", flat=True)) == ["exchange"]
    events = list(AuditEvent.objects.filter(action=AuditAction.GRANT_CHANGE).order_by("sequence"))[before:]
    assert [e.details.get("revoked", False) for e in events] == [True, False]


def test_deleting_a_grant_is_audited(admin_client, operator, backed_up_org):
    grant = AccessGrant.objects.get(user=operator, organization=backed_up_org)
    response = admin_client.post(reverse("admin:sessions_app_accessgrant_delete", args=[grant.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not AccessGrant.objects.filter(pk=grant.pk).exists()
    event = AuditEvent.objects.filter(action=AuditAction.GRANT_CHANGE).latest("sequence")
    assert event.actor_username == "root"
    assert event.details == {"user": "olivia", "workload": "all", "revoked": True}


def test_bulk_deleting_grants_audits_each(admin_client, operator, exchange_operator):
    grants = list(AccessGrant.objects.values_list("pk", flat=True))
    before = AuditEvent.objects.filter(action=AuditAction.GRANT_CHANGE).count()
    admin_client.post(reverse("admin:sessions_app_accessgrant_changelist"),
                      {"action": "delete_selected", "_selected_action": grants, "post": "yes"})
    assert not AccessGrant.objects.exists()
    assert AuditEvent.objects.filter(action=AuditAction.GRANT_CHANGE).count() == before + len(grants)


def test_sessions_survive_an_admin_look(admin_client, backed_up_org):
    make_session(backed_up_org)
    admin_client.get(reverse("admin:sessions_app_restoresession_changelist"), {"q": "contoso"})
    assert RestoreSession.objects.count() == 1


def test_changing_a_users_role_in_the_admin_is_audited(admin_client, operator):
    from django.contrib.auth.models import Group

    from sessions_app.models import AuditAction, AuditEvent

    helpdesk_group = Group.objects.get_or_create(name="helpdesk")[0]
    url = f"/admin/auth/user/{operator.pk}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "password"}
    data.update({"username": "olivia", "groups": [helpdesk_group.pk], "date_joined_0": "2026-01-01",
                 "date_joined_1": "00:00:00", "is_active": "on"})
    data.pop("user_permissions", None)
    data.pop("last_login", None)
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    event = AuditEvent.objects.filter(action=AuditAction.ROLE_CHANGE).order_by("-sequence").first()
    assert event.actor_username == "root"
    assert event.details["user"] == "olivia"
    assert event.details["groups_before"] == ["operator"] and event.details["groups_after"] == ["helpdesk"]
