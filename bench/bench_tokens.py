"""Benchmark 2 — upstream token grants per 1,000 portal requests, 4 gunicorn workers sharing Redis.

Starts cold (empty Redis db, so the very first upstream call must be granted a token), then drives
>= 1,000 authenticated API requests that each call VB365 (organization list with ``refresh=true``, session
reads, a few starts) from 16 concurrent clients, and reads ``token_grants`` from the simulator's
``/_sim/stats`` before and after. The per-worker CPU time consumed during the run shows that every worker
served requests (no change to the product is needed to see that).

Figure: token grants × 1000 / portal requests. Target: at most 1.
"""
from __future__ import annotations

import random
import sys
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any

import requests

# Run as a script (`python bench/bench_x.py`) only bench/ is on sys.path; the repository root makes `bench` importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common

CLIENTS = 16
TARGET = 1.0


def run(quick: bool) -> dict[str, Any]:
    total = 1000 if quick else 3000
    time_limit = 90.0 if quick else 240.0
    with common.portal_stack("tokens", redis=11, sim_args=("--latency-ms", "5", "--seed", "12"),
                             users=["bench_tokens"]) as stack:
        sim, base = stack.sim, stack.base
        org_id = common.sim_backed_up_organization(sim)["id"]
        token = common.api_token(base, "bench_tokens")  # no upstream call
        workers = stack.worker_pids()
        cpu_before = {pid: common.cpu_seconds(pid) for pid in workers}
        grants_before = common.sim_stats(sim).get("token_grants", 0)
        recorder = common.Recorder()
        # The first request of the run (cold: nothing in Redis) caches the organizations locally.
        common.timed(recorder, "organizations", lambda: requests.get(
            f"{base}/api/organizations/", headers={"Authorization": f"Token {token}"}, timeout=60))
        ids: list[str] = []
        lock = threading.Lock()
        remaining = iter(range(total - 1))
        deadline = time.monotonic() + time_limit

        def body(i: int) -> None:
            s = requests.Session()
            s.headers["Authorization"] = f"Token {token}"
            rng = random.Random(i)
            while time.monotonic() < deadline:
                with lock:
                    n = next(remaining, None)
                    known = list(ids[-50:])
                if n is None:
                    return
                roll = rng.random()
                if roll < 0.1 or not known:
                    r = common.timed(recorder, "start", lambda: s.post(
                        f"{base}/api/sessions/", json={"organization": org_id, "workload": "onedrive",
                                                       "reason": "bench tokens"},
                        headers={"Idempotency-Key": common.new_key()}, timeout=60))
                    if r is not None and r.status_code == 201:
                        with lock:
                            ids.append(r.json()["id"])
                elif roll < 0.55:
                    common.timed(recorder, "organizations", lambda: s.get(
                        f"{base}/api/organizations/", params={"refresh": "true"}, timeout=60))
                else:
                    sid = rng.choice(known)
                    common.timed(recorder, "detail", partial(s.get, f"{base}/api/sessions/{sid}/", timeout=60))

        wall = common.run_clients(CLIENTS, body, time_limit=time_limit)
        stats = common.sim_stats(sim)
        grants = stats.get("token_grants", 0) - grants_before
        cpu = {pid: round(common.cpu_seconds(pid) - cpu_before.get(pid, 0.0), 2) for pid in workers}

    requests_done = len(recorder.rows)
    per_1000 = grants * 1000 / requests_done if requests_done else float("inf")
    busy_workers = sum(1 for v in cpu.values() if v >= 0.5)
    upstream_calls = sum(v for k, v in (stats.get("requests") or {}).items() if "Token" not in k)
    passed = per_1000 <= TARGET and requests_done >= 1000 and busy_workers >= 2
    figures = [{"figure": "2 upstream token grants per 1,000 portal requests", "measured": round(per_1000, 3),
                "unit": "grants", "target": f"<= {TARGET:g}", "passed": passed}]
    return {"name": "tokens", "figures": figures, "passed": passed,
            "details": {"portal_requests": requests_done, "failures": recorder.failures(), "token_grants": grants,
                        "upstream_api_calls": upstream_calls, "wall_s": round(wall, 1), "clients": CLIENTS,
                        "worker_cpu_s": cpu, "workers_that_served": busy_workers, "errors": recorder.errors,
                        "by_kind": {k: common.latency_summary(recorder.latencies(k))
                                    for k in ("start", "organizations", "detail")}}}


if __name__ == "__main__":
    import json

    print(json.dumps(run("--quick" in sys.argv), indent=2))
