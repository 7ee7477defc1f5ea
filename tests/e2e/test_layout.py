"""Every main page, as each role, on a phone (390 px) and a desktop (1,280 px): nothing wider than the screen, and
no accessibility violation of impact moderate or higher (axe-core, from the axe-playwright-python package)."""
from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import Page, expect

from sessions_app.services import restore_sessions, session_start
from sessions_app.specs import StartSpec
from tests.e2e.conftest import sign_in, url

pytestmark = pytest.mark.e2e

PHONE, DESKTOP = 390, 1280
# One unbroken word as long as the review page shows of a reason (60 characters): it must wrap, not widen.
LONG_WORD = "FinanceQ3ReportingMailboxArchiveFolderDeletedByRetentionPol"
FAILING_IMPACTS = {"moderate", "serious", "critical"}
_axe = Axe()


def page_width(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def axe_violations(page: Page) -> list[str]:
    """axe-core's violations of impact moderate or higher, one line each (rule, impact, first elements)."""
    results = _axe.run(page)
    return [f"{violation['id']} ({violation['impact']}): {violation['help']} at "
            + ", ".join(str(node["target"]) for node in violation["nodes"][:3])
            for violation in results.response["violations"] if violation["impact"] in FAILING_IMPACTS]


@pytest.fixture
def sessions(fresh_sim: Any, operator: Any, helpdesk: Any, backed_up_org: Any) -> None:
    """VB365's history (imported), one of olivia's sessions working, one stopped, and one the helpdesk started
    for her with a long unbroken word in its reason."""
    call_command("sync_sessions", verbosity=0)
    stopped = session_start.restore_session_start(actor=operator, key=str(uuid.uuid4()), spec=StartSpec(
        organization=backed_up_org, workload="exchange", reason="Calendar items deleted by a faulty rule",
        scope="finance@, INC-20417"))
    restore_sessions.restore_session_stop(actor=operator, session=stopped)
    session_start.restore_session_start(actor=operator, key=str(uuid.uuid4()), spec=StartSpec(
        organization=backed_up_org, workload="onedrive", reason="Project folder overwritten"))
    session_start.restore_session_start(actor=helpdesk, key=str(uuid.uuid4()), spec=StartSpec(
        organization=backed_up_org, workload="exchange", reason=LONG_WORD, ticket="INC-20931", on_behalf_of=operator))


def sign_in_as(page: Page, live_server: Any, role: str, fresh_sim: Any) -> None:
    if role != "tenant":
        user = {"operator": "olivia", "helpdesk": "harry", "auditor": "alice", "admin": "root"}[role]
        sign_in(page, live_server, user)
        return
    credentials = fresh_sim.organization(backed_up=True, tenant=True)["tenant"]
    page.goto(url(live_server, "sessions_app:tenant-sign-in"))
    page.get_by_label("Microsoft 365 user name").fill(credentials["username"])
    page.get_by_label("Password").fill(credentials["password"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(url(live_server, "sessions_app:dashboard"))


def main_pages(page: Page, live_server: Any) -> dict[str, str]:
    """The role's main pages: every link of the navigation, the first organization and session those list, the
    audit overview where the audit trail is, and the profile."""
    page.goto(url(live_server, "sessions_app:dashboard"))
    pages = {link.inner_text().strip(): link.get_attribute("href") or ""
             for link in page.get_by_role("navigation", name="Main").get_by_role("link").all()}
    for listing, pattern in (("sessions_app:organization-list", r"^/organizations/[0-9a-f-]{36}/$"),
                             ("sessions_app:session-list", r"^/sessions/[0-9a-f-]{36}/$")):
        page.goto(url(live_server, listing))
        hrefs = page.locator("main a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
        pages[f"first of {listing}"] = next(href for href in hrefs if href and re.match(pattern, href))
    if "Audit" in pages:
        pages["Audit overview"] = reverse("sessions_app:audit-overview")
    pages["Profile"] = reverse("sessions_app:profile")
    return {name: f"{live_server.url}{href}" for name, href in pages.items()}


def check_pages(page: Page, pages: dict[str, str]) -> list[str]:
    problems = []
    for width in (PHONE, DESKTOP):
        page.set_viewport_size({"width": width, "height": 900})
        for name, address in pages.items():
            page.goto(address)
            expect(page.locator("main")).to_be_visible()
            if page_width(page) > width:
                problems.append(f"{name} at {width} px is {page_width(page)} px wide")
            problems += [f"{name} at {width} px: {violation}" for violation in axe_violations(page)]
    return problems


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ["operator", "helpdesk", "auditor", "admin", "tenant"])
def test_every_main_page_fits_the_screen_and_passes_axe(page: Page, live_server: Any, fresh_sim: Any,
                                                        sessions: None, admin_user: Any, auditor: Any,
                                                        role: str) -> None:
    sign_in_as(page, live_server, role, fresh_sim)
    pages = main_pages(page, live_server)
    assert len(pages) >= 6
    problems = check_pages(page, pages)
    assert problems == [], "\n".join(problems)


@pytest.mark.django_db(transaction=True)
def test_pages_before_sign_in_fit_the_screen_and_pass_axe(page: Page, live_server: Any) -> None:
    pages = {name: url(live_server, route) for name, route in (("sign-in", "login"),
                                                                ("tenant sign-in", "sessions_app:tenant-sign-in"))}
    pages["not found"] = f"{live_server.url}/no-such-page/"
    problems = check_pages(page, pages)
    assert problems == [], "\n".join(problems)


@pytest.mark.django_db(transaction=True)
def test_a_long_word_in_a_reason_wraps_on_the_review_page(page: Page, live_server: Any, sessions: None) -> None:
    page.set_viewport_size({"width": DESKTOP, "height": 900})
    sign_in(page, live_server, "harry")
    page.goto(url(live_server, "sessions_app:session-review"))
    cell = page.locator("#session-table td", has_text=LONG_WORD[:20])
    expect(cell).to_have_count(1)
    assert page_width(page) <= DESKTOP
    # Wrapped inside its cell: the cell is narrower than the word on one line would be.
    assert cell.evaluate("td => td.scrollWidth <= td.clientWidth")


@pytest.mark.django_db(transaction=True)
def test_chart_labels_stay_readable_on_a_phone(page: Page, live_server: Any, sessions: None, auditor: Any) -> None:
    page.set_viewport_size({"width": PHONE, "height": 900})
    sign_in(page, live_server, "alice")
    page.goto(url(live_server, "sessions_app:audit-overview"))
    expect(page.locator("svg.chart")).to_have_count(5)
    smallest = page.evaluate("""() => Math.min(...[...document.querySelectorAll('svg.chart text')]
        .map(text => parseFloat(getComputedStyle(text).fontSize) * text.getScreenCTM().a))""")
    assert smallest >= 11
    assert page_width(page) <= PHONE


@pytest.mark.django_db(transaction=True)
def test_the_favicon_is_served(page: Page, live_server: Any) -> None:
    page.goto(url(live_server, "login"))
    icon = page.locator("link[rel=icon]").first.get_attribute("href")
    assert icon and page.request.get(f"{live_server.url}{icon}").ok
    response = page.request.get(f"{live_server.url}/favicon.ico")
    assert response.ok and response.body().startswith(b"\x00\x00\x01\x00")  # an icon file


@pytest.mark.django_db(transaction=True)
def test_a_page_showing_a_message_passes_axe(page: Page, live_server: Any, fresh_sim: Any, sessions: None) -> None:
    """Messages (here: the one a stop link opened after the sign-in expired) are announced without breaking the
    list semantics axe checks."""
    sign_in_as(page, live_server, "operator", fresh_sim)
    page.goto(f"{live_server.url}{reverse('sessions_app:session-list')}")
    session_href = page.locator("main a").evaluate_all(
        "links => links.map(a => a.getAttribute('href')).filter(h => /^\\/sessions\\/[0-9a-f-]{36}\\/$/.test(h))")[0]
    page.goto(f"{live_server.url}{session_href}stop/")
    expect(page.get_by_role("status")).to_be_visible()
    assert axe_violations(page) == []
