"""Local records: upstream state cached from VB365, and what only Restore Desk knows (who, why, scope).

Models hold fields and single-row derived values. Rules live in services (writes) and selectors (reads).
"""
from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.db.models import Value as V
from django.db.models.functions import Concat, Upper


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Role(models.TextChoices):
    """Portal roles, one Django group each (created by a migration)."""

    OPERATOR = "operator", "Operator"
    HELPDESK = "helpdesk", "Helpdesk"
    AUDITOR = "auditor", "Auditor"
    ADMIN = "admin", "Administrator"
    TENANT = "tenant", "Tenant"


class Workload(models.TextChoices):
    EXCHANGE = "exchange", "Exchange"
    ONEDRIVE = "onedrive", "OneDrive"
    SHAREPOINT = "sharepoint", "SharePoint"
    TEAMS = "teams", "Teams"


class SessionState(models.TextChoices):
    WORKING = "working", "Working"
    STOPPED = "stopped", "Stopped"


class SessionResult(models.TextChoices):
    SUCCESS = "success", "Success"
    WARNING = "warning", "Warning"
    FAILED = "failed", "Failed"


class SessionOrigin(models.TextChoices):
    PORTAL = "portal", "Restore Desk"
    UPSTREAM = "upstream", "VB365 (console, PowerShell, other clients)"


class Organization(TimestampedModel):
    """A Microsoft 365 organization as VB365 last described it."""

    upstream_id = models.UUIDField(unique=True)
    name = models.CharField(max_length=255, db_index=True)
    is_backed_up = models.BooleanField(default=False)
    first_backup = models.DateTimeField(null=True, blank=True)
    last_backup = models.DateTimeField(null=True, blank=True)
    raw = models.JSONField(default=dict, blank=True)
    fetched_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class UserProfile(TimestampedModel):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    # Blank means: the browser's own time zone.
    time_zone = models.CharField(max_length=64, blank=True)
    # Set for tenant users (signed in with their organization's own credentials): the one organization they see.
    tenant_organization = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.PROTECT,
                                            related_name="tenant_users")
    # E-mail notifications, each of which the person can turn off (the sync alert reaches administrators only).
    notify_session_failed = models.BooleanField(default=True)
    notify_session_stopped_by_policy = models.BooleanField(default=True)
    notify_sync_failing = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"profile of {self.user}"


class AccessGrant(TimestampedModel):
    """Lets an operator work with one organization, for one workload or (blank) all of them."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_grants")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="grants")
    workload = models.CharField(max_length=16, choices=Workload.choices, blank=True)

    class Meta:
        ordering = ["user_id", "organization__name", "workload"]
        constraints = [
            models.UniqueConstraint(fields=["user", "organization", "workload"], name="unique_access_grant"),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.organization} ({self.workload or 'all workloads'})"


class RestoreSession(TimestampedModel):
    """A VB365 restore session: every upstream field, plus who asked for it here and why."""

    # Upstream state (RESTRestoreSession, newest version's fields)
    upstream_id = models.UUIDField(unique=True)
    organization = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="restore_sessions")
    organization_name = models.CharField(max_length=255, blank=True)
    workload = models.CharField(max_length=16, choices=Workload.choices)
    name = models.CharField(max_length=512, blank=True)
    state = models.CharField(max_length=16, choices=SessionState.choices, default=SessionState.WORKING)
    result = models.CharField(max_length=16, choices=SessionResult.choices, blank=True)
    creation_time = models.DateTimeField()
    end_time = models.DateTimeField(null=True, blank=True)
    upstream_point_in_time = models.DateTimeField(null=True, blank=True)
    initiated_by = models.CharField(max_length=255, blank=True)
    details = models.TextField(blank=True)
    scope_name = models.CharField(max_length=512, blank=True)
    client_host = models.CharField(max_length=255, blank=True)
    upstream_reason = models.TextField(blank=True)
    etag = models.BigIntegerField(null=True, blank=True)
    raw = models.JSONField(default=dict, blank=True)
    fetched_at = models.DateTimeField()
    api_version = models.PositiveSmallIntegerField()
    # Set when a sync no longer finds the session upstream (VB365 retention removed it); the record stays.
    forgotten_upstream_at = models.DateTimeField(null=True, blank=True)

    # What only Restore Desk knows
    origin = models.CharField(max_length=16, choices=SessionOrigin.choices, default=SessionOrigin.UPSTREAM)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="requested_sessions")
    on_behalf_of = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="sessions_on_behalf")
    reason = models.TextField(blank=True)
    scope = models.TextField(blank=True)
    ticket = models.CharField(max_length=128, blank=True)
    requested_point_in_time = models.DateTimeField(null=True, blank=True)
    requested_latest = models.BooleanField(default=False)
    restore_point_id = models.CharField(max_length=128, blank=True)
    show_deleted = models.BooleanField(default=False)
    show_all_versions = models.BooleanField(default=False)
    events_fetched_at = models.DateTimeField(null=True, blank=True)
    # The last full sync that found this session upstream (how forgotten sessions are recognised).
    last_seen_sync = models.BigIntegerField(null=True, blank=True)
    # The last page view, API read or action on it through the portal (written at most once a minute): the
    # idle-session policy stops portal sessions without activity for SESSION_IDLE_MINUTES.
    last_activity_at = models.DateTimeField(null=True, blank=True)
    # When the person who started it was told that it ended in failure (claimed once, by one scheduler).
    outcome_notified_at = models.DateTimeField(null=True, blank=True)
    # What the history's text search looks in, upper-cased, kept by the database (trigram-indexed on PostgreSQL).
    search_text = models.GeneratedField(
        expression=Upper(Concat("reason", V(" "), "scope", V(" "), "ticket", V(" "), "upstream_reason", V(" "),
                                "scope_name", output_field=models.TextField())),
        output_field=models.TextField(), db_persist=True)

    class Meta:
        ordering = ["-creation_time", "-id"]
        indexes = [
            # Each filter column leads an index ending in the list's order (-creation_time, -id), so that a
            # filtered page, its capped count and a deep page's ids are index-only walks.
            models.Index(fields=["-creation_time", "-id"], name="session_newest_first"),
            models.Index(fields=["organization", "-creation_time", "-id"], name="session_org_newest"),
            models.Index(fields=["organization_name", "-creation_time", "-id"], name="session_orgname_newest"),
            models.Index(fields=["requested_by", "-creation_time", "-id"], name="session_requester_newest"),
            models.Index(fields=["state", "-creation_time", "-id"], name="session_state_newest"),
            models.Index(fields=["workload", "-creation_time", "-id"], name="session_workload_newest"),
            models.Index(fields=["result", "-creation_time", "-id"], name="session_result_newest"),
            models.Index(fields=["origin", "-creation_time", "-id"], name="session_origin_newest"),
        ]
        permissions = [
            ("start_restore_session", "Can start restore sessions"),
            ("stop_restore_session", "Can stop restore sessions"),
            ("view_all_sessions", "Can see every restore session"),
            ("act_on_behalf", "Can start sessions on behalf of another user"),
            ("view_audit", "Can review the audit trail"),
        ]

    def __str__(self) -> str:
        return f"{self.get_workload_display()} session {self.upstream_id}"

    @property
    def is_working(self) -> bool:
        return self.state == SessionState.WORKING

    @property
    def started_by_tenant(self) -> bool:
        """Started in Restore Desk by a tenant user of this session's own organization; False for the
        provider's sessions (its staff in Restore Desk, or anyone in VB365 itself)."""
        if self.requested_by is None or self.organization_id is None:
            return False
        try:
            return bool(self.requested_by.profile.tenant_organization_id == self.organization_id)
        except ObjectDoesNotExist:
            return False


class RestoreSessionEvent(TimestampedModel):
    session = models.ForeignKey(RestoreSession, on_delete=models.CASCADE, related_name="events")
    upstream_id = models.UUIDField()
    type = models.CharField(max_length=32, blank=True)
    status = models.CharField(max_length=32, blank=True)
    title = models.CharField(max_length=512, blank=True)
    message = models.TextField(blank=True)
    order = models.IntegerField(default=0)
    start_time = models.DateTimeField(null=True, blank=True)
    end_time = models.DateTimeField(null=True, blank=True)
    duration = models.CharField(max_length=32, blank=True)
    item_name = models.CharField(max_length=1024, blank=True)
    item_type = models.CharField(max_length=64, blank=True)
    item_size_bytes = models.BigIntegerField(null=True, blank=True)
    source = models.CharField(max_length=1024, blank=True)
    target = models.CharField(max_length=1024, blank=True)
    raw = models.JSONField(default=dict, blank=True)
    fetched_at = models.DateTimeField()

    class Meta:
        ordering = ["session_id", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["session", "upstream_id"], name="unique_event_per_session"),
        ]

    def __str__(self) -> str:
        return self.title or self.message[:60]


class StartRequest(TimestampedModel):
    """One submission of the start form or `POST /api/sessions/`, kept whatever happens upstream.

    The (requested_by, key) pair is unique: a resubmitted form, a double click or an API retry with the same
    Idempotency-Key finds this row instead of starting a second session.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        STARTED = "started", "Started"
        FAILED = "failed", "Failed"

    key = models.CharField(max_length=128)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="start_requests")
    on_behalf_of = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="start_requests")
    workload = models.CharField(max_length=16, choices=Workload.choices)
    point_in_time = models.DateTimeField(null=True, blank=True)
    latest = models.BooleanField(default=False)
    restore_point_id = models.CharField(max_length=128, blank=True)
    show_deleted = models.BooleanField(default=False)
    show_all_versions = models.BooleanField(default=False)
    reason = models.TextField()
    scope = models.TextField(blank=True)
    ticket = models.CharField(max_length=128, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    error_kind = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    session = models.OneToOneField(RestoreSession, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="start_request")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["requested_by", "key"], name="unique_start_request_key"),
        ]

    def __str__(self) -> str:
        return f"start request {self.key} ({self.status})"


class SyncRun(TimestampedModel):
    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    full = models.BooleanField(default=False)
    since = models.DateTimeField(null=True, blank=True)
    # The newest upstream creation time seen; the next incremental run starts here, minus an overlap.
    watermark = models.DateTimeField(null=True, blank=True)
    seen = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    events = models.PositiveIntegerField(default=0)
    forgotten = models.PositiveIntegerField(default=0)
    # Progress while the run works: upstream pages read, and how many sessions VB365 said it would list (where
    # its paging says: a v1 array, a v6/v7 page's totalCount; None otherwise).
    pages_read = models.PositiveIntegerField(default=0)
    sessions_expected = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    # Bumped while the run works; a running row without a recent heartbeat belongs to a process that died.
    heartbeat_at = models.DateTimeField()

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            # The cross-process, cross-host lock: at most one running sync, enforced by the database.
            models.UniqueConstraint(fields=["status"], condition=models.Q(status="running"), name="one_running_sync"),
        ]

    def __str__(self) -> str:
        return f"sync {self.started_at:%Y-%m-%d %H:%M} ({self.status})"


class AuditAction(models.TextChoices):
    SIGN_IN = "sign_in", "Sign-in"
    SIGN_IN_FAILED = "sign_in_failed", "Sign-in failed"
    SIGN_OUT = "sign_out", "Sign-out"
    SESSION_START_ATTEMPT = "session_start_attempt", "Session start attempted"
    SESSION_START = "session_start", "Session started"
    SESSION_START_FAILED = "session_start_failed", "Session start failed"
    SESSION_STOP = "session_stop", "Session stopped"
    SESSION_STOP_FAILED = "session_stop_failed", "Session stop failed"
    GRANT_CHANGE = "grant_change", "Grant changed"
    ROLE_CHANGE = "role_change", "Role changed"
    EXPORT = "export", "Export"
    SYNC = "sync", "Sync run"
    ACCESS_DENIED = "access_denied", "Access denied"
    SIGN_IN_THROTTLED = "sign_in_throttled", "Sign-in throttled"
    USER_CREATE = "user_create", "User created"
    USER_CHANGE = "user_change", "User changed"
    USER_DELETE = "user_delete", "User deleted"
    PROFILE_CHANGE = "profile_change", "Profile changed"
    TOKEN_CREATE = "token_create", "API token created"
    TOKEN_REVOKE = "token_revoke", "API token revoked"
    AUDIT_KEY_CHANGE = "audit_key_change", "Audit key changed"
    BROWSE_OPEN = "browse_open", "Backup contents opened"
    JOB_CREATE = "job_create", "Item action requested"
    JOB_FINISH = "job_finish", "Item action finished"
    JOB_DOWNLOAD = "job_download", "File downloaded"
    JOB_FILE_PURGE = "job_file_purge", "Download file purged"
    APP_CREDENTIAL_CHANGE = "app_credential_change", "Application credentials changed"


class AuditOutcome(models.TextChoices):
    SUCCESS = "success", "Success"
    FAILURE = "failure", "Failure"
    DENIED = "denied", "Denied"


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise PermissionError("Audit events are append-only.")

    def delete(self) -> NoReturn:
        raise PermissionError("Audit events are append-only.")


class AuditEvent(models.Model):
    """One link of the append-only, HMAC-chained audit trail. Written only by services.audit."""

    sequence = models.PositiveBigIntegerField(unique=True)
    created_at = models.DateTimeField(db_index=True)
    # No database constraint: deleting a user must not touch (update) the trail.
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING,
                              db_constraint=False, related_name="+")
    actor_username = models.CharField(max_length=150, blank=True, db_index=True)
    on_behalf_of_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=32, choices=AuditAction.choices, db_index=True)
    outcome = models.CharField(max_length=16, choices=AuditOutcome.choices, default=AuditOutcome.SUCCESS)
    organization_id = models.CharField(max_length=64, blank=True, db_index=True)
    organization_name = models.CharField(max_length=255, blank=True)
    workload = models.CharField(max_length=16, blank=True)
    session_upstream_id = models.CharField(max_length=64, blank=True, db_index=True)
    reason = models.TextField(blank=True)
    scope = models.TextField(blank=True)
    ticket = models.CharField(max_length=128, blank=True)
    client_address = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)
    previous_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    # Which AUDIT_CHAIN_KEY signed `hash`: a public fingerprint of the key (services.audit.audit_key_id).
    key_id = models.CharField(max_length=16)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-sequence"]
        indexes = [models.Index(fields=["action", "-created_at"], name="audit_action_newest")]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action} by {self.actor_username or 'anonymous'}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise PermissionError("Audit events are append-only.")


class RefusalTally(models.Model):
    """Repeats of one refused request within the aggregation window (services.refusals).

    The first refusal of a window goes to the audit trail at once; its repeats are only counted here, and one
    summary event carries the count when the window has closed. Rows live for one window.
    """

    key = models.CharField(max_length=64, unique=True)
    # Who was refused: "user:<id>", or "address:<ip>" when nobody is signed in.
    who = models.CharField(max_length=100)
    operation = models.CharField(max_length=64)
    target = models.CharField(max_length=128, blank=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_username = models.CharField(max_length=150, blank=True)
    client_address = models.CharField(max_length=64, blank=True)
    organization = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    workload = models.CharField(max_length=16, blank=True)
    session_upstream_id = models.CharField(max_length=64, blank=True)
    why = models.CharField(max_length=255, blank=True)
    window_started_at = models.DateTimeField(db_index=True)
    repeats = models.PositiveIntegerField(default=0)
    last_repeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["who", "operation"], name="refusal_tally_who_operation")]

    def __str__(self) -> str:
        return f"{self.who} refused {self.operation} {self.target} (+{self.repeats})"


class ApiTokenKind(models.TextChoices):
    STAFF = "staff", "Staff or operator"
    TENANT = "tenant", "Tenant (ends with its VB365 sign-in)"


class ApiToken(models.Model):
    """One API token (`Authorization: Token <key>`). Written only by services.api_tokens.

    The key itself is never stored: only its SHA-256 and its first characters, so that neither a copy of the
    database nor the admin yields a token that signs in.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    kind = models.CharField(max_length=16, choices=ApiTokenKind.choices)
    # SHA-256, not a password hash: a key is 256 random bits, out of reach of any dictionary or brute force, so
    # a slow hash would add nothing but a slow lookup on every API call.
    key_hash = models.CharField(max_length=64, unique=True)
    # The key's first characters, for people to tell tokens apart; far too few to sign in with.
    prefix = models.CharField(max_length=16)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # A hint for people, updated at most once a minute (not a log of calls).
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "kind"], name="api_token_user_kind")]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.get_kind_display()})"
