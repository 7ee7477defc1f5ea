"""The periodic and notification tasks, run as a worker runs them (tests.background.conftest.drain), against
the simulator over HTTP and a real SMTP server on localhost."""
from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from background import scheduler, tasks
from background.models import PeriodicTask
from sessions_app.models import (
    AuditAction,
    AuditEvent,
    RestoreSession,
    SessionOrigin,
    SessionResult,
    SessionState,
    SyncRun,
    UserProfile,
)
from sessions_app.services import session_start
from sessions_app.specs import StartSpec
from sessions_app.upstream import client as upstream_client
from tests.background.conftest import drain

SESSIONS_PATH = r"(?i)/RestoreSessions$"


def only(name: str, settings: Any) -> None:
    """Schedule just the periodic task `name` (the others' intervals set to 0)."""
    wanted = next(periodic.interval_setting for periodic in scheduler.PERIODIC_TASKS if periodic.name == name)
    for periodic in scheduler.PERIODIC_TASKS:
        if periodic.interval_setting != wanted:
            setattr(settings, periodic.interval_setting, 0)


def run_interval(now: Any, name: str = "history_sync") -> PeriodicTask:
    scheduler.schedule_tick(now=now)
    drain()
    return PeriodicTask.objects.get(name=name)


def start(actor: Any, organization: Any) -> RestoreSession:
    return session_start.restore_session_start(actor=actor, key=str(uuid.uuid4()), spec=StartSpec(
        organization=organization, workload="exchange", reason="Mailbox restore for a user"))


def test_the_scheduled_sync_imports_the_history(organizations: Any, settings: Any) -> None:
    only("history_sync", settings)

    row = run_interval(timezone.now())

    run = SyncRun.objects.get()
    assert run.status == SyncRun.Status.SUCCEEDED and run.seen > 0
    assert RestoreSession.objects.count() == run.seen
    assert row.last_outcome == PeriodicTask.Outcome.SUCCEEDED and row.last_error == ""


def test_upstream_down_during_a_scheduled_sync_fails_clearly_and_the_next_interval_recovers(
        organizations: Any, settings: Any, sim: Any) -> None:
    only("history_sync", settings)
    now = timezone.now()
    sim.fault(status=503, path=SESSIONS_PATH)

    row = run_interval(now)

    failed = SyncRun.objects.get()
    assert failed.status == SyncRun.Status.FAILED and "503" in failed.error or "unavailable" in failed.error.lower()
    assert row.last_outcome == PeriodicTask.Outcome.FAILED and row.last_error
    assert DBTaskResult.objects.failed().count() == 1, "a periodic task is not retried: its next interval is"

    sim.clear_faults()
    assert run_interval(now + timedelta(seconds=60)).last_outcome == PeriodicTask.Outcome.FAILED, "not due yet"
    row = run_interval(now + timedelta(seconds=settings.SYNC_INTERVAL_SECONDS))

    assert row.last_outcome == PeriodicTask.Outcome.SUCCEEDED and row.consecutive_failures == 0
    assert SyncRun.objects.order_by("-started_at").values_list("status", flat=True).first() == SyncRun.Status.SUCCEEDED


def test_administrators_are_mailed_once_when_the_sync_keeps_failing(
        organizations: Any, settings: Any, sim: Any, admin_user: Any, django_user_model: Any,
        smtp_server: Any) -> None:
    only("history_sync", settings)
    settings.SYNC_FAILURE_ALERT_AFTER = 2
    admin_user.email = "admin@example.com"
    admin_user.save()
    quiet = django_user_model.objects.create_superuser("quiet-admin", "quiet@example.com", "x")
    UserProfile.objects.create(user=quiet, notify_sync_failing=False)
    sim.fault(status=503, path=SESSIONS_PATH)
    now = timezone.now()

    for interval in range(4):
        run_interval(now + timedelta(seconds=interval * settings.SYNC_INTERVAL_SECONDS))

    assert SyncRun.objects.filter(status=SyncRun.Status.FAILED).count() == 4
    alerts = smtp_server.to("admin@example.com")
    assert len(alerts) == 1
    assert "failed 2 times in a row" in alerts[0]["subject"]
    assert smtp_server.to("quiet@example.com") == []


def test_an_idle_portal_session_is_stopped_by_policy_and_its_requester_told(
        operator: Any, backed_up_org: Any, settings: Any, smtp_server: Any) -> None:
    only("idle_sessions_stop", settings)
    settings.SESSION_IDLE_MINUTES = 60
    operator.email = "olivia@example.com"
    operator.save()
    idle, active = start(operator, backed_up_org), start(operator, backed_up_org)
    RestoreSession.objects.filter(pk=idle.pk).update(last_activity_at=timezone.now() - timedelta(minutes=61))
    RestoreSession.objects.filter(pk=active.pk).update(last_activity_at=timezone.now() - timedelta(minutes=5))

    row = run_interval(timezone.now(), "idle_sessions_stop")
    drain()  # the e-mail task the stop enqueued

    idle.refresh_from_db()
    active.refresh_from_db()
    assert row.last_outcome == PeriodicTask.Outcome.SUCCEEDED
    assert idle.state == SessionState.STOPPED and active.state == SessionState.WORKING
    assert upstream_client.get_client().get_restore_session(str(idle.upstream_id)).state == SessionState.STOPPED
    event = AuditEvent.objects.filter(action=AuditAction.SESSION_STOP, session_upstream_id=str(idle.upstream_id)).get()
    assert event.actor_username == "policy" and event.details["stopped_by"] == "policy"
    assert "Stopped by policy" in event.reason
    [mail] = smtp_server.to("olivia@example.com")
    assert "idle" in mail["subject"] and str(idle.upstream_id) in mail["body"]


def test_sessions_started_elsewhere_or_with_the_policy_off_are_never_stopped(
        operator: Any, backed_up_org: Any, settings: Any) -> None:
    session = start(operator, backed_up_org)
    long_ago = timezone.now() - timedelta(days=2)
    RestoreSession.objects.filter(pk=session.pk).update(origin=SessionOrigin.UPSTREAM, last_activity_at=long_ago)
    tasks.idle_sessions_stop.call()
    assert RestoreSession.objects.get(pk=session.pk).state == SessionState.WORKING

    RestoreSession.objects.filter(pk=session.pk).update(origin=SessionOrigin.PORTAL)
    settings.SESSION_IDLE_MINUTES = 0
    tasks.idle_sessions_stop.call()
    assert RestoreSession.objects.get(pk=session.pk).state == SessionState.WORKING


def test_viewing_a_session_counts_as_activity_but_a_refused_request_does_not(
        operator: Any, backed_up_org: Any, client: Any, exchange_operator: Any) -> None:
    session = start(operator, backed_up_org)
    long_ago = timezone.now() - timedelta(hours=2)
    RestoreSession.objects.filter(pk=session.pk).update(last_activity_at=long_ago)

    client.force_login(exchange_operator)  # no grant on this organization: 404
    assert client.get(f"/sessions/{session.upstream_id}/").status_code == 404
    assert RestoreSession.objects.get(pk=session.pk).last_activity_at == long_ago

    client.force_login(operator)
    assert client.get(f"/api/sessions/{session.upstream_id}/").status_code == 200
    touched = RestoreSession.objects.get(pk=session.pk).last_activity_at
    assert touched is not None and touched > timezone.now() - timedelta(seconds=30)
    client.get(f"/sessions/{session.upstream_id}/")
    assert RestoreSession.objects.get(pk=session.pk).last_activity_at == touched, "at most one write a minute"


def test_a_failed_portal_session_is_announced_once_to_its_requester(
        operator: Any, backed_up_org: Any, settings: Any, smtp_server: Any) -> None:
    operator.email = "olivia@example.com"
    operator.save()
    session = start(operator, backed_up_org)
    RestoreSession.objects.filter(pk=session.pk).update(state=SessionState.STOPPED, result=SessionResult.FAILED,
                                                        end_time=timezone.now(), details="Mailbox not found")

    tasks.session_failures_notify.call()
    tasks.session_failures_notify.call()
    drain()

    [mail] = smtp_server.to("olivia@example.com")
    assert mail["subject"] == "Your restore session ended in failure"
    assert "Mailbox not found" in mail["body"]


def test_a_person_who_turned_a_notice_off_gets_none(operator: Any, backed_up_org: Any, smtp_server: Any) -> None:
    operator.email = "olivia@example.com"
    operator.save()
    UserProfile.objects.update_or_create(user=operator, defaults={"notify_session_failed": False})
    session = start(operator, backed_up_org)
    RestoreSession.objects.filter(pk=session.pk).update(state=SessionState.STOPPED, result=SessionResult.FAILED)

    tasks.session_failures_notify.call()
    drain()

    assert smtp_server.messages == []


def test_a_mail_server_that_is_down_delays_the_mail_and_it_arrives_once_it_is_back(
        operator: Any, backed_up_org: Any, start_smtp: Any) -> None:
    operator.email = "olivia@example.com"
    operator.save()
    session = start(operator, backed_up_org)
    RestoreSession.objects.filter(pk=session.pk).update(state=SessionState.STOPPED, result=SessionResult.FAILED)

    tasks.session_failures_notify.call()  # the page or task that enqueues does not talk to SMTP
    drain()

    first = DBTaskResult.objects.failed().get()
    retry = DBTaskResult.objects.filter(status="READY").get()
    assert "ConnectionRefusedError" in first.traceback
    assert retry.args_kwargs["kwargs"]["attempt"] == 2
    assert retry.run_after >= retry.enqueued_at + timedelta(seconds=59)

    inbox = start_smtp()
    DBTaskResult.objects.filter(pk=retry.pk).update(run_after=timezone.now())  # the backoff has passed
    drain()

    [mail] = inbox.to("olivia@example.com")
    assert mail["subject"] == "Your restore session ended in failure"


def test_the_service_token_is_renewed_ahead_of_its_expiry(upstream: Any, settings: Any, sim: Any, db: Any) -> None:
    grants = sim.request_count("POST /v8/Token")
    assert tasks.upstream_token_refresh.call() == {"renewed": True}  # none yet
    assert tasks.upstream_token_refresh.call() == {"renewed": False}  # fresh for longer than two intervals
    settings.TOKEN_REFRESH_INTERVAL_SECONDS = 10 ** 6  # now the token expires before the next refresh
    assert tasks.upstream_token_refresh.call() == {"renewed": True}
    assert sim.request_count("POST /v8/Token") == grants + 2


def test_the_audit_checkpoint_task_writes_the_chain_head(db: Any) -> None:
    from sessions_app.services.audit import audit_event_record

    event = audit_event_record(action=AuditAction.SIGN_IN, actor_username="someone")

    assert tasks.audit_checkpoint.call() == {"checkpoint": event.sequence}
    line = Path(settings.AUDIT_CHECKPOINT_PATH).read_text().splitlines()[-1]
    assert json.loads(line)["sequence"] == event.sequence and json.loads(line)["hash"] == event.hash
