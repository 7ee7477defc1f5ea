"""Tasks on Django's Tasks API (the django-tasks backport; `django.tasks` from Django 6 on), run by
`manage.py worker`.

The database backend hands each task to one worker (a row lock), but neither retries a failed task nor notices
a worker that died in the middle of one. This module adds both:

- `background_task(idempotent=..., ...)` declares whether a task may run again. An idempotent task that raises
  is enqueued again, `attempt` + 1, after an exponential backoff, until `max_attempts`; every attempt's error
  stays visible on its own result row. A task that may not run again says why (`why_not_idempotent`).
- `tasks_lost_recover()` finds tasks left RUNNING by a worker whose heartbeat went stale: idempotent ones are
  put back in the queue, the others end FAILED as interrupted, with what is known. A task is handed back only
  once its worker is silent, so it never runs twice at once.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks import TaskResultStatus, task
from django_tasks.base import Task
from django_tasks_db.models import DBTaskResult

from background.models import WorkerHeartbeat

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 3600
INTERRUPTED_CLASS_PATH = "background.queue.WorkerLost"


class WorkerLost(Exception):
    """Recorded (never raised) on a task whose worker stopped while running it."""


class PermanentTaskError(Exception):
    """Raised by a task when trying again cannot help (bad arguments, a record that is gone)."""


@dataclass(frozen=True)
class TaskPolicy:
    idempotent: bool
    max_attempts: int
    backoff_seconds: float
    why_not_idempotent: str = ""

    def retry_delay(self, attempt: int) -> float:
        """The wait before attempt `attempt + 1`: the backoff doubling from the first retry, capped."""
        return float(min(self.backoff_seconds * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS))


_policies: dict[str, TaskPolicy] = {}


def background_task(*, idempotent: bool, max_attempts: int = 1, backoff_seconds: float = 30.0,
                    why_not_idempotent: str = "", priority: int = 0,
                    queue_name: str = "default") -> Callable[[Callable[..., Any]], Task[Any, Any]]:
    """Declare a task. Its function takes keyword arguments only (JSON values); `attempt` is added."""
    if not idempotent and not why_not_idempotent:
        raise ValueError("A task that may not run twice says why (why_not_idempotent).")
    if not idempotent and max_attempts != 1:
        raise ValueError("Only idempotent tasks are retried.")
    policy = TaskPolicy(idempotent, max_attempts, backoff_seconds, why_not_idempotent)

    def decorate(function: Callable[..., Any]) -> Task[Any, Any]:
        @functools.wraps(function)
        def run(*, attempt: int = 1, **kwargs: Any) -> Any:
            try:
                outcome = function(**kwargs)
            except Exception as exc:
                _connection_renewed_if_lost()
                if policy.idempotent and attempt < policy.max_attempts and not isinstance(exc, PermanentTaskError):
                    delay = policy.retry_delay(attempt)
                    declared.using(run_after=timezone.now() + timedelta(seconds=delay)).enqueue(
                        attempt=attempt + 1, **kwargs)
                    logger.warning("Task %s failed (attempt %d of %d), retrying in %.0fs: %s", declared.name,
                                   attempt, policy.max_attempts, delay, exc)
                raise
            _connection_renewed_if_lost()
            return outcome

        declared: Task[Any, Any] = task(priority=priority, queue_name=queue_name)(run)
        _policies[declared.module_path] = policy
        return declared

    return decorate


def _connection_renewed_if_lost() -> None:
    """Between a task and the writing of its outcome (or its retry), check the connection and drop it if the
    database is gone from under it: the database restarting while the task ran then costs a reconnect, where
    the worker would otherwise fail to record the outcome and exit. Not inside a transaction (a task called
    in-process from an atomic block): that connection is the caller's."""
    if connection.in_atomic_block or connection.connection is None:
        return
    if not connection.is_usable():
        connection.close()


def task_policy(task_path: str) -> TaskPolicy | None:
    """The declared policy of the task at `task_path` (imported on demand); None for unknown tasks."""
    if task_path not in _policies:
        try:
            import_string(task_path)
        except ImportError:
            return None
    return _policies.get(task_path)


def heartbeat_fresh_after(*, now: Any = None) -> Any:
    """The oldest heartbeat of a worker still counted alive (WORKER_STALE_SECONDS ago): task recovery, the
    operations page and /healthz all judge workers by it."""
    return (now or timezone.now()) - timedelta(seconds=settings.WORKER_STALE_SECONDS)


def live_worker_ids(*, now: Any = None) -> set[str]:
    fresh_after = heartbeat_fresh_after(now=now)
    return set(WorkerHeartbeat.objects.filter(last_seen_at__gte=fresh_after).values_list("worker_id", flat=True))


def tasks_lost_recover(*, starting_worker_id: str = "") -> dict[str, int]:
    """Hand back, or end as interrupted, the tasks whose worker died while running them. Returns the counts.

    `starting_worker_id`: a worker starting under the id of one that died (a fixed id, restarted) runs
    nothing yet, so what that id was running is lost even though the id's heartbeat is fresh."""
    now = timezone.now()
    alive = live_worker_ids(now=now) - {starting_worker_id}
    counts = {"requeued": 0, "interrupted": 0}
    for result in DBTaskResult.objects.running().only("id", "task_path", "worker_ids", "started_at"):
        worker_id = result.worker_ids[-1] if result.worker_ids else ""
        if worker_id in alive:
            continue
        policy = task_policy(result.task_path)
        running = DBTaskResult.objects.filter(pk=result.pk, status=TaskResultStatus.RUNNING)
        with transaction.atomic():
            if policy is not None and policy.idempotent:
                if running.update(status=TaskResultStatus.READY, started_at=None):
                    counts["requeued"] += 1
                    logger.warning("Task %s (%s) was running on lost worker %s: queued again",
                                   result.pk, result.task_path, worker_id)
            else:
                why = policy.why_not_idempotent if policy else "the task is unknown to this version"
                message = (f"Interrupted: worker {worker_id or '?'} stopped while running this task (started "
                           f"{result.started_at:%Y-%m-%d %H:%M:%S} UTC). Not run again: {why}.")
                if running.update(status=TaskResultStatus.FAILED, finished_at=now,
                                  exception_class_path=INTERRUPTED_CLASS_PATH, traceback=message):
                    counts["interrupted"] += 1
                    logger.error("Task %s (%s): %s", result.pk, result.task_path, message)
    return counts
