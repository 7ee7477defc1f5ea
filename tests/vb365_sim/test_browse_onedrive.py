"""OneDrive browse paths in every version family (BROWSE-RESTORE.md §1.3, §4.3)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.vb365_sim.conftest import SimClient

FAMILIES = [4, 5, 6, 7, 8]


def _ok(r: Any) -> Any:
    assert r.status_code == 200, r.text
    return r.json()


def _top(version: int) -> str:
    return "null" if version <= 5 else "root"


def _drive(sim: SimClient, version: int, prefix: str) -> dict[str, Any]:
    return _ok(sim.get(version, f"{prefix}/Organization/OneDrives", params={"limit": 1}))["results"][0]


@pytest.mark.parametrize("version", FAMILIES)
def test_drives_have_72_character_ids_and_a_folder_tree(sim: SimClient, version: int) -> None:
    prefix = sim.browse(version, "Veod")
    drive = _drive(sim, version, prefix)
    path = f"{prefix}/Organization/OneDrives/{drive['id']}/Folders"

    roots = _ok(sim.get(version, path, params={"parentId": _top(version), "limit": 100}))["results"]
    children = _ok(sim.get(version, path, params={"parentId": roots[0]["id"], "limit": 100}))["results"]
    whole = _ok(sim.get(version, path, params={"limit": 1000}))["results"]

    # Reference: BROWSE-RESTORE.md §0 item 8 -- OneDrive ids are two GUIDs concatenated, 72 characters.
    assert len(drive["id"]) == 72 and drive["url"].startswith("https://contoso-my.sharepoint.com/personal/")
    assert roots and children
    assert {f["id"] for f in roots + children} <= {f["id"] for f in whole}
    assert all(f["_links"]["parent"]["href"].endswith(roots[0]["id"]) for f in children)


@pytest.mark.parametrize("version", FAMILIES)
def test_documents_page_through_the_whole_drive(sim: SimClient, version: int) -> None:
    prefix = sim.browse(version, "Veod", showDeleted=True)
    drive = _drive(sim, version, prefix)
    path = f"{prefix}/Organization/OneDrives/{drive['id']}/Documents"

    seen: list[str] = []
    page = _ok(sim.get(version, path, params={"limit": 150}))
    while True:
        seen += [d["id"] for d in page["results"]]
        if "next" not in page["_links"]:
            break
        page = _ok(sim.follow(version, page["_links"]["next"]["href"]))

    assert len(seen) == len(set(seen)) == 400  # the first OneDrive of the small profile, deleted files included
    one = _ok(sim.get(version, f"{path}/{seen[7]}"))
    assert {"sizeBytes", "version", "versionId", "name", "createdBy", "creationTime", "modifiedBy",
            "modificationTime"} <= set(one)
    assert ("isFolder" in one) == (version >= 7) and ("oneDriveId" in one) == (version >= 8)


def test_the_first_drive_holds_a_document_over_2_gb(sim: SimClient) -> None:
    prefix = sim.browse(8, "Veod")
    drive = _drive(sim, 8, prefix)

    top = _ok(sim.get(8, f"{prefix}/Organization/OneDrives/{drive['id']}/Documents", params={"parentId": "root"}))

    assert max(d["sizeBytes"] for d in top["results"]) > 2 * 1024**3


@pytest.mark.parametrize("version", [6, 7, 8])
def test_include_folders_arrives_in_v7(sim: SimClient, version: int) -> None:
    prefix = sim.browse(version, "Veod")
    drive = _drive(sim, version, prefix)
    path = f"{prefix}/Organization/OneDrives/{drive['id']}/Documents"

    plain = _ok(sim.get(version, path, params={"parentId": "root", "limit": 1000}))["results"]
    mixed = _ok(sim.get(version, path, params={"parentId": "root", "includeFolders": "true", "limit": 1000}))["results"]

    if version == 6:
        assert mixed == plain  # not a v6 parameter
    else:
        folders = [e for e in mixed if e["isFolder"]]
        assert folders and mixed[len(folders):] == plain
        assert all("sizeBytes" not in f for f in folders)


@pytest.mark.parametrize("version", [5, 6, 8])
def test_previous_versions_need_show_all_versions(sim: SimClient, version: int) -> None:
    listings = {}
    for show_all in (False, True):
        prefix = sim.browse(version, "Veod", showAllVersions=show_all)
        drive = _drive(sim, version, prefix)
        docs = _ok(sim.get(version, f"{prefix}/Organization/OneDrives/{drive['id']}/Documents",
                           params={"limit": 400}))["results"]
        edited = next(d for d in docs if d["versionId"] >= 3 * 512)
        listings[show_all] = (edited, _ok(sim.follow(version, edited["_links"]["versions"]["href"])))

    doc, versions = listings[True]
    assert listings[False][1]["results"] == []
    assert [v["versionId"] for v in versions["results"]] == list(range(512, doc["versionId"], 512))
    older = _ok(sim.follow(version, versions["results"][0]["_links"]["self"]["href"]))
    assert older["version"] == "1.0" and older["id"] == doc["id"]
    assert older["modificationTime"] < doc["modificationTime"]


@pytest.mark.parametrize("version", [6, 7, 8])
def test_search_by_item_type_with_set_id(sim: SimClient, version: int) -> None:
    prefix = sim.browse(version, "Veod")
    drive = _drive(sim, version, prefix)
    path = f"{prefix}/Organization/OneDrives/{drive['id']}/search"

    docs = _ok(sim.post(version, path, params={"itemType": "Documents", "limit": 5}, json={"query": "budget"}))
    folders = _ok(sim.post(version, path, params={"itemType": "Folders", "limit": 50}, json={"query": ""}))
    bad = sim.post(version, path, params={"itemType": "Mailboxes"}, json={"query": "x"})

    assert docs["setId"] and all("budget" in d["name"].lower() for d in docs["results"])
    assert "setId=" in docs["_links"]["next"]["href"]
    assert folders["results"] and all("sizeBytes" not in f for f in folders["results"])
    assert bad.status_code == 400


def test_a_folder_id_of_another_drive_is_not_found(sim: SimClient) -> None:
    prefix = sim.browse(8, "Veod")
    drives = _ok(sim.get(8, f"{prefix}/Organization/OneDrives", params={"limit": 2}))["results"]
    folder = _ok(sim.get(8, f"{prefix}/Organization/OneDrives/{drives[0]['id']}/Folders",
                         params={"parentId": "root"}))["results"][0]

    r = sim.get(8, f"{prefix}/Organization/OneDrives/{drives[1]['id']}/Folders/{folder['id']}")

    assert r.status_code == 404 and r.json()["errorCode"] == "ResourceNotFound"
