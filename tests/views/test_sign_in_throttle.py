"""Sign-in attempts are throttled per user name (one normalized key) and per client address, pages and API alike."""
from __future__ import annotations

import logging
import uuid

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from sessions_app.models import AuditAction, AuditEvent, Role
from tests.conftest import PASSWORD, make_user


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


FULL_WIDTH_OLIVIA = "\uff4flivia"  # "ｏlivia": Django's sign-in form reads it as "olivia"
BALANCER = "10.0.0.5"


def sign_in(client, username, password, client_at=None, **meta):
    if client_at is not None:
        meta = {"REMOTE_ADDR": BALANCER, "HTTP_X_FORWARDED_FOR": client_at, **meta}
    return client.post(reverse("login"), {"username": username, "password": password}, **meta)


@pytest.mark.django_db
def test_a_look_alike_user_name_is_throttled_with_the_name_it_imitates(client, settings):
    settings.SIGN_IN_FAILURES_PER_USER = 5
    make_user("olivia", Role.OPERATOR)
    for _ in range(5):
        assert sign_in(client, "olivia", "bad").status_code == 200

    response = sign_in(client, FULL_WIDTH_OLIVIA, PASSWORD)

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    api = APIClient().post("/api/auth/token/", {"username": FULL_WIDTH_OLIVIA, "password": PASSWORD}, format="json")
    assert api.status_code == 429 and api.json()["code"] == "throttled"


@pytest.mark.django_db
def test_failures_under_a_look_alike_count_for_the_name_it_imitates(client, settings):
    settings.SIGN_IN_FAILURES_PER_USER = 5
    make_user("olivia", Role.OPERATOR)
    for name in [FULL_WIDTH_OLIVIA, "OLIVIA", "Olivia", FULL_WIDTH_OLIVIA.upper(), "olivia"]:
        APIClient().post("/api/auth/token/", {"username": name, "password": "bad"}, format="json")
    assert sign_in(client, "olivia", PASSWORD).status_code == 429


@pytest.mark.django_db
def test_a_look_alike_tenant_name_is_throttled_with_the_name_it_imitates(client, settings, upstream, sim):
    settings.SIGN_IN_FAILURES_PER_USER = 2
    tenant = sim.organization(tenant=True)["tenant"]
    url = reverse("sessions_app:tenant-sign-in")
    for _ in range(2):
        client.post(url, {"username": tenant["username"], "password": "bad"})
    look_alike = "".join(chr(ord(c) + 0xFEE0) if "a" <= c <= "z" else c for c in tenant["username"])
    grants = sim.stats()["token_grants"]

    response = client.post(url, {"username": look_alike, "password": tenant["password"]})

    assert "Too many failed sign-ins" in response.content.decode()
    assert sim.stats()["token_grants"] == grants


@pytest.mark.django_db
def test_behind_a_trusted_proxy_one_clients_failures_do_not_lock_out_another(client, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    settings.SIGN_IN_FAILURES_PER_ADDRESS = 20
    make_user("olivia", Role.OPERATOR)
    for _ in range(20):
        sign_in(client, f"guess-{uuid.uuid4().hex[:8]}", "bad", client_at="203.0.113.7")

    assert sign_in(client, "olivia", "bad", client_at="203.0.113.7").status_code == 429
    assert sign_in(client, "olivia", PASSWORD, client_at="198.51.100.9").status_code == 302
    failures = AuditEvent.objects.filter(action=AuditAction.SIGN_IN_FAILED)
    assert failures.count() == 20
    assert set(failures.values_list("client_address", flat=True)) == {"203.0.113.7"}
    assert AuditEvent.objects.get(action=AuditAction.SIGN_IN).client_address == "198.51.100.9"


@pytest.mark.django_db
def test_a_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored(client, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    settings.SIGN_IN_FAILURES_PER_ADDRESS = 20
    make_user("olivia", Role.OPERATOR)
    for index in range(20):
        sign_in(client, f"guess-{index}", "bad", REMOTE_ADDR="192.0.2.50", HTTP_X_FORWARDED_FOR=f"198.51.100.{index}")

    response = sign_in(client, "olivia", PASSWORD, REMOTE_ADDR="192.0.2.50", HTTP_X_FORWARDED_FOR="198.51.100.99")

    assert response.status_code == 429
    failures = AuditEvent.objects.filter(action=AuditAction.SIGN_IN_FAILED)
    assert set(failures.values_list("client_address", flat=True)) == {"192.0.2.50"}


@pytest.mark.django_db
def test_a_throttle_start_is_audited_once_and_the_refused_attempts_not_at_all(client, settings):
    settings.SIGN_IN_FAILURES_PER_USER = 5
    settings.SIGN_IN_THROTTLE_SECONDS = 600
    make_user("victor", Role.OPERATOR)
    for _ in range(5):
        sign_in(client, "victor", "bad", REMOTE_ADDR="192.0.2.8")
    before = AuditEvent.objects.count()
    for _ in range(30):
        assert sign_in(client, "victor", "bad", REMOTE_ADDR="192.0.2.8").status_code == 429

    assert AuditEvent.objects.count() == before
    throttled = AuditEvent.objects.get(action=AuditAction.SIGN_IN_THROTTLED)
    assert throttled.actor_username == "victor" and throttled.client_address == "192.0.2.8"
    assert throttled.details == {"limit": "user", "failures": 5, "window_seconds": 600, "method": "password"}


@pytest.mark.django_db
def test_an_address_throttle_start_is_audited_once(client, settings):
    settings.SIGN_IN_FAILURES_PER_ADDRESS = 4
    for index in range(4):
        sign_in(client, f"guess-{index}", "bad", REMOTE_ADDR="192.0.2.9")
    for index in range(10):
        sign_in(client, f"more-{index}", "bad", REMOTE_ADDR="192.0.2.9")

    throttled = AuditEvent.objects.get(action=AuditAction.SIGN_IN_THROTTLED)
    assert throttled.client_address == "192.0.2.9" and throttled.details["limit"] == "address"


@pytest.mark.django_db
def test_fifty_throttled_tenant_sign_ins_add_one_event_not_fifty(client, settings, upstream, sim):
    settings.SIGN_IN_FAILURES_PER_USER = 2
    tenant = sim.organization(tenant=True)["tenant"]
    url = reverse("sessions_app:tenant-sign-in")
    before = AuditEvent.objects.count()
    for _ in range(2):
        client.post(url, {"username": tenant["username"], "password": "bad"})
    assert AuditEvent.objects.count() == before + 3  # two failures, and the throttle's start

    for _ in range(25):
        client.post(url, {"username": tenant["username"], "password": tenant["password"]})
    for _ in range(25):
        response = APIClient().post("/api/auth/tenant-token/", {"username": tenant["username"],
                                                                "password": tenant["password"]}, format="json")
        assert response.status_code == 429 and response.json()["code"] == "throttled"

    assert AuditEvent.objects.count() == before + 3
    throttled = AuditEvent.objects.get(action=AuditAction.SIGN_IN_THROTTLED)
    assert throttled.details["method"] == "tenant" and throttled.details["limit"] == "user"


@pytest.mark.django_db
def test_refused_attempts_are_counted_in_the_log_not_line_by_line(client, settings, caplog):
    settings.SIGN_IN_FAILURES_PER_ADDRESS = 1
    sign_in(client, "guess", "bad", REMOTE_ADDR="192.0.2.10")
    with caplog.at_level(logging.WARNING, logger="sessions_app.services.accounts"):
        for _ in range(100):
            sign_in(client, "guess", "bad", REMOTE_ADDR="192.0.2.10")
    lines = [record.getMessage() for record in caplog.records if "refused while" in record.getMessage()]
    assert len(lines) == 3 and "(100 refusals in this window)" in lines[-1]


@pytest.mark.django_db
def test_the_admin_sign_in_page_is_no_way_round_the_limit(client, settings):
    settings.SIGN_IN_FAILURES_PER_USER = 3
    make_user("root", Role.ADMIN)
    for _ in range(3):
        assert client.post("/admin/login/", {"username": "root", "password": "bad"}).status_code == 200

    response = client.post("/admin/login/?next=/admin/", {"username": "root", "password": PASSWORD})

    assert response.status_code == 429 and "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/login/").status_code == 200
