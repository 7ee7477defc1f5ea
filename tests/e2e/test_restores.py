"""Item actions in a real browser, with a real worker process and the simulator: select in the explorer, choose an
action in the dialog, follow the job page, download what it produced; and a job whose worker was killed."""
from __future__ import annotations

import io
import re
import signal
import subprocess
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from restores.models import JobState, RestoreJob
from restores.storage_settings import restore_storage_entry
from sessions_app.models import Organization, RestoreSession, Role
from sessions_app.services import browse, session_start
from sessions_app.specs import StartSpec
from tests.background.conftest import start_worker, wait_for  # noqa: F401  (start_worker: a fixture)
from tests.conftest import SimControl, make_user
from tests.e2e.conftest import sign_in, url

pytestmark = pytest.mark.e2e

FAILING_IMPACTS = {"moderate", "serious", "critical"}
PHONE, DESKTOP = 390, 1280


@pytest.fixture
def restorer(tenant_organization: Organization) -> Any:
    """rita: may restore everything of the organization whose Microsoft 365 credentials the simulator knows."""
    return make_user("rita", Role.OPERATOR, grants=[(tenant_organization, "")])


@pytest.fixture
def files_root(settings: Any, tmp_path: Path) -> Path:
    """Where the portal and the worker keep downloads (one place for both processes)."""
    root = tmp_path / "restores"
    settings.STORAGES = {**settings.STORAGES, "restores": restore_storage_entry(files_root=root)}
    return root


@pytest.fixture
def worker(start_worker: Callable[..., subprocess.Popen[str]],  # noqa: F811  (the fixture imported above)
           upstream: Callable[[int], SimControl], files_root: Path,
           settings: Any) -> Callable[..., subprocess.Popen[str]]:
    """worker(version) -> a `manage.py worker` process speaking that API version to the test's simulator;
    with `schedule`, it also runs the check that ends the jobs of dead workers (tests/e2e/worker_settings.py)."""

    def start(version: int = 8, *, schedule: bool = False) -> subprocess.Popen[str]:
        sim = upstream(version)
        return start_worker(*(() if schedule else ("--no-scheduler",)),
                            DJANGO_SETTINGS_MODULE="tests.e2e.worker_settings",
                            E2E_VB365_URL=sim.url, E2E_VB365_API_VERSION=str(version),
                            E2E_VB365_USERNAME=settings.VB365_USERNAME, E2E_VB365_PASSWORD=settings.VB365_PASSWORD,
                            E2E_RESTORE_FILES_ROOT=str(files_root))

    return start


def session_of(user: Any, organization: Organization, workload: str) -> RestoreSession:
    return session_start.restore_session_start(actor=user, key=str(uuid.uuid4()), spec=StartSpec(
        organization=organization, workload=workload, reason="INC-16 get back what was deleted"))


def folder_with_leaves(user: Any, session: RestoreSession, *, at_least: int,
                       at_most: int = 50) -> tuple[browse.BrowseEntry, browse.BrowseEntry, list[browse.BrowseEntry]]:
    """(container, folder directly under it, the folder's first leaves) as the explorer will list them."""
    for container in browse.browse_children(actor=user, session=session, limit=50).results:
        for folder in browse.browse_children(actor=user, session=session, node_id=container.id, limit=50).results:
            if folder.kind != "folder" or not folder.has_children:
                continue
            entries = browse.browse_children(actor=user, session=session, node_id=folder.id, limit=50).results
            leaves = [entry for entry in entries if entry.kind in ("item", "document")]
            if at_least <= len(leaves) and len(entries) <= at_most:
                return container, folder, leaves
    raise AssertionError("no folder with enough entries")


def open_in_explorer(page: Page, kind: str, name: str) -> None:
    page.locator("#explorer").get_by_role("button", name=f"Open {kind} {name}", exact=True).click()
    expect(page.locator("#explorer-crumbs [aria-current=location]")).to_have_text(name)


def axe_violations(page: Page) -> list[str]:
    results = Axe().run(page)
    return [f"{violation['id']} ({violation['impact']}): {violation['help']}"
            for violation in results.response["violations"] if violation["impact"] in FAILING_IMPACTS]


def fits(page: Page) -> None:
    """Nothing wider than the screen, nothing axe objects to, at a phone's and a desktop's width."""
    for width in (PHONE, DESKTOP):
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate("document.documentElement.scrollWidth") <= width, f"wider than {width} px"
        assert axe_violations(page) == [], width


@pytest.mark.django_db(transaction=True)
def test_restore_three_messages_to_another_mailbox_with_a_reason(
        page: Page, live_server: Any, restorer: Any, tenant_organization: Organization,
        tenant_credentials: dict[str, str], worker: Callable[..., Any]) -> None:
    worker(8)
    session = session_of(restorer, tenant_organization, "exchange")
    mailbox, folder, items = folder_with_leaves(restorer, session, at_least=3, at_most=500)
    others = [entry for entry in browse.browse_children(actor=restorer, session=session, limit=50).results
              if entry.id != mailbox.id and entry.details.get("email") and not entry.details.get("is_archive")]
    sign_in(page, live_server, "rita")
    page.goto(url(live_server, "sessions_app:session-detail", session.upstream_id))

    open_in_explorer(page, "mailbox", mailbox.name)
    open_in_explorer(page, "folder", folder.name)
    actions = page.get_by_role("button", name="Actions…")
    expect(actions).to_be_disabled()
    for item in items[:3]:
        page.get_by_role("checkbox", name=f"Select item {item.name}", exact=True).first.check()
    expect(page.locator("#explorer-selected")).to_have_text("3 items selected.")
    actions.click()

    dialog = page.get_by_role("dialog", name="Act on the selected entries")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Copy to another OneDrive")).to_have_count(0)
    dialog.get_by_label("Restore to another mailbox").check()
    expect(dialog.get_by_label("Save as MSG")).to_be_hidden()  # one item only
    dialog.get_by_label("Reason").fill("INC-4711 Megan deleted three invoices")
    dialog.get_by_label("Target mailbox (e-mail address)").fill(str(others[0].details["email"]))
    dialog.get_by_label("Folder in the target").fill("Restored invoices")
    dialog.get_by_label("User name and password").check()
    dialog.get_by_label("User name", exact=True).fill(tenant_credentials["username"])
    dialog.get_by_label("Password", exact=True).fill(tenant_credentials["password"])
    dialog.get_by_role("button", name="Start").click()

    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]{36}/$"))
    expect(page.locator("#job-state")).to_have_text(re.compile("Succeeded|Partially succeeded"), timeout=30_000)
    expect(page.locator("#job-items-text")).to_contain_text("3 of 3 items done")
    expect(page.get_by_text("INC-4711 Megan deleted three invoices")).to_be_visible()
    job = RestoreJob.objects.get()
    expect(page.locator("#job-counts")).to_have_text(
        f"{job.succeeded_count} succeeded, {job.failed_count} failed, {job.skipped_count} skipped, "
        f"{job.warning_count} with warnings")
    assert job.target["mailbox"] == others[0].details["email"]
    fits(page)


@pytest.mark.django_db(transaction=True)
def test_export_a_folder_to_pst_and_download_it(page: Page, live_server: Any, restorer: Any,
                                                tenant_organization: Organization, worker: Callable[..., Any],
                                                tmp_path: Path) -> None:
    worker(7)
    session = session_of(restorer, tenant_organization, "exchange")
    mailbox, folder, _ = folder_with_leaves(restorer, session, at_least=1, at_most=40)
    sign_in(page, live_server, "rita")
    page.goto(url(live_server, "sessions_app:session-detail", session.upstream_id))

    open_in_explorer(page, "mailbox", mailbox.name)
    page.get_by_role("checkbox", name=f"Select folder {folder.name}", exact=True).first.check()
    # By keyboard: the dialog opens on its first action, Escape closes it and gives the focus back.
    actions = page.get_by_role("button", name="Actions…")
    actions.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("Restore to the original mailbox")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(actions).to_be_focused()
    actions.click()
    dialog.get_by_label("Export to PST").check()
    expect(dialog.get_by_label("User name and password")).to_be_hidden()  # exports need no credentials
    dialog.get_by_label("Reason").fill("LEGAL-12 hand the folder to counsel")
    dialog.get_by_role("button", name="Start").click()

    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]{36}/$"))
    download_link = page.get_by_role("link", name=re.compile(r"^Download .*\.pst$"))
    expect(download_link).to_be_visible(timeout=30_000)
    expect(page.locator("#job-state")).to_have_text("Succeeded")
    with page.expect_download() as waiting:
        download_link.click()
    saved = tmp_path / waiting.value.suggested_filename
    waiting.value.save_as(saved)
    assert saved.suffix == ".pst"
    assert saved.read_bytes()[:4] == b"!BDN"
    assert saved.stat().st_size == RestoreJob.objects.get().file_size
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My jobs").click()
    expect(page.locator("#job-table tbody tr")).to_have_count(1)
    expect(page.locator("#job-table")).to_contain_text("Export to PST")
    fits(page)


@pytest.mark.django_db(transaction=True)
def test_save_onedrive_documents_as_a_zip_and_open_it(page: Page, live_server: Any, restorer: Any,
                                                      tenant_organization: Organization,
                                                      worker: Callable[..., Any]) -> None:
    worker(8)
    session = session_of(restorer, tenant_organization, "onedrive")
    drive, folder, documents = folder_with_leaves(restorer, session, at_least=2, at_most=500)
    small = sorted(documents, key=lambda each: each.size_bytes or 0)[:2]
    sign_in(page, live_server, "rita")
    page.goto(url(live_server, "sessions_app:session-detail", session.upstream_id))

    open_in_explorer(page, "onedrive", drive.name)
    open_in_explorer(page, "folder", folder.name)
    for document in small:
        page.get_by_role("checkbox", name=f"Select document {document.name}", exact=True).first.check()
    page.get_by_role("button", name="Actions…").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Save (ZIP, or the file itself)").check()
    dialog.get_by_label("Reason").fill("HR-3 the signed contracts")
    dialog.get_by_role("button", name="Start").click()

    download_link = page.get_by_role("link", name=re.compile(r"^Download .*\.zip$"))
    expect(download_link).to_be_visible(timeout=30_000)
    response = page.request.get(live_server.url + (download_link.get_attribute("href") or ""))
    assert response.status == 200
    archive = zipfile.ZipFile(io.BytesIO(response.body()))
    assert archive.testzip() is None
    assert {document.name for document in small} <= {name.rsplit("/", 1)[-1] for name in archive.namelist()}


@pytest.mark.django_db(transaction=True)
def test_a_job_whose_worker_was_killed_shows_interrupted(page: Page, live_server: Any, restorer: Any,
                                                         tenant_organization: Organization,
                                                         tenant_credentials: dict[str, str], sim: SimControl,
                                                         worker: Callable[..., Any]) -> None:
    # v7 holds the restore POST until VB365 is done: slow it down so the worker dies in the middle of it.
    first = worker(7)
    requests.post(f"{sim.url}/_sim/restore-knobs", json={"item_real_seconds": 20}, timeout=5).raise_for_status()
    session = session_of(restorer, tenant_organization, "exchange")
    mailbox, folder, items = folder_with_leaves(restorer, session, at_least=2, at_most=500)
    sign_in(page, live_server, "rita")
    page.goto(url(live_server, "restores:job-new", session.upstream_id) + f"?node={items[0].id}&node={items[1].id}")
    fits(page)  # the action form as a page of its own (what the dialog is without the explorer)
    page.get_by_label("Restore to the original mailbox").check()
    page.get_by_label("Reason").fill("INC-9 two calendar items")
    page.get_by_label("User name and password").check()
    page.get_by_label("User name", exact=True).fill(tenant_credentials["username"])
    page.get_by_label("Password", exact=True).fill(tenant_credentials["password"])
    page.get_by_role("button", name="Start").click()
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]{36}/$"))
    expect(page.locator("#job-state")).to_have_text("Running", timeout=30_000)

    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    worker(7, schedule=True)

    expect(page.locator("#job-state")).to_have_text("Interrupted", timeout=60_000)
    expect(page.locator("#job-message")).to_be_visible()
    assert RestoreJob.objects.get().state == JobState.INTERRUPTED


@pytest.mark.django_db(transaction=True)
def test_the_dialog_gets_a_device_code_and_the_restore_uses_it(page: Page, live_server: Any, restorer: Any,
                                                              tenant_organization: Organization, sim: SimControl,
                                                              worker: Callable[..., Any]) -> None:
    worker(8)
    session = session_of(restorer, tenant_organization, "exchange")
    mailbox, folder, items = folder_with_leaves(restorer, session, at_least=1, at_most=500)
    sign_in(page, live_server, "rita")
    page.goto(url(live_server, "sessions_app:session-detail", session.upstream_id))
    open_in_explorer(page, "mailbox", mailbox.name)
    open_in_explorer(page, "folder", folder.name)
    page.get_by_role("checkbox", name=f"Select item {items[0].name}", exact=True).first.check()
    page.get_by_role("button", name="Actions…").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Restore to the original mailbox").check()
    dialog.get_by_label("Reason").fill("INC-5 one message back")
    expect(dialog.locator(".char-count")).to_have_text("22 of 2,000 characters")
    dialog.get_by_label("Device code (sign in to Microsoft 365 in another tab)").check()

    dialog.get_by_role("button", name="Get a device code").click()

    code = dialog.locator(".device-code")
    expect(code).to_be_visible()
    expect(dialog.locator("#job-device-code-result a")).to_have_attribute("href", re.compile(r"^https?:"))
    requests.post(f"{sim.url}/_sim/device-codes/{code.inner_text()}/approve", timeout=5).raise_for_status()
    dialog.get_by_role("button", name="Start").click()
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]{36}/$"))
    expect(page.locator("#job-state")).to_have_text(re.compile("Succeeded|Partially succeeded"), timeout=30_000)
    expect(page.locator("#job-items-text")).to_contain_text("1 of 1 item done")
    assert RestoreJob.objects.get().credential_kind == "device_code"
