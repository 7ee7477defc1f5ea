"""What a new user met on the session, history, dashboard and audit pages (issue 13, items 2, 3, 4, 7, 9, 10, 13),
in a real browser: each test walks the page as that person did and checks what they now see."""
from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from sessions_app.models import AccessGrant, RestoreSession
from sessions_app.services import accounts, restore_sessions, session_start
from sessions_app.specs import StartSpec
from tests.conftest import PASSWORD
from tests.e2e.conftest import sign_in, url
from tests.views.conftest import make_session

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def start(actor: Any, organization: Any, **overrides: Any) -> RestoreSession:
    call = {name: overrides.pop(name) for name in ("key", "client", "client_address") if name in overrides}
    spec = StartSpec(**{"organization": organization, "workload": "exchange", "reason": "User deleted a folder",
                        **overrides})
    return session_start.restore_session_start(actor=actor, key=call.pop("key", str(uuid.uuid4())), spec=spec, **call)


def shoot(page: Page, name: str) -> None:
    """The page at 1,280 px and at 390 px, into /tmp (looked at by people, asserted by nobody)."""
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=f"/tmp/e2e-{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_stop_after_the_sign_in_expired_lands_on_the_session_page(page: Page, live_server: Any, operator: Any,
                                                                  backed_up_org: Any) -> None:
    session = start(operator, backed_up_org)
    stop_url = url(live_server, "sessions_app:session-stop", session.upstream_id)
    # Signed out (the sign-in expired): the stop URL sends the person to sign in, and back with a GET.
    page.goto(stop_url)
    expect(page).to_have_url(re.compile(r"/signin/\?next="))
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url(url(live_server, "sessions_app:session-detail", session.upstream_id))
    expect(page.locator(".messages")).to_contain_text("Nothing was stopped: stopping takes a press of the Stop button")
    expect(page.locator("#session-state")).to_have_text("Working")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Stop session").click()
    expect(page.locator(".messages")).to_contain_text("The restore session has stopped.")
    expect(page.locator("#session-state")).to_have_text("Stopped")


def test_a_stopped_sessions_events_are_current(page: Page, live_server: Any, operator: Any, backed_up_org: Any,
                                               sim: Any) -> None:
    session = start(operator, backed_up_org, workload="onedrive")
    sign_in(page, live_server, "olivia")
    page.goto(url(live_server, "sessions_app:session-detail", session.upstream_id))
    sim.advance_clock(5.5)  # an export, restore or save of item 1 is running in VB365 now
    events = page.locator("#session-events")
    expect(events).to_contain_text("Running", timeout=10_000)

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Stop session").click()
    expect(page.locator(".messages")).to_contain_text("The restore session has stopped.")
    expect(events).to_contain_text("Restore session stopped")
    expect(events).not_to_contain_text("Running")
    page.reload()
    expect(page.locator("#session-events")).to_contain_text("Restore session stopped")
    expect(page.locator("#session-events")).not_to_contain_text("Running")


def test_working_sessions_are_working_in_the_overview(page: Page, live_server: Any, operator: Any, auditor: Any,
                                                      backed_up_org: Any) -> None:
    start(operator, backed_up_org, workload="onedrive")
    start(operator, backed_up_org)
    restore_sessions.restore_session_stop(actor=operator, session=start(operator, backed_up_org, workload="teams"))
    sign_in(page, live_server, "alice")
    page.goto(url(live_server, "sessions_app:audit-overview"))
    by_result = page.locator('svg[aria-label^="Sessions per day by result"]')
    expect(by_result.locator("text")).to_contain_text(["Working", "Success"])
    expect(by_result.locator("rect title").first).to_contain_text("Working 2")
    by_workload = page.locator('svg[aria-label^="Sessions per day by workload"]')
    expect(by_workload.locator("text", has_text=re.compile(r"^(Exchange|OneDrive|Teams)$"))).to_have_count(3)
    expect(by_workload.locator("text", has_text=re.compile(r"^(exchange|onedrive|teams)$"))).to_have_count(0)
    shoot(page, "audit-overview")


def test_audit_rows_say_what_happened_and_link_the_session_and_person(page: Page, live_server: Any,
                                                                      operator: Any, auditor: Any,
                                                                      admin_user: Any, backed_up_org: Any) -> None:
    grant = accounts.grant_add(user=operator, organization=backed_up_org, workload="onedrive", actor=admin_user)
    accounts.grant_revoke(grant=AccessGrant.objects.get(pk=grant.pk), actor=admin_user)
    session = start(operator, backed_up_org)
    sign_in(page, live_server, "alice")
    page.goto(url(live_server, "sessions_app:audit-list"))
    table = page.locator("#audit-table")
    expect(table).to_contain_text(f"Added a grant: olivia may now restore OneDrive in {backed_up_org.name}.")
    removed = table.locator("tr", has_text="Removed a grant")
    expect(removed).to_contain_text(f"olivia may no longer restore OneDrive in {backed_up_org.name}")
    removed.get_by_text("Details").click()
    expect(removed.locator("dl")).to_be_visible()
    expect(removed.locator("dl dd")).to_contain_text(["olivia", "remove", "OneDrive", "all workloads, OneDrive"])
    shoot(page, "audit-list")

    started = table.locator("tr", has_text="Started an Exchange restore session")
    started.get_by_role("link", name=str(session.upstream_id)).click()
    page.wait_for_url(url(live_server, "sessions_app:session-detail", session.upstream_id))
    page.go_back()
    page.locator("#audit-table tr", has_text="Started an Exchange restore session").get_by_role(
        "link", name="olivia").click()
    page.wait_for_url(re.compile(r"[?&]actor=olivia"))
    expect(page.locator("#audit-table tbody tr td:nth-child(3)")).to_have_text(
        ["olivia"] * page.locator("#audit-table tbody tr").count())


def test_history_finds_part_of_a_requester_and_shows_tickets_and_initiators(page: Page, live_server: Any,
                                                                            operator: Any, helpdesk: Any,
                                                                            backed_up_org: Any, sim: Any) -> None:
    start(helpdesk, backed_up_org, on_behalf_of=operator, ticket="INC-7781", reason="On behalf, with a ticket")
    make_session(backed_up_org, origin="upstream", reason="", upstream_reason="Restore from the console",
                 initiated_by="CONTOSO\\console-admin")
    sign_in(page, live_server, "olivia")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="History").click()
    table = page.locator("#session-table")
    expect(table.locator("thead")).to_contain_text("Initiated by (VB365)")
    console = table.locator("tr", has_text="Restore from the console")
    expect(console).to_contain_text("in VB365")
    expect(console).to_contain_text("CONTOSO\\console-admin")
    expect(console).not_to_contain_text("—")

    page.get_by_label("Requester").fill("HAR")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"[?&]requested_by=HAR"))
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text("harry for olivia")
    expect(table).to_contain_text("ticket INC-7781")
    expect(table).to_contain_text(sim.info()["admin"]["username"])
    shoot(page, "history")


def test_the_live_view_shows_new_events_on_top_and_when_it_last_read(page: Page, live_server: Any, operator: Any,
                                                                     backed_up_org: Any, sim: Any) -> None:
    session = start(operator, backed_up_org)
    sign_in(page, live_server, "olivia")
    page.goto(url(live_server, "sessions_app:session-detail", session.upstream_id))
    read_at = page.locator("#session-fetched").inner_text()
    sim.advance_clock(16)
    first_order = page.locator("#session-events tbody tr").first.locator("td").first
    expect(first_order).to_have_text(re.compile(r"^[1-9]\d*$"), timeout=10_000)
    expect(page.locator("#session-fetched")).not_to_have_text(read_at, timeout=10_000)
    moved = page.locator("#session-fetched").inner_text()
    expect(page.locator("#session-fetched")).not_to_have_text(moved, timeout=10_000)
    expect(page.locator("#events-order")).to_contain_text("Newest first")
    shoot(page, "session-live")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Stop session").click()
    expect(page.locator("#session-state")).to_have_text("Stopped")
    expect(page.locator("#session-events tbody tr").first.locator("td").first).to_have_text("0")
    page.get_by_role("link", name="Show newest first").click()
    expect(page.locator("#session-events tbody tr").first).to_contain_text("Restore session stopped")
    expect(page.get_by_role("link", name="Show oldest first")).to_be_visible()


def test_details_times_start_event_type_state_order_and_admin_link(page: Page, live_server: Any, operator: Any,
                                                                   admin_user: Any, backed_up_org: Any) -> None:
    session = start(operator, backed_up_org)
    stopped = restore_sessions.restore_session_stop(actor=operator, session=start(operator, backed_up_org))
    sign_in(page, live_server, "root")
    nav = page.get_by_role("navigation", name="Main")
    page.goto(url(live_server, "sessions_app:session-detail", session.upstream_id))
    details = page.locator("dt", has_text="Details").locator("xpath=following-sibling::dd[1]")
    expect(details).to_contain_text("Restore point")
    expect(details).not_to_contain_text(re.compile(r"\d{2}:\d{2}:\d{2}\.\d+Z"))
    started_row = page.locator("#session-events tr", has_text="Restore session started")
    expect(started_row.locator("td").nth(1)).to_have_text("—")
    shoot(page, "session-detail")

    nav.get_by_role("link", name="History").click()
    page.get_by_label("Order").select_option(label="Working first")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"[?&]ordering=state"))
    states = page.locator("#session-table tbody tr td:nth-child(4)")
    expect(states.first).to_have_text("Working")
    expect(states.last).to_have_text("Stopped")
    assert stopped.state == "stopped"

    nav.get_by_role("link", name="Admin").click()
    expect(page).to_have_url(url(live_server, "admin:index"))


def test_the_dashboard_pages_working_sessions_and_stops_them(page: Page, live_server: Any, operator: Any,
                                                             backed_up_org: Any) -> None:
    for n in range(12):
        make_session(backed_up_org, state="working", result="", requested_by=operator, reason=f"restore {n:02}",
                     upstream_id=uuid.uuid4())
    live = start(operator, backed_up_org, reason="The one to stop")
    sign_in(page, live_server, "olivia")
    rows = page.locator("#working-sessions tbody tr")
    expect(rows).to_have_count(10)
    expect(page.locator(".pager")).to_contain_text("Page 1 of 2 (13 in all)")
    shoot(page, "dashboard")
    page.once("dialog", lambda dialog: dialog.accept())
    rows.filter(has_text="The one to stop").get_by_role("button", name=re.compile("^Stop")).click()
    expect(page.locator(".messages")).to_contain_text("The restore session has stopped.")
    assert page.url.startswith(url(live_server, "sessions_app:dashboard"))
    expect(page.locator(".pager")).to_contain_text("(12 in all)")
    page.get_by_role("link", name="Next").click()
    expect(rows).to_have_count(2)
    live.refresh_from_db()
    assert live.state == "stopped"
