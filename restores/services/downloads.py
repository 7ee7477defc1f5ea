"""Handing a job's file to the person: who may, whether it is still there, and the audit of every download."""
from __future__ import annotations

from typing import IO, Any, NamedTuple

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from restores import selectors as job_selectors
from restores import storage
from restores.models import JobState, RestoreJob
from sessions_app import exceptions, selectors
from sessions_app.models import AuditAction, Role
from sessions_app.services.audit import audit_event_record

NOT_READY = "The file is not ready yet: the job is still {state}."
NO_FILE = "This job produced no file ({state})."
PURGED = "This file has expired and was removed ({when}). Ask for the save or export again."
ONLY_THEIRS = "Only the person who asked for the file (or helpdesk acting for them) may download it."


class JobFileNotReady(exceptions.Conflict):
    code = "not_ready"


class JobFilePurged(exceptions.PortalError):
    http_status = 410
    code = "gone"


class JobDownload(NamedTuple):
    file: IO[bytes]
    name: str
    size: int
    content_type: str


def download_allowed(*, actor: Any, job: RestoreJob) -> bool:
    """The person who asked, the person it was for, helpdesk and administrators: not auditors, not tenants'
    colleagues."""
    if actor.pk in (job.requested_by_id, job.on_behalf_of_id):
        return True
    return selectors.user_role(actor) in {Role.HELPDESK, Role.ADMIN}


def download_open(*, actor: Any, job: RestoreJob, client_address: str = "") -> JobDownload:
    """The job's file opened for streaming, with its name, size and type; the download is audited (JOB_DOWNLOAD)
    and counted. Raises NotVisible (404) outside the actor's jobs, NotAllowed (403) for those who see the job but
    may not take its file, JobFileNotReady (409) before the file exists (or when the job produced none) and
    JobFilePurged (410) once it expired."""
    job = job_selectors.job_for(actor, job.public_id)
    if not download_allowed(actor=actor, job=job):
        raise exceptions.NotAllowed(ONLY_THEIRS, refusal=exceptions.Refusal(
            operation="job.download", target=str(job.public_id), organization=job.organization,
            workload=job.workload, session_upstream_id=str(job.session.upstream_id),
            why="not the job's person"))
    if job.file_purged_at is not None or (job.file_expires_at is not None and job.file_expires_at <= timezone.now()):
        when = (job.file_purged_at or job.file_expires_at or timezone.now()).strftime("%Y-%m-%d %H:%M UTC")
        raise JobFilePurged(PURGED.format(when=when))
    if not job.file_path:
        template = NOT_READY if job.state in (JobState.QUEUED, JobState.RUNNING) else NO_FILE
        raise JobFileNotReady(template.format(state=job.get_state_display().lower()))
    file = storage.stored_file_open(job.file_path)
    try:
        with transaction.atomic():
            RestoreJob.objects.filter(pk=job.pk).update(download_count=F("download_count") + 1)
            audit_event_record(action=AuditAction.JOB_DOWNLOAD, actor=actor, organization=job.organization,
                               workload=job.workload, session_upstream_id=str(job.session.upstream_id),
                               on_behalf_of_username=job.on_behalf_of.get_username() if job.on_behalf_of else "",
                               ticket=job.ticket, client_address=client_address,
                               details={"job": str(job.public_id), "action": job.action, "file_name": job.file_name,
                                        "size": job.file_size, "sha256": job.file_sha256})
    except BaseException:
        file.close()
        raise
    return JobDownload(file, job.file_name, int(job.file_size or 0), job.file_content_type or
                       "application/octet-stream")
