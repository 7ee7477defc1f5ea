"""Item actions on the wire (restore, copy, save, export), v4 to v8, over real HTTP against vb365_sim."""
from __future__ import annotations

import io
import zipfile
from datetime import datetime, timezone
from typing import Any

import pytest
import requests

from sessions_app.upstream import errors, restores
from sessions_app.upstream.browse import SessionBrowser
from sessions_app.upstream.browse_types import BrowseEntryDTO, NodeRef
from sessions_app.upstream.client import get_client
from sessions_app.upstream.restore_types import RestoreCountsDTO, RestoreCredentials, RestoreStartedDTO

pytestmark = pytest.mark.integration

VERSIONS = [4, 5, 6, 7, 8]
TEAMS_VERSIONS = [5, 6, 7, 8]   # Teams arrives in v5
TOP = NodeRef("top")
MSG_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")
SMALL = 3_000_000


class Desk:
    """One restore session of the organization with a Microsoft 365 password, its browser and restorer."""

    def __init__(self, upstream: Any, version: int, workload: str, *, tenant: bool = True) -> None:
        self.sim = upstream(version)
        self.version = version
        self.org = self.sim.organization(backed_up=True, tenant=tenant)
        client = get_client()
        session = client.start_restore_session(organization_id=self.org["id"], workload=workload,
                                               point_in_time=datetime.now(timezone.utc))
        self.browser = SessionBrowser(client, str(session.id), workload)
        self.restorer = restores.SessionRestorer(client, str(session.id))

    @property
    def password(self) -> RestoreCredentials:
        tenant = self.org["tenant"]
        return RestoreCredentials(user_name=tenant["username"], password=tenant["password"])

    def children(self, ref: NodeRef, limit: int = 200) -> list[BrowseEntryDTO]:
        return self.browser.children(ref, offset=0, limit=limit).entries

    def knobs(self, **values: Any) -> None:
        requests.post(f"{self.sim.url}/_sim/restore-knobs", json=values, timeout=5).raise_for_status()

    def finish(self, started: RestoreStartedDTO) -> RestoreCountsDTO:
        """The counts of a restore: v4–v7 from the answer, v8 by moving the clock and reading the run."""
        if self.version < 8:
            assert started.counts is not None and not started.is_async
            return started.counts
        assert started.counts is None and started.run_id
        self.sim.advance_clock(3600)
        progress = self.restorer.run_progress(started.run_id)
        assert progress.finished and progress.state == "stopped"
        return progress.counts

    # -- selections ------------------------------------------------------------------------------------------

    def mailboxes(self) -> list[BrowseEntryDTO]:
        return [entry for entry in self.children(TOP, 50) if not entry.details.get("is_archive")]

    def inbox(self) -> BrowseEntryDTO:
        folders = self.children(self.mailboxes()[0].ref, 50)
        return next(folder for folder in folders if folder.details.get("category") == "Inbox")

    def mail_items(self, count: int) -> list[NodeRef]:
        return [entry.ref for entry in self.children(self.inbox().ref, 100) if entry.kind == "item"][:count]

    def drives(self) -> list[BrowseEntryDTO]:
        return self.children(TOP, 50)

    def small_documents(self, count: int) -> list[NodeRef]:
        for drive in self.drives():
            docs = [entry.ref for entry in self.children(drive.ref, 500)
                    if entry.kind == "document" and (entry.size_bytes or 0) < SMALL]
            if len(docs) >= count:
                return docs[:count]
        raise LookupError("no drive with enough small documents")

    def drive_folder(self) -> NodeRef:
        return next(entry.ref for entry in self.children(self.drives()[0].ref, 500) if entry.kind == "folder")

    def site_documents(self, count: int) -> list[NodeRef]:
        for site in self.children(TOP, 50):
            for library in [entry for entry in self.children(site.ref, 100) if entry.ref.kind == "slib"]:
                docs = [entry.ref for entry in self.children(library.ref, 500)
                        if entry.kind == "document" and (entry.size_bytes or 0) < SMALL]
                if len(docs) >= count:
                    return docs[:count]
        raise LookupError("no library with enough small documents")

    def channel(self) -> NodeRef:
        return self.children(self.children(TOP, 50)[0].ref, 50)[0].ref

    def team_files(self, count: int) -> list[NodeRef]:
        """Small files of the channel's files folder (the channel's files live in one top folder)."""
        pending = [NodeRef("cfiles", self.channel().ids)]
        while pending:
            entries = self.children(pending.pop(0), 200)
            files = [entry.ref for entry in entries if entry.kind == "file" and (entry.size_bytes or 0) < SMALL]
            if len(files) >= count:
                return files[:count]
            pending += [entry.ref for entry in entries if entry.kind == "folder"]
        raise LookupError("no folder with enough small files")

    def team_folder(self) -> NodeRef:
        return self.children(NodeRef("cfiles", self.channel().ids), 50)[0].ref

    def posts(self, count: int) -> list[NodeRef]:
        return [entry.ref for entry in self.children(NodeRef("cposts", self.channel().ids), count)][:count]


def _download(desk: Desk, action: str, refs: list[NodeRef], **kwargs: Any) -> tuple[restores.DownloadStream, bytes]:
    with desk.restorer.download(action, refs, timeout=30, **kwargs) as stream:
        body = b"".join(stream.iter_chunks(256 * 1024))
    return stream, body


# -- every action, per version -----------------------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_exchange_restore_items_to_the_original_mailbox(upstream, version):
    desk = Desk(upstream, version, "exchange")
    started = desk.restorer.restore("exchange.restore_original", desk.mail_items(3), credentials=desk.password,
                                    options={"changed_items": True}, timeout=30)
    counts = desk.finish(started)
    assert counts.done == 3 and counts.succeeded + counts.skipped + counts.failed == 3


@pytest.mark.parametrize("version", VERSIONS)
def test_exchange_restore_a_folder_to_another_mailbox(upstream, version):
    desk = Desk(upstream, version, "exchange")
    other = desk.mailboxes()[1].details["email"]
    started = desk.restorer.restore("exchange.restore_to_mailbox", [desk.inbox().ref], credentials=desk.password,
                                    target={"mailbox": other, "folder": "Restored by Restore Desk"}, timeout=30)
    counts = desk.finish(started)
    assert counts.done == 1500 and counts.succeeded > 1400


@pytest.mark.parametrize("version", VERSIONS)
def test_exchange_save_one_item_as_msg(upstream, version):
    desk = Desk(upstream, version, "exchange")
    stream, body = _download(desk, "exchange.save_msg", desk.mail_items(1), file_stem="Quarterly report")
    assert stream.status == 200 and body.startswith(MSG_SIGNATURE)
    assert stream.file_format == "msg" and stream.suggested_name == "Quarterly report.msg"
    assert stream.content_length == len(body) == stream.bytes_read


@pytest.mark.parametrize("version", VERSIONS)
def test_exchange_export_items_to_pst(upstream, version):
    desk = Desk(upstream, version, "exchange")
    stream, body = _download(desk, "exchange.export_pst", desk.mail_items(3), file_stem="Adele Vance")
    assert body.startswith(b"!BDN") and stream.file_format == "pst"
    assert stream.suggested_name == "Adele Vance.pst" and not stream.resumable


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("workload", "options"), [("onedrive", {"document_action": "Keep"}),
                                                   ("sharepoint", {"document_version": "Last"})])
def test_documents_restore_to_the_original_location_with_their_options(upstream, version, workload, options):
    desk = Desk(upstream, version, workload)
    documents = desk.small_documents(2) if workload == "onedrive" else desk.site_documents(2)
    started = desk.restorer.restore(f"{workload}.restore_original", documents, credentials=desk.password,
                                    options=options, timeout=30)
    counts = desk.finish(started)
    assert counts.total == 2 and counts.done == 2


@pytest.mark.parametrize("version", VERSIONS)
def test_onedrive_copy_a_folder_to_another_onedrive(upstream, version):
    desk = Desk(upstream, version, "onedrive")
    other = desk.drives()[1]
    started = desk.restorer.restore("onedrive.copy_to", [desk.drive_folder()], credentials=desk.password,
                                    target={"onedrive": other.details["url"], "folder": "Restored"}, timeout=30)
    counts = desk.finish(started)
    assert counts.total is not None and counts.done == counts.total


@pytest.mark.parametrize("version", VERSIONS)
def test_onedrive_save_several_documents_as_a_zip_and_one_as_itself(upstream, version):
    desk = Desk(upstream, version, "onedrive")
    documents = desk.small_documents(2)
    stream, body = _download(desk, "onedrive.save", documents, file_stem="Adele's OneDrive")
    assert stream.file_format == "zip" and stream.suggested_name == "Adele's OneDrive.zip"
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.testzip() is None and len(archive.namelist()) == 2
    single, plain = _download(desk, "onedrive.save", documents[:1], file_stem="report.docx")
    assert single.file_format == "file" and single.suggested_name == "report.docx"
    assert not plain.startswith(b"PK") and single.content_length == len(plain)


@pytest.mark.parametrize("version", VERSIONS)
def test_sharepoint_save_documents_as_a_zip(upstream, version):
    desk = Desk(upstream, version, "sharepoint")
    for refs in (desk.site_documents(2), desk.site_documents(1)):
        stream, body = _download(desk, "sharepoint.save", refs)
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            assert archive.testzip() is None and len(archive.namelist()) == len(refs)
        assert stream.suggested_name == "sharepoint.zip"


@pytest.mark.parametrize("version", TEAMS_VERSIONS)
def test_teams_restore_files_of_a_channel(upstream, version):
    desk = Desk(upstream, version, "teams")
    for refs in (desk.team_files(2), desk.team_files(1)):
        started = desk.restorer.restore("teams.restore_original", refs, credentials=desk.password, timeout=30)
        counts = desk.finish(started)
        assert counts.total == len(refs) and counts.done == len(refs)
    for whole in (desk.team_folder(), NodeRef("cfiles", desk.channel().ids)):
        counts = desk.finish(desk.restorer.restore("teams.restore_original", [whole], credentials=desk.password,
                                                   timeout=30))
        assert counts.total is not None and counts.total > 2 and counts.done == counts.total


@pytest.mark.parametrize("version", TEAMS_VERSIONS)
def test_teams_restore_selected_posts_as_their_date_range(upstream, version):
    desk = Desk(upstream, version, "teams")
    posts = desk.posts(3)
    started = desk.restorer.restore("teams.restore_original", posts, credentials=desk.password, timeout=30)
    counts = desk.finish(started)
    # The range from the oldest to the newest selected post holds at least those three.
    assert counts.total is not None and counts.total >= 3 and counts.done == counts.total


@pytest.mark.parametrize("version", [6, 7, 8])
def test_teams_restore_a_team_a_channel_and_its_tabs(upstream, version):
    desk = Desk(upstream, version, "teams")
    channel = desk.channel()
    team = NodeRef("team", channel.ids[:1])
    sizes = {}
    for ref in (team, channel, NodeRef("ctabs", channel.ids), NodeRef("cposts", channel.ids)):
        counts = desk.finish(desk.restorer.restore("teams.restore_original", [ref], credentials=desk.password,
                                                   timeout=30))
        assert counts.total is not None and counts.total > 0 and counts.done == counts.total
        sizes[ref.kind] = counts.total
    # A team holds its channels; a channel its posts, files and tabs.
    assert sizes["team"] > sizes["chan"] > sizes["cposts"] + sizes["ctabs"]


@pytest.mark.parametrize("version", [6, 8])
def test_sharepoint_restore_a_whole_library(upstream, version):
    desk = Desk(upstream, version, "sharepoint")
    library = next(entry.ref for site in desk.children(TOP, 50) for entry in desk.children(site.ref, 100)
                   if entry.ref.kind == "slib")
    counts = desk.finish(desk.restorer.restore("sharepoint.restore_original", [library], credentials=desk.password,
                                               timeout=30))
    assert counts.total is not None and counts.done == counts.total


@pytest.mark.parametrize("version", TEAMS_VERSIONS)
def test_teams_export_posts_as_html(upstream, version):
    desk = Desk(upstream, version, "teams")
    for refs in ([desk.channel()], desk.posts(2), desk.posts(1)):
        stream, body = _download(desk, "teams.export_posts", refs, file_stem="General")
        assert stream.file_format == "html" and stream.suggested_name == "General.html"
        assert b"<html" in body.lower()


# -- partial failures, credentials, targets ---------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_partial_failures_are_counted_with_the_failed_items(upstream, version):
    desk = Desk(upstream, version, "onedrive")
    desk.knobs(failed_percent=50, skipped_percent=0)
    documents = desk.small_documents(8)
    counts = desk.finish(desk.restorer.restore("onedrive.restore_original", documents, credentials=desk.password,
                                               timeout=30))
    assert counts.failed > 0 and counts.succeeded > 0 and counts.done == 8
    failed = [item for item in counts.items if item.status == "failed"]
    assert len(failed) == counts.failed and all(item.error and item.name for item in failed)


@pytest.mark.parametrize("version", VERSIONS)
def test_exchange_partial_failures_keep_the_server_messages(upstream, version):
    desk = Desk(upstream, version, "exchange")
    desk.knobs(failed_percent=60, skipped_percent=0)
    counts = desk.finish(desk.restorer.restore("exchange.restore_original", desk.mail_items(10),
                                               credentials=desk.password, timeout=30))
    assert counts.failed > 0 and counts.done == 10
    assert any("Failed to restore" in item.error for item in counts.items)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_wrong_password_is_refused_without_showing_it(upstream, version):
    desk = Desk(upstream, version, "exchange")
    wrong = RestoreCredentials(user_name=desk.org["tenant"]["username"], password="Hunter2-not-it")
    with pytest.raises(restores.RestoreCredentialsRefused) as caught:
        desk.restorer.restore("exchange.restore_original", desk.mail_items(1), credentials=wrong, timeout=30)
    error = caught.value
    assert error.status_code == 403 and "password" in error.message.lower()
    assert error.http_status == 400 and error.code == "restore_credentials_refused" and not error.retryable
    call = desk.restorer.plan("exchange.restore_original", desk.mail_items(1), credentials=wrong)
    assert call.body is not None and "Hunter2-not-it" in str(call.body)
    for text in (str(error), repr(error), error.body or "", repr(wrong), str(wrong), repr(call), str(call)):
        assert "Hunter2-not-it" not in text


def test_basic_auth_is_refused_for_a_modern_organization(upstream):
    desk = Desk(upstream, 7, "exchange", tenant=False)
    anyone = RestoreCredentials(user_name="admin@example.com", password="whatever-1")
    with pytest.raises(restores.RestoreCredentialsRefused, match="(?i)modern"):
        desk.restorer.restore("exchange.restore_original", desk.mail_items(1), credentials=anyone, timeout=30)


def test_a_restore_without_credentials_is_refused_before_any_call(upstream):
    desk = Desk(upstream, 8, "exchange")
    items = desk.mail_items(1)
    before = desk.sim.stats()["requests"]
    with pytest.raises(restores.RestoreCredentialsRefused, match="credentials are required"):
        desk.restorer.restore("exchange.restore_original", items, credentials=RestoreCredentials())
    assert desk.sim.stats()["requests"] == before


@pytest.mark.parametrize("version", VERSIONS)
def test_device_code_flow(upstream, version):
    desk = Desk(upstream, version, "exchange")
    code = desk.restorer.device_code()
    assert code.user_code and code.verification_url.startswith("https://") and code.expires_in > 0
    assert code.user_code in code.message and code.user_code not in repr(code)
    items = desk.mail_items(2)
    credentials = RestoreCredentials(user_code=code.user_code)
    with pytest.raises(restores.RestoreDeviceCodeNotApproved) as caught:
        desk.restorer.restore("exchange.restore_original", items, credentials=credentials, timeout=30)
    assert not caught.value.expired and caught.value.code == "device_code_not_approved"
    for text in (str(caught.value), repr(caught.value), caught.value.body or ""):
        assert code.user_code not in text
    approved = requests.post(f"{desk.sim.url}/_sim/device-codes/{code.user_code}/approve", timeout=5)
    assert approved.status_code == 200
    counts = desk.finish(desk.restorer.restore("exchange.restore_original", items, credentials=credentials,
                                               timeout=30))
    assert counts.done == 2


def test_an_expired_device_code_asks_for_a_new_one(upstream):
    desk = Desk(upstream, 8, "exchange")
    code = desk.restorer.device_code()
    requests.post(f"{desk.sim.url}/_sim/device-codes/{code.user_code}/approve", timeout=5).raise_for_status()
    desk.sim.advance_clock(code.expires_in + 1)
    with pytest.raises(restores.RestoreDeviceCodeNotApproved) as caught:
        desk.restorer.restore("exchange.restore_original", desk.mail_items(1),
                              credentials=RestoreCredentials(user_code=code.user_code), timeout=30)
    assert caught.value.expired and caught.value.code == "device_code_expired"


@pytest.mark.parametrize("version", VERSIONS)
def test_a_missing_target_mailbox_is_refused(upstream, version):
    desk = Desk(upstream, version, "exchange")
    with pytest.raises(restores.RestoreTargetInvalid, match="nobody@nowhere.example") as caught:
        desk.restorer.restore("exchange.restore_to_mailbox", desk.mail_items(1), credentials=desk.password,
                              target={"mailbox": "nobody@nowhere.example"}, timeout=30)
    assert caught.value.status_code == 400 and caught.value.http_status == 400


def test_a_missing_target_onedrive_is_refused(upstream):
    desk = Desk(upstream, 6, "onedrive")
    with pytest.raises(restores.RestoreTargetInvalid):
        desk.restorer.restore("onedrive.copy_to", [desk.drive_folder()], credentials=desk.password,
                              target={"onedrive": "https://nowhere.example/personal/nobody"}, timeout=30)


def test_a_target_left_empty_is_refused_before_any_call(upstream):
    desk = Desk(upstream, 8, "exchange")
    items = desk.mail_items(1)
    before = desk.sim.stats()["requests"]
    with pytest.raises(restores.RestoreTargetInvalid, match="mailbox"):
        desk.restorer.restore("exchange.restore_to_mailbox", items, credentials=desk.password, target={})
    assert desk.sim.stats()["requests"] == before


# -- v8 runs ---------------------------------------------------------------------------------------------------

def test_a_v8_run_grows_and_its_events_are_read_once_each(upstream):
    desk = Desk(upstream, 8, "exchange")
    desk.knobs(item_sim_seconds=10)
    started = desk.restorer.restore("exchange.restore_original", desk.mail_items(6), credentials=desk.password)
    assert started.is_async
    progress = desk.restorer.run_progress(started.run_id)
    assert not progress.finished and progress.counts.total == 6 and progress.counts.done == 0
    seen = list(progress.events)
    desk.sim.advance_clock(35)
    progress = desk.restorer.run_progress(started.run_id, events_offset=progress.next_event_offset)
    assert not progress.finished and progress.counts.done == 3 and progress.state == "working"
    seen += progress.events
    desk.sim.advance_clock(100)
    progress = desk.restorer.run_progress(started.run_id, events_offset=progress.next_event_offset)
    seen += progress.events
    assert progress.finished and progress.counts.done == 6 and len(progress.counts.items) == 6
    item_events = [event for event in seen if event.item_name]
    assert len(item_events) == 6 and len({event.id for event in seen}) == len(seen)
    assert all(event.status != "Running" for event in seen)
    again = desk.restorer.run_progress(started.run_id, events_offset=progress.next_event_offset)
    assert again.events == () and again.next_event_offset == progress.next_event_offset


def test_a_v8_run_ending_between_its_statistics_and_its_state_reports_its_final_counts(upstream, monkeypatch):
    desk = Desk(upstream, 8, "exchange")
    desk.knobs(item_sim_seconds=10)
    started = desk.restorer.restore("exchange.restore_original", desk.mail_items(6), credentials=desk.password)
    desk.sim.advance_clock(35)
    read_state = desk.restorer.client.get_restore_session

    def run_ends_meanwhile(session_id: str) -> Any:
        desk.sim.advance_clock(3600)   # the run finishes after its statistics said 3 of 6 were done
        return read_state(session_id)

    monkeypatch.setattr(desk.restorer.client, "get_restore_session", run_ends_meanwhile)
    progress = desk.restorer.run_progress(started.run_id)
    assert progress.finished and progress.state == "stopped"
    assert progress.counts.done == progress.counts.total == 6 and len(progress.counts.items) == 6
    assert len([event for event in progress.events if event.item_name]) == 6


def test_v8_events_come_in_bounded_batches(upstream):
    desk = Desk(upstream, 8, "exchange")
    started = desk.restorer.restore("exchange.restore_original", desk.mail_items(10), credentials=desk.password)
    desk.sim.advance_clock(3600)
    first = desk.restorer.run_progress(started.run_id, max_events=4)
    assert len(first.events) == 4 and first.more_events and first.next_event_offset == 4
    rest = desk.restorer.run_progress(started.run_id, events_offset=4, max_events=100)
    assert not rest.more_events and len(first.events) + len(rest.events) == 12   # started + 10 items + completed


def test_a_v6_restore_longer_than_its_timeout_may_still_be_running(upstream):
    desk = Desk(upstream, 6, "exchange")
    desk.knobs(item_real_seconds=0.5)
    with pytest.raises(errors.UpstreamTimeout) as caught:
        desk.restorer.restore("exchange.restore_original", desk.mail_items(4), credentials=desk.password,
                              timeout=0.5)
    assert caught.value.maybe_processed and "may still be working" in caught.value.message


def test_a_restore_whose_answer_is_lost_may_have_run(upstream):
    desk = Desk(upstream, 7, "onedrive")
    documents = desk.small_documents(2)
    desk.sim.fault(drop=True, path="(?i)Documents/restore$")
    with pytest.raises(errors.UpstreamUnavailable) as caught:
        desk.restorer.restore("onedrive.restore_original", documents, credentials=desk.password, timeout=30)
    assert caught.value.maybe_processed and "may have run" in caught.value.message
    assert desk.sim.request_count("POST /v7/RestoreSessions/{restoreSessionId}/Organization/OneDrives/{oneDriveId}"
                                  "/Documents/restore") == 1     # sent once, never again


# -- downloads: split, Range, cut streams, no Outlook -----------------------------------------------------------

@pytest.mark.parametrize("version", [6, 8])
def test_a_pst_over_the_size_limit_comes_as_a_zip_of_psts(upstream, version):
    desk = Desk(upstream, version, "exchange")
    desk.knobs(min_pst_limit_bytes=1000)
    stream, body = _download(desk, "exchange.export_pst", desk.mail_items(5), file_stem="Adele Vance",
                             options={"pst_size_limit_bytes": 300_000})
    assert stream.file_format == "zip" and stream.suggested_name == "Adele Vance.zip"
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        names = archive.namelist()
        assert len(names) >= 2 and all(name.endswith(".pst") for name in names)
        assert all(archive.read(name).startswith(b"!BDN") for name in names)


@pytest.mark.parametrize("version", [7, 8])
def test_a_mailbox_pst_resumes_with_range(upstream, version):
    desk = Desk(upstream, version, "exchange")
    mailbox = [desk.mailboxes()[0].ref]
    with desk.restorer.download("exchange.export_pst", mailbox, timeout=30) as first:
        assert first.status == 200 and first.resumable and first.file_format == "pst"
        chunks = first.iter_chunks(64 * 1024)
        head = b"".join(next(chunks) for _ in range(4))
        total = first.content_length
    assert total and len(head) == 4 * 64 * 1024
    with desk.restorer.download("exchange.export_pst", mailbox, timeout=30, range_start=len(head)) as resumed:
        assert resumed.status == 206 and resumed.range_start == len(head) and resumed.total_size == total
        assert resumed.content_length == total - len(head) and resumed.resumable
        tail_start = next(resumed.iter_chunks(4096))
    with desk.restorer.download("exchange.export_pst", mailbox, timeout=30) as again:
        reread = b""
        for chunk in again.iter_chunks(64 * 1024):
            reread += chunk
            if len(reread) >= len(head) + len(tail_start):
                break
    assert reread[:len(head)] == head and reread[len(head):len(head) + len(tail_start)] == tail_start


def test_v6_ignores_range_and_says_the_pst_is_not_resumable(upstream):
    desk = Desk(upstream, 6, "exchange")
    with desk.restorer.download("exchange.export_pst", desk.mail_items(2), timeout=30, range_start=100) as stream:
        assert stream.status == 200 and stream.range_start == 0 and not stream.resumable
        assert next(stream.iter_chunks()).startswith(b"!BDN")


@pytest.mark.parametrize(("version", "action", "path"), [
    (7, "exchange.export_pst", "(?i)exportToPst$"),
    (8, "onedrive.save", "(?i)/save$"),
])
def test_a_download_cut_half_way_is_an_error(upstream, version, action, path):
    workload = action.split(".")[0]
    desk = Desk(upstream, version, workload)
    refs = desk.mail_items(4) if workload == "exchange" else desk.small_documents(3)
    desk.sim.fault(cut_body=True, path=path)
    received = 0
    with pytest.raises(restores.UpstreamStreamCut) as caught, \
            desk.restorer.download(action, refs, timeout=30) as stream:
        for chunk in stream.iter_chunks(8192):
            received += len(chunk)
    assert received > 0 and caught.value.retryable and caught.value.code == "upstream_stream_cut"


def test_pst_export_without_outlook_says_why(upstream):
    desk = Desk(upstream, 7, "exchange")
    desk.knobs(outlook_installed=False)
    with pytest.raises(restores.PstExportUnavailable, match="64-bit Microsoft Outlook is not installed") as caught, \
            desk.restorer.download("exchange.export_pst", desk.mail_items(2), timeout=30):
        pass
    assert caught.value.status_code == 500 and not caught.value.retryable


def test_a_stopped_session_is_not_found(upstream):
    desk = Desk(upstream, 8, "onedrive")
    documents = desk.small_documents(1)
    get_client().stop_restore_session(desk.restorer.session_id)
    with pytest.raises(errors.UpstreamNotFound), desk.restorer.download("onedrive.save", documents, timeout=30):
        pass


# -- refused before any call -----------------------------------------------------------------------------------

@pytest.mark.parametrize("version", [1, 2, 3])
def test_v1_to_v3_refuse_item_actions_before_any_call(upstream, version):
    sim = upstream(version)
    restorer = restores.SessionRestorer(get_client(), "00000000-0000-0000-0000-000000000001")
    item = [NodeRef("mitm", ("mailbox", "item"))]
    password = RestoreCredentials(user_name="a", password="b")
    for attempt in (lambda: restorer.restore("exchange.restore_original", item, credentials=password),
                    lambda: restorer.download("exchange.save_msg", item).__enter__(),
                    restorer.device_code):
        with pytest.raises(restores.RestoreUnsupported, match=f"need VB365 API v4 or later .*v{version}"):
            attempt()
    assert sim.stats()["requests"] == {} and sim.stats()["token_grants"] == 0


@pytest.mark.parametrize(("action", "refs", "version", "message"), [
    ("exchange.save_msg", [NodeRef("mitm", ("m", "1")), NodeRef("mitm", ("m", "2"))], 8, "exactly one"),
    ("exchange.restore_original", [NodeRef("mitm", ("m", "1")), NodeRef("mfld", ("m", "f"))], 8, "either items"),
    ("exchange.restore_original", [NodeRef("mitm", ("m", "1")), NodeRef("mitm", ("n", "2"))], 8, "same mailbox"),
    ("onedrive.copy_to", [NodeRef("ddoc", ("d", "1"))], 7, "needs VB365 API v8"),
    ("onedrive.save", [NodeRef("ddoc", ("d", "1")), NodeRef("dfld", ("d", "f"))], 8, "either folders"),
    ("teams.restore_original", [NodeRef("tfile", ("t", "c1", "1")), NodeRef("tfile", ("t", "c2", "2"))], 8,
     "same channel"),
    ("teams.restore_original", [NodeRef("team", ("t",))], 5, "v6 or later"),
    ("teams.export_posts", [NodeRef("chan", ("t", "c"))], 4, "Teams item actions need VB365 API v5"),
    ("teams.export_posts", [NodeRef("cfiles", ("t", "c"))], 8, "Export posts takes"),
    ("sharepoint.save", [NodeRef("mitm", ("m", "1"))], 8, "SharePoint entries only"),
    ("exchange.teleport", [NodeRef("mitm", ("m", "1"))], 8, "no item action named"),
    ("exchange.restore_original", [], 8, "at least one"),
])
def test_selections_vb365_cannot_take_in_one_call_are_refused(action, refs, version, message):
    with pytest.raises(restores.RestoreUnsupported, match=message):
        restores.check_selection(action, refs, api_version=version, target={"onedrive": "x"})


@pytest.mark.parametrize(("version", "action", "refs", "target", "options", "path", "body"), [
    (5, "exchange.restore_original", [NodeRef("mitm", ("m", "1")), NodeRef("mitm", ("m", "2"))], {}, {},
     "RestoreSessions/S/Organization/Mailboxes/m/Items/Action",
     {"restoretoOriginallocation": {"items": [{"id": "1"}, {"id": "2"}], "userName": "u", "userPassword": "p"}}),
    (6, "exchange.restore_to_mailbox", [NodeRef("mfld", ("m", "f"))], {"mailbox": "x@y", "folder": "R"}, {},
     "RestoreSessions/S/organization/mailboxes/m/folders/f/restoreTo",
     {"mailbox": "x@y", "folder": "R", "userName": "u", "userPassword": "p"}),
    (8, "exchange.export_pst", [NodeRef("mbx", ("m",))], {}, {"pst_size_limit_bytes": 2 << 30},
     "RestoreSessions/S/organization/mailboxes/m/exportToPst", {"enablePstSizeLimit": True,
                                                                "pstSizeLimitBytes": 2 << 30}),
    (5, "exchange.save_msg", [NodeRef("mitm", ("m", "1"))], {}, {},
     "RestoreSessions/S/Organization/Mailboxes/m/Items/1/Action", {"savetoMsg": None}),
    (7, "onedrive.save", [NodeRef("drv", ("d",))], {}, {}, "RestoreSessions/S/Organization/OneDrives/d/save", None),
    (8, "onedrive.copy_to", [NodeRef("ddoc", ("d", "1"))], {"onedrive": "Megan Bowen", "folder": "F"},
     {"document_version": "last"}, "RestoreSessions/S/Organization/OneDrives/d/Documents/1/copyTo",
     {"onedrive": {"name": "Megan Bowen"}, "folder": "F", "documentVersion": "Last", "userName": "u",
      "userPassword": "p"}),
    (6, "sharepoint.restore_original", [NodeRef("sfld", ("s", "f1", "d")), NodeRef("sfld", ("s", "f2", "d"))], {},
     {"restore_permissions": False}, "RestoreSessions/S/Organization/Sites/s/Folders/restore",
     {"folders": [{"id": "f1"}, {"id": "f2"}], "restorePermissions": False, "userName": "u", "userPassword": "p"}),
    (7, "teams.restore_original", [NodeRef("tfile", ("t", "c", "f"))], {}, {},
     "RestoreSessions/S/organization/teams/t/files/f/restore",
     {"restoreChangedItems": True, "restoreMissingItems": True, "fileVersion": "Last", "userName": "u",
      "userPassword": "p"}),
    (8, "teams.restore_original", [NodeRef("tfile", ("t", "c", "f"))], {}, {"restore_changed_items": False},
     "RestoreSessions/S/organization/teams/t/channels/c/files/f/restore",
     {"restoreChangedItems": False, "restoreMissingItems": True, "fileVersion": "Last", "userName": "u",
      "userPassword": "p"}),
    (6, "teams.restore_original", [NodeRef("chan", ("t", "c"))], {}, {},
     "RestoreSessions/S/organization/teams/t/channels/c/restore",
     {"restoreChangedItems": True, "restoreMissingItems": True, "userName": "u", "userPassword": "p"}),
    (5, "teams.export_posts", [NodeRef("post", ("t", "c", "11")), NodeRef("post", ("t", "c", "12"))], {}, {},
     "RestoreSessions/S/Organization/Teams/t/Posts/Action", {"export": {"posts": [{"postId": 11}, {"postId": 12}]}}),
])
def test_the_path_and_body_of_each_version(settings, version, action, refs, target, options, path, body):
    planner = restores._Planner(version, "S")
    credentials = RestoreCredentials(user_name="u", password="p")
    call = planner.plan(action, refs, target, options, credentials)
    assert call.path == path and call.body == body


def test_a_restorer_prepared_for_another_version_refuses_to_speak(upstream):
    upstream(7)
    restorer = restores.SessionRestorer(get_client(), "00000000-0000-0000-0000-000000000001", api_version=8)
    with pytest.raises(restores.RestoreUnsupported, match="prepared for VB365 API v8.*now speaks v7"):
        restorer.run_progress("run")


def test_credentials_stay_out_of_the_logs(upstream, caplog):
    desk = Desk(upstream, 7, "exchange")
    items = desk.mail_items(2)
    secret = desk.org["tenant"]["password"]
    with caplog.at_level("DEBUG"):
        desk.restorer.restore("exchange.restore_original", items, credentials=desk.password, timeout=30)
        with pytest.raises(restores.RestoreCredentialsRefused):
            desk.restorer.restore("exchange.restore_original", items, timeout=30,
                                  credentials=RestoreCredentials(user_name="x@y", password="Wrong-" + secret))
    assert caplog.records and all(secret not in record.getMessage() for record in caplog.records)


def test_credentials_never_show_in_repr_or_str():
    credentials = RestoreCredentials(user_name="admin@contoso.example", password="s3cret!", certificate_password="pfx!")
    assert "s3cret" not in repr(credentials) and "s3cret" not in str(credentials) and "pfx!" not in repr(credentials)
    assert repr(credentials) == "RestoreCredentials(kind='password')"
    assert RestoreCredentials(user_code="ABC").kind == "device_code"
    assert RestoreCredentials(application_id="a", certificate_b64="b").body_fields() == {
        "applicationId": "a", "applicationCertificate": "b"}
