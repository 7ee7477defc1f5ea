"""Faults under a running worker: the database dropping its connections, the cache (Redis) unreachable."""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.db import connection
from django_tasks_db.models import DBTaskResult

from background import tasks
from background.models import WorkerHeartbeat
from sessions_app.models import RestoreSession, SyncRun
from tests.background import sample_tasks
from tests.background.conftest import drain, free_port, wait_for
from tests.background.conftest import test_database_url as database_url
from tests.conftest import PASSWORD
from tests.redis_server import Redis
from tests.views.conftest import page_text


def terminate_other_backends() -> int:
    """What a database restart does to every client: their server processes end. Done by a superuser (or the
    owner) on a connection of its own, so the test's connection survives; returns how many ended."""
    with psycopg.connect(database_url(), autocommit=True) as admin:
        rows = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = current_database() AND pid <> pg_backend_pid() AND pid <> %s",
                             [connection.connection.info.backend_pid]).fetchall()
    return sum(1 for (ended,) in rows if ended)


@pytest.fixture
def start_postgresql_worker(start_worker: Any) -> Any:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no server connections to drop: a database restart is a PostgreSQL event")

    def start() -> Any:
        # As in production (DJANGO_CONN_MAX_AGE), the worker keeps its connections between tasks.
        return start_worker("--no-scheduler", TEST_DATABASE_URL=f"{database_url()}?conn_max_age=60")

    return start


def test_a_worker_keeps_going_after_the_database_drops_its_connections(start_postgresql_worker: Any,
                                                                       tmp_path: Path) -> None:
    path = str(tmp_path / "runs.txt")
    worker = start_postgresql_worker()
    sample_tasks.record_run.enqueue(path=path, number=1)
    wait_for(lambda: DBTaskResult.objects.filter(status="SUCCESSFUL").count() == 1, what="the first task")
    connection.ensure_connection()

    assert terminate_other_backends() >= 2, "the worker's loop and its heartbeat thread each had a connection"
    sample_tasks.record_run.enqueue(path=path, number=2)

    wait_for(lambda: DBTaskResult.objects.filter(status="SUCCESSFUL").count() == 2, what="the next task")
    assert worker.poll() is None, "the worker is still running"
    assert [number for number, _, _ in sample_tasks.runs(path)] == [1, 2]
    before = WorkerHeartbeat.objects.get(pid=worker.pid).last_seen_at
    wait_for(lambda: WorkerHeartbeat.objects.get(pid=worker.pid).last_seen_at > before, what="a later heartbeat")


def test_a_task_running_while_the_database_drops_its_connections_is_recorded_and_the_worker_goes_on(
        start_postgresql_worker: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "runs.txt")
    sample_tasks.record_run.enqueue(path=path, number=1, sleep_first_time=3)
    worker = start_postgresql_worker()
    wait_for(lambda: sample_tasks.runs(path), what="the task to start")
    connection.ensure_connection()

    assert terminate_other_backends() >= 1
    wait_for(lambda: DBTaskResult.objects.filter(status="SUCCESSFUL").count() == 1, what="its outcome")
    sample_tasks.record_run.enqueue(path=path, number=2)

    wait_for(lambda: DBTaskResult.objects.filter(status="SUCCESSFUL").count() == 2, what="the next task")
    assert worker.poll() is None, "the worker is still running"
    assert [number for number, _, _ in sample_tasks.runs(path)] == [1, 2], "each ran once"


@pytest.fixture
def redis_cache(settings: Any) -> Iterator[Redis]:
    """The portal's cache on a Redis of its own, down until the test starts it."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    redis = Redis(free_port())
    settings.CACHES = {"default": {"BACKEND": "portal.cache.RedisCache", "LOCATION": redis.url,
                                   "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2}}}
    yield redis
    redis.stop()


def test_sign_in_with_the_cache_down_is_a_clear_503_and_works_once_it_is_back(client: Any, operator: Any,
                                                                              redis_cache: Redis) -> None:
    credentials = {"username": operator.username, "password": PASSWORD}

    response = client.post("/signin/", credentials)

    assert response.status_code == 503 and response["Retry-After"] == "30"
    assert "cannot reach its cache (Redis)" in page_text(response) and "Nothing was changed" in page_text(response)
    assert "_auth_user_id" not in client.session, "not signed in unthrottled"

    redis_cache.start()
    assert client.post("/signin/", credentials).status_code == 302
    assert client.get("/").status_code == 200


def test_an_api_call_with_the_cache_down_gets_the_error_envelope(client: Any, operator: Any,
                                                                 redis_cache: Redis) -> None:
    response = client.post("/api/auth/token/", {"username": operator.username, "password": PASSWORD},
                           content_type="application/json")

    assert response.status_code == 503 and response["Retry-After"] == "30"
    assert response.json()["code"] == "cache_unavailable" and "Redis" in response.json()["message"]

    redis_cache.start()
    assert client.post("/api/auth/token/", {"username": operator.username, "password": PASSWORD},
                       content_type="application/json").status_code == 200


def test_a_sync_with_the_cache_down_fails_clearly_and_the_next_one_recovers(organizations: Any, settings: Any,
                                                                             redis_cache: Redis) -> None:
    # As a worker process that just started: no VB365 token in memory, so it must ask the cache for one.
    settings.VB365_READ_TIMEOUT = 4.0
    tasks.history_sync.enqueue()

    drain()

    failed = SyncRun.objects.get()
    assert failed.status == SyncRun.Status.FAILED
    assert failed.error.startswith("The cache (Redis), which holds the VB365 token, is unreachable")
    assert DBTaskResult.objects.get().status == "FAILED"

    redis_cache.start()
    tasks.history_sync.enqueue()  # the next interval
    drain()

    assert SyncRun.objects.order_by("-started_at").values_list("status", flat=True).first() == SyncRun.Status.SUCCEEDED
    assert RestoreSession.objects.exists()
