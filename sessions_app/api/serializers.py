"""Serializers shared by several API views: the error envelope and the output shapes of the main entities.

Single-use input serializers stay nested in their view (STYLE §31). Every time is rendered in UTC.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from sessions_app import selectors
from sessions_app.models import (
    Organization,
    RestoreSession,
    SessionOrigin,
    SessionResult,
    SessionState,
    Workload,
)

POINT_LATEST = "latest"


class UtcDateTimeField(serializers.DateTimeField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("default_timezone", timezone.utc)
        super().__init__(**kwargs)


class NullableChoiceField(serializers.ChoiceField):
    """A choice whose unknown value (stored as "") is rendered as null."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> Any:
        return None if value in ("", None) else super().to_representation(value)


@extend_schema_field({
    "oneOf": [
        {"type": "string", "enum": [POINT_LATEST]},
        {"type": "string", "format": "date-time"},
    ],
    "description": '"latest" for the latest backup, or an ISO 8601 moment (with `Z` or an offset; naive means UTC).',
})
class PointInTimeField(serializers.Field):
    """"latest" → None; an ISO 8601 string → an aware UTC datetime."""

    default_error_messages = {
        "invalid": 'Give "latest" or an ISO 8601 date and time, e.g. 2025-01-31T17:00:00Z.',
        "range": "This moment is out of range.",
    }

    def to_internal_value(self, data: Any) -> datetime | None:
        if not isinstance(data, str):
            self.fail("invalid")
        text = data.strip()
        if text.lower() == POINT_LATEST:
            return None
        try:
            moment = parse_datetime(text)
        except ValueError:
            moment = None
        if moment is None:
            self.fail("invalid")
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        try:
            return moment.astimezone(timezone.utc)
        except OverflowError:
            self.fail("range")
        raise AssertionError("unreachable")

    def to_representation(self, value: datetime | None) -> str:
        return POINT_LATEST if value is None else serializers.DateTimeField(
            default_timezone=timezone.utc).to_representation(value)


class ErrorSerializer(serializers.Serializer):
    """The one error shape: field errors are under `extra.fields` ({"field": ["message", ...]})."""

    message = serializers.CharField()
    code = serializers.CharField()
    extra = serializers.DictField(child=serializers.JSONField())


class OrganizationOutputSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="upstream_id")
    first_backup = UtcDateTimeField(allow_null=True)
    last_backup = UtcDateTimeField(allow_null=True)

    class Meta:
        model = Organization
        fields = ["id", "name", "is_backed_up", "first_backup", "last_backup"]
        read_only_fields = fields


class RestorePointOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    backup_time = UtcDateTimeField()
    workloads = serializers.ListField(child=serializers.ChoiceField(choices=Workload.choices))
    is_long_term_copy = serializers.BooleanField()


class SessionOrganizationSerializer(serializers.Serializer):
    id = serializers.UUIDField(allow_null=True, help_text="Upstream id; null when the organization is unknown here.")
    name = serializers.CharField()


NOT_FOR_TENANTS = " Not sent to tenants."


class RestoreSessionOutputSerializer(serializers.Serializer):
    """A session as the provider's people see it. Tenants get TenantRestoreSessionOutputSerializer: the same
    shape without the fields marked "Not sent to tenants" (hence optional in the schema)."""

    id = serializers.UUIDField(source="upstream_id", help_text="The upstream (VB365) session id.")
    organization = serializers.SerializerMethodField()
    workload = serializers.ChoiceField(choices=Workload.choices)
    point_in_time = serializers.SerializerMethodField()
    requested_latest = serializers.BooleanField(help_text="True when the session was asked for the latest backup.")
    state = serializers.ChoiceField(choices=SessionState.choices)
    result = NullableChoiceField(choices=SessionResult.choices, help_text="null while unknown.")
    name = serializers.CharField()
    initiated_by = serializers.CharField(required=False,
                                         help_text="The VB365 account that started it." + NOT_FOR_TENANTS)
    started_by_tenant = serializers.BooleanField(
        help_text="True when a tenant user of the organization started it in Restore Desk; false for the provider's.")
    requested_by = serializers.SerializerMethodField()
    on_behalf_of = serializers.CharField(
        source="on_behalf_of.username", allow_null=True, required=False,
        help_text="Portal username of the person it was started for." + NOT_FOR_TENANTS)
    reason = serializers.SerializerMethodField()
    scope = serializers.CharField()
    ticket = serializers.CharField(required=False, help_text=NOT_FOR_TENANTS.strip())
    scope_name = serializers.CharField(required=False, help_text="VB365's scope name." + NOT_FOR_TENANTS)
    client_host = serializers.CharField(required=False,
                                        help_text="Where VB365 saw the start come from." + NOT_FOR_TENANTS)
    details = serializers.CharField()
    created_at = UtcDateTimeField(source="creation_time")
    ended_at = UtcDateTimeField(source="end_time", allow_null=True)
    origin = serializers.ChoiceField(choices=SessionOrigin.choices)
    fetched_at = UtcDateTimeField(help_text="When Restore Desk last read this session from VB365.")

    @extend_schema_field(SessionOrganizationSerializer)
    def get_organization(self, session: RestoreSession) -> dict[str, Any]:
        organization = session.organization
        return {
            "id": str(organization.upstream_id) if organization else None,
            "name": organization.name if organization else session.organization_name,
        }

    @extend_schema_field(UtcDateTimeField(allow_null=True, help_text="null for the latest backup or when unknown."))
    def get_point_in_time(self, session: RestoreSession) -> str | None:
        moment = session.requested_point_in_time or session.upstream_point_in_time
        return None if moment is None else UtcDateTimeField().to_representation(moment)

    @extend_schema_field(serializers.CharField(allow_null=True, help_text=(
        "Portal username; null for upstream sessions, and for tenants on the provider's sessions.")))
    def get_requested_by(self, session: RestoreSession) -> str | None:
        return session.requested_by.get_username() if session.requested_by else None

    @extend_schema_field(serializers.CharField(help_text="Empty for tenants on the provider's sessions."))
    def get_reason(self, session: RestoreSession) -> str:
        return session.reason or session.upstream_reason


class TenantRestoreSessionOutputSerializer(RestoreSessionOutputSerializer):
    """A session as a tenant sees it: of the provider's sessions in its organization only when, which
    workload, point in time and state; requester, reason and scope only of its own users' sessions."""

    # DRF drops a parent's declared field that a subclass sets to None, and lets a subclass redeclare a field with
    # another kind; mypy sees only a class attribute changing type, hence the ignores.
    initiated_by = None  # type: ignore[assignment]
    on_behalf_of = None  # type: ignore[assignment]
    ticket = None  # type: ignore[assignment]
    scope_name = None  # type: ignore[assignment]
    client_host = None  # type: ignore[assignment]
    scope = serializers.SerializerMethodField()  # type: ignore[assignment]

    def get_requested_by(self, session: RestoreSession) -> str | None:
        return super().get_requested_by(session) if session.started_by_tenant else None

    def get_reason(self, session: RestoreSession) -> str:
        return super().get_reason(session) if session.started_by_tenant else ""

    def get_scope(self, session: RestoreSession) -> str:
        return session.scope if session.started_by_tenant else ""


def restore_session_serializer_for(user: Any) -> type[RestoreSessionOutputSerializer]:
    """The session shape this user may see (selectors.sees_provider_fields)."""
    if selectors.sees_provider_fields(user):
        return RestoreSessionOutputSerializer
    return TenantRestoreSessionOutputSerializer


_SHARED_SESSION_SERIALIZERS: dict[type[RestoreSessionOutputSerializer], RestoreSessionOutputSerializer] = {}


def restore_session_data(user: Any, session: RestoreSession) -> dict[str, Any]:
    """One session in the shape this user may see, for an answer about that session.

    One serializer of each shape serves every request: DRF builds an instance's fields by deep-copying the
    declared ones, which costs more than writing the answer, and these serializers keep nothing between
    calls (no context, no validation state), so a shared instance with its fields built once is safe.
    """
    shape = restore_session_serializer_for(user)
    serializer = _SHARED_SESSION_SERIALIZERS.get(shape)
    if serializer is None:
        serializer = shape()
        serializer.fields  # noqa: B018 - built before it is shared between threads
        _SHARED_SESSION_SERIALIZERS[shape] = serializer
    return serializer.to_representation(session)


class RestoreSessionEventOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="upstream_id")
    order = serializers.IntegerField()
    type = serializers.CharField()
    status = serializers.CharField()
    title = serializers.CharField()
    message = serializers.CharField()
    start_time = UtcDateTimeField(allow_null=True)
    end_time = UtcDateTimeField(allow_null=True)
    duration = serializers.CharField()
    item_name = serializers.CharField()
    item_type = serializers.CharField()
    item_size_bytes = serializers.IntegerField(allow_null=True)
    # The event's "source" key. DRF's metaclass moves declared fields off the class, so this does not replace
    # Field.source (the serializer's own source attribute, str | None) at run time; mypy cannot know that.
    source = serializers.CharField()  # type: ignore[assignment]
    target = serializers.CharField()


class ActiveUsernameField(serializers.SlugRelatedField):
    """An active user, by username. NUL characters are refused before the lookup (PostgreSQL rejects them)."""

    def __init__(self, **kwargs: Any) -> None:
        # DRF builds its fields anew for every serializer: the manager here costs nothing, the active users
        # are filtered only when a value is looked up (get_queryset).
        super().__init__(slug_field="username", queryset=get_user_model().objects, **kwargs)

    def get_queryset(self) -> QuerySet[Any]:
        return get_user_model().objects.filter(is_active=True)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str) and "\x00" in data:
            self.fail("invalid")
        return super().to_internal_value(data)
