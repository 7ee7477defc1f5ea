"""Every read that is more than a primary-key lookup, and who may see what.

Visibility (the same in pages, API and admin):
- admin, helpdesk, auditor: every organization and session;
- operator: only organizations (and workloads) of their access grants;
- tenant: only their own organization; of the provider's sessions there only when, which workload and
  state, never the provider's internal fields (sees_provider_fields), and they stop only their own users';
- anyone else: nothing.
"""
from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, User
from django.core.exceptions import ObjectDoesNotExist
from django.db import connection
from django.db.models import Case, CharField, Count, F, Model, Q, QuerySet, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import TruncDate
from django.utils import timezone

from sessions_app.models import (
    AccessGrant,
    AuditEvent,
    Organization,
    RestoreSession,
    RestoreSessionEvent,
    Role,
    SessionState,
    StartRequest,
    SyncRun,
    UserProfile,
)
from sessions_app.prepared import PreparedLookup
from sessions_app.specs import SessionQuery, StartSpec

AnyUser = AbstractBaseUser | AnonymousUser
SEE_EVERYTHING = {Role.ADMIN, Role.HELPDESK, Role.AUDITOR}
SESSION_ORDERINGS = {
    "newest": ("-creation_time", "-id"),
    "oldest": ("creation_time", "id"),
    "organization": ("organization_name", "-creation_time", "-id"),
    # Working sessions first: they are the ones someone may still act on.
    "state": (Case(When(state=SessionState.WORKING, then=Value(0)), default=Value(1)), "-creation_time", "-id"),
}
# Counting more rows than this is slow on a large history and tells a person nothing more: beyond it the
# count is "more than COUNT_CAP".
COUNT_CAP = 10_000


Row = TypeVar("Row", bound=Model)


def only_row(queryset: QuerySet[Row]) -> Row | None:
    """The one row of a queryset filtered on a unique column, or None. Unlike first(), no ORDER BY (the
    model's Meta.ordering) is compiled and sent: there is at most one row to order."""
    return next(iter(queryset.order_by()[:1]), None)


_NOT_CACHED = object()


def user_role(user: AnyUser) -> Role | None:
    """The one role that decides what the user may do; None for no access. Cached on the user object."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return None
    cached = getattr(user, "_portal_role", _NOT_CACHED)
    if cached is None or isinstance(cached, Role):
        return cached
    role: Role | None
    if getattr(user, "is_superuser", False):
        role = Role.ADMIN
    elif _tenant_organization_id(user) is not None:
        role = Role.TENANT
    else:
        names = set(user.groups.values_list("name", flat=True))  # type: ignore[union-attr]
        role = next((r for r in GROUP_ROLES if r.value in names), None)
    user._portal_role = role  # type: ignore[union-attr]
    return role


# Group roles, strongest first: a user in several groups has the first one's rights.
GROUP_ROLES = (Role.ADMIN, Role.HELPDESK, Role.AUDITOR, Role.OPERATOR)


def user_role_prime(user: AnyUser, role_group: str | None) -> None:
    """Hand user_role what its own query would read: `role_group`, the strongest of GROUP_ROLES the user is
    in (None for none), read along with the user (role_group_column), so that the role check costs no query.
    Administrators and tenants are left to user_role: it decides them from the user and the profile (read
    with the user), without a query."""
    if getattr(user, "is_superuser", False) or _tenant_organization_id(user) is not None:
        return
    user._portal_role = Role(role_group) if role_group else None  # type: ignore[union-attr]


@functools.cache
def role_group_column(table: str, user_id_column: str) -> RawSQL:
    """The strongest of the user's GROUP_ROLES groups (NULL for none) as a column of a query over `table`,
    whose `user_id_column` names the user: for user_role_prime. Written in SQL (portable: a correlated
    subquery with CASE and LIMIT) because the ORM takes longer to compile the same subquery than the separate
    query it replaces takes to run. Built once per table: querysets copy it when they use it."""
    memberships = User.groups.through._meta.db_table
    roles = tuple(role.value for role in GROUP_ROLES)
    marks = ", ".join(["%s"] * len(roles))
    rank = " ".join(f"WHEN %s THEN {n}" for n in range(len(roles)))
    quote = connection.ops.quote_name
    sql = (f"SELECT g.name FROM {quote(Group._meta.db_table)} g INNER JOIN {quote(memberships)} m "
           f"ON m.group_id = g.id WHERE m.user_id = {quote(table)}.{quote(user_id_column)} "
           f"AND g.name IN ({marks}) ORDER BY CASE g.name {rank} END LIMIT 1")
    return RawSQL(sql, roles + roles, output_field=CharField(null=True))


def _tenant_organization_id(user: AnyUser) -> int | None:
    try:
        return user.profile.tenant_organization_id  # type: ignore[union-attr,no-any-return]
    except (ObjectDoesNotExist, AttributeError):
        return None


def can_start(user: AnyUser) -> bool:
    return user_role(user) in {Role.OPERATOR, Role.HELPDESK, Role.ADMIN, Role.TENANT}


def can_act_on_behalf(user: AnyUser) -> bool:
    return user_role(user) in {Role.HELPDESK, Role.ADMIN}


def can_view_audit(user: AnyUser) -> bool:
    return user_role(user) in {Role.AUDITOR, Role.ADMIN}


def can_review_all(user: AnyUser) -> bool:
    return user_role(user) in SEE_EVERYTHING


def can_stop(user: AnyUser, session: RestoreSession) -> bool:
    """May the user stop this session: does the user see it, and does the role allow it (may_stop_visible)?"""
    if not may_stop_visible(user, session):
        return False
    return user_role(user) in SEE_EVERYTHING or _visible_sessions(user).filter(pk=session.pk).exists()


def may_stop_visible(user: AnyUser, session: RestoreSession) -> bool:
    """The role's rule of stopping, for a session the user is known to see (a row of a visible list, a
    session already looked up): helpdesk and admins stop any, operators those they see, tenants only the
    sessions their organization's own users started (never the provider's). No query."""
    role = user_role(user)
    if role in {Role.HELPDESK, Role.ADMIN, Role.OPERATOR}:
        return True
    return role == Role.TENANT and session.started_by_tenant


def sees_provider_fields(user: AnyUser) -> bool:
    """May the user see the provider's internal fields of a session: who asked (requested_by, on_behalf_of),
    tickets, the VB365 account that started it (initiated_by) and its client host, and the reason and scope
    of sessions the provider's staff started? Everyone but tenants."""
    return user_role(user) != Role.TENANT


def _grant_filter(user: AnyUser, *, organization_field: str, workload_field: str) -> Q:
    grants = AccessGrant.objects.filter(user=user).values_list("organization_id", "workload")  # type: ignore[misc]
    condition = Q(pk__in=[])
    for organization_id, workload in grants:
        clause = Q(**{organization_field: organization_id})
        if workload:
            clause &= Q(**{workload_field: workload})
        condition |= clause
    return condition


def _visible_sessions(user: AnyUser) -> QuerySet[RestoreSession]:
    role = user_role(user)
    sessions = RestoreSession.objects.all()
    if role in SEE_EVERYTHING:
        return sessions
    tenant_organization_id = _tenant_organization_id(user)
    if role == Role.TENANT and tenant_organization_id is not None:
        return sessions.filter(organization_id=tenant_organization_id)
    if role == Role.OPERATOR:
        return sessions.filter(_grant_filter(user, organization_field="organization_id", workload_field="workload"))
    return sessions.none()


def organization_list(*, user: AnyUser) -> QuerySet[Organization]:
    role = user_role(user)
    organizations = Organization.objects.all()
    if role in SEE_EVERYTHING:
        return organizations
    tenant_organization_id = _tenant_organization_id(user)
    if role == Role.TENANT and tenant_organization_id is not None:
        return organizations.filter(pk=tenant_organization_id)
    if role == Role.OPERATOR and isinstance(user, User):
        return organizations.filter(grants__user=user).distinct()
    return organizations.none()


def organization_get(*, user: AnyUser, upstream_id: str | uuid.UUID) -> Organization | None:
    try:
        key = uuid.UUID(str(upstream_id))
    except ValueError:
        return None
    return _visible_by_upstream_id(user, key, _ORGANIZATION_BY_UPSTREAM_ID,
                                   organization_id=lambda organization: organization.pk,
                                   for_operator=lambda: organization_list(user=user))


# Every start and every organization page looks the organization up by its id (prepared.py says why).
_ORGANIZATION_BY_UPSTREAM_ID = PreparedLookup(lambda: Organization.objects.all(), "upstream_id")


def _visible_by_upstream_id(user: AnyUser, key: uuid.UUID, lookup: PreparedLookup[Row], *,
                            organization_id: Callable[[Row], int | None],
                            for_operator: Callable[[], QuerySet[Row]]) -> Row | None:
    """The row with this id if the user may see it: the rule of _visible_sessions and organization_list, with
    the prepared lookup for every role but operators, whose grants make a query of its own."""
    role = user_role(user)
    if role == Role.OPERATOR:
        return only_row(for_operator().filter(upstream_id=key))
    if role not in SEE_EVERYTHING and role != Role.TENANT:
        return None
    row = lookup.get(key)
    if row is None or role in SEE_EVERYTHING:
        return row
    tenant_organization_id = _tenant_organization_id(user)
    return row if tenant_organization_id is not None and organization_id(row) == tenant_organization_id else None


def organization_visible(*, user: AnyUser, organization: Organization) -> bool:
    """May the user see this organization (already read)? The rule of organization_list; roles that see
    every organization are answered without a query."""
    if user_role(user) in SEE_EVERYTHING:
        return True
    return organization_list(user=user).filter(pk=organization.pk).exists()


def on_behalf_candidates(*, user: AnyUser, organization: Organization | None = None) -> QuerySet[User] | None:
    """The people a helpdesk user (or administrator) may start a session for: those who start sessions
    themselves, that is operators (with an organization: those with a grant on it) and tenant users (with an
    organization: its own). Never the user, nor auditors, helpdesk or administrators. None for roles that may
    not act on behalf."""
    if not can_act_on_behalf(user) or not isinstance(user, User):
        return None
    people = get_user_model().objects
    # GROUP_ROLES decides by the strongest group: an operator who is also an auditor is an auditor.
    stronger = [role.value for role in GROUP_ROLES if role != Role.OPERATOR]
    operators = (Q(pk__in=people.filter(groups__name=Role.OPERATOR.value).values("pk"))
                 & ~Q(pk__in=people.filter(groups__name__in=stronger).values("pk"))
                 & Q(profile__tenant_organization__isnull=True))
    tenant_users = Q(profile__tenant_organization__isnull=False)
    if organization is not None:
        operators &= Q(pk__in=AccessGrant.objects.filter(organization=organization).values("user_id"))
        tenant_users = Q(profile__tenant_organization=organization)
    return (people.filter(operators | tenant_users, is_active=True, is_superuser=False)
            .exclude(pk=user.pk).order_by("username"))


def on_behalf_allowed(*, user: AnyUser, organization: Organization, person: AnyUser) -> bool:
    """May `user` start a session in `organization` on behalf of `person` (see on_behalf_candidates)?"""
    candidates = on_behalf_candidates(user=user, organization=organization)
    return candidates is not None and isinstance(person, User) and candidates.filter(pk=person.pk).exists()


def start_request_started(*, user: AnyUser, key: str) -> StartRequest | None:
    """The user's submission with this key, if it started a session."""
    return (StartRequest.objects.filter(requested_by=user, key=key,  # type: ignore[misc]
                                        status=StartRequest.Status.STARTED, session__isnull=False)
            .select_related("session").first())


def start_request_same_recently(*, user: AnyUser, since: datetime, spec: StartSpec) -> StartRequest | None:
    """The user's newest submission since `since` that started a session for the same organization,
    workload, point in time, reason and person as `spec`: what a form shown again (browser Back) and sent
    once more would duplicate."""
    return (StartRequest.objects.filter(  # type: ignore[misc]
        requested_by=user, created_at__gte=since, status=StartRequest.Status.STARTED, session__isnull=False,
        organization=spec.organization, workload=spec.workload, point_in_time=spec.point_in_time,
        latest=spec.latest, restore_point_id=spec.restore_point_id, reason=spec.reason,
        on_behalf_of=spec.on_behalf_of.pk if spec.on_behalf_of is not None else None,
    ).select_related("session").order_by("-created_at").first())


def restore_session_holds_no_data(*, session: RestoreSession) -> bool:
    """Was the session started at a moment before its organization's first backup? VB365 then creates it
    with no backup data to explore (vb365_rest_v8.json POST /Organizations/{organizationId}/explore)."""
    if session.requested_latest or session.organization is None or session.organization.first_backup is None:
        return False
    moment = session.requested_point_in_time or session.upstream_point_in_time
    return moment is not None and moment < session.organization.first_backup


def workloads_allowed(*, user: AnyUser, organization: Organization) -> set[str] | None:
    """The workloads the user may restore in this organization; None means every workload."""
    if user_role(user) != Role.OPERATOR:
        return None
    grants = set(AccessGrant.objects.filter(user=user, organization=organization)  # type: ignore[misc]
                 .values_list("workload", flat=True))
    if not grants or "" in grants:
        return None if grants else set()
    return grants


def restore_session_list(*, user: AnyUser, query: SessionQuery | None = None) -> QuerySet[RestoreSession]:
    """Cached sessions the user may see, narrowed and ordered by `query` (all of them, newest first, without)."""
    query = query or SessionQuery()
    # The requester's profile comes along: every row says whether a tenant's own user started it
    # (RestoreSession.started_by_tenant), and that is read without a query a row.
    sessions = _visible_sessions(user).select_related("organization", "requested_by__profile", "on_behalf_of")
    if query.organization_unknown:
        return sessions.none()
    if query.names_provider_fields and not sees_provider_fields(user):
        # Filters on provider fields only match the tenant's own sessions, so they reveal nothing of the
        # provider's (who, which ticket, which reason).
        sessions = sessions.filter(requested_by__profile__tenant_organization_id=F("organization_id"))
    filters: dict[str, Any] = {
        # The organization's own indexed column, not a join.
        "organization_id": query.organization.pk if query.organization is not None else None,
        "workload": query.workload, "state": query.state, "result": query.result, "origin": query.origin,
        "creation_time__gte": query.started_after, "creation_time__lt": query.started_before,
    }
    sessions = sessions.filter(**{key: value for key, value in filters.items() if value not in (None, "")})
    if query.result:
        # A working session has no result yet (whatever VB365 sent while it worked).
        sessions = sessions.filter(state=SessionState.STOPPED)
    if query.requested_by:
        sessions = sessions.filter(requested_by__username__icontains=query.requested_by)
    if query.initiated_by:
        sessions = sessions.filter(initiated_by__icontains=query.initiated_by)
    if query.search:
        # search_text is the upper-cased reason, scope, ticket, VB365 reason and scope name (one trigram index).
        sessions = sessions.filter(search_text__contains=query.search.upper())
    return sessions.order_by(*SESSION_ORDERINGS.get(query.ordering, SESSION_ORDERINGS["newest"]))


def capped_count(queryset: QuerySet[Any], *, cap: int | None = None) -> tuple[int, bool]:
    """(number of rows, exact): exact up to `cap` (COUNT_CAP); beyond it (cap, False), at the cost of
    counting `cap` rows."""
    cap = cap if cap is not None else COUNT_CAP
    counted = queryset.order_by()[:cap + 1].count()
    return min(counted, cap), counted <= cap


# Past this offset a page's ids are found first (an index-only walk) and only those rows are read, instead of
# reading and discarding every row before the page.
DEFERRED_JOIN_OFFSET = 1_000


def page_rows(queryset: QuerySet[Any], *, offset: int, limit: int) -> list[Any]:
    """Rows offset..offset+limit-1 of an ordered queryset, cheap at any depth."""
    if offset < DEFERRED_JOIN_OFFSET:
        return list(queryset[offset:offset + limit])
    ids = list(queryset.values_list("pk", flat=True)[offset:offset + limit])
    by_id = {row.pk: row for row in queryset.model._default_manager.filter(pk__in=ids).select_related(
        *_related_of(queryset))}
    return [by_id[pk] for pk in ids if pk in by_id]


def _related_of(queryset: QuerySet[Any]) -> list[str]:
    """The queryset's select_related paths, nested ones included ("requested_by__profile")."""
    related = queryset.query.select_related
    return _related_paths(related) if isinstance(related, dict) else []


def _related_paths(tree: dict[str, Any], prefix: str = "") -> list[str]:
    paths: list[str] = []
    for name, below in tree.items():
        paths.append(f"{prefix}{name}")
        paths.extend(_related_paths(below, f"{prefix}{name}__") if isinstance(below, dict) else [])
    return paths


# The profile comes along: every answer says whether a tenant's own user started it (started_by_tenant).
SESSION_RELATED = ("organization", "requested_by__profile", "on_behalf_of")
# Every API call about a session looks it up by its id first (prepared.py says why it is compiled once).
_SESSION_BY_UPSTREAM_ID = PreparedLookup(lambda: RestoreSession.objects.select_related(*SESSION_RELATED), "upstream_id")


def restore_session_get(*, user: AnyUser, upstream_id: str | uuid.UUID) -> RestoreSession | None:
    try:
        key = uuid.UUID(str(upstream_id))
    except ValueError:
        return None
    return _visible_by_upstream_id(
        user, key, _SESSION_BY_UPSTREAM_ID, organization_id=lambda session: session.organization_id,
        for_operator=lambda: _visible_sessions(user).select_related(*SESSION_RELATED))


def restore_session_exists(*, upstream_id: str | uuid.UUID) -> RestoreSession | None:
    """Any session with this id, whoever may see it: only for recording denied access, never for showing."""
    try:
        key = uuid.UUID(str(upstream_id))
    except ValueError:
        return None
    return _SESSION_BY_UPSTREAM_ID.get(key)


def working_sessions_of(*, user: AnyUser) -> QuerySet[RestoreSession]:
    """The dashboard: sessions this user asked for (or that were asked for on their behalf) that still work."""
    return (_visible_sessions(user).filter(Q(requested_by=user) | Q(on_behalf_of=user), state="working")
            .select_related("organization").order_by("-creation_time"))


def restore_session_events(*, session: RestoreSession, newest_first: bool = False) -> QuerySet[RestoreSessionEvent]:
    if newest_first:
        return session.events.order_by("-order", "-id")
    return session.events.order_by("order", "id")


def failed_start_requests(*, user: AnyUser, limit: int = 5) -> QuerySet[StartRequest]:
    return (StartRequest.objects.filter(requested_by=user, status=StartRequest.Status.FAILED)  # type: ignore[misc]
            .select_related("organization").order_by("-created_at")[:limit])


def profile_of(*, user: User) -> UserProfile:
    """The user's stored settings, or the defaults (unsaved) for someone who never saved any."""
    return UserProfile.objects.filter(user=user).first() or UserProfile(user=user)


def latest_sync_run() -> SyncRun | None:
    return SyncRun.objects.order_by("-started_at").first()


def audit_event_list(
    *,
    actor: str | None = None,
    action: str | None = None,
    organization: str | None = None,
    workload: str | None = None,
    outcome: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    search: str | None = None,
) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.all()
    filters: dict[str, Any] = {
        "actor_username": actor, "action": action, "organization_id": organization, "workload": workload,
        "outcome": outcome, "created_at__gte": created_after, "created_at__lt": created_before,
    }
    events = events.filter(**{key: value for key, value in filters.items() if value not in (None, "")})
    if search:
        events = events.filter(Q(reason__icontains=search) | Q(scope__icontains=search) | Q(ticket__icontains=search))
    return events.order_by("-sequence")


def session_activity(*, since: datetime, field: str) -> list[tuple[Any, str, int]]:
    """(day, value of `field`, count) for sessions created since `since`, in the active time zone's days.
    By result, working sessions count as "working": they have no result yet."""
    value = (Case(When(state=SessionState.WORKING, then=Value(SessionState.WORKING.value)), default=F("result"),
                  output_field=CharField()) if field == "result" else F(field))
    rows = (RestoreSession.objects.filter(creation_time__gte=since)
            .annotate(day=TruncDate("creation_time", tzinfo=timezone.get_current_timezone()), value=value)
            .values_list("day", "value").annotate(count=Count("id")).order_by("day", "value"))
    return [(day, value or "unknown", count) for day, value, count in rows]


def top_counts(*, since: datetime, field: str, limit: int = 10) -> list[tuple[str, int]]:
    """The most frequent values of `field` among sessions created since `since` (sessions without one are
    left out: a session started in the VB365 console has no Restore Desk requester)."""
    rows = (RestoreSession.objects.filter(creation_time__gte=since).exclude(**{f"{field}__isnull": True})
            .exclude(**{field: ""}).values_list(field)
            .annotate(count=Count("id")).order_by("-count", field)[:limit])
    return [(value or "—", count) for value, count in rows]
