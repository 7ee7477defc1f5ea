"""Tasks for the queue's tests: each appends a line "number pid time" to a file (one O_APPEND write), so a
test can count how often, where and when each ran."""
from __future__ import annotations

import os
import time
from pathlib import Path

from background.queue import background_task


def _append(path: str, number: int) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(descriptor, f"{number} {os.getpid()} {time.time():.3f}\n".encode())
    finally:
        os.close(descriptor)


def runs(path: str | Path) -> list[tuple[int, int, float]]:
    """The runs recorded so far. Only complete lines: a read racing another worker's append can see the start of
    its line (an append is atomic against other appends, not against reads), and a task that failed on that
    half line would be retried after its backoff, when a --batch worker has already found the queue empty."""
    if not Path(path).exists():
        return []
    text = Path(path).read_text()
    complete = text[:text.rfind("\n") + 1]
    return [(int(n), int(pid), float(at)) for n, pid, at in (line.split() for line in complete.splitlines())]


@background_task(idempotent=True)
def record_run(*, path: str, number: int, sleep_first_time: float = 0.0) -> int:
    first_time = all(n != number for n, _, _ in runs(path))
    _append(path, number)
    if first_time and sleep_first_time:
        time.sleep(sleep_first_time)
    return number


@background_task(idempotent=False, why_not_idempotent="it stands for a restore POST, which VB365 would repeat")
def record_once(*, path: str, number: int, sleep: float = 0.0) -> int:
    _append(path, number)
    time.sleep(sleep)
    return number


@background_task(idempotent=True, max_attempts=3, backoff_seconds=0.2)
def fail_times(*, path: str, failures: int) -> int:
    _append(path, 0)
    attempts = len(runs(path))
    if attempts <= failures:
        raise RuntimeError(f"attempt {attempts} fails on purpose")
    return attempts
