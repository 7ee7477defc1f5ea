"""Readiness of what Restore Desk depends on: the database, the cache and the VB365 server."""
from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from sessions_app.upstream import client as upstream
from sessions_app.upstream.errors import UpstreamError

# Load balancers poll often; the upstream is asked at most this often per cache, whatever the polling rate.
UPSTREAM_CHECK_SECONDS = 10
UPSTREAM_CACHE_KEY = "healthz:upstream"


@dataclass(frozen=True)
class Check:
    ok: bool
    ms: float
    detail: str = ""


def _timed(probe: Any) -> Check:
    started = time.monotonic()
    try:
        detail = probe() or ""
        return Check(True, round((time.monotonic() - started) * 1000, 1), detail)
    except Exception as exc:  # a health check reports every failure instead of raising it
        return Check(False, round((time.monotonic() - started) * 1000, 1), f"{type(exc).__name__}: {exc}"[:200])


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def _cache() -> str:
    key = f"healthz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=5)
    if cache.get(key) != "1":
        raise RuntimeError("the cache did not return what was written")
    cache.delete(key)
    return ""


def _workers() -> str:
    """At least one background worker wrote its heartbeat within WORKER_STALE_SECONDS."""
    from background import queue
    from background.models import WorkerHeartbeat

    alive = WorkerHeartbeat.objects.filter(last_seen_at__gte=queue.heartbeat_fresh_after()).count()
    if not alive:
        newest = WorkerHeartbeat.objects.order_by("-last_seen_at").values_list("last_seen_at", flat=True).first()
        raise RuntimeError("no background worker is running" if newest is None else
                           f"stale worker heartbeat: the newest is from {newest:%Y-%m-%d %H:%M:%S} UTC")
    return f"{alive} alive"


def _upstream() -> Check:
    cached = cache.get(UPSTREAM_CACHE_KEY)
    if cached is not None:
        return Check(**cached)

    def probe() -> str:
        return f"HTTP {upstream.get_client().probe()}"

    check = _timed(probe)
    cache.set(UPSTREAM_CACHE_KEY, asdict(check), timeout=UPSTREAM_CHECK_SECONDS)
    return check


def health_report(*, with_details: bool) -> tuple[bool, dict[str, Any]]:
    """(all ok, report). Each check: ok, and with details also ms and detail (error texts, the database
    vendor, the upstream's status), which are for staff only. The cache check failing does not hide the others."""
    checks = {"database": _timed(_database), "cache": _timed(_cache), "upstream": _upstream_safely()}
    if settings.HEALTHZ_REQUIRE_WORKER:
        checks["workers"] = _timed(_workers)
    healthy = all(check.ok for check in checks.values())
    return healthy, {"status": "ok" if healthy else "unavailable",
                     "checks": {name: asdict(check) if with_details else {"ok": check.ok}
                                for name, check in checks.items()}}


def _upstream_safely() -> Check:
    try:
        return _upstream()
    except UpstreamError as exc:
        return Check(False, 0.0, str(exc))
    except Exception as exc:  # the cache itself may be down
        return Check(False, 0.0, f"{type(exc).__name__}: {exc}"[:200])
