"""Benchmark 9 — item restores, saves and exports as tracked jobs (issue 16).

The simulator runs with ``--content large`` (seed 18, no added latency); the portal is gunicorn (2 workers × 4
threads) on PostgreSQL and Redis, with two ``manage.py worker`` processes (the production command, without the
schedule) and downloads stored on the file system under ``bench/results/restores-<pid>/`` (removed at the end).
A helpdesk user starts one Exchange session through ``POST /api/sessions/``; every job goes through
``POST /api/sessions/{id}/jobs/``, is followed with ``GET /api/jobs/{id}/`` and downloaded from
``GET /api/jobs/{id}/download/``. Direct calls go to the simulator in the same session with the admin token.

(9a) One export of at least 2 GB: the smallest mailbox PST export of the first user mailboxes that is
     ≥ 2,000,000,000 bytes (``--quick``: the smallest folder export of the first mailbox ≥ 200,000,000 bytes).
     * direct: ``POST …/mailboxes/{id}/exportToPst`` (the call the portal's worker makes) streamed by requests
       (``iter_content``, 1 MiB) and thrown away: bytes over the time from the POST to the last byte;
     * portal: from the job's creation (POST) until the worker has stored and checked the file (polled every
       0.2 s) plus the person's download of it from ``/api/jobs/{id}/download/``, streamed the same way.
     The target is checked on that end-to-end time: size ÷ (store + download) ≥ 80 % of the direct rate.
     Beside it: the worker's own store rate (size ÷ the job's finished_at − started_at), the time in the
     queue, and the download rate alone.
     The simulator serves the export at ``BENCH_EXPORT_BYTES_PER_SECOND`` (default 100,000,000 B/s, its
     ``bytes_per_second`` knob, about a 1 Gbit/s link to VB365): a real VB365 server builds the PST as it sends it
     and never streams at memory speed. The same pair is measured once more with the cap off (info): then the
     simulator sends from memory at 0.3–1.6 GB/s (with the load), and a portal that writes the file to disk, hashes
     it and then sends it again can only reach a fraction of that, whatever its code.
     Beside them (info): how fast this machine writes a file where the downloads are kept (1 GB, 200 MB quick; 1 MiB
     writes, no fsync, as the worker writes its spool; measured last), which no store can beat, and the CPU
     seconds per GB of each process (the portal's workers, the simulator, the benchmark's clients).
     Memory: RSS of the gunicorn workers (summed) and of the task workers (summed), sampled every 0.1 s with the
     VmHWM of each reset at the start, after a warm-up job (a small export created, stored and downloaded by 8
     clients at once, so that every process has imported the code). Target: peak − start ≤ 50 MB each.
(9b) Ten exports at once: ten clients each create one job (the "Sent Items" folder of ten mailboxes;
     ``--quick``: "Tasks"), follow it and download the file. Figures: the total time from the first POST to the
     last byte, the per-job rates (store, end to end) and queue waits, and the memory growth (info: the issue
     sets no target).
(9c) A v8 restore of a folder of 10,000–12,000 items (the Inbox of the first user mailbox whose Inbox is in that
     range) to its
     original location with the organization's tenant account as credentials; each item takes
     ``item_sim_seconds`` of the simulator clock (0.01 s; ``--quick`` 0.003 s), which runs with the wall clock.
     Every 0.25 s ``GET /api/jobs/{id}/`` is read; the lag of a read is how long the simulator had shown more
     than the portal: the end of the read − the moment the simulator's count reached the portal's count + 1
     (0 when the portal shows everything the simulator has). The moment item k is done is the run's start
     (``creationTime`` of ``GET /v8/RestoreSessions/{runId}``; the run id is read from the job's row) + k ×
     ``item_sim_seconds``; the simulator's ``/Statistics`` are sampled every 0.5 s to check that mapping
     (``details.restore.statistics_check``). Figures: p50 and max lag (target max ≤ 5 s), the worker's poll
     interval (``RESTORE_POLL_SECONDS``, 2 s by default) and the time from the last item to the finished job.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

# Run as a script (`python bench/bench_x.py`) only bench/ is on sys.path; the repository root makes `bench` importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common

REDIS_DB = 12
GUNICORN_WORKERS = 2
TASK_WORKERS = 2
SAMPLE_EVERY_S = 0.1
JOB_POLL_S = 0.2
LAG_POLL_S = 0.25
STATS_POLL_S = 0.5
CHUNK = 1 << 20
EXPORT_CAP = int(os.environ.get("BENCH_EXPORT_BYTES_PER_SECOND", "100000000"))
TARGET_RATIO = 0.8
TARGET_GROWTH_MB = 50.0
TARGET_LAG_S = 5.0
RESTORE_ITEMS = (10_000, 12_000)
FINISHED = {"succeeded", "partially_succeeded", "failed", "interrupted"}
USER = "bench_restores"


@dataclass(frozen=True)
class Sizes:
    export_min_bytes: int
    export_scope: str              # "mailbox" or "folder"
    ten_folder: str
    item_sim_seconds: float


FULL = Sizes(export_min_bytes=2_000_000_000, export_scope="mailbox", ten_folder="Sent Items", item_sim_seconds=0.01)
QUICK = Sizes(export_min_bytes=200_000_000, export_scope="folder", ten_folder="Tasks", item_sim_seconds=0.003)


# -- processes ----------------------------------------------------------------------------------------------------


@contextmanager
def task_workers(env: dict[str, str], count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``manage.py worker --no-scheduler`` × count (the Procfile's worker; the schedule left out so that no
    periodic sync runs during the measurements), each in its own process group, killed on exit."""
    common.LOGS.mkdir(parents=True, exist_ok=True)
    logs = [open(common.LOGS / f"worker-restores-{os.getpid()}-{n}.log", "wb")  # noqa: SIM115 — closed below
            for n in range(count)]
    workers = [subprocess.Popen([common.PY, "manage.py", "worker", "--no-scheduler", "--verbosity", "1"],
                                cwd=common.ROOT, env=env, stdout=log, stderr=log, start_new_session=True)
               for log in logs]
    try:
        yield workers
    finally:
        for worker in workers:
            common._kill_group(worker)
        for log in logs:
            log.close()


@dataclass
class Stack:
    sim: str
    sim_proc: subprocess.Popen[bytes]
    base: str
    master: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]]
    env: dict[str, str]
    dbname: str
    files_root: Path

    def gunicorn_pids(self) -> list[int]:
        return common.children_pids(self.master.pid)

    def worker_pids(self) -> list[int]:
        return [w.pid for w in self.workers]

    def processes(self) -> dict[str, Callable[[], list[int]]]:
        """What the memory (and CPU) of a measurement is taken of: the portal's processes, and beside them the
        simulator and this benchmark's own process (the clients)."""
        return {"gunicorn": self.gunicorn_pids, "task_workers": self.worker_pids,
                "simulator": lambda: [self.sim_proc.pid], "bench_clients": lambda: [os.getpid()]}


@contextmanager
def stack() -> Iterator[Stack]:
    from cryptography.fernet import Fernet

    files_root = common.RESULTS / f"restores-{os.getpid()}"
    with common.redis_db(REDIS_DB) as cache, \
            common.simulator("--content", "large", "--seed", "18") as (sim, sim_proc, _), \
            common.database("restores") as dbname:
        env = common.portal_env(database=common.pg_url(dbname), cache=cache, vb365_url=sim,
                                RESTORE_FILES_ROOT=str(files_root),
                                RESTORE_CREDENTIALS_KEY=Fernet.generate_key().decode())
        common.add_users(env, [USER], "helpdesk")
        try:
            with common.gunicorn(env, workers=GUNICORN_WORKERS, threads=4, name="restores") as (base, master), \
                    task_workers(env, TASK_WORKERS) as workers:
                yield Stack(sim, sim_proc, base, master, workers, env, dbname, files_root)
        finally:
            shutil.rmtree(files_root, ignore_errors=True)


# -- measuring ----------------------------------------------------------------------------------------------------


class RssSampler:
    """RSS (kB) of named groups of processes, every SAMPLE_EVERY_S in a thread. On start, each process's VmHWM
    is reset to its RSS, so that the peak also catches what happens between two samples."""

    def __init__(self, groups: dict[str, Callable[[], list[int]]]) -> None:
        self._groups = groups
        self.samples: list[tuple[float, dict[str, int]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._t0 = time.monotonic()
        self.start: dict[str, int] = {}
        self.start_pids: dict[str, list[int]] = {}

    def now(self) -> dict[str, int]:
        return {name: sum(common.proc_status_kb(pid, "VmRSS") for pid in pids()) for name, pids in self._groups.items()}

    def _loop(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_S):
            self.samples.append((round(time.monotonic() - self._t0, 2), self.now()))

    def __enter__(self) -> RssSampler:
        self.start_pids = {name: pids() for name, pids in self._groups.items()}
        for pids in self.start_pids.values():
            for pid in pids:
                try:
                    with open(f"/proc/{pid}/clear_refs", "w") as f:
                        f.write("5")
                except OSError:
                    pass
        self.start = self.now()
        self.cpu_start = self.cpu()
        self._thread.start()
        return self

    def cpu(self) -> dict[str, float]:
        return {name: sum(common.cpu_seconds(pid) for pid in pids) for name, pids in self.start_pids.items()}

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.end = self.now()
        self.cpu_end = self.cpu()
        # VmHWM summed over a group is an upper bound of the group's peak (each process's own peak).
        self.hwm = {name: sum(common.proc_status_kb(pid, "VmHWM") for pid in pids)
                    for name, pids in self.start_pids.items()}

    def report(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self._groups:
            sampled_peak = max([self.start[name], *(s[name] for _, s in self.samples)])
            peak = max(sampled_peak, self.hwm.get(name, 0))
            out[name] = {"start_mb": mb(self.start[name]), "peak_mb": mb(peak), "end_mb": mb(self.end[name]),
                         "sampled_peak_mb": mb(sampled_peak), "growth_mb": mb(peak - self.start[name]),
                         "cpu_s": round(self.cpu_end[name] - self.cpu_start[name], 2)}
        step = max(1, len(self.samples) // 100)
        out["series_s_kb"] = self.samples[::step]
        return out


def mb(kb: float) -> float:
    return round(kb / 1024, 1)


def mbps(size: int, seconds: float) -> float:
    return round(size / seconds / 1e6, 1) if seconds > 0 else float("nan")


def parse_time(text: str | None) -> float | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def stream_to_nowhere(response: requests.Response) -> tuple[int, bytes]:
    """Read a streamed body in 1 MiB chunks, keep nothing; (bytes, first 8 bytes)."""
    size, head = 0, b""
    for chunk in response.iter_content(CHUNK):
        if not head:
            head = chunk[:8]
        size += len(chunk)
    return size, head


@dataclass
class Portal:
    base: str
    session_id: str
    client: requests.Session

    def create(self, action: str, nodes: list[str], reason: str, client: requests.Session | None = None,
               **extra: Any) -> dict[str, Any]:
        response = (client or self.client).post(f"{self.base}/api/sessions/{self.session_id}/jobs/",
                                    json={"action": action, "nodes": nodes, "reason": reason, **extra},
                                    headers={"Idempotency-Key": common.new_key()}, timeout=120)
        if response.status_code != 202:
            raise RuntimeError(f"creating a {action} job answered {response.status_code}: {response.text[:800]}")
        return response.json()

    def job(self, job_id: str, client: requests.Session | None = None) -> dict[str, Any]:
        response = (client or self.client).get(f"{self.base}/api/jobs/{job_id}/", timeout=60)
        response.raise_for_status()
        return response.json()

    def wait(self, job_id: str, client: requests.Session | None = None, timeout: float = 1800) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id, client)
            if job["state"] in FINISHED:
                return job
            if time.monotonic() > deadline:
                raise RuntimeError(f"job {job_id} still {job['state']} after {timeout} s")
            time.sleep(JOB_POLL_S)

    def download(self, job_id: str, client: requests.Session | None = None) -> tuple[int, bytes]:
        with (client or self.client).get(f"{self.base}/api/jobs/{job_id}/download/", stream=True,
                                         timeout=600) as response:
            if response.status_code != 200:
                raise RuntimeError(f"downloading job {job_id} answered {response.status_code}: "
                                   f"{response.text[:500]}")
            return stream_to_nowhere(response)


@dataclass
class ExportRun:
    """One export through the portal: create → stored (worker) → downloaded (person)."""

    size: int = 0
    head: bytes = b""
    created: float = 0.0
    stored: float = 0.0          # when the client saw the file ready
    done: float = 0.0
    queue_s: float | None = None
    worker_s: float | None = None
    state: str = ""
    message: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        end_to_end = self.done - self.created
        return {"bytes": self.size, "state": self.state, "end_to_end_s": round(end_to_end, 2),
                "end_to_end_mb_s": mbps(self.size, end_to_end),
                "until_stored_s": round(self.stored - self.created, 2),
                "download_s": round(self.done - self.stored, 2),
                "download_mb_s": mbps(self.size, self.done - self.stored),
                "queue_s": None if self.queue_s is None else round(self.queue_s, 2),
                "worker_store_s": None if self.worker_s is None else round(self.worker_s, 2),
                "worker_store_mb_s": None if not self.worker_s else mbps(self.size, self.worker_s),
                "message": self.message[:300]}


def export_through_portal(portal: Portal, node: str, reason: str, client: requests.Session | None = None
                          ) -> ExportRun:
    run = ExportRun()
    run.created = time.time()
    job = portal.create("exchange.export_pst", [node], reason, client)
    job = portal.wait(job["id"], client)
    run.stored = time.time()
    run.state, run.message = job["state"], job.get("message") or ""
    if job["state"] not in ("succeeded", "partially_succeeded") or not job.get("download_url"):
        raise RuntimeError(f"export job {job['id']} ended {job['state']}: {run.message[:500]}")
    created, started, finished = (parse_time(job.get(k)) for k in ("created_at", "started_at", "finished_at"))
    if started is not None and created is not None:
        run.queue_s = started - created
    if started is not None and finished is not None:
        run.worker_s = finished - started
    run.size, run.head = portal.download(job["id"], client)
    run.done = time.time()
    expected = (job.get("file") or {}).get("size")
    if expected is not None and expected != run.size:
        raise RuntimeError(f"job {job['id']}: downloaded {run.size} bytes, the job says {expected}")
    run.extra = {"job": job["id"], "file": job.get("file")}
    return run


def direct_export(direct: requests.Session, url: str) -> tuple[int, float, bytes]:
    started = time.perf_counter()
    with direct.post(url, json={}, stream=True, timeout=600) as response:
        response.raise_for_status()
        size, head = stream_to_nowhere(response)
    return size, time.perf_counter() - started, head


def disk_write_rate(folder: Path, size: int) -> dict[str, Any]:
    """How fast this machine writes a file where the downloads are stored, as the worker writes its spool (1 MiB
    writes, no fsync): no store can be faster. Measured last, when nothing else writes."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "disk-write-check.bin"
    chunk = os.urandom(CHUNK)
    started = time.perf_counter()
    with open(path, "wb") as handle:
        for _ in range(size // CHUNK):
            handle.write(chunk)
    seconds = time.perf_counter() - started
    path.unlink()
    return {"bytes": size // CHUNK * CHUNK, "seconds": round(seconds, 2), "mb_s": mbps(size // CHUNK * CHUNK, seconds)}


def set_knobs(sim: str, **knobs: Any) -> None:
    requests.post(f"{sim}/_sim/restore-knobs", json=knobs, timeout=30).raise_for_status()


# -- finding what to export and restore -----------------------------------------------------------------------------


@dataclass
class Upstream:
    """The session as the simulator names it (direct calls with the admin token)."""

    sim: str
    session_id: str
    client: requests.Session

    @property
    def prefix(self) -> str:
        return f"{self.sim}/v8/RestoreSessions/{self.session_id}/organization/mailboxes"

    def mailboxes(self, limit: int = 30) -> list[dict[str, Any]]:
        boxes = self.client.get(self.prefix, params={"limit": limit}, timeout=60).json()["results"]
        return [b for b in boxes if not b.get("isArchive") and not b.get("isPublic")]

    def root_folders(self, mailbox_id: str) -> list[dict[str, Any]]:
        return self.client.get(f"{self.prefix}/{mailbox_id}/folders", params={"parentId": "root", "limit": "500"},
                               timeout=60).json()["results"]

    def export_url(self, mailbox_id: str, folder_id: str | None = None) -> str:
        if folder_id is None:
            return f"{self.prefix}/{mailbox_id}/exportToPst"
        return f"{self.prefix}/{mailbox_id}/folders/{folder_id}/exportToPst"

    def export_size(self, url: str) -> int:
        """The PST's Content-Length: the export is asked for and closed after its headers."""
        with self.client.post(url, json={}, stream=True, timeout=600) as response:
            response.raise_for_status()
            return int(response.headers["Content-Length"])

    def item_count(self, mailbox_id: str, folder_id: str, stop_above: int) -> int:
        count = 0
        while count <= stop_above:
            page = self.client.get(f"{self.prefix}/{mailbox_id}/items", params={
                "parentId": folder_id, "offset": str(count), "limit": "10000"}, timeout=120).json()["results"]
            count += len(page)
            if len(page) < 10_000:
                break
        return count


def portal_node(portal: Portal, mailbox_name: str, folder_name: str | None = None) -> str:
    browse = f"{portal.base}/api/sessions/{portal.session_id}/browse/"
    params: dict[str, str | int] = {"limit": 500}
    while True:
        page = portal.client.get(browse, params=params, timeout=60).json()
        found = next((e["id"] for e in page["results"] if e["name"] == mailbox_name), None)
        if found or not page.get("next"):
            break
        params["offset"] = int(params.get("offset", 0)) + 500
    if found is None:
        raise RuntimeError(f"the portal's browse has no mailbox {mailbox_name!r}")
    if folder_name is None:
        return found
    folders = portal.client.get(browse, params={"node": found, "limit": 500}, timeout=60).json()["results"]
    return next(e["id"] for e in folders if e["name"] == folder_name)


# -- the benchmark --------------------------------------------------------------------------------------------------


def run(quick: bool) -> dict[str, Any]:
    sizes = QUICK if quick else FULL
    load_before = os.getloadavg()
    with stack() as st:
        sim, base = st.sim, st.base
        organization = common.sim_backed_up_organization(sim)
        portal_client = requests.Session()
        portal_client.headers["Authorization"] = f"Token {common.api_token(base, USER)}"
        direct = requests.Session()
        direct.headers["Authorization"] = f"Bearer {common.sim_token(sim)}"
        portal_client.get(f"{base}/api/organizations/", timeout=60).raise_for_status()
        started = portal_client.post(f"{base}/api/sessions/", json={
            "organization": organization["id"], "workload": "exchange", "reason": "bench restores"},
            headers={"Idempotency-Key": common.new_key()}, timeout=60)
        if started.status_code != 201:
            raise RuntimeError(f"starting the session answered {started.status_code}: {started.text[:500]}")
        portal = Portal(base, started.json()["id"], portal_client)
        upstream = Upstream(sim, portal.session_id, direct)

        common.log("restores: choosing the export, the ten exports and the restore folder")
        boxes = upstream.mailboxes()
        export = choose_export(upstream, boxes, sizes)
        ten = []
        for box in boxes[:10]:
            folder = next(f for f in upstream.root_folders(box["id"]) if f["name"] == sizes.ten_folder)
            ten.append((box, folder, upstream.export_size(upstream.export_url(box["id"], folder["id"]))))
        restore_box, restore_folder, restore_items = choose_restore_folder(upstream, boxes)

        # Warm-up: a small export created, stored and downloaded by 8 clients at once (every process imports
        # the code of the whole path before memory is measured).
        first = boxes[0]
        outbox = portal_node(portal, first["name"], "Outbox")
        warm = export_through_portal(portal, outbox, "bench restores: warm-up")
        warm_clients = [requests.Session() for _ in range(8)]
        for c in warm_clients:
            c.headers.update(portal_client.headers)
        def warm_download(i: int) -> None:
            portal.download(warm.extra["job"], warm_clients[i])

        common.run_clients(8, warm_download, time_limit=60)

        results: dict[str, Any] = {"warm_up": warm.summary()}
        results["export"] = measure_export(st, portal, upstream, export)
        results["ten"] = measure_ten(st, portal, ten)
        results["restore"] = measure_restore(st, portal, upstream, organization, restore_box, restore_folder,
                                             restore_items, sizes.item_sim_seconds)
        results["sim_requests"] = common.sim_stats(sim).get("requests")
        results["disk_write"] = disk_write_rate(st.files_root, 200_000_000 if quick else 1_000_000_000)
    load_after = os.getloadavg()
    return report(results, quick, load_before, load_after)


def choose_export(upstream: Upstream, boxes: list[dict[str, Any]], sizes: Sizes) -> dict[str, Any]:
    """The smallest export ≥ sizes.export_min_bytes among the first mailboxes (or the first mailbox's folders)."""
    candidates: list[dict[str, Any]] = []
    if sizes.export_scope == "mailbox":
        for box in boxes[:12]:
            url = upstream.export_url(box["id"])
            size = upstream.export_size(url)
            if size >= sizes.export_min_bytes:
                candidates.append({"mailbox": box["name"], "folder": None, "url": url, "size": size})
                if size <= sizes.export_min_bytes * 1.3:
                    break
    else:
        box = boxes[0]
        for folder in upstream.root_folders(box["id"]):
            url = upstream.export_url(box["id"], folder["id"])
            size = upstream.export_size(url)
            if size >= sizes.export_min_bytes:
                candidates.append({"mailbox": box["name"], "folder": folder["name"], "url": url, "size": size})
    if not candidates:
        raise RuntimeError(f"no {sizes.export_scope} export of at least {sizes.export_min_bytes:,} bytes found")
    return min(candidates, key=lambda c: c["size"])


def choose_restore_folder(upstream: Upstream, boxes: list[dict[str, Any]]
                          ) -> tuple[dict[str, Any], dict[str, Any], int]:
    low, high = RESTORE_ITEMS
    for box in boxes:
        inbox = next(f for f in upstream.root_folders(box["id"]) if f["name"] == "Inbox")
        count = upstream.item_count(box["id"], inbox["id"], stop_above=high)
        if low <= count <= high:
            return box, inbox, count
    raise RuntimeError(f"no Inbox of {low:,}–{high:,} items among the first {len(boxes)} mailboxes")


def measure_export(st: Stack, portal: Portal, upstream: Upstream, export: dict[str, Any]) -> dict[str, Any]:
    node = portal_node(portal, export["mailbox"], export["folder"])
    what = f"{export['mailbox']}" + (f" / {export['folder']}" if export["folder"] else " (mailbox)")
    out: dict[str, Any] = {"what": what, "size": export["size"], "cap_bytes_per_second": EXPORT_CAP}
    for label, cap in (("capped", EXPORT_CAP), ("uncapped", 0)):
        set_knobs(st.sim, bytes_per_second=cap)
        common.log(f"restores 9a ({label}): direct export of {what}, {export['size']:,} bytes")
        size, seconds, head = direct_export(upstream.client, export["url"])
        if size != export["size"] or not head.startswith(b"!BDN"):
            raise RuntimeError(f"direct export: {size} bytes starting {head!r}")
        direct_result = {"bytes": size, "seconds": round(seconds, 2), "mb_s": mbps(size, seconds)}
        common.log(f"restores 9a ({label}): direct {direct_result['mb_s']} MB/s; now through the portal")
        with RssSampler(st.processes()) as sampler:
            through = export_through_portal(portal, node, f"bench restores 9a {label}")
        if through.size != export["size"] or not through.head.startswith(b"!BDN"):
            raise RuntimeError(f"portal export: {through.size} bytes starting {through.head!r}")
        summary = through.summary()
        summary["ratio_to_direct"] = round(seconds / (through.done - through.created), 3)
        out[label] = {"direct": direct_result, "portal": summary, "memory": sampler.report()}
        common.log(f"restores 9a ({label}): portal end to end {summary['end_to_end_mb_s']} MB/s "
                   f"(worker store {summary['worker_store_mb_s']} MB/s, download {summary['download_mb_s']} MB/s)")
    set_knobs(st.sim, bytes_per_second=EXPORT_CAP)
    return out


def measure_ten(st: Stack, portal: Portal, ten: list[tuple[dict[str, Any], dict[str, Any], int]]) -> dict[str, Any]:
    nodes = [portal_node(portal, box["name"], folder["name"]) for box, folder, _ in ten]
    total = sum(size for _, _, size in ten)
    common.log(f"restores 9b: ten exports at once ({total:,} bytes in all)")
    clients = [requests.Session() for _ in nodes]
    for c in clients:
        c.headers.update(portal.client.headers)
    runs: list[ExportRun | None] = [None] * len(nodes)
    errors: list[str] = []
    barrier = threading.Barrier(len(nodes))

    def person(i: int) -> None:
        barrier.wait()
        try:
            runs[i] = export_through_portal(portal, nodes[i], f"bench restores 9b {i + 1}/10", clients[i])
        except Exception as exc:  # noqa: BLE001 — reported with the figures
            errors.append(f"{i}: {type(exc).__name__}: {exc}"[:500])

    with RssSampler(st.processes()) as sampler:
        common.run_clients(len(nodes), person, time_limit=3600)
    done = [r for r in runs if r is not None]
    if errors or len(done) != len(nodes):
        raise RuntimeError(f"ten exports: {len(done)} done, errors: {errors}")
    first, last = min(r.created for r in done), max(r.done for r in done)
    return {"bytes": total, "jobs": [dict(r.summary(), what=f"{b['name']} / {f['name']}")
                                     for r, (b, f, _) in zip(done, ten, strict=True)],
            "total_s": round(last - first, 2), "aggregate_mb_s": mbps(total, last - first),
            "task_workers": TASK_WORKERS, "memory": sampler.report()}


def measure_restore(st: Stack, portal: Portal, upstream: Upstream, organization: dict[str, Any],
                    box: dict[str, Any], folder: dict[str, Any], items: int, item_seconds: float) -> dict[str, Any]:
    tenant = organization.get("tenant")
    if not tenant:
        raise RuntimeError(f"organization {organization['name']} has no tenant account for a password restore")
    node = portal_node(portal, box["name"], folder["name"])
    set_knobs(st.sim, item_sim_seconds=item_seconds)
    common.log(f"restores 9c: restoring {box['name']} / {folder['name']} ({items:,} items, {item_seconds} s each)")
    job = portal.create("exchange.restore_original", [node], "bench restores 9c",
                        credentials={"kind": "password", "user_name": tenant["username"],
                                     "password": tenant["password"]})
    job_id = job["id"]
    reads: list[tuple[float, float, int, int | None, str]] = []      # sent, received, processed, total, state
    stats: list[tuple[float, float, int, int]] = []                   # sent, received, processed, total
    run_id: list[str] = []
    stop = threading.Event()

    failures: list[str] = []
    deadline = time.monotonic() + items * item_seconds + 600

    def poll_portal() -> None:
        client = requests.Session()
        client.headers.update(portal.client.headers)
        try:
            while not stop.is_set() and time.monotonic() < deadline:
                sent = time.time()
                body = portal.job(job_id, client)
                counts = body["counts"]
                reads.append((sent, time.time(), counts["succeeded"] + counts["failed"] + counts["skipped"],
                              counts["total"], body["state"]))
                if body["state"] in FINISHED:
                    return
                stop.wait(LAG_POLL_S)
            failures.append(f"job {job_id} not finished within {items * item_seconds + 600:.0f} s")
        except Exception as exc:  # noqa: BLE001 — reported below
            failures.append(f"reading the job: {type(exc).__name__}: {exc}"[:500])
        finally:
            stop.set()

    def poll_simulator() -> None:
        client = requests.Session()
        client.headers.update(upstream.client.headers)
        try:
            while not stop.is_set() and not run_id:
                found = common.pg_scalar(st.dbname, "SELECT upstream_run_id FROM restores_restorejob "
                                                    "WHERE public_id = %s::uuid", (job_id,))
                if found:
                    run_id.append(found)
                else:
                    stop.wait(0.1)
            while not stop.is_set():
                sent = time.time()
                body = client.get(f"{st.sim}/v8/RestoreSessions/{run_id[0]}/Statistics", timeout=60).json()
                stats.append((sent, time.time(), body["restoredItemsCount"] + body["failedItemsCount"]
                              + body["skippedItemsCount"], body["totalItemsCount"]))
                stop.wait(STATS_POLL_S)
        except Exception as exc:  # noqa: BLE001 — reported below
            failures.append(f"reading the simulator: {type(exc).__name__}: {exc}"[:500])

    threads = [threading.Thread(target=poll_portal, daemon=True), threading.Thread(target=poll_simulator, daemon=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=items * item_seconds + 700)
    if failures:
        raise RuntimeError(f"restore job {job_id}: {'; '.join(failures)}")
    stop.set()
    if not run_id:
        raise RuntimeError(f"restore job {job_id} never got a VB365 run id (state {reads[-1][4] if reads else '?'})")
    run = upstream.client.get(f"{st.sim}/v8/RestoreSessions/{run_id[0]}", timeout=60).json()
    clock = requests.get(f"{st.sim}/_sim/clock", timeout=30).json()
    run_start = parse_time(run["creationTime"])
    assert run_start is not None
    offset = float(clock.get("offset_seconds", 0.0))
    final = portal.job(job_id)

    def done_at(k: int) -> float:
        """Wall-clock time at which the simulator's count reached k."""
        return run_start + k * item_seconds - offset

    lags = [max(0.0, received - done_at(processed + 1)) if total is None or processed < total else 0.0
            for _, received, processed, total, _ in reads]
    # The mapping checked against what the simulator answered: its count must lie within the request's window.
    def predicted(at: float) -> int:
        return min(items, max(0, int((at + offset - run_start) / item_seconds)))

    misses = [(processed, predicted(sent), predicted(received)) for sent, received, processed, _total in stats]
    worst_miss = max((max(lo - p, p - hi, 0) for p, lo, hi in misses), default=0)
    finished_seen = next((received for _, received, _, _, state in reads if state in FINISHED), None)
    end_lag = None if finished_seen is None else round(finished_seen - done_at(items), 2)
    counts = final["counts"]
    return {"what": f"{box['name']} / {folder['name']}", "items": items, "item_sim_seconds": item_seconds,
            "job": job_id, "run_id": run_id[0], "state": final["state"], "counts": counts,
            "message": (final.get("message") or "")[:300], "reads": len(reads),
            "read_latency": common.latency_summary([(r[1] - r[0]) * 1000 for r in reads]),
            "lag_s": {"p50": round(common.percentile(lags, 50), 2), "p95": round(common.percentile(lags, 95), 2),
                      "max": round(max(lags), 2) if lags else float("nan")},
            "finished_shown_after_last_item_s": end_lag,
            "statistics_check": {"samples": len(stats), "worst_items_outside_request_window": worst_miss},
            "poll_seconds_setting": st.env.get("RESTORE_POLL_SECONDS", "2.0 (default)"),
            "lag_series_s": [(round(r[1] - run_start, 2), r[2], round(lag, 2))
                             for r, lag in zip(reads, lags, strict=True)][::4]}


def report(results: dict[str, Any], quick: bool, load_before: tuple[float, ...], load_after: tuple[float, ...]
           ) -> dict[str, Any]:
    export, ten, restore = results["export"], results["ten"], results["restore"]
    capped, uncapped = export["capped"], export["uncapped"]
    size_text = f"{export['size'] / 1e9:.2f} GB"
    ratio = capped["portal"]["ratio_to_direct"]
    gun = max(capped["memory"]["gunicorn"]["growth_mb"], uncapped["memory"]["gunicorn"]["growth_mb"])
    work = max(capped["memory"]["task_workers"]["growth_mb"], uncapped["memory"]["task_workers"]["growth_mb"])
    lag_max, lag_p50 = restore["lag_s"]["max"], restore["lag_s"]["p50"]
    jobs = ten["jobs"]

    def cpu_per_gb(group: str) -> float:
        return round(capped["memory"][group]["cpu_s"] / (export["size"] / 1e9), 2)

    figures = [
        {"figure": f"9a export {size_text} ({export['what']}): end to end (store + download) ÷ direct, simulator "
                   f"at {EXPORT_CAP / 1e6:g} MB/s ({capped['portal']['end_to_end_mb_s']} vs "
                   f"{capped['direct']['mb_s']} MB/s)",
         "measured": ratio, "unit": "x", "target": f">= {TARGET_RATIO:g}", "passed": ratio >= TARGET_RATIO},
        {"figure": f"9a worker store rate (queue {capped['portal']['queue_s']} s; download alone "
                   f"{capped['portal']['download_mb_s']} MB/s)",
         "measured": capped["portal"]["worker_store_mb_s"], "unit": "MB/s", "target": "info", "passed": None},
        {"figure": f"9a floor: this machine writes a {results['disk_write']['bytes'] / 1e9:.1f} GB file where the "
                   "files are kept (the worker's store cannot be faster)",
         "measured": results["disk_write"]["mb_s"], "unit": "MB/s", "target": "info", "passed": None},
        {"figure": "9a CPU seconds per GB stored and downloaded: task worker (gunicorn "
                   f"{cpu_per_gb('gunicorn')}, simulator {cpu_per_gb('simulator')}, clients "
                   f"{cpu_per_gb('bench_clients')})",
         "measured": cpu_per_gb("task_workers"), "unit": "s/GB", "target": "info", "passed": None},
        {"figure": f"9a uncapped simulator: end to end ÷ direct ({uncapped['portal']['end_to_end_mb_s']} vs "
                   f"{uncapped['direct']['mb_s']} MB/s; worker store {uncapped['portal']['worker_store_mb_s']} MB/s)",
         "measured": uncapped["portal"]["ratio_to_direct"], "unit": "x", "target": "info", "passed": None},
        {"figure": f"9a gunicorn workers RSS growth during the export (start "
                   f"{capped['memory']['gunicorn']['start_mb']} MB)",
         "measured": gun, "unit": "MB", "target": f"<= {TARGET_GROWTH_MB:g}", "passed": gun <= TARGET_GROWTH_MB},
        {"figure": f"9a task workers RSS growth during the export (start "
                   f"{capped['memory']['task_workers']['start_mb']} MB)",
         "measured": work, "unit": "MB", "target": f"<= {TARGET_GROWTH_MB:g}", "passed": work <= TARGET_GROWTH_MB},
        {"figure": f"9b ten exports at once, {ten['bytes'] / 1e9:.2f} GB, {ten['task_workers']} task workers: total "
                   f"time ({ten['aggregate_mb_s']} MB/s in all)",
         "measured": ten["total_s"], "unit": "s", "target": "info", "passed": None},
        {"figure": "9b per job end to end, median (min–max "
                   f"{min(j['end_to_end_mb_s'] for j in jobs)}–{max(j['end_to_end_mb_s'] for j in jobs)} MB/s; "
                   f"worker store median {round(common.median([j['worker_store_mb_s'] or 0 for j in jobs]), 1)} MB/s)",
         "measured": round(common.median([j["end_to_end_mb_s"] for j in jobs]), 1), "unit": "MB/s", "target": "info",
         "passed": None},
        {"figure": f"9b memory growth, gunicorn / task workers (task workers "
                   f"{ten['memory']['task_workers']['growth_mb']} MB)",
         "measured": ten["memory"]["gunicorn"]["growth_mb"], "unit": "MB", "target": "info", "passed": None},
        {"figure": f"9c restore of {restore['items']:,} items on v8 ({restore['state']}): progress lag, max "
                   f"(p50 {lag_p50} s, {restore['reads']} reads)",
         "measured": lag_max, "unit": "s", "target": f"<= {TARGET_LAG_S:g}", "passed": lag_max <= TARGET_LAG_S},
        {"figure": "9c finished state shown after the simulator's last item",
         "measured": restore["finished_shown_after_last_item_s"], "unit": "s", "target": "info", "passed": None},
        {"figure": "9 load average (1 min) before / after: the figures move with it",
         "measured": f"{load_before[0]:.2f} / {load_after[0]:.2f}", "unit": "", "target": "info", "passed": None},
    ]
    return {"name": "restores", "figures": figures,
            "passed": all(f["passed"] for f in figures if f["passed"] is not None),
            "details": {**results, "quick": quick, "loadavg": {"before": load_before, "after": load_after},
                        "cores": os.cpu_count()}}


if __name__ == "__main__":
    import json

    print(json.dumps(run("--quick" in sys.argv), indent=2, default=str))
