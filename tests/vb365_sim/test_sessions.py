"""GET /vN/RestoreSessions and /{id}: wrappers, paging, filters, ordering, fields, visibility (CONTRACT.md §6)."""

from __future__ import annotations

import pytest

from tests.vb365_sim.conftest import VERSIONS, SimClient

BASE_FIELDS = {"id", "type", "creationTime", "state", "result", "_links"}
V2_FIELDS = BASE_FIELDS | {"name", "organization", "initiatedBy"}
V6_FIELDS = V2_FIELDS | {"details", "scopeName", "clientHost"}
FIELDS = {1: BASE_FIELDS | {"pointInTime"}, 2: V2_FIELDS, 3: V2_FIELDS, 4: V2_FIELDS, 5: V2_FIELDS,
          6: V6_FIELDS, 7: V6_FIELDS, 8: V6_FIELDS | {"eTag"}}


def test_v1_list_is_a_plain_array(sim: SimClient) -> None:
    r = sim.get(1, "/RestoreSessions")

    assert r.status_code == 200
    assert isinstance(r.json(), list)
    assert len(r.json()) >= 200


@pytest.mark.parametrize("version", [2, 3, 4, 5, 6, 7, 8])
def test_list_is_a_page_from_v2_with_default_limit_30(sim: SimClient, version: int) -> None:
    body = sim.get(version, "/RestoreSessions").json()

    assert {"offset", "limit", "results", "_links"} <= set(body)
    assert (body["offset"], body["limit"], len(body["results"])) == (0, 30, 30)
    assert set(body["_links"]) == {"first", "next", "self"}
    assert "totalCount" not in body


@pytest.mark.parametrize(("version", "expected"), [(2, "{base}/v2/restoresessions?offset=30&limit=10"),
                                                   (5, "{base}/v5/restoresessions?offset=30&limit=10"),
                                                   (6, "/v6/RestoreSessions?offset=30&limit=10"),
                                                   (8, "/v8/RestoreSessions?offset=30&limit=10")])
def test_page_links_are_absolute_lowercase_until_v5_then_relative(sim: SimClient, version: int, expected: str) -> None:
    body = sim.get(version, "/RestoreSessions", params={"offset": 20, "limit": 10}).json()

    assert body["_links"]["next"]["href"] == expected.format(base=sim.base)
    assert body["_links"]["prev"]["href"].endswith("?offset=10&limit=10")
    assert body["_links"]["first"]["href"].endswith("?offset=0&limit=10")


def test_links_keep_filters(sim: SimClient) -> None:
    body = sim.get(8, "/RestoreSessions", params={"orderBy": "EndTime", "limit": 5}).json()

    assert body["_links"]["next"]["href"] == "/v8/RestoreSessions?orderBy=EndTime&offset=5&limit=5"


def test_paging_walks_every_session_once_newest_first(sim: SimClient) -> None:
    seen: list[dict] = []
    offset = 0
    while True:
        body = sim.get(6, "/RestoreSessions", params={"offset": offset, "limit": 45}).json()
        seen += body["results"]
        if "next" not in body["_links"]:
            break
        offset += 45

    ids = [s["id"] for s in seen]
    assert len(ids) == len(set(ids)) >= 200
    times = [s["creationTime"] for s in seen]
    assert times == sorted(times, reverse=True)


def test_limit_is_clamped_to_10000_and_validated(sim: SimClient) -> None:
    big = sim.get(8, "/RestoreSessions", params={"limit": 50000}).json()
    zero = sim.get(8, "/RestoreSessions", params={"limit": 0})
    text = sim.get(8, "/RestoreSessions", params={"offset": "abc"})

    assert big["limit"] == 10000
    assert zero.status_code == 400 and text.status_code == 400


def test_offset_past_the_end_gives_an_empty_page(sim: SimClient) -> None:
    body = sim.get(8, "/RestoreSessions", params={"offset": 100000}).json()

    assert body["results"] == []
    assert "next" not in body["_links"] and "prev" in body["_links"]


def test_history_has_console_and_powershell_sessions_and_some_still_working(sim: SimClient) -> None:
    sessions = sim.all_sessions()
    initiators = {s["initiatedBy"] for s in sessions}

    assert {"console:helpdesk01", "PowerShell (svc-restore)"} <= initiators
    assert len(initiators) >= 4
    assert any(s["state"] == "Working" for s in sessions)
    assert all(("endTime" in s) == (s["state"] == "Stopped") for s in sessions)
    assert {s["type"] for s in sessions} == {"Vex", "Veod", "Vesp", "Vet"}
    assert {s["result"] for s in sessions} >= {"Success", "Warning"}


@pytest.mark.parametrize("version", VERSIONS)
def test_session_fields_per_version(sim: SimClient, version: int) -> None:
    listing = sim.get(version, "/RestoreSessions").json()
    first = listing[0] if version == 1 else listing["results"][0]

    r = sim.get(version, f"/RestoreSessions/{first['id']}")

    assert r.status_code == 200
    one = r.json()
    assert {k: v for k, v in one.items() if k != "_links"} == {k: v for k, v in first.items() if k != "_links"}
    assert set(first) - {"endTime"} == FIELDS[version]
    self_href = first["_links"]["self"]["href"]
    if version <= 5:
        assert self_href == f"{sim.base}/v{version}/restoresessions/{first['id']}"
    else:
        assert self_href == f"/v{version}/RestoreSessions/{first['id']}"
    if version >= 6:
        assert first["scopeName"] == ""  # no scope: "" as in the v6 GET example, never null
    # Reference: CONTRACT.md §6.2 -- list rows link self and organization only.
    assert set(first["_links"]) == {"self", "organization"}


def test_get_is_case_insensitive_on_path_and_id(sim: SimClient) -> None:
    sid = sim.all_sessions()[3]["id"]

    r = sim.http.get(f"{sim.base}/v8/restoresessions/{sid.upper()}", headers=sim.headers(8))

    assert r.status_code == 200 and r.json()["id"] == sid


@pytest.mark.parametrize("sid", ["00000000-0000-4000-8000-000000000000", "not-a-uuid"])
def test_unknown_session_is_404(sim: SimClient, sid: str) -> None:
    r = sim.get(8, f"/RestoreSessions/{sid}")

    assert r.status_code == 404
    assert r.json()["errorCode"] == "ResourceNotFound"


def test_v4_start_time_filters(sim: SimClient) -> None:
    everything = sim.all_sessions(4)
    lo, hi = everything[60]["creationTime"], everything[20]["creationTime"]

    r = sim.get(4, "/RestoreSessions", params={"startTimeFrom": lo, "startTimeTo": hi, "limit": 1000})

    assert [s["id"] for s in r.json()["results"]] == [s["id"] for s in everything[20:61]]


def test_v3_ignores_start_time_filters(sim: SimClient) -> None:
    body = sim.get(3, "/RestoreSessions", params={"startTimeFrom": "2999-01-01T00:00:00Z"}).json()

    assert len(body["results"]) == 30


def test_bad_filter_date_is_400(sim: SimClient) -> None:
    r = sim.get(8, "/RestoreSessions", params={"startTimeFrom": "yesterday"})

    assert r.status_code == 400 and r.json()["errorCode"] == "ParameterValidationFailure"


def test_v8_end_time_filters_and_ordering_match_brute_force(sim: SimClient) -> None:
    everything = sim.all_sessions(8)
    stopped = [s for s in everything if "endTime" in s]
    by_end = sorted(stopped, key=lambda s: s["endTime"])
    lo, hi = by_end[10]["endTime"], by_end[80]["endTime"]

    filtered = sim.all_sessions(8, endTimeFrom=lo, endTimeTo=hi, orderBy="endtime", orderAsc="true")
    desc = sim.all_sessions(8, orderBy="EndTime")
    asc_creation = sim.all_sessions(8, orderAsc="true")

    assert [s["id"] for s in filtered] == [s["id"] for s in by_end[10:81]]
    assert [s["endTime"] for s in desc if "endTime" in s] == sorted((s["endTime"] for s in stopped), reverse=True)
    # Working sessions have no endTime: last when newest-first by end time.
    assert all("endTime" not in s for s in desc[len(stopped):])
    assert [s["id"] for s in asc_creation] == [s["id"] for s in reversed(everything)]


def test_v8_bad_order_by_is_400(sim: SimClient) -> None:
    assert sim.get(8, "/RestoreSessions", params={"orderBy": "Name"}).status_code == 400


def test_tenant_sees_only_its_organization(sim: SimClient) -> None:
    org = sim.tenant_org()
    everything = sim.all_sessions(6)

    mine = sim.all_sessions(6, who="tenant")

    assert mine and {s["organization"] for s in mine} == {org["name"]}
    assert [s["id"] for s in mine] == [s["id"] for s in everything if s["organization"] == org["name"]]
    other = next(s for s in everything if s["organization"] != org["name"])
    assert sim.get(6, f"/RestoreSessions/{other['id']}", who="tenant").status_code == 404


def test_operator_sees_only_sessions_it_started(sim: SimClient) -> None:
    org = sim.tenant_org()
    token = sim.operator_token(8, org_id=org["id"], user_id="op-list", user_name="op-list@contoso")
    other = sim.operator_token(8, org_id=org["id"], user_id="op-other", user_name="other@contoso")
    created = sim.post(8, "/Organization/OperatorExplore", token=token, json={"reason": "r"}).json()

    mine = sim.all_sessions(8, token=token)

    assert [s["id"] for s in mine] == [created["id"]]
    assert sim.all_sessions(8, token=other) == []
    assert sim.get(8, f"/RestoreSessions/{created['id']}", token=other).status_code == 404


def test_created_sessions_are_listed_first(sim: SimClient) -> None:
    created = sim.explore(8, sim.other_org()["id"], dateTime="2024-01-01T00:00:00Z").json()

    first = sim.get(8, "/RestoreSessions", params={"limit": 1}).json()["results"][0]

    assert first["id"] == created["id"]


def _events_href(sim: SimClient, version: int, sid: str) -> str:
    if version <= 5:
        return f"{sim.base}/v{version}/restoresessions/{sid}/events"
    return f"/v{version}/RestoreSessions/{sid}/events"


@pytest.mark.parametrize("version", VERSIONS)
def test_get_links_the_events_from_v4(sim: SimClient, version: int) -> None:
    sid = sim.all_sessions(8)[5]["id"]

    links = sim.get(version, f"/RestoreSessions/{sid}").json()["_links"]

    if version >= 4:
        assert links["restoreSessionEvents"] == {"href": _events_href(sim, version, sid)}
        assert set(links) == {"self", "organization", "restoreSessionEvents"}
    else:
        assert set(links) == {"self", "organization"}


@pytest.mark.parametrize("version", VERSIONS)
def test_start_answer_links_the_events_from_v4(sim: SimClient, version: int) -> None:
    body = sim.explore(version, sim.tenant_org()["id"], datetime="2024-01-01T00:00:00Z").json()

    links = body["_links"]

    assert ("restoreSessionEvents" in links) == (version >= 4)
    if version >= 4:
        assert links["restoreSessionEvents"] == {"href": _events_href(sim, version, body["id"])}
        followed = links["restoreSessionEvents"]["href"].removeprefix(sim.base).removeprefix(f"/v{version}")
        assert sim.get(version, followed).json()["results"][0]["title"] == "Restore session started"
