"""What the queue library (django_tasks_db.DBTaskResult) does not record: which workers are alive, and when
each periodic task last ran and runs next."""
from __future__ import annotations

from django.db import models


class WorkerHeartbeat(models.Model):
    """One row per running worker process, refreshed every WORKER_HEARTBEAT_SECONDS; removed on a clean stop.
    A row older than WORKER_STALE_SECONDS belongs to a process that died."""

    worker_id = models.CharField(max_length=64, unique=True)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    last_seen_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["hostname", "pid"]

    def __str__(self) -> str:
        return f"worker {self.worker_id} on {self.hostname} (pid {self.pid})"


class PeriodicTask(models.Model):
    """The schedule of one periodic task, shared by every scheduler: a due row is claimed by moving
    `next_run_at` forward with a conditional UPDATE, in the transaction that enqueues the run."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "Queued or running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    name = models.CharField(max_length=64, unique=True)
    interval_seconds = models.PositiveIntegerField()
    next_run_at = models.DateTimeField()
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_task_id = models.CharField(max_length=64, blank=True)
    last_outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    last_error = models.TextField(blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    # Failures of this task in a row, shown on the operations page. (The sync's alert to administrators counts
    # failed SyncRun rows instead, tasks.consecutive_sync_failures: that includes syncs run by hand.)
    consecutive_failures = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"periodic {self.name} every {self.interval_seconds}s"
