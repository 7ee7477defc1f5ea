"""Run one background worker: takes tasks from the queue, one at a time, until stopped.

    manage.py worker [--queue-name NAMES] [--no-scheduler] [--batch] [--max-tasks N] [--worker-id ID]

Every option of django-tasks-db's `db_worker` applies. Beside it, in a thread, the worker writes its heartbeat,
hands back the tasks of workers that died, and ticks the periodic schedule (`--no-scheduler` leaves that to
others). SIGTERM or Ctrl-C: the current task finishes, then the worker exits; a second one stops it at once
(that task is then handed back by another worker, or ends as interrupted).
"""
from __future__ import annotations

import os
import socket
from argparse import ArgumentParser
from typing import Any

from django.utils.crypto import get_random_string
from django_tasks_db.management.commands import db_worker

from background.heartbeat import WorkerCompanion


def default_worker_id() -> str:
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{get_random_string(8)}"


class Command(db_worker.Command):
    help = __doc__

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--no-scheduler", action="store_false", dest="schedule",
                            help="do not tick the periodic schedule in this worker")
        # Tasks are stopped cleanly only without the autoreloader; names say where a worker runs.
        parser.set_defaults(reload=False, worker_id=default_worker_id())

    def handle(self, *args: Any, **options: Any) -> None:
        companion = WorkerCompanion(worker_id=options["worker_id"], schedule=options.pop("schedule"))
        companion.start()
        try:
            super().handle(*args, **options)
        finally:
            companion.stop()
