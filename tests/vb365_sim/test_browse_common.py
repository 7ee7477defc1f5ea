"""What every browse path shares: live sessions only, the session's own organization and workload, the point
in time, faults, cost per item, content sizes, versions without browse, and no stray nulls."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tests.vb365_sim.conftest import SimClient
from tests.vb365_sim.test_nullability import assert_no_stray_null
from vb365_sim import SimClock, serve_in_thread

# One browse path per workload, each a "first level" listing.
TOP_LEVEL = {"Vex": "/organization/mailboxes", "Veod": "/Organization/OneDrives", "Vesp": "/Organization/Sites",
             "Vet": "/organization/teams"}


def _ok(r: Any) -> Any:
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("version", [5, 6, 7, 8])
def test_a_stopped_session_answers_404_on_every_browse_path(sim: SimClient, version: int) -> None:
    prefix = sim.browse(version, "Vex")
    box = _ok(sim.get(version, f"{prefix}/organization/mailboxes", params={"limit": 1}))["results"][0]
    folders = _ok(sim.follow(version, box["_links"]["folders"]["href"]))["results"]
    items = _ok(sim.follow(version, folders[0]["_links"]["items"]["href"], params={"limit": 1}))["results"]
    hrefs = [box["_links"]["self"]["href"], box["_links"]["folders"]["href"], folders[0]["_links"]["self"]["href"],
             folders[0]["_links"]["items"]["href"], items[0]["_links"]["self"]["href"]]

    sim.stop(version, prefix.rsplit("/", 1)[1])
    answers = [sim.follow(version, h) for h in hrefs] + [sim.get(version, f"{prefix}/organization")]
    if version >= 6:
        answers.append(sim.post(version, f"{prefix}/organization/mailboxes/search", json={"query": "x"}))

    assert {r.status_code for r in answers} == {404}
    if version == 8:
        assert {r.json()["errorCode"] for r in answers} == {"ResourceNotFound"}


@pytest.mark.parametrize("session_type", sorted(TOP_LEVEL))
def test_a_session_browses_its_own_workload_only(sim: SimClient, session_type: str) -> None:
    prefix = sim.browse(8, session_type)

    answers = {t: sim.get(8, prefix + path).status_code for t, path in TOP_LEVEL.items()}

    assert answers == {t: 200 if t == session_type else 404 for t in TOP_LEVEL}


def test_the_backup_organization_carries_the_point_in_time(sim: SimClient) -> None:
    prefix = sim.browse(8, "Vet")

    org = _ok(sim.get(8, f"{prefix}/organization"))

    assert org["id"] == sim.tenant_org()["id"] and org["type"] == "Office365"
    assert org["name"].startswith("contoso.onmicrosoft.com (") and org["name"].endswith("M)")
    assert org["_links"]["teams"]["href"].endswith("/organization/teams")


def test_a_tenant_browses_its_own_organization_and_nothing_else(sim: SimClient) -> None:
    own = sim.explore(8, None, who="tenant", type="Vex").json()["id"]
    foreign = sim.browse(8, "Vex", org_id=sim.other_org()["id"])
    foreign_box = _ok(sim.get(8, f"{foreign}/organization/mailboxes", params={"limit": 1}))["results"][0]

    mine = _ok(sim.get(8, f"/RestoreSessions/{own}/organization/mailboxes", who="tenant"))
    theirs = sim.get(8, f"{foreign}/organization/mailboxes", who="tenant")
    smuggled = sim.get(8, f"/RestoreSessions/{own}/organization/mailboxes/{foreign_box['id']}", who="tenant")

    assert all(b["email"].endswith("@contoso.onmicrosoft.com") for b in mine["results"])
    assert theirs.status_code == 404 and smuggled.status_code == 404


def test_the_point_in_time_decides_what_exists(sim: SimClient) -> None:
    org = sim.tenant_org()
    early_date = org["first_backup"]
    early = sim.browse(7, "Vex", dateTime=early_date)
    late = sim.browse(7, "Vex")

    early_boxes = _ok(sim.get(7, f"{early}/organization/mailboxes"))
    late_boxes = _ok(sim.get(7, f"{late}/organization/mailboxes"))
    late_box = late_boxes["results"][0]
    inbox_late = _ok(sim.follow(7, late_box["_links"]["folders"]["href"]))["results"][0]
    newest = _ok(sim.follow(7, inbox_late["_links"]["items"]["href"], params={"offset": 1499}))["results"][0]
    early_inbox = next(f for f in _ok(sim.get(7, f"{early}/organization/mailboxes/{late_box['id']}/folders",
                                              params={"parentId": "root"}))["results"] if f["category"] == "Inbox")
    early_items = _ok(sim.follow(7, early_inbox["_links"]["items"]["href"], params={"limit": 1}))

    assert early_boxes["totalCount"] < late_boxes["totalCount"]
    assert early_items["totalCount"] < 1500
    assert sim.get(7, f"{early}/organization/mailboxes/{late_box['id']}/items/{newest['id']}").status_code == 404
    assert sim.get(7, f"{late}/organization/mailboxes/{late_box['id']}/items/{newest['id']}").status_code == 200


def test_a_session_without_backup_data_lists_nothing(sim: SimClient) -> None:
    prefix = sim.browse(8, "Vex", org_id=sim.empty_org()["id"])

    assert _ok(sim.get(8, f"{prefix}/organization/mailboxes"))["results"] == []


def test_fault_rules_apply_to_browse_paths(sim: SimClient) -> None:
    prefix = sim.browse(8, "Vex")
    box = _ok(sim.get(8, f"{prefix}/organization/mailboxes", params={"limit": 1}))["results"][0]
    requests.post(f"{sim.base}/_sim/faults", json={"status": 503, "path": "/folders$"}, timeout=10)

    faulted = sim.follow(8, box["_links"]["allfolders"]["href"])
    fine = sim.follow(8, box["_links"]["self"]["href"])

    assert faulted.status_code == 503 and set(faulted.json()) == {"message", "errorCode", "stackTrace"}
    assert fine.status_code == 200
    stats = requests.get(f"{sim.base}/_sim/stats", timeout=10).json()["requests"]
    assert stats["GET /v8/RestoreSessions/{restoreSessionId}/organization/mailboxes/{mailboxId}/folders"] == 1


def test_big_pages_cost_time_per_item() -> None:
    with serve_in_thread(seed=3, sessions=10, browse_item_latency_us=3000, clock=SimClock.frozen()) as base:
        sim = SimClient(base)
        prefix = sim.browse(8, "Vex")
        box = _ok(sim.get(8, f"{prefix}/organization/mailboxes", params={"limit": 1}))["results"][0]
        folders = _ok(sim.follow(8, box["_links"]["folders"]["href"]))["results"]
        items = folders[0]["_links"]["items"]["href"]

        started = time.perf_counter()
        _ok(sim.follow(8, items, params={"limit": 1}))
        small = time.perf_counter() - started
        started = time.perf_counter()
        _ok(sim.follow(8, items, params={"limit": 200}))
        big = time.perf_counter() - started

    assert big >= 0.6 > small  # 200 items x 3 ms


def test_content_size_scales_the_tenants() -> None:
    counts = {}
    for size in ("small", "medium"):
        with serve_in_thread(seed=1, sessions=10, content=size, clock=SimClock.frozen()) as base:
            sim = SimClient(base)
            prefix = sim.browse(7, "Vex")
            counts[size] = _ok(sim.get(7, f"{prefix}/organization/mailboxes", params={"limit": 1}))["totalCount"]

    assert counts["small"] < 20 < 300 < counts["medium"]


def test_v1_browses_exchange_only_and_teams_start_in_v5(sim: SimClient) -> None:
    v1 = sim.browse(1, "Vex")
    v4_teams = sim.get(4, f"{sim.browse(4, 'Vex')}/organization/teams")
    v1_drives = sim.get(1, f"{v1}/Organization/OneDrives")

    boxes = _ok(sim.get(1, f"{v1}/Organization/Mailboxes"))
    folders = _ok(sim.follow(1, boxes["results"][0]["_links"]["folders"]["href"]))

    assert folders["results"] and boxes["results"][0]["_links"]["self"]["href"].startswith(sim.base)
    assert v1_drives.status_code == 404 and v4_teams.status_code == 404
    assert "No HTTP resource" in v4_teams.json()["message"]


@pytest.mark.parametrize("version", [6, 7, 8])
def test_browse_answers_have_no_stray_null(sim: SimClient, version: int) -> None:
    payloads = []
    for session_type, path in TOP_LEVEL.items():
        prefix = sim.browse(version, session_type, showDeleted=True, showAllVersions=True)
        top = _ok(sim.get(version, prefix + path, params={"limit": 2}))
        payloads.append(top)
        first = top["results"][0]["_links"]
        for name in ("folders", "documents", "libraries", "lists", "channels", "posts", "files"):
            if name in first:
                payloads.append(_ok(sim.follow(version, first[name]["href"], params={"limit": 20})))
    payloads.append(_ok(sim.post(version, f"{sim.browse(version, 'Vex')}/organization/mailboxes/search",
                                 params={"limit": 5}, json={"query": "invoice"})))

    for payload in payloads:
        # Reference: vb365_rest_v8.json -- versionId (documents) and parentId (posts) are nullable.
        assert_no_stray_null(payload, {"versionId", "parentId"})
