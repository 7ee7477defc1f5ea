"""The part of a worker process that runs beside its tasks, in a thread: the heartbeat that says the worker is
alive, the hand-back of tasks whose worker died, and a tick of the periodic schedule. Every worker runs it, so
a deployment needs no separate scheduler process (the schedule's claims keep runs to one per interval)."""
from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import datetime

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from background import queue, scheduler
from background.models import WorkerHeartbeat

logger = logging.getLogger(__name__)


def worker_heartbeat_write(*, worker_id: str, started_at: datetime) -> None:
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={"hostname": socket.gethostname()[:255], "pid": os.getpid(), "started_at": started_at,
                  "last_seen_at": timezone.now()})


class WorkerCompanion:
    """Started before the worker takes its first task, stopped after it finished its last one."""

    def __init__(self, *, worker_id: str, schedule: bool) -> None:
        self.worker_id = worker_id
        self.schedule = schedule
        self.started_at = timezone.now()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"worker-companion-{worker_id}", daemon=True)

    def start(self) -> None:
        queue.tasks_lost_recover(starting_worker_id=self.worker_id)
        worker_heartbeat_write(worker_id=self.worker_id, started_at=self.started_at)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=settings.WORKER_HEARTBEAT_SECONDS + 5)
        WorkerHeartbeat.objects.filter(worker_id=self.worker_id).delete()

    def _loop(self) -> None:
        try:
            while not self._stopping.is_set():
                self.beat()
                self._stopping.wait(settings.WORKER_HEARTBEAT_SECONDS)
        finally:
            connection.close()

    def beat(self) -> None:
        close_old_connections()
        try:
            worker_heartbeat_write(worker_id=self.worker_id, started_at=self.started_at)
            queue.tasks_lost_recover()
            if self.schedule:
                scheduler.schedule_tick()
        except Exception:  # the database restarting: the next beat tries again
            logger.exception("Worker %s: heartbeat or schedule tick failed", self.worker_id)
            connection.close()
