"""Pulling VB365's restore-session history into the local models.

Paged, incremental from the last run's watermark (minus an overlap, for clock skew and sessions VB365 wrote
late), idempotent, one run at a time across processes and hosts (the database admits one running SyncRun).
Sessions VB365 no longer lists stay here, marked forgotten (a full run detects them).
"""
from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from sessions_app import exceptions
from sessions_app.models import AuditAction, AuditOutcome, Organization, RestoreSession, SessionState, SyncRun
from sessions_app.services import bulk
from sessions_app.services import organizations as organization_services
from sessions_app.services.audit import audit_event_record
from sessions_app.services.restore_sessions import restore_session_events_store, restore_session_refresh
from sessions_app.session_columns import upstream_fields
from sessions_app.upstream import client as upstream
from sessions_app.upstream import errors
from sessions_app.upstream.types import Page, RestoreSessionDTO

logger = logging.getLogger(__name__)

OVERLAP = timedelta(minutes=15)
PAGE_SIZE = 5000
READ_AHEAD_PAGES = 2
# A running row whose heartbeat is older than this was left by a process that died; the next run takes over.
ABANDONED_AFTER = timedelta(minutes=5)
# Upstream fields compared to decide whether a known session changed.
COMPARED_FIELDS = ("state", "result", "end_time", "name", "details", "scope_name", "client_host", "upstream_reason",
                   "etag", "initiated_by", "organization_name")
SYNC_ALREADY_RUNNING = "Another history sync is running (started {started:%Y-%m-%d %H:%M:%S} UTC)."



@dataclass(frozen=True)
class SyncProgress:
    """What a running sync has done so far, handed to the `progress` callback at each step.

    `page_read` is True for the tick after each upstream page; the other steps carry a `message` worth a line of
    its own. `expected` is the number of sessions VB365 said it would list, where its paging tells it.
    """

    message: str
    pages: int = 0
    sessions: int = 0
    expected: int | None = None
    page_read: bool = False


ProgressCallback = Callable[[SyncProgress], None]


class SyncAlreadyRunning(exceptions.Conflict):
    code = "sync_running"


@dataclass(frozen=True)
class SyncResult:
    run_id: int
    seen: int
    created: int
    updated: int
    unchanged: int
    events: int
    forgotten: int


def restore_sessions_sync(*, client: upstream.UpstreamClient | None = None, since: datetime | None = None,
                          full: bool = False, with_events: bool = True, progress: ProgressCallback | None = None,
                          actor: AbstractBaseUser | None = None) -> SyncResult:
    """Run one sync and return its counts. Raises SyncAlreadyRunning, or UpstreamError after recording the
    failed run (SyncRun row and audit event)."""
    client = client or upstream.get_client()
    report = progress or (lambda step: None)
    run = _acquire_run(full=full, since=since)
    counts = {"seen": 0, "created": 0, "updated": 0, "unchanged": 0, "events": 0, "forgotten": 0}
    try:
        organization_services.organizations_refresh(client=client, force=True)
        start_from = since if since is not None else (None if full else _incremental_start())
        since_text = (f" created since {start_from.astimezone(dt_timezone.utc):%Y-%m-%d %H:%M:%S} UTC" if start_from
                      else "")
        report(SyncProgress(f"Reading sessions from VB365{since_text}…"))
        organizations = dict(Organization.objects.values_list("name", "id"))
        watermark: datetime | None = None
        needs_events: list[str] = []
        expected: int | None = None
        pages = _read_ahead(client.iter_restore_session_pages(start_time_from=start_from, page_size=PAGE_SIZE))
        for page_number, page in enumerate(pages, start=1):
            # The first page that tells the collection's size (a v1 array, a v6/v7 totalCount) sets it.
            expected = page.total if expected is None else expected
            page_counts, page_needs_events = _ingest_page(page.items, run=run, organizations=organizations,
                                                          api_version=client.dialect.version,
                                                          list_events=with_events)
            for key, value in page_counts.items():
                counts[key] += value
            needs_events.extend(page_needs_events)
            newest = max(dto.creation_time for dto in page.items)
            watermark = newest if watermark is None or newest > watermark else watermark
            _heartbeat(run, counts, pages_read=page_number, sessions_expected=expected)
            read = f"  {counts['seen']} sessions read: {counts['created']} new, {counts['updated']} updated"
            report(SyncProgress(read,
                                pages=page_number, sessions=counts["seen"], expected=expected,
                                page_read=True))
        refreshed, forgotten = _refresh_working_not_listed(run=run, client=client)
        counts["updated"] += refreshed
        counts["forgotten"] += forgotten
        if with_events and client.dialect.has_events:
            counts["events"] = _fetch_events(needs_events, client=client, report=report)
        if full and since is None:
            counts["forgotten"] += _mark_forgotten(run)
        _finish(run, status=SyncRun.Status.SUCCEEDED, counts=counts, watermark=watermark or _previous_watermark())
    except BaseException as exc:
        _finish(run, status=SyncRun.Status.FAILED, counts=counts, watermark=None, error=_describe(exc))
        audit_event_record(action=AuditAction.SYNC, actor=actor, actor_username="" if actor else "sync",
                           outcome=AuditOutcome.FAILURE, details={"run": run.pk, **counts, "error": _describe(exc)})
        raise
    audit_event_record(action=AuditAction.SYNC, actor=actor, actor_username="" if actor else "sync",
                       details={"run": run.pk, "full": full, **counts})
    return SyncResult(run_id=run.pk, **counts)


def _acquire_run(*, full: bool, since: datetime | None) -> SyncRun:
    now = timezone.now()
    SyncRun.objects.filter(status=SyncRun.Status.RUNNING, heartbeat_at__lt=now - ABANDONED_AFTER).update(
        status=SyncRun.Status.FAILED, finished_at=now, error="Abandoned: the process running it stopped.")
    try:
        with transaction.atomic():
            return SyncRun.objects.create(status=SyncRun.Status.RUNNING, started_at=now, heartbeat_at=now,
                                          full=full, since=since)
    except IntegrityError:
        running = SyncRun.objects.filter(status=SyncRun.Status.RUNNING).first()
        started = running.started_at if running else now
        raise SyncAlreadyRunning(SYNC_ALREADY_RUNNING.format(started=started)) from None


def _previous_watermark() -> datetime | None:
    return (SyncRun.objects.filter(status=SyncRun.Status.SUCCEEDED, watermark__isnull=False)
            .order_by("-started_at").values_list("watermark", flat=True).first())


def _incremental_start() -> datetime | None:
    watermark = _previous_watermark()
    return watermark - OVERLAP if watermark else None


def _ingest_page(page: list[RestoreSessionDTO], *, run: SyncRun, organizations: dict[str, int],
                 api_version: int, list_events: bool) -> tuple[dict[str, int], list[str]]:
    """Create new sessions and update changed ones, with a few statements per page. With `list_events`, also
    return the ids whose events to fetch (new sessions, and those working at the last read or now)."""
    by_id = {dto.id: dto for dto in page}
    existing = {str(row.upstream_id): row for row in RestoreSession.objects.filter(upstream_id__in=list(by_id))
                .only("id", "upstream_id", *COMPARED_FIELDS)}
    created: list[dict[str, Any]] = []
    changed: list[RestoreSession] = []
    needs_events: list[str] = []
    for upstream_id, dto in by_id.items():
        fields = upstream_fields(dto, api_version=api_version)
        row = existing.get(upstream_id)
        if row is None:
            created.append({"upstream_id": uuid.UUID(upstream_id), "last_seen_sync": run.pk,
                            "organization_id": organizations.get(dto.organization_name), **fields})
            if list_events:
                needs_events.append(upstream_id)
            continue
        was_working = row.state == SessionState.WORKING
        if any(getattr(row, name) != fields[name] for name in COMPARED_FIELDS):
            for name, value in fields.items():
                setattr(row, name, value)
            changed.append(row)
        # A session that ended since the last read has new events (the closing one at least).
        if list_events and (was_working or dto.state == SessionState.WORKING):
            needs_events.append(upstream_id)
    with transaction.atomic():
        # Conflicts are skipped: a session the portal recorded a moment ago (a start racing this sync) stays as is.
        bulk.insert_ignoring_conflicts(RestoreSession, created, unique_field="upstream_id")
        if changed:
            RestoreSession.objects.bulk_update(changed, fields=list(upstream_fields(page[0], api_version=api_version)),
                                               batch_size=500)
        if existing:
            RestoreSession.objects.filter(upstream_id__in=list(existing)).update(last_seen_sync=run.pk)
    counts = {"seen": len(by_id), "created": len(created), "updated": len(changed),
              "unchanged": len(existing) - len(changed)}
    return counts, needs_events


def _read_ahead(pages: Iterator[Page[RestoreSessionDTO]]) -> Iterator[Page[RestoreSessionDTO]]:
    """Fetch the next upstream page in a thread while this one is written (network and database overlap).

    The reading thread only speaks HTTP; every database write stays in the caller's thread.
    """
    ready: queue.Queue[Any] = queue.Queue(maxsize=READ_AHEAD_PAGES)
    stop = threading.Event()
    done = object()

    def read() -> None:
        try:
            for page in pages:
                while not stop.is_set():
                    try:
                        ready.put(page, timeout=0.5)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            ready.put(done)
        except BaseException as exc:  # handed to the caller's thread, which raises it
            ready.put(exc)

    reader = threading.Thread(target=read, name="sync-read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            item = ready.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


def _refresh_working_not_listed(*, run: SyncRun, client: upstream.UpstreamClient) -> tuple[int, int]:
    """Re-read local sessions still working that this run did not list (they started before its window).

    Returns (refreshed, forgotten): a session VB365 no longer knows is marked, not deleted.
    """
    stale = RestoreSession.objects.filter(state=SessionState.WORKING, forgotten_upstream_at__isnull=True).exclude(
        last_seen_sync=run.pk)
    refreshed = forgotten = 0
    for session in stale.iterator():
        session = restore_session_refresh(session=session, client=client)
        if session.forgotten_upstream_at is not None:
            forgotten += 1
        else:
            refreshed += 1
    return refreshed, forgotten


def _fetch_events(session_ids: list[str], *, client: upstream.UpstreamClient, report: ProgressCallback) -> int:
    if not session_ids:
        return 0
    report(SyncProgress(f"Reading events of {len(session_ids)} new or working sessions…"))
    total = 0
    sessions = {str(s.upstream_id): s for s in RestoreSession.objects.filter(upstream_id__in=session_ids)}
    for upstream_id in session_ids:
        session = sessions.get(upstream_id)
        if session is None:
            continue
        try:
            events = client.iter_restore_session_events(upstream_id)
            total += restore_session_events_store(session=session, events=events)
        except errors.UpstreamNotFound:
            continue
    return total


def _mark_forgotten(run: SyncRun) -> int:
    """After a full listing: what VB365 no longer lists (recorded before this run began) is forgotten upstream."""
    return (RestoreSession.objects.filter(forgotten_upstream_at__isnull=True, created_at__lt=run.started_at)
            .exclude(last_seen_sync=run.pk).update(forgotten_upstream_at=timezone.now()))


def _heartbeat(run: SyncRun, counts: dict[str, int], *, pages_read: int, sessions_expected: int | None) -> None:
    run.pages_read, run.sessions_expected = pages_read, sessions_expected
    SyncRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now(), pages_read=pages_read,
                                             sessions_expected=sessions_expected, **counts)


def _finish(run: SyncRun, *, status: str, counts: dict[str, int], watermark: datetime | None, error: str = "") -> None:
    run.status = status
    run.finished_at = timezone.now()
    run.watermark = watermark
    run.error = error[:2000]
    for key, value in counts.items():
        setattr(run, key, value)
    run.save()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, errors.UpstreamError):
        return f"{type(exc).__name__}: {exc}"
    if isinstance(exc, KeyboardInterrupt):
        return "Interrupted."
    if exceptions.is_cache_outage(exc):
        return f"The cache (Redis), which holds the VB365 token, is unreachable: {exc}"
    return f"{type(exc).__name__}: {exc}"
