"""People and what they may do: roles, access grants, profiles. Every change is audited."""
from __future__ import annotations

import hashlib
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.core.cache import cache
from django.db import transaction
from rest_framework.authtoken.models import Token

from sessions_app.models import AccessGrant, AuditAction, Organization, Role, UserProfile
from sessions_app.services.audit import audit_event_record

STAFF_ROLES = {Role.ADMIN}


def profile_update(*, user: AbstractBaseUser, time_zone: str) -> UserProfile:
    profile, _ = UserProfile.objects.get_or_create(user=user)
    profile.time_zone = time_zone
    profile.save(update_fields=["time_zone", "updated_at"])
    return profile


def user_role_set(*, user: AbstractBaseUser, role: Role, actor: AbstractBaseUser | None = None) -> None:
    """Make `role` the user's only portal role (admins also get Django admin access)."""
    with transaction.atomic():
        portal_groups = Group.objects.filter(name__in=[r.value for r in Role])
        user.groups.remove(*portal_groups)  # type: ignore[attr-defined]
        if role != Role.TENANT:
            user.groups.add(Group.objects.get_or_create(name=role.value)[0])  # type: ignore[attr-defined]
        user.is_staff = role in STAFF_ROLES  # type: ignore[attr-defined]
        user.is_superuser = role == Role.ADMIN  # type: ignore[attr-defined]
        user.save(update_fields=["is_staff", "is_superuser"])
    audit_event_record(action=AuditAction.ROLE_CHANGE, actor=actor, actor_username="system" if actor is None else "",
                       details={"user": user.get_username(), "role": role.value})


def role_change_record(*, user: AbstractBaseUser, before: list[str], after: list[str],
                       actor: AbstractBaseUser | None = None) -> None:
    """Audit a change of a user's groups made outside user_role_set (the Django admin's user form)."""
    audit_event_record(action=AuditAction.ROLE_CHANGE, actor=actor, actor_username="system" if actor is None else "",
                       details={"user": user.get_username(), "groups_before": before, "groups_after": after})


def user_create(*, username: str, password: str, role: Role, organizations: Iterable[Organization] = (),
                workloads: Iterable[str] = (), actor: AbstractBaseUser | None = None) -> AbstractBaseUser:
    """Create (or update) a portal user with one role and, for operators, access grants."""
    user_model = get_user_model()
    with transaction.atomic():
        user, _ = user_model.objects.get_or_create(username=username)
        user.set_password(password)
        user.save()
        UserProfile.objects.get_or_create(user=user)
    user_role_set(user=user, role=role, actor=actor)
    for organization in organizations:
        grants_set(user=user, organization=organization, workloads=list(workloads), actor=actor)
    return user  # type: ignore[no-any-return]


def grants_set(*, user: AbstractBaseUser, organization: Organization, workloads: list[str],
               actor: AbstractBaseUser | None = None) -> list[AccessGrant]:
    """Replace the user's grants on one organization: the given workloads, or every workload if none."""
    with transaction.atomic():
        AccessGrant.objects.filter(user=user, organization=organization).delete()
        grants = [AccessGrant.objects.create(user=user, organization=organization, workload=workload)
                  for workload in (workloads or [""])]
    audit_event_record(action=AuditAction.GRANT_CHANGE, actor=actor, actor_username="system" if actor is None else "",
                       organization=organization,
                       details={"user": user.get_username(), "workloads": workloads or ["all"]})
    return grants


def grant_add(*, user: AbstractBaseUser, organization: Organization, workload: str = "",
              actor: AbstractBaseUser | None = None) -> AccessGrant:
    """Add one grant (blank workload: every workload) unless the user already has it."""
    grant, _ = AccessGrant.objects.get_or_create(user=user, organization=organization, workload=workload)
    audit_event_record(action=AuditAction.GRANT_CHANGE, actor=actor, actor_username="system" if actor is None else "",
                       organization=organization, details={"user": user.get_username(), "workload": workload or "all"})
    return grant


def grant_revoke(*, grant: AccessGrant, actor: AbstractBaseUser | None = None) -> None:
    details = {"user": grant.user.get_username(), "workload": grant.workload or "all", "revoked": True}
    organization = grant.organization
    grant.delete()
    audit_event_record(action=AuditAction.GRANT_CHANGE, actor=actor, actor_username="system" if actor is None else "",
                       organization=organization, details=details)


def api_token_get_or_create(*, user: AbstractBaseUser) -> str:
    """The user's API token (created on first use); the same key every time until revoked in the admin."""
    token, _ = Token.objects.get_or_create(user=user)
    return str(token.key)


SIGN_IN_THROTTLED = "Too many failed sign-ins. Wait {minutes} minutes and try again."


def _throttle_keys(username: str, address: str) -> list[tuple[str, int]]:
    # Hashed: user names may hold characters no cache backend accepts in a key.
    user = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    where = hashlib.sha256(address.encode()).hexdigest()[:32]
    return [(f"signin-fail:user:{user}", settings.SIGN_IN_FAILURES_PER_USER),
            (f"signin-fail:addr:{where}", settings.SIGN_IN_FAILURES_PER_ADDRESS)]


def sign_in_throttled(*, username: str, address: str) -> str | None:
    """The refusal message when this user name or address failed too often recently, else None."""
    for key, limit in _throttle_keys(username, address):
        if int(cache.get(key, 0)) >= limit:
            return SIGN_IN_THROTTLED.format(minutes=max(settings.SIGN_IN_THROTTLE_SECONDS // 60, 1))
    return None


def sign_in_failure_note(*, username: str, address: str) -> None:
    for key, _ in _throttle_keys(username, address):
        # add() starts the window; incr() keeps its expiry (a shared Redis counter across workers).
        if not cache.add(key, 1, timeout=settings.SIGN_IN_THROTTLE_SECONDS):
            try:
                cache.incr(key)
            except ValueError:
                cache.set(key, 1, timeout=settings.SIGN_IN_THROTTLE_SECONDS)


def sign_in_success_note(*, username: str) -> None:
    cache.delete(_throttle_keys(username, "")[0][0])
