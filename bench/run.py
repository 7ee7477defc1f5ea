"""Restore Desk benchmarks: ``make bench`` (or ``.venv/bin/python bench/run.py [--quick] [--only 1,3]``).

Runs every benchmark in one run, prints one table (figure, measured, target, ok) and writes
``bench/results/bench.json`` (``--json PATH`` to change). ``--quick`` uses small sizes (a smoke run of a few
minutes that tests can use); figures from it are not comparable with the targets' sizes.

  1 overhead  portal vs direct simulator latency (start, read)       bench_overhead.py
  2 tokens    upstream token grants per 1,000 portal requests        bench_tokens.py
  3 history   history list p95 over 1,000,000 sessions               bench_history.py
  4 sync      sync ingest of 1,000,000 sessions: rate, peak memory   bench_sync.py
  5 export    CSV export of 1,000,000 audit events: rate, memory     bench_export.py
  6 mixed     50 users, mixed workload, 60 s: errors, p99            bench_mixed.py
  7 tasks     task queue: enqueue-to-start p50/p95, 2-worker drain   bench_tasks.py
  8 browse    200,000-item folder: portal vs direct, cache, memory   bench_browse.py
  9 restores  2 GB export, ten exports at once, 10,000-item restore  bench_restores.py

Needs PostgreSQL (127.0.0.1:5432, user postgres; BENCH_PG_HOST/PORT/USER) and Redis (127.0.0.1:6379,
dbs 10–14; BENCH_REDIS_HOST/PORT). Exit status: 0 when every benchmark ran (whether or not it met its
target; ``--strict`` makes a missed target exit 1), 2 when a benchmark could not run.
"""
from __future__ import annotations

import argparse
import importlib
import os
import platform
import subprocess
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402

BENCHMARKS = {1: "overhead", 2: "tokens", 3: "history", 4: "sync", 5: "export", 6: "mixed", 7: "tasks", 8: "browse",
              9: "restores"}


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=common.ROOT, capture_output=True,
                              text=True, timeout=10).stdout.strip()
    except OSError:
        return ""


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if value < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def print_table(results: list[dict[str, Any]]) -> None:
    rows = [("figure", "measured", "target", "ok")]
    for result in results:
        if "error" in result:
            rows.append((f"{result['number']} {result['name']}", "—", "—", "ERROR"))
            continue
        for figure in result["figures"]:
            ok = {True: "PASS", False: "FAIL", None: "info"}[figure["passed"]]
            rows.append((figure["figure"], f"{_fmt(figure['measured'])} {figure['unit']}", figure["target"], ok))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    line = "-+-".join("-" * w for w in widths)
    print()
    for n, row in enumerate(rows):
        print(" | ".join([row[0].ljust(widths[0]), row[1].rjust(widths[1]), row[2].ljust(widths[2]), row[3]]))
        if n == 0:
            print(line)
    for result in results:
        if "error" in result:
            print(f"\n{result['number']} {result['name']} did not run: {result['error']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="comma-separated benchmark numbers or names, e.g. 1,3 or sync")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run of a few minutes")
    parser.add_argument("--json", default=str(common.RESULTS / "bench.json"), help="where to write the figures")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)

    selected = list(BENCHMARKS)
    if args.only:
        names = {v: k for k, v in BENCHMARKS.items()}
        selected = []
        for token in args.only.split(","):
            token = token.strip()
            number = int(token) if token.isdigit() else names.get(token)
            if number not in BENCHMARKS:
                parser.error(f"unknown benchmark {token!r}; choose from {BENCHMARKS}")
            selected.append(number)

    started = time.time()
    results: list[dict[str, Any]] = []
    for number in selected:
        name = BENCHMARKS[number]
        print(f"[{number}] {name}{' (quick)' if args.quick else ''} …", flush=True)
        t = time.perf_counter()
        try:
            module = importlib.import_module(f"bench.bench_{name}")
            result = module.run(args.quick)
        except Exception as exc:  # noqa: BLE001 — report and go on with the next benchmark
            traceback.print_exc()
            result = {"name": name, "error": f"{type(exc).__name__}: {exc}"[:2000], "passed": False}
        result["number"] = number
        result["seconds"] = round(time.perf_counter() - t, 1)
        results.append(result)
        status = "ERROR" if "error" in result else ("PASS" if result["passed"] else "FAIL")
        print(f"[{number}] {name}: {status} in {result['seconds']} s", flush=True)

    print_table(results)
    report = {
        "started_at": datetime.fromtimestamp(started, timezone.utc).isoformat(),
        "seconds": round(time.time() - started, 1),
        "quick": args.quick,
        "commit": _git_commit(),
        "host": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
                 "loadavg_at_end": os.getloadavg()},
        "benchmarks": results,
    }
    common.write_json(Path(args.json), report)
    print(f"\nwrote {args.json} ({report['seconds']} s)")
    if any("error" in r for r in results):
        return 2
    if args.strict and not all(r["passed"] for r in results):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
