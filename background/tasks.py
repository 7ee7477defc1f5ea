"""Every background task, with whether it may run again (see background.queue).

Periodic tasks (background.scheduler) are not retried: their next interval is the retry, and a failure stays
visible on the operations page until then. Purging expired exports (issue 16) belongs here as one more
periodic task: `export_files_purge`, idempotent, listed in scheduler.PERIODIC_TASKS.
"""
from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail

from background.queue import PermanentTaskError, background_task
from sessions_app.models import SyncRun
from sessions_app.services import audit, idle_sessions, notifications, sync
from sessions_app.upstream import client as upstream
from sessions_app.upstream.errors import UpstreamError

logger = logging.getLogger(__name__)

# The token is renewed when it would expire before the next two scheduled refreshes.
TOKEN_REFRESH_MARGIN_INTERVALS = 2


@background_task(idempotent=True)
def history_sync() -> dict[str, Any]:
    """The incremental sync of `manage.py sync_sessions`. Idempotent: it upserts, one at a time (the database
    admits one running SyncRun), so a second run finds nothing new. After SYNC_FAILURE_ALERT_AFTER failures
    in a row, administrators are told once."""
    try:
        result = sync.restore_sessions_sync()
    except sync.SyncAlreadyRunning as exc:
        return {"skipped": exc.message}
    except UpstreamError as exc:
        failures = consecutive_sync_failures()
        if failures == settings.SYNC_FAILURE_ALERT_AFTER:
            notifications.sync_failing_notify(failures=failures, error=str(exc))
        raise
    return {"run": result.run_id, "seen": result.seen, "created": result.created, "updated": result.updated}


def consecutive_sync_failures() -> int:
    failures = 0
    for status in SyncRun.objects.exclude(status=SyncRun.Status.RUNNING).order_by("-started_at").values_list(
            "status", flat=True)[:100]:
        if status != SyncRun.Status.FAILED:
            break
        failures += 1
    return failures


@background_task(idempotent=True)
def idle_sessions_stop() -> dict[str, Any]:
    """Idempotent: a session already stopped is no longer idle."""
    return {"stopped": idle_sessions.restore_sessions_stop_idle()}


@background_task(idempotent=True)
def session_failures_notify() -> dict[str, Any]:
    """Idempotent: each session's notice is claimed once (RestoreSession.outcome_notified_at)."""
    return {"notified": notifications.session_failures_notify()}


@background_task(idempotent=True)
def audit_checkpoint() -> dict[str, Any]:
    """Idempotent: a second checkpoint of the same head repeats a true statement."""
    head = audit.audit_chain_head()
    if head is None:
        return {"checkpoint": None}
    checkpoint = audit.audit_checkpoint_write(head=head)
    return {"checkpoint": checkpoint.sequence}


@background_task(idempotent=True)
def upstream_token_refresh() -> dict[str, Any]:
    """Idempotent: a token that is still fresh enough is left alone."""
    within = settings.TOKEN_REFRESH_INTERVAL_SECONDS * TOKEN_REFRESH_MARGIN_INTERVALS
    return {"renewed": upstream.get_client().token_refresh_ahead(within_seconds=within)}


@background_task(idempotent=True, max_attempts=8, backoff_seconds=60)
def notification_send(*, kind: str, user_id: int, subject: str, body: str) -> dict[str, Any]:
    """Send one notice. Retried while the mail server is down or refuses (1, 2, 4 … 60 minutes apart, eight
    attempts). At least once: a server that accepted the mail but whose reply was lost gets it twice."""
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        raise PermanentTaskError(f"User {user_id} no longer exists.")
    if not notifications.notification_wanted(user=user, kind=kind):
        return {"sent": False, "why": "turned off, no address, or inactive"}
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email], fail_silently=False)
    return {"sent": True, "to": user.email}
