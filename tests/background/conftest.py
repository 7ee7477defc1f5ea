"""Worker processes for the queue's tests, on the test database (SQLite file or PostgreSQL)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def test_database_url() -> str:
    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings_dict['NAME']}"
    user = settings_dict.get("USER") or "postgres"
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    return (f"postgres://{user}{password}@{settings_dict.get('HOST') or '127.0.0.1'}:"
            f"{settings_dict.get('PORT') or 5432}/{settings_dict['NAME']}")


def worker_environment(**extra: str) -> dict[str, str]:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings_test",
                   "TEST_DATABASE_URL": test_database_url(), "WORKER_HEARTBEAT_SECONDS": "1",
                   "WORKER_STALE_SECONDS": "3", "PYTHONUNBUFFERED": "1"}
    environment.pop("TEST_DATABASE_RUNTIME_ROLE", None)
    return {**environment, **extra}


@pytest.fixture
def start_worker(transactional_db: Any, tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """start_worker(*options, **environment) -> the `manage.py worker` process; stopped after the test."""
    started: list[subprocess.Popen[str]] = []

    def start(*options: str, **environment: str) -> subprocess.Popen[str]:
        # The worker writes to its own copy of the descriptor: ours can close at once.
        with open(tmp_path / f"worker-{len(started)}.log", "w") as log:
            process = subprocess.Popen([sys.executable, "manage.py", "worker", "--no-startup-delay", "--interval",
                                        "0.1", *options], cwd=ROOT, env=worker_environment(**environment),
                                       stdout=log, stderr=subprocess.STDOUT, text=True)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in started:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for(condition: Callable[[], Any], *, timeout: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def drain() -> int:
    """Run every ready task in this process, as a worker would (same code: django-tasks-db's Worker)."""
    from django_tasks_db.management.commands import db_worker

    worker = db_worker.Worker(queue_names=["*"], interval=0, batch=True, backend_name="default",
                              startup_delay=False, max_tasks=None, worker_id="test-in-process",
                              excluded_queue_names=[])
    # Between tasks the worker closes connections outside autocommit: inside a test's transaction, that
    # would be the test's own connection.
    reconnect = db_worker.close_old_connections
    db_worker.close_old_connections = lambda **kwargs: None
    try:
        worker.run()
    finally:
        db_worker.close_old_connections = reconnect
    return worker._run_tasks


class Inbox:
    """What a real SMTP server on localhost received."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        import email

        message = email.message_from_bytes(envelope.content)
        body = message.get_payload(decode=True)
        assert isinstance(body, bytes), "the notifications are single-part"
        self.messages.append({"to": envelope.rcpt_tos, "subject": message["Subject"], "body": body.decode()})
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[dict[str, Any]]:
        return [message for message in self.messages if address in message["to"]]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_port(settings: Any) -> int:
    """Mail goes by SMTP to 127.0.0.1 on this port (nothing listens until `smtp_server` starts)."""
    port = free_port()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    return port


@pytest.fixture
def start_smtp(smtp_port: int) -> Iterator[Callable[[], Inbox]]:
    from aiosmtpd.controller import Controller

    controllers: list[Any] = []

    def start() -> Inbox:
        inbox = Inbox()
        controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
        controller.start()
        controllers.append(controller)
        return inbox

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def smtp_server(start_smtp: Callable[[], Inbox]) -> Inbox:
    return start_smtp()
