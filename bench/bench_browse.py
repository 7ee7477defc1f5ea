"""Benchmark 8 — browsing a 200,000-item mail folder through the portal (issue 14).

The simulator runs with ``--content large`` (no added latency): the first user mailbox's Inbox holds 200,000
messages at the newest point in time. A helpdesk user starts an Exchange session through ``POST /api/sessions/``,
and everything below goes through ``GET /api/sessions/{id}/browse/?node=<Inbox>`` (gunicorn, PostgreSQL, Redis)
or straight to the simulator with the same v8 calls the portal makes.

1. The whole folder is paged through once with the API's ``next`` links (pages of 50; of 500 in ``--quick``,
   the last stretch in pages of 50), while the RSS of the gunicorn workers (summed) and of the simulator is
   sampled every 0.25 s. Start is taken after a warm-up of 20 pages, end after the last page; target: flat, i.e.
   peak − start at most 20 MB for each. The walk keeps the URLs of the first page, of the page at offset 100,000
   (the middle) and of the last page. The Redis memory the folder's cached pages take is reported (info).
2. For each of those three pages, in alternating samples: the direct upstream call(s) for the same page
   (``…/mailboxes/{id}/items?parentId=<Inbox>&offset=&limit=50``, plus ``…/folders?parentId=<Inbox>`` where
   the page starts with the Inbox's subfolders); a first visit through the portal, uncached — every
   ``browse:page:*`` key is deleted from the portal's Redis db before it (untimed); and a second visit of the
   same URL, served from the cache. Figures (the worst of the three pages): median first visit − median direct
   (target ≤ 30 ms), median second visit (≤ 10 ms), median direct, the simulator's answer (≤ 20 ms).
   The last page is the last full page of 50 (offset 199,950: the Inbox's 2 subfolders come first, so the
   folder's final page holds only the 2 entries after it). Beside them (info): the same browse request refused
   for ``limit=0`` (400) — what every answer costs before the cache is read (token, session, role, query) —
   and the gunicorn CPU per first visit, cached visit and refused request (``details.gunicorn_cpu_ms_per_request``).

Every request is sequential (one keep-alive client each for the portal and the simulator), so the figures are
latencies, not throughput. The load average of the machine is recorded with the result (``details.loadavg``):
the benchmark shares the cores with whatever else runs, and every latency moves with it.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

# Run as a script (`python bench/bench_x.py`) only bench/ is on sys.path; the repository root makes `bench` importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common

REDIS_DB = 13
PAGE = 50
FOLDER_ITEMS = 200_000
WARMUP_PAGES = 20
SAMPLE_EVERY_S = 0.25
TARGET_OVERHEAD_MS = 30.0
TARGET_CACHED_MS = 10.0
TARGET_SIM_MS = 20.0
TARGET_GROWTH_MB = 20.0
POSITIONS = ("first", "middle", "last")


class MemorySampler:
    """RSS (kB) of the gunicorn workers (summed) and of the simulator, every SAMPLE_EVERY_S, in a thread."""

    def __init__(self, stack: common.PortalStack) -> None:
        self._stack = stack
        self.samples: list[tuple[float, int, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._started = time.monotonic()

    def now(self) -> tuple[int, int]:
        workers = sum(common.proc_status_kb(pid, "VmRSS") for pid in self._stack.worker_pids())
        return workers, common.proc_status_kb(self._stack.sim_proc.pid, "VmRSS")

    def _loop(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_S):
            self.samples.append((round(time.monotonic() - self._started, 2), *self.now()))

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _with_limit(url: str, limit: int) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "limit"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("limit", str(limit))])))


def _drop_cached_pages(redis_client: Any) -> int:
    keys = list(redis_client.scan_iter(match="*browse:page:*", count=2000))
    for start in range(0, len(keys), 1000):
        redis_client.delete(*keys[start:start + 1000])
    return len(keys)


def _timed_get(client: requests.Session, url: str, **kw: Any) -> tuple[float, requests.Response]:
    started = time.perf_counter()
    response = client.get(url, timeout=60, **kw)
    _ = response.content
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    return elapsed, response


def run(quick: bool) -> dict[str, Any]:
    import redis

    walk_limit = 500 if quick else PAGE
    samples = 5 if quick else 21
    load_before = os.getloadavg()
    with common.portal_stack("browse", redis=REDIS_DB, sim_args=("--content", "large", "--seed", "18"),
                             users=["bench_browse"], workers=2, threads=4) as stack:
        sim, base = stack.sim, stack.base
        cache = redis.Redis(host=common.REDIS_HOST, port=common.REDIS_PORT, db=REDIS_DB)
        org_id = common.sim_backed_up_organization(sim)["id"]
        portal = requests.Session()
        portal.headers["Authorization"] = f"Token {common.api_token(base, 'bench_browse')}"
        direct = requests.Session()
        direct.headers["Authorization"] = f"Bearer {common.sim_token(sim)}"
        # The portal learns the organizations (and caches its VB365 token) before a session can start.
        portal.get(f"{base}/api/organizations/", timeout=60).raise_for_status()

        started = portal.post(f"{base}/api/sessions/", json={
            "organization": org_id, "workload": "exchange", "reason": "bench browse"},
            headers={"Idempotency-Key": common.new_key()}, timeout=60)
        if started.status_code != 201:
            raise RuntimeError(f"starting the session answered {started.status_code}: {started.text[:500]}")
        session_id = started.json()["id"]
        browse = f"{base}/api/sessions/{session_id}/browse/"

        # The big folder as the simulator names it, and its node in the portal.
        prefix = f"{sim}/v8/RestoreSessions/{session_id}/organization/mailboxes"
        mailboxes = direct.get(prefix, params={"limit": 50}, timeout=60).json()["results"]
        mailbox = next(m for m in mailboxes if not m.get("isArchive") and not m.get("isPublic"))
        roots = direct.get(f"{prefix}/{mailbox['id']}/folders", params={"parentId": "root", "limit": "500"},
                           timeout=60).json()["results"]
        inbox = next(f for f in roots if f["name"] == "Inbox")
        subfolders = len(direct.get(f"{prefix}/{mailbox['id']}/folders", params={"parentId": inbox["id"],
                                    "limit": 10_000}, timeout=60).json()["results"])
        top = portal.get(browse, timeout=60).json()["results"]
        mailbox_node = next(e["id"] for e in top if e["name"] == mailbox["name"])
        folders = portal.get(browse, params={"node": mailbox_node}, timeout=60).json()["results"]
        inbox_node = next(e["id"] for e in folders if e["name"] == "Inbox")
        first_url = requests.Request("GET", browse, params={"node": inbox_node, "limit": PAGE}).prepare().url
        assert first_url is not None

        def direct_page(offset: int) -> float:
            """The upstream calls the portal makes for the page at `offset` (subfolders first, then items)."""
            spent, wanted = 0.0, PAGE
            if offset < subfolders:
                ms, response = _timed_get(direct, f"{prefix}/{mailbox['id']}/folders", params={
                    "parentId": inbox["id"], "offset": offset, "limit": wanted})
                spent += ms
                wanted -= len(response.json()["results"])
            ms, _ = _timed_get(direct, f"{prefix}/{mailbox['id']}/items", params={
                "parentId": inbox["id"], "offset": max(0, offset - subfolders), "limit": wanted})
            return spent + ms

        # 1. The walk: warm-up, then every page with memory sampled.
        url: str | None = _with_limit(first_url, walk_limit)
        for _ in range(WARMUP_PAGES):
            assert url is not None
            url = portal.get(url, timeout=60).json()["next"]
            direct_page(0)
        redis_before = int(cache.info("memory")["used_memory"])
        sampler = MemorySampler(stack)
        start_memory = sampler.now()
        common.log(f"browse: walking {FOLDER_ITEMS:,} items + {subfolders} subfolders in pages of {walk_limit}")
        page_urls: dict[str, str] = {}
        offsets: dict[str, int] = {}
        entries = items = pages = 0
        full_page: tuple[str, int] | None = None  # the latest full page of 50: the last one unless the tail is full
        walk_started = time.perf_counter()
        url = _with_limit(first_url, walk_limit)
        with sampler:
            while url is not None:
                if entries in (0, FOLDER_ITEMS // 2):
                    position = "first" if entries == 0 else "middle"
                    page_urls[position], offsets[position] = _with_limit(url, PAGE), entries
                body = portal.get(url, timeout=60).json()
                pages += 1
                if walk_limit == PAGE and len(body["results"]) == PAGE:
                    full_page = (url, entries)
                entries += len(body["results"])
                items += sum(1 for e in body["results"] if e["kind"] == "item")
                if walk_limit != PAGE and entries + walk_limit + PAGE > FOLDER_ITEMS + subfolders:
                    walk_limit = PAGE  # the last stretch in pages of 50, so that the last pages are pages of 50
                url = None if body["next"] is None else _with_limit(body["next"], walk_limit)
        walk_seconds = time.perf_counter() - walk_started
        end_memory = sampler.now()
        redis_after = int(cache.info("memory")["used_memory"])
        if full_page is not None:
            page_urls["last"], offsets["last"] = full_page
        if items != FOLDER_ITEMS or set(page_urls) != set(POSITIONS):
            raise RuntimeError(f"the walk saw {items} items (expected {FOLDER_ITEMS}) and pages {sorted(page_urls)}")
        _drop_cached_pages(cache)

        # 2. Timings, alternating: direct, first visit (uncached), second visit (cached).
        common.log(f"browse: {samples} samples of each page (first, middle, last), direct and through the portal")
        timings: dict[str, dict[str, list[float]]] = {p: {"direct": [], "first": [], "second": []} for p in POSITIONS}
        sim_cpu = 0.0
        portal_cpu = {"first": 0.0, "second": 0.0, "refused": 0.0}

        def workers_cpu() -> float:
            return sum(common.cpu_seconds(pid) for pid in stack.worker_pids())

        floor: list[float] = []
        for _ in range(samples):
            for position in POSITIONS:
                cpu_before = common.cpu_seconds(stack.sim_proc.pid)
                timings[position]["direct"].append(direct_page(offsets[position]))
                sim_cpu += common.cpu_seconds(stack.sim_proc.pid) - cpu_before
                _drop_cached_pages(cache)
                for visit in ("first", "second"):
                    cpu_before = workers_cpu()
                    timings[position][visit].append(_timed_get(portal, page_urls[position])[0])
                    portal_cpu[visit] += workers_cpu() - cpu_before
            # What every browse answer costs before the cache is read (token, session, role, query checked):
            # the same request with a limit out of range, refused with 400 (an unknown session would be
            # audited as a refusal, which costs more than a cached page).
            cpu_before, started_at = workers_cpu(), time.perf_counter()
            refused = portal.get(_with_limit(page_urls["middle"], 0), timeout=60)
            floor.append((time.perf_counter() - started_at) * 1000)
            portal_cpu["refused"] += workers_cpu() - cpu_before
            if refused.status_code != 400:
                raise RuntimeError(f"a browse with limit=0 answered {refused.status_code}")
        stats = common.sim_stats(sim)
    load_after = os.getloadavg()

    medians = {p: {kind: round(common.median(values), 2) for kind, values in t.items()} for p, t in timings.items()}
    overhead = {p: round(m["first"] - m["direct"], 2) for p, m in medians.items()}

    def worst(values: dict[str, float]) -> tuple[float, str]:
        position = max(values, key=lambda p: values[p])
        return values[position], "/".join(f"{values[p]:g}" for p in POSITIONS)

    over, over_text = worst(overhead)
    cached, cached_text = worst({p: m["second"] for p, m in medians.items()})
    sim_ms, sim_text = worst({p: m["direct"] for p, m in medians.items()})
    first_ms, first_text = worst({p: m["first"] for p, m in medians.items()})
    cpu_ms = {"first_visit": round(portal_cpu["first"] * 1000 / (samples * len(POSITIONS)), 2),
              "second_visit": round(portal_cpu["second"] * 1000 / (samples * len(POSITIONS)), 2),
              "refused_limit_400": round(portal_cpu["refused"] * 1000 / samples, 2)}
    series = sampler.samples
    peak = (max([start_memory[0], *(s[1] for s in series)]), max([start_memory[1], *(s[2] for s in series)]))
    halfway = series[len(series) // 2][1:] if series else start_memory
    second_half_mb = {"workers": round((end_memory[0] - halfway[0]) / 1024, 1),
                      "simulator": round((end_memory[1] - halfway[1]) / 1024, 1)}
    growth_mb = {"workers": round((peak[0] - start_memory[0]) / 1024, 1),
                 "simulator": round((peak[1] - start_memory[1]) / 1024, 1)}

    def mb(kb: int) -> float:
        return round(kb / 1024, 1)

    figures: list[dict[str, Any]] = [
        {"figure": f"8a browse first visit − direct call, median (first/middle/last: {over_text})",
         "measured": over, "unit": "ms", "target": f"<= {TARGET_OVERHEAD_MS:g}", "passed": over <= TARGET_OVERHEAD_MS},
        {"figure": f"8b browse second visit (cache), median (first/middle/last: {cached_text})",
         "measured": cached, "unit": "ms", "target": f"<= {TARGET_CACHED_MS:g}", "passed": cached <= TARGET_CACHED_MS},
        {"figure": f"8c simulator, page of 50 of 200,000, median (first/middle/last: {sim_text})",
         "measured": sim_ms, "unit": "ms", "target": f"<= {TARGET_SIM_MS:g}", "passed": sim_ms <= TARGET_SIM_MS},
        {"figure": f"8 browse first visit, median (first/middle/last: {first_text})",
         "measured": first_ms, "unit": "ms", "target": "info", "passed": None},
        {"figure": "8 floor: the same browse request refused for limit=0 (400), median", "measured": round(
            common.median(floor), 2), "unit": "ms", "target": "info", "passed": None},
        {"figure": f"8b gunicorn CPU per cached visit (per refused one: {cpu_ms['refused_limit_400']:g})",
         "measured": cpu_ms["second_visit"], "unit": "ms", "target": "info", "passed": None},
        {"figure": f"8d gunicorn workers RSS during the walk (start {mb(start_memory[0])}, peak {mb(peak[0])}, "
                   f"end {mb(end_memory[0])} MB; 2nd half {second_half_mb['workers']:+g}): peak − start",
         "measured": growth_mb["workers"], "unit": "MB",
         "target": f"<= {TARGET_GROWTH_MB:g}", "passed": growth_mb["workers"] <= TARGET_GROWTH_MB},
        {"figure": f"8d simulator RSS during the walk (start {mb(start_memory[1])}, peak {mb(peak[1])}, "
                   f"end {mb(end_memory[1])} MB; 2nd half {second_half_mb['simulator']:+g}): peak − start",
         "measured": growth_mb["simulator"], "unit": "MB",
         "target": f"<= {TARGET_GROWTH_MB:g}", "passed": growth_mb["simulator"] <= TARGET_GROWTH_MB},
        {"figure": f"8 Redis memory of the folder's cached pages ({pages:,} pages of {'500/50' if quick else '50'})",
         "measured": mb((redis_after - redis_before) // 1024), "unit": "MB", "target": "info", "passed": None},
        {"figure": "8 load average (1 min) before / after: the figures move with it",
         "measured": f"{load_before[0]:.2f} / {load_after[0]:.2f}", "unit": "", "target": "info", "passed": None},
    ]
    step = max(1, len(series) // 200)
    return {"name": "browse", "figures": figures,
            "passed": all(f["passed"] for f in figures if f["passed"] is not None),
            "details": {"folder_items": items, "inbox_subfolders": subfolders, "walk_pages": pages,
                        "walk_seconds": round(walk_seconds, 1),
                        "walk_ms_per_page": round(walk_seconds * 1000 / pages, 1),
                        "samples_per_page": samples, "page_offsets": offsets, "medians_ms": medians,
                        "first_visit_minus_direct_ms": overhead,
                        "latency_refused_limit_400": common.latency_summary(floor),
                        "latency": {p: {k: common.latency_summary(v) for k, v in t.items()}
                                    for p, t in timings.items()},
                        "simulator_cpu_ms_per_direct_page": round(sim_cpu * 1000 / (samples * len(POSITIONS)), 2),
                        "gunicorn_cpu_ms_per_request": cpu_ms,
                        "rss_growth_second_half_mb": second_half_mb,
                        "rss_kb": {"start": start_memory, "peak": peak, "end": end_memory,
                                   "series_s_workers_simulator": series[::step]},
                        "redis_used_memory_bytes": {"before_walk": redis_before, "after_walk": redis_after},
                        "loadavg": {"before": load_before, "after": load_after}, "cores": os.cpu_count(),
                        "sim_requests": stats.get("requests")}}


if __name__ == "__main__":
    import json

    print(json.dumps(run("--quick" in sys.argv), indent=2))
