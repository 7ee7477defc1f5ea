"""Benchmark 7 — the task queue on PostgreSQL (`manage.py worker`, django-tasks-db).

a) Time from enqueue to start with one idle worker (default polling interval, 1 s): 100 tasks (30 quick),
   one at a time, each enqueued at a random moment after the previous one finished; median and p95 of
   started_at - enqueued_at.
b) Tasks per second drained by two workers: 5,000 tasks (1,000 quick) queued first, then two `--batch` workers;
   the rate is the count over first start to last finish (database timestamps).

Figures are information (no target in the issue).
"""
from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

# Run as a script (`python bench/bench_x.py`) only bench/ is on sys.path; the repository root makes `bench` importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common


def run(quick: bool) -> dict[str, Any]:
    latency_tasks, drain_tasks = (30, 1000) if quick else (100, 5000)
    with common.database("tasks") as dbname:
        env = common.portal_env(database=common.pg_url(dbname), cache="locmemcache://",
                                vb365_url="http://127.0.0.1:9")
        worker = subprocess.Popen([common.PY, "manage.py", "worker", "--no-scheduler", "--verbosity", "0"],
                                  cwd=common.ROOT, env=env, start_new_session=True)
        try:
            latency = common.run_child(__file__, "latency", str(latency_tasks), env=env, what="latency")
        finally:
            worker.terminate()
            worker.wait(timeout=30)
        common.run_child(__file__, "enqueue", str(drain_tasks), env=env, what="enqueue")
        workers = [subprocess.Popen([common.PY, "manage.py", "worker", "--no-scheduler", "--batch", "--interval", "0",
                                     "--no-startup-delay", "--verbosity", "0"], cwd=common.ROOT, env=env,
                                    start_new_session=True) for _ in range(2)]
        for process in workers:
            process.wait(timeout=1800)
        drained = common.run_child(__file__, "drained", env=env, what="drain summary")
    figures = [
        {"figure": "7 enqueue to start, idle worker, median", "measured": latency["median_ms"], "unit": "ms",
         "target": "info", "passed": None},
        {"figure": "7 enqueue to start, idle worker, p95", "measured": latency["p95_ms"], "unit": "ms",
         "target": "info", "passed": None},
        {"figure": "7 tasks drained per second, two workers, PostgreSQL", "measured": drained["per_second"],
         "unit": "tasks/s", "target": "info", "passed": None},
    ]
    return {"name": "tasks", "figures": figures, "passed": drained["count"] == drain_tasks and drained["once"],
            "latency": latency, "drained": drained}


def _child(mode: str, *args: str) -> None:
    import django

    django.setup()
    from django_tasks_db.models import DBTaskResult

    from bench import tasks_bench

    if mode == "latency":
        waits = []
        for number in range(int(args[0])):
            time.sleep(random.uniform(0, 1.0))
            result = tasks_bench.noop.enqueue(number=number)
            while True:
                row = DBTaskResult.objects.get(pk=result.id)
                if row.finished_at:
                    break
                time.sleep(0.01)
            assert row.started_at is not None, "a finished task has started"
            waits.append((row.started_at - row.enqueued_at).total_seconds() * 1000)
        print(json.dumps({"median_ms": round(common.median(waits), 1), "p95_ms": round(common.percentile(waits, 95), 1),
                          "tasks": len(waits)}))
    elif mode == "enqueue":
        DBTaskResult.objects.all().delete()
        for number in range(int(args[0])):
            tasks_bench.noop.enqueue(number=number)
        print(json.dumps({"enqueued": int(args[0])}))
    elif mode == "drained":
        rows = list(DBTaskResult.objects.values_list("status", "started_at", "finished_at", "worker_ids"))
        done = [row for row in rows if row[0] == "SUCCESSFUL"]
        starts: list[datetime] = []
        finishes: list[datetime] = []
        for _, started_at, finished_at, _ in done:
            assert started_at is not None and finished_at is not None, "a successful task has started and finished"
            starts.append(started_at)
            finishes.append(finished_at)
        span = (max(finishes) - min(starts)).total_seconds()
        print(json.dumps({"count": len(done), "seconds": round(span, 2), "per_second": round(len(done) / span, 1),
                          "once": all(len(row[3]) == 1 for row in done),
                          "workers": len({row[3][0] for row in done})}))


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        _child(sys.argv[2], *sys.argv[3:])
