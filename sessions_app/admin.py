"""Django admin: inspection of cached and audit records, and management of people and grants.

Upstream state and the audit trail are read-only here. Everything done to people (users, their flags,
groups and permissions, groups themselves, grants, tenant bindings) goes through services.people and
services.accounts, which write the change and its audit event (with before and after) together.
"""
from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.db import transaction
from django.http import HttpRequest, HttpResponse

from sessions_app.http import client_address
from sessions_app.models import (
    AccessGrant,
    ApiToken,
    AuditEvent,
    Organization,
    RestoreSession,
    RestoreSessionEvent,
    StartRequest,
    SyncRun,
    UserProfile,
)
from sessions_app.services import accounts, api_tokens, people


class ReadOnlyAdmin(admin.ModelAdmin):
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
    list_display = ("upstream_id", "organization_name", "workload", "state", "result_shown", "creation_time",
                    "requested_by", "origin")
    list_filter = ("state", "result", "workload", "origin")
    search_fields = ("upstream_id", "organization_name", "reason", "scope", "initiated_by")
    list_select_related = ("requested_by",)
    date_hierarchy = "creation_time"

    @admin.display(description="Result", ordering="result")
    def result_shown(self, obj: RestoreSession) -> str:
        # A working session has no result yet, whatever VB365 sent while it worked.
        return "Working (no result yet)" if obj.is_working else obj.get_result_display() or "—"


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
class AccessGrantAdmin(admin.ModelAdmin):
    list_display = ("user", "organization", "workload", "created_at")
    list_filter = ("workload", "organization")
    list_select_related = ("user", "organization")
    search_fields = ("user__username", "organization__name")

    def save_model(self, request: HttpRequest, obj: AccessGrant, form: Any, change: bool) -> None:
        if change:
            accounts.grant_revoke(grant=AccessGrant.objects.get(pk=obj.pk), actor=request.user,
                                  client_address=client_address(request))
        grant = accounts.grant_add(user=obj.user, organization=obj.organization, workload=obj.workload,
                                   actor=request.user, client_address=client_address(request))
        obj.pk = grant.pk

    def delete_model(self, request: HttpRequest, obj: AccessGrant) -> None:
        accounts.grant_revoke(grant=obj, actor=request.user, client_address=client_address(request))

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for grant in queryset.select_related("user", "organization"):
            accounts.grant_revoke(grant=grant, actor=request.user, client_address=client_address(request))


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """Tokens by prefix, kind and lifetime; never a key (only its hash is stored, and not shown either).
    New tokens come from `portal_user token` or the API; here they can only be revoked."""

    list_display = ("prefix", "user", "kind", "created_at", "expires_at", "revoked_at", "last_used_at")
    list_filter = ("kind",)
    list_select_related = ("user",)
    search_fields = ("user__username", "prefix")
    fields = ("prefix", "user", "kind", "created_at", "expires_at", "revoked_at", "last_used_at")
    readonly_fields = fields
    actions = ["revoke"]

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        revoked = sum(api_tokens.api_token_revoke(token=token, actor=request.user, why="revoked in the admin")
                      for token in queryset.select_related("user"))
        self.message_user(request, f"{revoked} token{'s' if revoked != 1 else ''} revoked.")


@admin.register(UserProfile)
class UserProfileAdmin(admin.ModelAdmin):
    """A profile's tenant organization makes its user a tenant of that organization: every change is audited."""

    list_display = ("user", "time_zone", "tenant_organization")
    list_select_related = ("user", "tenant_organization")

    def save_model(self, request: HttpRequest, obj: UserProfile, form: Any, change: bool) -> None:
        people.profile_save(profile=obj, actor=request.user, client_address=client_address(request))

    def delete_model(self, request: HttpRequest, obj: UserProfile) -> None:
        people.profile_delete(profile=obj, actor=request.user, client_address=client_address(request))

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for profile in queryset.select_related("user", "tenant_organization"):
            people.profile_delete(profile=profile, actor=request.user, client_address=client_address(request))


class PortalUserAdmin(UserAdmin):
    """Django's user admin. Creation, deletion, the active/staff/superuser flags, the password, groups (portal
    roles) and direct permissions go to the audit trail with before and after (services.people)."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        people.user_save(user=obj, actor=request.user, client_address=client_address(request))

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        people.user_relations_save(user=form.instance, save=lambda: super(PortalUserAdmin, self).save_related(
            request, form, formsets, change), actor=request.user, client_address=client_address(request))

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        people.user_delete(user=obj, actor=request.user, client_address=client_address(request))

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for user in queryset:
            people.user_delete(user=user, actor=request.user, client_address=client_address(request))

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        # Django's password form saves the user itself, past save_model: compare the stored hash around it.
        user = self.get_object(request, unquote(id))
        with transaction.atomic():
            response = super().user_change_password(request, id, form_url)
            if user is not None:
                before = user.password
                user.refresh_from_db(fields=["password"])
                if user.password != before:
                    people.user_password_changed(user=user, actor=request.user,
                                                 client_address=client_address(request))
        return response


class PortalGroupAdmin(GroupAdmin):
    """Group names are portal roles: a rename, a permission change or a deletion changes what every member
    may do, so each is audited (services.people)."""

    def save_model(self, request: HttpRequest, obj: Group, form: Any, change: bool) -> None:
        people.group_save(group=obj, actor=request.user, client_address=client_address(request))

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        people.group_permissions_save(group=form.instance, save=lambda: super(PortalGroupAdmin, self).save_related(
            request, form, formsets, change), actor=request.user, client_address=client_address(request))

    def delete_model(self, request: HttpRequest, obj: Group) -> None:
        people.group_delete(group=obj, actor=request.user, client_address=client_address(request))

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for group in queryset:
            people.group_delete(group=group, actor=request.user, client_address=client_address(request))


admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), PortalUserAdmin)
admin.site.unregister(Group)
admin.site.register(Group, PortalGroupAdmin)
