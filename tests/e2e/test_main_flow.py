"""The operator's main flow in a real browser: sign in, start a session, watch it, stop it, find it in History."""
from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from sessions_app.services import session_start
from sessions_app.specs import StartSpec
from tests.e2e.conftest import sign_in, url

pytestmark = pytest.mark.e2e


@pytest.mark.django_db(transaction=True)
def test_operator_starts_watches_stops_and_finds_a_session(page: Page, live_server: Any, operator: Any,
                                                           backed_up_org: Any) -> None:
    reason = f"Mailbox folder deleted by mistake {uuid.uuid4().hex[:8]}"
    # Another of olivia's sessions, so that the History filter has something to leave out.
    session_start.restore_session_start(actor=operator, key=str(uuid.uuid4()), spec=StartSpec(
        organization=backed_up_org, workload="exchange", reason="Unrelated calendar restore"))

    sign_in(page, live_server, "olivia")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Start a session").click()
    expect(page.locator("#pit-rules")).to_contain_text("A moment in the future, and an organization that was "
                                                       "never backed up, are refused.")

    # portal.js reloads the form with ?organization=... to show that organization's backups.
    page.get_by_label("Organization").select_option(label=backed_up_org.name)
    page.wait_for_url(re.compile(rf"[?&]organization={backed_up_org.upstream_id}"))
    expect(page.locator("#pit-rules")).to_contain_text(f"For {backed_up_org.name}: first backup")

    form = page.locator("#start-form")
    form.get_by_label("A date and time").check()
    form.get_by_label(re.compile(r"^Date and time \(")).fill("2099-01-01T10:00")
    expect(page.locator("#pit-note")).to_have_text("This moment is in the future and will be refused.")
    form.get_by_label(re.compile(r"^Date and time \(")).fill("")
    form.get_by_label("Latest backup").check()
    expect(page.locator("#pit-note")).to_have_text("")

    form.get_by_label("Workload").select_option(label="Exchange")
    form.get_by_label("Reason").fill(reason)
    form.get_by_label("Scope or ticket").fill("mailbox of j.doe, INC-1234")
    page.screenshot(path="/tmp/e2e-start-form.png", full_page=True)
    form.get_by_role("button", name="Start session").click()

    page.wait_for_url(re.compile(r"/sessions/[0-9a-f-]{36}/$"))
    expect(page.locator(".messages")).to_contain_text("The restore session has started.")
    expect(page.locator("#session-state")).to_have_text("Working")
    expect(page.locator("#session-live")).to_have_attribute("data-state", "working")
    expect(page.locator("dl.facts").first).to_contain_text(reason)
    # Event 0 is there from the first read; the 3 s live refresh keeps it while more arrive.
    expect(page.locator("#session-live table")).to_contain_text("Restore session started")
    page.screenshot(path="/tmp/e2e-session-detail.png", full_page=True)

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Stop session").click()
    expect(page.locator(".messages")).to_contain_text("The restore session has stopped.")
    expect(page.locator("#session-state")).to_have_text("Stopped")
    expect(page.get_by_role("button", name="Stop session")).to_have_count(0)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="History").click()
    table = page.locator("#session-table")
    expect(table).to_contain_text(reason)
    expect(table).to_contain_text("Unrelated calendar restore")
    page.get_by_label("Reason or scope contains").fill(reason)
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"[?&]search="))
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text(reason)
    expect(table).to_contain_text("Stopped")
    assert url(live_server, "sessions_app:session-list") in page.url
