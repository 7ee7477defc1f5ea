"""Benchmark 4 — sync ingest of N upstream sessions from the simulator.

Starts ``python -m vb365_sim --sessions N`` (no latency) and runs ``manage.py sync_sessions --no-events``
in a child process under ``/usr/bin/time -v`` against a fresh PostgreSQL database. Wall time of the child
(Django start-up included) gives sessions per second; ``Maximum resident set size`` its peak memory.
The number of rows in the table afterwards is checked against N.

Figures: sessions/s (target at least 5,000) and peak RSS of the sync process (target at most 200 MB).
"""
from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

# Run as a script (`python bench/bench_x.py`) only bench/ is on sys.path; the repository root makes `bench` importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common

TARGET_RATE = 5000.0
TARGET_MB = 200.0


def run(quick: bool) -> dict[str, Any]:
    n = 50_000 if quick else 1_000_000
    timeout = 600 if quick else 3600
    with common.simulator("--sessions", str(n), "--seed", "14") as (sim, sim_proc, _), \
            common.database("sync") as db:
        env = common.portal_env(database=common.pg_url(db), cache="locmemcache://", vb365_url=sim)
        common.log(f"sync: {n:,} upstream sessions, timeout {timeout} s")
        t = time.perf_counter()
        child = subprocess.run(["/usr/bin/time", "-v", common.PY, "manage.py", "sync_sessions", "--no-events",
                                "-v", "0"], cwd=common.ROOT, env=env, capture_output=True, text=True,
                               timeout=timeout, start_new_session=True)
        wall = time.perf_counter() - t
        if child.returncode != 0:
            raise RuntimeError(f"sync_sessions failed ({child.returncode}): {child.stderr[-3000:]}")
        match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", child.stderr)
        peak_mb = int(match.group(1)) / 1024 if match else float("nan")
        user_s = float(re.search(r"User time \(seconds\): ([\d.]+)", child.stderr).group(1))  # type: ignore[union-attr]
        sys_s = float(re.search(r"System time \(seconds\): ([\d.]+)", child.stderr).group(1))  # type: ignore[union-attr]
        stored = common.pg_scalar(db, "SELECT count(*) FROM sessions_app_restoresession")
        sim_peak_mb = common.proc_status_kb(sim_proc.pid, "VmHWM") / 1024
    rate = stored / wall if wall else 0.0
    complete = stored == n
    figures = [
        {"figure": f"4 sync ingest of {n:,} sessions", "measured": round(rate), "unit": "sessions/s",
         "target": f">= {TARGET_RATE:,.0f}", "passed": rate >= TARGET_RATE and complete},
        {"figure": "4 sync peak memory (RSS of the sync process)", "measured": round(peak_mb, 1), "unit": "MB",
         "target": f"<= {TARGET_MB:g}", "passed": peak_mb <= TARGET_MB and complete},
    ]
    return {"name": "sync", "figures": figures, "passed": all(f["passed"] for f in figures),
            "details": {"upstream_sessions": n, "stored_sessions": stored, "wall_s": round(wall, 1),
                        "child_cpu_user_s": user_s, "child_cpu_sys_s": sys_s,
                        "simulator_peak_rss_mb": round(sim_peak_mb, 1), "output": child.stdout[-500:]}}


if __name__ == "__main__":
    import json

    print(json.dumps(run("--quick" in sys.argv), indent=2))
