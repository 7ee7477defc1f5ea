"""Benchmark 1 — portal overhead against the simulator called directly.

Side by side, in alternating rounds within one run, with the simulator at 20 ms latency and 8 concurrent
clients (one keep-alive requests.Session each):

* start: ``POST /v8/Organizations/{id}/explore`` (bearer token obtained once) vs ``POST /api/sessions/``
  (fresh Idempotency-Key per request);
* read:  ``GET /v8/RestoreSessions/{id}`` vs ``GET /api/sessions/{id}/`` on sessions started by the portal.

Figure: median portal latency / median direct latency, for each. Target: at most 1.15.
Product behaviour measured as is: a working session's API read re-reads VB365 at most every 2 s
(services.restore_sessions.restore_session_current); a new session's first read also fetches its events.
"""
from __future__ import annotations

import itertools
import threading
import time
from datetime import datetime, timezone
from typing import Any

import requests

try:
    from bench import common
except ImportError:  # run as a script
    import common  # type: ignore[no-redef]

CLIENTS = 8
TARGET = 1.15


def _phase(recorder: common.Recorder, label: str, per_client: int, make_call: Any, time_limit: float,
           sessions: list[requests.Session]) -> None:
    deadline = time.monotonic() + time_limit

    def body(i: int) -> None:
        for n in range(per_client):
            if time.monotonic() > deadline:
                return
            common.timed(recorder, label, lambda: make_call(sessions[i], i, n))

    common.run_clients(CLIENTS, body, time_limit=time_limit)


def run(quick: bool) -> dict[str, Any]:
    per_client = 6 if quick else 40
    rounds = 1 if quick else 4
    time_limit = 60.0 if quick else 180.0
    with common.redis_db(10) as cache, common.simulator("--latency-ms", "20", "--seed", "11") as (sim, _, _), \
            common.database("overhead") as db:
        env = common.portal_env(database=common.pg_url(db), cache=cache, vb365_url=sim)
        common.add_users(env, ["bench_helpdesk"], "helpdesk")
        with common.gunicorn(env, workers=4, threads=4, name="overhead") as (base, _):
            org_id = common.sim_backed_up_organization(sim)["id"]
            sim_headers = {"Authorization": f"Bearer {common.sim_token(sim)}"}
            portal_headers = {"Authorization": f"Token {common.api_token(base, 'bench_helpdesk')}"}
            requests.get(f"{base}/api/organizations/", headers=portal_headers, timeout=30).raise_for_status()
            direct_clients = [requests.Session() for _ in range(CLIENTS)]
            portal_clients = [requests.Session() for _ in range(CLIENTS)]
            for s in direct_clients:
                s.headers.update(sim_headers)
            for s in portal_clients:
                s.headers.update(portal_headers)

            def explore_direct(s: requests.Session, i: int, n: int) -> requests.Response:
                body = {"dateTime": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "type": "Vex",
                        "showDeleted": False, "showAllVersions": False}
                return s.post(f"{sim}/v8/Organizations/{org_id}/explore", json=body, timeout=30)

            portal_ids: list[str] = []
            ids_lock = threading.Lock()

            def start_portal(s: requests.Session, i: int, n: int) -> requests.Response:
                response = s.post(f"{base}/api/sessions/", json={
                    "organization": org_id, "workload": "exchange", "reason": f"bench overhead {i}/{n}"},
                    headers={"Idempotency-Key": common.new_key()}, timeout=60)
                if response.status_code == 201:
                    with ids_lock:
                        portal_ids.append(response.json()["id"])
                return response

            counter = itertools.count()

            def next_id() -> str:
                with ids_lock:
                    return portal_ids[next(counter) % len(portal_ids)]

            def read_direct(s: requests.Session, i: int, n: int) -> requests.Response:
                return s.get(f"{sim}/v8/RestoreSessions/{next_id()}", timeout=30)

            def read_portal(s: requests.Session, i: int, n: int) -> requests.Response:
                return s.get(f"{base}/api/sessions/{next_id()}/", timeout=60)

            # Warm-up (not recorded): connections, upstream token, code paths of every worker.
            warm = common.Recorder()
            _phase(warm, "warm", 2, explore_direct, 30, direct_clients)
            _phase(warm, "warm", 2, start_portal, 30, portal_clients)
            _phase(warm, "warm", 2, read_direct, 30, direct_clients)
            _phase(warm, "warm", 2, read_portal, 30, portal_clients)

            recorder = common.Recorder()
            common.log(f"overhead: {rounds} rounds x {CLIENTS} clients x {per_client} requests per phase")
            upstream_reads = 0
            for _ in range(rounds):
                _phase(recorder, "start_direct", per_client, explore_direct, time_limit, direct_clients)
                _phase(recorder, "start_portal", per_client, start_portal, time_limit, portal_clients)
                _phase(recorder, "read_direct", per_client, read_direct, time_limit, direct_clients)
                before = common.sim_stats(sim)["requests"]
                _phase(recorder, "read_portal", per_client, read_portal, time_limit, portal_clients)
                after = common.sim_stats(sim)["requests"]
                upstream_reads += sum(v - before.get(k, 0) for k, v in after.items() if k.startswith("GET "))
            stats = common.sim_stats(sim)

    summary = {label: common.latency_summary(recorder.latencies(label))
               for label in ("start_direct", "start_portal", "read_direct", "read_portal")}
    start_ratio = summary["start_portal"]["p50_ms"] / summary["start_direct"]["p50_ms"]
    read_ratio = summary["read_portal"]["p50_ms"] / summary["read_direct"]["p50_ms"]
    failures = recorder.failures()
    figures = [
        {"figure": "1a start: median POST /api/sessions/ ÷ direct explore", "measured": round(start_ratio, 3),
         "unit": "x", "target": f"<= {TARGET}", "passed": start_ratio <= TARGET and failures == 0},
        {"figure": "1b read: median GET /api/sessions/{id}/ ÷ direct get", "measured": round(read_ratio, 3),
         "unit": "x", "target": f"<= {TARGET}", "passed": read_ratio <= TARGET and failures == 0},
    ]
    return {"name": "overhead", "figures": figures, "passed": all(f["passed"] for f in figures),
            "details": {"clients": CLIENTS, "rounds": rounds, "requests_per_client_per_round": per_client,
                        "sim_latency_ms": 20, "latency": summary, "failures": failures,
                        "errors": recorder.errors, "sim_requests": stats.get("requests"),
                        "upstream_calls_per_portal_read": round(
                            upstream_reads / max(1, len(recorder.latencies("read_portal"))), 2),
                        "note": "portal reads of a working session re-read VB365 at most every 2 s (product "
                                "behaviour, restore_session_current); a new session's first read also fetches "
                                "its events"}}


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run("--quick" in sys.argv), indent=2))
