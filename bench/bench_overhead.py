"""Benchmark 1 — the portal's own cost around one upstream call (issue #12, section 3).

The simulator answers after 20 ms. The portal (gunicorn, 2 workers × 4 threads per core it is given, as README's
production section advises: more processes than that on a core only trade CPU for context switches) runs on
cores of its own,
the simulator and this load generator on the others (``taskset``; with 2 cores: the portal on core 1, the
rest on core 0). PostgreSQL and Redis are the machine's own services and are not pinned. Requests:

* start: ``POST /v8/Organizations/{id}/explore`` direct (bearer token obtained once) vs ``POST /api/sessions/``
  (fresh Idempotency-Key per request);
* read:  ``GET /v8/RestoreSessions/{id}`` direct vs ``GET /api/sessions/{id}/`` on sessions the portal
  started, read round-robin, skipping any read or started in the last 2.5 s, so that every portal read is
  one upstream read (a working session is re-read at most every 2 s, restore_session_current);
* unknown: ``GET /api/sessions/{random id}/``, the cheapest authenticated API answer (404, audited as a
  refusal): what every API call costs before it does anything.

Figures (targets of the issue):

* gunicorn CPU per request (every worker's user + system time over a phase ÷ its requests): 404 ≤ 2 ms,
  read ≤ 3 ms, start ≤ 8 ms; measured in the 8-client phases;
* one client, median portal − median direct: read ≤ 4 ms, start ≤ 10 ms (alternating rounds);
* 8 clients (keep-alive sessions), alternating rounds: median portal ÷ median direct ≤ 1.3, start and read.

Beside them (info): CPU per request of every process (simulator, the PostgreSQL backends of the benchmark's
database, load generator), the shortest
median 8 clients allow the portal on its cores (8 × gunicorn CPU per request ÷ portal cores), and the load
average before and after: on a shared machine the figures follow it.
"""
from __future__ import annotations

import functools
import itertools
import os
import sys
import threading
import time
import uuid
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import requests

# Run as a script (`python bench/bench_x.py`) only bench/ is on sys.path; the repository root makes `bench` importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common

CLIENTS = 8
PAIRS = ("start", "read")
KINDS = ("start_direct", "start_portal", "read_direct", "read_portal")
RATIO_TARGET = 1.3
# gunicorn sized for the portal's cores (README, "Running in production").
WORKERS_PER_CORE, THREADS = 2, 4
GUNICORN_CPU_TARGET_MS = {"unknown_portal": 2.0, "read_portal": 3.0, "start_portal": 8.0}
ONE_CLIENT_TARGET_MS = {"start": 10.0, "read": 4.0}
# services.restore_sessions.LIVE_REFRESH_INTERVAL (2 s) and a margin: a session read again after this long is
# re-read from VB365 by the portal.
REREAD_AFTER = 2.5


class CpuMeter:
    """CPU seconds per process group, summed over the phases of each label."""

    def __init__(self, stack: common.PortalStack) -> None:
        self._stack = stack
        # Only the backends serving the benchmark's database: the machine's other PostgreSQL work is not ours.
        self._database = stack.env["DATABASE_URL"].rsplit("/", 1)[1]
        self.seconds: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))

    def _now(self) -> dict[str, dict[int, float]]:
        return {"gunicorn": {pid: common.cpu_seconds(pid) for pid in self._stack.worker_pids()},
                "simulator": {self._stack.sim_proc.pid: common.cpu_seconds(self._stack.sim_proc.pid)},
                "postgresql": common.postgres_backend_cpu_seconds(self._database),
                "load_generator": {os.getpid(): time.process_time()}}

    def measure(self, label: str, work: Any) -> None:
        before = self._now()
        work()
        after = self._now()
        for name, per_process in after.items():
            self.seconds[label][name] += common.cpu_spent(before[name], per_process)

    def per_request_ms(self, label: str, requests_done: int) -> dict[str, float]:
        spent = self.seconds[label]
        per = {name: round(value * 1000 / max(1, requests_done), 2) for name, value in spent.items()}
        per["total"] = round(sum(per.values()), 2)
        return per


def _phase(recorder: common.Recorder, label: str, clients: int, per_client: int, make_call: Any,
           time_limit: float, sessions: list[requests.Session]) -> None:
    deadline = time.monotonic() + time_limit

    def body(i: int) -> None:
        for n in range(per_client):
            if time.monotonic() > deadline:
                return
            common.timed(recorder, label, functools.partial(make_call, sessions[i], i, n))

    common.run_clients(clients, body, time_limit=time_limit)


def run(quick: bool) -> dict[str, Any]:
    per_client = 6 if quick else 40
    rounds = 1 if quick else 4
    solo_per_round = 10 if quick else 25
    time_limit = 60.0 if quick else 180.0
    portal_cpus, other_cpus = common.split_cores()
    load_before = os.getloadavg()
    with common.pinned_here(other_cpus), \
            common.portal_stack("overhead", redis=10, sim_args=("--latency-ms", "20", "--seed", "11"),
                                users=["bench_helpdesk"], portal_cpus=portal_cpus, sim_cpus=other_cpus,
                                workers=WORKERS_PER_CORE * len(portal_cpus), threads=THREADS) as stack:
        sim, base = stack.sim, stack.base
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
        # When each session was last read or started: a portal read within LIVE_REFRESH_INTERVAL (2 s) of
        # either is answered from the record, without the upstream read this benchmark is about.
        touched: dict[str, float] = {}

        def start_portal(s: requests.Session, i: int, n: int) -> requests.Response:
            response = s.post(f"{base}/api/sessions/", json={
                "organization": org_id, "workload": "exchange", "reason": f"bench overhead {i}/{n}"},
                headers={"Idempotency-Key": common.new_key()}, timeout=60)
            if response.status_code == 201:
                with ids_lock:
                    portal_ids.append(response.json()["id"])
                    touched[portal_ids[-1]] = time.monotonic()
            return response

        counter = itertools.count()

        def next_id() -> str:
            """The next session round-robin, skipping those read or started in the last REREAD_AFTER seconds
            (unless every one was)."""
            with ids_lock:
                now = time.monotonic()
                for _ in range(len(portal_ids)):
                    session_id = portal_ids[next(counter) % len(portal_ids)]
                    if now - touched.get(session_id, 0.0) > REREAD_AFTER:
                        break
                touched[session_id] = now
                return session_id

        def read_direct(s: requests.Session, i: int, n: int) -> requests.Response:
            return s.get(f"{sim}/v8/RestoreSessions/{next_id()}", timeout=30)

        def read_portal(s: requests.Session, i: int, n: int) -> requests.Response:
            return s.get(f"{base}/api/sessions/{next_id()}/", timeout=60)

        def unknown_portal(s: requests.Session, i: int, n: int) -> requests.Response:
            return s.get(f"{base}/api/sessions/{uuid.uuid4()}/", timeout=60)

        calls = {"start_direct": (explore_direct, direct_clients), "start_portal": (start_portal, portal_clients),
                 "read_direct": (read_direct, direct_clients), "read_portal": (read_portal, portal_clients)}

        # Warm-up (not recorded): connections, upstream token, code paths of every worker, and more than
        # AUDIT_REFUSAL_TARGETS_PER_WINDOW unknown ids, so that the measured 404s are counted repeats.
        warm = common.Recorder()
        for kind in KINDS:
            call, sessions = calls[kind]
            _phase(warm, "warm", CLIENTS, 2, call, 30, sessions)
        _phase(warm, "warm", CLIENTS, 4, unknown_portal, 30, portal_clients)

        recorder, meter = common.Recorder(), CpuMeter(stack)
        common.log(f"overhead: portal on cores {sorted(portal_cpus)}, simulator and load generator on "
                   f"{sorted(other_cpus)}; {rounds} rounds x {CLIENTS} clients x {per_client} requests per phase, "
                   f"then the 404s, then {rounds} rounds x {solo_per_round} requests of each kind from one client")
        upstream_reads = 0
        for _ in range(rounds):
            for kind in KINDS:
                call, sessions = calls[kind]
                before = common.sim_stats(sim)["requests"]
                meter.measure(kind, functools.partial(_phase, recorder, kind, CLIENTS, per_client, call, time_limit,
                                                      sessions))
                if kind == "read_portal":
                    after = common.sim_stats(sim)["requests"]
                    upstream_reads += sum(v - before.get(k, 0) for k, v in after.items() if k.startswith("GET "))
        unknown = common.Recorder()
        meter.measure("unknown_portal", lambda: _phase(unknown, "unknown_portal", CLIENTS, per_client,
                                                        unknown_portal, time_limit, portal_clients))
        solo = common.Recorder()
        solo_upstream_reads = 0
        for _ in range(rounds):
            for kind in KINDS:
                call, sessions = calls[kind]
                before = common.sim_stats(sim)["requests"]
                _phase(solo, kind, 1, solo_per_round, call, time_limit, sessions)
                if kind == "read_portal":
                    after = common.sim_stats(sim)["requests"]
                    solo_upstream_reads += sum(v - before.get(k, 0) for k, v in after.items() if k.startswith("GET "))
        stats = common.sim_stats(sim)
    load_after = os.getloadavg()

    summary = {kind: common.latency_summary(recorder.latencies(kind)) for kind in KINDS}
    solo_summary = {kind: common.latency_summary(solo.latencies(kind)) for kind in KINDS}
    cpu = {kind: meter.per_request_ms(kind, len(recorder.latencies(kind, ok_only=False))) for kind in KINDS}
    unknown_answers = unknown.latencies(ok_only=False)
    cpu["unknown_portal"] = meter.per_request_ms("unknown_portal", len(unknown_answers))
    unknown_not_404 = sum(1 for _, status, _ in unknown.rows if status != 404)
    # With CLIENTS portal requests always in flight, the portal's cores must do CLIENTS requests' gunicorn CPU
    # per response time: no median can be shorter.
    portal_floor = {what: round(CLIENTS * cpu[f"{what}_portal"]["gunicorn"] / len(portal_cpus), 1) for what in PAIRS}
    failures = recorder.failures() + solo.failures() + unknown_not_404

    def ratio(what: str) -> float:
        return summary[f"{what}_portal"]["p50_ms"] / summary[f"{what}_direct"]["p50_ms"]

    def one_client_extra(what: str) -> float:
        return solo_summary[f"{what}_portal"]["p50_ms"] - solo_summary[f"{what}_direct"]["p50_ms"]

    load = f"load {load_before[0]:.1f} → {load_after[0]:.1f}"
    figures: list[dict[str, Any]] = []
    for kind, label in (("unknown_portal", "1 gunicorn CPU per authenticated API 404 (unknown session)"),
                        ("read_portal", "1b gunicorn CPU per session read"),
                        ("start_portal", "1a gunicorn CPU per start")):
        measured = cpu[kind]["gunicorn"]
        target = GUNICORN_CPU_TARGET_MS[kind]
        figures.append({"figure": label, "measured": measured, "unit": "ms", "target": f"<= {target:g}",
                        "passed": measured <= target})
    for what, label in (("read", "1b one client: median portal − direct, read"),
                        ("start", "1a one client: median portal − direct, start")):
        measured = round(one_client_extra(what), 2)
        target = ONE_CLIENT_TARGET_MS[what]
        figures.append({"figure": label, "measured": measured, "unit": "ms", "target": f"<= {target:g}",
                        "passed": measured <= target and failures == 0})
    for what, label in (("start", "1a 8 clients, portal on its own core(s): median start ÷ direct"),
                        ("read", "1b 8 clients, portal on its own core(s): median read ÷ direct")):
        measured = round(ratio(what), 3)
        figures.append({"figure": label, "measured": measured, "unit": "x", "target": f"<= {RATIO_TARGET:g}",
                        "passed": measured <= RATIO_TARGET and failures == 0})
    figures += [
        {"figure": f"1 shortest median 8 clients allow the portal: start / read (direct: "
                   f"{summary['start_direct']['p50_ms']:g} / {summary['read_direct']['p50_ms']:g})",
         "measured": f"{portal_floor['start']:g} / {portal_floor['read']:g}", "unit": "ms", "target": "info",
         "passed": None},
        {"figure": "1 CPU per start / read, all processes (direct: "
                   f"{cpu['start_direct']['total']:g} / {cpu['read_direct']['total']:g})",
         "measured": f"{cpu['start_portal']['total']:g} / {cpu['read_portal']['total']:g}", "unit": "ms",
         "target": "info", "passed": None},
        {"figure": "1 load average (1 min) before → after", "measured": load.removeprefix("load "), "unit": "",
         "target": "info", "passed": None},
    ]
    passed = all(f["passed"] for f in figures if f["passed"] is not None)
    return {"name": "overhead", "figures": figures, "passed": passed,
            "details": {"clients": CLIENTS, "portal_cpus": sorted(portal_cpus), "other_cpus": sorted(other_cpus),
                        "rounds": rounds, "requests_per_client_per_round": per_client,
                        "one_client_requests_per_round": solo_per_round, "sim_latency_ms": 20,
                        "latency": summary, "latency_one_client": solo_summary,
                        "latency_unknown_portal": common.latency_summary(unknown_answers),
                        "cpu_ms_per_request": cpu, "portal_floor_median_ms": portal_floor,
                        "loadavg_before": load_before, "loadavg_after": load_after, "failures": failures,
                        "errors": recorder.errors + solo.errors, "sim_requests": stats.get("requests"),
                        "upstream_calls_per_portal_read": round(
                            upstream_reads / max(1, len(recorder.latencies("read_portal"))), 2),
                        "upstream_calls_per_portal_read_one_client": round(
                            solo_upstream_reads / max(1, len(solo.latencies("read_portal"))), 2),
                        "note": "gunicorn CPU per request from the 8-client phases; portal reads of a working "
                                "session re-read VB365 at most every 2 s (restore_session_current), and the "
                                "round-robin makes each one an upstream read; portal_floor_median_ms = clients x "
                                "gunicorn CPU per request / portal cores"}}


if __name__ == "__main__":
    import json

    print(json.dumps(run("--quick" in sys.argv), indent=2))
