"""The sign-in backend: a session's user comes with its profile in one query."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from sessions_app import selectors
from sessions_app.auth_backends import BACKEND_PATH, PortalModelBackend
from sessions_app.models import Role, UserProfile
from tests.conftest import PASSWORD, make_user


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.OPERATOR, Role.HELPDESK, Role.AUDITOR, Role.ADMIN])
def test_a_session_user_is_read_with_its_profile_and_role_in_one_query(role, django_assert_num_queries):
    user = make_user("sam", role)
    with django_assert_num_queries(1):
        loaded = PortalModelBackend().get_user(user.pk)
        assert loaded.profile.time_zone == ""
        assert selectors.user_role(loaded) == role


def test_a_superuser_without_groups_and_a_tenant_user_get_their_roles_without_a_query(
        backed_up_org, django_assert_num_queries):
    administrator = get_user_model().objects.create_superuser("root", password=PASSWORD)
    tenant = get_user_model().objects.create_user("tenant:restore@contoso.example")
    UserProfile.objects.create(user=tenant, tenant_organization=backed_up_org)
    tenant.groups.add(Group.objects.get(name="operator"))  # the tenant binding decides, not a group
    with django_assert_num_queries(2):
        loaded = [PortalModelBackend().get_user(user.pk) for user in (administrator, tenant)]
        assert [selectors.user_role(user) for user in loaded] == [Role.ADMIN, Role.TENANT]


@pytest.mark.django_db
def test_several_groups_give_the_strongest_role_and_none_gives_no_role():
    user = make_user("sam", Role.OPERATOR)
    user.groups.add(Group.objects.get(name="auditor"))
    assert selectors.user_role(PortalModelBackend().get_user(user.pk)) == Role.AUDITOR
    user.groups.clear()
    assert selectors.user_role(PortalModelBackend().get_user(user.pk)) is None


@pytest.mark.django_db
def test_inactive_and_unknown_users_are_not_signed_in():
    user = make_user("sam", Role.HELPDESK)
    user.is_active = False
    user.save()
    assert PortalModelBackend().get_user(user.pk) is None
    assert PortalModelBackend().get_user(10**9) is None


@pytest.mark.django_db
def test_the_sign_in_page_signs_in_through_this_backend(client, settings):
    assert settings.AUTHENTICATION_BACKENDS == [BACKEND_PATH]
    make_user("sam", Role.HELPDESK)
    response = client.post("/signin/", {"username": "sam", "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_backend"] == BACKEND_PATH
    assert client.get("/").status_code == 200
