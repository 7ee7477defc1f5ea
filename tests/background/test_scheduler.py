"""The periodic schedule: one run per interval however many schedulers tick, kept in the database."""
from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from background import scheduler
from background.models import PeriodicTask
from tests.background.conftest import drain

ALL = {"history_sync", "idle_sessions_stop", "session_failures_notify", "audit_checkpoint", "upstream_token_refresh",
       "restore_jobs_check", "export_files_purge"}


def queued() -> list[str]:
    return sorted(path.rsplit(".", 1)[1] for path in DBTaskResult.objects.values_list("task_path", flat=True))


def test_each_periodic_task_is_enqueued_once_per_interval(db: Any, settings: Any) -> None:
    settings.SYNC_INTERVAL_SECONDS = 300
    settings.RESTORE_JOB_CHECK_SECONDS = settings.EXPORT_PURGE_INTERVAL_SECONDS = 300
    now = timezone.now()

    assert set(scheduler.schedule_tick(now=now)) == ALL
    assert scheduler.schedule_tick(now=now + timedelta(seconds=30)) == []
    assert sorted(scheduler.schedule_tick(now=now + timedelta(seconds=60))) == [
        "idle_sessions_stop", "session_failures_notify", "upstream_token_refresh"]
    assert "history_sync" not in scheduler.schedule_tick(now=now + timedelta(seconds=299))
    assert "history_sync" in scheduler.schedule_tick(now=now + timedelta(seconds=300))
    assert queued().count("history_sync") == 2


def test_the_schedule_survives_a_restart_and_a_long_outage_runs_once(db: Any) -> None:
    now = timezone.now()
    scheduler.schedule_tick(now=now)
    row = PeriodicTask.objects.get(name="history_sync")
    assert row.next_run_at == now + timedelta(seconds=300)

    # A new process (nothing in memory) three hours later: one run, not thirty-six.
    later = now + timedelta(hours=3)
    assert scheduler.schedule_tick(now=later).count("history_sync") == 1
    assert queued().count("history_sync") == 2
    assert PeriodicTask.objects.get(name="history_sync").next_run_at == later + timedelta(seconds=300)


def test_a_scheduler_that_read_a_due_row_late_does_not_enqueue_it_again(db: Any) -> None:
    now = timezone.now()
    scheduler.schedule_tick(now=now)
    PeriodicTask.objects.filter(name="audit_checkpoint").update(next_run_at=now)
    seen_by_both = PeriodicTask.objects.get(name="audit_checkpoint")
    periodic = next(p for p in scheduler.PERIODIC_TASKS if p.name == "audit_checkpoint")

    assert scheduler._claim_and_enqueue(seen_by_both, periodic, now=now) is True
    assert scheduler._claim_and_enqueue(seen_by_both, periodic, now=now) is False
    assert queued().count("audit_checkpoint") == 2  # the first tick's and this one


@pytest.mark.django_db(transaction=True)
def test_concurrent_schedulers_enqueue_one_run_per_task(settings: Any) -> None:
    now = timezone.now()
    barrier = threading.Barrier(4)
    enqueued: list[str] = []

    def tick() -> None:
        try:
            barrier.wait()
            enqueued.extend(scheduler.schedule_tick(now=now))
        finally:
            connection.close()

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(enqueued) == sorted(ALL)
    assert queued() == sorted(ALL)


def test_an_interval_of_zero_or_an_idle_policy_of_zero_turns_a_task_off(db: Any, settings: Any) -> None:
    settings.SYNC_INTERVAL_SECONDS = 0
    settings.SESSION_IDLE_MINUTES = 0

    assert set(scheduler.schedule_tick()) == ALL - {"history_sync", "idle_sessions_stop"}


def test_a_changed_interval_takes_effect_at_once(db: Any, settings: Any) -> None:
    now = timezone.now()
    scheduler.schedule_tick(now=now)
    settings.SYNC_INTERVAL_SECONDS = 60

    assert "history_sync" in scheduler.schedule_tick(now=now + timedelta(seconds=61))


def test_the_outcome_of_each_run_is_recorded(db: Any, settings: Any) -> None:
    settings.AUDIT_CHECKPOINT_INTERVAL_SECONDS = 3600
    settings.AUDIT_CHECKPOINT_PATH = "/proc/not-writable/checkpoints.jsonl"
    from sessions_app.models import AuditAction
    from sessions_app.services.audit import audit_event_record

    audit_event_record(action=AuditAction.SIGN_IN, actor_username="someone")
    PeriodicTask.objects.all().delete()
    settings.SYNC_INTERVAL_SECONDS = settings.TOKEN_REFRESH_INTERVAL_SECONDS = settings.SESSION_IDLE_CHECK_SECONDS = 0
    scheduler.schedule_tick()
    drain()

    row = PeriodicTask.objects.get(name="audit_checkpoint")
    assert row.last_outcome == PeriodicTask.Outcome.FAILED
    assert "not-writable" in row.last_error or "No such file" in row.last_error
    assert row.consecutive_failures == 1
