"""The "Sign in with your Microsoft 365 organization" page, and what a tenant then sees."""
from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from sessions_app.models import AuditAction, AuditEvent

URL = reverse("sessions_app:tenant-sign-in")


@pytest.fixture
def tenant_org(sim: Any) -> dict[str, Any]:
    return sim.organization(backed_up=True, tenant=True)


@pytest.fixture
def tenant_client(client: Any, upstream: Any, organizations: Any, tenant_org: dict[str, Any]) -> Any:
    response = client.post(URL, {"username": tenant_org["tenant"]["username"],
                                 "password": tenant_org["tenant"]["password"]})
    assert response.status_code == 302
    return client


def test_sign_in_page_is_linked_from_the_login_page(client, db):
    assert URL in client.get(reverse("login")).content.decode()
    assert "Sign in with your Microsoft 365 organization" in client.get(URL).content.decode()


def test_tenant_signs_in_and_lands_on_the_dashboard(tenant_client, tenant_org):
    page = tenant_client.get(reverse("sessions_app:dashboard"), follow=True).content.decode()
    assert f"Signed in for {tenant_org['name']}" in page
    assert AuditEvent.objects.filter(action=AuditAction.SIGN_IN,
                                     actor_username=f"tenant:{tenant_org['tenant']['username'].lower()}").exists()


def test_wrong_password_shows_a_clear_message_and_is_audited(client, upstream, tenant_org, db):
    response = client.post(URL, {"username": tenant_org["tenant"]["username"], "password": "nope"})
    assert response.status_code == 200
    assert "did not accept this user name and password" in response.content.decode()
    assert AuditEvent.objects.filter(action=AuditAction.SIGN_IN_FAILED).count() == 1


def test_upstream_down_is_explained(client, upstream, sim, tenant_org, db):
    sim.fault(status=503, path="(?i)token")
    response = client.post(URL, {"username": tenant_org["tenant"]["username"],
                                 "password": tenant_org["tenant"]["password"]})
    assert response.status_code == 200
    assert "cannot be reached" in response.content.decode()


def test_start_form_has_no_organization_picker_for_a_tenant(tenant_client, tenant_org):
    page = tenant_client.get(reverse("sessions_app:session-start")).content.decode()
    assert 'name="organization" value="' in page and "<select name=\"organization\"" not in page
    assert tenant_org["name"] in page
    assert "before the first backup" in page


def test_tenant_starts_and_stops_a_session_through_the_pages(tenant_client, tenant_org, sim):
    before = sim.request_count("POST /v8/Organization/Explore")
    page = tenant_client.get(reverse("sessions_app:session-start"))
    key = page.context["form"]["submission_key"].value()
    response = tenant_client.post(reverse("sessions_app:session-start"), {
        "submission_key": key, "organization": tenant_org["id"], "point_choice": "latest", "workload": "exchange",
        "reason": "Lost my inbox rules", "scope": "my mailbox"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert sim.request_count("POST /v8/Organization/Explore") == before + 1
    detail = tenant_client.get(response["Location"]).content.decode()
    assert "Lost my inbox rules" in detail
    stop = tenant_client.post(response["Location"] + "stop/", follow=True)
    assert "The restore session has stopped." in stop.content.decode()


def test_tenant_sees_only_its_organization(tenant_client, tenant_org, organizations):
    page = tenant_client.get(reverse("sessions_app:organization-list")).content.decode()
    names = [org.name for org in organizations if str(org.upstream_id) != tenant_org["id"]]
    assert tenant_org["name"] in page and not any(name in page for name in names)


def test_sign_out_forgets_the_upstream_token(tenant_client, tenant_org):
    from django.contrib.auth import get_user_model

    from sessions_app.services.tenants import TenantTokenStore

    user = get_user_model().objects.get(username=f"tenant:{tenant_org['tenant']['username'].lower()}")
    assert TenantTokenStore(user.pk).load() is not None
    tenant_client.post(reverse("logout"))
    assert TenantTokenStore(user.pk).load() is None


def test_the_page_session_ends_no_later_than_the_vb365_sign_in(tenant_client, tenant_org):
    from django.contrib.auth import get_user_model

    from sessions_app.services.tenants import TenantTokenStore

    user = get_user_model().objects.get(username=f"tenant:{tenant_org['tenant']['username'].lower()}")
    ends_at = TenantTokenStore(user.pk).ends_at()
    assert ends_at is not None
    assert abs((tenant_client.session.get_expiry_date() - ends_at).total_seconds()) < 1


def test_the_page_session_ends_when_vb365_refuses_the_tenant(tenant_client, tenant_org, sim):
    assert tenant_client.get(reverse("sessions_app:session-list")).status_code == 200
    sim.fault(status=401, path="(?i)/v8/organization$")
    # A page that asks VB365 meets the refusal; VB365's answer is shown, never a 500.
    assert tenant_client.get(reverse("sessions_app:organization-list") + "?refresh=1").status_code == 200
    sim.clear_faults()

    response = tenant_client.get(reverse("sessions_app:session-list"), follow=True)

    assert response.redirect_chain and reverse("login") in response.redirect_chain[-1][0]
    assert "Your VB365 sign-in has ended" in response.content.decode()
    assert AuditEvent.objects.filter(action=AuditAction.SIGN_OUT).exists()


def test_the_page_session_ends_when_the_tenant_signs_out_through_the_api(tenant_client, tenant_org):
    from rest_framework.test import APIClient

    api = APIClient()
    token = api.post("/api/auth/tenant-token/", {"username": tenant_org["tenant"]["username"],
                                                 "password": tenant_org["tenant"]["password"]}, format="json")
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    assert api.delete("/api/auth/token/").status_code == 204

    response = tenant_client.get(reverse("sessions_app:dashboard"))

    assert response.status_code == 302 and reverse("login") in response["Location"]
