"""Who is told what, by e-mail. Each notice is composed here and sent by a background task
(background.tasks.notification_send), enqueued in the caller's transaction: a mail server that is down delays
the mail, never a page. Each person can turn each kind off in their profile; the choice is read again when
the mail is sent."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from sessions_app.models import RestoreSession, Role, SessionOrigin, SessionResult, SessionState, UserProfile

SESSION_FAILED = "session_failed"
SESSION_STOPPED_BY_POLICY = "session_stopped_by_policy"
SYNC_FAILING = "sync_failing"
PREFERENCE_FIELDS = {SESSION_FAILED: "notify_session_failed",
                     SESSION_STOPPED_BY_POLICY: "notify_session_stopped_by_policy",
                     SYNC_FAILING: "notify_sync_failing"}
# Failures older than this when first noticed (an upgrade, a long outage) are not announced any more.
FAILURE_NOTICE_WINDOW = timedelta(days=1)


def notification_wanted(*, user: Any, kind: str) -> bool:
    """Has an address, is active, and has not turned this kind off."""
    if not getattr(user, "is_active", False) or not getattr(user, "email", ""):
        return False
    profile = UserProfile.objects.filter(user=user).first()
    preference = PREFERENCE_FIELDS.get(kind)  # kinds without a preference (a job's end: restores) always go
    return profile is None or preference is None or bool(getattr(profile, preference))


def notification_enqueue(*, kind: str, user: Any, subject: str, body: str) -> None:
    from background import tasks  # background.tasks calls the services that call this module

    if notification_wanted(user=user, kind=kind):
        tasks.notification_send.enqueue(kind=kind, user_id=user.pk, subject=subject, body=body)


def _session_line(session: RestoreSession) -> str:
    return (f"Organization: {session.organization_name or '-'}\nWorkload: {session.get_workload_display()}\n"
            f"Session: {session.upstream_id}\nReason given: {session.reason or '-'}\n")


def session_stopped_by_policy_notify(*, session: RestoreSession, idle_minutes: int) -> None:
    if session.requested_by is None:
        return
    notification_enqueue(
        kind=SESSION_STOPPED_BY_POLICY, user=session.requested_by,
        subject=f"Restore session stopped after {idle_minutes} idle minutes",
        body=(f"Your restore session was stopped by policy: no activity through Restore Desk for {idle_minutes} "
              f"minutes.\n\n{_session_line(session)}\nStart a new session when you need it again.\n"))


def session_failures_notify(*, now: Any = None) -> int:
    """Tell the requester of each portal session that ended in failure, once: each session is claimed by a
    conditional UPDATE in the transaction that enqueues its mail. Returns how many were claimed."""
    now = now or timezone.now()
    candidates = RestoreSession.objects.filter(
        origin=SessionOrigin.PORTAL, state=SessionState.STOPPED, result=SessionResult.FAILED,
        outcome_notified_at__isnull=True, requested_by__isnull=False).select_related("requested_by")
    claimed = 0
    for session in candidates:
        with transaction.atomic():
            if not RestoreSession.objects.filter(pk=session.pk, outcome_notified_at__isnull=True).update(
                    outcome_notified_at=now):
                continue
            claimed += 1
            ended = session.end_time or session.updated_at
            if ended < now - FAILURE_NOTICE_WINDOW:
                continue
            notification_enqueue(
                kind=SESSION_FAILED, user=session.requested_by,
                subject="Your restore session ended in failure",
                body=(f"A restore session you started ended in failure.\n\n{_session_line(session)}"
                      f"Details from VB365: {session.details or '-'}\n"))
    return claimed


def administrators() -> list[Any]:
    user_model = get_user_model()
    return list(user_model.objects.filter(Q(is_superuser=True) | Q(groups__name=Role.ADMIN.value), is_active=True)
                .distinct().order_by("pk"))


def sync_failing_notify(*, failures: int, error: str) -> None:
    for admin in administrators():
        notification_enqueue(
            kind=SYNC_FAILING, user=admin, subject=f"Restore Desk: the history sync failed {failures} times in a row",
            body=(f"The scheduled history sync has failed {failures} times in a row "
                  f"(every {settings.SYNC_INTERVAL_SECONDS} seconds).\n\nLast error: {error}\n\n"
                  "The operations page shows the recent runs. This alert is sent once per streak of failures.\n"))


def notification_preferences_set(*, user: Any, notify_session_failed: bool, notify_session_stopped_by_policy: bool,
                                 notify_sync_failing: bool) -> UserProfile:
    """The person's choices; the sync alert is an administrator's only, so others keep what they had."""
    from sessions_app import selectors

    profile, _ = UserProfile.objects.get_or_create(user=user)
    profile.notify_session_failed = notify_session_failed
    profile.notify_session_stopped_by_policy = notify_session_stopped_by_policy
    fields = ["notify_session_failed", "notify_session_stopped_by_policy", "updated_at"]
    if selectors.user_role(user) == Role.ADMIN:
        profile.notify_sync_failing = notify_sync_failing
        fields.insert(0, "notify_sync_failing")
    profile.save(update_fields=fields)
    return profile
