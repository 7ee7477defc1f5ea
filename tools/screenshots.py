"""`make screenshots`: what a person sees, as PNGs of the main pages per role at 1,280 px and 390 px wide.

Runs the demo in this process (portal.demo.running_demo: the simulator and the portal on free loopback ports,
with the demo users and history) on a database of its own in a temporary folder, starts a few sessions so that
live and finished ones are both there, and item-action jobs (a partly failed export with its file, a restore
half way; see _start_jobs), then signs in as each role in headless chromium (the browser the
browser tests use: E2E_CHROMIUM_PATH, else `chromium` on PATH) and saves

    <out>/<width>/<role>-<page>.png     (full pages; operator-job-dialog.png: the explorer's "Actions…" dialog
                                         open on three messages, as much as the screen shows)

and prints, per page, how wide it is: a page wider than its viewport scrolls sideways on a phone. Exits 1 when
one does. <out> (screenshots/ by default) is not committed.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WIDTHS = (1280, 390)
ROLES = ("operator", "helpdesk", "auditor", "admin", "tenant", "signed-out")
# A reason with a long unbroken word: it must wrap, not widen the page.
LONG_WORD_REASON = "FinanceQ3ReportingMailboxArchiveFolderDeletedByRetentionPolicy"


@dataclass(frozen=True)
class Shot:
    width: int
    role: str
    page: str
    path: Path
    scroll_width: int


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    parser.add_argument("--widths", default=",".join(map(str, WIDTHS)), help="comma-separated viewport widths")
    parser.add_argument("--roles", default=",".join(ROLES), help=f"comma-separated, of: {', '.join(ROLES)}")
    parser.add_argument("--sessions", type=int, default=60, help="size of the simulator's pre-existing history")
    args = parser.parse_args()
    widths = [int(width) for width in args.widths.split(",")]
    roles = [role for role in args.roles.split(",") if role]

    with tempfile.TemporaryDirectory(prefix="restoredesk-screenshots-") as workdir:
        # Settings are read once, when the demo sets Django up: a database and audit checkpoints of our own.
        os.environ["DATABASE_URL"] = f"sqlite:///{Path(workdir) / 'screenshots.sqlite3'}"
        os.environ["AUDIT_CHECKPOINT_PATH"] = str(Path(workdir) / "audit-checkpoints.jsonl")
        os.environ["RESTORE_FILES_ROOT"] = str(Path(workdir) / "restores")
        from portal.demo import running_demo

        with running_demo(sessions=args.sessions) as demo:
            _start_sessions()
            jobs = _start_jobs()
            shots = _take(demo, widths=widths, roles=roles, out=args.out, jobs=jobs)
    too_wide = [shot for shot in shots if shot.scroll_width > shot.width]
    for shot in shots:
        flag = "  <-- wider than the screen" if shot.scroll_width > shot.width else ""
        print(f"{shot.width:>5} px  {shot.role:<10} {shot.page:<22} {shot.scroll_width:>5} px wide{flag}")
    print(f"{len(shots)} screenshots in {args.out}/; {len(too_wide)} page(s) wider than the screen.")
    return 1 if too_wide else 0


def _start_sessions() -> None:
    """One finished and one working session of olivia's, and one started by the helpdesk on her behalf with a
    long unbroken word in its reason (the review page must wrap it)."""
    from django.contrib.auth import get_user_model

    from sessions_app.models import Organization
    from sessions_app.services import restore_sessions, session_start
    from sessions_app.specs import StartSpec

    users = get_user_model().objects
    olivia, harry = users.get(username="olivia"), users.get(username="harry")
    organization = Organization.objects.filter(is_backed_up=True).order_by("name").first()
    assert organization is not None
    finished = session_start.restore_session_start(actor=olivia, key=str(uuid.uuid4()), spec=StartSpec(
        organization=organization, workload="exchange",
        reason="Calendar items of the finance team deleted by a faulty rule", scope="finance@, INC-20417"))
    restore_sessions.restore_session_stop(session=finished, actor=olivia)
    session_start.restore_session_start(actor=olivia, key=str(uuid.uuid4()), spec=StartSpec(
        organization=organization, workload="onedrive", reason="Project folder overwritten by a sync conflict",
        scope="j.doe OneDrive, /Projects/Q3"))
    session_start.restore_session_start(actor=harry, key=str(uuid.uuid4()), spec=StartSpec(
        organization=organization, workload="exchange", reason=LONG_WORD_REASON, ticket="INC-20931",
        on_behalf_of=olivia))


@dataclass(frozen=True)
class JobPages:
    session: str            # olivia's working Exchange session
    mailbox: str            # names the explorer shows, to open the dialog on three messages
    folder: str
    items: tuple[str, ...]
    folder_node: str
    running: str            # job public ids
    finished: str


def _start_jobs() -> JobPages:
    """Item actions in olivia's working Exchange session: a folder exported to PST for real (the simulator
    produces the file, in this process, as the worker would), then shown as partly failed so that the page has
    per-item failures beside its download button; and a restore shown half way (the demo runs no worker, so a
    queued job would stay queued: its progress is written as the worker would write it)."""
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from restores.models import JobState, RestoreJob
    from restores.services import jobs, running
    from sessions_app.models import Organization
    from sessions_app.services import browse, session_start
    from sessions_app.specs import StartSpec

    olivia = get_user_model().objects.get(username="olivia")
    organization = Organization.objects.filter(is_backed_up=True).order_by("name").first()
    assert organization is not None
    session = session_start.restore_session_start(actor=olivia, key=str(uuid.uuid4()), spec=StartSpec(
        organization=organization, workload="exchange", reason="Invoices deleted from the shared finance mailbox",
        scope="finance@, INC-20502"))
    mailbox = folder = None
    items: list[Any] = []
    for container in browse.browse_children(actor=olivia, session=session, limit=50).results:
        for child in browse.browse_children(actor=olivia, session=session, node_id=container.id, limit=50).results:
            if child.kind != "folder" or not child.has_children:
                continue
            entries = browse.browse_children(actor=olivia, session=session, node_id=child.id, limit=50).results
            leaves = [entry for entry in entries if entry.kind == "item"]
            if len(leaves) >= 3:
                mailbox, folder, items = container, child, leaves
                break
        if folder is not None:
            break
    assert mailbox is not None and folder is not None
    export = jobs.job_create(actor=olivia, session=session, spec=jobs.JobSpec(
        action="exchange.export_pst", node_ids=(folder.id,), reason="LEGAL-12 hand the folder to counsel"))
    running.download_job_run(job_id=export.pk)
    failures = [{"name": item.name, "path": f"{mailbox.name}/{folder.name}", "type": "message", "status": "failed",
                 "error": "The item is larger than the export allows (MaxItemSize).", "warnings": []}
                for item in items[:2]]
    RestoreJob.objects.filter(pk=export.pk).update(
        state=JobState.PARTIALLY_SUCCEEDED, total_count=len(items), succeeded_count=len(items) - 2, failed_count=2,
        item_outcomes=failures, message="2 items could not be exported; the file holds the others.")
    now = timezone.now()
    restore = RestoreJob.objects.create(
        session=session, organization=organization, requested_by=olivia, reason="INC-4711 three invoices",
        action="exchange.restore_original", workload="exchange", api_version=export.api_version,
        selection=[{"node": item.id, "kind": item.kind, "name": mailbox.name} for item in items[:3]],
        credential_kind="password", state=JobState.RUNNING, total_count=1200, succeeded_count=431, failed_count=3,
        skipped_count=12, bytes_done=48_300_000, bytes_total=131_000_000, started_at=now - timedelta(minutes=4),
        progress_at=now)
    RestoreJob.objects.filter(pk=restore.pk).update(created_at=now - timedelta(minutes=5))
    return JobPages(session=str(session.upstream_id), mailbox=mailbox.name, folder=folder.name,
                    items=tuple(item.name for item in items[:3]), folder_node=folder.id,
                    running=str(restore.public_id), finished=str(export.public_id))


def _open_job_dialog(page: Any, jobs: JobPages) -> None:
    explorer = page.locator("#explorer")
    explorer.get_by_role("button", name=f"Open mailbox {jobs.mailbox}", exact=True).click()
    explorer.get_by_role("button", name=f"Open folder {jobs.folder}", exact=True).click()
    for name in jobs.items:
        page.get_by_role("checkbox", name=f"Select item {name}", exact=True).first.check()
    page.get_by_role("button", name="Actions…").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Restore to another mailbox").check()
    dialog.get_by_label("User name and password").check()


def _take(demo: Any, *, widths: list[int], roles: list[str], out: Path, jobs: JobPages) -> list[Shot]:
    from playwright.sync_api import sync_playwright

    shots: list[Shot] = []
    executable = os.environ.get("E2E_CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"])
        for width in widths:
            folder = out / str(width)
            folder.mkdir(parents=True, exist_ok=True)
            for role in roles:
                context = browser.new_context(viewport={"width": width, "height": 900}, base_url=demo.url)
                page = context.new_page()
                for name, address in _tour(page, demo, role, jobs):
                    page.goto(address)
                    page.wait_for_load_state("networkidle")
                    path = folder / f"{role}-{name}.png"
                    page.screenshot(path=str(path), full_page=True)
                    if name == "job-session":
                        # The explorer's "Actions…" dialog, open on three messages: what fits the screen.
                        scroll_width = int(page.evaluate("document.documentElement.scrollWidth"))
                        shots.append(Shot(width=width, role=role, page=name, path=path, scroll_width=scroll_width))
                        _open_job_dialog(page, jobs)
                        name, path = "job-dialog", folder / f"{role}-job-dialog.png"
                        page.screenshot(path=str(path))
                    scroll_width = int(page.evaluate("document.documentElement.scrollWidth"))
                    shots.append(Shot(width=width, role=role, page=name, path=path, scroll_width=scroll_width))
                context.close()
        browser.close()
    return shots


def _tour(page: Any, demo: Any, role: str, jobs: JobPages) -> list[tuple[str, str]]:
    """Signs in as the role and lists its main pages: every link of the navigation, the first organization and
    the first session they show, a page that does not exist, and, for the operator, the item-action pages."""
    from portal.demo import DEMO_PASSWORD

    if role == "signed-out":
        return [("sign-in", "/signin/"), ("tenant-sign-in", "/signin/organization/"), ("not-found", "/no-such-page/")]
    page.goto("/signin/")
    if role == "tenant":
        username, password = demo.tenant_logins[0]
        page.get_by_role("link", name=re.compile("Microsoft 365 organization")).click()
        page.get_by_label("Microsoft 365 user name").fill(username)
    else:
        username = {"operator": "olivia", "helpdesk": "harry", "auditor": "alice", "admin": "admin"}[role]
        password = DEMO_PASSWORD
        page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector(".who")
    pages: list[tuple[str, str]] = []
    for link in page.locator("nav[aria-label=Main] a").all():
        pages.append((_slug(link.inner_text()), link.get_attribute("href") or "/"))
    for name, pattern in (("organization", r"^/organizations/[0-9a-f-]{36}/$"),
                          ("session", r"^/sessions/[0-9a-f-]{36}/$")):
        listing = "/organizations/" if name == "organization" else "/sessions/"
        page.goto(listing)
        hrefs = [href for href in page.locator("main a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
                 if href and re.match(pattern, href)]
        if hrefs:
            pages.append((name, hrefs[0]))
    if any(name == "audit" for name, _ in pages):
        pages.append(("audit-overview", "/audit/overview/"))
    pages.append(("profile", "/profile/"))
    if role == "operator":
        pages += [("job-session", f"/sessions/{jobs.session}/"),
                  ("job-new", f"/sessions/{jobs.session}/jobs/new/?node={jobs.folder_node}"),
                  ("job-running", f"/jobs/{jobs.running}/"), ("job-finished", f"/jobs/{jobs.finished}/")]
    if role in ("helpdesk", "auditor"):
        pages += [("jobs-all-filtered", "/jobs/all/?state=partially_succeeded"),
                  ("job-finished", f"/jobs/{jobs.finished}/")]
    return pages


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.strip().lower()).strip("-") or "page"


if __name__ == "__main__":
    sys.exit(main())
