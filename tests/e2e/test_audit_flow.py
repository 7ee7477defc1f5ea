"""The audit trail in a real browser: an auditor filters and exports it; an operator is kept out."""
from __future__ import annotations

import csv
import io
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from sessions_app import exceptions
from sessions_app.exports import AUDIT_COLUMNS
from sessions_app.services import session_start
from sessions_app.specs import StartSpec
from tests.e2e.conftest import sign_in, url

pytestmark = pytest.mark.e2e


def start(actor: Any, organization: Any, reason: str) -> Any:
    return session_start.restore_session_start(actor=actor, key=str(uuid.uuid4()), spec=StartSpec(
        organization=organization, workload="exchange", reason=reason))


@pytest.mark.django_db(transaction=True)
def test_auditor_filters_and_exports_the_trail(page: Page, live_server: Any, operator: Any, auditor: Any,
                                               backed_up_org: Any) -> None:
    wanted = f"Legal hold check {uuid.uuid4().hex[:8]}"
    start(operator, backed_up_org, wanted)
    start(operator, backed_up_org, "Unrelated OneNote restore")

    sign_in(page, live_server, "alice")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit").click()
    expect(page.locator("#audit-table")).to_contain_text("Unrelated OneNote restore")

    filters = page.locator("#audit-filters")
    filters.get_by_label("Action").select_option(label="Session started")
    filters.get_by_label("Reason contains").fill(wanted)
    filters.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"[?&]action=session_start"))
    rows = page.locator("#audit-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text(wanted)
    expect(rows).to_contain_text("Session started")
    expect(rows).to_contain_text("olivia")

    with page.expect_download() as info:
        page.get_by_role("link", name="Export these events as CSV").click()
    download = info.value
    assert download.suggested_filename == "restore-desk-audit.csv"
    lines = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert lines[0] == list(AUDIT_COLUMNS)
    reasons = [dict(zip(lines[0], line, strict=True))["reason"] for line in lines[1:]]
    assert reasons == [wanted]
    assert "Unrelated OneNote restore" not in Path(download.path()).read_text(encoding="utf-8")


@pytest.mark.django_db(transaction=True)
def test_operator_is_refused_the_audit_trail(page: Page, live_server: Any, operator: Any) -> None:
    sign_in(page, live_server, "olivia")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="History")).to_be_visible()
    expect(nav.get_by_role("link", name="Audit")).to_have_count(0)

    response = page.goto(url(live_server, "sessions_app:audit-list"))
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    expect(page.locator("main")).to_contain_text(exceptions.NOT_ALLOWED)
    expect(nav.get_by_role("link", name="Audit")).to_have_count(0)
    expect(page.locator("#audit-table")).to_have_count(0)

