"""Running item actions in the worker (restores.tasks calls these): restores, downloads, and what follows.

- A restore sends ONE POST and never sends it again (a repeated restore POST restores again). v4–v7 hold the
  POST until VB365 has restored everything (read timeout VB365_RESTORE_TIMEOUT) and answer the counts. v8 answers
  a run id at once; it is saved on the job and `restore_job_follow` (an idempotent task of its own) reads the run's
  statistics and events every RESTORE_POLL_SECONDS, saving the counts as they move, until the run is done. A
  worker that dies while following is replaced and the following resumes where the job says it was.
- A worker that dies during a restore POST leaves the outcome unknown: the task ends FAILED as interrupted
  (background.queue.tasks_lost_recover) and `jobs_lost_reconcile` (periodic) ends the job `interrupted`, with the
  events VB365 recorded in the session since the job started and a message of what to check.
- A save or export streams the file into storage (restores.storage.download_store: checked, resumed with Range
  where VB365 allows it, never offered broken) and may run again from the start after a worker death.
- Every job ends with its counts and a message, one JOB_FINISH audit event and a mail to the person who asked
  (and the person it was for).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from background.queue import INTERRUPTED_CLASS_PATH
from background.selectors import last_line
from restores import storage
from restores.actions import ACTIONS, ActionKind
from restores.models import FINISHED_STATES, CredentialKind, JobState, RestoreJob
from restores.services import credentials as sealed
from restores.services.jobs import client_for_user
from sessions_app.exceptions import PortalError
from sessions_app.models import AuditAction, AuditOutcome
from sessions_app.services import notifications, restore_sessions
from sessions_app.services.audit import audit_event_record
from sessions_app.upstream import errors
from sessions_app.upstream import restores as upstream_restores
from sessions_app.upstream.browse_types import NodeRef
from sessions_app.upstream.client import UpstreamClient
from sessions_app.upstream.restore_types import RestoreCountsDTO, RestoreCredentials, RestoreStartedDTO
from sessions_app.upstream.types import RestoreSessionEventDTO

logger = logging.getLogger(__name__)

JOB_TASK_PATHS = ("restores.tasks.restore_job_run", "restores.tasks.restore_job_follow",
                  "restores.tasks.download_job_run")
JOB_FINISHED = "restore_job_finished"
# A device code not yet approved is refused before anything is restored, so the POST may be sent again: every
# DEVICE_CODE_POLL_SECONDS until the code is approved or DEVICE_CODE_WAIT has passed since the job was asked for.
DEVICE_CODE_POLL_SECONDS = 5.0
DEVICE_CODE_WAIT = timedelta(minutes=15)
# Successful items kept per job beyond every failed, skipped or warned one (a 10,000-item restore lists its
# failures, not 10,000 successes).
MAX_SUCCESS_OUTCOMES = 500
# Job events read back from the session when a job is interrupted, at most.
MAX_INTERRUPTED_EVENTS = 500
# VB365's and the portal's clocks may differ: events from slightly before the job started belong to it too.
CLOCK_SKEW = timedelta(seconds=30)

NO_CREDENTIALS = ("The credentials given with this job were gone before a worker took it (they are kept for "
                  "{minutes} minutes at most): nothing was restored. Ask for the restore again.")
DEVICE_CODE_EXPIRED = ("The device code was not approved in time (or has expired): nothing was restored. Ask for "
                       "the restore again with a new code.")
INTERRUPTED_POST = ("Interrupted: the worker stopped while VB365 was restoring, so Restore Desk does not know how "
                    "far the restore went, and does not send a restore twice. Check the target ({where}) for what "
                    "arrived: the events VB365 recorded in this session since the job started are listed with the "
                    "items. Ask for the restore again for what is missing.")
ANSWER_LOST = ("VB365 did not answer the restore ({error}); it may have restored some or all items. Check the "
               "target ({where}) for what arrived: the events VB365 recorded in this session since the job "
               "started are listed with the items. Ask for the restore again for what is missing.")
FOLLOW_LOST = ("Interrupted: VB365's restore run {run} could not be followed to its end ({error}). It may still be "
               "running or have finished in VB365: check the run in the VB365 console and the target ({where}).")
RUN_TOO_LONG = ("Interrupted: VB365's restore run {run} had not finished after {hours:g} hours "
                "(VB365_RESTORE_TIMEOUT). Check the run in the VB365 console and the target ({where}).")
UNEXPECTED = "Failed in Restore Desk ({error}). Nothing more is known; check the target ({where})."
NEVER_SENT = "Failed before anything was sent to VB365 ({error}): nothing was restored or saved. Ask again."
STILL_QUEUED = "Ended without an outcome: its task finished without running the job."


# -- small helpers -----------------------------------------------------------------------------------------------


def wait(seconds: float) -> None:
    """The pause between two polls of VB365 (tests replace it to move the simulator's clock instead)."""
    time.sleep(seconds)


def _job(job_id: int) -> RestoreJob:
    return RestoreJob.objects.select_related("session", "organization", "requested_by", "on_behalf_of").get(pk=job_id)


def _refs(job: RestoreJob) -> list[NodeRef]:
    return [NodeRef(str(row["ref"][0]), tuple(str(part) for part in row["ref"][1:])) for row in job.selection]


def _where(job: RestoreJob) -> str:
    """Where the person looks to see what a restore did, in words."""
    if job.target:
        return ", ".join(f"{name} {value}" for name, value in job.target.items())
    names = sorted({row.get("name") or "" for row in job.selection} - {""})
    container = {"exchange": "mailbox", "onedrive": "OneDrive", "sharepoint": "site", "teams": "team"}.get(
        job.workload, "location")
    return f"the original {container}{' ' + ', '.join(names) if names else ''}"


def _claim(job_id: int, *, from_states: Iterable[str]) -> bool:
    now = timezone.now()
    return bool(RestoreJob.objects.filter(pk=job_id, state__in=list(from_states)).update(
        state=JobState.RUNNING, started_at=now, progress_at=now))


def _outcome_rows(counts: RestoreCountsDTO) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    successes = 0
    for item in counts.items:
        if item.status == "success":
            successes += 1
            if successes > MAX_SUCCESS_OUTCOMES:
                continue
        rows.append({"name": item.name, "path": item.path, "type": item.item_type, "status": item.status,
                     "error": item.error, "warnings": list(item.warnings)})
    for message in _run_errors(counts):
        rows.append({"name": "", "path": "", "type": "run", "status": "failed", "error": message, "warnings": []})
    return rows


def _run_errors(counts: RestoreCountsDTO) -> list[str]:
    """VB365's messages about the run itself, without those that repeat an item's error (v4–v7 Exchange reports
    each failed item as one of its `exceptions`)."""
    item_errors = {item.error for item in counts.items if item.error}
    return [message for message in counts.errors if message not in item_errors]


def _counts_fields(counts: RestoreCountsDTO) -> dict[str, Any]:
    return {"total_count": counts.total, "succeeded_count": counts.succeeded, "failed_count": counts.failed,
            "skipped_count": counts.skipped, "warning_count": counts.warnings, "item_outcomes": _outcome_rows(counts)}


def _state_of(counts: RestoreCountsDTO) -> str:
    """Skipped items (VB365 found nothing to change) and warnings do not make a restore fail; failed items do."""
    if counts.failed == 0 and not counts.errors:
        return JobState.SUCCEEDED
    if counts.succeeded == 0:
        return JobState.FAILED
    return JobState.PARTIALLY_SUCCEEDED


def _counts_message(job: RestoreJob, counts: RestoreCountsDTO, state: str) -> str:
    total = counts.total if counts.total is not None else counts.succeeded + counts.failed + counts.skipped
    parts = [f"{counts.failed} failed", f"{counts.skipped} skipped", f"{counts.warnings} with warnings"]
    heads: dict[str, str] = {JobState.SUCCEEDED: "Restored", JobState.PARTIALLY_SUCCEEDED: "Partly restored",
                             JobState.FAILED: "Nothing restored"}
    head = heads[state]
    message = f"{head}: {counts.succeeded} of {total} items restored ({', '.join(parts)})."
    run_errors = _run_errors(counts)
    if run_errors:
        message += " VB365 reported: " + "; ".join(run_errors[:3])
    if state != JobState.SUCCEEDED:
        message += f" The failed items are listed; check the target ({_where(job)})."
    return message


# -- finishing ---------------------------------------------------------------------------------------------------


def job_finish(*, job_id: int, state: str, message: str, fields: dict[str, Any] | None = None,
               now: datetime | None = None) -> bool:
    """End a job that has not ended yet: state, message, counts and file fields, the JOB_FINISH audit event and the
    mails, in one transaction. False (and nothing written) when the job had already ended."""
    assert state in FINISHED_STATES
    now = now or timezone.now()
    with transaction.atomic():
        updated = RestoreJob.objects.filter(pk=job_id).exclude(state__in=list(FINISHED_STATES)).update(
            state=state, message=message[:4000], finished_at=now, progress_at=now, **(fields or {}))
        if not updated:
            return False
        job = _job(job_id)
        sealed.credential_handoff_discard(job=job)
        _audit_finish(job)
        _notify_finish(job, now=now)
    logger.info("Job %s (%s) ended %s", job.public_id, job.action, state)
    return True


def _failed(job_id: int, message: str) -> dict[str, Any]:
    """End the job failed (the task's result says so too)."""
    job_finish(job_id=job_id, state=JobState.FAILED, message=message)
    return {"state": JobState.FAILED}


def _audit_finish(job: RestoreJob) -> None:
    details: dict[str, Any] = {
        "job": str(job.public_id), "action": job.action, "state": job.state, "message": job.message,
        "counts": {"total": job.total_count, "succeeded": job.succeeded_count, "failed": job.failed_count,
                   "skipped": job.skipped_count, "warnings": job.warning_count, "bytes": job.bytes_done}}
    if job.file_path:
        details.update(file_name=job.file_name, size=job.file_size, sha256=job.file_sha256)
    outcome = AuditOutcome.SUCCESS if job.state == JobState.SUCCEEDED else AuditOutcome.FAILURE
    audit_event_record(action=AuditAction.JOB_FINISH, actor=job.requested_by, outcome=outcome,
                       organization=job.organization, workload=job.workload,
                       session_upstream_id=str(job.session.upstream_id), reason=job.reason, ticket=job.ticket,
                       on_behalf_of_username=job.on_behalf_of.get_username() if job.on_behalf_of else "",
                       details=details)


def _notify_finish(job: RestoreJob, *, now: datetime) -> None:
    """One mail to the person who asked and one to the person it was for, claimed once per job."""
    if not RestoreJob.objects.filter(pk=job.pk, notified_at__isnull=True).update(notified_at=now):
        return
    action = ACTIONS.get(job.action)
    label = action.label if action else job.action
    subject = f"Restore Desk: {label} ({job.get_state_display().lower()})"
    lines = [f"The item action you asked for has ended: {job.get_state_display().lower()}.", "",
             f"Action: {label}", f"Organization: {job.session.organization_name or '-'}",
             f"Session: {job.session.upstream_id}", f"Job: {job.public_id}", f"Reason given: {job.reason}"]
    if job.ticket:
        lines.append(f"Ticket: {job.ticket}")
    lines += ["", job.message]
    if job.file_path and job.file_expires_at:
        lines += ["", f"The file {job.file_name} can be downloaded from the job's page until "
                      f"{job.file_expires_at:%Y-%m-%d %H:%M} UTC."]
    body = "\n".join(lines) + "\n"
    people = [job.requested_by] + ([job.on_behalf_of] if job.on_behalf_of else [])
    for person in people:
        notifications.notification_enqueue(kind=JOB_FINISHED, user=person, subject=subject, body=body)


# -- restores ---------------------------------------------------------------------------------------------------


def restore_job_run(*, job_id: int) -> dict[str, Any]:
    """The restore POST of one job (task `restores.tasks.restore_job_run`, never run twice)."""
    if not _claim(job_id, from_states=[JobState.QUEUED]):
        return {"skipped": "not queued"}
    job = _job(job_id)
    try:
        credentials = _credentials_for(job)
    except sealed.CredentialsUnavailable as exc:
        return _failed(job_id, exc.message)
    if credentials is None:
        minutes = settings.RESTORE_CREDENTIALS_HANDOFF_SECONDS // 60
        return _failed(job_id, NO_CREDENTIALS.format(minutes=minutes))
    started_at = job.started_at or timezone.now()
    with client_for_user(job.requested_by) as client:
        restorer = upstream_restores.SessionRestorer(client, str(job.session.upstream_id), job.api_version)
        try:
            started = _restore_post(job, restorer, credentials)
        except upstream_restores.RestoreDeviceCodeNotApproved:
            return _failed(job_id, DEVICE_CODE_EXPIRED)
        except errors.UpstreamError as exc:
            if exc.maybe_processed:
                _interrupt(job, message=ANSWER_LOST.format(error=exc.message, where=_where(job)),
                           since=started_at, client=client)
                return {"state": JobState.INTERRUPTED}
            words = "VB365 refused the restore" if isinstance(exc, errors.UpstreamRejected) else "The restore failed"
            return _failed(job_id, f"{words}: {exc.message}")
        except PortalError as exc:  # refused before anything was sent (e.g. the tenant's sign-in has ended)
            return _failed(job_id, exc.message)
    if started.counts is not None:
        state = _state_of(started.counts)
        job_finish(job_id=job_id, state=state, message=_counts_message(job, started.counts, state),
                   fields=_counts_fields(started.counts))
        return {"state": state}
    from restores import tasks  # the tasks module imports this one

    with transaction.atomic():
        result = tasks.restore_job_follow.enqueue(job_id=job_id)
        RestoreJob.objects.filter(pk=job_id).update(upstream_run_id=started.run_id, task_id=str(result.id),
                                                    progress_at=timezone.now())
    return {"run_id": started.run_id, "follow": str(result.id)}


def _credentials_for(job: RestoreJob) -> RestoreCredentials | None:
    given = sealed.credentials_take(job=job)
    if given is not None:
        return given
    if job.credential_kind == CredentialKind.APPLICATION:
        return sealed.app_credentials_for(organization=job.organization)
    return None


def _restore_post(job: RestoreJob, restorer: upstream_restores.SessionRestorer,
                  credentials: RestoreCredentials) -> RestoreStartedDTO:
    """The restore POST; sent again only while VB365 says the device code is not approved yet (it then restored
    nothing). Raises RestoreDeviceCodeNotApproved once the code expired or DEVICE_CODE_WAIT has passed."""
    deadline = job.created_at + DEVICE_CODE_WAIT
    while True:
        try:
            return restorer.restore(job.action, _refs(job), target=job.target, options=job.options,
                                    credentials=credentials, timeout=float(settings.VB365_RESTORE_TIMEOUT))
        except upstream_restores.RestoreDeviceCodeNotApproved as exc:
            if credentials.kind != "device_code" or exc.expired or timezone.now() >= deadline:
                raise
            RestoreJob.objects.filter(pk=job.pk).update(
                progress_at=timezone.now(), message="Waiting for the device code to be approved.")
            wait(DEVICE_CODE_POLL_SECONDS)


def restore_job_follow(*, job_id: int) -> dict[str, Any]:
    """Follow a v8 restore run to its end (task `restores.tasks.restore_job_follow`, idempotent: plain reads,
    resumed from the job's saved event offset). Raises UpstreamError while VB365 cannot answer (the task is
    retried; once it gives up, jobs_lost_reconcile ends the job interrupted)."""
    job = _job(job_id)
    if job.finished:
        return {"skipped": "already ended"}
    if not job.upstream_run_id:
        return _failed(job_id, UNEXPECTED.format(error="no VB365 run to follow", where=_where(job)))
    started_at = job.started_at or job.created_at
    deadline = started_at + timedelta(seconds=settings.VB365_RESTORE_TIMEOUT)
    with client_for_user(job.requested_by) as client:
        restorer = upstream_restores.SessionRestorer(client, str(job.session.upstream_id), job.api_version)
        offset = job.events_seen
        last: tuple[Any, ...] | None = None
        while True:
            cycle_started = time.monotonic()
            progress = restorer.run_progress(job.upstream_run_id, events_offset=offset)
            offset = progress.next_event_offset
            if progress.finished:
                state = _state_of(progress.counts)
                job_finish(job_id=job_id, state=state, message=_counts_message(job, progress.counts, state),
                           fields={**_counts_fields(progress.counts), "events_seen": offset})
                return {"state": state}
            last = _progress_save(job_id, progress.counts, events_seen=offset, last=last)
            if last is None:
                return {"skipped": "ended meanwhile"}
            if timezone.now() >= deadline:
                hours = settings.VB365_RESTORE_TIMEOUT / 3600
                job_finish(job_id=job_id, state=JobState.INTERRUPTED, message=RUN_TOO_LONG.format(
                    run=job.upstream_run_id, hours=hours, where=_where(job)))
                return {"state": JobState.INTERRUPTED}
            # The poll interval runs from the start of a cycle, so the counts a person sees are never older
            # than one interval plus one read, however long reading the statistics and events took.
            wait(max(settings.RESTORE_POLL_SECONDS - (time.monotonic() - cycle_started), 0.0))


def _progress_save(job_id: int, counts: RestoreCountsDTO, *, events_seen: int,
                   last: tuple[Any, ...] | None) -> tuple[Any, ...] | None:
    """Save the counts of a running job; `progress_at` moves when they did. None when the job is no longer
    running (ended by someone else)."""
    now_counts = (counts.total, counts.succeeded, counts.failed, counts.skipped, counts.warnings)
    fields: dict[str, Any] = {**_counts_fields(counts), "events_seen": events_seen}
    if now_counts != last:
        fields["progress_at"] = timezone.now()
    if not RestoreJob.objects.filter(pk=job_id, state=JobState.RUNNING).update(**fields):
        return None
    return now_counts


# -- interrupted jobs ----------------------------------------------------------------------------------------


def _interrupt(job: RestoreJob, *, message: str, since: datetime, client: UpstreamClient | None = None) -> bool:
    """End `job` interrupted, with the events VB365 recorded in its session since `since` as its items (read
    again and stored with the session's events; when VB365 cannot answer, the message says so)."""
    rows: list[dict[str, Any]] = []
    try:
        if client is None:
            with client_for_user(job.requested_by) as own_client:
                events = _session_events(own_client, job)
        else:
            events = _session_events(client, job)
        rows = [_event_row(event) for event in events if event.start_time is None
                or event.start_time >= since - CLOCK_SKEW][:MAX_INTERRUPTED_EVENTS]
    except (errors.UpstreamError, PortalError) as exc:   # e.g. VB365 down, or the tenant's sign-in ended
        message += f" (VB365's events could not be read: {exc.message})"
    return job_finish(job_id=job.pk, state=JobState.INTERRUPTED, message=message, fields={"item_outcomes": rows})


def _session_events(client: UpstreamClient, job: RestoreJob) -> list[RestoreSessionEventDTO]:
    events = list(client.iter_restore_session_events(str(job.session.upstream_id)))
    restore_sessions.restore_session_events_store(session=job.session, events=events)
    return events


def _event_row(event: RestoreSessionEventDTO) -> dict[str, Any]:
    status = (event.status or "").lower()
    outcome = {"success": "success", "succeeded": "success", "warning": "warning", "failed": "failed",
               "skipped": "skipped"}.get(status, status or "unknown")
    return {"name": event.item_name or event.title, "path": event.source or "", "type": event.item_type or "event",
            "status": outcome, "error": event.message if outcome in ("failed", "warning") else "",
            "warnings": [], "time": event.start_time.isoformat() if event.start_time else ""}


def jobs_lost_reconcile(*, now: datetime | None = None) -> dict[str, int]:
    """End the jobs whose task ended without ending them: a worker that died during a restore POST (the task
    FAILED as interrupted), a v8 run that could not be followed, an error in Restore Desk. Jobs whose task (or its
    retry) is still queued or running are left alone. Also destroys credential hand-offs no worker took.
    Returns the counts (periodic task restores.tasks.restore_jobs_check)."""
    now = now or timezone.now()
    counts = {"interrupted": 0, "failed": 0, "handoffs_purged": sealed.credential_handoffs_purge(now=now)}
    open_jobs = RestoreJob.objects.filter(state__in=[JobState.QUEUED, JobState.RUNNING]).exclude(task_id="")
    for job in open_jobs.select_related("session", "requested_by"):
        results = DBTaskResult.objects.filter(task_path__in=JOB_TASK_PATHS, args_kwargs__kwargs__job_id=job.pk)
        if results.filter(status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING]).exists():
            continue
        last = results.order_by("-enqueued_at").first()
        if last is None or last.status not in (TaskResultStatus.FAILED, TaskResultStatus.SUCCESSFUL):
            continue
        error = last_line(last.traceback or "")[:300] or last.exception_class_path
        if job.upstream_run_id:
            ended = job_finish(job_id=job.pk, state=JobState.INTERRUPTED, message=FOLLOW_LOST.format(
                run=job.upstream_run_id, error=error, where=_where(job)), now=now)
            counts["interrupted"] += ended
        elif last.status == TaskResultStatus.FAILED and last.exception_class_path == INTERRUPTED_CLASS_PATH \
                and ACTIONS[job.action].kind == ActionKind.RESTORE and job.state == JobState.RUNNING:
            counts["interrupted"] += _interrupt(job, message=INTERRUPTED_POST.format(where=_where(job)),
                                                since=job.started_at or job.created_at)
        elif job.state == JobState.QUEUED:
            counts["failed"] += job_finish(job_id=job.pk, state=JobState.FAILED, message=NEVER_SENT.format(
                error=error), now=now)
        elif last.status == TaskResultStatus.FAILED:
            state = JobState.INTERRUPTED if last.exception_class_path == INTERRUPTED_CLASS_PATH else JobState.FAILED
            ended = job_finish(job_id=job.pk, state=state, message=UNEXPECTED.format(error=error, where=_where(job)),
                               now=now)
            counts["interrupted" if state == JobState.INTERRUPTED else "failed"] += ended
        else:
            counts["failed"] += job_finish(job_id=job.pk, state=JobState.FAILED, message=STILL_QUEUED, now=now)
    return counts


# -- downloads ----------------------------------------------------------------------------------------------------


def download_job_run(*, job_id: int) -> dict[str, Any]:
    """Save or export one job's file into storage (task `restores.tasks.download_job_run`; run again from the
    start after a worker death: nothing partial is ever kept)."""
    if not _claim(job_id, from_states=[JobState.QUEUED, JobState.RUNNING]):
        return {"skipped": "already ended"}
    job = _job(job_id)
    action = ACTIONS[job.action]
    refs = _refs(job)
    stem = _file_stem(job)
    with client_for_user(job.requested_by) as client:
        restorer = upstream_restores.SessionRestorer(client, str(job.session.upstream_id), job.api_version)

        def open_stream(range_start: int) -> AbstractContextManager[upstream_restores.DownloadStream]:
            return restorer.download(job.action, refs, options=job.options, range_start=range_start,
                                     timeout=float(settings.VB365_RESTORE_TIMEOUT), file_stem=stem)

        def on_progress(written: int, total: int | None) -> None:   # at most once a second (download_store)
            RestoreJob.objects.filter(pk=job_id, state=JobState.RUNNING).update(
                bytes_done=written, bytes_total=total, progress_at=timezone.now())

        try:
            stored = storage.download_store(job_public_id=job.public_id, open_stream=open_stream,
                                            expected_format=action.file_format, on_progress=on_progress)
        except storage.DownloadFailed as exc:
            return _failed(job_id, f"No file: {exc.message}")
        except errors.UpstreamError as exc:
            return _failed(job_id, f"VB365 could not produce the file: {exc.message}")
        except PortalError as exc:
            return _failed(job_id, exc.message)
    now = timezone.now()
    fields = {"file_name": stored.file_name, "file_path": stored.path, "file_size": stored.size,
              "file_sha256": stored.sha256, "file_content_type": stored.content_type,
              "file_expires_at": storage.file_expiry(now), "bytes_done": stored.size, "bytes_total": stored.size,
              "total_count": len(refs), "succeeded_count": len(refs)}
    resumed = f", resumed {stored.resumes} times" if stored.resumes else ""
    message = f"Ready to download: {stored.file_name} ({_size_words(stored.size)}{resumed})."
    if not job_finish(job_id=job_id, state=JobState.SUCCEEDED, message=message, fields=fields, now=now):
        storage.stored_file_delete(stored.path)  # ended meanwhile (by the check): the file is not offered
        return {"skipped": "ended meanwhile"}
    return {"state": JobState.SUCCEEDED, "size": stored.size}


def _file_stem(job: RestoreJob) -> str:
    names = [row.get("name") or "" for row in job.selection]
    return names[0] if names and names[0] else ""


def _size_words(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"


# -- files past their retention ---------------------------------------------------------------------------------


def job_files_purge(*, now: datetime | None = None) -> int:
    """Delete the download files whose link has expired (restores.storage.purge_expired_files) and record each
    as JOB_FILE_PURGE. Returns how many."""
    now = now or timezone.now()
    purged = storage.purge_expired_files(now=now)
    for job in RestoreJob.objects.filter(pk__in=purged).select_related("session", "organization", "requested_by"):
        audit_event_record(action=AuditAction.JOB_FILE_PURGE, actor=None, actor_username="restore-desk",
                           organization=job.organization, workload=job.workload,
                           session_upstream_id=str(job.session.upstream_id),
                           details={"job": str(job.public_id), "action": job.action, "file_name": job.file_name,
                                    "size": job.file_size, "expired_at": job.file_expires_at.isoformat()
                                    if job.file_expires_at else None})
    return len(purged)


