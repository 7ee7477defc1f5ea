"""Benchmark 5 — CSV export of N audit events.

Inserts N audit events with one ``INSERT … SELECT … FROM generate_series`` (INSERT is allowed by the
append-only trigger; unique sequences continue the existing chain, hashes are sha256 of the sequence, and the
chain head is moved past them so the export's own audit record still fits), then:

* in-process: a child process with Django set up consumes ``exports.audit_csv_rows(selectors.audit_event_list())``
  — rows/s, and peak RSS growth during the export (VmHWM reset through /proc/self/clear_refs before it starts);
* HTTP: ``GET /audit/export.csv`` as a signed-in auditor against a single-worker gunicorn, streamed by the
  client with ``iter_content`` — rows/s, and the worker's RSS before and its peak during the export.

Figures: in-process rows/s (target at least 50,000), peak memory of the export (target at most 100 MB:
the larger of the in-process RSS growth and the gunicorn worker's RSS growth), HTTP rows/s (reported).
"""
from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

# Run as a script (`python bench/bench_x.py`) only bench/ is on sys.path; the repository root makes `bench` importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common

TARGET_RATE = 50_000.0
TARGET_MB = 100.0

FILL_SQL = """
INSERT INTO sessions_app_auditevent (sequence, created_at, actor_id, actor_username, on_behalf_of_username, action,
  outcome, organization_id, organization_name, workload, session_upstream_id, reason, scope, ticket, client_address,
  details, previous_hash, hash, key_id)
SELECT %(base)s + g, now() - (%(n)s - g) * interval '2 seconds', NULL, 'user' || lpad((g %% 40)::text, 2, '0'),
  CASE WHEN g %% 10 = 0 THEN 'enduser' || (g %% 300) ELSE '' END,
  (ARRAY['sign_in','session_start_attempt','session_start','session_stop','export','sync'])[1 + g %% 6],
  CASE WHEN g %% 17 = 0 THEN 'failure' ELSE 'success' END,
  md5('bench-org-' || (g %% 4))::uuid::text,
  (ARRAY['contoso.onmicrosoft.com','fabrikam.onmicrosoft.com',
         'northwind.onmicrosoft.com','adatum.onmicrosoft.com'])[1 + g %% 4],
  (ARRAY['exchange','onedrive','sharepoint','teams'])[1 + (g * 7) %% 4],
  md5('bench-session-' || g)::uuid::text,
  'INC-' || g || ': restore a deleted folder, "Projects, 2024", for user' || (g %% 5000),
  'mailbox of user' || (g %% 5000), 'INC-' || g, '10.0.' || (g %% 250) || '.' || (g %% 200),
  jsonb_build_object('start_request', md5('bench-key-' || g)::uuid::text, 'point_in_time', 'latest',
                     'restore_point_id', '', 'show_deleted', false, 'show_all_versions', false),
  encode(sha256(convert_to('bench-audit-' || (%(base)s + g - 1), 'UTF8')), 'hex'),
  encode(sha256(convert_to('bench-audit-' || (%(base)s + g), 'UTF8')), 'hex'), 'bench'
FROM generate_series(1::bigint, %(n)s::bigint) AS g
"""


def fill(dbname: str, n: int) -> float:
    t = time.perf_counter()
    base = common.pg_scalar(dbname, "SELECT coalesce(max(sequence), 0) FROM sessions_app_auditevent")
    common.pg_execute(dbname, FILL_SQL, {"base": base, "n": n})
    common.pg_execute(dbname, "VACUUM ANALYZE sessions_app_auditevent")
    return time.perf_counter() - t


def _child() -> None:
    import django

    django.setup()
    from django.db import connection

    from sessions_app import exports, selectors

    connection.ensure_connection()
    rss_before = _self_kb("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM to the current RSS
    rows = -1
    size = 0
    t = time.perf_counter()
    for line in exports.audit_csv_rows(selectors.audit_event_list()):
        rows += line.count("\n")
        size += len(line)
    wall = time.perf_counter() - t
    print(json.dumps({"rows": rows, "bytes": size, "wall_s": wall, "rss_before_kb": rss_before,
                      "hwm_kb": _self_kb("VmHWM")}))


def _self_kb(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def _http_export(env: dict[str, str]) -> dict[str, Any]:
    with common.gunicorn(env, workers=1, threads=2, name="export") as (base, master):
        session = common.browser_session(base, "bench_auditor")
        session.get(f"{base}/audit/", timeout=60).raise_for_status()  # warm the worker
        worker = common.children_pids(master.pid)[0]
        rss_before = common.proc_status_kb(worker, "VmRSS")
        try:
            with open(f"/proc/{worker}/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass
        peak = [rss_before]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], common.proc_status_kb(worker, "VmRSS"))
                time.sleep(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        lines = size = 0
        t = time.perf_counter()
        with session.get(f"{base}/audit/export.csv", stream=True, timeout=600) as response:
            response.raise_for_status()
            for chunk in response.iter_content(65536):
                lines += chunk.count(b"\n")
                size += len(chunk)
        wall = time.perf_counter() - t
        done.set()
        sampler.join()
        hwm = max(peak[0], common.proc_status_kb(worker, "VmHWM"))
        return {"rows": lines - 1, "bytes": size, "wall_s": round(wall, 2), "rows_per_s": round((lines - 1) / wall),
                "worker_rss_before_mb": round(rss_before / 1024, 1), "worker_peak_rss_mb": round(hwm / 1024, 1),
                "worker_rss_growth_mb": round((hwm - rss_before) / 1024, 1)}


def run(quick: bool) -> dict[str, Any]:
    n = 50_000 if quick else 1_000_000
    with common.redis_db(13) as cache, common.database("export") as db:
        env = common.portal_env(database=common.pg_url(db), cache=cache, vb365_url="http://127.0.0.1:9")
        common.add_users(env, ["bench_auditor"], "auditor")
        fill_s = fill(db, n)
        total = common.pg_scalar(db, "SELECT count(*) FROM sessions_app_auditevent")
        common.log(f"export: {total:,} audit events in the table ({fill_s:.1f} s to insert)")
        inproc = common.run_child(__file__, env=env, what="export")
        http = _http_export(env)
    rate = inproc["rows"] / inproc["wall_s"]
    growth_mb = (inproc["hwm_kb"] - inproc["rss_before_kb"]) / 1024
    peak_mb = max(growth_mb, http["worker_rss_growth_mb"])
    complete = inproc["rows"] == total and http["rows"] >= total
    figures = [
        {"figure": f"5 CSV export of {total:,} audit events (in-process)", "measured": round(rate),
         "unit": "rows/s", "target": f">= {TARGET_RATE:,.0f}", "passed": rate >= TARGET_RATE and complete},
        {"figure": "5 CSV export peak memory growth (max of in-process, gunicorn worker)",
         "measured": round(peak_mb, 1), "unit": "MB", "target": f"<= {TARGET_MB:g}",
         "passed": peak_mb <= TARGET_MB and complete},
        {"figure": "5 CSV export through GET /audit/export.csv (info)", "measured": http["rows_per_s"],
         "unit": "rows/s", "target": "-", "passed": None},
    ]
    return {"name": "export", "figures": figures, "passed": figures[0]["passed"] and figures[1]["passed"],
            "details": {"events": total, "fill_s": round(fill_s, 1),
                        "in_process": {"rows": inproc["rows"], "bytes": inproc["bytes"],
                                       "wall_s": round(inproc["wall_s"], 2), "rows_per_s": round(rate),
                                       "rss_before_mb": round(inproc["rss_before_kb"] / 1024, 1),
                                       "peak_rss_mb": round(inproc["hwm_kb"] / 1024, 1),
                                       "rss_growth_mb": round(growth_mb, 1)},
                        "http": http}}


if __name__ == "__main__":
    if "--child" in sys.argv:
        _child()
    else:
        print(json.dumps(run("--quick" in sys.argv), indent=2))
