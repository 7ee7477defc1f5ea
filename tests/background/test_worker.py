"""`manage.py worker` as real processes on the test database: draining, retries, SIGKILL, graceful stop."""
from __future__ import annotations

import collections
import os
import signal
import time
from pathlib import Path
from typing import Any

from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from background.models import WorkerHeartbeat
from background.queue import INTERRUPTED_CLASS_PATH
from tests.background import sample_tasks
from tests.background.conftest import wait_for


def test_two_workers_drain_a_thousand_tasks_each_exactly_once(start_worker: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "runs.txt")
    for number in range(1000):
        sample_tasks.record_run.enqueue(path=path, number=number)

    workers = [start_worker("--batch", "--no-scheduler", "--interval", "0") for _ in range(2)]
    for worker in workers:
        assert worker.wait(timeout=300) == 0

    runs = sample_tasks.runs(path)
    per_number = collections.Counter(number for number, _, _ in runs)
    missing = sorted(set(range(1000)) - set(per_number))
    # On a loss, say what the queue made of the missing task (its status, workers and error), to find out why.
    assert not missing, ("a task was lost", [
        (result.args_kwargs["kwargs"]["number"], result.status, result.worker_ids, result.exception_class_path,
         result.traceback[-300:])
        for result in DBTaskResult.objects.all() if result.args_kwargs["kwargs"]["number"] in missing])
    assert max(per_number.values()) == 1, "a task ran twice"
    assert {pid for _, pid, _ in runs} == {worker.pid for worker in workers}, "both workers took tasks"
    assert DBTaskResult.objects.filter(status=TaskResultStatus.SUCCESSFUL).count() == 1000


def test_a_failing_idempotent_task_is_retried_with_backoff_then_succeeds(start_worker: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "runs.txt")
    sample_tasks.fail_times.enqueue(path=path, failures=2)
    start_worker("--no-scheduler")

    wait_for(lambda: DBTaskResult.objects.filter(status=TaskResultStatus.SUCCESSFUL).exists(), what="success")
    attempts = list(DBTaskResult.objects.order_by("enqueued_at"))
    assert [a.status for a in attempts] == ["FAILED", "FAILED", "SUCCESSFUL"]
    assert [a.args_kwargs["kwargs"].get("attempt", 1) for a in attempts] == [1, 2, 3]
    assert "attempt 1 fails on purpose" in attempts[0].traceback
    # The backoff doubles: 0.2 s before the second attempt, 0.4 s before the third.
    delays = [(attempt.run_after - attempt.enqueued_at).total_seconds() for attempt in attempts[1:]]
    assert 0.15 <= delays[0] <= 0.25 and 0.35 <= delays[1] <= 0.45


def test_a_task_failing_every_attempt_stays_failed_with_its_error(start_worker: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "runs.txt")
    sample_tasks.fail_times.enqueue(path=path, failures=10)
    start_worker("--no-scheduler")

    wait_for(lambda: DBTaskResult.objects.filter(status=TaskResultStatus.FAILED).count() == 3, what="3 failures")
    time.sleep(1.0)
    assert DBTaskResult.objects.count() == 3, "no fourth attempt (max_attempts=3)"
    last = DBTaskResult.objects.order_by("-enqueued_at").first()
    assert last is not None and "RuntimeError: attempt 3 fails on purpose" in last.traceback


def test_sigkill_mid_task_hands_an_idempotent_task_to_another_worker_and_interrupts_the_other(
        start_worker: Any, tmp_path: Path) -> None:
    retried, once = str(tmp_path / "retried.txt"), str(tmp_path / "once.txt")
    sample_tasks.record_run.enqueue(path=retried, number=1, sleep_first_time=60)
    sample_tasks.record_once.enqueue(path=once, number=2, sleep=60)
    first = start_worker("--no-scheduler")
    wait_for(lambda: len(sample_tasks.runs(retried)) == 1, what="the first task to start")
    # The one worker runs one task at a time: the second waits. Kill it mid-task, then let it claim the next.
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    killed_at = time.time()
    # A second worker gets the other task too once started: kill it mid-task as well.
    second = start_worker("--no-scheduler")
    wait_for(lambda: len(sample_tasks.runs(once)) == 1, timeout=60, what="the non-idempotent task to start")
    second.send_signal(signal.SIGKILL)
    second.wait(timeout=10)
    start_worker("--no-scheduler")

    def both_ended() -> list[DBTaskResult]:
        rows = list(DBTaskResult.objects.all())
        return rows if all(row.status in ("SUCCESSFUL", "FAILED") for row in rows) else []

    results = {row.task_path.rsplit(".", 1)[1]: row for row in wait_for(both_ended, timeout=60,
                                                                       what="both tasks to end")}
    retried_runs = sample_tasks.runs(retried)
    assert results["record_run"].status == "SUCCESSFUL"
    assert len(retried_runs) == 2 and retried_runs[1][1] != first.pid
    assert retried_runs[1][2] >= killed_at, "the second run started only after the first worker died"
    assert results["record_once"].status == "FAILED"
    assert results["record_once"].exception_class_path == INTERRUPTED_CLASS_PATH
    assert "Interrupted" in results["record_once"].traceback and "restore POST" in results["record_once"].traceback
    assert len(sample_tasks.runs(once)) == 1, "the non-idempotent task never ran again"


def test_sigterm_lets_the_current_task_finish_and_removes_the_heartbeat(start_worker: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "runs.txt")
    sample_tasks.record_run.enqueue(path=path, number=7, sleep_first_time=2)
    worker = start_worker("--no-scheduler")
    wait_for(lambda: WorkerHeartbeat.objects.filter(pid=worker.pid).exists(), what="the heartbeat")
    wait_for(lambda: sample_tasks.runs(path), what="the task to start")
    worker.send_signal(signal.SIGTERM)

    assert worker.wait(timeout=20) == 0
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
    assert not WorkerHeartbeat.objects.filter(pid=worker.pid).exists()
    assert os.getpid() != worker.pid


def test_a_worker_restarted_under_the_same_id_hands_back_what_that_id_was_running(
        start_worker: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "runs.txt")
    sample_tasks.record_run.enqueue(path=path, number=3, sleep_first_time=60)
    first = start_worker("--no-scheduler", "--worker-id", "app-1-worker")
    wait_for(lambda: sample_tasks.runs(path), what="the task to start")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)

    start_worker("--no-scheduler", "--worker-id", "app-1-worker")

    wait_for(lambda: DBTaskResult.objects.filter(status="SUCCESSFUL").exists(), timeout=30, what="the rerun")
    assert [number for number, _, _ in sample_tasks.runs(path)] == [3, 3]
