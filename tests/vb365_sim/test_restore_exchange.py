"""Exchange restores, MSG saves and PST exports in every version family (BROWSE-RESTORE.md §2.1-§2.3, §2.8)."""

from __future__ import annotations

import io
import zipfile

import pytest

from tests.vb365_sim.conftest import SimClient
from tests.vb365_sim.restore_support import (
    creds,
    knobs,
    mail_items,
    mailbox_with_inbox,
    ok,
    restore_post,
    seg,
    small_folder,
    v8_done,
)

OLE = bytes.fromhex("D0CF11E0A1B11AE1")


def _box_path(version: int, prefix: str, box: dict) -> str:
    return f"{prefix}/{seg(version, 'organization/mailboxes')}/{box['id']}"


@pytest.mark.parametrize("version", [4, 5, 6, 7])
def test_restoring_three_items_answers_the_counts_in_the_post(sim: SimClient, version: int) -> None:
    prefix = sim.browse(version, "Vex")
    box, inbox = mailbox_with_inbox(sim, version, prefix)
    items = mail_items(sim, version, prefix, box, inbox, 3)
    r = restore_post(sim, version, f"{_box_path(version, prefix, box)}/{seg(version, 'items')}", "restore",
                     {"items": [{"id": i["id"]} for i in items], **creds(sim)})
    stats = ok(r)
    assert set(stats) >= {"createdItemsCount", "mergedItemsCount", "failedItemsCount", "skippedItemsCount",
                          "exceptions"}
    assert stats["createdItemsCount"] + stats["failedItemsCount"] + stats["skippedItemsCount"] == 3


def test_v8_restore_answers_a_session_id_and_statistics_grow_with_the_clock(fresh_sim: SimClient) -> None:
    sim = fresh_sim
    knobs(sim, item_sim_seconds=10)
    prefix = sim.browse(8, "Vex")
    box, inbox = mailbox_with_inbox(sim, 8, prefix)
    items = mail_items(sim, 8, prefix, box, inbox, 3)
    r = sim.post(8, f"{_box_path(8, prefix, box)}/items/restore", json={"items": [{"id": i["id"]} for i in items],
                                                                        **creds(sim)})
    session_id = ok(r)["sessionId"]
    assert list(ok(r)) == ["sessionId"]
    first = ok(sim.get(8, f"/RestoreSessions/{session_id}/Statistics"))
    assert first["totalItemsCount"] == 3 and first["restoredItemsCount"] + first["failedItemsCount"] == 0
    assert ok(sim.get(8, f"/RestoreSessions/{session_id}"))["state"] == "Working"
    sim.advance_clock(15)
    middle = ok(sim.get(8, f"/RestoreSessions/{session_id}/Statistics"))
    assert len(middle["items"]) == 1
    assert middle["items"][0]["id"] == items[0]["id"] and middle["items"][0]["itemType"] == "ExchangeMailbox"
    events = ok(sim.get(8, f"/RestoreSessions/{session_id}/Events"))["results"]
    assert [e["status"] for e in events[1:]] == [middle["items"][0]["status"], "Running"]
    done = v8_done(sim, session_id, 30)
    assert done["restoredItemsCount"] + done["failedItemsCount"] + done["skippedItemsCount"] == 3
    assert [i["id"] for i in done["items"]] == [i["id"] for i in items]
    session = ok(sim.get(8, f"/RestoreSessions/{session_id}"))
    assert session["state"] == "Stopped" and session["endTime"]
    last = ok(sim.get(8, f"/RestoreSessions/{session_id}/Events"))["results"][-1]
    assert last["title"] == "Restore completed"


@pytest.mark.parametrize("version", [5, 7])
def test_a_folder_restore_reports_failures_and_skips(sim: SimClient, version: int) -> None:
    knobs(sim, failed_percent=30, skipped_percent=30)
    prefix = sim.browse(version, "Vex")
    box, _ = mailbox_with_inbox(sim, version, prefix)
    folder = small_folder(sim, version, prefix, box)
    r = restore_post(sim, version, f"{_box_path(version, prefix, box)}/{seg(version, 'folders')}/{folder['id']}",
                     "restore", creds(sim))
    stats = ok(r)
    assert "failedFoldersCount" in stats
    assert stats["createdItemsCount"] + stats["failedItemsCount"] + stats["skippedItemsCount"] == folder["item_count"]
    assert stats["failedItemsCount"] > 0 and stats["skippedItemsCount"] > 0
    assert len(stats["exceptions"]) == stats["failedItemsCount"]


def test_restore_to_another_mailbox_needs_an_existing_target(sim: SimClient) -> None:
    prefix = sim.browse(7, "Vex")
    box, inbox = mailbox_with_inbox(sim, 7, prefix)
    other, _ = mailbox_with_inbox(sim, 7, prefix, index=1)
    items = [{"id": i["id"]} for i in mail_items(sim, 7, prefix, box, inbox, 3)]
    path = f"{_box_path(7, prefix, box)}/items/restoreTo"
    missing = sim.post(7, path, json={"items": items, **creds(sim)})
    assert missing.status_code == 400 and "target mailbox" in missing.json()["message"]
    unknown = sim.post(7, path, json={"items": items, "mailbox": "nobody@nowhere.example", **creds(sim)})
    assert unknown.status_code == 400 and "nobody@nowhere.example" in unknown.json()["message"]
    good = ok(sim.post(7, path, json={"items": items, "mailbox": other["email"], "folder": "Recovered", **creds(sim)}))
    assert good["createdItemsCount"] + good["failedItemsCount"] + good["skippedItemsCount"] == 3


def test_v5_restore_to_goes_through_the_action_body(sim: SimClient) -> None:
    prefix = sim.browse(5, "Vex")
    box, inbox = mailbox_with_inbox(sim, 5, prefix)
    other, _ = mailbox_with_inbox(sim, 5, prefix, index=1)
    item = mail_items(sim, 5, prefix, box, inbox, 1)[0]
    r = sim.post(5, f"{_box_path(5, prefix, box)}/Items/{item['id']}/Action",
                 json={"restoreTo": {"mailbox": other["email"], "casServer": "outlook.office365.com", **creds(sim)}})
    assert ok(r)["createdItemsCount"] + ok(r)["failedItemsCount"] + ok(r)["skippedItemsCount"] == 1
    unknown_verb = sim.post(5, f"{_box_path(5, prefix, box)}/Items/{item['id']}/Action", json={"explode": None})
    assert unknown_verb.status_code == 400


@pytest.mark.parametrize("version", [5, 6, 8])
def test_saving_one_item_answers_an_msg(sim: SimClient, version: int) -> None:
    prefix = sim.browse(version, "Vex")
    box, inbox = mailbox_with_inbox(sim, version, prefix)
    item = mail_items(sim, version, prefix, box, inbox, 1)[0]
    path = f"{_box_path(version, prefix, box)}/{seg(version, 'items')}/{item['id']}"
    r = (sim.post(version, f"{path}/Action", json={"savetoMsg": None}) if version <= 5
         else sim.post(version, f"{path}/save"))
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/octet-stream"
    assert r.content[:8] == OLE and int(r.headers["Content-Length"]) == len(r.content)


def test_saving_several_items_answers_a_zip_of_msgs(sim: SimClient) -> None:
    prefix = sim.browse(7, "Vex")
    box, inbox = mailbox_with_inbox(sim, 7, prefix)
    items = mail_items(sim, 7, prefix, box, inbox, 3)
    r = sim.post(7, f"{_box_path(7, prefix, box)}/items/Save", json={"items": [{"id": i["id"]} for i in items]})
    assert r.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    assert archive.testzip() is None and len(archive.namelist()) == 3
    assert all(name.endswith(".msg") and archive.read(name)[:8] == OLE for name in archive.namelist())
    assert {n[:-4] for n in archive.namelist()} == {i["subject"].replace(":", "_") for i in items}


@pytest.mark.parametrize("version", [5, 6, 8])
def test_folder_export_answers_a_pst_sized_from_the_items(sim: SimClient, version: int) -> None:
    prefix = sim.browse(version, "Vex")
    box, _ = mailbox_with_inbox(sim, version, prefix)
    folder = small_folder(sim, version, prefix, box, most=10)
    path = f"{_box_path(version, prefix, box)}/{seg(version, 'folders')}/{folder['id']}"
    r = restore_post(sim, version, path, "exportToPst", {})
    assert r.status_code == 200 and r.content[:4] == b"!BDN"
    assert len(r.content) == int(r.headers["Content-Length"]) > 256 * 1024 + 2048 * folder["item_count"] - 1


def test_an_export_over_the_size_limit_is_a_zip_of_psts(sim: SimClient) -> None:
    knobs(sim, min_pst_limit_bytes=1024)
    prefix = sim.browse(7, "Vex")
    box, _ = mailbox_with_inbox(sim, 7, prefix)
    folder = small_folder(sim, 7, prefix, box, most=10)
    path = f"{_box_path(7, prefix, box)}/folders/{folder['id']}/exportToPst"
    whole = sim.post(7, path, json={})
    limit = len(whole.content) // 3 + 1
    split = sim.post(7, path, json={"enablePstSizeLimit": True, "pstSizeLimitBytes": limit})
    assert split.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(split.content))
    parts = [archive.read(n) for n in archive.namelist()]
    assert len(parts) == 3 and all(p[:4] == b"!BDN" and len(p) <= limit for p in parts)
    assert sum(len(p) for p in parts) == len(whole.content)
    too_small = sim.post(7, path, json={"enablePstSizeLimit": True, "pstSizeLimitBytes": 10})
    assert too_small.status_code == 400


def test_pst_export_is_refused_without_outlook(sim: SimClient) -> None:
    knobs(sim, outlook_installed=False)
    prefix = sim.browse(8, "Vex")
    box, inbox = mailbox_with_inbox(sim, 8, prefix)
    r = sim.post(8, f"{_box_path(8, prefix, box)}/folders/{inbox['id']}/exportToPst", json={})
    assert r.status_code == 500 and "Microsoft Outlook" in r.json()["message"]


def test_the_mailbox_export_resumes_with_range_from_v7(sim: SimClient) -> None:
    prefix = sim.browse(7, "Vex")
    box, _ = mailbox_with_inbox(sim, 7, prefix)
    path = f"{_box_path(7, prefix, box)}/exportToPst"
    head = sim.post(7, path, json={}, headers={"Range": "bytes=0-8191"})
    assert head.status_code == 206 and len(head.content) == 8192 and head.content[:4] == b"!BDN"
    total = int(head.headers["Content-Range"].split("/")[1])
    tail = sim.post(7, path, json={}, headers={"Range": "bytes=4096-8191"})
    assert tail.status_code == 206 and tail.content == head.content[4096:]
    assert tail.headers["Content-Range"] == f"bytes 4096-8191/{total}"
    end = sim.post(7, path, json={}, headers={"Range": f"bytes={total - 10}-"})
    assert end.status_code == 206 and len(end.content) == 10
    beyond = sim.post(7, path, json={}, headers={"Range": f"bytes={total}-"})
    assert beyond.status_code == 416


def test_v6_has_no_range_on_the_mailbox_export(sim: SimClient) -> None:
    prefix = sim.browse(6, "Vex")
    box, _ = mailbox_with_inbox(sim, 6, prefix)
    with sim.http.post(f"{sim.base}/v6{_box_path(6, prefix, box)}/exportToPst", json={}, stream=True, timeout=30,
                       headers={**sim.headers(6), "Range": "bytes=0-99"}) as r:
        assert r.status_code == 200 and "Content-Range" not in r.headers
        assert next(r.iter_content(4)) == b"!BDN"
