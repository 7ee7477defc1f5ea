"""The operations page (administrators only), /healthz and a worker's heartbeat, and the profile's e-mail
choices."""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from background import scheduler
from background.models import WorkerHeartbeat
from sessions_app.models import SyncRun, UserProfile
from tests.background import sample_tasks
from tests.background.conftest import drain
from tests.views.conftest import page_text

URL = "/operations/"
PROGRESS_URL = "/operations/sync-progress/"


def heartbeat(worker_id: str, *, age_seconds: float) -> WorkerHeartbeat:
    seen = timezone.now() - timedelta(seconds=age_seconds)
    return WorkerHeartbeat.objects.create(worker_id=worker_id, hostname="app-1", pid=4242, started_at=seen,
                                          last_seen_at=seen)


def test_the_operations_page_shows_workers_queue_failures_schedule_and_sync_runs(
        client: Any, admin_user: Any, settings: Any, tmp_path: Any) -> None:
    heartbeat("alive-worker", age_seconds=2)
    heartbeat("dead-worker", age_seconds=settings.WORKER_STALE_SECONDS + 30)
    sample_tasks.fail_times.enqueue(path=str(tmp_path / "runs"), failures=10)
    drain()  # attempt 1 fails, attempt 2 is scheduled for later: an hour later, for this page
    DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now() + timedelta(hours=1))
    sample_tasks.record_run.enqueue(path=str(tmp_path / "runs2"), number=1)
    scheduler.schedule_tick()
    SyncRun.objects.create(status=SyncRun.Status.FAILED, started_at=timezone.now(), heartbeat_at=timezone.now(),
                           error="VB365 is unavailable (HTTP 503).")
    client.force_login(admin_user)

    response = client.get(URL)

    assert response.status_code == 200
    text = page_text(response)
    assert "alive-worker" in text and "dead-worker" in text and "stale" in text
    # Waiting: every enabled periodic task and record_run; later: fail_times' second attempt.
    waiting = len(scheduler.periodic_enabled()) + 1
    assert f"{waiting} tasks waiting, 1 scheduled for later (retries), 0 running" in text
    assert "fail_times" in text and "attempt 1 of 3; retried" in text and "attempt 1 fails on purpose" in text
    assert "history_sync" in text and "audit_checkpoint" in text and "Queued or running" in text
    assert "VB365 is unavailable (HTTP 503)." in text


def running_sync(**progress: Any) -> SyncRun:
    now = timezone.now()
    return SyncRun.objects.create(status=SyncRun.Status.RUNNING, full=True, started_at=now, heartbeat_at=now,
                                  **progress)


def progress_bar(response: Any) -> str:
    bars = re.findall(r"<progress\b[^>]*>.*?</progress>", response.content.decode(), flags=re.S)
    assert len(bars) <= 1
    return bars[0] if bars else ""


def test_a_running_full_sync_shows_a_progress_bar_with_its_counts(client: Any, admin_user: Any) -> None:
    running_sync(seen=1200, created=1100, updated=5, pages_read=3, sessions_expected=5000)
    client.force_login(admin_user)

    response = client.get(URL)

    bar = progress_bar(response)
    assert 'max="5000"' in bar and 'value="1200"' in bar and "24%" in bar
    assert 'aria-labelledby="sync-progress-heading"' in bar and 'aria-describedby="sync-progress-text"' in bar
    assert ("Full sync running since" in page_text(response)
            and "1200 of 5000 sessions read (24%), 3 pages; 1100 new, 5 updated." in page_text(response))


def test_a_sync_without_a_known_total_shows_an_indeterminate_bar_and_what_it_read(client: Any,
                                                                                   admin_user: Any) -> None:
    running_sync(seen=40, pages_read=1)
    client.force_login(admin_user)

    response = client.get(URL)

    bar = progress_bar(response)
    assert bar and "value=" not in bar and "max=" not in bar
    assert "40 sessions read, 1 page; 0 new, 0 updated." in page_text(response)


def test_no_bar_when_no_sync_runs_and_the_partial_follows_the_run(client: Any, admin_user: Any) -> None:
    client.force_login(admin_user)
    assert progress_bar(client.get(URL)) == "" and "No sync is running." in page_text(client.get(URL))

    run = running_sync(seen=6, pages_read=1, sessions_expected=20)
    assert 'value="6"' in progress_bar(client.get(PROGRESS_URL))
    SyncRun.objects.filter(pk=run.pk).update(seen=18, pages_read=3)
    partial = client.get(PROGRESS_URL)
    assert 'value="18"' in progress_bar(partial) and 'data-state="running"' in partial.content.decode()
    SyncRun.objects.filter(pk=run.pk).update(status=SyncRun.Status.SUCCEEDED, finished_at=timezone.now())
    partial = client.get(PROGRESS_URL)
    assert progress_bar(partial) == "" and 'data-state="idle"' in partial.content.decode()


@pytest.mark.parametrize("role", ["operator", "helpdesk", "auditor"])
def test_the_operations_page_is_for_administrators_only(client: Any, request: Any, role: str) -> None:
    client.force_login(request.getfixturevalue(role))
    running_sync(seen=6, pages_read=1, sessions_expected=20)
    assert client.get(URL).status_code == 403
    assert client.get(PROGRESS_URL).status_code == 403


def test_healthz_fails_when_every_worker_heartbeat_is_stale(client: Any, upstream: Any, settings: Any,
                                                           admin_user: Any) -> None:
    settings.HEALTHZ_REQUIRE_WORKER = True
    heartbeat("dead-worker", age_seconds=settings.WORKER_STALE_SECONDS + 1)

    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["workers"] == {"ok": False}, "no details for anonymous callers"
    client.force_login(admin_user)
    assert "stale worker heartbeat" in client.get("/healthz").json()["checks"]["workers"]["detail"]

    heartbeat("live-worker", age_seconds=1)
    assert client.get("/healthz").status_code == 200


def test_each_person_turns_each_notice_off_in_their_profile(operator_client: Any, operator: Any) -> None:
    response = operator_client.get("/profile/")
    assert "E-mail me when a session I started fails" in page_text(response)
    assert "history sync" not in page_text(response), "the sync alert is for administrators"

    operator_client.post("/profile/", {"time_zone": "", "notify_session_stopped_by_policy": "on"})

    profile = UserProfile.objects.get(user=operator)
    assert profile.notify_session_failed is False and profile.notify_session_stopped_by_policy is True
    assert profile.notify_sync_failing is True, "not an operator's to change"


def test_an_administrator_can_turn_the_sync_alert_off(client: Any, admin_user: Any) -> None:
    client.force_login(admin_user)
    assert "history sync has failed" in page_text(client.get("/profile/"))
    client.post("/profile/", {"time_zone": "", "notify_session_failed": "on"})
    assert UserProfile.objects.get(user=admin_user).notify_sync_failing is False
