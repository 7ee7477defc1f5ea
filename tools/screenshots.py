"""`make screenshots`: what a person sees, as PNGs of the main pages per role at 1,280 px and 390 px wide.

Runs the demo in this process (portal.demo.running_demo: the simulator and the portal on free loopback ports,
with the demo users and history) on a database of its own in a temporary folder, starts a few sessions so that
live and finished ones are both there, then signs in as each role in headless chromium (the browser the
browser tests use: E2E_CHROMIUM_PATH, else `chromium` on PATH) and saves

    <out>/<width>/<role>-<page>.png     (full pages)

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
        from portal.demo import running_demo

        with running_demo(sessions=args.sessions) as demo:
            _start_sessions()
            shots = _take(demo, widths=widths, roles=roles, out=args.out)
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
    from sessions_app.services import restore_sessions

    users = get_user_model().objects
    olivia, harry = users.get(username="olivia"), users.get(username="harry")
    organization = Organization.objects.filter(is_backed_up=True).order_by("name").first()
    assert organization is not None
    finished = restore_sessions.restore_session_start(
        actor=olivia, key=str(uuid.uuid4()), organization=organization, workload="exchange",
        reason="Calendar items of the finance team deleted by a faulty rule", scope="finance@, INC-20417")
    restore_sessions.restore_session_stop(session=finished, actor=olivia)
    restore_sessions.restore_session_start(
        actor=olivia, key=str(uuid.uuid4()), organization=organization, workload="onedrive",
        reason="Project folder overwritten by a sync conflict", scope="j.doe OneDrive, /Projects/Q3")
    restore_sessions.restore_session_start(
        actor=harry, key=str(uuid.uuid4()), organization=organization, workload="exchange",
        reason=LONG_WORD_REASON, ticket="INC-20931", on_behalf_of=olivia)


def _take(demo: Any, *, widths: list[int], roles: list[str], out: Path) -> list[Shot]:
    from playwright.sync_api import sync_playwright

    shots: list[Shot] = []
    executable = os.environ.get("E2E_CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            **({"executable_path": executable} if executable else {}),
            args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"])
        for width in widths:
            folder = out / str(width)
            folder.mkdir(parents=True, exist_ok=True)
            for role in roles:
                context = browser.new_context(viewport={"width": width, "height": 900}, base_url=demo.url)
                page = context.new_page()
                for name, address in _tour(page, demo, role):
                    page.goto(address)
                    page.wait_for_load_state("networkidle")
                    path = folder / f"{role}-{name}.png"
                    page.screenshot(path=str(path), full_page=True)
                    scroll_width = int(page.evaluate("document.documentElement.scrollWidth"))
                    shots.append(Shot(width=width, role=role, page=name, path=path, scroll_width=scroll_width))
                context.close()
        browser.close()
    return shots


def _tour(page: Any, demo: Any, role: str) -> list[tuple[str, str]]:
    """Signs in as the role and lists its main pages: every link of the navigation, the first organization and
    the first session they show, and a page that does not exist."""
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
    for name, pattern in (("organization", r"^/organizations/[0-9a-f-]{36}/$"), ("session", r"^/sessions/[0-9a-f-]{36}/$")):
        listing = "/organizations/" if name == "organization" else "/sessions/"
        page.goto(listing)
        hrefs = [href for href in page.locator("main a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
                 if href and re.match(pattern, href)]
        if hrefs:
            pages.append((name, hrefs[0]))
    if any(name == "audit" for name, _ in pages):
        pages.append(("audit-overview", "/audit/overview/"))
    pages.append(("profile", "/profile/"))
    return pages


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.strip().lower()).strip("-") or "page"


if __name__ == "__main__":
    sys.exit(main())
