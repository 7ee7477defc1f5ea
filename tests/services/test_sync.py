"""History sync against the simulator: import, idempotency, overlap, forgotten sessions, one run at a time."""
from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from sessions_app.models import AuditAction, AuditEvent, RestoreSession, SessionOrigin, SyncRun
from sessions_app.services import restore_sessions, session_start, sync
from sessions_app.specs import StartSpec
from sessions_app.upstream import client as upstream
from sessions_app.upstream import errors


@pytest.fixture
def history(db: Any, fresh_sim: Any) -> Any:
    return fresh_sim


def test_first_sync_imports_the_whole_history_with_initiators(history):
    result = sync.restore_sessions_sync()
    upstream_total = sum(1 for _ in upstream.get_client().iter_restore_sessions())
    assert result.created == upstream_total == RestoreSession.objects.count() > 0
    assert set(RestoreSession.objects.values_list("origin", flat=True)) == {SessionOrigin.UPSTREAM}
    initiators = set(RestoreSession.objects.values_list("initiated_by", flat=True))
    assert len(initiators) >= 2 and "" not in initiators
    assert RestoreSession.objects.filter(organization__isnull=False).count() == upstream_total
    run = SyncRun.objects.get(pk=result.run_id)
    assert run.status == SyncRun.Status.SUCCEEDED and run.created == result.created and run.watermark is not None
    assert result.events > 0
    assert AuditEvent.objects.filter(action=AuditAction.SYNC, outcome="success").count() == 1


def test_running_twice_changes_nothing(history):
    sync.restore_sessions_sync()
    before = list(RestoreSession.objects.order_by("upstream_id").values_list("upstream_id", "state", "end_time", "raw"))
    second = sync.restore_sessions_sync()
    assert (second.created, second.forgotten) == (0, 0)
    # Only sessions that are still working may change between the runs.
    assert second.updated <= RestoreSession.objects.filter(state="working").count()
    after = list(RestoreSession.objects.order_by("upstream_id").values_list("upstream_id", "state", "end_time", "raw"))
    assert [row[0] for row in before] == [row[0] for row in after]


def test_incremental_run_reads_only_the_overlap_window_and_picks_up_new_sessions(history, backed_up_org):
    first = sync.restore_sessions_sync(with_events=False)
    # Started outside Restore Desk (as from the VB365 console).
    started = upstream.get_client().start_restore_session(
        organization_id=str(backed_up_org.upstream_id), point_in_time=timezone.now(), workload="onedrive")
    second = sync.restore_sessions_sync(with_events=False)
    assert second.seen < first.seen
    assert second.created == 1
    imported = RestoreSession.objects.get(upstream_id=started.id)
    assert imported.origin == SessionOrigin.UPSTREAM and imported.requested_by is None and imported.initiated_by
    run = SyncRun.objects.get(pk=second.run_id)
    assert run.watermark is not None and run.watermark >= started.creation_time


def test_since_reads_from_the_given_time(history):
    everything = sync.restore_sessions_sync(with_events=False)
    recent = sync.restore_sessions_sync(since=timezone.now() - timedelta(days=3), with_events=False)
    assert recent.seen < everything.seen


def test_sessions_stopped_upstream_are_updated(history, operator, backed_up_org):
    session = session_start.restore_session_start(actor=operator, key=str(uuid.uuid4()), spec=StartSpec(
        organization=backed_up_org, workload="exchange", reason="r"))
    sync.restore_sessions_sync(with_events=False)
    upstream.get_client().stop_restore_session(str(session.upstream_id))
    sync.restore_sessions_sync(with_events=False)
    session.refresh_from_db()
    assert session.state == "stopped" and session.end_time is not None
    assert session.origin == SessionOrigin.PORTAL and session.reason == "r"


def test_a_session_that_ended_since_the_last_sync_gets_its_closing_events(history, operator, backed_up_org):
    session = session_start.restore_session_start(actor=operator, key=str(uuid.uuid4()), spec=StartSpec(
        organization=backed_up_org, workload="onedrive", reason="r"))
    history.advance_clock(5.5)
    sync.restore_sessions_sync()
    assert "Running" in set(session.events.values_list("status", flat=True))
    upstream.get_client().stop_restore_session(str(session.upstream_id))
    sync.restore_sessions_sync()
    session.refresh_from_db()
    assert session.state == "stopped" and session.result == "success"
    events = session.events.order_by("order")
    last_event = events.last()
    assert last_event is not None and last_event.title == "Restore session stopped"
    assert "Running" not in set(events.values_list("status", flat=True))
    assert restore_sessions.events_complete(session=session)


def test_sessions_vb365_forgot_stay_marked_after_a_full_run(history):
    sync.restore_sessions_sync(with_events=False)
    ghost = RestoreSession.objects.first()
    assert ghost is not None
    RestoreSession.objects.filter(pk=ghost.pk).update(upstream_id=uuid.uuid4(),
                                                      created_at=timezone.now() - timedelta(days=1))
    result = sync.restore_sessions_sync(full=True, with_events=False)
    assert result.forgotten == 1
    ghost.refresh_from_db()
    assert ghost.forgotten_upstream_at is not None


def test_a_second_sync_while_one_runs_is_refused(history):
    now = timezone.now()
    SyncRun.objects.create(status=SyncRun.Status.RUNNING, started_at=now, heartbeat_at=now)
    with pytest.raises(sync.SyncAlreadyRunning):
        sync.restore_sessions_sync()


def test_an_abandoned_run_is_taken_over(history):
    old = timezone.now() - timedelta(hours=1)
    abandoned = SyncRun.objects.create(status=SyncRun.Status.RUNNING, started_at=old, heartbeat_at=old)
    sync.restore_sessions_sync(with_events=False)
    abandoned.refresh_from_db()
    assert abandoned.status == SyncRun.Status.FAILED and "Abandoned" in abandoned.error


@pytest.mark.django_db(transaction=True)
def test_concurrent_syncs_run_one_at_a_time(fresh_sim):
    fresh_sim.fault(latency_ms=300, path="(?i)restoresessions$")
    outcomes: list[Any] = []

    def run() -> None:
        try:
            outcomes.append(sync.restore_sessions_sync(with_events=False))
        except Exception as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(type(o).__name__ for o in outcomes) == ["SyncAlreadyRunning", "SyncResult"]
    assert SyncRun.objects.filter(status=SyncRun.Status.SUCCEEDED).count() == 1


def test_upstream_failure_records_a_failed_run(history):
    history.fault(status=503, path="(?i)restoresessions$")
    with pytest.raises(errors.UpstreamUnavailable):
        sync.restore_sessions_sync()
    run = SyncRun.objects.get()
    assert run.status == SyncRun.Status.FAILED and "UpstreamUnavailable" in run.error and run.finished_at
    assert AuditEvent.objects.filter(action=AuditAction.SYNC, outcome="failure").exists()
    history.clear_faults()
    assert sync.restore_sessions_sync(with_events=False).created > 0


@pytest.mark.django_db(transaction=True)
def test_sync_while_sessions_start_loses_and_duplicates_nothing(fresh_sim, operator, backed_up_org):
    fresh_sim.fault(latency_ms=50, path="(?i)restoresessions$")
    started: list[Any] = []

    failures: list[BaseException] = []

    def start_some() -> None:
        try:
            for i in range(5):
                started.append(session_start.restore_session_start(
                    actor=operator, key=str(uuid.uuid4()),
                    spec=StartSpec(organization=backed_up_org, workload="exchange", reason=f"concurrent {i}")))
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    def sync_twice() -> None:
        try:
            for _ in range(2):
                sync.restore_sessions_sync(with_events=False)
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=start_some), threading.Thread(target=sync_twice)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    sync.restore_sessions_sync(with_events=False)
    assert len(started) == 5
    for session in started:
        row = RestoreSession.objects.get(upstream_id=session.upstream_id)
        assert row.origin == SessionOrigin.PORTAL and row.reason == session.reason and row.requested_by == operator
    upstream_ids = [str(dto.id) for dto in upstream.get_client().iter_restore_sessions()]
    assert RestoreSession.objects.count() == len(set(upstream_ids)) == len(upstream_ids)


@pytest.mark.parametrize("version", [1, 8])
def test_a_running_sync_records_its_progress_page_by_page(history, settings, monkeypatch, version):
    settings.VB365_API_VERSION = version
    monkeypatch.setattr(sync, "PAGE_SIZE", 6)
    recorded = []

    def watch(step: sync.SyncProgress) -> None:
        if step.page_read:
            # What the operations page would read at this moment, while the run is still going.
            run = SyncRun.objects.get(status=SyncRun.Status.RUNNING)
            recorded.append((run.pages_read, run.seen, run.sessions_expected, step.pages, step.sessions, step.expected))

    result = sync.restore_sessions_sync(full=True, with_events=False, progress=watch)
    assert len(recorded) >= 3
    assert [row[0] for row in recorded] == list(range(1, len(recorded) + 1))
    seen = [row[1] for row in recorded]
    assert seen == sorted(set(seen)) and seen[0] == 6 and seen[-1] == result.seen
    assert all(row[0:3] == row[3:6] for row in recorded)
    # A v1 server lists the whole collection at once, so the total is known; v8 pages do not carry one.
    expected_total = result.seen if version == 1 else None
    assert {row[2] for row in recorded} == {expected_total}
    finished = SyncRun.objects.get(pk=result.run_id)
    assert (finished.pages_read, finished.sessions_expected) == (len(recorded), expected_total)
