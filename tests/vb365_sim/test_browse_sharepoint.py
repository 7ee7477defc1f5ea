"""SharePoint browse paths in every version family (BROWSE-RESTORE.md §1.4, §4.3)."""

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


@pytest.mark.parametrize("version", FAMILIES)
def test_sites_root_subsites_and_all(sim: SimClient, version: int) -> None:
    prefix = sim.browse(version, "Vesp")
    path = f"{prefix}/Organization/Sites"

    tops = _ok(sim.get(version, path, params={"parentId": _top(version)}))["results"]
    everything = _ok(sim.get(version, path))["results"]
    subsites = [s for top in tops for s in _ok(sim.get(version, path, params={"parentId": top["id"]}))["results"]]

    assert subsites, "some top-level site has subsites"
    assert {s["id"] for s in everything} == {s["id"] for s in tops + subsites}
    assert all(any(s["url"].startswith(t["url"] + "/") for t in tops) for s in subsites)


@pytest.mark.parametrize("version", FAMILIES)
def test_libraries_lists_folders_and_documents(sim: SimClient, version: int) -> None:
    prefix = sim.browse(version, "Vesp")
    site = _ok(sim.get(version, f"{prefix}/Organization/Sites", params={"parentId": _top(version)}))["results"][0]
    base = f"{prefix}/Organization/Sites/{site['id']}"

    libraries = _ok(sim.get(version, f"{base}/Libraries"))["results"]
    lists = _ok(sim.get(version, f"{base}/Lists"))["results"]
    documents = next(lib for lib in libraries if lib["name"] == "Documents")
    folders = _ok(sim.get(version, f"{base}/Folders", params={"parentId": documents["id"]}))["results"]
    in_folder = _ok(sim.get(version, f"{base}/Documents", params={"parentId": folders[0]["id"]}))["results"]
    one = _ok(sim.follow(version, in_folder[0]["_links"]["self"]["href"]))

    assert {"Documents", "Site Assets", "Site Pages"} <= {lib["name"] for lib in libraries}
    assert lists and all(lst["url"].startswith(site["url"] + "/Lists/") for lst in lists)
    assert all(f["type"] == "LibraryFolder" for f in folders)
    assert one == in_folder[0] and one["sizeBytes"] > 0
    assert ("siteId" in one) == (version >= 8) and ("siteId" in documents) == (version >= 8)


@pytest.mark.parametrize("version", [5, 7, 8])
def test_list_items_have_titles_versions_and_attachments(sim: SimClient, version: int) -> None:
    prefix = sim.browse(version, "Vesp", showAllVersions=True)
    site = _ok(sim.get(version, f"{prefix}/Organization/Sites", params={"parentId": _top(version)}))["results"][0]
    base = f"{prefix}/Organization/Sites/{site['id']}"

    items = _ok(sim.get(version, f"{base}/Items", params={"parentId": _top(version), "limit": 200}))["results"]
    with_attachments = []
    for item in items:
        found = _ok(sim.follow(version, item["_links"]["attachments"]["href"]))["results"]
        if found:
            with_attachments.append((item, found))
    item, attachments = with_attachments[0]
    one = _ok(sim.follow(version, attachments[0]["_links"]["self"]["href"]))
    edited = next(i for i in items if i["versionId"] > 512)
    versions = _ok(sim.follow(version, edited["_links"]["versions"]["href"]))["results"]

    assert all(i["title"] and i["name"].endswith("_.000") for i in items)
    assert one == attachments[0] and one["sizeBytes"] > 0
    assert ("itemId" in one) == (version >= 8)
    assert len(versions) == edited["versionId"] // 512 - 1


@pytest.mark.parametrize("version", [6, 7])
def test_whole_site_listings_are_paged_with_a_total(sim: SimClient, version: int) -> None:
    prefix = sim.browse(version, "Vesp")
    site = _ok(sim.get(version, f"{prefix}/Organization/Sites", params={"parentId": "root"}))["results"][0]

    page = _ok(sim.get(version, f"{prefix}/Organization/Sites/{site['id']}/Documents", params={"limit": 5}))

    assert page["totalCount"] > 5 and len(page["results"]) == 5 and "next" in page["_links"]


@pytest.mark.parametrize("version", [6, 8])
def test_search_a_library(sim: SimClient, version: int) -> None:
    prefix = sim.browse(version, "Vesp")
    site = _ok(sim.get(version, f"{prefix}/Organization/Sites", params={"parentId": "root"}))["results"][0]
    base = f"{prefix}/Organization/Sites/{site['id']}"
    library = _ok(sim.get(version, f"{base}/Libraries"))["results"][0]

    page = _ok(sim.post(version, f"{base}/Libraries/{library['id']}/search", params={"itemType": "Documents"},
                        json={"query": "report"}))

    assert page["setId"] and all("report" in d["name"].lower() for d in page["results"])
