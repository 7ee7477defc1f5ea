"""Starting restore sessions: what a user may start (StartOptions), and the idempotent start of a StartSpec.

A start is recorded as a StartRequest before anything is sent, so the reason survives every failure, and
the (user, key) pair makes a resubmitted form or a retried API call return the first result.
"""
from __future__ import annotations

import logging
import time
import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from sessions_app import exceptions, selectors
from sessions_app.models import (
    AuditAction,
    AuditOutcome,
    Organization,
    RestoreSession,
    Role,
    SessionOrigin,
    StartRequest,
)
from sessions_app.prepared import PreparedInsert, PreparedUpdate
from sessions_app.services.audit import audit_event_record
from sessions_app.services.organizations import (
    organization_for_viewer,
    organization_restore_points,
    organizations_refresh,
)
from sessions_app.session_columns import upstream_fields
from sessions_app.specs import RestorePoints, StartOptions, StartSpec
from sessions_app.upstream import client as upstream
from sessions_app.upstream import errors
from sessions_app.upstream.types import RestoreSessionDTO

logger = logging.getLogger(__name__)

# How far apart the portal's and VB365's clocks may be for a session created "during" an attempt.
CLOCK_SKEW = timedelta(seconds=30)
RESTORE_POINTS_NOT_SUPPORTED = ("The configured VB365 API version (v{version}) has no restore points; choose a date "
                                "and time.")
RESTORE_POINTS_NOT_BACKED_UP = "This organization has never been backed up, so it has no restore points."
RESTORE_POINTS_TENANT = "Restore points are not listed for tenant sign-ins; choose a date and time."


# -- what may be started ------------------------------------------------------------------------------------------


def start_options(*, user: User, organization: Organization | None, client: upstream.UpstreamClient,
                  with_restore_points: bool = True) -> StartOptions:
    """What `user` may start in `organization` (None: not chosen; a tenant gets its own organization).

    With `with_restore_points`, and for a user who may start, the organization's restore points are read
    from VB365 (restore_points_of: never raises).
    """
    role = selectors.user_role(user)
    organizations = selectors.organization_list(user=user)
    fixed = role == Role.TENANT
    if organization is None and fixed:
        organization = organizations.first()
    options = StartOptions(
        user=user, organization=organization, organizations=organizations, may_start=selectors.can_start(user),
        organization_visible=organization is None or selectors.organization_visible(user=user,
                                                                                   organization=organization),
        organization_fixed=fixed, api_version=client.dialect.version, supported_workloads=client.dialect.workloads,
        granted_workloads=_granted_workloads(user, organization),
        # As selectors.on_behalf_candidates decides it (None for the other roles and for non-User actors).
        may_act_on_behalf=selectors.can_act_on_behalf(user) and isinstance(user, User),
    )
    if organization is None or not with_restore_points or not options.may_start:
        return options
    return replace(options, restore_points=restore_points_of(organization=organization, client=client))


def start_page_options(*, user: User, organization_id: str, client: upstream.UpstreamClient
                       ) -> StartOptions:
    """StartOptions for the start page, where the organization comes as an id from the query or the form.

    For a user who may start but sees no organization yet, the organizations are fetched first (a failure
    is kept in `organizations_error`). An id the user may not see is no organization, its refusal kept in
    `organization_refused`. For a user who may not start, nothing is looked up: the page refuses.
    """
    if not selectors.can_start(user):
        return start_options(user=user, organization=None, client=client)
    error: errors.UpstreamError | None = None
    if not selectors.organization_list(user=user).exists():
        try:
            organizations_refresh(client=client)
        except errors.UpstreamError as exc:
            error = exc
    organization: Organization | None = None
    refused: exceptions.NotVisible | None = None
    if organization_id:
        try:
            organization = organization_for_viewer(actor=user, upstream_id=organization_id)
        except exceptions.NotVisible as exc:
            refused = exc
    options = start_options(user=user, organization=organization, client=client)
    return replace(options, organizations_error=error, organization_refused=refused)


def _granted_workloads(user: User, organization: Organization | None) -> frozenset[str] | None:
    if organization is None:
        return None
    granted = selectors.workloads_allowed(user=user, organization=organization)
    return None if granted is None else frozenset(granted)


def restore_points_of(*, organization: Organization, client: upstream.UpstreamClient) -> RestorePoints:
    """The organization's restore points as `client` may list them, newest first. Never raises: VB365's
    failure is kept in `error`."""
    if not client.dialect.has_restore_points:
        return RestorePoints(note=RESTORE_POINTS_NOT_SUPPORTED.format(version=client.dialect.version))
    if not organization.is_backed_up:
        return RestorePoints(note=RESTORE_POINTS_NOT_BACKED_UP)
    if client.as_tenant:
        # Inferred: tenant tokens may not list restore points; the form then offers date and time only.
        return RestorePoints(note=RESTORE_POINTS_TENANT)
    try:
        return RestorePoints(points=tuple(organization_restore_points(organization=organization, client=client)))
    except errors.UpstreamError as exc:
        logger.warning("Restore points of %s failed: %s", organization.upstream_id, exc)
        return RestorePoints(error=exc)


# -- starting -----------------------------------------------------------------------------------------------------


def restore_session_start(*, actor: User, key: str, spec: StartSpec, client_address: str = "",
                          client: upstream.UpstreamClient | None = None) -> RestoreSession:
    """Start one upstream session for this submission and return its local record.

    Raises what StartOptions.check raises for a request the actor may not make (no upstream call is made)
    and UpstreamError when VB365 fails; then the reason stays recorded (StartRequest, audit trail). The same
    `key` from the same actor never starts a second session; with another spec it raises IdempotencyKeyReused.
    """
    client = client or upstream.get_client()
    start_options(user=actor, organization=spec.organization, client=client, with_restore_points=False).check(spec)
    request, claimed = _claim(actor=actor, key=key, spec=spec, client_address=client_address)
    if not claimed:
        return _replay(request=request, actor=actor, client=client, client_address=client_address)
    return _send_start(request=request, actor=actor, client=client, client_address=client_address)


def start_request_same_recently(*, user: User, spec: StartSpec, key: str, within: timedelta
                                ) -> StartRequest | None:
    """The session this user started within `within` with the same organization, workload, point in time,
    reason and person under another key: a form shown again after Back (with a fresh key and the reason the
    browser filled in) is not a second request until the person says so. The same key is restore_session_start's
    affair: it answers with the first session."""
    earlier = selectors.start_request_same_recently(user=user, since=timezone.now() - within, spec=spec)
    return earlier if earlier is not None and earlier.key != key else None


def _claim(*, actor: User, key: str, spec: StartSpec, client_address: str
           ) -> tuple[StartRequest, bool]:
    """Insert the StartRequest and audit the attempt, in one transaction; (row, True) for the caller that
    inserted it, (existing row, False) otherwise."""
    created: StartRequest | None = None
    try:
        with transaction.atomic():
            created = _START_REQUEST_INSERT.insert(
                StartRequest(requested_by=actor, key=key, **spec.start_request_columns()))
            _audit_attempt(request=created, actor=actor, client_address=client_address)
        return created, True
    except IntegrityError:
        if created is not None:
            raise
        existing = StartRequest.objects.select_related("session", "organization").get(requested_by=actor, key=key)
    # Every field counts: a key reused for another moment, scope, ticket or person must not be answered with
    # the first session.
    if StartSpec.of_start_request(existing) != spec:
        raise exceptions.IdempotencyKeyReused(exceptions.IDEMPOTENCY_KEY_REUSED)
    return existing, False


def _replay(*, request: StartRequest, actor: User, client: upstream.UpstreamClient,
            client_address: str) -> RestoreSession:
    """The answer for a repeated submission: the first session, the first error, or a fresh try."""
    request = _wait_while_pending(request, client)
    if request.status == StartRequest.Status.STARTED and request.session is not None:
        return request.session
    if request.status == StartRequest.Status.FAILED:
        if not _may_try_again(request):
            raise exceptions.StartFailed(request.error_message, extra={"upstream_error": request.error_kind})
        if _reclaim(request, from_status=StartRequest.Status.FAILED):
            return _perform_start(request=request, actor=actor, client=client, client_address=client_address)
        return _replay(request=request, actor=actor, client=client, client_address=client_address)
    if _reclaim(request, from_status=StartRequest.Status.PENDING, stale_before=_stale_deadline(client)):
        return _perform_start(request=request, actor=actor, client=client, client_address=client_address)
    raise exceptions.Conflict(exceptions.START_IN_PROGRESS)


def _may_try_again(request: StartRequest) -> bool:
    """A failed attempt is tried again with the same key only when its failure may pass (the error's own
    `retryable`); other failures, and refusals after a lost answer, are replayed."""
    error_class = errors.error_class_named(request.error_kind)
    return error_class is not None and error_class.retryable


def _wait_while_pending(request: StartRequest, client: upstream.UpstreamClient) -> StartRequest:
    deadline = time.monotonic() + sum(client.config.timeout) + 2
    while request.status == StartRequest.Status.PENDING and time.monotonic() < deadline:
        time.sleep(0.2)
        request = StartRequest.objects.select_related("session", "organization").get(pk=request.pk)
    return request


def _stale_deadline(client: upstream.UpstreamClient) -> datetime:
    # A pending row older than a full upstream round-trip (twice over) belongs to a worker that died.
    return timezone.now() - timedelta(seconds=2 * sum(client.config.timeout) + 5)


def _reclaim(request: StartRequest, *, from_status: str, stale_before: datetime | None = None) -> bool:
    """Atomically move the row back to pending; True for the one caller that did."""
    rows = StartRequest.objects.filter(pk=request.pk, status=from_status)
    if stale_before is not None:
        rows = rows.filter(updated_at__lt=stale_before)
    claimed = rows.update(status=StartRequest.Status.PENDING, error_kind="", error_message="",
                          updated_at=timezone.now()) == 1
    if claimed:
        request.refresh_from_db()
    return claimed


def _perform_start(*, request: StartRequest, actor: User, client: upstream.UpstreamClient,
                   client_address: str) -> RestoreSession:
    """A fresh try of a reclaimed request: audit the attempt, then send it."""
    _audit_attempt(request=request, actor=actor, client_address=client_address)
    return _send_start(request=request, actor=actor, client=client, client_address=client_address)


def _audit_context(request: StartRequest, actor: User, client_address: str) -> dict[str, Any]:
    """The audit fields every event of one start attempt shares."""
    return {
        "actor": actor, "organization": request.organization, "workload": request.workload,
        "reason": request.reason, "scope": request.scope, "ticket": request.ticket, "client_address": client_address,
        "on_behalf_of_username": request.on_behalf_of.get_username() if request.on_behalf_of else "",
    }


def _audit_attempt(*, request: StartRequest, actor: User, client_address: str) -> None:
    audit_event_record(action=AuditAction.SESSION_START_ATTEMPT, details=_request_details(request),
                       **_audit_context(request, actor, client_address))


def _send_start(*, request: StartRequest, actor: User, client: upstream.UpstreamClient,
                client_address: str) -> RestoreSession:
    """Ask VB365 for the session of an attempt already recorded and audited, then record the outcome."""
    audit_common = _audit_context(request, actor, client_address)
    started_at = timezone.now()
    try:
        dto = client.start_restore_session(
            organization_id=None if client.as_tenant else str(request.organization.upstream_id),
            point_in_time=request.point_in_time or started_at,
            workload=request.workload,
            show_deleted=request.show_deleted,
            show_all_versions=request.show_all_versions,
        )
    except errors.UpstreamError as exc:
        try:
            found = (_find_session_created_despite(exc, request=request, started_at=started_at, client=client)
                     if exc.maybe_processed else None)
        except exceptions.StartOutcomeUnknown as unknown:
            _record_failure(request, unknown, audit_common, upstream_error=exc)
            raise
        if found is None:
            _record_failure(request, exc, audit_common)
            raise
        return _record_started(request=request, actor=actor, dto=found, client=client, audit_common=audit_common,
                               adopted_after=type(exc).__name__)
    return _record_started(request=request, actor=actor, dto=dto, client=client, audit_common=audit_common)


def _find_session_created_despite(exc: errors.UpstreamError, *, request: StartRequest, started_at: datetime,
                                  client: upstream.UpstreamClient) -> RestoreSessionDTO | None:
    """After a dropped connection or a timeout the upstream may have created the session: find it, but only
    when it can be told to be this request's.

    No version's explore body carries anything VB365 echoes on the session (CONTRACT.md §5.2: `reason` only
    in OperatorExplore, which Restore Desk does not use), so a session is this request's only when nothing
    else can have asked for it: the one unclaimed session of the organization and workload created by our
    account since the attempt began, while no other start of that organization and workload was in flight.
    Returns that session, or None when there is none or VB365 cannot be asked. Raises StartOutcomeUnknown
    when sessions were created but one could belong to another start.
    """
    earliest = started_at - CLOCK_SKEW
    try:
        page = client.list_restore_sessions(limit=50, start_time_from=earliest)
    except errors.UpstreamError:
        logger.warning("Could not check for a session created despite %s", type(exc).__name__)
        return None
    candidates = [
        dto for dto in page.items
        if dto.creation_time >= earliest and dto.workload == request.workload
        and (not dto.organization_name or dto.organization_name == request.organization.name)
        and _initiated_by_us(dto, client)
    ]
    claimed = set(RestoreSession.objects.filter(upstream_id__in=[dto.id for dto in candidates])
                  .exclude(origin=SessionOrigin.UPSTREAM, requested_by__isnull=True)
                  .values_list("upstream_id", flat=True))
    unclaimed = [dto for dto in candidates if uuid.UUID(dto.id) not in claimed]
    if not unclaimed:
        return None
    rivals = _concurrent_starts(request=request, since=earliest,
                                unclaimed_ids=[uuid.UUID(dto.id) for dto in unclaimed])
    if len(unclaimed) == 1 and not rivals:
        logger.info("Adopted upstream session %s created despite %s", unclaimed[0].id, type(exc).__name__)
        return unclaimed[0]
    logger.warning("Start %s lost its answer (%s); %d candidate session(s), %d concurrent start(s): not adopted",
                   request.pk, type(exc).__name__, len(unclaimed), len(rivals))
    raise exceptions.StartOutcomeUnknown(exceptions.START_OUTCOME_UNKNOWN,
                                         candidate_sessions=sorted(dto.id for dto in unclaimed),
                                         extra={"upstream_error": type(exc).__name__})


def _concurrent_starts(*, request: StartRequest, since: datetime, unclaimed_ids: list[uuid.UUID]) -> list[int]:
    """Other portal starts of the same organization and workload that may own one of the unclaimed
    sessions: any touched since `since`, except those already recorded with a session outside them."""
    others = (StartRequest.objects.filter(organization=request.organization, workload=request.workload,
                                          updated_at__gte=since)
              .exclude(pk=request.pk)
              .exclude(~Q(session__upstream_id__in=unclaimed_ids), status=StartRequest.Status.STARTED,
                       session__isnull=False))
    return list(others.values_list("pk", flat=True))


def _initiated_by_us(dto: RestoreSessionDTO, client: upstream.UpstreamClient) -> bool:
    """Sessions whose initiator VB365 names (v2+) must name the account the client signed in with.

    Inferred: VB365 writes the account as DOMAIN\\user or user@domain; tenant sessions name the tenant.
    """
    if not dto.initiated_by or client.as_tenant:
        return True
    account = client.config.username.lower().replace("/", "\\")
    initiator = dto.initiated_by.lower()
    return initiator == account or initiator.split("\\")[-1] == account.split("\\")[-1]


def _record_failure(request: StartRequest, exc: errors.UpstreamError | exceptions.StartOutcomeUnknown,
                    audit_common: dict[str, Any], *, upstream_error: errors.UpstreamError | None = None) -> None:
    """Mark the request failed and audit it. For a refusal after a lost answer, `upstream_error` is the
    failure that lost it, and the sessions that could not be told apart are in the audit details."""
    upstream_error = upstream_error or (exc if isinstance(exc, errors.UpstreamError) else None)
    request.status = StartRequest.Status.FAILED
    request.error_kind = type(exc).__name__
    request.error_message = exc.message
    details = {**_request_details(request), "error": type(exc).__name__, "message": exc.message,
               "status_code": upstream_error.status_code if upstream_error else None}
    if isinstance(exc, exceptions.StartOutcomeUnknown):
        details.update(exc.extra, candidate_sessions=exc.candidate_sessions)
    with transaction.atomic():
        request.save(update_fields=["status", "error_kind", "error_message", "updated_at"])
        audit_event_record(action=AuditAction.SESSION_START_FAILED, outcome=AuditOutcome.FAILURE,
                           details=details, **audit_common)


def _request_details(request: StartRequest) -> dict[str, Any]:
    return {
        "start_request": request.key,
        "point_in_time": request.point_in_time.isoformat() if request.point_in_time else "latest",
        "restore_point_id": request.restore_point_id,
        "show_deleted": request.show_deleted,
        "show_all_versions": request.show_all_versions,
    }


def _record_started(*, request: StartRequest, actor: User, dto: RestoreSessionDTO,
                    client: upstream.UpstreamClient, audit_common: dict[str, Any], adopted_after: str = ""
                    ) -> RestoreSession:
    """Record the started session. `adopted_after` names the failure that lost VB365's answer when the
    session was found afterwards; the audit event says so."""
    portal_fields = {"origin": SessionOrigin.PORTAL, "requested_by": actor,
                     **StartSpec.of_start_request(request).session_columns()}
    with transaction.atomic():
        session = _session_store_started(dto=dto, api_version=client.dialect.version, portal_fields=portal_fields)
        request.status = StartRequest.Status.STARTED
        request.session = session
        _START_REQUEST_UPDATE.save(request, ("status", "session", "updated_at"))
        details = _request_details(request)
        if adopted_after:
            details["adopted_after"] = adopted_after
        audit_event_record(action=AuditAction.SESSION_START, session_upstream_id=str(session.upstream_id),
                           details=details, **audit_common)
    return session


def _session_store_started(*, dto: RestoreSessionDTO, api_version: int, portal_fields: dict[str, Any]
                           ) -> RestoreSession:
    """Insert the record of a session the portal started, in one statement. A sync that read the session
    in the meantime has inserted it already: then that row takes the portal's fields."""
    fields = {**upstream_fields(dto, api_version=api_version), **portal_fields}
    return _SESSION_UPSERT.insert(RestoreSession(upstream_id=uuid.UUID(dto.id), **fields),
                                  update_fields=(*fields, "updated_at"))


# Every start runs these (prepared.py says why they are compiled once).
_START_REQUEST_INSERT = PreparedInsert(StartRequest)
_START_REQUEST_UPDATE = PreparedUpdate(StartRequest)
_SESSION_UPSERT = PreparedInsert(RestoreSession, unique_fields=("upstream_id",))
