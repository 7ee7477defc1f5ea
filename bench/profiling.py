"""Profiles behind the benchmarks' figures (an investigation tool, not part of ``make bench``).

    .venv/bin/python bench/profiling.py export  [--rows 50000]     cProfile of exports.audit_csv_rows
    .venv/bin/python bench/profiling.py sync    [--rows 50000]     cProfile of manage.py sync_sessions --no-events
    .venv/bin/python bench/profiling.py api     [--requests 40]    cProfile of POST /api/sessions/ and GET
                                                                 /api/sessions/{id}/ (Django test client,
                                                                 simulator at 20 ms), plus SQL query counts

Each prints the top functions (cumulative and own time) and writes the raw profile to bench/results/*.prof.
Same databases, Redis dbs and clean-up rules as the benchmarks.
"""
from __future__ import annotations

import argparse
import json
import pstats
import subprocess
import sys
from pathlib import Path

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
from django.db import connection, reset_queries
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
ids = [start().json()["id"] for _ in range(3)]
for i in ids: c.get(f"/api/sessions/{i}/", **h)
with CaptureQueriesContext(connection) as q:
    start()
print("SQL queries in one POST /api/sessions/:", len(q.captured_queries))
with CaptureQueriesContext(connection) as q:
    c.get(f"/api/sessions/{ids[0]}/", **h)
print("SQL queries in one GET /api/sessions/{id}/ (cached, < 2 s old):", len(q.captured_queries))
for kind in ("start", "read"):
    profile = cProfile.Profile()
    new_ids = []
    t = time.perf_counter()
    profile.enable()
    for _ in range(n):
        if kind == "start":
            new_ids.append(start().json()["id"])
        else:
            c.get(f"/api/sessions/{ids[_ % len(ids)]}/", **h)
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
    for kind in ("start", "read"):
        _print(Path(f"{out}-{kind}.prof"), 30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["export", "sync", "api"])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    common.RESULTS.mkdir(parents=True, exist_ok=True)
    {"export": lambda: profile_export(args.rows), "sync": lambda: profile_sync(args.rows),
     "api": lambda: profile_api(args.requests)}[args.what]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
