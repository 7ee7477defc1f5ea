"""OneDrive restores, copies and saves (BROWSE-RESTORE.md §2.4, §2.8)."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest

from tests.vb365_sim.conftest import SimClient
from tests.vb365_sim.restore_support import creds, ok, restore_post, top, v8_done

MB = 1024 * 1024


def _drive_path(sim: SimClient, version: int, prefix: str, index: int = 0) -> tuple[str, dict[str, Any]]:
    drives = ok(sim.get(version, f"{prefix}/Organization/OneDrives", params={"limit": 5}))["results"]
    return f"{prefix}/Organization/OneDrives/{drives[index]['id']}", drives[index]


def _small_documents(sim: SimClient, version: int, path: str, n: int) -> list[dict[str, Any]]:
    docs = ok(sim.get(version, f"{path}/Documents", params={"parentId": top(version), "limit": 1000}))["results"]
    small = [d for d in docs if d["sizeBytes"] < 4 * MB and not d.get("isFolder")]
    assert len(small) >= n
    return small[:n]


def _small_folder(sim: SimClient, version: int, path: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A folder without subfolders whose documents are small, and its documents."""
    for folder in ok(sim.get(version, f"{path}/Folders", params={"limit": 1000}))["results"]:
        subfolders = ok(sim.get(version, f"{path}/Folders", params={"parentId": folder["id"]}))["results"]
        docs = ok(sim.get(version, f"{path}/Documents", params={"parentId": folder["id"], "limit": 1000}))["results"]
        if not subfolders and docs and sum(d["sizeBytes"] for d in docs) < 40 * MB:
            return folder, docs
    raise AssertionError("no small folder")


@pytest.mark.parametrize("version", [4, 5, 6, 7])
def test_restoring_documents_answers_item_statistics(sim: SimClient, version: int) -> None:
    prefix = sim.browse(version, "Veod")
    path, _ = _drive_path(sim, version, prefix)
    docs = _small_documents(sim, version, path, 4)
    body = {"documents": [{"id": d["id"]} for d in docs], "documentAction": "Keep", **creds(sim)}
    stats = ok(restore_post(sim, version, f"{path}/Documents", "restore", body))
    assert stats["totalItemsCount"] == 4
    assert stats["restoredItemsCount"] + stats["failedItemsCount"] + stats["skippedItemsByNoChangesCount"] == 4
    assert {"skippedItemsByErrorCount", "restoreIssues"} <= set(stats)


def test_v8_folder_restore_runs_and_lists_every_document(sim: SimClient) -> None:
    prefix = sim.browse(8, "Veod")
    path, _ = _drive_path(sim, 8, prefix)
    folder, docs = _small_folder(sim, 8, path)
    session_id = ok(sim.post(8, f"{path}/Folders/{folder['id']}/restore", json=creds(sim)))["sessionId"]
    done = v8_done(sim, session_id)
    assert done["totalItemsCount"] == len(docs)
    assert {i["id"] for i in done["items"]} == {d["id"] for d in docs}
    assert {i["itemType"] for i in done["items"]} == {"OneDriveItem"}


def test_document_action_is_overwrite_or_keep(sim: SimClient) -> None:
    prefix = sim.browse(7, "Veod")
    path, _ = _drive_path(sim, 7, prefix)
    doc = _small_documents(sim, 7, path, 1)[0]
    r = sim.post(7, f"{path}/Documents/{doc['id']}/restore", json={"documentAction": "Replace", **creds(sim)})
    assert r.status_code == 400 and "documentAction" in r.json()["message"]


def test_copy_to_needs_a_target_onedrive_of_the_organization(sim: SimClient) -> None:
    prefix = sim.browse(7, "Veod")
    path, _ = _drive_path(sim, 7, prefix)
    _, other = _drive_path(sim, 7, prefix, 1)
    folder, docs = _small_folder(sim, 7, path)
    url = f"{path}/Folders/{folder['id']}/copyTo"
    missing = sim.post(7, url, json=creds(sim))
    assert missing.status_code == 400 and "target OneDrive" in missing.json()["message"]
    unknown = sim.post(7, url, json={"onedrive": {"id": "0" * 72}, **creds(sim)})
    assert unknown.status_code == 400
    stats = ok(sim.post(7, url, json={"onedrive": {"id": other["id"]}, "folder": "Restored", **creds(sim)}))
    assert stats["totalItemsCount"] == len(docs)


@pytest.mark.parametrize("version", [7, 8])
def test_document_copy_to_arrives_in_v8(sim: SimClient, version: int) -> None:
    prefix = sim.browse(version, "Veod")
    path, _ = _drive_path(sim, version, prefix)
    _, other = _drive_path(sim, version, prefix, 1)
    doc = _small_documents(sim, version, path, 1)[0]
    r = sim.post(version, f"{path}/Documents/copyTo", json={"documents": [{"id": doc["id"]}],
                                                           "onedrive": {"id": other["id"]}, **creds(sim)})
    # Before v8 the path only exists as GET Documents/{documentId}: the POST is refused (405).
    assert r.status_code == (200 if version == 8 else 405)


@pytest.mark.parametrize("version", [5, 6, 8])
def test_saving_documents_answers_a_zip_that_opens(sim: SimClient, version: int) -> None:
    prefix = sim.browse(version, "Veod")
    path, _ = _drive_path(sim, version, prefix)
    docs = _small_documents(sim, version, path, 3)
    r = restore_post(sim, version, f"{path}/Documents", "save", {"documents": [{"id": d["id"]} for d in docs],
                                                                "asZip": True})
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/octet-stream"
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    assert archive.testzip() is None
    assert (sorted((i.filename, i.file_size) for i in archive.infolist())
            == sorted((d["name"], d["sizeBytes"]) for d in docs))


def test_one_document_without_as_zip_is_the_file_itself(sim: SimClient) -> None:
    prefix = sim.browse(7, "Veod")
    path, _ = _drive_path(sim, 7, prefix)
    doc = _small_documents(sim, 7, path, 1)[0]
    plain = sim.post(7, f"{path}/Documents/{doc['id']}/save", json={"asZip": False})
    assert plain.status_code == 200 and len(plain.content) == doc["sizeBytes"] == int(plain.headers["Content-Length"])
    zipped = sim.post(7, f"{path}/Documents/{doc['id']}/save", json={"asZip": True})
    assert zipfile.ZipFile(io.BytesIO(zipped.content)).read(doc["name"]) == plain.content


def test_a_folder_saves_with_its_documents_inside_its_path(sim: SimClient) -> None:
    prefix = sim.browse(8, "Veod")
    path, _ = _drive_path(sim, 8, prefix)
    folder, docs = _small_folder(sim, 8, path)
    r = sim.post(8, f"{path}/Folders/{folder['id']}/save")
    names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    assert sorted(n.rsplit("/", 1)[-1] for n in names) == sorted(d["name"] for d in docs)
    assert all(n.split("/")[-2] == folder["name"] for n in names)
