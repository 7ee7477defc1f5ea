"""Stopping restore sessions (CONTRACT.md §8): Action/stop → 200 (v1-v5), /Stop → 200 (v6, v7) / 204 (v8)."""

from __future__ import annotations

import pytest

from tests.vb365_sim.conftest import VERSIONS, SimClient

STOP_STATUS = {1: 200, 2: 200, 3: 200, 4: 200, 5: 200, 6: 200, 7: 200, 8: 204}


@pytest.mark.parametrize("version", VERSIONS)
def test_stop_sets_stopped_and_end_time(sim: SimClient, version: int) -> None:
    sid = sim.explore(version, sim.tenant_org()["id"], datetime="2030.01.01 00:00:00").json()["id"]

    r = sim.stop(version, sid)
    after = sim.get(version, f"/RestoreSessions/{sid}").json()

    assert r.status_code == STOP_STATUS[version]
    assert r.content == b""
    assert after["state"] == "Stopped"
    assert after["endTime"] >= after["creationTime"]


@pytest.mark.parametrize("version", [1, 5, 7, 8])
def test_stopping_a_stopped_session_is_a_clear_error(sim: SimClient, version: int) -> None:
    sid = sim.explore(version, sim.tenant_org()["id"], datetime="2030.01.01 00:00:00").json()["id"]
    sim.stop(version, sid)

    r = sim.stop(version, sid)

    assert r.status_code == 409
    assert "already stopped" in r.json()["message"]
    if version == 8:
        assert r.json()["errorCode"] == "OperationConflict"


def test_stopping_a_working_history_session_is_reflected_everywhere(fresh_sim: SimClient) -> None:
    working = next(s for s in fresh_sim.all_sessions(8) if s["state"] == "Working" and s["initiatedBy"])
    before_total = len(fresh_sim.all_sessions(8))

    r = fresh_sim.stop(8, working["id"])
    listed = next(s for s in fresh_sim.all_sessions(8) if s["id"] == working["id"])

    assert r.status_code == 204
    assert listed["state"] == "Stopped" and "endTime" in listed
    assert listed["eTag"] == working["eTag"] + 1
    assert len(fresh_sim.all_sessions(8)) == before_total
    by_end = fresh_sim.all_sessions(8, orderBy="EndTime")
    assert by_end[0]["id"] == working["id"]  # it ended most recently


def test_action_without_stop_is_400(sim: SimClient) -> None:
    sid = sim.explore(3, sim.tenant_org()["id"], datetime="2030.01.01 00:00:00").json()["id"]

    r = sim.post(3, f"/RestoreSessions/{sid}/Action", json={"start": None})

    assert r.status_code == 400
    assert sim.get(3, f"/RestoreSessions/{sid}").json()["state"] == "Working"


@pytest.mark.parametrize(("version", "suffix"), [(5, "Stop"), (6, "Action"), (1, "Stop")])
def test_stop_paths_belong_to_their_versions(sim: SimClient, version: int, suffix: str) -> None:
    sid = sim.all_sessions(8)[0]["id"]

    r = sim.post(version, f"/RestoreSessions/{sid}/{suffix}", json={"stop": None})

    assert r.status_code == 404


def test_stop_unknown_session_is_404(sim: SimClient) -> None:
    assert sim.stop(8, "00000000-0000-4000-8000-000000000000").status_code == 404


def test_tenant_can_stop_only_its_organization_sessions(sim: SimClient) -> None:
    mine = sim.explore(6, None, who="tenant", dateTime="2030-01-01T00:00:00Z").json()["id"]
    foreign = sim.explore(6, sim.other_org()["id"], dateTime="2030-01-01T00:00:00Z").json()["id"]

    assert sim.stop(6, foreign, who="tenant").status_code == 404
    assert sim.stop(6, mine, who="tenant").status_code == 200
    assert sim.get(6, f"/RestoreSessions/{foreign}").json()["state"] == "Working"
