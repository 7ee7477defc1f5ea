"""The background tasks of item actions (see restores.services.running for what each does).

- restore_job_run: the restore POST. Never run again: a repeated restore POST restores again. A worker that dies
  during it leaves the task FAILED as interrupted, and restore_jobs_check ends the job `interrupted`.
- restore_job_follow: v8, reading a run's statistics and events until it is done. Idempotent (reads only, resumed
  from the job's saved offset), retried while VB365 cannot answer.
- download_job_run: a save or export streamed into storage. Idempotent: VB365 only reads, and nothing partial is
  kept, so it may run again from the start.
- restore_jobs_check, export_files_purge: periodic (background.scheduler.PERIODIC_TASKS).
"""
from __future__ import annotations

from typing import Any

from background.queue import background_task
from restores.services import running


@background_task(idempotent=False, why_not_idempotent="a repeated restore POST restores again")
def restore_job_run(*, job_id: int) -> dict[str, Any]:
    return running.restore_job_run(job_id=job_id)


@background_task(idempotent=True, max_attempts=6, backoff_seconds=10)
def restore_job_follow(*, job_id: int) -> dict[str, Any]:
    return running.restore_job_follow(job_id=job_id)


@background_task(idempotent=True)
def download_job_run(*, job_id: int) -> dict[str, Any]:
    return running.download_job_run(job_id=job_id)


@background_task(idempotent=True)
def restore_jobs_check() -> dict[str, Any]:
    """Idempotent: a job already ended is not ended again; a hand-off already destroyed is not there."""
    return running.jobs_lost_reconcile()


@background_task(idempotent=True)
def export_files_purge() -> dict[str, Any]:
    """Idempotent: a file purged is marked so (file_purged_at) and not purged again."""
    return {"purged": running.job_files_purge()}
