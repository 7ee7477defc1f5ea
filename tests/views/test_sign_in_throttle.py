"""Sign-in attempts are throttled per user name and per address, across pages."""
from __future__ import annotations

import pytest
from django.urls import reverse

from tests.conftest import PASSWORD, make_user
from sessions_app.models import Role


@pytest.mark.django_db
def test_too_many_failures_for_one_user_lock_that_user_out(client, settings):
    settings.SIGN_IN_FAILURES_PER_USER = 3
    make_user("victor", Role.OPERATOR)
    for _ in range(3):
        assert client.post(reverse("login"), {"username": "victor", "password": "bad"}).status_code == 200
    response = client.post(reverse("login"), {"username": "victor", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_failures_from_one_address_lock_that_address_out(client, settings):
    settings.SIGN_IN_FAILURES_PER_ADDRESS = 4
    make_user("wendy", Role.OPERATOR)
    for index in range(4):
        client.post(reverse("login"), {"username": f"guess{index}", "password": "bad"})
    assert client.post(reverse("login"), {"username": "wendy", "password": PASSWORD}).status_code == 429


@pytest.mark.django_db
def test_a_successful_sign_in_clears_the_users_count(client, settings):
    settings.SIGN_IN_FAILURES_PER_USER = 3
    make_user("xena", Role.OPERATOR)
    for _ in range(2):
        client.post(reverse("login"), {"username": "xena", "password": "bad"})
    assert client.post(reverse("login"), {"username": "xena", "password": PASSWORD}).status_code == 302
    client.post(reverse("logout"))
    for _ in range(2):
        client.post(reverse("login"), {"username": "xena", "password": "bad"})
    assert client.post(reverse("login"), {"username": "xena", "password": PASSWORD}).status_code == 302


@pytest.mark.django_db
def test_tenant_sign_in_is_throttled_too(client, settings, upstream, sim):
    settings.SIGN_IN_FAILURES_PER_USER = 2
    tenant = sim.organization(tenant=True)["tenant"]
    url = reverse("sessions_app:tenant-sign-in")
    for _ in range(2):
        client.post(url, {"username": tenant["username"], "password": "bad"})
    response = client.post(url, {"username": tenant["username"], "password": tenant["password"]})
    assert "Too many failed sign-ins" in response.content.decode()
