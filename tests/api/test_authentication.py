"""Token authentication: the token, its user and the profile read together; the role decides."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.test import APIClient

from sessions_app.models import ApiToken, Role
from tests.api.conftest import token_client
from tests.conftest import make_user


@pytest.mark.django_db
def test_a_token_call_reads_the_token_user_profile_and_role_in_one_query(django_assert_num_queries):
    user = make_user("harriet", Role.HELPDESK)
    client = token_client(user)
    assert client.get("/api/sessions/").status_code == 200  # the first call notes the token's use
    # token + user + profile + the role's group, then the empty page of sessions and its capped count
    with django_assert_num_queries(3):
        response = client.get("/api/sessions/")
    assert response.status_code == 200


@pytest.mark.django_db
def test_last_use_is_noted_at_most_once_a_minute(django_assert_num_queries):
    client = token_client(make_user("harriet", Role.HELPDESK))
    client.get("/api/sessions/")
    first_use = ApiToken.objects.get().last_used_at
    assert first_use is not None
    client.get("/api/sessions/")
    assert ApiToken.objects.get().last_used_at == first_use
    ApiToken.objects.update(last_used_at=timezone.now() - timedelta(minutes=2))
    client.get("/api/sessions/")
    last_use = ApiToken.objects.get().last_used_at
    assert last_use is not None and last_use > first_use


@pytest.mark.django_db
@pytest.mark.parametrize(("groups", "status"), [
    ([], 403),  # signed in, no portal role
    (["operator"], 400),  # may start (the body is empty)
    (["operator", "auditor"], 403),  # admin, helpdesk, auditor, operator: the first one held decides
    (["helpdesk", "auditor"], 400),
])
def test_the_strongest_group_decides_what_a_token_may_do(groups, status):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("gina", password="x-Unused-1")
    user.groups.set(Group.objects.filter(name__in=groups))
    assert token_client(user).post("/api/sessions/", {}, format="json").status_code == status


@pytest.mark.django_db
def test_a_superusers_token_may_do_what_an_administrator_may_without_any_group():
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_superuser("sam", password="x-Unused-1")
    assert token_client(user).post("/api/sessions/", {}, format="json").status_code == 400  # may start


@pytest.mark.django_db
def test_an_unknown_token_and_an_inactive_users_token_are_refused():
    user = make_user("ivan", Role.HELPDESK)
    client = token_client(user)
    user.is_active = False
    user.save()
    assert client.get("/api/sessions/").status_code == 401
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    response = stranger.get("/api/sessions/")
    assert response.status_code == 401
    assert ApiToken.objects.count() == 1
