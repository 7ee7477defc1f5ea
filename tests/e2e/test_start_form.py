"""The start form as a new user met it (issue 13, items 1, 5, 6, 8 and the form's part of 13), in a real browser:
each test walks the form as that person did and checks what they now see."""
from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Browser, Locator, Page, expect

from sessions_app.models import RestoreSession
from tests.e2e.conftest import sign_in, url

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SESSION_PAGE = re.compile(r"/sessions/[0-9a-f-]{36}/$")
AMBER = "rgb(255, 248, 225)"


def open_start_form(page: Page, live_server: Any, organization: Any) -> Locator:
    page.goto(f"{url(live_server, 'sessions_app:session-start')}?organization={organization.upstream_id}")
    return page.locator("#start-form")


@pytest.fixture
def berlin_page(browser: Browser) -> Iterator[Page]:
    """A browser whose clock is in Europe/Berlin (portal.js tells the server so with the tz cookie)."""
    context = browser.new_context(timezone_id="Europe/Berlin")
    yield context.new_page()
    context.close()


def test_back_then_start_shows_the_session_already_started_and_starts_another_only_on_purpose(
        page: Page, live_server: Any, operator: Any, backed_up_org: Any) -> None:
    reason = f"Board pack folder deleted {uuid.uuid4().hex[:8]}"
    sign_in(page, live_server, "olivia")
    form = open_start_form(page, live_server, backed_up_org)
    form.get_by_label("Reason").fill(reason)
    form.get_by_role("button", name="Start session").click()
    page.wait_for_url(SESSION_PAGE)
    first = RestoreSession.objects.get()

    page.go_back()
    page.wait_for_url(re.compile(r"/sessions/new/"))
    form = page.locator("#start-form")
    if form.get_by_label("Reason").input_value() != reason:
        form.get_by_label("Reason").fill(reason)  # as the person's browser refilled it
    form.get_by_role("button", name="Start session").click()

    notice = page.locator("#already-started")
    expect(notice).to_contain_text("A session was already started from this form")
    expect(notice).to_contain_text("Nothing new was started.")
    expect(notice.get_by_role("link", name="open that session")).to_have_attribute(
        "href", reverse("sessions_app:session-detail", args=[first.upstream_id]))
    assert RestoreSession.objects.count() == 1

    notice.get_by_role("button", name="Start another session").click()
    page.wait_for_url(SESSION_PAGE)
    assert RestoreSession.objects.count() == 2
    assert str(first.upstream_id) not in page.url


def test_a_sent_form_kept_by_the_back_forward_cache_can_be_sent_again_and_shows_the_first_session(
        page: Page, live_server: Any, operator: Any, backed_up_org: Any) -> None:
    """Chromium under Playwright never keeps pages in its back-forward cache, so the page is put in the state
    that cache keeps: the first form's key, sent (button disabled), then shown again (pageshow, persisted)."""
    reason = f"Calendar restore {uuid.uuid4().hex[:8]}"
    sign_in(page, live_server, "olivia")
    form = open_start_form(page, live_server, backed_up_org)
    sent_key = form.locator("input[name=submission_key]").input_value()
    form.get_by_label("Reason").fill(reason)
    form.get_by_role("button", name="Start session").click()
    page.wait_for_url(SESSION_PAGE)

    form = open_start_form(page, live_server, backed_up_org)
    form.get_by_label("Reason").fill(reason)
    form.evaluate("""(form, key) => {
        form.querySelector("input[name=submission_key]").value = key;
        form.dispatchEvent(new Event("submit", {cancelable: true}));
        window.dispatchEvent(new PageTransitionEvent("pageshow", {persisted: true}));
    }""", sent_key)

    button = form.get_by_role("button", name="Start session")
    expect(button).to_be_enabled()
    assert form.locator("input[name=submission_key]").input_value() != sent_key
    button.click()
    expect(page.locator("#already-started")).to_contain_text("A session was already started from this form")
    assert RestoreSession.objects.count() == 1


def test_only_the_chosen_point_in_time_fields_show_and_the_date_names_the_time_zone(
        berlin_page: Page, live_server: Any, operator: Any, backed_up_org: Any) -> None:
    page = berlin_page
    sign_in(page, live_server, "olivia")
    form = open_start_form(page, live_server, backed_up_org)
    date = form.get_by_label("Date and time (Europe/Berlin)")
    point = form.get_by_label("Restore point", exact=True)
    expect(form.get_by_label("Latest backup")).to_be_checked()
    expect(date).to_be_hidden()
    expect(point).to_be_hidden()

    form.get_by_label("A date and time").check()
    expect(date).to_be_visible()
    expect(point).to_be_hidden()
    date.fill((timezone.now() - timedelta(days=2)).strftime("%Y-%m-%dT10:00"))
    form.get_by_label("A restore point").check()
    expect(point).to_be_visible()
    expect(date).to_be_hidden()

    # Back to the latest backup: the typed date is out of sight, and not sent either.
    form.get_by_label("Latest backup").check()
    expect(date).to_be_hidden()
    form.get_by_label("Reason").fill("Latest, whatever was typed before")
    form.get_by_role("button", name="Start session").click()
    page.wait_for_url(SESSION_PAGE)
    session = RestoreSession.objects.get()
    assert session.requested_latest is True and session.requested_point_in_time is None


def test_a_daylight_saving_time_that_happens_twice_gets_a_plain_message(
        berlin_page: Page, live_server: Any, operator: Any, backed_up_org: Any) -> None:
    page = berlin_page
    sign_in(page, live_server, "olivia")
    form = open_start_form(page, live_server, backed_up_org)
    form.get_by_label("A date and time").check()
    form.get_by_label("Date and time (Europe/Berlin)").fill("2026-10-25T02:30")
    form.get_by_label("Reason").fill("Lost mail in the night of the clock change")
    form.get_by_role("button", name="Start session").click()

    form = page.locator("#start-form")
    expect(form).to_contain_text("2026-10-25 02:30 happens twice in Europe/Berlin: the clocks go back an hour")
    expect(form).not_to_contain_text("couldn’t be interpreted")
    expect(form.get_by_label("Date and time (Europe/Berlin)")).to_be_visible()
    expect(form.get_by_label("Reason")).to_have_value("Lost mail in the night of the clock change")
    assert not RestoreSession.objects.exists()


def test_without_the_script_a_date_typed_next_to_latest_is_refused_not_ignored(
        browser: Browser, live_server: Any, operator: Any, backed_up_org: Any) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, live_server, "olivia")
        form = open_start_form(page, live_server, backed_up_org)
        expect(form.get_by_label("Latest backup")).to_be_checked()
        form.get_by_label(re.compile(r"^Date and time \(")).fill("2026-01-05T10:00")
        form.get_by_label("Reason").fill("Typed a date, left Latest chosen")
        form.get_by_role("button", name="Start session").click()

        expect(page.locator("#start-form")).to_contain_text(
            "You chose “Latest backup”, but this is filled in too. Choose “A date and time” to use it, or clear it.")
        assert not RestoreSession.objects.exists()
    finally:
        context.close()


def test_a_moment_before_the_first_backup_is_named_in_amber_before_and_after_starting(
        page: Page, live_server: Any, operator: Any, backed_up_org: Any) -> None:
    sign_in(page, live_server, "olivia")
    form = open_start_form(page, live_server, backed_up_org)
    form.get_by_label("A date and time").check()
    before_first = timezone.localtime(backed_up_org.first_backup - timedelta(days=3))
    form.get_by_label(re.compile(r"^Date and time \(")).fill(before_first.strftime("%Y-%m-%dT%H:%M"))

    note = page.locator("#pit-note")
    expect(note).to_be_visible()
    expect(note).to_contain_text("This is before the first backup")
    expect(note).to_contain_text("the session will contain no data")
    expect(note).to_have_css("background-color", AMBER)

    form.get_by_label("Reason").fill("Mail from before the first backup")
    form.get_by_role("button", name="Start session").click()
    page.wait_for_url(SESSION_PAGE)
    banner = page.locator(".messages li")
    expect(banner).to_contain_text("The restore session has started, but it holds no data")
    expect(banner).to_have_css("background-color", AMBER)
    notice = page.locator("#no-data-notice")
    expect(notice).to_contain_text("This session holds no backup data")
    expect(notice).to_have_css("background-color", AMBER)


def test_the_reason_counts_its_characters_and_nothing_is_cut(page: Page, live_server: Any, operator: Any,
                                                             backed_up_org: Any) -> None:
    sign_in(page, live_server, "olivia")
    form = open_start_form(page, live_server, backed_up_org)
    reason = form.get_by_label("Reason")
    count = form.locator("#id_reason-count, #id_reason + .help, #id_reason ~ .help").first
    expect(count).to_have_text("0 of 2,000 characters")
    reason.fill("Mailbox restore")
    expect(count).to_have_text("15 of 2,000 characters")

    reason.fill("x" * 2_100)
    expect(count).to_have_text("2,100 of 2,000 characters: 100 too many. Shorten the reason to start.")
    assert len(reason.input_value()) == 2_100
    form.get_by_role("button", name="Start session").click()

    form = page.locator("#start-form")
    expect(form).to_contain_text("Shorten the reason to 2000 characters (it has 2100).")
    assert len(form.get_by_label("Reason").input_value()) == 2_100
    assert not RestoreSession.objects.exists()


def test_restore_points_are_grouped_and_one_can_be_chosen(page: Page, live_server: Any, operator: Any,
                                                          backed_up_org: Any) -> None:
    sign_in(page, live_server, "olivia")
    form = open_start_form(page, live_server, backed_up_org)
    form.get_by_label("A restore point").check()
    point = form.get_by_label("Restore point", exact=True)
    groups = point.locator("optgroup")
    assert groups.count() > 3
    assert re.fullmatch(r"[A-Z][a-z]+ \d{4}", groups.first.get_attribute("label") or "")
    assert groups.first.locator("option").count() > 1
    chosen = groups.nth(1).locator("option").first.get_attribute("value")
    point.select_option(chosen)
    form.get_by_label("Reason").fill("From a restore point of last month")
    form.get_by_role("button", name="Start session").click()
    page.wait_for_url(SESSION_PAGE)
    assert RestoreSession.objects.get().restore_point_id == chosen


def test_helpdesk_may_start_only_on_behalf_of_people_who_start_sessions(
        page: Page, live_server: Any, helpdesk: Any, operator: Any, exchange_operator: Any, auditor: Any,
        admin_user: Any, backed_up_org: Any) -> None:
    sign_in(page, live_server, "harry")
    form = open_start_form(page, live_server, backed_up_org)
    options = form.get_by_label("On behalf of").locator("option")
    expect(options).to_have_text(["nobody", "olivia"])


def test_an_organizations_restore_points_come_in_pages(page: Page, live_server: Any, operator: Any,
                                                       backed_up_org: Any) -> None:
    sign_in(page, live_server, "olivia")
    page.goto(url(live_server, "sessions_app:organization-detail", backed_up_org.upstream_id))
    rows = page.locator("#restore-points tbody tr")
    expect(rows).to_have_count(30)
    first_page = rows.first.inner_text()
    expect(page.get_by_role("navigation", name="Pages")).to_contain_text("Page 1 of")

    page.get_by_role("link", name="Next").click()
    expect(page).to_have_url(re.compile(r"[?&]page=2"))
    expect(rows).to_have_count(30)
    assert rows.first.inner_text() != first_page
    expect(page.locator("main")).to_contain_text("Newest first: 31–60 of")
