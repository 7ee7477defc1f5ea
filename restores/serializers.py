"""What the jobs API reads and writes: the job request (validated into a JobSpec) and the job as it is shown.

The catalog (restores.actions) says which actions exist, which target fields each needs and which options it
takes; these serializers read it and restate none of it. Whether the action suits the session's workload, the
API version and the selected nodes is the job service's decision (it answers 400 with the reason).
"""
from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from restores.actions import ACTIONS
from restores.models import CredentialKind, JobState, RestoreJob
from restores.services.jobs import JobSpec
from sessions_app import exceptions
from sessions_app.api.serializers import ActiveUsernameField, UtcDateTimeField
from sessions_app.upstream.restore_types import RestoreCredentials

MAX_NODES = 500
REASON_MAX_LENGTH = 2000
# The spelling the upstream layer takes (sessions_app/upstream/restores.py); any case is accepted.
OPTION_CHOICES: dict[str, tuple[str, ...]] = {"document_action": ("Overwrite", "Keep"),
                                              "document_version": ("Last", "All")}
BOOLEAN_OPTIONS = ("changed_items", "deleted_items", "mark_restored_as_unread", "restore_permissions",
                   "restore_changed_items", "restore_missing_items")
PST_LIMIT_MIN = 1_000_000_000        # BROWSE-RESTORE.md §2: pstSizeLimitBytes 1 GB to 49 GB
PST_LIMIT_MAX = 49_000_000_000


def job_spec(*, action: str, nodes: list[str], reason: str, target: dict[str, str], options: dict[str, Any],
             credential_kind: str, user_name: str = "", password: str = "", user_code: str = "",
             ticket: str = "", on_behalf_of: Any = None, idempotency_key: str = "") -> JobSpec:
    """The one JobSpec the page form and the API both build. Credentials live in the spec only (never in a
    job, the audit trail or a log): the organization's application credentials are the service's to unseal."""
    credentials = None
    if credential_kind == CredentialKind.PASSWORD:
        credentials = RestoreCredentials(user_name=user_name, password=password)
    elif credential_kind == CredentialKind.DEVICE_CODE:
        credentials = RestoreCredentials(user_code=user_code)
    return JobSpec(action=action, node_ids=tuple(nodes), reason=reason, target=dict(target), options=dict(options),
                   credentials=credentials, credential_kind=credential_kind, on_behalf_of=on_behalf_of,
                   ticket=ticket, idempotency_key=idempotency_key)


def option_names() -> list[str]:
    """Every option the catalog knows, in catalog order."""
    names: list[str] = []
    for action in ACTIONS.values():
        names.extend(name for name in action.option_fields if name not in names)
    return names


def target_names() -> list[str]:
    names: list[str] = []
    for action in ACTIONS.values():
        names.extend(name for name in action.target_fields if name not in names)
    return names


def option_value(name: str, value: Any) -> Any:
    """An option's value as the job service takes it; ValueError with the reason for anything else."""
    if name in BOOLEAN_OPTIONS:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "on", "1", "0", ""):
            return value.lower() in ("true", "on", "1")
        raise ValueError("Give true or false.")
    if name in OPTION_CHOICES:
        spelled = {choice.lower(): choice for choice in OPTION_CHOICES[name]}
        if str(value).lower() not in spelled:
            raise ValueError(f"Give one of: {', '.join(OPTION_CHOICES[name])}.")
        return spelled[str(value).lower()]
    if name == "pst_size_limit_bytes":
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ValueError("Give a whole number of bytes.") from None
        if isinstance(value, bool) or not PST_LIMIT_MIN <= number <= PST_LIMIT_MAX:
            raise ValueError(f"Give a size from {PST_LIMIT_MIN:,} to {PST_LIMIT_MAX:,} bytes (1 GB to 49 GB).")
        return number
    return value


@extend_schema_serializer(component_name="JobCredentials")
class CredentialsSerializer(serializers.Serializer[Any]):
    """Microsoft 365 credentials for a restore: used for this job only, never stored or logged."""

    kind = serializers.ChoiceField(choices=[(kind.value, kind.label) for kind in CredentialKind
                                            if kind != CredentialKind.NONE])
    user_name = serializers.CharField(max_length=254, required=False, allow_blank=True, default="",
                                      help_text="`password`: the Microsoft 365 account.")
    password = serializers.CharField(max_length=256, required=False, allow_blank=True, default="",
                                     trim_whitespace=False, write_only=True, style={"input_type": "password"})
    user_code = serializers.CharField(max_length=64, required=False, allow_blank=True, default="",
                                      help_text="`device_code`: the code from `POST …/device-code/`, once approved.")



@extend_schema_serializer(component_name="JobCreate")
class JobCreateSerializer(serializers.Serializer[Any]):
    action = serializers.ChoiceField(choices=[(name, action.label) for name, action in ACTIONS.items()])
    nodes = serializers.ListField(child=serializers.CharField(max_length=8000), min_length=1, max_length=MAX_NODES,
                                  help_text="Entry ids from the browse API, all in one mailbox, drive, site or team.")
    reason = serializers.CharField(max_length=REASON_MAX_LENGTH, error_messages={
        "required": exceptions.REASON_REQUIRED, "blank": exceptions.REASON_REQUIRED})
    target = serializers.DictField(child=serializers.CharField(max_length=1024, allow_blank=True), required=False,
                                   default=dict, help_text=f"By action: {', '.join(target_names())}.")
    options = serializers.DictField(child=serializers.JSONField(), required=False, default=dict,
                                    help_text=f"By action: {', '.join(option_names())}.")
    credentials = CredentialsSerializer(required=False, allow_null=True, default=None,
                                        help_text="Restores only: saves and exports need none.")
    ticket = serializers.CharField(max_length=128, required=False, allow_blank=True, default="",
                                   help_text="Required with `on_behalf_of`.")
    on_behalf_of = ActiveUsernameField(required=False, allow_null=True, default=None,
                                       help_text="Username of the person the job is for (helpdesk).")

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        """Option values in the types the job service takes. Which targets, options and credentials the action
        needs is the service's rule (it answers 400 naming the field)."""
        options: dict[str, Any] = {}
        errors: dict[str, list[str]] = {}
        for name, value in data["options"].items():
            try:
                options[name] = option_value(name, value)
            except ValueError as exc:
                errors[f"options.{name}"] = [str(exc)]
        if errors:
            raise serializers.ValidationError(errors)
        return {**data, "target": {key: value.strip() for key, value in data["target"].items()}, "options": options}

    def spec(self, *, idempotency_key: str) -> JobSpec:
        data = self.validated_data
        credentials = data["credentials"] or {}
        return job_spec(action=data["action"], nodes=data["nodes"], reason=data["reason"], target=data["target"],
                        options=data["options"], credential_kind=credentials.get("kind", CredentialKind.NONE),
                        user_name=credentials.get("user_name", ""), password=credentials.get("password", ""),
                        user_code=credentials.get("user_code", ""), ticket=data["ticket"],
                        on_behalf_of=data["on_behalf_of"], idempotency_key=idempotency_key)


@extend_schema_serializer(component_name="DeviceCode")
class DeviceCodeSerializer(serializers.Serializer[Any]):
    user_code = serializers.CharField(help_text="Type it at the verification address, signed in to Microsoft 365.")
    verification_url = serializers.CharField()
    expires_in = serializers.IntegerField(help_text="Seconds the code stays valid.")
    message = serializers.CharField()


@extend_schema_serializer(component_name="JobCounts")
class CountsSerializer(serializers.Serializer[Any]):
    total = serializers.IntegerField(allow_null=True, help_text="Items in the job, once VB365 has said.")
    succeeded = serializers.IntegerField()
    failed = serializers.IntegerField()
    skipped = serializers.IntegerField()
    warnings = serializers.IntegerField()
    bytes = serializers.IntegerField(help_text="Bytes written so far (downloads) or restored.")
    bytes_total = serializers.IntegerField(allow_null=True)


@extend_schema_serializer(component_name="JobItem")
class ItemOutcomeSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(allow_blank=True)
    path = serializers.CharField(allow_blank=True)
    type = serializers.CharField(allow_blank=True)
    status = serializers.ChoiceField(choices=["success", "warning", "failed", "skipped"])
    error = serializers.CharField(allow_blank=True)
    warnings = serializers.ListField(child=serializers.CharField())


@extend_schema_serializer(component_name="JobSelectionEntry")
class SelectionEntrySerializer(serializers.Serializer[Any]):
    node = serializers.CharField(help_text="The entry's id, as sent.")
    kind = serializers.CharField(allow_blank=True)
    name = serializers.CharField(allow_blank=True, help_text="The mailbox, drive, site or team the entry is in.")


@extend_schema_serializer(component_name="JobFile")
class FileSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    size = serializers.IntegerField(allow_null=True)
    sha256 = serializers.CharField(allow_blank=True)
    content_type = serializers.CharField(allow_blank=True)
    expires_at = UtcDateTimeField(allow_null=True)
    purged = serializers.BooleanField(help_text="True once the file was removed (retention ended).")


def download_ready(job: RestoreJob) -> bool:
    """The job's file is there to download: written, checked and not yet expired or purged."""
    return bool(job.file_path and job.file_size is not None and job.file_purged_at is None
                and (job.file_expires_at is None or job.file_expires_at > timezone.now()))


def counts_of(job: RestoreJob) -> dict[str, Any]:
    return {"total": job.total_count, "succeeded": job.succeeded_count, "failed": job.failed_count,
            "skipped": job.skipped_count, "warnings": job.warning_count, "bytes": job.bytes_done,
            "bytes_total": job.bytes_total}


def item_outcomes(job: RestoreJob) -> list[dict[str, Any]]:
    """The stored outcomes, each with every key (older rows may lack some)."""
    rows = job.item_outcomes if isinstance(job.item_outcomes, list) else []
    return [{"name": str(row.get("name") or ""), "path": str(row.get("path") or ""),
             "type": str(row.get("type") or row.get("item_type") or ""), "status": str(row.get("status") or ""),
             "error": str(row.get("error") or ""), "warnings": [str(each) for each in row.get("warnings") or []]}
            for row in rows if isinstance(row, dict)]


@extend_schema_serializer(component_name="Job")
class JobOutputSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField(source="public_id")
    state = serializers.ChoiceField(choices=JobState.choices)
    action = serializers.ChoiceField(choices=[(name, action.label) for name, action in ACTIONS.items()])
    action_label = serializers.SerializerMethodField()
    workload = serializers.CharField()
    reason = serializers.CharField()
    ticket = serializers.CharField(allow_blank=True)
    session = serializers.UUIDField(source="session.upstream_id")
    organization = serializers.SerializerMethodField()
    requested_by = serializers.CharField(source="requested_by.username")
    on_behalf_of = serializers.SerializerMethodField()
    selection = serializers.SerializerMethodField()
    target = serializers.DictField(child=serializers.CharField(allow_blank=True))
    options = serializers.DictField(child=serializers.JSONField())
    credential_kind = serializers.ChoiceField(choices=CredentialKind.choices)
    counts = serializers.SerializerMethodField()
    items = serializers.SerializerMethodField()
    message = serializers.CharField(allow_blank=True, help_text="The outcome in words, or what to check.")
    created_at = UtcDateTimeField()
    started_at = UtcDateTimeField(allow_null=True)
    finished_at = UtcDateTimeField(allow_null=True)
    progress_at = UtcDateTimeField(allow_null=True, help_text="When the counts last moved.")
    file = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField(help_text="Null until the file is ready, and after it expires.")
    url = serializers.SerializerMethodField()

    def get_action_label(self, job: RestoreJob) -> str:
        action = ACTIONS.get(job.action)
        return action.label if action else job.action

    @extend_schema_field({"type": "string", "nullable": True})
    def get_organization(self, job: RestoreJob) -> str | None:
        organization = job.organization or job.session.organization
        return organization.name if organization else (job.session.organization_name or None)

    @extend_schema_field({"type": "string", "nullable": True})
    def get_on_behalf_of(self, job: RestoreJob) -> str | None:
        return job.on_behalf_of.username if job.on_behalf_of else None

    @extend_schema_field(SelectionEntrySerializer(many=True))
    def get_selection(self, job: RestoreJob) -> list[dict[str, Any]]:
        rows = job.selection if isinstance(job.selection, list) else []
        return [{"node": str(row.get("node", "")), "kind": str(row.get("kind", "")), "name": str(row.get("name", ""))}
                for row in rows if isinstance(row, dict)]

    @extend_schema_field(CountsSerializer)
    def get_counts(self, job: RestoreJob) -> dict[str, Any]:
        return counts_of(job)

    @extend_schema_field(ItemOutcomeSerializer(many=True))
    def get_items(self, job: RestoreJob) -> list[dict[str, Any]]:
        return item_outcomes(job)

    @extend_schema_field(FileSerializer(allow_null=True))
    def get_file(self, job: RestoreJob) -> dict[str, Any] | None:
        if not job.file_name:
            return None
        return dict(FileSerializer({"name": job.file_name, "size": job.file_size, "sha256": job.file_sha256,
                                    "content_type": job.file_content_type, "expires_at": job.file_expires_at,
                                    "purged": job.file_purged_at is not None}).data)

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_download_url(self, job: RestoreJob) -> str | None:
        if not download_ready(job):
            return None
        return self._absolute(reverse("restores_api:job-download", args=[job.public_id]))

    @extend_schema_field({"type": "string", "format": "uri"})
    def get_url(self, job: RestoreJob) -> str:
        return self._absolute(reverse("restores_api:job-detail", args=[job.public_id]))

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path
