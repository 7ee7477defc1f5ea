"""Benchmark of vb365_sim: throughput and latency at concurrency 8, and the cost of a 1M-session history.

Usage: ``python bench/sim_bench.py [--json PATH] [--requests N]``. Starts the simulator as subprocesses
(so the client threads do not share its GIL), prints a table and writes JSON (default
``bench/results/sim.json``). Takes well under two minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
CONCURRENCY = 8


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def simulator(*args: str) -> Iterator[tuple[str, subprocess.Popen[str], float]]:
    """Start ``python -m vb365_sim``; yield (base URL, process, seconds until it answered HTTP)."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "vb365_sim", "--port", str(port), *args], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"simulator exited: {proc.stderr.read() if proc.stderr else ''}")
            try:
                requests.get(f"{base}/_sim/info", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.01)
        yield base, proc, time.perf_counter() - started
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _proc_status_kb(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def measure(name: str, n: int, call: Callable[[requests.Session, int], int]) -> dict[str, Any]:
    """Run ``call`` n times across CONCURRENCY threads; return req/s and latency percentiles (ms)."""
    local = threading.local()
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()

    def one(i: int) -> None:
        nonlocal errors
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        t = time.perf_counter()
        status = call(session, i)
        elapsed = time.perf_counter() - t
        with lock:
            latencies.append(elapsed * 1000)
            errors += status >= 400

    started = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(one, range(n)))
    wall = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100)
    return {"name": name, "requests": n, "errors": errors, "rps": round(n / wall, 1),
            "p50_ms": round(q[49], 2), "p99_ms": round(q[98], 2)}


def bench_endpoints(n: int) -> list[dict[str, Any]]:
    with simulator("--sessions", "10000") as (base, _, _):
        form = {"grant_type": "password", "username": "admin", "password": "admin"}
        token = requests.post(f"{base}/v8/Token", data=form).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        listed = requests.get(f"{base}/v8/RestoreSessions", params={"limit": 1000}, headers=headers).json()
        ids = [s["id"] for s in listed["results"]]
        return [
            measure("token (POST /v8/Token)", n, lambda s, i: s.post(f"{base}/v8/Token", data=form).status_code),
            measure("list (GET /v8/RestoreSessions?limit=30)", n,
                    lambda s, i: s.get(f"{base}/v8/RestoreSessions?limit=30", headers=headers).status_code),
            measure("get (GET /v8/RestoreSessions/{id})", n,
                    lambda s, i: s.get(f"{base}/v8/RestoreSessions/{ids[i % len(ids)]}", headers=headers).status_code),
        ]


def bench_million() -> dict[str, Any]:
    with simulator("--sessions", "1000000") as (base, proc, startup):
        rss_start = _proc_status_kb(proc.pid, "VmRSS")
        form = {"grant_type": "password", "username": "admin", "password": "admin"}
        headers = {"Authorization": f"Bearer {requests.post(f'{base}/v8/Token', data=form).json()['access_token']}"}
        pages, rows = 5, 0
        t = time.perf_counter()
        for p in range(pages):
            body = requests.get(f"{base}/v8/RestoreSessions", params={"offset": p * 10_000, "limit": 10_000},
                                headers=headers).json()
            rows += len(body["results"])
        page_s = time.perf_counter() - t
        deep = requests.get(f"{base}/v8/RestoreSessions", params={"offset": 999_000, "limit": 30}, headers=headers)
        return {
            "sessions": 1_000_000,
            "startup_s": round(startup, 3),
            "rss_after_start_mb": round(rss_start / 1024, 1),
            "peak_rss_mb": round(_proc_status_kb(proc.pid, "VmHWM") / 1024, 1),
            "page_10000_s": round(page_s / pages, 3),
            "list_sessions_per_s": round(rows / page_s),
            "deep_page_status": deep.status_code,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", default=str(ROOT / "bench" / "results" / "sim.json"), help="where to write results")
    parser.add_argument("--requests", type=int, default=2000, help="requests per endpoint (default 2000)")
    args = parser.parse_args(argv)

    endpoints = bench_endpoints(args.requests)
    million = bench_million()

    print(f"{'endpoint (concurrency 8)':44} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for row in endpoints:
        print(f"{row['name']:44} {row['rps']:8.1f} {row['p50_ms']:8.2f} {row['p99_ms']:8.2f} {row['errors']:7d}")
    print()
    print(f"--sessions 1000000: ready in {million['startup_s']:.2f} s, RSS {million['rss_after_start_mb']} MB, "
          f"peak RSS {million['peak_rss_mb']} MB, 10,000-row page {million['page_10000_s']:.2f} s "
          f"({million['list_sessions_per_s']} sessions/s)")

    result = {"python": platform.python_version(), "cpus": os.cpu_count(), "concurrency": CONCURRENCY,
              "endpoints": endpoints, "million": million}
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
