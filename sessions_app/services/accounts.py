"""People and what they may do: roles, access grants, profiles. Every change is audited."""
from __future__ import annotations

import hashlib
import logging
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group, User
from django.core.cache import cache
from django.db import transaction

from sessions_app.models import AccessGrant, AuditAction, AuditOutcome, Organization, Role, UserProfile
from sessions_app.services import people
from sessions_app.services.audit import audit_event_record

logger = logging.getLogger(__name__)

STAFF_ROLES = {Role.ADMIN}


def profile_update(*, user: User, time_zone: str) -> UserProfile:
    profile, _ = UserProfile.objects.get_or_create(user=user)
    profile.time_zone = time_zone
    profile.save(update_fields=["time_zone", "updated_at"])
    return profile


def user_role_set(*, user: User, role: Role, actor: AbstractBaseUser | None = None) -> None:
    """Make `role` the user's only portal role (admins also get Django admin access). Audited as people
    changes are: ROLE_CHANGE for the groups, USER_CHANGE for the staff and superuser flags, before and after."""
    stored = type(user).objects.get(pk=user.pk)
    with transaction.atomic():
        before = {"groups": people.user_relations(user)["groups"]}
        portal_groups = Group.objects.filter(name__in=[r.value for r in Role])
        user.groups.remove(*portal_groups)
        if role != Role.TENANT:
            user.groups.add(Group.objects.get_or_create(name=role.value)[0])
        user.is_staff = role in STAFF_ROLES
        user.is_superuser = role == Role.ADMIN
        user.save(update_fields=["is_staff", "is_superuser"])
        people.change_record(AuditAction.USER_CHANGE, user=user, before=people.user_flags(stored),
                             after=people.user_flags(user), actor=actor)
        after = {"groups": people.user_relations(user)["groups"]}
        if after != before:
            people.change_record(AuditAction.ROLE_CHANGE, user=user, before=before, after=after, actor=actor,
                                 extra={"role": role.value})


def user_create(*, username: str, password: str, role: Role, organizations: Iterable[Organization] = (),
                workloads: Iterable[str] = (), actor: AbstractBaseUser | None = None) -> User:
    """Create (or update) a portal user with one role and, for operators, access grants."""
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first() or user_model(username=username)
    user.set_password(password)
    with transaction.atomic():
        people.user_save(user=user, actor=actor)
        UserProfile.objects.get_or_create(user=user)
    user_role_set(user=user, role=role, actor=actor)
    for organization in organizations:
        grants_set(user=user, organization=organization, workloads=list(workloads), actor=actor)
    return user


# Grant events: GRANT_CHANGE naming the user, the organization, what was done ("add", "remove" or "set") and
# the workloads, with the user's workloads on that organization before and after ("all" for every workload).


def grants_set(*, user: User, organization: Organization, workloads: list[str],
               actor: people.Actor = None, client_address: str = "") -> list[AccessGrant]:
    """Replace the user's grants on one organization: the given workloads, or every workload if none."""
    with transaction.atomic():
        before = _granted_workloads(user, organization)
        AccessGrant.objects.filter(user=user, organization=organization).delete()
        grants = [AccessGrant.objects.create(user=user, organization=organization, workload=workload)
                  for workload in (workloads or [""])]
        _grant_change_record(user=user, organization=organization, change="set", workloads=workloads or [""],
                             before=before, actor=actor, client_address=client_address)
    return grants


def grant_add(*, user: User, organization: Organization, workload: str = "",
              actor: people.Actor = None, client_address: str = "") -> AccessGrant:
    """Add one grant (blank workload: every workload); an existing grant is returned and nothing is recorded."""
    with transaction.atomic():
        before = _granted_workloads(user, organization)
        grant, created = AccessGrant.objects.get_or_create(user=user, organization=organization, workload=workload)
        if created:
            _grant_change_record(user=user, organization=organization, change="add", workloads=[workload],
                                 before=before, actor=actor, client_address=client_address)
    return grant


def grant_revoke(*, grant: AccessGrant, actor: people.Actor = None, client_address: str = "") -> None:
    user, organization = grant.user, grant.organization
    with transaction.atomic():
        before = _granted_workloads(user, organization)
        grant.delete()
        _grant_change_record(user=user, organization=organization, change="remove", workloads=[grant.workload],
                             before=before, actor=actor, client_address=client_address)


def _granted_workloads(user: User, organization: Organization) -> list[str]:
    return sorted(workload or "all" for workload in AccessGrant.objects.filter(
        user=user, organization=organization).values_list("workload", flat=True))


def _grant_change_record(*, user: User, organization: Organization, change: str, workloads: list[str],
                         before: list[str], actor: people.Actor, client_address: str) -> None:
    audit_event_record(action=AuditAction.GRANT_CHANGE, actor=actor, actor_username="system" if actor is None else "",
                       organization=organization, client_address=client_address, details={
                           "user": user.get_username(), "organization": people.organization_label(organization),
                           "change": change, "workloads": [workload or "all" for workload in workloads],
                           "before": {"workloads": before},
                           "after": {"workloads": _granted_workloads(user, organization)}})


SIGN_IN_THROTTLED = "Too many failed sign-ins. Wait {minutes} minutes and try again."


def sign_in_name_key(username: str) -> str:
    """The one form of a user name under which sign-in failures are counted and checked (NFKC, case-folded,
    trimmed): `\uff4flivia` (full-width o), `OLIVIA` and `olivia` are one name, as Django's sign-in form turns
    the full-width spelling into `olivia` before it checks the password."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold()).strip()


@dataclass(frozen=True)
class _Limit:
    kind: str  # "user" or "address": which limit, as the audit event names it
    key: str
    allowed: int


def _limits(username: str, address: str) -> list[_Limit]:
    # Hashed: user names may hold characters no cache backend accepts in a key.
    user = hashlib.sha256(sign_in_name_key(username).encode()).hexdigest()[:32]
    where = hashlib.sha256(address.encode()).hexdigest()[:32]
    return [_Limit("user", f"signin-fail:user:{user}", settings.SIGN_IN_FAILURES_PER_USER),
            _Limit("address", f"signin-fail:addr:{where}", settings.SIGN_IN_FAILURES_PER_ADDRESS)]


def sign_in_throttled(*, username: str, address: str) -> str | None:
    """The refusal message when this user name or address failed too often recently, else None.

    A refused attempt is not a failure (it does not extend the window) and is not audited: the throttle's
    start was (sign_in_failure_note). Refusals are counted per limit and logged at the 1st, 10th, 100th, ...
    """
    for limit in _limits(username, address):
        if int(cache.get(limit.key, 0)) >= limit.allowed:
            refused = _count(f"signin-refused:{limit.key}")
            if refused == 10 ** (len(str(refused)) - 1):  # 1, 10, 100, ...: the log grows with the log of the flood
                logger.warning("Sign-in refused while the %s limit holds (%d refusals in this window)",
                               limit.kind, refused)
            return SIGN_IN_THROTTLED.format(minutes=max(settings.SIGN_IN_THROTTLE_SECONDS // 60, 1))
    return None


def sign_in_failure_note(*, username: str, address: str, method: str = "password") -> None:
    """Count a failed sign-in against the user name and the address. The failure that reaches a limit starts
    that throttle and records one SIGN_IN_THROTTLED event (which limit, the window); later ones add none."""
    for limit in _limits(username, address):
        if _count(limit.key) == limit.allowed:
            audit_event_record(
                action=AuditAction.SIGN_IN_THROTTLED, outcome=AuditOutcome.DENIED,
                actor_username=username[:150] if limit.kind == "user" else "", client_address=address,
                details={"limit": limit.kind, "failures": limit.allowed,
                         "window_seconds": settings.SIGN_IN_THROTTLE_SECONDS, "method": method})


def _count(key: str) -> int:
    """Add one to a counter living SIGN_IN_THROTTLE_SECONDS from its first count; the new value.
    add() starts the window and incr() keeps its expiry, atomically in a shared cache (Redis) across workers,
    so exactly one caller sees each value."""
    if cache.add(key, 1, timeout=settings.SIGN_IN_THROTTLE_SECONDS):
        return 1
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, timeout=settings.SIGN_IN_THROTTLE_SECONDS)
        return 1


def sign_in_success_note(*, username: str) -> None:
    cache.delete(_limits(username, "")[0].key)
