"""Profiles behind the benchmarks' figures (an investigation tool, not part of ``make bench``).

    .venv/bin/python bench/profiling.py export  [--rows 50000]     cProfile of exports.audit_csv_rows
    .venv/bin/python bench/profiling.py sync    [--rows 50000]     cProfile of manage.py sync_sessions --no-events
    .venv/bin/python bench/profiling.py api     [--requests 40]    cProfile of POST /api/sessions/ and GET
                                                                 /api/sessions/{id}/ (Django test client,
                                                                 simulator at 20 ms), plus SQL query counts
    .venv/bin/python bench/profiling.py live    [--kind start] [--seconds 15]
                                                                 py-spy over gunicorn's workers while 8 clients
                                                                 send benchmark 1's requests (start, read or
                                                                 unknown: the 404 of an unknown session id);
                                                                 samples only threads holding the GIL, so the
                                                                 shares are of CPU time, not of waiting
    .venv/bin/python bench/profiling.py cpu     [--requests 400]   gunicorn and PostgreSQL CPU per start, read
                                                                 and unknown-id 404 (4 clients, ≈ 1 min): the
                                                                 quick check of a change to the request path

Each prints the top functions (cumulative and own time) and writes the raw profile to bench/results/*.prof.
Same databases, Redis dbs and clean-up rules as the benchmarks.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import pstats
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import bench_export, common  # noqa: E402


def _print(path: Path, limit: int = 25) -> None:
    stats = pstats.Stats(str(path))
    stats.strip_dirs()
    print(f"\n=== {path.name}: by cumulative time ===")
    stats.sort_stats("cumulative").print_stats(limit)
    print(f"\n=== {path.name}: by own time ===")
    stats.sort_stats("tottime").print_stats(limit)


EXPORT_CHILD = """
import cProfile, django, sys, time
django.setup()
from sessions_app import exports, selectors
out = sys.argv[1]
profile = cProfile.Profile()
t = time.perf_counter()
profile.enable()
rows = sum(1 for _ in exports.audit_csv_rows(selectors.audit_event_list()))
profile.disable()
profile.dump_stats(out)
print(rows - 1, "rows in", round(time.perf_counter() - t, 2), "s (profiled)")
"""

API_CHILD = """
import cProfile, django, sys, time, uuid, json
django.setup()
from django.conf import settings
settings.ALLOWED_HOSTS = ["*"]
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
org_id, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
c = Client()
token = c.post("/api/auth/token/", {"username": "bench_profile", "password": sys.argv[4]},
               content_type="application/json").json()["token"]
h = {"HTTP_AUTHORIZATION": "Token " + token}
c.get("/api/organizations/", **h)
def start():
    return c.post("/api/sessions/", {"organization": org_id, "workload": "exchange", "reason": "profile"},
                  content_type="application/json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()), **h)
def read(session_id):
    return c.get(f"/api/sessions/{session_id}/", **h)
def unknown():
    return c.get(f"/api/sessions/{uuid.uuid4()}/", **h)
# Benchmark 1 reads each session more than LIVE_REFRESH_INTERVAL (2 s) after the previous read: one upstream
# read per portal read. The sessions read here are therefore all older than that when they are read.
ids = [start().json()["id"] for _ in range(n + 3)]
for _ in range(25):
    unknown()  # past AUDIT_REFUSAL_TARGETS_PER_WINDOW: further unknown ids are counted under "*", as in the bench
time.sleep(2.1)
for what, call in (("POST /api/sessions/", start), ("GET /api/sessions/{id}/ (re-read from VB365)",
                   lambda: read(ids.pop())), ("GET /api/sessions/{unknown id}/ (404)", unknown)):
    with CaptureQueriesContext(connection) as q:
        status = call().status_code
    print(f"\\nSQL statements in one {what} -> {status}: {len(q.captured_queries)}")
    for query in q.captured_queries:
        print("   ", query["time"], query["sql"][:300])
time.sleep(2.1)
for kind in ("start", "read", "unknown"):
    profile = cProfile.Profile()
    t = time.perf_counter()
    profile.enable()
    for _ in range(n):
        {"start": start, "read": lambda: read(ids.pop()), "unknown": unknown}[kind]()
    profile.disable()
    print(kind, n, "requests,", round((time.perf_counter() - t) / n * 1000, 1), "ms each (profiled, one client)")
    profile.dump_stats(out + f"-{kind}.prof")
"""


def profile_export(rows: int) -> None:
    with common.database("profile_export") as db:
        env = common.portal_env(database=common.pg_url(db), cache="locmemcache://", vb365_url="http://127.0.0.1:9")
        bench_export.fill(db, rows)
        out = common.RESULTS / "export.prof"
        subprocess.run([common.PY, "-c", EXPORT_CHILD, str(out)], cwd=common.ROOT, env=env, check=True)
    _print(out)


def profile_sync(rows: int) -> None:
    out = common.RESULTS / "sync.prof"
    with common.simulator("--sessions", str(rows), "--seed", "14") as (sim, _, _), \
            common.database("profile_sync") as db:
        env = common.portal_env(database=common.pg_url(db), cache="locmemcache://", vb365_url=sim)
        subprocess.run([common.PY, "-m", "cProfile", "-o", str(out), "manage.py", "sync_sessions", "--no-events"],
                       cwd=common.ROOT, env=env, check=True)
    _print(out)


def profile_api(n: int) -> None:
    out = common.RESULTS / "api"
    with common.redis_db(15) as cache, common.simulator("--latency-ms", "20", "--seed", "11") as (sim, _, _), \
            common.database("profile_api") as db:
        env = common.portal_env(database=common.pg_url(db), cache=cache, vb365_url=sim)
        common.add_users(env, ["bench_profile"], "helpdesk")
        org_id = common.sim_backed_up_organization(sim)["id"]
        subprocess.run([common.PY, "-c", API_CHILD, org_id, str(n), str(out), common.PASSWORD], cwd=common.ROOT,
                       env=env, check=True)
        print("simulator calls:", json.dumps(common.sim_stats(sim)["requests"], indent=1))
    for kind in ("start", "read", "unknown"):
        _print(Path(f"{out}-{kind}.prof"), 30)


LIVE_CLIENTS = 8


class _ApiStack:
    """Benchmark 1's stack for the `live` and `cpu` profiles: the portal over the simulator at 20 ms, a token,
    the organizations read in, and starts that remember the ids of the sessions they made."""

    def __init__(self, stack: Any) -> None:
        import threading

        import requests

        self.stack = stack
        self.base = stack.base
        self.org_id = common.sim_backed_up_organization(stack.sim)["id"]
        self.headers = {"Authorization": f"Token {common.api_token(stack.base, 'bench_profile')}"}
        # Reads the organizations from VB365 into the portal, as benchmark 1 does before its rounds.
        requests.get(f"{stack.base}/api/organizations/", headers=self.headers, timeout=30).raise_for_status()
        self.ids: list[str] = []
        self.lock = threading.Lock()

    def start(self, s: Any) -> None:
        response = s.post(f"{self.base}/api/sessions/", json={
            "organization": self.org_id, "workload": "exchange", "reason": "profile"},
            headers={"Idempotency-Key": common.new_key()}, timeout=60)
        response.raise_for_status()
        with self.lock:
            self.ids.append(response.json()["id"])


@contextlib.contextmanager
def _api_stack(name: str) -> Iterator[_ApiStack]:
    with common.portal_stack(name, redis=15, sim_args=("--latency-ms", "20", "--seed", "11"),
                             users=["bench_profile"]) as stack:
        yield _ApiStack(stack)


def profile_live(kind: str, seconds: int) -> None:
    """Benchmark 1's load for `seconds`, sampled by py-spy in every gunicorn worker; prints the functions
    that hold the most CPU (inclusive) and writes the collapsed stacks to bench/results/live-<kind>.txt."""
    import threading
    import time
    import uuid

    import requests

    out = common.RESULTS / f"live-{kind}.txt"
    with _api_stack("profile_live") as api:
        stack, ids, lock, start = api.stack, api.ids, api.lock, api.start
        running = threading.Event()
        running.set()
        measured = [0]  # requests of the profiled kind answered so far

        def body(i: int) -> None:
            s = requests.Session()
            s.headers.update(api.headers)
            n = 0
            while running.is_set():
                n += 1
                if kind == "start" or (kind == "read" and len(ids) < 200):
                    start(s)
                elif kind == "read":
                    with lock:
                        session_id = ids[(i * 7919 + n) % len(ids)]
                    s.get(f"{stack.base}/api/sessions/{session_id}/", timeout=60)
                else:
                    s.get(f"{stack.base}/api/sessions/{uuid.uuid4()}/", timeout=60)
                if kind != "read" or len(ids) >= 200:
                    with lock:
                        measured[0] += 1

        clients = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(LIVE_CLIENTS)]
        for client in clients:
            client.start()
        # Sampling starts once every worker has served dozens of the profiled requests: their first ones
        # import modules and open connections, which is not what the figures are about.
        warm_until = time.monotonic() + 120
        while measured[0] < 25 * LIVE_CLIENTS and time.monotonic() < warm_until:
            time.sleep(0.2)
        subprocess.run([str(Path(common.PY).with_name("py-spy")), "record", "--pid", str(stack.master.pid),
                        "--subprocesses", "--gil", "--nonblocking", "--rate", "200", "--duration", str(seconds),
                        "--format", "raw", "--output", str(out)], check=True, capture_output=True)
        running.clear()
        for client in clients:
            client.join(timeout=90)
    _print_collapsed(out)


def profile_cpu(requests_per_kind: int) -> None:
    """gunicorn and PostgreSQL CPU per request of each kind of benchmark 1 (start, read, unknown), from 4
    clients against the same stack: the quick way to see what a change to the request path saves."""
    import time
    import uuid

    import requests

    with _api_stack("profile_cpu") as api:
        stack, ids, lock, start = api.stack, api.ids, api.lock, api.start
        clients = [requests.Session() for _ in range(4)]
        for client in clients:
            client.headers.update(api.headers)

        def read(s: requests.Session) -> None:
            with lock:
                session_id = ids.pop(0)
            s.get(f"{stack.base}/api/sessions/{session_id}/", timeout=60).raise_for_status()

        def unknown(s: requests.Session) -> None:
            assert s.get(f"{stack.base}/api/sessions/{uuid.uuid4()}/", timeout=60).status_code == 404

        database = stack.env["DATABASE_URL"].rsplit("/", 1)[1]

        def cpu() -> tuple[dict[int, float], dict[int, float]]:
            return ({pid: common.cpu_seconds(pid) for pid in stack.worker_pids()},
                    common.postgres_backend_cpu_seconds(database))

        for kind, call in (("warm", start), ("start", start), ("read", read), ("unknown", unknown)):
            count = 8 if kind == "warm" else requests_per_kind
            before, t = cpu(), time.perf_counter()
            def body(i: int, call: Any = call, per_client: int = count // len(clients)) -> None:
                for _ in range(per_client):
                    call(clients[i])

            common.run_clients(len(clients), body, time_limit=300)
            after, wall = cpu(), time.perf_counter() - t
            n = count // len(clients) * len(clients)
            if kind != "warm":
                gunicorn_ms = common.cpu_spent(before[0], after[0]) * 1000 / n
                postgres_ms = common.cpu_spent(before[1], after[1]) * 1000 / n
                print(f"{kind:8} gunicorn {gunicorn_ms:6.2f} ms/request, PostgreSQL {postgres_ms:5.2f} ms/request, "
                      f"{wall * 1000 / n * len(clients):6.1f} ms per request per client ({n} requests, load "
                      f"{os.getloadavg()[0]:.2f})", flush=True)


def _print_collapsed(path: Path, limit: int = 45) -> None:
    inclusive: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        samples = int(count)
        total += samples
        # Frames are "function (module/path.py:line)", after the process's own entry. Lines are folded.
        for frame in {frame.rsplit(":", 1)[0] + ")" for frame in stack.split(";") if not frame.startswith("process ")}:
            inclusive[frame] = inclusive.get(frame, 0) + samples
    print(f"\n=== {path.name}: share of CPU samples (GIL held) per function, inclusive; {total} samples ===")
    for frame, samples in sorted(inclusive.items(), key=lambda item: -item[1])[:limit]:
        print(f"{samples * 100 / max(1, total):5.1f}%  {frame}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["export", "sync", "api", "live", "cpu"])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--kind", choices=["start", "read", "unknown"], default="start")
    parser.add_argument("--seconds", type=int, default=15)
    args = parser.parse_args()
    common.RESULTS.mkdir(parents=True, exist_ok=True)
    {"export": lambda: profile_export(args.rows), "sync": lambda: profile_sync(args.rows),
     "api": lambda: profile_api(args.requests), "live": lambda: profile_live(args.kind, args.seconds),
     "cpu": lambda: profile_cpu(args.requests)}[args.what]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
