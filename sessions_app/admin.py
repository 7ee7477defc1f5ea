"""Django admin: inspection of cached and audit records, and management of people and grants.

Upstream state and the audit trail are read-only here; grant changes go through the accounts service so
that they are audited.
"""
from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest

from sessions_app.models import (
    AccessGrant,
    AuditEvent,
    Organization,
    RestoreSession,
    RestoreSessionEvent,
    StartRequest,
    SyncRun,
    UserProfile,
)
from sessions_app.services import accounts


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Organization)
class OrganizationAdmin(ReadOnlyAdmin):
    list_display = ("name", "upstream_id", "is_backed_up", "first_backup", "last_backup", "fetched_at")
    search_fields = ("name", "upstream_id")
    list_filter = ("is_backed_up",)


@admin.register(RestoreSession)
class RestoreSessionAdmin(ReadOnlyAdmin):
    list_display = ("upstream_id", "organization_name", "workload", "state", "result", "creation_time",
                    "requested_by", "origin")
    list_filter = ("state", "result", "workload", "origin")
    search_fields = ("upstream_id", "organization_name", "reason", "scope", "initiated_by")
    list_select_related = ("requested_by",)
    date_hierarchy = "creation_time"


@admin.register(RestoreSessionEvent)
class RestoreSessionEventAdmin(ReadOnlyAdmin):
    list_display = ("session", "order", "type", "status", "title", "start_time")
    list_select_related = ("session",)
    search_fields = ("title", "message", "item_name")


@admin.register(StartRequest)
class StartRequestAdmin(ReadOnlyAdmin):
    list_display = ("key", "requested_by", "organization", "workload", "status", "error_kind", "created_at")
    list_filter = ("status", "workload")
    list_select_related = ("requested_by", "organization")


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = ("started_at", "status", "full", "seen", "created", "updated", "events", "forgotten")
    list_filter = ("status",)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("sequence", "created_at", "actor_username", "action", "outcome", "organization_name",
                    "workload", "session_upstream_id")
    list_filter = ("action", "outcome", "workload")
    search_fields = ("actor_username", "reason", "scope", "session_upstream_id")
    date_hierarchy = "created_at"

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        return {}


@admin.register(AccessGrant)
class AccessGrantAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("user", "organization", "workload", "created_at")
    list_filter = ("workload", "organization")
    list_select_related = ("user", "organization")
    search_fields = ("user__username", "organization__name")

    def save_model(self, request: HttpRequest, obj: AccessGrant, form: Any, change: bool) -> None:
        if change:
            accounts.grant_revoke(grant=AccessGrant.objects.get(pk=obj.pk), actor=request.user)
        grant = accounts.grant_add(user=obj.user, organization=obj.organization, workload=obj.workload,
                                   actor=request.user)
        obj.pk = grant.pk

    def delete_model(self, request: HttpRequest, obj: AccessGrant) -> None:
        accounts.grant_revoke(grant=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for grant in queryset:
            accounts.grant_revoke(grant=grant, actor=request.user)


@admin.register(UserProfile)
class UserProfileAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("user", "time_zone", "tenant_organization")
    list_select_related = ("user", "tenant_organization")


class PortalUserAdmin(UserAdmin):
    """Django's user admin; a change of a user's portal role (their groups) goes to the audit trail."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        user = form.instance
        before = set(user.groups.values_list("name", flat=True)) if change else set()
        super().save_related(request, form, formsets, change)
        after = set(user.groups.values_list("name", flat=True))
        if before != after:
            accounts.role_change_record(user=user, before=sorted(before), after=sorted(after), actor=request.user)


admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), PortalUserAdmin)
