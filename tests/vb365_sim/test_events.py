"""Restore session events (CONTRACT.md §7): paged from v2, item fields from v6, object ids in v8."""

from __future__ import annotations

import pytest

from tests.vb365_sim.conftest import SimClient
from vb365_sim import SimClock

V2_FIELDS = {"id", "type", "status", "startTime", "duration", "title", "message", "order", "_links"}
ITEM_FIELDS = {"itemName", "itemType", "itemSizeBytes", "source", "target"}
V8_IDS = {"organizationId", "backedUpOrganizationId", "userId", "groupId", "siteId", "teamId"}


def _stopped_with_items(sim: SimClient, version: int) -> tuple[str, list[dict]]:
    for s in sim.all_sessions(8):
        if s["state"] != "Stopped":
            continue
        events = sim.get(version, f"/RestoreSessions/{s['id']}/Events").json()["results"]
        if len(events) > 3:
            return s["id"], events
    raise AssertionError("no stopped history session with item events")


def test_v1_has_no_events_endpoint(sim: SimClient) -> None:
    sid = sim.all_sessions(8)[0]["id"]

    assert sim.get(1, f"/RestoreSessions/{sid}/Events").status_code == 404


@pytest.mark.parametrize(("version", "fields"), [(2, V2_FIELDS), (5, V2_FIELDS), (6, V2_FIELDS), (7, V2_FIELDS),
                                                (8, V2_FIELDS | V8_IDS)])
def test_event_fields_per_version(sim: SimClient, version: int, fields: set[str]) -> None:
    sid, events = _stopped_with_items(sim, version)
    item_fields = ITEM_FIELDS if version >= 6 else set()

    # The session's own events carry no item; a View has no target (never null: vb365_rest_v6.json).
    assert set(events[0]) - {"endTime"} == set(events[-1]) - {"endTime"} == fields
    assert all(set(e) - {"endTime"} == fields | item_fields - ({"target"} if e["type"] == "View" else set())
               for e in events[1:-1])
    assert [e["order"] for e in events] == list(range(len(events)))
    assert events[0]["title"] == "Restore session started" and events[0]["type"] == "None"
    assert events[-1]["title"] == "Restore session stopped"
    items = events[1:-1]
    assert all(e["type"] in {"View", "Restore", "Export", "Save", "Send"} for e in items)
    assert all(e["status"] in {"Success", "Warning"} for e in items)
    if version >= 6:
        assert all(e["itemName"] and e["itemType"] and e["itemSizeBytes"] > 0 and e["source"] for e in items)
    if version == 8:
        assert {e["organizationId"] for e in events} == {_org_id(sim, sid)}
    link = events[0]["_links"]["restoreSession"]["href"]
    assert link.endswith(f"/v{version}/RestoreSessions/{sid}") or link.endswith(f"/v{version}/restoresessions/{sid}")


def _org_id(sim: SimClient, sid: str) -> str:
    name = sim.get(8, f"/RestoreSessions/{sid}").json()["organization"]
    return next(o["id"] for o in sim.orgs if o["name"] == name)


def test_events_are_paged_and_fetchable_by_id(sim: SimClient) -> None:
    sid, events = _stopped_with_items(sim, 6)

    page = sim.get(6, f"/RestoreSessions/{sid}/Events", params={"offset": 1, "limit": 2}).json()
    one = sim.get(6, f"/RestoreSessions/{sid}/Events/{events[2]['id']}")
    missing = sim.get(6, f"/RestoreSessions/{sid}/Events/00000000-0000-4000-8000-000000000000")

    assert page["results"] == events[1:3]
    assert page["_links"]["self"]["href"] == f"/v6/RestoreSessions/{sid}/Events?offset=1&limit=2"
    assert one.status_code == 200 and one.json() == events[2]
    assert missing.status_code == 404


def test_events_of_a_hidden_session_are_404(sim: SimClient) -> None:
    other = next(s for s in sim.all_sessions(6) if s["organization"] != sim.tenant_org()["name"])

    assert sim.get(6, f"/RestoreSessions/{other['id']}/Events", who="tenant").status_code == 404


def test_live_session_gathers_events_over_time_then_stops(fresh_sim: SimClient, sim_clock: SimClock) -> None:
    # fresh_sim emits an item event every 0.2 s of its clock, which stands still until advanced.
    sid = fresh_sim.explore(8, fresh_sim.tenant_org()["id"], dateTime="2030-01-01T00:00:00Z").json()["id"]
    early = fresh_sim.get(8, f"/RestoreSessions/{sid}/Events").json()["results"]

    sim_clock.advance(0.9)
    later = fresh_sim.get(8, f"/RestoreSessions/{sid}/Events").json()["results"]
    fresh_sim.stop(8, sid)
    final = fresh_sim.get(8, f"/RestoreSessions/{sid}/Events").json()["results"]
    sim_clock.advance(60)
    after = fresh_sim.get(8, f"/RestoreSessions/{sid}/Events").json()["results"]

    assert [e["title"] for e in early] == ["Restore session started"]
    assert len(later) == 5  # started + one item event per 0.2 s in 0.9 s
    assert later[0] == early[0]
    assert final[-1]["title"] == "Restore session stopped"
    assert [e["id"] for e in final[:-1]] == [e["id"] for e in later]
    assert after == final
    assert all(e["status"] != "Running" for e in final)


def test_the_control_plane_clock_moves_live_sessions_forward(sim: SimClient) -> None:
    sid = sim.explore(8, sim.tenant_org()["id"], dateTime="2030-01-01T00:00:00Z").json()["id"]
    first = sim.get(8, f"/RestoreSessions/{sid}/Events").json()["results"]

    sim.advance_clock(60)  # sim: an item event every 5 s
    later = sim.get(8, f"/RestoreSessions/{sid}/Events").json()["results"]

    assert len(first) <= 2
    assert len(later) >= 12
