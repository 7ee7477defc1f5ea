"""The periodic schedule, kept in the database (PeriodicTask) so that it survives restarts and is shared by
every worker on every machine: each worker ticks it, and a due run is claimed by a conditional UPDATE of
`next_run_at` in the transaction that enqueues the task, so one interval gives one run however many tick.

Each periodic task's interval is a setting (0 turns it off). Purging expired exports joins PERIODIC_TASKS
with the export jobs (issue 16): one more line below, its task in background/tasks.py.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from background.models import PeriodicTask

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    name: str
    task_path: str
    interval_setting: str

    @property
    def interval_seconds(self) -> int:
        return max(int(getattr(settings, self.interval_setting)), 0)


PERIODIC_TASKS = (
    Periodic("history_sync", "background.tasks.history_sync", "SYNC_INTERVAL_SECONDS"),
    Periodic("idle_sessions_stop", "background.tasks.idle_sessions_stop", "SESSION_IDLE_CHECK_SECONDS"),
    Periodic("session_failures_notify", "background.tasks.session_failures_notify", "SESSION_IDLE_CHECK_SECONDS"),
    Periodic("audit_checkpoint", "background.tasks.audit_checkpoint", "AUDIT_CHECKPOINT_INTERVAL_SECONDS"),
    Periodic("upstream_token_refresh", "background.tasks.upstream_token_refresh", "TOKEN_REFRESH_INTERVAL_SECONDS"),
    # Issue 16: restore jobs whose worker died are ended (or resumed); expired download files are purged.
    Periodic("restore_jobs_check", "restores.tasks.restore_jobs_check", "RESTORE_JOB_CHECK_SECONDS"),
    Periodic("export_files_purge", "restores.tasks.export_files_purge", "EXPORT_PURGE_INTERVAL_SECONDS"),
)


def periodic_enabled() -> list[Periodic]:
    enabled = [periodic for periodic in PERIODIC_TASKS if periodic.interval_seconds > 0]
    if settings.SESSION_IDLE_MINUTES <= 0:
        enabled = [periodic for periodic in enabled if periodic.name != "idle_sessions_stop"]
    return enabled


def schedule_tick(*, now: datetime | None = None) -> list[str]:
    """Enqueue every periodic task that is due and not claimed by another scheduler; return their names."""
    now = now or timezone.now()
    enabled = {periodic.name: periodic for periodic in periodic_enabled()}
    _schedule_rows_ensure(enabled, now=now)
    enqueued = []
    for row in PeriodicTask.objects.filter(name__in=enabled, next_run_at__lte=now):
        if _claim_and_enqueue(row, enabled[row.name], now=now):
            enqueued.append(row.name)
    return enqueued


def _schedule_rows_ensure(enabled: dict[str, Periodic], *, now: datetime) -> None:
    known = {row.name: row for row in PeriodicTask.objects.filter(name__in=enabled)}
    for name, periodic in enabled.items():
        row = known.get(name)
        if row is None:
            # Two schedulers may both create it: the unique name keeps one row, the other's insert is ignored.
            PeriodicTask.objects.bulk_create([PeriodicTask(name=name, interval_seconds=periodic.interval_seconds,
                                                           next_run_at=now)], ignore_conflicts=True)
        elif row.interval_seconds != periodic.interval_seconds:
            # A changed interval counts from the last run (a shorter one can make the task due at once).
            following = (row.last_run_at or now) + timedelta(seconds=periodic.interval_seconds)
            PeriodicTask.objects.filter(pk=row.pk, interval_seconds=row.interval_seconds).update(
                interval_seconds=periodic.interval_seconds, next_run_at=min(following, row.next_run_at))


def _claim_and_enqueue(row: PeriodicTask, periodic: Periodic, *, now: datetime) -> bool:
    interval = timedelta(seconds=periodic.interval_seconds)
    following = row.next_run_at + interval
    if following <= now:
        following = now + interval  # missed intervals (everything was down) run once, not once each
    with transaction.atomic():
        claimed = PeriodicTask.objects.filter(pk=row.pk, next_run_at=row.next_run_at).update(
            next_run_at=following, last_run_at=now, last_outcome=PeriodicTask.Outcome.PENDING, last_error="",
            last_finished_at=None)
        if not claimed:
            return False
        result = import_string(periodic.task_path).enqueue()
        PeriodicTask.objects.filter(pk=row.pk).update(last_task_id=str(result.id))
    logger.debug("Periodic task %s enqueued (%s); next at %s", periodic.name, result.id, following)
    return True


def periodic_outcome_record(*, task_id: str, succeeded: bool, error: str = "") -> None:
    """Called when a task finishes (background.apps connects it): the periodic run it was, if any, ends."""
    row = PeriodicTask.objects.filter(last_task_id=task_id).first()
    if row is None:
        return
    update: dict[str, Any] = {"last_finished_at": timezone.now(), "last_error": error[:2000]}
    if succeeded:
        update.update(last_outcome=PeriodicTask.Outcome.SUCCEEDED, consecutive_failures=0)
    else:
        update.update(last_outcome=PeriodicTask.Outcome.FAILED, consecutive_failures=row.consecutive_failures + 1)
    PeriodicTask.objects.filter(pk=row.pk, last_task_id=task_id).update(**update)
