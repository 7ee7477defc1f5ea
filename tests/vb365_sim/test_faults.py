"""Fault injection through POST/DELETE /_sim/faults: status, latency, rate, path, malformed, drop, down."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from tests.vb365_sim.conftest import SimClient


def _fault(sim: SimClient, **rule: object) -> requests.Response:
    return requests.post(f"{sim.base}/_sim/faults", json=rule)


def test_status_fault_uses_the_version_error_body_and_can_be_cleared(fresh_sim: SimClient) -> None:
    fresh_sim.token(8)
    fresh_sim.token(6)
    assert _fault(fresh_sim, status=503).status_code == 201

    v8 = fresh_sim.get(8, "/RestoreSessions")
    v6 = fresh_sim.get(6, "/RestoreSessions")
    control = requests.get(f"{fresh_sim.base}/_sim/info")
    cleared = requests.delete(f"{fresh_sim.base}/_sim/faults")
    after = fresh_sim.get(8, "/RestoreSessions")

    assert v8.status_code == 503 and set(v8.json()) == {"message", "errorCode", "stackTrace"}
    assert v6.status_code == 503 and set(v6.json()) == {"message"}
    assert control.status_code == 200  # the control plane is never faulted
    assert cleared.json() == {"cleared": 1}
    assert after.status_code == 200


def test_path_regex_limits_the_fault(fresh_sim: SimClient) -> None:
    fresh_sim.token(8)
    _fault(fresh_sim, status=500, path=r"/Events$")
    sid = fresh_sim.all_sessions(8)[0]["id"]

    assert fresh_sim.get(8, f"/RestoreSessions/{sid}").status_code == 200
    assert fresh_sim.get(8, f"/RestoreSessions/{sid}/Events").status_code == 500


def test_latency_fault_delays_responses(fresh_sim: SimClient) -> None:
    fresh_sim.token(8)
    _fault(fresh_sim, latency_ms=300, path="RestoreSessions")

    started = time.perf_counter()
    r = fresh_sim.get(8, "/RestoreSessions")

    assert r.status_code == 200
    assert time.perf_counter() - started >= 0.3


def test_answer_delay_processes_the_request_before_the_late_answer(fresh_sim: SimClient) -> None:
    fresh_sim.token(8)
    org = fresh_sim.other_org()
    before = {s["id"] for s in fresh_sim.all_sessions(8)}
    _fault(fresh_sim, answer_delay_ms=800, path="explore")
    listed: list[set[str]] = []

    def list_meanwhile() -> None:
        time.sleep(0.4)
        listed.append({s["id"] for s in fresh_sim.all_sessions(8)} - before)

    lister = threading.Thread(target=list_meanwhile)
    lister.start()
    started = time.perf_counter()
    r = fresh_sim.post(8, f"/Organizations/{org['id']}/explore", json={"type": "Vex"})
    lister.join()

    assert r.status_code == 201
    assert time.perf_counter() - started >= 0.8
    assert listed == [{r.json()["id"]}]  # listed while its caller still waited


def test_rate_applies_the_fault_to_a_fraction_of_requests(fresh_sim: SimClient) -> None:
    fresh_sim.token(8)
    _fault(fresh_sim, status=502, rate=0.5, path="ServiceInstance")

    statuses = [fresh_sim.get(8, "/ServiceInstance").status_code for _ in range(40)]

    assert 5 < statuses.count(502) < 35
    assert statuses.count(200) == 40 - statuses.count(502)


def test_rate_zero_never_fires(fresh_sim: SimClient) -> None:
    fresh_sim.token(8)
    _fault(fresh_sim, status=500, rate=0)

    assert all(fresh_sim.get(8, "/ServiceInstance").status_code == 200 for _ in range(10))


def test_malformed_answers_200_with_invalid_json(fresh_sim: SimClient) -> None:
    fresh_sim.token(8)
    _fault(fresh_sim, malformed=True, path="RestoreSessions")

    r = fresh_sim.get(8, "/RestoreSessions")

    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    with pytest.raises(ValueError):
        r.json()


def test_drop_processes_the_request_but_sends_nothing(fresh_sim: SimClient) -> None:
    fresh_sim.token(8)
    before = len(fresh_sim.all_sessions(8))
    _fault(fresh_sim, drop=True, path="explore")

    with pytest.raises(requests.ConnectionError):
        fresh_sim.explore(8, fresh_sim.tenant_org()["id"], dateTime="2030-01-01T00:00:00Z")

    assert len(fresh_sim.all_sessions(8)) == before + 1  # the session WAS created


def test_down_cuts_the_connection_without_processing(fresh_sim: SimClient) -> None:
    fresh_sim.token(8)
    before = len(fresh_sim.all_sessions(8))
    _fault(fresh_sim, down=True, path="explore")

    with pytest.raises(requests.ConnectionError):
        fresh_sim.explore(8, fresh_sim.tenant_org()["id"], dateTime="2030-01-01T00:00:00Z")

    requests.delete(f"{fresh_sim.base}/_sim/faults")
    assert len(fresh_sim.all_sessions(8)) == before


def test_down_applies_to_token_requests_too(fresh_sim: SimClient) -> None:
    _fault(fresh_sim, down=True)

    with pytest.raises(requests.ConnectionError):
        fresh_sim.grant(8, grant_type="password", username="admin", password="admin")


@pytest.mark.parametrize("rule", [{"status": "x"}, {"rate": 2}, {"path": "("}, {"bogus": 1}, {"drop": "yes"}])
def test_invalid_fault_rules_are_400(fresh_sim: SimClient, rule: dict[str, object]) -> None:
    r = _fault(fresh_sim, **rule)

    assert r.status_code == 400
    assert r.json()["message"]
    assert requests.get(f"{fresh_sim.base}/_sim/faults").json() == {"faults": []}
