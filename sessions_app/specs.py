"""The shapes the HTTP side hands the domain: one per concept, frozen.

- StartSpec: one request to start a restore session. StartSessionForm.spec() and the API's start serializer
  produce it; services.session_start consumes it, stores it (StartRequest) and copies it onto the session.
- SessionQuery: one search of the session history. SessionFilterForm.query() and RestoreSessionFilter.query()
  produce it; selectors.restore_session_list applies it.
- StartOptions: what a user may start in an organization (services.session_start.start_options builds it).
  The start page offers exactly its choices, the API accepts exactly them, and the start service checks a
  StartSpec against it (StartOptions.check), so the three cannot disagree.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.utils import timezone

from sessions_app import exceptions
from sessions_app.models import Organization, StartRequest

if TYPE_CHECKING:
    from sessions_app.upstream.errors import UpstreamError
    from sessions_app.upstream.types import RestorePointDTO


@dataclass(frozen=True)
class StartSpec:
    """What a person asks to start. `point_in_time=None` is the latest backup; `restore_point_id` names the
    restore point a moment was taken from (page only). Reason, scope and ticket are kept stripped."""

    organization: Organization
    workload: str
    reason: str
    point_in_time: datetime | None = None
    restore_point_id: str = ""
    show_deleted: bool = False
    show_all_versions: bool = False
    scope: str = ""
    ticket: str = ""
    on_behalf_of: User | None = None

    def __post_init__(self) -> None:
        # The only normalisation: a reason of blanks is no reason, and a resubmission with a trailing space
        # is the same request.
        for name in ("reason", "scope", "ticket"):
            object.__setattr__(self, name, getattr(self, name).strip())

    @property
    def latest(self) -> bool:
        return self.point_in_time is None

    @classmethod
    def of_start_request(cls, request: StartRequest) -> StartSpec:
        """The spec a stored StartRequest was made from (what a repeated submission is compared with)."""
        return cls(organization=request.organization, workload=request.workload, reason=request.reason,
                   point_in_time=request.point_in_time, restore_point_id=request.restore_point_id,
                   show_deleted=request.show_deleted, show_all_versions=request.show_all_versions,
                   scope=request.scope, ticket=request.ticket, on_behalf_of=request.on_behalf_of)

    def start_request_columns(self) -> dict[str, object]:
        """The StartRequest columns this spec fills."""
        return {
            "organization": self.organization, "workload": self.workload, "point_in_time": self.point_in_time,
            "latest": self.latest, "restore_point_id": self.restore_point_id, "show_deleted": self.show_deleted,
            "show_all_versions": self.show_all_versions, "reason": self.reason, "scope": self.scope,
            "ticket": self.ticket, "on_behalf_of": self.on_behalf_of,
        }

    def session_columns(self) -> dict[str, object]:
        """The portal's own RestoreSession columns this spec fills (VB365's come from its answer)."""
        return {
            "organization": self.organization, "on_behalf_of": self.on_behalf_of, "reason": self.reason,
            "scope": self.scope, "ticket": self.ticket, "requested_point_in_time": self.point_in_time,
            "requested_latest": self.latest, "restore_point_id": self.restore_point_id,
            "show_deleted": self.show_deleted, "show_all_versions": self.show_all_versions,
        }


@dataclass(frozen=True)
class SessionQuery:
    """A search of the session history; every field narrows it, empty ones do not.

    `organization_unknown` is set when an organization id was asked for that Restore Desk does not know:
    nothing matches. `started_before` is exclusive. `ordering` is a key of selectors.SESSION_ORDERINGS.
    """

    organization: Organization | None = None
    organization_unknown: bool = False
    workload: str = ""
    state: str = ""
    result: str = ""
    requested_by: str = ""
    initiated_by: str = ""
    origin: str = ""
    started_after: datetime | None = None
    started_before: datetime | None = None
    search: str = ""
    ordering: str = "newest"

    @property
    def names_provider_fields(self) -> bool:
        """Does it filter on what only the provider's people see (who asked, who started it, reason text)?"""
        return bool(self.requested_by or self.initiated_by or self.search)


@dataclass(frozen=True)
class RestorePoints:
    """An organization's restore points as a user may list them: `note` says why there are none by design
    (API version, never backed up, tenant sign-in), `error` why VB365 did not answer."""

    points: tuple[RestorePointDTO, ...] = ()
    note: str = ""
    error: UpstreamError | None = None


@dataclass(frozen=True)
class StartOptions:
    """What `user` may start in `organization` (None: not chosen yet), read once for the page, the API and the
    start service alike.

    `workloads` are those offered: supported by the configured API version and within the user's grants.
    `restore_points` are read for the start page only. `organizations_error` says why the organizations could
    not be fetched when none were known; `organization_refused` is the refusal of an organization asked for
    that the user may not see (the page records it; the form answers "not one of the choices").
    """

    user: User
    organization: Organization | None
    organizations: QuerySet[Organization]
    may_start: bool
    organization_visible: bool
    # Tenants start in their own organization only: the page names it instead of offering a choice.
    organization_fixed: bool
    api_version: int
    supported_workloads: tuple[str, ...]
    # None: every workload (no grant narrows it).
    granted_workloads: frozenset[str] | None
    # May the role start sessions on behalf of others (selectors.can_act_on_behalf)? Whom: on_behalf_candidates.
    may_act_on_behalf: bool
    restore_points: RestorePoints = field(default_factory=RestorePoints)
    organizations_error: UpstreamError | None = None
    organization_refused: exceptions.NotVisible | None = None

    @property
    def workloads(self) -> tuple[str, ...]:
        return tuple(workload for workload in self.supported_workloads if self.workload_refusal(workload) is None)

    @cached_property
    def on_behalf_candidates(self) -> QuerySet[User] | None:
        """Whom the user may start sessions for here (selectors.on_behalf_candidates); None when the role may
        not act on behalf. Built on first use only: most starts are for oneself, and building this queryset
        (three subqueries) costs more than the rest of the check."""
        if not self.may_act_on_behalf:
            return None
        from sessions_app import selectors  # selectors imports this module

        return selectors.on_behalf_candidates(user=self.user, organization=self.organization)

    def workload_refusal(self, workload: str) -> exceptions.StartRefused | None:
        """Why `workload` is not offered here (the same message on the page and in the API), or None."""
        if workload not in self.supported_workloads:
            message = exceptions.WORKLOAD_NOT_SUPPORTED.format(version=self.api_version, workload=workload)
            return exceptions.StartRefused(message, extra={"fields": {"workload": [message]}})
        if self.granted_workloads is not None and workload not in self.granted_workloads:
            message = exceptions.WORKLOAD_NOT_GRANTED.format(workload=workload)
            return exceptions.StartRefused(message, extra={"fields": {"workload": [message]}},
                                           refusal=self._refusal(workload, "workload outside the user's grants"))
        return None

    def check(self, spec: StartSpec) -> None:
        """Raises the refusal of a spec the user may not start here, else returns: NotVisible (organization
        outside the grants), NotAllowed (role; acting on behalf), StartRefused with field errors (on behalf of
        whom, ticket, workload, reason, point in time). Access refusals carry a Refusal for the audit trail."""
        if not self.organization_visible:
            raise exceptions.NotVisible("No such organization.", refusal=self._refusal(
                spec.workload, "organization outside the user's grants"))
        if not self.may_start:
            raise exceptions.NotAllowed(exceptions.NOT_ALLOWED, refusal=self._refusal(
                spec.workload, "role may not start sessions"))
        if spec.on_behalf_of is not None:
            self._check_on_behalf(spec)
        refused = self.workload_refusal(spec.workload)
        if refused is not None:
            raise refused
        if not spec.reason:
            raise _field_refusal("reason", exceptions.REASON_REQUIRED)
        self.check_point_in_time(spec.point_in_time)

    def check_point_in_time(self, point_in_time: datetime | None) -> None:
        """Raises StartRefused for an organization never backed up, or a moment in the future."""
        if self.organization is not None and not self.organization.is_backed_up:
            raise _field_refusal("organization", exceptions.ORGANIZATION_NEVER_BACKED_UP)
        if point_in_time is not None and point_in_time > timezone.now():
            raise _field_refusal("point_in_time", exceptions.POINT_IN_TIME_IN_FUTURE)

    def _check_on_behalf(self, spec: StartSpec) -> None:
        candidates = self.on_behalf_candidates
        if candidates is None:
            raise exceptions.NotAllowed(exceptions.ON_BEHALF_NOT_ALLOWED, refusal=self._refusal(
                spec.workload, "role may not act on behalf of others"))
        assert spec.on_behalf_of is not None
        if not candidates.filter(pk=spec.on_behalf_of.pk).exists():
            refused = _field_refusal("on_behalf_of", exceptions.ON_BEHALF_NOT_ELIGIBLE)
            refused.refusal = self._refusal(spec.workload, "on behalf of someone who may not start sessions here")
            raise refused
        if not spec.ticket:
            raise _field_refusal("ticket", exceptions.ON_BEHALF_REQUIRES_TICKET)

    def _refusal(self, workload: str, why: str) -> exceptions.Refusal:
        """Recorded by the page or API that answers the refusal (services.refusals)."""
        organization = self.organization
        target = str(organization.upstream_id) if organization is not None else ""
        return exceptions.Refusal(operation="session.start", target=target, organization=organization,
                                  workload=workload, why=why)


def _field_refusal(field_name: str, message: str) -> exceptions.StartRefused:
    return exceptions.StartRefused(message, extra={"fields": {field_name: [message]}})

