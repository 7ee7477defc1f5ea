"""Benchmark 6 — 50 concurrent users, a mixed workload, against gunicorn (4 workers × 4 threads).

The simulator answers with 20 ms latency; the portal's history is first filled by ``sync_sessions`` from it.
Each virtual user (a thread with its own keep-alive requests.Session) first signs in once through the sign-in
page (users start evenly over a short ramp; this phase is timed and reported apart, because each sign-in costs
one PBKDF2 password check — Django's default 1,000,000 iterations, ~0.3–0.4 s of CPU — and 50 of them at once
saturate a 2-core machine for ~10 s). When every user is in, the measured window starts, and until its end each
user repeats: think 0.5–1.5 s, then one action chosen by weight —

  28 % ``GET /api/sessions/`` with random filters     20 % ``GET /api/sessions/{id}/``
  17 % ``GET /sessions/`` (history page, HTML)        17 % ``GET /`` (dashboard, HTML)
  10 % ``GET /api/organizations/``                     3 % ``GET /sessions/{id}/`` (detail page, HTML)
   5 % start a session (``POST /api/sessions/``) and stop it (``POST /api/sessions/{id}/stop/``)

Every response's status and latency is recorded. An error is an exception or a status outside 2xx/3xx.
Figures: errors, sign-ins included (target 0); p99 latency of the measured window (target at most 300 ms);
the sign-in phase's p99 (reported).
"""
from __future__ import annotations

import random
import sys
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any

# Run as a script (`python bench/bench_x.py`) only bench/ is on sys.path; the repository root makes `bench` importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common

USERS = 50
ACCOUNTS = 10
TARGET_P99_MS = 300.0
THINK_S = (0.5, 1.5)
WEIGHTS = [("list_api", 28), ("detail_api", 20), ("history_html", 17), ("dashboard_html", 17),
           ("organizations_api", 10), ("detail_html", 3), ("start_stop_api", 5)]
LIST_FILTERS: list[dict[str, str]] = [{}, {"workload": "exchange"}, {"state": "stopped"}, {"result": "failed"},
                                      {"ordering": "oldest"}, {"search": "restore"}, {"ordering": "organization"},
                                      {"offset": "50"}]


def run(quick: bool) -> dict[str, Any]:
    duration = 10.0 if quick else 60.0
    ramp = 2.0 if quick else 5.0
    users = 20 if quick else USERS
    names = [f"bench_mixed{i:02d}" for i in range(ACCOUNTS)]
    with common.portal_stack("mixed", redis=12, sim_args=("--latency-ms", "20", "--seed", "16"), users=names,
                             setup=[("sync_sessions", "--no-events", "-v", "0")]) as stack:
        sim, base = stack.sim, stack.base
        org_id = common.sim_backed_up_organization(sim)["id"]
        recorder = common.Recorder()
        sign_ins = common.Recorder()
        known: list[str] = []
        lock = threading.Lock()
        go = threading.Event()
        signed_in = threading.Semaphore(0)
        window: dict[str, float] = {}
        common.log(f"mixed: {users} users sign in (ramp {ramp:g} s), then {duration:g} s of mixed load")

        def user(i: int) -> None:
            rng = random.Random(1000 + i)
            time.sleep(ramp * i / users)
            t = time.perf_counter()
            try:
                s = common.browser_session(base, names[i % ACCOUNTS], timeout=120)
                sign_ins.add("sign_in", 302, (time.perf_counter() - t) * 1000)
            except Exception as exc:  # noqa: BLE001 — a failed sign-in is an error of the run
                sign_ins.add("sign_in", 0, (time.perf_counter() - t) * 1000, repr(exc))
                return
            finally:
                signed_in.release()
            go.wait()
            deadline = window["end"]
            csrf = {"X-CSRFToken": s.cookies.get("csrftoken", ""), "Referer": f"{base}/"}
            kinds = [k for k, _ in WEIGHTS]
            weights = [w for _, w in WEIGHTS]
            while True:
                time.sleep(rng.uniform(*THINK_S))
                if time.monotonic() >= deadline:
                    return
                kind = rng.choices(kinds, weights)[0]
                with lock:
                    sid = rng.choice(known) if known else None
                if kind in ("detail_api", "detail_html") and sid is None:
                    kind = "list_api"
                if kind == "list_api":
                    params = rng.choice(LIST_FILTERS)
                    r = common.timed(recorder, kind, partial(s.get, f"{base}/api/sessions/", params=params, timeout=60))
                    if r is not None and r.status_code == 200:
                        ids = [row["id"] for row in r.json()["results"]]
                        with lock:
                            known.extend(ids[:5])
                            del known[:-500]
                elif kind == "detail_api":
                    common.timed(recorder, kind, partial(s.get, f"{base}/api/sessions/{sid}/", timeout=60))
                elif kind == "detail_html":
                    common.timed(recorder, kind, partial(s.get, f"{base}/sessions/{sid}/", timeout=60))
                elif kind == "history_html":
                    params = rng.choice([{}, {"workload": "exchange"}, {"page": "2"}])
                    common.timed(recorder, kind, partial(s.get, f"{base}/sessions/", params=params, timeout=60))
                elif kind == "dashboard_html":
                    common.timed(recorder, kind, lambda: s.get(f"{base}/", timeout=60))
                elif kind == "organizations_api":
                    common.timed(recorder, kind, lambda: s.get(f"{base}/api/organizations/", timeout=60))
                else:
                    r = common.timed(recorder, "start_api", lambda: s.post(
                        f"{base}/api/sessions/", json={"organization": org_id, "workload": "exchange",
                                                       "reason": f"bench mixed user {i}"},
                        headers={**csrf, "Idempotency-Key": common.new_key()}, timeout=60))
                    if r is not None and r.status_code == 201:
                        new_id = r.json()["id"]
                        common.timed(recorder, "stop_api", partial(
                            s.post, f"{base}/api/sessions/{new_id}/stop/", headers=csrf, timeout=60))

        threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(users)]
        sign_in_started = time.perf_counter()
        for thread in threads:
            thread.start()
        for _ in range(users):
            signed_in.acquire(timeout=300)
        sign_in_s = time.perf_counter() - sign_in_started
        workers = stack.worker_pids()
        cpu_before = {pid: common.cpu_seconds(pid) for pid in workers}
        window["end"] = time.monotonic() + duration
        go.set()
        for thread in threads:
            thread.join(timeout=duration + 90)
        server_cpu_s = sum(common.cpu_seconds(pid) - cpu_before[pid] for pid in workers)
        wall = time.perf_counter() - sign_in_started - sign_in_s

    ok = recorder.latencies()
    everything = [ms for _, _, ms in recorder.rows]
    errors = recorder.failures() + sign_ins.failures()
    p99 = common.percentile(everything, 99)
    sign_in_ms = [ms for _, _, ms in sign_ins.rows]
    labels = sorted({label for label, _, _ in recorder.rows})
    figures = [
        {"figure": f"6 mixed workload, {users} users {duration:g} s: errors", "measured": errors, "unit": "errors",
         "target": "0", "passed": errors == 0},
        {"figure": "6 mixed workload p99 (all requests of the window)", "measured": round(p99, 1), "unit": "ms",
         "target": f"<= {TARGET_P99_MS:g}", "passed": p99 <= TARGET_P99_MS},
        {"figure": f"6 sign-in of {users} users before the window: p99 (info)",
         "measured": round(common.percentile(sign_in_ms, 99), 1), "unit": "ms", "target": "-", "passed": None},
    ]
    return {"name": "mixed", "figures": figures, "passed": bool(figures[0]["passed"] and figures[1]["passed"]),
            "details": {"users": users, "accounts": ACCOUNTS, "duration_s": duration, "ramp_s": ramp,
                        "think_s": THINK_S, "window_wall_s": round(wall, 1), "sign_in_phase_s": round(sign_in_s, 1),
                        "requests": len(recorder.rows), "requests_per_s": round(len(recorder.rows) / duration, 1),
                        "errors": errors, "error_samples": sign_ins.errors + recorder.errors,
                        "portal_cpu_s": round(server_cpu_s, 1),
                        "portal_cpu_ms_per_request": round(server_cpu_s * 1000 / max(1, len(recorder.rows)), 1),
                        "all": common.latency_summary(everything), "ok_only": common.latency_summary(ok),
                        "sign_in": common.latency_summary(sign_in_ms),
                        "by_kind": {label: common.latency_summary(recorder.latencies(label, ok_only=False))
                                    for label in labels}}}


if __name__ == "__main__":
    import json

    print(json.dumps(run("--quick" in sys.argv), indent=2))
