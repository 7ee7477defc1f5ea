"""Shared plumbing of the benchmarks: processes (simulator, gunicorn, manage.py), throw-away PostgreSQL
databases, a Redis db of our own, load generation and statistics.

Every process started here runs in its own process group and is killed with it on exit (normal or not).
Databases are named ``rd_bench_<name>_<pid>`` and dropped on exit; Redis dbs are FLUSHDB'd before and after.
"""
from __future__ import annotations

import atexit
import json
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
LOGS = RESULTS / "logs"
PY = sys.executable
GUNICORN = str(Path(PY).with_name("gunicorn"))
PG_HOST = os.environ.get("BENCH_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("BENCH_PG_PORT", "5432"))
PG_USER = os.environ.get("BENCH_PG_USER", "postgres")
REDIS_HOST = os.environ.get("BENCH_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("BENCH_REDIS_PORT", "6379"))
SECRET_KEY = "bench-" + "x" * 50
PASSWORD = "Bench-pass-2024!"
TEMPLATE_DB = f"rd_bench_template_{os.getpid()}"

_template_ready = False
_template_lock = threading.Lock()


# -- small helpers ----------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[k]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def latency_summary(values_ms: list[float]) -> dict[str, float]:
    return {"n": len(values_ms), "p50_ms": round(percentile(values_ms, 50), 2),
            "p95_ms": round(percentile(values_ms, 95), 2), "p99_ms": round(percentile(values_ms, 99), 2),
            "max_ms": round(max(values_ms), 2) if values_ms else math.nan}


def proc_status_kb(pid: int, key: str) -> int:
    """VmRSS / VmHWM (kB) of a process, 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (seconds), 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def children_pids(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def log(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _kill_group(proc: subprocess.Popen[Any], timeout: float = 10) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):  # it ended between the wait and the kill
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def wait_http(url: str, proc: subprocess.Popen[Any], timeout: float = 60, what: str = "process") -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode} before answering {url}")
        try:
            requests.get(url, timeout=2, allow_redirects=False)
            return
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not answer {url} within {timeout} s") from None
            time.sleep(0.05)


# -- simulator --------------------------------------------------------------------------------------------------


def pinned(command: list[str], cpus: Collection[int] | None) -> list[str]:
    """`command` run by ``taskset`` on `cpus` (its threads and children stay there), or as is for None."""
    if cpus is None:
        return command
    return ["taskset", "--cpu-list", ",".join(str(cpu) for cpu in sorted(cpus)), *command]


def split_cores() -> tuple[set[int], set[int]]:
    """The cores this process may use, split in two halves: (for the portal, for everything else). With
    2 cores: ({1}, {0}). Raises RuntimeError with fewer than 2."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        raise RuntimeError(f"pinning needs at least 2 cores, this process may use {cores}")
    half = len(cores) // 2
    return set(cores[half:]), set(cores[:half])


@contextmanager
def pinned_here(cpus: Collection[int]) -> Iterator[None]:
    """This process's current thread (and every thread it starts meanwhile) on `cpus`; restored on exit."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


@contextmanager
def simulator(*args: str, cpus: Collection[int] | None = None) -> Iterator[tuple[str, subprocess.Popen[bytes], float]]:
    """``python -m vb365_sim`` on a free port (on `cpus` when given); yields (base URL, process, seconds until it
    answered)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    LOGS.mkdir(parents=True, exist_ok=True)
    with open(LOGS / f"sim-{port}.log", "wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            pinned([PY, "-m", "vb365_sim", "--host", "127.0.0.1", "--port", str(port), *args], cpus),
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
        try:
            wait_http(f"{base}/_sim/info", proc, timeout=120, what="simulator")
            yield base, proc, time.perf_counter() - started
        finally:
            _kill_group(proc)


def sim_token(base: str) -> str:
    form = {"grant_type": "password", "username": "admin", "password": "admin"}
    response = requests.post(f"{base}/v8/Token", data=form, timeout=30)
    response.raise_for_status()
    return str(response.json()["access_token"])


def sim_stats(base: str) -> dict[str, Any]:
    return requests.get(f"{base}/_sim/stats", timeout=30).json()


def sim_backed_up_organization(base: str) -> dict[str, Any]:
    info = requests.get(f"{base}/_sim/info", timeout=30).json()
    return next(o for o in info["organizations"] if o["is_backed_up"])


# -- PostgreSQL and Redis ---------------------------------------------------------------------------------------


def pg_url(dbname: str) -> str:
    return f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{dbname}"


def _admin_connection() -> Any:
    import psycopg

    return psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True)


def pg_execute(dbname: str, sql: str, params: Any = None) -> None:
    import psycopg

    with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=dbname, autocommit=True) as conn:
        conn.execute(sql, params)


def pg_scalar(dbname: str, sql: str, params: Any = None) -> Any:
    import psycopg

    with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=dbname, autocommit=True) as conn:
        row = conn.execute(sql, params).fetchone()
        return row[0] if row else None


def _drop_database(name: str) -> None:
    assert name.startswith("rd_bench_"), name
    with _admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _ensure_template() -> None:
    """Migrate one template database per run; every benchmark database is a copy of it (fast)."""
    global _template_ready
    with _template_lock:
        if _template_ready:
            return
        _drop_database(TEMPLATE_DB)
        with _admin_connection() as conn:
            conn.execute(f'CREATE DATABASE "{TEMPLATE_DB}"')
        atexit.register(_drop_database, TEMPLATE_DB)
        env = portal_env(database=pg_url(TEMPLATE_DB), cache="locmemcache://", vb365_url="http://127.0.0.1:9")
        t = time.perf_counter()
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "collectstatic", "--noinput", "-v", "0")
        log(f"template database {TEMPLATE_DB} migrated in {time.perf_counter() - t:.1f} s")
        _template_ready = True


@contextmanager
def database(name: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database; yields its name. Dropped on exit."""
    _ensure_template()
    dbname = f"rd_bench_{name}_{os.getpid()}"
    _drop_database(dbname)
    with _admin_connection() as conn:
        conn.execute(f'CREATE DATABASE "{dbname}" TEMPLATE "{TEMPLATE_DB}"')
    try:
        yield dbname
    finally:
        _drop_database(dbname)


@contextmanager
def redis_db(number: int) -> Iterator[str]:
    """A Redis db of our own (10-15), emptied before and after; yields its CACHE_URL."""
    import redis

    assert 10 <= number <= 15, number
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=number)
    client.flushdb()
    try:
        yield f"redis://{REDIS_HOST}:{REDIS_PORT}/{number}"
    finally:
        client.flushdb()
        client.close()


# -- the portal -------------------------------------------------------------------------------------------------


def portal_env(*, database: str, cache: str, vb365_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "VB365_", "DATABASE_URL", "CACHE_URL"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "bench.settings_bench",
        "PYTHONPATH": str(ROOT),
        "DJANGO_SECRET_KEY": SECRET_KEY,
        "AUDIT_CHAIN_KEY": "bench-only-audit-chain-key-0123456789abcdef",
        "AUDIT_CHECKPOINT_PATH": str(RESULTS / "audit-checkpoints.jsonl"),
        "DJANGO_DEBUG": "false",
        "DJANGO_SECURE_COOKIES": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database,
        "CACHE_URL": cache,
        "VB365_URL": vb365_url,
        "VB365_USERNAME": "admin",
        "VB365_PASSWORD": "admin",
        "VB365_API_VERSION": "8",
        "VB365_VERIFY_TLS": "false",
        "DJANGO_LOG_LEVEL": "WARNING",
        "BENCH_STATIC_ROOT": str(RESULTS / "staticfiles"),
    })
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str, check: bool = True,
           timeout: float = 600) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=timeout, start_new_session=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed ({result.returncode}): {result.stderr[-2000:]}")
    return result


def run_child(script: str, *args: str, env: dict[str, str], what: str, timeout: float = 1800) -> Any:
    """``python script --child args…`` in the portal's environment (a Django process of its own, measured
    apart from this one); returns the JSON its last line printed."""
    child = subprocess.run([PY, script, "--child", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=timeout, start_new_session=True)
    if child.returncode != 0:
        raise RuntimeError(f"{what} child failed: {child.stderr[-3000:]}")
    return json.loads(child.stdout.strip().splitlines()[-1])


def add_user(env: dict[str, str], name: str, role: str) -> None:
    manage(env, "portal_user", "add", name, "--role", role, "--password", PASSWORD)


@contextmanager
def gunicorn(env: dict[str, str], *, workers: int = 4, threads: int = 4, name: str = "portal",
             cpus: Collection[int] | None = None) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """gunicorn portal.wsgi on 127.0.0.1:<free port> (master and workers on `cpus` when given); yields
    (base URL, master process)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    LOGS.mkdir(parents=True, exist_ok=True)
    with open(LOGS / f"gunicorn-{name}-{port}.log", "wb") as err:
        proc = subprocess.Popen(
            pinned([GUNICORN, "portal.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads",
                    str(threads), "--timeout", "60", "--graceful-timeout", "5", "--backlog", "2048"], cpus),
            cwd=ROOT, env=env, stdout=err, stderr=err, start_new_session=True)
        try:
            wait_http(f"{base}/healthz", proc, timeout=60, what="gunicorn")
            # Every worker has booted (imported Django) before the clock starts.
            deadline = time.monotonic() + 30
            while len(children_pids(proc.pid)) < workers and time.monotonic() < deadline:
                time.sleep(0.1)
            yield base, proc
        finally:
            _kill_group(proc)


@dataclass(frozen=True)
class PortalStack:
    """A simulator, a database, a Redis db and gunicorn in front of them, as most benchmarks need."""

    sim: str
    sim_proc: subprocess.Popen[bytes]
    base: str
    master: subprocess.Popen[bytes]
    env: dict[str, str]

    def worker_pids(self) -> list[int]:
        return children_pids(self.master.pid)


@contextmanager
def portal_stack(name: str, *, redis: int, sim_args: Sequence[str], users: Sequence[str], role: str = "helpdesk",
                 setup: Sequence[Sequence[str]] = (), workers: int = 4, threads: int = 4,
                 portal_cpus: Collection[int] | None = None, sim_cpus: Collection[int] | None = None
                 ) -> Iterator[PortalStack]:
    """Simulator (``sim_args``, on ``sim_cpus``), fresh database, Redis db ``redis``, the users, the
    ``manage.py`` commands of ``setup``, then gunicorn (on ``portal_cpus``); everything is stopped and dropped
    on exit."""
    with redis_db(redis) as cache, simulator(*sim_args, cpus=sim_cpus) as (sim, sim_proc, _), \
            database(name) as db:
        env = portal_env(database=pg_url(db), cache=cache, vb365_url=sim)
        add_users(env, list(users), role)
        for command in setup:
            manage(env, *command)
        with gunicorn(env, workers=workers, threads=threads, name=name, cpus=portal_cpus) as (base, master):
            yield PortalStack(sim=sim, sim_proc=sim_proc, base=base, master=master, env=env)


def postgres_backend_cpu_seconds(dbname: str) -> dict[int, float]:
    """CPU time (seconds) of each PostgreSQL backend connected to `dbname`, by process id."""
    with _admin_connection() as conn:
        pids = [row[0] for row in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [dbname])]
    return {pid: cpu_seconds(pid) for pid in pids}


def cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two readings of per-process CPU times: the growth of the processes in both,
    plus all of those that appeared meanwhile (those that ended meanwhile are lost: a small undercount, never
    the negative figure a difference of sums gives when a process ends)."""
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())


def postgres_cpu_seconds(dbname: str | None = None) -> float:
    """CPU time (seconds) of the PostgreSQL server processes: the backends connected to `dbname`, or, without
    it, every PostgreSQL process on this machine (backends, WAL writer, …; other users' work included)."""
    if dbname is not None:
        with _admin_connection() as conn:
            pids = [row[0] for row in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [dbname])]
        return sum(cpu_seconds(pid) for pid in pids)
    total = 0.0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().strip() != "postgres":
                        continue
            except OSError:
                continue
            total += cpu_seconds(int(entry))
    return total


def api_token(base: str, username: str) -> str:
    response = requests.post(f"{base}/api/auth/token/", json={"username": username, "password": PASSWORD}, timeout=30)
    response.raise_for_status()
    return str(response.json()["token"])


def browser_session(base: str, username: str, timeout: float = 30) -> requests.Session:
    """A requests.Session signed in through the sign-in page (session cookie + CSRF)."""
    session = requests.Session()
    page = session.get(f"{base}/signin/", timeout=timeout)
    page.raise_for_status()
    csrf = session.cookies.get("csrftoken", "")
    response = session.post(f"{base}/signin/", data={"username": username, "password": PASSWORD,
                                                     "csrfmiddlewaretoken": csrf},
                            headers={"Referer": f"{base}/signin/"}, timeout=timeout, allow_redirects=False)
    if response.status_code != 302:
        raise RuntimeError(f"sign-in as {username} answered {response.status_code}")
    return session


# -- load -------------------------------------------------------------------------------------------------------


class Recorder:
    """Thread-safe list of (label, status, latency ms); status 0 means an exception."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, int, float]] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()

    def add(self, label: str, status: int, ms: float, error: str | None = None) -> None:
        with self._lock:
            self.rows.append((label, status, ms))
            if error and len(self.errors) < 20:
                self.errors.append(f"{label}: {error}")

    def latencies(self, label: str | None = None, ok_only: bool = True) -> list[float]:
        return [ms for lab, status, ms in self.rows
                if (label is None or lab == label) and (not ok_only or 200 <= status < 400)]

    def failures(self) -> int:
        return sum(1 for _, status, _ in self.rows if not 200 <= status < 400)


def timed(recorder: Recorder, label: str, call: Callable[[], requests.Response]) -> requests.Response | None:
    t = time.perf_counter()
    try:
        response = call()
    except requests.RequestException as exc:
        recorder.add(label, 0, (time.perf_counter() - t) * 1000, f"{type(exc).__name__}: {exc}")
        return None
    ms = (time.perf_counter() - t) * 1000
    recorder.add(label, response.status_code, ms,
                 None if 200 <= response.status_code < 400 else f"{response.status_code} {response.text[:200]}")
    return response


def run_clients(clients: int, body: Callable[[int], None], *, time_limit: float) -> float:
    """Run body(client_index) in `clients` threads; returns the wall time. Bodies must honour the deadline
    themselves; threads still running after time_limit + 60 s are abandoned (daemon)."""
    threads = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, time_limit + 60 - (time.perf_counter() - started)))
    return time.perf_counter() - started


def new_key() -> str:
    return str(uuid.uuid4())


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")


def add_users(env: dict[str, str], names: list[str], role: str) -> None:
    """Create (or update) several portal users in one manage.py process, through the product's service."""
    code = ("from sessions_app.services import accounts; from sessions_app.models import Role; "
            f"[accounts.user_create(username=n, password={PASSWORD!r}, role=Role({role!r})) for n in {names!r}]")
    manage(env, "shell", "-c", code)
