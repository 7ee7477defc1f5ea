"""The operations page in a browser, as an administrator: workers, the queue, the periodic tasks with their next
run, the sync runs and a running sync's progress bar, at 1,280 and 390 px with no axe violation; an operator is
refused."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from background import scheduler
from background.models import WorkerHeartbeat
from sessions_app.models import SyncRun
from tests.e2e.conftest import sign_in, url
from tests.e2e.test_layout import DESKTOP, PHONE, axe_violations, page_width

pytestmark = pytest.mark.e2e


@pytest.fixture
def background_state(db: Any) -> None:
    """One live worker, the schedule as the first worker leaves it, a failed sync and a full sync running."""
    now = timezone.now()
    WorkerHeartbeat.objects.create(worker_id="app-1-4242-a1b2c3d4", hostname="app-1", pid=4242,
                                   started_at=now - timedelta(hours=2), last_seen_at=now)
    scheduler.schedule_tick(now=now)
    SyncRun.objects.create(status=SyncRun.Status.FAILED, started_at=now - timedelta(minutes=10),
                           finished_at=now - timedelta(minutes=9), heartbeat_at=now - timedelta(minutes=9),
                           error="VB365 is unavailable (HTTP 503).")
    SyncRun.objects.create(status=SyncRun.Status.RUNNING, full=True, started_at=now - timedelta(minutes=1),
                           heartbeat_at=now, seen=1200, created=1150, updated=3, pages_read=3,
                           sessions_expected=5000)


@pytest.mark.django_db(transaction=True)
def test_an_administrator_sees_the_background_work_at_every_width(page: Page, live_server: Any, admin_user: Any,
                                                                  background_state: None, tmp_path: Any) -> None:
    sign_in(page, live_server, "root")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Operations").click()
    page.wait_for_url(url(live_server, "background:operations"))

    for width in (DESKTOP, PHONE):
        page.set_viewport_size({"width": width, "height": 900})
        page.reload()
        main = page.locator("main")
        expect(page.get_by_role("heading", name="Operations", level=1)).to_be_visible()
        expect(main).to_contain_text("app-1-4242-a1b2c3d4")
        expect(main.locator("#queue-depth")).to_contain_text("tasks waiting")
        periodic = main.locator("#periodic-table")
        for name in ("history_sync", "idle_sessions_stop", "audit_checkpoint"):
            expect(periodic).to_contain_text(name)
        expect(main.locator("#sync-table")).to_contain_text("VB365 is unavailable (HTTP 503).")
        bar = page.get_by_role("progressbar", name="History sync")
        expect(bar).to_have_attribute("value", "1200")
        expect(bar).to_have_attribute("max", "5000")
        expect(main.locator("#sync-progress-text")).to_contain_text("1200 of 5000 sessions read (24%), 3 pages")
        page.screenshot(path=str(tmp_path / f"operations-{width}.png"), full_page=True)  # for a person to look at
        assert page_width(page) <= width, f"{page_width(page)} px wide at {width} px"
        assert axe_violations(page) == [], width


@pytest.mark.django_db(transaction=True)
def test_the_bar_follows_the_running_sync_without_a_reload(page: Page, live_server: Any, admin_user: Any,
                                                           background_state: None) -> None:
    sign_in(page, live_server, "root")
    page.goto(url(live_server, "background:operations"))
    bar = page.get_by_role("progressbar", name="History sync")
    expect(bar).to_have_attribute("value", "1200")

    SyncRun.objects.filter(status=SyncRun.Status.RUNNING).update(seen=3600, pages_read=8)
    expect(bar).to_have_attribute("value", "3600", timeout=10_000)
    SyncRun.objects.filter(status=SyncRun.Status.RUNNING).update(status=SyncRun.Status.SUCCEEDED,
                                                                   finished_at=timezone.now())
    expect(page.locator("#sync-progress")).to_contain_text("No sync is running.", timeout=10_000)
    assert axe_violations(page) == []


@pytest.mark.django_db(transaction=True)
def test_an_operator_is_refused_the_operations_page(page: Page, live_server: Any, operator: Any) -> None:
    sign_in(page, live_server, "olivia")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Operations")).to_have_count(0)

    response = page.goto(url(live_server, "background:operations"))

    assert response is not None and response.status == 403
