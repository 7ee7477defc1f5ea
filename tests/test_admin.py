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
    assert event.client_address == "127.0.0.1"
    assert event.details == {"user": "olivia", "organization": f"{other_org.name} ({other_org.upstream_id})",
                             "change": "add", "workloads": ["teams"],
                             "before": {"workloads": []}, "after": {"workloads": ["teams"]}}


def test_changing_a_grant_is_audited_as_revoke_and_add(admin_client, operator, backed_up_org, other_org):
    grant = AccessGrant.objects.get(user=operator, organization=backed_up_org)
    before = AuditEvent.objects.filter(action=AuditAction.GRANT_CHANGE).count()
    response = admin_client.post(reverse("admin:sessions_app_accessgrant_change", args=[grant.pk]),
                                 {"user": operator.pk, "organization": backed_up_org.pk, "workload": "exchange"})
    assert response.status_code == 302
    assert list(AccessGrant.objects.filter(user=operator).values_list("workload", flat=True)) == ["exchange"]
    events = list(AuditEvent.objects.filter(action=AuditAction.GRANT_CHANGE).order_by("sequence"))[before:]
    assert [(e.details["change"], e.details["before"], e.details["after"]) for e in events] == [
        ("remove", {"workloads": ["all"]}, {"workloads": []}),
        ("add", {"workloads": []}, {"workloads": ["exchange"]})]


def test_deleting_a_grant_is_audited(admin_client, operator, backed_up_org):
    grant = AccessGrant.objects.get(user=operator, organization=backed_up_org)
    response = admin_client.post(reverse("admin:sessions_app_accessgrant_delete", args=[grant.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not AccessGrant.objects.filter(pk=grant.pk).exists()
    event = AuditEvent.objects.filter(action=AuditAction.GRANT_CHANGE).latest("sequence")
    assert event.actor_username == "root" and event.organization_id == str(backed_up_org.upstream_id)
    assert event.details == {"user": "olivia", "organization": f"{backed_up_org.name} ({backed_up_org.upstream_id})",
                             "change": "remove", "workloads": ["all"],
                             "before": {"workloads": ["all"]}, "after": {"workloads": []}}


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
    assert event is not None
    assert event.actor_username == "root"
    assert event.details == {"user": "olivia", "before": {"groups": ["operator"]}, "after": {"groups": ["helpdesk"]}}
    assert event.client_address == "127.0.0.1"


def test_api_tokens_are_listed_by_prefix_and_expiry_never_by_key_and_can_be_revoked(admin_client, admin_user,
                                                                                     operator):
    from sessions_app.models import ApiToken
    from sessions_app.services import api_tokens

    issued = api_tokens.api_token_create(user=operator)
    changelist = reverse("admin:sessions_app_apitoken_changelist")
    listing = admin_client.get(changelist).content.decode()
    detail = admin_client.get(reverse("admin:sessions_app_apitoken_change", args=[issued.token.pk])).content.decode()
    for html in (listing, detail):
        assert issued.token.prefix in html
        assert issued.key not in html and issued.token.key_hash not in html
    assert 'name="_save"' not in detail
    assert admin_client.get(reverse("admin:sessions_app_apitoken_add")).status_code == 403

    response = admin_client.post(changelist, {"action": "revoke", "_selected_action": [issued.token.pk]}, follow=True)

    assert "1 token revoked" in response.content.decode()
    assert ApiToken.objects.get().revoked_at is not None
    revoke = AuditEvent.objects.get(action=AuditAction.TOKEN_REVOKE)
    assert revoke.actor_id == admin_user.pk and revoke.details["token"] == issued.token.prefix


# -- people: every change an administrator makes is audited with before and after --------------------------


def people_events(*actions):
    return list(AuditEvent.objects.filter(action__in=actions).order_by("sequence"))


PEOPLE_ACTIONS = (AuditAction.USER_CREATE, AuditAction.USER_CHANGE, AuditAction.USER_DELETE, AuditAction.ROLE_CHANGE,
                  AuditAction.PROFILE_CHANGE, AuditAction.GRANT_CHANGE)


def change_user(admin_client, user, *, groups=None, permissions=(), **flags):
    """Post the admin's user form as a browser would, with `flags` (is_active, is_staff, is_superuser) changed."""
    state = {"is_active": user.is_active, "is_staff": user.is_staff, "is_superuser": user.is_superuser, **flags}
    data = {"username": user.username, "first_name": "", "last_name": "", "email": "",
            "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
            "groups": [group.pk for group in (user.groups.all() if groups is None else groups)],
            "user_permissions": [permission.pk for permission in permissions]}
    data.update({name: "on" for name, on in state.items() if on})
    return admin_client.post(reverse("admin:auth_user_change", args=[user.pk]), data)


def test_creating_a_user_is_audited(admin_client):
    before = len(people_events(*PEOPLE_ACTIONS))
    response = admin_client.post(reverse("admin:auth_user_add"), {
        "username": "newbie", "password1": "Correct-horse-battery-9", "password2": "Correct-horse-battery-9",
        "usable_password": "true"})
    assert response.status_code == 302, response.content.decode()[:2000]
    [event] = people_events(*PEOPLE_ACTIONS)[before:]
    assert event.action == AuditAction.USER_CREATE and event.actor_username == "root"
    assert event.client_address == "127.0.0.1"
    assert event.details == {"user": "newbie", "before": {}, "after": {
        "username": "newbie", "is_active": True, "is_staff": False, "is_superuser": False}}


def test_ticking_superuser_and_staff_is_audited(admin_client, operator):
    before = len(people_events(*PEOPLE_ACTIONS))
    response = change_user(admin_client, operator, is_superuser=True, is_staff=True)
    assert response.status_code == 302, response.content.decode()[:2000]
    [event] = people_events(*PEOPLE_ACTIONS)[before:]
    assert event.action == AuditAction.USER_CHANGE and event.actor_username == "root"
    assert event.details == {"user": "olivia", "before": {"is_staff": False, "is_superuser": False},
                             "after": {"is_staff": True, "is_superuser": True}}


def test_deactivating_a_user_is_audited(admin_client, operator):
    before = len(people_events(*PEOPLE_ACTIONS))
    assert change_user(admin_client, operator, is_active=False).status_code == 302
    [event] = people_events(*PEOPLE_ACTIONS)[before:]
    assert event.details == {"user": "olivia", "before": {"is_active": True}, "after": {"is_active": False}}


def test_saving_a_user_unchanged_records_nothing(admin_client, operator):
    before = len(people_events(*PEOPLE_ACTIONS))
    assert change_user(admin_client, operator).status_code == 302
    assert len(people_events(*PEOPLE_ACTIONS)) == before


def test_giving_a_user_a_permission_is_audited(admin_client, operator):
    from django.contrib.auth.models import Permission

    permission = Permission.objects.get(codename="change_user")
    before = len(people_events(*PEOPLE_ACTIONS))
    assert change_user(admin_client, operator, permissions=[permission]).status_code == 302
    [event] = people_events(*PEOPLE_ACTIONS)[before:]
    assert event.action == AuditAction.USER_CHANGE
    assert event.details == {"user": "olivia", "before": {"permissions": []},
                             "after": {"permissions": ["auth.change_user"]}}


def test_setting_a_password_is_audited_without_it(admin_client, operator):
    before = len(people_events(*PEOPLE_ACTIONS))
    response = admin_client.post(reverse("admin:auth_user_password_change", args=[operator.pk]), {
        "password1": "Another-long-pass-77", "password2": "Another-long-pass-77", "usable_password": "true"})
    assert response.status_code == 302, response.content.decode()[:2000]
    [event] = people_events(*PEOPLE_ACTIONS)[before:]
    assert event.action == AuditAction.USER_CHANGE
    assert event.details == {"user": "olivia", "before": {}, "after": {}, "password_changed": True}
    assert "Another-long-pass-77" not in str(event.details)


def test_binding_a_profile_to_a_tenant_organization_is_audited(admin_client, operator, other_org):
    profile = operator.profile
    before = len(people_events(*PEOPLE_ACTIONS))
    response = admin_client.post(reverse("admin:sessions_app_userprofile_change", args=[profile.pk]), {
        "user": operator.pk, "time_zone": "", "tenant_organization": other_org.pk})
    assert response.status_code == 302, response.content.decode()[:2000]
    [event] = people_events(*PEOPLE_ACTIONS)[before:]
    assert event.action == AuditAction.PROFILE_CHANGE and event.actor_username == "root"
    assert event.organization_id == str(other_org.upstream_id)
    assert event.details == {"user": "olivia", "before": {"tenant_organization": None},
                             "after": {"tenant_organization": f"{other_org.name} ({other_org.upstream_id})"}}


def test_deleting_a_tenant_binding_is_audited(admin_client, operator, other_org):
    profile = operator.profile
    profile.tenant_organization = other_org
    profile.save()
    before = len(people_events(*PEOPLE_ACTIONS))
    response = admin_client.post(reverse("admin:sessions_app_userprofile_delete", args=[profile.pk]), {"post": "yes"})
    assert response.status_code == 302
    [event] = people_events(*PEOPLE_ACTIONS)[before:]
    assert event.action == AuditAction.PROFILE_CHANGE and event.details["profile_deleted"] is True
    assert event.details["before"] == {"tenant_organization": f"{other_org.name} ({other_org.upstream_id})"}
    assert event.details["after"] == {"tenant_organization": None}


def test_deleting_a_user_is_audited_with_what_they_were(admin_client, operator, backed_up_org):
    before = len(people_events(*PEOPLE_ACTIONS))
    response = admin_client.post(reverse("admin:auth_user_delete", args=[operator.pk]), {"post": "yes"})
    assert response.status_code == 302
    [event] = people_events(*PEOPLE_ACTIONS)[before:]
    assert event.action == AuditAction.USER_DELETE and event.actor_username == "root"
    assert event.details == {"user": "olivia", "after": {}, "before": {
        "username": "olivia", "is_active": True, "is_staff": False, "is_superuser": False, "groups": ["operator"],
        "permissions": [], "grants": [f"{backed_up_org.name} ({backed_up_org.upstream_id}): all"],
        "tenant_organization": None, "time_zone": ""}}


def test_bulk_deleting_users_audits_each(admin_client, operator, exchange_operator):
    admin_client.post(reverse("admin:auth_user_changelist"), {
        "action": "delete_selected", "_selected_action": [operator.pk, exchange_operator.pk], "post": "yes"})
    deleted = [event.details["user"] for event in people_events(AuditAction.USER_DELETE)]
    assert sorted(deleted) == ["olivia", "oscar"]


def test_renaming_a_group_changes_every_members_role_and_is_audited(admin_client, operator):
    from django.contrib.auth.models import Group

    group = Group.objects.get(name="operator")
    before = len(people_events(*PEOPLE_ACTIONS))
    response = admin_client.post(reverse("admin:auth_group_change", args=[group.pk]), {
        "name": "operators", "permissions": list(group.permissions.values_list("pk", flat=True))})
    assert response.status_code == 302, response.content.decode()[:2000]
    [event] = people_events(*PEOPLE_ACTIONS)[before:]
    assert event.action == AuditAction.ROLE_CHANGE
    assert event.details == {"group": "operators", "members": ["olivia"], "before": {"name": "operator"},
                             "after": {"name": "operators"}}


def test_changing_a_groups_permissions_is_audited(admin_client, operator):
    from django.contrib.auth.models import Group

    group = Group.objects.get(name="operator")
    kept = sorted(f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all())
    before = len(people_events(*PEOPLE_ACTIONS))
    assert admin_client.post(reverse("admin:auth_group_change", args=[group.pk]),
                             {"name": "operator", "permissions": []}).status_code == 302
    [event] = people_events(*PEOPLE_ACTIONS)[before:]
    assert event.details == {"group": "operator", "members": ["olivia"], "before": {"permissions": kept},
                             "after": {"permissions": []}}


def test_the_session_list_shows_a_working_session_as_working_not_as_a_success(client, admin_user, backed_up_org):
    from tests.views.conftest import table_rows

    make_session(backed_up_org, state="working", result="success", reason="still working")
    client.force_login(admin_user)
    [row] = table_rows(client.get(reverse("admin:sessions_app_restoresession_changelist")), "result_list")
    assert "Working (no result yet)" in row and "Success" not in row
