"""The sign-in backend: a session's user comes with its profile in one query."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from sessions_app import selectors
from sessions_app.auth_backends import BACKEND_PATH, PortalModelBackend
from sessions_app.models import Role
from tests.conftest import PASSWORD, make_user


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.OPERATOR, Role.HELPDESK, Role.AUDITOR, Role.ADMIN])
def test_a_session_user_is_read_with_its_profile_in_one_query(role, django_assert_num_queries):
    user = make_user("sam", role)
    with django_assert_num_queries(1):
        loaded = PortalModelBackend().get_user(user.pk)
        assert loaded.profile.time_zone == ""
    assert selectors.user_role(loaded) == role


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
