"""SharePoint restores and saves of library documents and folders (BROWSE-RESTORE.md §2.5, §2.8)."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest

from tests.vb365_sim.conftest import SimClient
from tests.vb365_sim.restore_support import creds, ok, v8_done

MB = 1024 * 1024


def _small_folder(sim: SimClient, version: int, prefix: str) -> tuple[str, dict[str, Any], list[Any]]:
    """(site path, folder, its documents): a library folder without subfolders and under 128 MB."""
    for site in ok(sim.get(version, f"{prefix}/Organization/Sites"))["results"]:
        base = f"{prefix}/Organization/Sites/{site['id']}"
        for folder in ok(sim.get(version, f"{base}/Folders", params={"limit": 1000}))["results"]:
            if folder["type"] != "LibraryFolder":
                continue
            subfolders = ok(sim.get(version, f"{base}/Folders", params={"parentId": folder["id"]}))["results"]
            docs = ok(sim.get(version, f"{base}/Documents",
                              params={"parentId": folder["id"], "limit": 1000}))["results"]
            if not subfolders and docs and sum(d["sizeBytes"] for d in docs) < 128 * MB:
                return base, folder, docs
    raise AssertionError("no small folder")


@pytest.mark.parametrize("version", [5, 6, 7])
def test_restoring_documents_answers_item_statistics(sim: SimClient, version: int) -> None:
    prefix = sim.browse(version, "Vesp")
    base, _, docs = _small_folder(sim, version, prefix)
    body = {"documents": [{"id": d["id"]} for d in docs], "list": "Documents", "restorePermissions": True,
            **creds(sim)}
    if version <= 5:
        r = sim.post(version, f"{base}/Documents/Action", json={"restoreTo": body})
    else:
        r = sim.post(version, f"{base}/Documents/restore", json=body)
    stats = ok(r)
    assert stats["totalItemsCount"] == len(docs)
    assert stats["restoredItemsCount"] + stats["failedItemsCount"] + stats["skippedItemsByNoChangesCount"] == len(docs)


def test_v8_folder_restore_reports_sharepoint_items(sim: SimClient) -> None:
    prefix = sim.browse(8, "Vesp")
    base, folder, docs = _small_folder(sim, 8, prefix)
    session_id = ok(sim.post(8, f"{base}/Folders/{folder['id']}/restore", json={"restorePermissions": True,
                                                                                 **creds(sim)}))["sessionId"]
    done = v8_done(sim, session_id)
    assert done["totalItemsCount"] == len(docs)
    assert {i["itemType"] for i in done["items"]} == {"SharePointItem"}


@pytest.mark.parametrize("version", [6, 8])
def test_saving_a_folder_answers_a_zip_of_its_documents(sim: SimClient, version: int) -> None:
    prefix = sim.browse(version, "Vesp")
    base, folder, docs = _small_folder(sim, version, prefix)
    r = sim.post(version, f"{base}/Folders/save", json={"folders": [{"id": folder["id"]}]})
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    assert archive.testzip() is None
    assert sorted((i.filename.rsplit("/", 1)[-1], i.file_size) for i in archive.infolist()) == \
        sorted((d["name"], d["sizeBytes"]) for d in docs)


def test_one_document_saves_as_itself_or_zipped(sim: SimClient) -> None:
    prefix = sim.browse(7, "Vesp")
    base, _, docs = _small_folder(sim, 7, prefix)
    plain = sim.post(7, f"{base}/Documents/{docs[0]['id']}/save", json={"asZip": False})
    assert plain.status_code == 200 and len(plain.content) == docs[0]["sizeBytes"]
    zipped = sim.post(7, f"{base}/Documents/save", json={"documents": [{"id": docs[0]["id"]}]})
    archive = zipfile.ZipFile(io.BytesIO(zipped.content))
    [name] = archive.namelist()
    assert name.endswith("/" + docs[0]["name"]) and archive.read(name) == plain.content


def test_a_document_of_another_site_is_not_found(sim: SimClient) -> None:
    prefix = sim.browse(7, "Vesp")
    sites = ok(sim.get(7, f"{prefix}/Organization/Sites", params={"parentId": "root"}))["results"]
    base, _, docs = _small_folder(sim, 7, prefix)
    other = next(f"{prefix}/Organization/Sites/{s['id']}" for s in sites if not base.endswith(s["id"]))
    r = sim.post(7, f"{other}/Documents/restore", json={"documents": [{"id": docs[0]["id"]}], **creds(sim)})
    assert r.status_code == 404 and r.json()["message"].startswith("Document with ID")
