"""Running jobs in the worker: restores on v5–v8 end to end with their counts, partial failures, credentials,
worker deaths (v8 resumes, v6/v7 end interrupted), the mail at the end, and saves and exports into storage."""
from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from background import queue, scheduler
from restores.models import CredentialHandoff, CredentialKind, JobState, RestoreJob
from restores.services import credentials, downloads, jobs, running
from sessions_app.models import AuditAction, AuditEvent, AuditOutcome
from sessions_app.upstream import restores as upstream_restores
from sessions_app.upstream.restore_types import RestoreCredentials
from tests.conftest import SimControl
from tests.restores.conftest import job_reloaded, job_spec


class WorkerKilled(BaseException):
    """Stands for SIGKILL: not an Exception, so nothing in the worker catches it and the task stays RUNNING."""


@pytest.fixture(autouse=True)
def _killable_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """A task raising WorkerKilled leaves its result RUNNING and the in-process worker stops, as SIGKILL would
    (django-tasks-db's worker records every BaseException as the task's failure otherwise)."""
    record_failure = DBTaskResult.set_failed

    def set_failed(self: DBTaskResult[Any, Any], exc: BaseException) -> None:
        if isinstance(exc, WorkerKilled):
            raise exc
        record_failure(self, exc)

    monkeypatch.setattr(DBTaskResult, "set_failed", set_failed)


def knobs(sim: SimControl, **values: Any) -> None:
    requests.post(f"{sim.url}/_sim/restore-knobs", json=values, timeout=5).raise_for_status()


def posts_sent(sim: SimControl, verb: str) -> int:
    return sum(count for key, count in sim.stats()["requests"].items() if key.startswith("POST") and verb in key)


@pytest.fixture
def restore_in(working_session: Any, nodes: Any, job_operator: Any,
               m365_password: RestoreCredentials) -> Any:
    """restore_in(version, items=3, **spec) -> a queued exchange.restore_original job of `items` mail items."""

    def create(version: int, *, items: int = 3, at_most: int = 60, **overrides: Any) -> RestoreJob:
        session = working_session(version)
        _, entries = nodes(session, job_operator).folder_with_items(at_least=items, at_most=at_most)
        values: dict[str, Any] = {"credentials": m365_password, **overrides}
        return jobs.job_create(actor=job_operator, session=session, spec=job_spec(
            "exchange.restore_original", [each.id for each in entries[:items]], **values))

    return create


@pytest.mark.parametrize("version", [5, 6, 7, 8])
def test_restore_ends_with_vb365s_counts_and_the_failed_items(version: int, restore_in: Any, sim: SimControl,
                                                              run_jobs: Any) -> None:
    knobs(sim, failed_percent=40, skipped_percent=0)
    job = restore_in(version, items=12)
    run_jobs()
    job = job_reloaded(job)
    assert job.state == JobState.PARTIALLY_SUCCEEDED, job.message
    assert job.failed_count > 0 and job.succeeded_count > 0
    assert job.succeeded_count + job.failed_count + job.skipped_count == 12
    failed = [row for row in job.item_outcomes if row["status"] == "failed"]
    assert len(failed) == job.failed_count and all(row["name"] or row["error"] for row in failed)
    assert job.message == (f"Partly restored: {job.succeeded_count} of 12 items restored ({job.failed_count} failed, "
                           "0 skipped, 0 with warnings). The failed items are listed; check the target (the "
                           f"original mailbox {job.selection[0]['name']}).")
    assert job.started_at and job.finished_at and job.progress_at
    finish = AuditEvent.objects.get(action=AuditAction.JOB_FINISH)
    assert finish.outcome == AuditOutcome.FAILURE and finish.actor_username == "ophelia"
    assert finish.details["state"] == "partially_succeeded"
    assert finish.details["counts"]["failed"] == job.failed_count
    assert posts_sent(sim, "restore") == 1


def test_restore_where_everything_fails_is_failed(restore_in: Any, sim: SimControl, run_jobs: Any) -> None:
    knobs(sim, failed_percent=100)
    job = restore_in(6)
    run_jobs()
    job = job_reloaded(job)
    assert job.state == JobState.FAILED and job.failed_count == 3 and job.succeeded_count == 0


def test_refused_credentials_fail_the_job_with_vb365s_words(restore_in: Any, run_jobs: Any) -> None:
    job = restore_in(6, credentials=RestoreCredentials(user_name="someone@example.com", password="wrong-password"))
    run_jobs()
    job = job_reloaded(job)
    assert job.state == JobState.FAILED
    assert job.message.startswith("VB365 refused the restore:") and "incorrect" in job.message
    assert not CredentialHandoff.objects.exists()


def test_v8_progress_is_saved_and_resumes_after_the_worker_died(restore_in: Any, sim: SimControl, run_jobs: Any,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    knobs(sim, item_sim_seconds=60, failed_percent=0, skipped_percent=0)
    job = restore_in(8, items=5)
    polls: list[int] = []

    def die_after_two_polls(seconds: float) -> None:
        polls.append(1)
        sim.advance_clock(90)          # one item more (and a half) in VB365 between polls
        if len(polls) == 2:
            raise WorkerKilled()

    monkeypatch.setattr(running, "wait", die_after_two_polls)
    with pytest.raises(WorkerKilled):
        run_jobs()
    job = job_reloaded(job)
    assert job.state == JobState.RUNNING and job.upstream_run_id
    assert 0 < job.succeeded_count < 5 and job.progress_at is not None
    seen_before = job.events_seen
    follow = DBTaskResult.objects.get(id=job.task_id)
    assert follow.status == TaskResultStatus.RUNNING  # as a killed worker leaves it

    monkeypatch.setattr(running, "wait", lambda seconds: sim.advance_clock(120))
    assert queue.tasks_lost_recover()["requeued"] == 1   # its worker has no heartbeat: handed back
    run_jobs()
    job = job_reloaded(job)
    assert job.state == JobState.SUCCEEDED, job.message
    assert job.succeeded_count == 5 and job.events_seen >= seen_before
    assert posts_sent(sim, "restore") == 1, "the restore POST was not sent again"


@pytest.mark.parametrize("version", [6, 7])
def test_worker_death_during_a_restore_post_ends_the_job_interrupted(version: int, restore_in: Any,
                                                                     sim: SimControl, run_jobs: Any,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    job = restore_in(version)
    real_restore = upstream_restores.SessionRestorer.restore

    def restore_then_die(self: Any, *args: Any, **kwargs: Any) -> Any:
        real_restore(self, *args, **kwargs)   # VB365 restored; the worker never hears of it
        raise WorkerKilled()

    monkeypatch.setattr(upstream_restores.SessionRestorer, "restore", restore_then_die)
    with pytest.raises(WorkerKilled):
        run_jobs()
    assert job_reloaded(job).state == JobState.RUNNING
    assert running.jobs_lost_reconcile()["interrupted"] == 0, "its task is still running as far as anyone knows"

    assert queue.tasks_lost_recover()["interrupted"] == 1
    assert running.jobs_lost_reconcile()["interrupted"] == 1
    job = job_reloaded(job)
    assert job.state == JobState.INTERRUPTED
    assert job.message.startswith("Interrupted: the worker stopped while VB365 was restoring")
    assert "the original mailbox" in job.message and "events VB365 recorded" in job.message
    assert sim.request_count(f"GET /v{version}/RestoreSessions/{{restoreSessionId}}/Events") >= 1
    assert AuditEvent.objects.get(action=AuditAction.JOB_FINISH).details["state"] == "interrupted"
    run_jobs()
    assert posts_sent(sim, "restore") == 1, "never sent again"


def test_a_tenants_interrupted_job_ends_even_when_its_sign_in_has_ended(upstream: Any, job_org: Any,
                                                                        tenant_credentials: dict[str, str],
                                                                        m365_password: RestoreCredentials,
                                                                        run_jobs: Any,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from sessions_app.services import session_start, tenants
    from sessions_app.specs import StartSpec
    from tests.restores.conftest import NodeFinder

    upstream(6)
    tenant = tenants.tenant_sign_in(**tenant_credentials).user
    session = session_start.restore_session_start(
        actor=tenant, key="tenant-start", spec=StartSpec(organization=job_org, workload="exchange", reason="mine"),
        client=tenants.client_for(user=tenant))
    _, items = NodeFinder(session, tenant).folder_with_items(at_least=1)
    job = jobs.job_create(actor=tenant, session=session, spec=job_spec(
        "exchange.restore_original", [items[0].id], credentials=m365_password))
    real_restore = upstream_restores.SessionRestorer.restore

    def restore_then_die(self: Any, *args: Any, **kwargs: Any) -> Any:
        real_restore(self, *args, **kwargs)
        raise WorkerKilled()

    monkeypatch.setattr(upstream_restores.SessionRestorer, "restore", restore_then_die)
    with pytest.raises(WorkerKilled):
        run_jobs()
    tenants.tenant_sign_out(user=tenant)      # the check then has no sign-in to read the session's events with
    assert queue.tasks_lost_recover()["interrupted"] == 1
    assert running.jobs_lost_reconcile()["interrupted"] == 1
    job = job_reloaded(job)
    assert job.state == JobState.INTERRUPTED and "events could not be read" in job.message, job.message


def test_a_lost_answer_ends_the_job_interrupted_with_what_to_check(restore_in: Any, sim: SimControl,
                                                                   run_jobs: Any, settings: Any) -> None:
    knobs(sim, item_real_seconds=1.0)
    settings.VB365_RESTORE_TIMEOUT = 1
    job = restore_in(6, items=3)
    run_jobs()
    job = job_reloaded(job)
    assert job.state == JobState.INTERRUPTED
    assert job.message.startswith("VB365 did not answer the restore") and "may have restored" in job.message


def test_device_code_is_waited_for_until_approved(restore_in: Any, sim: SimControl, run_jobs: Any,
                                                  job_operator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    probe = restore_in(8, credentials=RestoreCredentials(user_name="x", password="y"))
    code = jobs.device_code_request(actor=job_operator, session=probe.session)
    RestoreJob.objects.filter(pk=probe.pk).update(state=JobState.FAILED)
    CredentialHandoff.objects.all().delete()
    job = jobs.job_create(actor=job_operator, session=probe.session, spec=job_spec(
        "exchange.restore_original", [row["node"] for row in probe.selection],
        credentials=RestoreCredentials(user_code=code.user_code)))
    assert job.credential_kind == CredentialKind.DEVICE_CODE
    waits: list[float] = []

    def approve_while_waiting(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 1:
            requests.post(f"{sim.url}/_sim/device-codes/{code.user_code}/approve", timeout=5).raise_for_status()

    monkeypatch.setattr(running, "wait", approve_while_waiting)
    DBTaskResult.objects.filter(args_kwargs__kwargs__job_id=probe.pk).delete()
    run_jobs()
    job = job_reloaded(job)
    assert job.state == JobState.SUCCEEDED, job.message
    assert waits[0] == running.DEVICE_CODE_POLL_SECONDS


def test_device_code_never_approved_fails_the_job(restore_in: Any, sim: SimControl, run_jobs: Any,
                                                  job_operator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    session_job = restore_in(6, credentials=RestoreCredentials(user_code="NOT-A-CODE"))
    monkeypatch.setattr(running, "wait", lambda seconds: None)
    run_jobs()
    job = job_reloaded(session_job)
    assert job.state == JobState.FAILED and job.message == running.DEVICE_CODE_EXPIRED


def test_organization_application_credentials_are_used(working_session: Any, nodes: Any, job_operator: Any,
                                                       admin_user: Any, run_jobs: Any) -> None:
    session = working_session(6)
    credentials.app_credential_set(actor=admin_user, organization=session.organization,
                                   application_id=str(uuid.uuid4()), certificate_b64="UEZYLWJ5dGVz",
                                   certificate_password="cert-secret-42")
    _, items = nodes(session, job_operator).folder_with_items(at_least=2)
    job = jobs.job_create(actor=job_operator, session=session,
                          spec=job_spec("exchange.restore_original", [items[0].id]))
    run_jobs()
    job = job_reloaded(job)
    assert job.credential_kind == CredentialKind.APPLICATION
    assert job.state in (JobState.SUCCEEDED, JobState.PARTIALLY_SUCCEEDED, JobState.FAILED)
    assert not job.message.startswith("VB365 refused"), job.message


def test_credentials_not_taken_in_time_fail_the_job_and_are_destroyed(restore_in: Any, run_jobs: Any,
                                                                      sim: SimControl) -> None:
    job = restore_in(6)
    CredentialHandoff.objects.filter(job=job).update(expires_at=timezone.now())
    assert running.jobs_lost_reconcile()["handoffs_purged"] == 1
    run_jobs()
    job = job_reloaded(job)
    assert job.state == JobState.FAILED and "were gone before a worker took it" in job.message
    assert posts_sent(sim, "restore") == 0


def test_credentials_are_never_stored_audited_or_logged(restore_in: Any, run_jobs: Any, m365_password: Any,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    from django.db import connection

    caplog.set_level("DEBUG")
    job = restore_in(6)
    run_jobs()
    assert job_reloaded(job).state != JobState.QUEUED
    secret = m365_password.password
    assert secret not in caplog.text
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 (table names from the database itself)
            for row in cursor.fetchall():
                assert secret not in repr(row), f"the password is in {table}"


def test_the_person_and_the_one_it_was_for_are_mailed_when_a_job_ends(working_session: Any, nodes: Any,
                                                                      helpdesk: Any, job_operator: Any,
                                                                      smtp_server: Any, run_jobs: Any,
                                                                      sim: SimControl) -> None:
    helpdesk.email, job_operator.email = "harry@example.com", "ophelia@example.com"
    helpdesk.save(), job_operator.save()
    session = working_session(6, user=helpdesk, on_behalf_of=job_operator, ticket="INC-9")
    _, items = nodes(session, helpdesk).folder_with_items(at_least=1)
    job = jobs.job_create(actor=helpdesk, session=session, spec=job_spec("exchange.save_msg", [items[0].id]))
    run_jobs()
    job = job_reloaded(job)
    assert job.state == JobState.SUCCEEDED, job.message
    for address in ("harry@example.com", "ophelia@example.com"):
        [mail] = smtp_server.to(address)
        assert mail["subject"] == "Restore Desk: Save as MSG (succeeded)"
        assert "Reason given: INC-16: user deleted it" in mail["body"] and "Ticket: INC-9" in mail["body"]
        assert job.file_name in mail["body"]
    run_jobs()
    assert len(smtp_server.messages) == 2, "one mail each, once"


def test_export_to_pst_is_stored_checked_and_downloaded_once_audited(working_session: Any, nodes: Any,
                                                                     job_operator: Any, run_jobs: Any,
                                                                     job_files: Any) -> None:
    session = working_session(7)
    folder, items = nodes(session, job_operator).folder_with_items(at_least=1, at_most=20)
    job = jobs.job_create(actor=job_operator, session=session, spec=job_spec("exchange.export_pst", [folder.id]))
    with pytest.raises(downloads.JobFileNotReady):
        downloads.download_open(actor=job_operator, job=job)
    run_jobs()
    job = job_reloaded(job)
    assert job.state == JobState.SUCCEEDED, job.message
    assert job.file_name.endswith(".pst") and job.file_size and job.file_size == job.bytes_done
    assert job.file_expires_at and job.file_expires_at > timezone.now()
    download = downloads.download_open(actor=job_operator, job=job, client_address="10.9.8.7")
    with download.file as file:
        assert file.read(4) == b"!BDN"
    assert download.name == job.file_name and download.size == job.file_size
    event = AuditEvent.objects.get(action=AuditAction.JOB_DOWNLOAD)
    assert event.details["file_name"] == job.file_name and event.client_address == "10.9.8.7"
    assert job_reloaded(job).download_count == 1


def test_expired_files_are_purged_audited_and_gone(working_session: Any, nodes: Any, job_operator: Any,
                                                   run_jobs: Any, job_files: Any) -> None:
    session = working_session(8)
    _, items = nodes(session, job_operator).folder_with_items(at_least=1)
    job = jobs.job_create(actor=job_operator, session=session, spec=job_spec("exchange.save_msg", [items[0].id]))
    run_jobs()
    job = job_reloaded(job)
    assert job.state == JobState.SUCCEEDED, job.message
    RestoreJob.objects.filter(pk=job.pk).update(file_expires_at=timezone.now())
    assert running.job_files_purge() == 1
    assert not list(job_files.rglob("*.msg"))
    purge = AuditEvent.objects.get(action=AuditAction.JOB_FILE_PURGE)
    assert purge.details["job"] == str(job.public_id)
    with pytest.raises(downloads.JobFilePurged) as excinfo:
        downloads.download_open(actor=job_operator, job=job_reloaded(job))
    assert excinfo.value.http_status == 410
    assert running.job_files_purge() == 0


def test_a_stream_cut_half_way_offers_no_file(working_session: Any, nodes: Any, job_operator: Any, sim: SimControl,
                                              run_jobs: Any, job_files: Any) -> None:
    session = working_session(6)
    folder, _ = nodes(session, job_operator).folder_with_items(at_least=1, at_most=20)
    sim.fault(cut_body=True, path="(?i)exportToPst$")
    job = jobs.job_create(actor=job_operator, session=session, spec=job_spec("exchange.export_pst", [folder.id]))
    run_jobs()
    job = job_reloaded(job)
    assert job.state == JobState.FAILED and job.message.startswith("No file:")
    assert not job.file_path and not [path for path in job_files.rglob("*") if path.is_file()]
    with pytest.raises(downloads.JobFileNotReady):
        downloads.download_open(actor=job_operator, job=job)


def test_the_schedule_checks_jobs_and_purges_files(settings: Any) -> None:
    names = {periodic.name: periodic.task_path for periodic in scheduler.PERIODIC_TASKS}
    assert names["restore_jobs_check"] == "restores.tasks.restore_jobs_check"
    assert names["export_files_purge"] == "restores.tasks.export_files_purge"
    assert queue.task_policy("restores.tasks.restore_job_run").idempotent is False  # type: ignore[union-attr]
    assert queue.task_policy("restores.tasks.restore_job_follow").idempotent is True  # type: ignore[union-attr]


def test_a_tenants_job_runs_with_the_tenants_own_vb365_sign_in(upstream: Any, job_org: Any,
                                                               tenant_credentials: dict[str, str], sim: SimControl,
                                                               run_jobs: Any, job_files: Any) -> None:
    from sessions_app.services import session_start, tenants
    from sessions_app.specs import StartSpec
    from tests.restores.conftest import NodeFinder

    upstream(8)
    tenant = tenants.tenant_sign_in(**tenant_credentials).user
    session = session_start.restore_session_start(
        actor=tenant, key="tenant-start", spec=StartSpec(organization=job_org, workload="exchange", reason="mine"),
        client=tenants.client_for(user=tenant))
    _, items = NodeFinder(session, tenant).folder_with_items(at_least=1)
    job = jobs.job_create(actor=tenant, session=session, spec=job_spec("exchange.save_msg", [items[0].id]))
    run_jobs()
    job = job_reloaded(job)
    assert job.state == JobState.SUCCEEDED, job.message
    assert list(selectors_for(tenant)) == [job]

    tenants.tenant_sign_out(user=tenant)      # the worker then has no sign-in to speak for the tenant with
    again = jobs.job_create(actor=tenant, session=session, spec=job_spec("exchange.save_msg", [items[0].id]))
    run_jobs()
    again = job_reloaded(again)
    assert again.state == JobState.FAILED and "sign-in" in again.message, again.message


def selectors_for(user: Any) -> Any:
    from restores import selectors

    return selectors.jobs_visible_to(user)


def test_a_download_whose_worker_died_runs_again_from_the_start(working_session: Any, nodes: Any,
                                                                 job_operator: Any, run_jobs: Any, job_files: Any,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from restores import storage

    session = working_session(8)
    _, items = nodes(session, job_operator).folder_with_items(at_least=1)
    job = jobs.job_create(actor=job_operator, session=session, spec=job_spec("exchange.save_msg", [items[0].id]))
    real_store = storage.download_store

    def die_once(**kwargs: Any) -> Any:
        monkeypatch.setattr(storage, "download_store", real_store)
        raise WorkerKilled()

    monkeypatch.setattr(storage, "download_store", die_once)
    with pytest.raises(WorkerKilled):
        run_jobs()
    assert job_reloaded(job).state == JobState.RUNNING
    assert queue.tasks_lost_recover()["requeued"] == 1
    run_jobs()
    job = job_reloaded(job)
    assert job.state == JobState.SUCCEEDED and job.file_name.endswith(".msg")
    assert len([path for path in job_files.rglob("*") if path.is_file()]) == 1


def test_an_error_in_restore_desk_ends_the_job_failed_by_the_check(restore_in: Any, run_jobs: Any,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    job = restore_in(6)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(upstream_restores.SessionRestorer, "restore", broken)
    run_jobs()
    assert job_reloaded(job).state == JobState.RUNNING
    assert running.jobs_lost_reconcile()["failed"] == 1
    job = job_reloaded(job)
    assert job.state == JobState.FAILED and job.message.startswith("Failed in Restore Desk (RuntimeError: a bug)")


@pytest.mark.parametrize(("workload", "action", "suffix"), [
    ("onedrive", "onedrive.save", ".zip"), ("sharepoint", "sharepoint.save", ".zip")])
def test_documents_are_saved_as_a_zip_that_opens(workload: str, action: str, suffix: str, working_session: Any,
                                                 nodes: Any, job_operator: Any, run_jobs: Any,
                                                 job_files: Any) -> None:
    import zipfile

    session = working_session(8, workload=workload)
    finder = nodes(session, job_operator)
    container = finder.containers()[0]
    if workload == "sharepoint":
        container = next(each for each in finder.children(container) if each.kind == "library")
    folder, documents = finder.folder_with_items(at_least=2, at_most=500, container=container)
    small = sorted(documents, key=lambda each: each.size_bytes or 0)[:2]
    job = jobs.job_create(actor=job_operator, session=session, spec=job_spec(action, [each.id for each in small]))
    run_jobs()
    job = job_reloaded(job)
    assert job.state == JobState.SUCCEEDED, job.message
    assert job.file_name.endswith(suffix)
    download = downloads.download_open(actor=job_operator, job=job)
    with download.file as file, zipfile.ZipFile(file) as archive:
        assert archive.testzip() is None and len(archive.namelist()) == 2
