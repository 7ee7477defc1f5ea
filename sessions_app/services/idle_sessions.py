"""The idle-session policy: a session Restore Desk started, with no activity through the portal for
SESSION_IDLE_MINUTES, is stopped upstream, audited as stopped by policy, and its requester is told.
Sessions started elsewhere (the VB365 console, PowerShell) are never stopped by it."""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from sessions_app.models import RestoreSession, SessionOrigin, SessionState
from sessions_app.services import notifications
from sessions_app.services.restore_sessions import restore_session_stop_upstream
from sessions_app.upstream import client as upstream
from sessions_app.upstream import errors

logger = logging.getLogger(__name__)

# Activity is written at most this often per session: a page that polls costs one UPDATE a minute, not one a poll.
ACTIVITY_RESOLUTION = timedelta(minutes=1)
POLICY_ACTOR = "policy"


class IdleStopFailed(Exception):
    """VB365 refused to stop some idle sessions; the next run tries them again."""


def restore_session_activity_record(*, upstream_id: str | uuid.UUID, now: datetime | None = None) -> bool:
    """Mark a working portal session as used now; True when the stored time moved."""
    now = now or timezone.now()
    try:
        upstream_uuid = upstream_id if isinstance(upstream_id, uuid.UUID) else uuid.UUID(str(upstream_id))
    except ValueError:
        return False
    # In SQL: every API answer about a session runs this, and compiling the ORM's UPDATE takes several times
    # longer than running it.
    ops = connection.ops
    table, upstream_id_column, origin, state, last_activity_at = (ops.quote_name(name) for name in (
        RestoreSession._meta.db_table, "upstream_id", "origin", "state", "last_activity_at"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {last_activity_at} = %s WHERE {upstream_id_column} = %s AND {origin} = %s "
            f"AND {state} = %s AND ({last_activity_at} IS NULL OR {last_activity_at} < %s)",
            [ops.adapt_datetimefield_value(now),
             RestoreSession._meta.get_field("upstream_id").get_db_prep_value(upstream_uuid, connection),
             SessionOrigin.PORTAL.value, SessionState.WORKING.value,
             ops.adapt_datetimefield_value(now - ACTIVITY_RESOLUTION)])
        return bool(cursor.rowcount)


def idle_sessions(*, now: datetime | None = None) -> list[RestoreSession]:
    """Working portal sessions without activity for SESSION_IDLE_MINUTES (none when the policy is off)."""
    minutes = settings.SESSION_IDLE_MINUTES
    if minutes <= 0:
        return []
    cutoff = (now or timezone.now()) - timedelta(minutes=minutes)
    return list(RestoreSession.objects.filter(origin=SessionOrigin.PORTAL, state=SessionState.WORKING,
                                              forgotten_upstream_at__isnull=True)
                .filter(Q(last_activity_at__lt=cutoff) | Q(last_activity_at__isnull=True, creation_time__lt=cutoff))
                .select_related("organization", "requested_by"))


def restore_sessions_stop_idle(*, client: upstream.UpstreamClient | None = None,
                               now: datetime | None = None) -> list[str]:
    """Stop every idle portal session; return the ids stopped. Safe to run again: a session that is no longer
    working is left alone. Raises IdleStopFailed after trying all of them when VB365 refused some."""
    client = client or upstream.get_client()
    stopped, failed = [], []
    for session in idle_sessions(now=now):
        try:
            if _stop_by_policy(session, client=client):
                stopped.append(str(session.upstream_id))
        except errors.UpstreamError as exc:
            failed.append(f"{session.upstream_id}: {exc}")
    if failed:
        raise IdleStopFailed(f"{len(failed)} idle session(s) could not be stopped: " + "; ".join(failed))
    return stopped


def _stop_by_policy(session: RestoreSession, *, client: upstream.UpstreamClient) -> bool:
    minutes = settings.SESSION_IDLE_MINUTES
    reason = f"Stopped by policy: no activity through Restore Desk for {minutes} minutes."
    audit_common = {"actor_username": POLICY_ACTOR, "organization": session.organization,
                    "workload": session.workload, "session_upstream_id": str(session.upstream_id), "reason": reason}
    details = {"stopped_by": "policy", "idle_minutes": minutes,
               "last_activity_at": session.last_activity_at.isoformat() if session.last_activity_at else None}
    if restore_session_stop_upstream(session=session, client=client, audit_common=audit_common,
                                     details=details) is None:
        return False  # it ended by itself meanwhile: nothing was stopped by policy
    notifications.session_stopped_by_policy_notify(session=session, idle_minutes=minutes)
    logger.info("Session %s stopped by policy after %d idle minutes", session.upstream_id, minutes)
    return True
