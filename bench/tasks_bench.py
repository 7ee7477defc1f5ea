"""The task benchmark 7 enqueues (imported by worker processes only: declaring a task needs Django set up)."""
from __future__ import annotations

from background.queue import background_task


@background_task(idempotent=True)
def noop(*, number: int) -> int:
    return number
