"""What is done to people, in the audit trail with before and after.

Users (created, deleted, their flags, password and direct permissions: USER_CREATE, USER_DELETE, USER_CHANGE),
their groups, which are their portal roles (ROLE_CHANGE, also for changes of a group itself), and tenant
bindings (PROFILE_CHANGE). Access grants are audited by services.accounts in the same shape.

The Django admin and `portal_user` (through services.accounts) write through these functions: each compares
with what the database held before, writes the change and its event in one transaction, and writes nothing
when nothing changed. Details are {"user": name, "before": {...}, "after": {...}} with the fields that changed;
passwords are never recorded, only that one was changed.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, User
from django.db import transaction

from sessions_app.models import AccessGrant, AuditAction, Organization, UserProfile
from sessions_app.services.audit import audit_event_record

Actor = AbstractBaseUser | AnonymousUser | None
FLAGS = ("username", "is_active", "is_staff", "is_superuser")
# What a user without a profile has: the state a new profile is compared with, and a deleted one ends in.
NO_PROFILE = {"tenant_organization": None, "time_zone": ""}


def user_flags(user: User) -> dict[str, Any]:
    return {name: getattr(user, name) for name in FLAGS}


def user_relations(user: User) -> dict[str, list[str]]:
    """The user's groups (portal roles) and direct permissions, as stored."""
    if user.pk is None:
        return {"groups": [], "permissions": []}
    permissions = user.user_permissions.values_list("content_type__app_label", "codename")
    return {"groups": sorted(user.groups.values_list("name", flat=True)),
            "permissions": sorted(f"{app}.{codename}" for app, codename in permissions)}


def user_save(*, user: User, actor: Actor, client_address: str = "") -> None:
    """Save a user an administrator created or changed: USER_CREATE with its flags, or USER_CHANGE with the
    flags that changed (and whether the password did)."""
    stored = type(user).objects.filter(pk=user.pk).first() if user.pk is not None else None
    with transaction.atomic():
        user.save()
        if stored is None:
            _record(AuditAction.USER_CREATE, name=user.get_username(), before={}, after=user_flags(user), actor=actor,
                    client_address=client_address)
        else:
            password_changed = stored.password != user.password
            change_record(AuditAction.USER_CHANGE, user=user, before=user_flags(stored), after=user_flags(user),
                          actor=actor, client_address=client_address,
                          extra={"password_changed": True} if password_changed else None)


def user_relations_save(*, user: User, save: Callable[[], None], actor: Actor,
                        client_address: str = "") -> None:
    """Run `save` (the admin form's many-to-many save) and record what it changed: groups as ROLE_CHANGE,
    direct permissions as USER_CHANGE."""
    before = user_relations(user)
    with transaction.atomic():
        save()
        after = user_relations(user)
        change_record(AuditAction.ROLE_CHANGE, user=user, before={"groups": before["groups"]},
                      after={"groups": after["groups"]}, actor=actor, client_address=client_address)
        change_record(AuditAction.USER_CHANGE, user=user, before={"permissions": before["permissions"]},
                      after={"permissions": after["permissions"]}, actor=actor, client_address=client_address)


def user_password_changed(*, user: User, actor: Actor, client_address: str = "") -> None:
    """Record that an administrator set a user's password (never the password itself)."""
    _record(AuditAction.USER_CHANGE, name=user.get_username(), before={}, after={}, actor=actor,
            client_address=client_address, extra={"password_changed": True})


def user_delete(*, user: User, actor: Actor, client_address: str = "") -> None:
    """Delete a user; USER_DELETE keeps what they were: flags, groups, permissions, grants, tenant binding."""
    before = {**user_flags(user), **user_relations(user), "grants": _grants_of(user),
              **_profile_state(UserProfile.objects.filter(user=user).first())}
    name = user.get_username()
    with transaction.atomic():
        user.delete()
        _record(AuditAction.USER_DELETE, name=name, before=before, after={}, actor=actor,
                client_address=client_address)


def profile_save(*, profile: UserProfile, actor: Actor, client_address: str = "") -> None:
    """Save a profile an administrator created or changed: PROFILE_CHANGE when its tenant binding or time
    zone changed. The event names the organization the user is bound to (or was, when unbound)."""
    stored = UserProfile.objects.filter(pk=profile.pk).first() if profile.pk is not None else None
    before = _profile_state(stored)
    with transaction.atomic():
        profile.save()
        change_record(AuditAction.PROFILE_CHANGE, user=profile.user, before=before, after=_profile_state(profile),
                      actor=actor, client_address=client_address,
                      organization=profile.tenant_organization or (stored.tenant_organization if stored else None))


def profile_delete(*, profile: UserProfile, actor: Actor, client_address: str = "") -> None:
    """Delete a profile (which unbinds a tenant user); PROFILE_CHANGE says what it held."""
    before = _profile_state(profile)
    user, organization = profile.user, profile.tenant_organization
    with transaction.atomic():
        profile.delete()
        change_record(AuditAction.PROFILE_CHANGE, user=user, before=before, after=NO_PROFILE, actor=actor,
                      client_address=client_address, organization=organization, extra={"profile_deleted": True})


def group_save(*, group: Group, actor: Actor, client_address: str = "") -> None:
    """Save a group an administrator created or renamed. Group names are portal roles, so renaming one
    changes the role of every member: ROLE_CHANGE with the name before and after and the members."""
    stored = Group.objects.filter(pk=group.pk).first() if group.pk is not None else None
    with transaction.atomic():
        group.save()
        before = {"name": stored.name} if stored else {"name": None}
        if before["name"] != group.name:
            _record(AuditAction.ROLE_CHANGE, name="", before=before, after={"name": group.name}, actor=actor,
                    client_address=client_address, extra={"group": group.name, "members": _members(group)})


def group_permissions_save(*, group: Group, save: Callable[[], None], actor: Actor, client_address: str = "") -> None:
    """Run `save` (the group form's many-to-many save) and record a change of the group's permissions."""
    before = _group_permissions(group)
    with transaction.atomic():
        save()
        after = _group_permissions(group)
        if before != after:
            _record(AuditAction.ROLE_CHANGE, name="", before={"permissions": before}, after={"permissions": after},
                    actor=actor, client_address=client_address,
                    extra={"group": group.name, "members": _members(group)})


def group_delete(*, group: Group, actor: Actor, client_address: str = "") -> None:
    """Delete a group: its members lose that role. ROLE_CHANGE says who they were."""
    before = {"name": group.name, "permissions": _group_permissions(group)}
    members = _members(group)
    with transaction.atomic():
        group.delete()
        _record(AuditAction.ROLE_CHANGE, name="", before=before, after={}, actor=actor,
                client_address=client_address, extra={"group": before["name"], "members": members,
                                                      "group_deleted": True})


def change_record(action: AuditAction, *, user: User, before: dict[str, Any], after: dict[str, Any],
                  actor: Actor, client_address: str = "", organization: Organization | None = None,
                  extra: dict[str, Any] | None = None) -> None:
    """One event with the fields that differ between `before` and `after`; none when nothing differs (and
    `extra` says nothing happened either)."""
    changed = [name for name in after if before.get(name) != after[name]]
    if not changed and not extra:
        return
    _record(action, name=user.get_username(), before={name: before.get(name) for name in changed},
            after={name: after[name] for name in changed}, actor=actor, client_address=client_address,
            organization=organization, extra=extra)


def _record(action: AuditAction, *, name: str, before: dict[str, Any], after: dict[str, Any], actor: Actor,
            client_address: str, organization: Organization | None = None,
            extra: dict[str, Any] | None = None) -> None:
    details: dict[str, Any] = {"user": name} if name else {}
    details.update({"before": before, "after": after, **(extra or {})})
    signed_in = actor is not None and getattr(actor, "is_authenticated", False)
    audit_event_record(action=action, actor=actor, actor_username="" if signed_in else "system",
                       organization=organization, client_address=client_address, details=details)


def _grants_of(user: User) -> list[str]:
    grants = AccessGrant.objects.filter(user=user).select_related("organization")
    return sorted(f"{grant.organization.name} ({grant.organization.upstream_id}): {grant.workload or 'all'}"
                  for grant in grants)


def _profile_state(profile: UserProfile | None) -> dict[str, Any]:
    if profile is None:
        return dict(NO_PROFILE)
    organization = profile.tenant_organization
    return {"tenant_organization": organization_label(organization) if organization else None,
            "time_zone": profile.time_zone}


def organization_label(organization: Organization) -> str:
    """How people events name an organization: its name and VB365 id (names can repeat or change)."""
    return f"{organization.name} ({organization.upstream_id})"


def _members(group: Group) -> list[str]:
    return sorted(group.user_set.values_list("username", flat=True)) if group.pk else []


def _group_permissions(group: Group) -> list[str]:
    if group.pk is None:
        return []
    return sorted(f"{app}.{codename}" for app, codename in
                  group.permissions.values_list("content_type__app_label", "codename"))
