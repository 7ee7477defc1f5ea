"""Exchange browse paths in every version family (BROWSE-RESTORE.md §1.2, §1.6, §4.3)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.vb365_sim.conftest import SimClient

FAMILIES = [4, 5, 6, 7, 8]


def _ok(r: Any) -> Any:
    assert r.status_code == 200, r.text
    return r.json()


def _top(version: int) -> str:
    return "null" if version <= 5 else "root"


def _items_param(version: int) -> str:
    return "folderId" if version <= 6 else "parentId"


def _first_mailbox(sim: SimClient, version: int, prefix: str) -> dict[str, Any]:
    return _ok(sim.get(version, f"{prefix}/organization/mailboxes", params={"limit": 1}))["results"][0]


def _inbox(sim: SimClient, version: int, prefix: str, mailbox_id: str) -> dict[str, Any]:
    roots = _ok(sim.get(version, f"{prefix}/organization/mailboxes/{mailbox_id}/folders",
                        params={"parentId": _top(version)}))["results"]
    return next(f for f in roots if f["category"] == "Inbox")


@pytest.mark.parametrize("version", FAMILIES)
def test_mailboxes_list_user_shared_archive_and_one_public_mailbox(sim: SimClient, version: int) -> None:
    prefix = sim.browse(version, "Vex")

    page = _ok(sim.get(version, f"{prefix}/organization/mailboxes", params={"limit": 1000}))
    boxes = page["results"]

    assert any(b["isArchive"] for b in boxes) and any(not b["isArchive"] and not b["isPublic"] for b in boxes)
    assert [b["isPublic"] for b in boxes].count(True) == 1
    assert all(len(b["id"]) == 36 and b["email"].endswith("@contoso.onmicrosoft.com") for b in boxes)
    # Reference: BROWSE-RESTORE.md §0 item 7 -- totalCount in v6/v7 pages only.
    assert ("totalCount" in page) == (version in (6, 7))
    if version in (6, 7):
        assert page["totalCount"] == len(boxes)
    href = boxes[0]["_links"]["self"]["href"]
    if version <= 5:
        assert href.startswith(sim.base) and href == href.lower()
    else:
        assert href.startswith(f"/v{version}/RestoreSessions/")


@pytest.mark.parametrize("version", FAMILIES)
def test_folder_tree_root_children_and_whole_tree(sim: SimClient, version: int) -> None:
    prefix = sim.browse(version, "Vex")
    box = _first_mailbox(sim, version, prefix)
    path = f"{prefix}/organization/mailboxes/{box['id']}/folders"

    roots = _ok(sim.get(version, path, params={"parentId": _top(version)}))["results"]
    everything = _ok(sim.get(version, path, params={"limit": 1000}))["results"]
    sync = next(f for f in roots if f["category"] == "SyncIssues")
    children = _ok(sim.get(version, path, params={"parentId": sync["id"]}))["results"]

    assert {"Inbox", "Sent", "Deleted", "Drafts", "Junk"} <= {f["category"] for f in roots}
    assert {"Appointment", "Contact", "Task"} <= {f["type"] for f in roots}
    assert all("parent" not in f["_links"] for f in roots)
    assert {f["category"] for f in children} == {"Conflicts", "LocalFailures", "ServerFailures"}
    assert len(everything) > len(roots) and {f["id"] for f in roots} < {f["id"] for f in everything}
    # Folder ids are long base64 strings (BROWSE-RESTORE.md §0 item 8).
    assert len(sync["id"]) >= 100 and base64.b64decode(sync["id"])


@pytest.mark.parametrize("version", [5, 6])
def test_each_family_names_the_top_level_its_own_way(sim: SimClient, version: int) -> None:
    prefix = sim.browse(version, "Vex")
    box = _first_mailbox(sim, version, prefix)
    path = f"{prefix}/organization/mailboxes/{box['id']}/folders"
    other = "root" if version <= 5 else "null"

    assert sim.get(version, path, params={"parentId": _top(version)}).status_code == 200
    wrong = sim.get(version, path, params={"parentId": other})

    assert wrong.status_code == 404 and "not found" in wrong.json()["message"]


@pytest.mark.parametrize("version", [5, 8])
def test_folder_name_filter_takes_wildcards(sim: SimClient, version: int) -> None:
    prefix = sim.browse(version, "Vex")
    box = _first_mailbox(sim, version, prefix)

    names = [f["name"] for f in _ok(sim.get(version, f"{prefix}/organization/mailboxes/{box['id']}/folders",
                                            params={"name": "*Items"}))["results"]]

    assert sorted(names) == ["Deleted Items", "Recoverable Items", "Sent Items"]


@pytest.mark.parametrize("version", FAMILIES)
def test_paging_a_folder_of_more_than_1000_items_by_its_next_links(sim: SimClient, version: int) -> None:
    prefix = sim.browse(version, "Vex")
    box = _first_mailbox(sim, version, prefix)
    inbox = _inbox(sim, version, prefix, box["id"])

    seen: list[str] = []
    page = _ok(sim.get(version, f"{prefix}/organization/mailboxes/{box['id']}/items",
                       params={_items_param(version): inbox["id"], "limit": 400}))
    while True:
        seen += [i["id"] for i in page["results"]]
        if "next" not in page["_links"]:
            break
        page = _ok(sim.follow(version, page["_links"]["next"]["href"]))

    assert len(seen) == len(set(seen)) == 1500
    assert "prev" in page["_links"]


@pytest.mark.parametrize("version", [6, 7])
def test_v6_filters_items_by_folder_id_and_v7_by_parent_id(sim: SimClient, version: int) -> None:
    prefix = sim.browse(version, "Vex")
    box = _first_mailbox(sim, version, prefix)
    inbox = _inbox(sim, version, prefix, box["id"])
    path = f"{prefix}/organization/mailboxes/{box['id']}/items"

    own = _ok(sim.get(version, path, params={_items_param(version): inbox["id"], "limit": 1}))
    foreign = "parentId" if version == 6 else "folderId"
    ignored = _ok(sim.get(version, path, params={foreign: inbox["id"], "limit": 1}))

    assert own["totalCount"] == 1500
    assert ignored["totalCount"] > 1500  # the other family's parameter is unknown: the whole mailbox


@pytest.mark.parametrize("version", FAMILIES)
def test_an_item_reads_back_with_its_class_fields_and_links(sim: SimClient, version: int) -> None:
    prefix = sim.browse(version, "Vex")
    box = _first_mailbox(sim, version, prefix)
    inbox = _inbox(sim, version, prefix, box["id"])
    listed = _ok(sim.get(version, f"{prefix}/organization/mailboxes/{box['id']}/items",
                         params={_items_param(version): inbox["id"], "limit": 300}))["results"]

    with_attachment = next(i for i in listed if i["attachments"])
    one = _ok(sim.follow(version, with_attachment["_links"]["self"]["href"]))

    assert one == with_attachment
    assert one["itemClass"] == "IPM.Note" and one["to"].endswith(f"<{box['email']}>")
    assert {"subject", "from", "to", "cc", "bcc", "sent", "received", "importance"} <= set(one)
    assert all(a["sizeBytes"] > 0 and a["name"] for a in one["attachments"])
    assert len(one["id"]) == 152
    assert ("mailboxId" in one) == (version >= 8)


@pytest.mark.parametrize("version", [6, 8])
def test_calendar_contacts_and_tasks_hold_their_own_item_classes(sim: SimClient, version: int) -> None:
    prefix = sim.browse(version, "Vex")
    box = _first_mailbox(sim, version, prefix)
    roots = _ok(sim.get(version, f"{prefix}/organization/mailboxes/{box['id']}/folders",
                        params={"parentId": "root"}))["results"]
    classes = {}
    for folder_type in ("Appointment", "Contact", "Task"):
        folder = next(f for f in roots if f["type"] == folder_type)
        items = _ok(sim.follow(version, folder["_links"]["items"]["href"]))["results"]
        classes[folder_type] = {i["itemClass"] for i in items}

    assert classes["Appointment"] == {"IPM.Appointment"}
    assert "IPM.Contact" in classes["Contact"]
    assert classes["Task"] == {"IPM.Task"}


def test_public_folder_posts_gain_a_subject_in_v7(sim: SimClient) -> None:
    found = {}
    for version in (6, 7):
        prefix = sim.browse(version, "Vex")
        boxes = _ok(sim.get(version, f"{prefix}/organization/mailboxes", params={"limit": 1000}))["results"]
        public = next(b for b in boxes if b["isPublic"])
        folders = _ok(sim.follow(version, public["_links"]["folders"]["href"]))["results"]
        items = _ok(sim.follow(version, folders[0]["_links"]["items"]["href"]))["results"]
        found[version] = items[0]

    assert found[6]["itemClass"] == found[7]["itemClass"] == "IPM.Post"
    assert "subject" not in found[6] and found[7]["subject"]


@pytest.mark.parametrize("version", [6, 7, 8])
def test_search_pages_one_result_set_by_its_set_id(sim: SimClient, version: int) -> None:
    prefix = sim.browse(version, "Vex")
    box = _first_mailbox(sim, version, prefix)
    path = f"{prefix}/organization/mailboxes/{box['id']}/search"

    first = _ok(sim.post(version, path, params={"limit": 20}, json={"query": "subject:invoice"}))
    second = _ok(sim.follow(version, first["_links"]["next"]["href"], method="POST", json={"query": "subject:invoice"}))
    other = _ok(sim.post(version, path, params={"limit": 20}, json={"query": "budget"}))

    assert all("invoice" in i["subject"].lower() for i in first["results"] + second["results"])
    assert second["setId"] == first["setId"] and second["offset"] == 20
    assert not {i["id"] for i in first["results"]} & {i["id"] for i in second["results"]}
    assert other["setId"] != first["setId"]
    if version in (6, 7):
        assert "totalCount" in first  # null until the whole set was scanned


def test_search_exchange_spans_the_organization(sim: SimClient) -> None:
    prefix = sim.browse(8, "Vex")

    page = _ok(sim.post(8, f"{prefix}/organization/searchExchange", params={"limit": 1000},
                        json={"query": "\"Board meeting minutes\""}))

    assert len({i["mailboxId"] for i in page["results"]}) > 1
    assert all("board meeting minutes" in i["subject"].lower() for i in page["results"])


def test_show_deleted_lists_the_items_deleted_before_the_point_in_time(sim: SimClient) -> None:
    counts = {}
    for show_deleted in (False, True):
        prefix = sim.browse(7, "Vex", showDeleted=show_deleted)
        box = _ok(sim.get(7, f"{prefix}/organization/mailboxes", params={"limit": 2}))["results"][1]
        # No parentId: every item of the mailbox (the slow form).
        counts[show_deleted] = _ok(sim.get(7, f"{prefix}/organization/mailboxes/{box['id']}/items",
                                           params={"limit": 1}))["totalCount"]

    assert counts[True] > counts[False] > 0
