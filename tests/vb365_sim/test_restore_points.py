"""GET /vN/RestorePoints (v6+): array in v6, page from v7, filters (CONTRACT.md §4.3)."""

from __future__ import annotations

import pytest

from tests.vb365_sim.conftest import SimClient


def test_v6_restore_points_are_a_plain_array_newest_first(sim: SimClient) -> None:
    org = sim.tenant_org()

    r = sim.get(6, "/RestorePoints", params={"organizationId": org["id"]})

    points = r.json()
    assert r.status_code == 200 and isinstance(points, list)
    assert len(points) > 150  # daily points over months
    assert all(isinstance(p["id"], str) for p in points)
    times = [p["backupTime"] for p in points]
    assert times == sorted(times, reverse=True)
    assert times[0].startswith(org["last_backup"][:19])
    assert times[-1].startswith(org["first_backup"][:19])
    assert {p["organizationId"] for p in points} == {org["id"]}
    assert "isCopy" not in points[0] and points[0]["_links"]["self"]["href"] == f"/v6/RestorePoints/{points[0]['id']}"


def test_v6_backup_time_filter_returns_points_after_it(sim: SimClient) -> None:
    org = sim.tenant_org()
    all_points = sim.get(6, "/RestorePoints", params={"organizationId": org["id"]}).json()
    cutoff = all_points[5]["backupTime"]

    r = sim.get(6, "/RestorePoints", params={"organizationId": org["id"], "backupTime": cutoff})

    assert [p["id"] for p in r.json()] == [p["id"] for p in all_points[:5]]


@pytest.mark.parametrize("version", [7, 8])
def test_restore_points_are_paged_from_v7(sim: SimClient, version: int) -> None:
    org = sim.other_org()

    body = sim.get(version, "/RestorePoints", params={"organizationId": org["id"], "limit": 3, "offset": 2}).json()

    assert {"offset", "limit", "results", "_links"} <= set(body)
    assert (body["offset"], body["limit"], len(body["results"])) == (2, 3, 3)
    assert body["results"][0]["isCopy"] is False
    assert ("eTag" in body["results"][0]) == (version == 8)
    assert body["_links"]["next"]["href"].startswith(f"/v{version}/RestorePoints?organizationId=")


def test_v7_from_to_and_order_asc(sim: SimClient) -> None:
    org = sim.tenant_org()
    newest = sim.get(7, "/RestorePoints", params={"organizationId": org["id"], "limit": 10}).json()["results"]

    r = sim.get(7, "/RestorePoints", params={"organizationId": org["id"], "from": newest[4]["backupTime"],
                                            "to": newest[1]["backupTime"], "orderAsc": "true"})

    assert [p["id"] for p in r.json()["results"]] == [p["id"] for p in reversed(newest[1:5])]


def test_restore_point_by_id_and_unknown_id(sim: SimClient) -> None:
    point = sim.get(8, "/RestorePoints", params={"limit": 1}).json()["results"][0]

    ok = sim.get(8, f"/RestorePoints/{point['id']}")
    missing = sim.get(8, "/RestorePoints/999999999")

    assert ok.status_code == 200 and ok.json() == point
    assert missing.status_code == 404 and missing.json()["errorCode"] == "ResourceNotFound"


def test_never_backed_up_organization_has_no_restore_points(sim: SimClient) -> None:
    assert sim.get(6, "/RestorePoints", params={"organizationId": sim.empty_org()["id"]}).json() == []


def test_tenant_sees_only_its_organization_points(sim: SimClient) -> None:
    points = sim.get(6, "/RestorePoints", who="tenant").json()

    assert points and {p["organizationId"] for p in points} == {sim.tenant_org()["id"]}


@pytest.mark.parametrize("version", [1, 5])
def test_restore_points_are_not_served_before_v6(sim: SimClient, version: int) -> None:
    assert sim.get(version, "/RestorePoints").status_code == 404
