"""The lazy history (history.py) and its paging arithmetic in state.py, checked against brute force."""

from __future__ import annotations

import itertools

import pytest

from tests.vb365_sim.conftest import SimClient
from vb365_sim import serve_in_thread
from vb365_sim.history import WORKING_COUNT, History
from vb365_sim.state import US, Principal, SessionQuery, SimConfig, State

ADMIN = Principal("admin", "admin")


def test_session_ids_invert_to_their_index() -> None:
    h = History(seed=5, count=1_000_000, anchor_us=1_700_000_000 * US, org_slots=(0, 1, 2))

    for i in (0, 1, 3, 4, 999, 123_456, 999_999):
        assert h.index_of(h.session_id(i)) == i
    assert h.index_of(h.session_id(1_000_000)) is None  # beyond the history
    assert History(seed=6, count=10, anchor_us=0, org_slots=(0,)).index_of(h.session_id(1)) is None
    assert len({h.session_id(i) for i in range(5000)}) == 5000


def test_times_are_strictly_monotonic_and_deterministic() -> None:
    h = History(seed=1, count=5000, anchor_us=1_700_000_000 * US, org_slots=(0, 1, 2))
    h2 = History(seed=1, count=5000, anchor_us=1_700_000_000 * US, org_slots=(0, 1, 2))

    creation = [h.creation_us(i) for i in range(5000)]
    ends = [h.end_us(i) for i in range(WORKING_COUNT, 5000)]
    assert all(a > b for a, b in itertools.pairwise(creation))
    assert all(a > b for a, b in itertools.pairwise(ends))  # type: ignore[operator]
    assert all(h.end_us(i) is None for i in range(WORKING_COUNT))
    assert [h.item(i) for i in range(0, 5000, 97)] == [h2.item(i) for i in range(0, 5000, 97)]


def _brute(state: State, principal: Principal, q: SessionQuery) -> list[str]:
    everything = state.list_sessions(ADMIN, SessionQuery(limit=10_000)).records
    rows = [r for r in everything if state._visible(r, principal)]
    from vb365_sim.state import _matches

    rows = [r for r in rows if _matches(r, q)]
    if q.order_by == "EndTime":
        rows.sort(key=lambda r: (r.end_us is not None, r.end_us or 0, r.creation_us), reverse=not q.order_asc)
    else:
        rows.sort(key=lambda r: r.creation_us, reverse=not q.order_asc)
    return [r.id for r in rows[q.offset : q.offset + q.limit]]


@pytest.mark.parametrize("order_by", ["CreationTime", "EndTime"])
@pytest.mark.parametrize("order_asc", [False, True])
@pytest.mark.parametrize("who", ["admin", "tenant"])
def test_lazy_paging_with_overrides_matches_brute_force(order_by: str, order_asc: bool, who: str) -> None:
    state = State(SimConfig(seed=3, sessions=300))
    org = state.organizations[0]
    principal = ADMIN if who == "admin" else Principal("tenant", "t", organization_id=org.id)
    # Overrides and created sessions interleave with the lazy history.
    for i in (0, 2, 10, 11, 57, 200, 299):
        sid = state.history.session_id(i)
        if state.get_session(sid, ADMIN).state == "Working":
            state.stop_session(sid, ADMIN)
    state._overrides.update({i: state._from_history(state.history.item(i)) for i in (33, 34, 150)})
    for _ in range(3):
        state.start_session(principal=ADMIN, org=org, session_type="Vex", point_in_time_us=None,
                            show_deleted=False, show_all_versions=False, client_host="x")
    mid = state.history.creation_us(120)
    end_mid = state.history.end_us(90)

    queries = [SessionQuery(offset=o, limit=lim, order_by=order_by, order_asc=order_asc)
               for o, lim in ((0, 7), (5, 40), (95, 30), (290, 50))]
    queries += [SessionQuery(limit=500, start_from=mid, order_by=order_by, order_asc=order_asc),
                SessionQuery(offset=3, limit=20, end_to=end_mid, order_by=order_by, order_asc=order_asc)]
    for q in queries:
        got = [r.id for r in state.list_sessions(principal, q).records]
        assert got == _brute(state, principal, q), q


def test_million_session_history_pages_deep_and_filters_by_window() -> None:
    # How fast it starts and pages is benchmark 3's figure (bench/bench_history.py), not a timed test.
    with serve_in_thread(sessions=1_000_000) as base:
        sim = SimClient(base)
        last = sim.get(8, "/RestoreSessions", params={"offset": 999_990, "limit": 30}).json()
        big = sim.get(8, "/RestoreSessions", params={"offset": 500_000, "limit": 10_000}).json()
        deep = big["results"][-1]
        by_id = sim.get(8, f"/RestoreSessions/{deep['id']}").json()
        window = sim.get(8, "/RestoreSessions", params={"startTimeFrom": big["results"][-1]["creationTime"],
                                                       "startTimeTo": big["results"][0]["creationTime"],
                                                       "limit": 1}).json()

    assert len(last["results"]) == 10 and "next" not in last["_links"]
    assert len(big["results"]) == 10_000
    events_link = by_id["_links"]["restoreSessionEvents"]
    assert by_id == {**deep, "_links": {**deep["_links"], "restoreSessionEvents": events_link}}
    # Counting a filtered window is arithmetic: its "next" link exists only if > 1 result.
    assert window["results"][0]["id"] == big["results"][0]["id"]
    assert window["_links"]["next"]["href"].endswith("offset=1&limit=1")
