"""The browse dialects of the upstream client, over real HTTP against vb365_sim, v4 to v8."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from sessions_app.upstream import errors
from sessions_app.upstream.browse import BrowseUnsupported, SessionBrowser
from sessions_app.upstream.browse_types import NodeRef
from sessions_app.upstream.client import get_client

pytestmark = pytest.mark.integration

VERSIONS = [5, 6, 7, 8]
TOP = NodeRef("top")


def _browser(upstream: Any, version: int, workload: str, **options: Any) -> SessionBrowser:
    sim = upstream(version)
    client = get_client()
    session = client.start_restore_session(organization_id=sim.organization(backed_up=True)["id"],
                                           point_in_time=datetime.now(timezone.utc), workload=workload,
                                           show_all_versions=options.get("versions", False))
    return SessionBrowser(client, str(session.id), workload)


def _all(browser: SessionBrowser, ref: NodeRef, limit: int = 500) -> list[Any]:
    entries: list[Any] = []
    offset: int | None = 0
    sizes: tuple[int, ...] = ()
    while offset is not None:
        page = browser.children(ref, offset=offset, limit=limit, phase_sizes=sizes)
        entries += page.entries
        offset, sizes = page.next_offset, page.phase_sizes
    return entries


def _inbox(browser: SessionBrowser) -> Any:
    mailbox = browser.children(TOP, offset=0, limit=50).entries[0]
    folders = browser.children(mailbox.ref, offset=0, limit=50).entries
    return mailbox, next(folder for folder in folders if folder.details.get("category") == "Inbox")


@pytest.mark.parametrize("version", VERSIONS)
def test_exchange_mailbox_folder_and_1500_items_paged_without_gaps(upstream, version):
    browser = _browser(upstream, version, "exchange")
    mailbox, inbox = _inbox(browser)
    assert mailbox.kind == "mailbox" and mailbox.name == "Adele Vance"
    assert inbox.kind == "folder" and inbox.has_children
    entries = _all(browser, inbox.ref, limit=200)
    items = [entry for entry in entries if entry.kind == "item"]
    assert len(items) == 1500
    assert len({item.ref for item in items}) == 1500
    # Subfolders come before items.
    kinds = [entry.kind for entry in entries]
    assert kinds == sorted(kinds, key=lambda kind: kind != "folder")
    message = next(item for item in items if item.details.get("item_class") == "IPM.Note")
    assert message.details["subject"] == message.name and "from" in message.details and "to" in message.details


@pytest.mark.parametrize("version", VERSIONS)
def test_exchange_message_details_read_again_by_id(upstream, version):
    browser = _browser(upstream, version, "exchange")
    _, inbox = _inbox(browser)
    listed = next(entry for entry in browser.children(inbox.ref, offset=0, limit=100).entries if entry.kind == "item")
    again = browser.node(listed.ref)
    assert again.ref == listed.ref and again.name == listed.name
    assert again.details["attachments"] == listed.details["attachments"]


@pytest.mark.parametrize("version", VERSIONS)
def test_onedrive_folders_documents_and_versions(upstream, version):
    browser = _browser(upstream, version, "onedrive", versions=True)
    drive = browser.children(TOP, offset=0, limit=50).entries[0]
    assert drive.kind == "drive"
    top = _all(browser, drive.ref)
    assert {entry.kind for entry in top} == {"folder", "document"}
    document = next(entry for entry in top if entry.kind == "document" and entry.has_children)
    versions = _all(browser, document.ref)
    assert versions and all(entry.kind == "version" for entry in versions)
    assert browser.node(document.ref).size_bytes == document.size_bytes


@pytest.mark.parametrize("version", VERSIONS)
def test_sharepoint_site_library_documents_and_list_items(upstream, version):
    browser = _browser(upstream, version, "sharepoint")
    site = browser.children(TOP, offset=0, limit=50).entries[0]
    parts = _all(browser, site.ref)
    library = next(entry for entry in parts if entry.kind == "library")
    a_list = next(entry for entry in parts if entry.kind == "list")
    assert any(entry.kind == "document" for entry in _all(browser, library.ref))
    assert any(entry.kind == "item" for entry in _all(browser, a_list.ref))


@pytest.mark.parametrize("version", VERSIONS)
def test_teams_channel_posts_replies_files_and_tabs(upstream, version):
    browser = _browser(upstream, version, "teams")
    team = browser.children(TOP, offset=0, limit=50).entries[0]
    threaded = None
    for channel in _all(browser, team.ref):
        sections = {entry.name: entry for entry in browser.children(channel.ref, offset=0, limit=50).entries}
        assert set(sections) == {"Posts", "Files", "Tabs"}
        posts = _all(browser, sections["Posts"].ref)
        assert all(post.kind == "post" for post in posts)
        threaded = next((post for post in posts if post.has_children), None)
        if threaded:
            break
    assert threaded is not None
    assert all(reply.kind == "post" for reply in _all(browser, threaded.ref))
    folders = _all(browser, sections["Files"].ref)
    files = [entry for folder in folders if folder.kind == "folder" for entry in _all(browser, folder.ref)]
    assert any(entry.kind == "file" for entry in files)
    a_file = next(entry for entry in files if entry.kind == "file")
    assert browser.node(a_file.ref).name == a_file.name
    assert all(tab.kind == "tab" for tab in _all(browser, sections["Tabs"].ref))


@pytest.mark.parametrize("version", [6, 7, 8])
def test_search_in_a_mailbox_keeps_its_set_across_pages(upstream, version):
    browser = _browser(upstream, version, "exchange")
    mailbox, _ = _inbox(browser)
    first = browser.search(mailbox.ref, "contract", offset=0, limit=5)
    assert first.entries and first.set_ids[0]
    assert all("contract" in entry.name.lower() or entry.details for entry in first.entries)
    second = browser.search(mailbox.ref, "contract", offset=5, limit=5, set_ids=first.set_ids)
    assert not {entry.ref for entry in first.entries} & {entry.ref for entry in second.entries}


def test_search_before_v6_says_which_version_it_needs(upstream):
    browser = _browser(upstream, 5, "exchange")
    mailbox, _ = _inbox(browser)
    with pytest.raises(BrowseUnsupported, match="v6 or later"):
        browser.search(mailbox.ref, "contract", offset=0, limit=5)


@pytest.mark.parametrize("version", [1, 3])
def test_versions_before_v4_refuse_to_browse(upstream, version):
    upstream(version)
    with pytest.raises(BrowseUnsupported, match="needs VB365 API v4 or later"):
        SessionBrowser(get_client(), "0c82eff8-0f80-49f5-82b2-3ac674af11a7", "exchange")


def test_a_stopped_session_is_not_found(upstream):
    browser = _browser(upstream, 8, "exchange")
    browser.client.stop_restore_session(browser.session_id)
    with pytest.raises(errors.UpstreamNotFound):
        browser.children(TOP, offset=0, limit=10)
