"""The backup explorer on the session page, in a real browser against the simulator."""
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


def explorer(page: Page) -> Any:
    return page.locator("#explorer")


def open_entry(page: Page, kind: str, name: str) -> None:
    explorer(page).get_by_role("button", name=f"Open {kind} {name}", exact=True).click()
    expect(page.locator("#explorer-crumbs [aria-current=location]")).to_have_text(name)


def session_page(page: Page, live_server: Any, operator: Any, organization: Any, workload: str) -> None:
    session = session_start.restore_session_start(actor=operator, key=str(uuid.uuid4()), spec=StartSpec(
        organization=organization, workload=workload, reason="INC-5 find a file", show_all_versions=True))
    sign_in(page, live_server, "olivia")
    page.goto(url(live_server, "sessions_app:session-detail", session.upstream_id))


@pytest.mark.django_db(transaction=True)
def test_operator_explores_an_exchange_session(page: Page, live_server: Any, operator: Any,
                                               backed_up_org: Any) -> None:
    sign_in(page, live_server, "olivia")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Start a session").click()
    page.get_by_label("Organization").select_option(label=backed_up_org.name)
    page.wait_for_url(re.compile(rf"[?&]organization={backed_up_org.upstream_id}"))
    form = page.locator("#start-form")
    form.get_by_label("Latest backup").check()
    form.get_by_label("Workload").select_option(label="Exchange")
    form.get_by_label("Reason").fill("INC-42 a deleted mail")
    form.get_by_role("button", name="Start session").click()
    page.wait_for_url(re.compile(r"/sessions/[0-9a-f-]{36}/$"))

    # The top level: mailboxes, in the list and in the tree.
    tree = page.get_by_role("tree")
    expect(tree.get_by_role("treeitem", name="Adele Vance", exact=True)).to_be_visible()
    open_entry(page, "mailbox", "Adele Vance")

    # A nested folder, by the list; then back by the breadcrumbs.
    open_entry(page, "folder", "Recoverable Items")
    open_entry(page, "folder", "Deletions")
    expect(page.locator("#explorer-crumbs")).to_contain_text("Adele Vance")
    expect(page.locator("#explorer-crumbs")).to_contain_text("Recoverable Items")
    page.locator("#explorer-crumbs").get_by_role("button", name="Adele Vance").click()
    expect(page.locator("#explorer-crumbs [aria-current=location]")).to_have_text("Adele Vance")

    # The tree by keyboard: expand the mailbox, its folders appear one level down.
    mailbox_item = tree.get_by_role("treeitem", name="Adele Vance", exact=True)
    mailbox_item.focus()
    page.keyboard.press("ArrowRight")
    expect(mailbox_item).to_have_attribute("aria-expanded", "true")
    expect(mailbox_item.locator("[role=treeitem][aria-level='2']").first).to_be_visible()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    expect(page.locator("#explorer-crumbs [aria-current=location]")).to_have_text("Inbox")

    # Inbox holds 1,500 messages: page through all of them, 50 at a time, server-side.
    status = page.locator("#explorer-status")
    expect(status).to_have_text("Entries 1–50 (more on the next page)")
    rows = page.locator("#explorer-list tbody tr")
    expect(rows).to_have_count(50)
    page.screenshot(path="/tmp/explorer-1280.png", full_page=True)
    next_button = page.get_by_role("button", name="Next page")
    for number in range(2, 31):
        next_button.click()
        expect(status).to_contain_text(f"Entries {(number - 1) * 50 + 1}–{number * 50}")
    expect(status).to_have_text("Entries 1451–1500")
    expect(next_button).to_be_disabled()
    page.get_by_role("button", name="Previous page").click()
    expect(status).to_contain_text("Entries 1401–1450")

    # A message's details: subject, from, to, dates, attachments with sizes.
    message_row = page.locator("#explorer-list tbody tr[data-kind=item]", has_text="attachment").first
    message_row.get_by_role("button", name=re.compile("^Details of ")).click()
    details = page.locator("#explorer-details")
    expect(details).to_be_visible()
    expect(details).to_be_focused()
    for field in ("Subject", "From", "To", "Received", "Attachments"):
        expect(details.locator("dt", has_text=re.compile(f"^{field}$"))).to_have_count(1)
    expect(details).to_contain_text(re.compile(r"\(\d+(\.\d)? (B|KB|MB)\)"))
    page.get_by_role("button", name="Close details").click()
    expect(details).to_be_hidden()

    # Search within the mailbox.
    page.locator("#explorer-crumbs").get_by_role("button", name="Adele Vance").click()
    page.get_by_label("Search in Adele Vance").fill("contract")
    page.locator("#explorer-search").get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#explorer-caption")).to_have_text("Results for “contract” in Adele Vance")
    expect(page.locator("#explorer-list tbody tr[data-kind=item]").first).to_be_visible()

    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator("#explorer-list tbody tr").first).to_be_visible()
    page.locator("#explorer-title").scroll_into_view_if_needed()
    page.screenshot(path="/tmp/explorer-390.png")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the explorer is {width}px wide on a 390px screen"


@pytest.mark.django_db(transaction=True)
def test_onedrive_document_with_versions(page: Page, live_server: Any, operator: Any, backed_up_org: Any) -> None:
    session_page(page, live_server, operator, backed_up_org, "onedrive")
    open_entry(page, "onedrive", "Adele Vance")
    row = page.locator("#explorer-list tbody tr", has_text="Plan 1.pptx")
    row.get_by_role("button", name="Details of Plan 1.pptx").click()
    details = page.locator("#explorer-details")
    for field in ("Size", "Modified", "Created by", "Modified by", "Versions"):
        expect(details.locator("dt", has_text=re.compile(f"^{field}$"))).to_have_count(1)
    open_entry(page, "document", "Plan 1.pptx")
    expect(page.locator("#explorer-list tbody tr[data-kind=version]").first).to_be_visible()


@pytest.mark.django_db(transaction=True)
def test_sharepoint_library(page: Page, live_server: Any, operator: Any, backed_up_org: Any) -> None:
    session_page(page, live_server, operator, backed_up_org, "sharepoint")
    open_entry(page, "site", "Intranet")
    open_entry(page, "library", "Documents")
    expect(page.locator("#explorer-list tbody tr[data-kind=document]").first).to_be_visible()


@pytest.mark.django_db(transaction=True)
def test_teams_channel_posts_and_files(page: Page, live_server: Any, operator: Any, backed_up_org: Any) -> None:
    session_page(page, live_server, operator, backed_up_org, "teams")
    open_entry(page, "team", "Marketing")
    open_entry(page, "channel", "General")
    open_entry(page, "folder", "Posts")
    expect(page.locator("#explorer-list tbody tr[data-kind=post]").first).to_be_visible()
    page.locator("#explorer-crumbs").get_by_role("button", name="General").click()
    open_entry(page, "folder", "Files")
    open_entry(page, "folder", "General")
    expect(page.locator("#explorer-list tbody tr[data-kind=file]").first).to_be_visible()


@pytest.mark.django_db(transaction=True)
def test_auditors_see_no_explorer(page: Page, live_server: Any, operator: Any, auditor: Any,
                                  backed_up_org: Any) -> None:
    session = session_start.restore_session_start(actor=operator, key=str(uuid.uuid4()), spec=StartSpec(
        organization=backed_up_org, workload="exchange", reason="INC-6"))
    sign_in(page, live_server, "alice")
    page.goto(url(live_server, "sessions_app:session-detail", session.upstream_id))
    expect(page.locator("#explorer-not-allowed")).to_be_visible()
    expect(page.locator("#explorer")).to_have_count(0)
