from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from sessions_app.models import Organization, RestoreSession


class JobState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    PARTIALLY_SUCCEEDED = "partially_succeeded", "Partially succeeded"
    FAILED = "failed", "Failed"
    INTERRUPTED = "interrupted", "Interrupted"


FINISHED_STATES = frozenset({JobState.SUCCEEDED, JobState.PARTIALLY_SUCCEEDED, JobState.FAILED, JobState.INTERRUPTED})


class CredentialKind(models.TextChoices):
    NONE = "none", "None needed"
    DEVICE_CODE = "device_code", "Device code"
    PASSWORD = "password", "User name and password"
    APPLICATION = "application", "Organization's application credentials"


class RestoreJob(models.Model):
    """One item action (restore, save or export) inside a restore session: what, why, by whom, and how it went.

    Credentials are never here: a job records only which kind of credentials was used.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    session = models.ForeignKey(RestoreSession, on_delete=models.PROTECT, related_name="restore_jobs")
    organization = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="restore_jobs")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="requested_restore_jobs")
    on_behalf_of = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="restore_jobs_on_behalf")
    ticket = models.CharField(max_length=128, blank=True)
    reason = models.TextField()
    action = models.CharField(max_length=40)          # restores.actions.ACTIONS key
    workload = models.CharField(max_length=16)
    api_version = models.PositiveSmallIntegerField()
    # The browse node ids as chosen, and what they were: [{"node": id, "kind": ..., "name": ...}, ...]
    selection = models.JSONField(default=list)
    target = models.JSONField(default=dict, blank=True)
    options = models.JSONField(default=dict, blank=True)
    credential_kind = models.CharField(max_length=16, choices=CredentialKind.choices, default=CredentialKind.NONE)
    idempotency_key = models.CharField(max_length=255, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True)

    state = models.CharField(max_length=24, choices=JobState.choices, default=JobState.QUEUED)
    # Counts: total/succeeded/failed/skipped/warnings items; bytes written (downloads) or restored.
    total_count = models.PositiveIntegerField(null=True, blank=True)
    succeeded_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    warning_count = models.PositiveIntegerField(default=0)
    bytes_done = models.BigIntegerField(default=0)
    bytes_total = models.BigIntegerField(null=True, blank=True)
    # Per-item outcomes from VB365's statistics and events: [{"name", "path", "type", "status", "error", "warnings"}]
    item_outcomes = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)            # what the person reads: the outcome, or what to check
    upstream_run_id = models.CharField(max_length=64, blank=True)  # v8 restore sessionId
    events_seen = models.PositiveIntegerField(default=0)           # v8 events already folded in
    task_id = models.CharField(max_length=64, blank=True)

    # The download (saves and exports)
    file_name = models.CharField(max_length=255, blank=True)       # what the person's browser saves it as
    file_path = models.CharField(max_length=512, blank=True)       # the storage name
    file_size = models.BigIntegerField(null=True, blank=True)
    file_sha256 = models.CharField(max_length=64, blank=True)
    file_content_type = models.CharField(max_length=100, blank=True)
    file_expires_at = models.DateTimeField(null=True, blank=True)
    file_purged_at = models.DateTimeField(null=True, blank=True)
    download_count = models.PositiveIntegerField(default=0)

    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    progress_at = models.DateTimeField(null=True, blank=True)      # when the counts last moved
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="job_newest_first"),
            models.Index(fields=["requested_by", "-created_at"], name="job_by_requester"),
            models.Index(fields=["state", "-created_at"], name="job_by_state"),
            models.Index(fields=["file_expires_at"], name="job_file_expiry"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["requested_by", "idempotency_key"],
                                    condition=~models.Q(idempotency_key=""), name="job_idempotency_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.action} job {self.public_id}"

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES


class OrganizationAppCredential(models.Model):
    """An organization's application credentials for restores, set once by an administrator.

    The secret (certificate password, or the whole certificate) is encrypted with RESTORE_CREDENTIALS_KEY, a key
    kept in the environment, never in the database: a copy of the database alone cannot restore anything.
    """

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="app_credential")
    application_id = models.UUIDField()
    impersonation_account = models.CharField(max_length=255, blank=True)
    sealed_secret = models.BinaryField()            # Fernet token of the JSON {certificate, certificate_password}
    key_id = models.CharField(max_length=16)        # which RESTORE_CREDENTIALS_KEY sealed it
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"application credentials of {self.organization}"


class CredentialHandoff(models.Model):
    """The Microsoft 365 credentials an operator gave for one restore job, on their way to the worker.

    Sealed with RESTORE_CREDENTIALS_KEY (never in clear), deleted by the worker as it reads them, and purged
    once `expires_at` has passed (a job that never ran): they exist for minutes, never in the job, the task's
    arguments, the audit trail or a log (restores.services.credentials).
    """

    job = models.OneToOneField(RestoreJob, on_delete=models.CASCADE, related_name="credential_handoff")
    sealed = models.BinaryField()
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"credentials for job {self.job_id}"
