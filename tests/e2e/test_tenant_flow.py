"""Tenant self-service in a real browser: sign in with the organization's credentials, restore, stop."""
from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import url

pytestmark = pytest.mark.e2e


@pytest.mark.django_db(transaction=True)
def test_tenant_signs_in_with_its_own_credentials_and_restores(page: Page, live_server: Any, upstream: Any,
                                                               sim: Any, organizations: Any) -> None:
    tenant_org = sim.organization(backed_up=True, tenant=True)
    reason = f"I deleted my project folder {uuid.uuid4().hex[:8]}"

    page.goto(url(live_server, "login"))
    page.get_by_role("link", name="Sign in with your Microsoft 365 organization").click()
    page.get_by_label("Microsoft 365 user name").fill(tenant_org["tenant"]["username"])
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("[role=alert]")).to_contain_text("did not accept this user name and password")

    page.get_by_label("Password").fill(tenant_org["tenant"]["password"])
    page.get_by_label("Microsoft 365 user name").fill(tenant_org["tenant"]["username"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(url(live_server, "sessions_app:dashboard"))
    expect(page.locator(".messages")).to_contain_text(f"Signed in for {tenant_org['name']}")
    expect(page.locator(".role")).to_have_text("Tenant")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Start a session").click()
    expect(page.locator("select[name=organization]")).to_have_count(0)
    expect(page.locator("#start-form")).to_contain_text(tenant_org["name"])
    expect(page.locator("#pit-rules")).to_contain_text("before the first backup")
    form = page.locator("#start-form")
    form.get_by_label("Reason").fill(reason)
    form.get_by_role("button", name="Start session").click()

    page.wait_for_url(re.compile(r"/sessions/[0-9a-f-]{36}/$"))
    expect(page.locator("#session-state")).to_have_text("Working")
    expect(page.locator("dl.facts").first).to_contain_text(reason)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Stop session").click()
    expect(page.locator(".messages")).to_contain_text("The restore session has stopped.")
    expect(page.locator("#session-state")).to_have_text("Stopped")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="History").click()
    expect(page.locator("#session-table")).to_contain_text(reason)
    other_names = [org["name"] for org in sim.info()["organizations"] if org["id"] != tenant_org["id"]]
    for name in other_names:
        expect(page.locator("#session-table")).not_to_contain_text(name)


@pytest.mark.django_db(transaction=True)
def test_a_tenant_sees_that_the_provider_worked_but_not_its_internal_fields_and_cannot_stop_it(
        page: Page, live_server: Any, upstream: Any, provider_session: Any, tenant_credentials: dict[str, str]) -> None:
    page.goto(url(live_server, "sessions_app:tenant-sign-in"))
    page.get_by_label("Microsoft 365 user name").fill(tenant_credentials["username"])
    page.get_by_label("Password").fill(tenant_credentials["password"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(url(live_server, "sessions_app:dashboard"))

    page.get_by_role("navigation", name="Main").get_by_role("link", name="History").click()
    table = page.locator("#session-table")
    expect(table).to_contain_text("Your service provider")
    expect(table).to_contain_text("Exchange")
    for internal in ("PROVIDER-REASON", "PROVIDER-SCOPE", "INC-PROVIDER-77", "harry", "olivia", "10.20.30.40"):
        expect(page.locator("main")).not_to_contain_text(internal)

    page.goto(f"{live_server.url}/sessions/{provider_session.upstream_id}/")
    expect(page.locator("#session-state")).to_have_text("Working")
    for internal in ("PROVIDER-REASON", "PROVIDER-SCOPE", "INC-PROVIDER-77", "harry", "olivia", "10.20.30.40"):
        expect(page.locator("main")).not_to_contain_text(internal)
    expect(page.get_by_role("button", name="Stop session")).to_have_count(0)
