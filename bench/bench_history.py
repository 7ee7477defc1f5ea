"""Benchmark 3 — the history list (filtered, sorted, paged) over N cached sessions on PostgreSQL.

Fills ``sessions_app_restoresession`` with N rows in one ``INSERT … SELECT … FROM generate_series`` (6
organizations, 4 workloads, states/results, creation times over a year, a third requested through the portal by
30 users, reason/scope/ticket text), ANALYZEs, then — in a child process with Django set up on that
database — times exactly what the history page and the API do: ``selectors.restore_session_list(user=<helpdesk>,
…filters…)`` + ``selectors.capped_count(qs)`` + fetching the page's rows (as the API pages), over a mix of filter
combinations (organization, workload, state, result, date range, search text, requester, orderings, deep
offsets). Each combination runs several times in shuffled order. The same mix is also timed through HTTP,
``GET /api/sessions/?…`` against gunicorn (reported, not the target).

Figure: p95 (ms) of the in-process list over all runs. Target: at most 50 ms.
The slowest combinations' EXPLAIN ANALYZE plans are saved in the JSON (details.explain).
"""
from __future__ import annotations

import json
import random
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import requests

# Run as a script (`python bench/bench_x.py`) only bench/ is on sys.path; the repository root makes `bench` importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common

TARGET_MS = 50.0
PAGE = 25
ORGS = ["contoso.onmicrosoft.com", "fabrikam.onmicrosoft.com", "northwind.onmicrosoft.com",
        "adatum.onmicrosoft.com", "litware.onmicrosoft.com", "tailspin.onmicrosoft.com"]
N_USERS = 30

FILL_SQL = """
INSERT INTO sessions_app_restoresession (
  created_at, updated_at, upstream_id, organization_id, organization_name, workload, name, state, result,
  creation_time, end_time, upstream_point_in_time, initiated_by, details, scope_name, client_host, upstream_reason,
  etag, raw, fetched_at, api_version, forgotten_upstream_at, origin, requested_by_id, on_behalf_of_id, reason, scope,
  ticket, requested_point_in_time, requested_latest, restore_point_id, show_deleted, show_all_versions,
  events_fetched_at, last_seen_sync)
SELECT now(), now(), md5('bench-session-' || g)::uuid, o.id, o.name, w.workload,
  initcap(w.workload) || ' restore session (' || o.name || ')',
  CASE WHEN g %% 2000 = 0 THEN 'working' ELSE 'stopped' END,
  (ARRAY['success','success','success','success','warning','failed'])[1 + (g * 7) %% 6],
  t.ct, CASE WHEN g %% 2000 = 0 THEN NULL ELSE t.ct + interval '37 minutes' END, t.ct - interval '3 hours',
  CASE WHEN g %% 3 = 0 THEN 'admin' ELSE (ARRAY['CONTOSO\\administrator','console:helpdesk01',
       'PowerShell (svc-restore)','NORTHWIND\\backupadmin'])[1 + g %% 4] END,
  'Restore point ' || (100000 + g %% 365) || '.', '', '10.0.' || (g %% 250) || '.' || (g %% 200),
  CASE WHEN g %% 3 = 0 THEN '' ELSE 'Ticket ' || (g %% 9973) END,
  g, '{}'::jsonb, now(), 8, NULL,
  CASE WHEN g %% 3 = 0 THEN 'portal' ELSE 'upstream' END,
  CASE WHEN g %% 3 = 0 THEN u.id END, NULL,
  CASE WHEN g %% 3 = 0 THEN 'INC-' || g || ': restore ' ||
       (ARRAY['a deleted folder','the mailbox','a site library','a team chat','a OneDrive file'])[1 + g %% 5] ||
       ' for user' || (g %% 5000) ELSE '' END,
  CASE WHEN g %% 3 = 0 THEN 'mailbox of user' || (g %% 5000) ELSE '' END,
  CASE WHEN g %% 6 = 0 THEN 'INC-' || g ELSE '' END,
  NULL, g %% 3 = 0, '', false, false, t.ct + interval '40 minutes', 1
FROM generate_series(1::bigint, %(n)s::bigint) AS g
CROSS JOIN LATERAL (SELECT now() - (g::float8 / %(n)s) * interval '365 days'
                           - ((g * 7919) %% 3600) * interval '1 second' AS ct) AS t
CROSS JOIN LATERAL (SELECT id, name FROM sessions_app_organization
                    ORDER BY id OFFSET ((g * 31 + g / 7) %% %(orgs)s) LIMIT 1) AS o
CROSS JOIN LATERAL (SELECT (ARRAY['exchange','exchange','onedrive','sharepoint','teams'])[1 + (g * 13) %% 5]
                           AS workload) AS w
LEFT JOIN LATERAL (SELECT id FROM auth_user WHERE username = 'requester' || lpad(((g / 3) %% %(users)s)::text, 2, '0')
                   ) AS u ON true
"""


def fill(dbname: str, n: int) -> float:
    t = time.perf_counter()
    common.pg_execute(dbname, """
        INSERT INTO sessions_app_organization (created_at, updated_at, upstream_id, name, is_backed_up,
            first_backup, last_backup, raw, fetched_at)
        SELECT now(), now(), md5('bench-org-' || name)::uuid, name, true, now() - interval '400 days',
               now() - interval '3 hours', '{}'::jsonb, now()
        FROM unnest(%s::text[]) AS name""", (ORGS,))
    common.pg_execute(dbname, """
        INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active,
                               date_joined)
        SELECT '!', false, 'requester' || lpad(i::text, 2, '0'), '', '', '', false, true, now()
        FROM generate_series(0, %s - 1) AS i""", (N_USERS,))
    common.pg_execute(dbname, FILL_SQL, {"n": n, "orgs": len(ORGS), "users": N_USERS})
    common.pg_execute(dbname, "VACUUM ANALYZE sessions_app_restoresession")
    return time.perf_counter() - t


def combinations(org_ids: list[str], n: int) -> list[tuple[str, dict[str, Any], int]]:
    now = datetime.now(timezone.utc)
    deep = min(2000, n // PAGE // 2)
    deep_exchange = min(1000, n * 2 // 5 // PAGE // 2)
    return [
        ("newest, page 1", {}, 1),
        ("newest, page 2", {}, 2),
        ("organization", {"organization": org_ids[0]}, 1),
        ("workload + state", {"workload": "teams", "state": "stopped"}, 1),
        ("result failed", {"result": "failed"}, 1),
        ("last 30 days", {"started_after": now - timedelta(days=30)}, 1),
        ("org + workload + 90 days", {"organization": org_ids[1], "workload": "exchange",
                                      "started_after": now - timedelta(days=90)}, 1),
        ("one week, 6 months ago", {"started_after": now - timedelta(days=190),
                                    "started_before": now - timedelta(days=183)}, 1),
        ("requested_by", {"requested_by": "requester07"}, 1),
        ("search ticket (rare)", {"search": "INC-424242"}, 1),
        ("search word (common)", {"search": "mailbox"}, 1),
        ("order organization", {"ordering": "organization"}, 1),
        ("order state", {"ordering": "state"}, 1),
        ("order oldest", {"ordering": "oldest"}, 1),
        ("order state, working", {"ordering": "state", "state": "working"}, 1),
        (f"deep offset (page {deep})", {}, deep),
        (f"deep offset, exchange (page {deep_exchange})", {"workload": "exchange"}, deep_exchange),
    ]


def _child(reps: int) -> None:
    """Runs inside Django (env set by the parent); prints one JSON line."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from sessions_app import selectors
    from sessions_app.models import Organization, RestoreSession
    from sessions_app.specs import SessionQuery

    user = get_user_model().objects.get(username="bench_history")
    org_ids = [str(u) for u in Organization.objects.order_by("id").values_list("upstream_id", flat=True)]
    combos = combinations(org_ids, RestoreSession.objects.count())
    runs = [(name, kwargs, page) for name, kwargs, page in combos for _ in range(reps)]
    random.Random(3).shuffle(runs)

    # The history page's form and the API's filters hand the selector a SessionQuery, the organization already
    # looked up; so are the organizations here, before anything is timed.
    organizations = {str(o.upstream_id): o for o in Organization.objects.all()}

    def query_of(kwargs: dict[str, Any]) -> SessionQuery:
        fields: dict[str, Any] = {k: organizations[v] if k == "organization" else v for k, v in kwargs.items()}
        return SessionQuery(**fields)

    def once(kwargs: dict[str, Any], page: int) -> int:
        user.__dict__.pop("_portal_role", None)  # a fresh request object each time, as in a view
        qs = selectors.restore_session_list(user=user, query=query_of(kwargs))
        # What a page costs in the product (api/pagination.py, views.CappedPaginator): the capped count, then
        # the page's rows plus one (to know whether another page follows).
        selectors.capped_count(qs)
        return len(selectors.page_rows(qs, offset=(page - 1) * PAGE, limit=PAGE + 1)[:PAGE])

    for _name, kwargs, page in combos:  # warm caches and connections once
        once(kwargs, page)
    timings: dict[str, list[float]] = {name: [] for name, _, _ in combos}
    rows: dict[str, int] = {}
    for name, kwargs, page in runs:
        t = time.perf_counter()
        rows[name] = once(kwargs, page)
        timings[name].append((time.perf_counter() - t) * 1000)
    slowest = sorted(combos, key=lambda c: -sorted(timings[c[0]])[len(timings[c[0]]) // 2])[:4]
    explain: dict[str, list[dict[str, Any]]] = {}
    for name, kwargs, page in slowest:
        # The statements the list really runs (role lookup, COUNT, page), each with its EXPLAIN ANALYZE.
        with CaptureQueriesContext(connection) as captured:
            once(kwargs, page)
        explain[name] = []
        for query in captured.captured_queries:
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
                plan = "\n".join(row[0] for row in cursor.fetchall())
            explain[name].append({"sql": query["sql"], "ms": float(query["time"]) * 1000, "plan": plan})
    counts = {name: selectors.restore_session_list(user=user, query=query_of(kwargs)).count()
              for name, kwargs, _ in combos}
    connection.close()
    print(json.dumps({"timings": timings, "rows": rows, "counts": counts, "explain": explain,
                      "combos": [(n, {k: str(v) for k, v in kw.items()}, p) for n, kw, p in combos]}))


def _http(base: str, token: str, combos: list[tuple[str, dict[str, str], int]], reps: int) -> dict[str, list[float]]:
    s = requests.Session()
    s.headers["Authorization"] = f"Token {token}"
    timings: dict[str, list[float]] = {name: [] for name, _, _ in combos}
    runs = [c for c in combos for _ in range(reps)]
    random.Random(4).shuffle(runs)
    for _name, kwargs, page in combos:
        s.get(f"{base}/api/sessions/", params={**kwargs, "limit": str(PAGE), "offset": str((page - 1) * PAGE)},
              timeout=120)
    for name, kwargs, page in runs:
        params = {k: (v.replace("+00:00", "Z") if k.startswith("started_") else v) for k, v in kwargs.items()}
        t = time.perf_counter()
        r = s.get(f"{base}/api/sessions/", params={**params, "limit": str(PAGE), "offset": str((page - 1) * PAGE)},
                  timeout=120)
        ms = (time.perf_counter() - t) * 1000
        if r.status_code != 200:
            raise RuntimeError(f"GET /api/sessions/ {params} answered {r.status_code}: {r.text[:300]}")
        timings[name].append(ms)
    return timings


def run(quick: bool) -> dict[str, Any]:
    n = 50_000 if quick else 1_000_000
    reps = 2 if quick else 7
    with common.redis_db(14) as cache, common.database("history") as db:
        env = common.portal_env(database=common.pg_url(db), cache=cache, vb365_url="http://127.0.0.1:9")
        common.add_users(env, ["bench_history"], "helpdesk")
        fill_s = fill(db, n)
        rows_in_table = common.pg_scalar(db, "SELECT count(*) FROM sessions_app_restoresession")
        common.log(f"history: {rows_in_table} sessions inserted in {fill_s:.1f} s")
        data = common.run_child(__file__, str(reps), env=env, what="history")
        with common.gunicorn(env, workers=4, threads=4, name="history") as (base, _):
            token = common.api_token(base, "bench_history")
            http = _http(base, token, [tuple(c) for c in data["combos"]], reps)

    all_ms = [ms for values in data["timings"].values() for ms in values]
    all_http = [ms for values in http.values() for ms in values]
    p95 = common.percentile(all_ms, 95)
    per_combo = {name: {"p50_ms": round(common.percentile(v, 50), 2), "max_ms": round(max(v), 2),
                        "http_p50_ms": round(common.percentile(http[name], 50), 2),
                        "matching_rows": data["counts"][name]}
                 for name, v in data["timings"].items()}
    figures = [{"figure": f"3 history list p95 over {rows_in_table:,} sessions (in-process)",
                "measured": round(p95, 1), "unit": "ms", "target": f"<= {TARGET_MS:g}", "passed": p95 <= TARGET_MS},
               {"figure": "3 history list p95 through GET /api/sessions/ (info)",
                "measured": round(common.percentile(all_http, 95), 1), "unit": "ms", "target": "-", "passed": None}]
    return {"name": "history", "figures": figures, "passed": figures[0]["passed"],
            "details": {"sessions": rows_in_table, "fill_s": round(fill_s, 1), "reps": reps,
                        "in_process": common.latency_summary(all_ms), "http": common.latency_summary(all_http),
                        "per_combination": per_combo, "explain": data["explain"]}}


if __name__ == "__main__":
    if "--child" in sys.argv:
        _child(int(sys.argv[sys.argv.index("--child") + 1]))
    else:
        print(json.dumps(run("--quick" in sys.argv), indent=2))
