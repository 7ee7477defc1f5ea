"""Refused requests in the audit trail: the one writer of ACCESS_DENIED events.

Pages and the API call `access_refused` for every 403 and every 404 of something the user may not see,
naming the operation that was refused ("session.stop", "organization.view", ...) and its target.

Repeated probes do not flood the chain. The first refusal of a kind (same person, or address when nobody is
signed in, same operation, same target) is written at once and opens a window of AUDIT_REFUSAL_WINDOW_SECONDS;
repeats within the window are only counted, in a RefusalTally row. Once the window has closed, one summary
event carries the count (`repeats`) and when the last repeat happened, so 100 probes cost two events and the
count is never lost. The summary is written by whichever comes first: the next refusal of the same kind, the
sweep that any refusal runs at most once a minute, or `refusals_flush()` (the audit pages call it before they
read, so an auditor sees every closed window). A person probing many targets of one operation gets at most
AUDIT_REFUSAL_TARGETS_PER_WINDOW events naming them per window; further targets are counted under "*".
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from sessions_app.exceptions import Refusal
from sessions_app.models import AuditAction, AuditEvent, AuditOutcome, RefusalTally
from sessions_app.services.audit import audit_event_record

ANY_TARGET = "*"
MANY_TARGETS = "more targets of this operation than AUDIT_REFUSAL_TARGETS_PER_WINDOW in one window"
SWEEP_CACHE_KEY = "audit-refusals:sweep"
SWEEP_INTERVAL_SECONDS = 60
SWEEP_BATCH = 500


def access_refused(*, actor: AbstractBaseUser | AnonymousUser | None, refusal: Refusal, client_address: str = "",
                   now: datetime | None = None) -> AuditEvent | None:
    """Record that `actor` was refused `refusal.operation` on `refusal.target`.

    Returns the event written, or None for a repeat within the window (counted, summarised once it closes).
    Writes in its own short transaction; the audit event is its last write.
    """
    now = now or timezone.now()
    if _sweep_due():
        refusals_flush(now=now)
    who = _who(actor, client_address)
    refusal = _bounded(refusal)
    if _repeat_counted(who, refusal, now):
        return None
    with transaction.atomic():
        summaries: list[RefusalTally] = []
        tally = _open_tally(who, refusal, now, summaries)
        if tally is None and _many_targets(who, refusal, now):
            refusal = Refusal(operation=refusal.operation, target=ANY_TARGET, why=MANY_TARGETS)
            tally = _open_tally(who, refusal, now, summaries)
        if tally is None and not _window_opened(who, refusal, now, actor=actor, client_address=client_address):
            tally = RefusalTally.objects.get(key=_key(who, refusal))
        for closed in summaries:
            _summary_record(closed)
        if tally is not None:
            RefusalTally.objects.filter(pk=tally.pk).update(repeats=F("repeats") + 1, last_repeat_at=now)
            return None
        return audit_event_record(action=AuditAction.ACCESS_DENIED, actor=actor, outcome=AuditOutcome.DENIED,
                                  organization=refusal.organization, workload=refusal.workload,
                                  session_upstream_id=refusal.session_upstream_id, client_address=client_address,
                                  details=_details(refusal))


def refusal_record(*, actor: AbstractBaseUser | AnonymousUser | None, operation: str, refused: BaseException | Refusal,
                   target: str = "", client_address: str = "") -> AuditEvent | None:
    """Record the refusal a page or API call met: the Refusal given or carried by the exception (a PortalError's
    `refusal`), else one of `operation` on `target` (a plain 403 or 404). A refusal that names no operation is
    recorded as `operation`: one service refusal is named by the request that met it. See access_refused."""
    refusal = refused if isinstance(refused, Refusal) else getattr(refused, "refusal", None)
    if not isinstance(refusal, Refusal):
        refusal = Refusal(target=target)
    if not refusal.operation:
        refusal = replace(refusal, operation=operation)
    return access_refused(actor=actor, refusal=refusal, client_address=client_address)


def refusals_flush(*, now: datetime | None = None) -> int:
    """Write the summary of every closed window that counted repeats, and forget closed windows.
    Returns how many summary events were written."""
    now = now or timezone.now()
    written = 0
    with transaction.atomic():
        closed = list(RefusalTally.objects.select_for_update(skip_locked=True)
                      .filter(window_started_at__lte=now - _window()).order_by("window_started_at")[:SWEEP_BATCH])
        for tally in closed:
            written += _summary_record(tally)
    return written


def _window() -> timedelta:
    return timedelta(seconds=settings.AUDIT_REFUSAL_WINDOW_SECONDS)


def _who(actor: AbstractBaseUser | AnonymousUser | None, client_address: str) -> str:
    if actor is not None and getattr(actor, "is_authenticated", False):
        return f"user:{actor.pk}"
    return f"address:{client_address}"


def _key(who: str, refusal: Refusal) -> str:
    return hashlib.sha256(f"{who}\n{refusal.operation}\n{refusal.target}".encode()).hexdigest()


def _bounded(refusal: Refusal) -> Refusal:
    """The refusal with its free-text parts cut to what the tally stores (the target comes from the URL)."""
    return Refusal(operation=refusal.operation[:64], target=refusal.target[:128], organization=refusal.organization,
                   workload=refusal.workload[:16], session_upstream_id=refusal.session_upstream_id[:64],
                   why=refusal.why[:255])


_next_sweep_check = 0.0  # time.monotonic() of this process


def _sweep_due() -> bool:
    """At most once a minute across processes (a cache key); each process asks the cache at most once a minute."""
    global _next_sweep_check
    if time.monotonic() < _next_sweep_check:
        return False
    _next_sweep_check = time.monotonic() + SWEEP_INTERVAL_SECONDS
    return bool(cache.add(SWEEP_CACHE_KEY, 1, timeout=SWEEP_INTERVAL_SECONDS))


def _repeat_counted(who: str, refusal: Refusal, now: datetime) -> bool:
    """Count a repeat within its open window, the usual case of a probe: one UPDATE, no transaction (under
    "*" once `who` is past the named-target limit). False when no window of this refusal is open: the caller
    then opens one, or writes the closed one's summary first."""
    if _count_repeat(_key(who, refusal), now):
        return True
    return (_many_targets(who, refusal, now)
            and _count_repeat(_key(who, Refusal(operation=refusal.operation, target=ANY_TARGET)), now))


def _count_repeat(key: str, now: datetime) -> bool:
    # In SQL: it runs on every repeated refusal, and compiling the ORM's UPDATE takes several times longer
    # than running it.
    ops = connection.ops
    table, key_column, repeats, last_repeat_at, window_started_at = (ops.quote_name(name) for name in (
        RefusalTally._meta.db_table, "key", "repeats", "last_repeat_at", "window_started_at"))
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {repeats} = {repeats} + 1, {last_repeat_at} = %s "
                       f"WHERE {key_column} = %s AND {window_started_at} > %s",
                       [ops.adapt_datetimefield_value(now), key, ops.adapt_datetimefield_value(now - _window())])
        return bool(cursor.rowcount)


def _open_tally(who: str, refusal: Refusal, now: datetime, summaries: list[RefusalTally]) -> RefusalTally | None:
    """This refusal's tally while its window is open (locked); a closed one is queued for its summary."""
    # No ORDER BY (first() would add one): the key is unique.
    tally = next(iter(RefusalTally.objects.select_for_update().filter(key=_key(who, refusal))[:1]), None)
    if tally is None:
        return None
    if tally.window_started_at > now - _window():
        return tally
    summaries.append(tally)
    return None


def _many_targets(who: str, refusal: Refusal, now: datetime) -> bool:
    """Has `who` open windows on AUDIT_REFUSAL_TARGETS_PER_WINDOW named targets of this operation?

    Once true, it stays true until the oldest of those windows closes (no new named window opens meanwhile:
    further targets go to "*"), so a probe of yet another target is answered from the cache until then
    instead of counting the tallies again. The cache holds that moment, compared with `now`."""
    if not refusal.target or refusal.target == ANY_TARGET:
        return False
    limit = int(settings.AUDIT_REFUSAL_TARGETS_PER_WINDOW)
    if limit <= 0:
        return True
    cache_key = _many_targets_cache_key(who, refusal.operation, limit)
    many_until = cache.get(cache_key)
    if isinstance(many_until, datetime) and now < many_until:
        return True
    opened = list(RefusalTally.objects.filter(who=who, operation=refusal.operation,
                                              window_started_at__gt=now - _window())
                  .exclude(target=ANY_TARGET).order_by("window_started_at")
                  .values_list("window_started_at", flat=True)[:limit])
    if len(opened) < limit:
        return False
    many_until = opened[0] + _window()
    cache.set(cache_key, many_until, timeout=max(1, int((many_until - now).total_seconds()) + 1))
    return True


def _many_targets_cache_key(who: str, operation: str, limit: int) -> str:
    # The settings are part of the key: a changed limit or window is never answered with the old one's fact.
    settings_part = f"{limit}\n{settings.AUDIT_REFUSAL_WINDOW_SECONDS}"
    return "audit-refusals:many:" + hashlib.sha256(f"{who}\n{operation}\n{settings_part}".encode()).hexdigest()


def _window_opened(who: str, refusal: Refusal, now: datetime, *, actor: Any, client_address: str) -> bool:
    """Start this refusal's window (replacing a closed one); False when a concurrent request started it first."""
    key = _key(who, refusal)
    signed_in = actor is not None and getattr(actor, "is_authenticated", False)
    try:
        with transaction.atomic():
            RefusalTally.objects.filter(key=key, window_started_at__lte=now - _window()).delete()
            RefusalTally.objects.create(
                key=key, who=who, operation=refusal.operation, target=refusal.target,
                actor_id=actor.pk if signed_in else None, actor_username=actor.get_username() if signed_in else "",
                client_address=client_address[:64], organization=refusal.organization, workload=refusal.workload,
                session_upstream_id=refusal.session_upstream_id, why=refusal.why, window_started_at=now,
            )
    except IntegrityError:
        return False
    return True


def _summary_record(tally: RefusalTally) -> int:
    """One event for the repeats a closed window counted (none when it counted none); the tally is removed."""
    written = 0
    if tally.repeats:
        actor = get_user_model().objects.filter(pk=tally.actor_id).first() if tally.actor_id is not None else None
        refusal = Refusal(operation=tally.operation, target=tally.target, why=tally.why)
        audit_event_record(
            action=AuditAction.ACCESS_DENIED, actor=actor, actor_username=tally.actor_username,
            outcome=AuditOutcome.DENIED, organization=tally.organization, workload=tally.workload,
            session_upstream_id=tally.session_upstream_id, client_address=tally.client_address,
            details={**_details(refusal), "repeats": tally.repeats,
                     "window_started_at": tally.window_started_at.isoformat(),
                     "last_repeat_at": tally.last_repeat_at.isoformat() if tally.last_repeat_at else None},
        )
        written = 1
    RefusalTally.objects.filter(pk=tally.pk).delete()
    return written


def _details(refusal: Refusal) -> dict[str, Any]:
    details = {"operation": refusal.operation, "target": refusal.target}
    if refusal.why:
        details["why"] = refusal.why
    return details
