"""The /_sim/ control plane: info, stats, expire-tokens, operator-assertion; determinism per seed."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import requests

from tests.vb365_sim.conftest import SimClient
from vb365_sim import serve_in_thread
from vb365_sim.faults import FaultRule

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
ISO_Z_FRACTION = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def test_info_shape(sim: SimClient) -> None:
    info = requests.get(f"{sim.base}/_sim/info").json()

    assert set(info) == {"admin", "organizations"}
    assert info["admin"] == {"username": "admin", "password": "admin"}
    assert len(info["organizations"]) >= 4
    for org in info["organizations"]:
        assert set(org) == {"id", "name", "is_backed_up", "first_backup", "last_backup", "tenant"}
        if org["is_backed_up"]:
            assert ISO_Z.match(org["first_backup"]) and ISO_Z.match(org["last_backup"])
            assert org["first_backup"] < org["last_backup"]
        else:
            assert org["first_backup"] is None and org["last_backup"] is None
        assert org["tenant"] is None or set(org["tenant"]) == {"username", "password"}
    assert sum(not o["is_backed_up"] for o in info["organizations"]) == 1
    assert any(o["tenant"] and o["tenant"]["username"].startswith("restore@") for o in info["organizations"])


def test_stats_count_requests_by_route_template_and_status(fresh_sim: SimClient) -> None:
    sid = fresh_sim.all_sessions(8)[0]["id"]
    fresh_sim.get(8, f"/RestoreSessions/{sid}")
    fresh_sim.get(4, f"/organizations/{fresh_sim.tenant_org()['id']}")
    fresh_sim.get(8, "/RestoreSessions/00000000-0000-4000-8000-000000000000")
    fresh_sim.grant(8, grant_type="password", username="admin", password="wrong")

    stats = requests.get(f"{fresh_sim.base}/_sim/stats").json()

    assert set(stats) == {"requests", "statuses", "token_grants"}
    assert stats["requests"]["GET /v8/RestoreSessions/{restoreSessionId}"] == 2
    assert stats["requests"]["GET /v8/RestoreSessions"] == 1
    assert stats["requests"]["GET /v4/Organizations/{organizationId}"] == 1
    assert stats["requests"]["POST /v8/Token"] == 2  # the client's admin grant + the failed one
    assert stats["requests"]["POST /v4/Token"] == 1
    assert stats["token_grants"] == 2
    assert stats["statuses"]["404"] == 1 and stats["statuses"]["400"] == 1
    assert not any(k.startswith("GET /_sim") for k in stats["requests"])


def test_expire_tokens_makes_access_tokens_401_but_refresh_works(fresh_sim: SimClient) -> None:
    body = fresh_sim.grant(8, grant_type="password", username="admin", password="admin").json()

    expired = requests.post(f"{fresh_sim.base}/_sim/expire-tokens")

    assert expired.status_code == 200 and expired.json()["expired"] >= 1
    assert fresh_sim.get(8, "/RestoreSessions", token=body["access_token"]).status_code == 401
    refreshed = fresh_sim.grant(8, grant_type="refresh_token", refresh_token=body["refresh_token"]).json()
    assert fresh_sim.get(8, "/RestoreSessions", token=refreshed["access_token"]).status_code == 200


def test_operator_assertion_shape_and_errors(sim: SimClient) -> None:
    org = sim.tenant_org()

    ok = requests.post(f"{sim.base}/_sim/operator-assertion",
                       json={"organization_id": org["id"], "user_id": "u-42", "user_name": "adele"})
    unknown = requests.post(f"{sim.base}/_sim/operator-assertion",
                            json={"organization_id": "00000000-0000-4000-8000-000000000000", "user_id": "u",
                                  "user_name": "n"})
    incomplete = requests.post(f"{sim.base}/_sim/operator-assertion", json={"organization_id": org["id"]})

    assert set(ok.json()) == {"client_id", "assertion"}
    user_id, tenant_id = ok.json()["client_id"].split(".")
    assert user_id == "u-42" and len(tenant_id) == 36
    assert sim.get(8, "/RestoreSessions", who=None).status_code == 401
    assert unknown.status_code == 404 and incomplete.status_code == 400


def test_operator_token_reads_its_organization_and_user(sim: SimClient) -> None:
    token = sim.operator_token(8, org_id=sim.tenant_org()["id"], user_id="u-7", user_name="nestor")

    assert sim.get(8, "/Organization", token=token).json()["id"] == sim.tenant_org()["id"]
    assert sim.get(8, "/Organization/LoggedInUser", token=token).json() == {"id": "u-7", "name": "nestor"}
    assert sim.get(8, "/Organization/LoggedInUser/OperatorInfo", token=token).json()["isOperator"] is True
    assert sim.get(8, "/Organizations", token=token).status_code == 403


def test_same_seed_same_data_other_seed_other_data() -> None:
    def snapshot(seed: int) -> tuple[list[str], list[str]]:
        with serve_in_thread(seed=seed, sessions=50) as base:
            client = SimClient(base)
            return [o["id"] for o in client.orgs], [s["id"] for s in client.all_sessions(8)]

    a, b, c = snapshot(11), snapshot(11), snapshot(12)

    assert a == b
    assert set(a[0]).isdisjoint(c[0]) and set(a[1]).isdisjoint(c[1])
    assert len(a[1]) == 50


def test_unknown_control_endpoint_is_404(sim: SimClient) -> None:
    assert requests.get(f"{sim.base}/_sim/nope").status_code == 404


def test_reset_puts_the_simulator_back_as_it_started(sim: SimClient) -> None:
    history = sim.all_sessions(8)
    working = next(s for s in history if s["state"] == "Working")
    old_token = sim.token(8)
    started = sim.explore(8, sim.tenant_org()["id"]).json()["id"]
    sim.stop(8, working["id"])
    requests.post(f"{sim.base}/_sim/faults", json={"status": 500, "path": "ServiceInstance"})
    sim.advance_clock(7200)

    r = requests.post(f"{sim.base}/_sim/reset")

    assert r.status_code == 204
    assert sim.get(8, "/RestoreSessions", token=old_token).status_code == 401
    sim.reset()  # forget the client's cached token too
    assert sim.all_sessions(8) == history
    stats = requests.get(f"{sim.base}/_sim/stats").json()
    assert stats["token_grants"] == 1 and set(stats["requests"]) == {"POST /v8/Token", "GET /v8/RestoreSessions"}
    assert sim.get(8, f"/RestoreSessions/{started}").status_code == 404
    assert sim.get(8, "/ServiceInstance").status_code == 200
    assert requests.get(f"{sim.base}/_sim/faults").json() == {"faults": []}
    assert requests.get(f"{sim.base}/_sim/clock").json()["offset_seconds"] == 0
    assert sim.explore(8, sim.tenant_org()["id"]).json()["id"] != started  # ids are never handed out twice


def test_reset_keeps_the_fault_rules_given_at_start() -> None:
    rule = FaultRule(status=503, path="ServiceInstance")
    with serve_in_thread(sessions=1, faults=[rule]) as base:
        requests.post(f"{base}/_sim/faults", json={"status": 500, "path": "Health"})

        requests.post(f"{base}/_sim/reset")
        faults = requests.get(f"{base}/_sim/faults").json()["faults"]

    assert faults == [rule.to_json()]


def test_the_clock_moves_forward_through_the_control_plane(sim: SimClient) -> None:
    before = requests.get(f"{sim.base}/_sim/clock").json()

    moved = requests.post(f"{sim.base}/_sim/clock", json={"advance_seconds": 90})
    backwards = requests.post(f"{sim.base}/_sim/clock", json={"advance_seconds": -1})
    garbage = requests.post(f"{sim.base}/_sim/clock", json={"advance": "soon"})

    assert before["offset_seconds"] == 0 and ISO_Z_FRACTION.match(before["now"])
    assert moved.status_code == 200 and moved.json()["offset_seconds"] == 90
    assert moved.json()["now"] >= _iso_plus(before["now"], 90)
    assert backwards.status_code == 400 and garbage.status_code == 400
    assert requests.get(f"{sim.base}/_sim/clock").json()["offset_seconds"] == 90


def test_sessions_started_after_a_clock_move_are_dated_by_it(sim: SimClient) -> None:
    sim.advance_clock(30 * 86_400)

    created = sim.explore(8, sim.tenant_org()["id"]).json()["creationTime"]

    assert created >= _iso_plus(requests.get(f"{sim.base}/_sim/clock").json()["now"], -5)
    assert created > (datetime.now(timezone.utc) + timedelta(days=29)).strftime("%Y-%m-%dT%H:%M:%S")


def _iso_plus(iso: str, seconds: float) -> str:
    moved = datetime.strptime(iso[:19], "%Y-%m-%dT%H:%M:%S") + timedelta(seconds=seconds)
    return moved.strftime("%Y-%m-%dT%H:%M:%S")
