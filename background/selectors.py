"""What the operations page shows: workers, the queue, failures, the schedule and the recent sync runs."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from background import queue
from background.models import PeriodicTask, WorkerHeartbeat
from sessions_app.models import SyncRun

RECENT_FAILURES = 20
RECENT_SYNC_RUNS = 10


@dataclass(frozen=True)
class WorkerRow:
    worker: WorkerHeartbeat
    alive: bool


@dataclass(frozen=True)
class FailureRow:
    task_name: str
    finished_at: datetime | None
    attempt: int
    fate: str
    error: str


def worker_list() -> list[WorkerRow]:
    fresh_after = queue.heartbeat_fresh_after()
    return [WorkerRow(worker, worker.last_seen_at >= fresh_after) for worker in WorkerHeartbeat.objects.all()]


def queue_depth() -> dict[str, int]:
    waiting = DBTaskResult.objects.filter(status=TaskResultStatus.READY)
    ready = waiting.ready().count()
    return {"ready": ready, "later": waiting.count() - ready}


def running_task_list() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.running().order_by("started_at")[:50])


def last_line(text: str) -> str:
    """The last line of a traceback (the exception and its message); empty for empty text."""
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""


def failure_list(*, limit: int = RECENT_FAILURES) -> list[FailureRow]:
    rows = []
    for result in DBTaskResult.objects.failed().order_by("-finished_at")[:limit]:
        attempt = int(result.args_kwargs.get("kwargs", {}).get("attempt", 1))
        policy = queue.task_policy(result.task_path)
        if result.exception_class_path == queue.INTERRUPTED_CLASS_PATH:
            fate = "interrupted"
        elif policy is not None and policy.idempotent and attempt < policy.max_attempts:
            fate = f"attempt {attempt} of {policy.max_attempts}; retried"
        else:
            fate = "failed for good" if attempt == 1 else f"failed for good after {attempt} attempts"
        error = (last_line(result.traceback) if result.exception_class_path == queue.INTERRUPTED_CLASS_PATH
                 else last_line(result.traceback) or result.exception_class_path)
        rows.append(FailureRow(result.task_path.rsplit(".", 1)[-1], result.finished_at, attempt, fate, error))
    return rows


def periodic_task_list() -> list[PeriodicTask]:
    return list(PeriodicTask.objects.all())


def sync_run_list(*, limit: int = RECENT_SYNC_RUNS) -> list[SyncRun]:
    return list(SyncRun.objects.order_by("-started_at")[:limit])


@dataclass(frozen=True)
class SyncProgressRow:
    run: SyncRun
    # Whole percent of the sessions VB365 said it would list; None when its paging does not tell the total.
    percent: int | None


def sync_progress() -> SyncProgressRow | None:
    """The running sync's progress, or None when no sync runs."""
    run = SyncRun.objects.filter(status=SyncRun.Status.RUNNING).first()
    if run is None:
        return None
    if not run.sessions_expected:
        return SyncProgressRow(run, None)
    return SyncProgressRow(run, 100 * min(run.seen, run.sessions_expected) // run.sessions_expected)


def operations_overview() -> dict[str, Any]:
    return {"workers": worker_list(), "depth": queue_depth(), "running": running_task_list(),
            "failures": failure_list(), "periodic": periodic_task_list(), "sync_runs": sync_run_list(),
            "sync_progress": sync_progress(), "stale_seconds": settings.WORKER_STALE_SECONDS}
