"""The keyboard alone (Tab, Enter, Space, arrow keys; no mouse): sign in, start a session, follow it, stop it."""
from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.conftest import PASSWORD
from tests.e2e.conftest import url

pytestmark = pytest.mark.e2e


def tab_to(page: Page, target: Locator, *, limit: int = 80) -> None:
    """Press Tab until the target has the focus, as a person would move through the page."""
    for _ in range(limit):
        if target.evaluate("element => element === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {target}")


@pytest.mark.django_db(transaction=True)
def test_start_follow_and_stop_a_session_with_the_keyboard(page: Page, live_server: Any, operator: Any,
                                                           backed_up_org: Any) -> None:
    reason = f"Keyboard-only restore {uuid.uuid4().hex[:8]}"

    page.goto(url(live_server, "login"))
    tab_to(page, page.get_by_label("Username"))
    page.keyboard.type("olivia")
    tab_to(page, page.get_by_label("Password"))
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(url(live_server, "sessions_app:dashboard"))

    tab_to(page, page.get_by_role("navigation", name="Main").get_by_role("link", name="Start a session"))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/sessions/new/"))
    organization = page.locator("select[name=organization]")
    if not organization.input_value():
        # Choosing with the arrow keys reloads the form for that organization (portal.js).
        tab_to(page, organization)
        page.keyboard.press("ArrowDown")
        page.wait_for_url(re.compile(rf"[?&]organization={backed_up_org.upstream_id}"))
    expect(page.locator("#pit-rules")).to_contain_text(f"For {backed_up_org.name}")
    expect(page.get_by_label("Latest backup")).to_be_checked()

    tab_to(page, page.get_by_label("Reason"))
    page.keyboard.type(reason)
    tab_to(page, page.get_by_role("button", name="Start session"))
    page.keyboard.press("Enter")

    page.wait_for_url(re.compile(r"/sessions/[0-9a-f-]{36}/$"))
    expect(page.locator("#session-state")).to_have_text("Working")
    expect(page.locator("dl.facts").first).to_contain_text(reason)
    # Following: the live part of the page is read again from the server while the person waits.
    page.evaluate("document.getElementById('session-live').dataset.seen = 'yes'")
    expect(page.locator("#session-live:not([data-seen])")).to_have_count(1, timeout=10_000)
    expect(page.locator("#session-live table")).to_contain_text("Restore session started")

    page.once("dialog", lambda dialog: dialog.accept())
    tab_to(page, page.get_by_role("button", name="Stop session"))
    page.keyboard.press("Space")
    expect(page.locator(".messages")).to_contain_text("The restore session has stopped.")
    expect(page.locator("#session-state")).to_have_text("Stopped")
    expect(page.get_by_role("button", name="Stop session")).to_have_count(0)
