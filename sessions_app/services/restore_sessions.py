"""Starting, stopping and refreshing restore sessions: the upstream call first, then short local writes.

A start is recorded as a StartRequest before anything is sent, so the reason survives every failure, and
the (user, key) pair makes a resubmitted form or a retried API call return the first result.
"""
from __future__ import annotations

import logging
import uuid
import time
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from sessions_app import exceptions, selectors
from sessions_app.models import (
    AuditAction,
    AuditOutcome,
    Organization,
    RestoreSession,
    RestoreSessionEvent,
    Role,
    SessionOrigin,
    SessionState,
    StartRequest,
)
from sessions_app.services.audit import audit_event_record
from sessions_app.upstream import client as upstream
from sessions_app.upstream import errors
from sessions_app.upstream.types import RestoreSessionDTO

logger = logging.getLogger(__name__)

# A failed attempt with one of these may be tried again with the same key; other failures are replayed.
RETRYABLE_ERROR_KINDS = {"UpstreamUnavailable", "UpstreamTimeout", "UpstreamBadResponse", "UpstreamAuthError"}
# Viewers of one working session (pages poll every 3 s, API clients) share one upstream read per interval.
LIVE_REFRESH_INTERVAL = timedelta(seconds=2)
# How far apart the portal's and VB365's clocks may be for a session created "during" an attempt.
CLOCK_SKEW = timedelta(seconds=30)
# VB365 may round the closing event's start and the session's end time differently.
CLOSING_EVENT_SLACK = timedelta(seconds=1)
EVENT_FIELDS = ("type", "status", "title", "message", "order", "start_time", "end_time", "duration", "item_name",
                "item_type", "item_size_bytes", "source", "target", "raw", "fetched_at")


def restore_session_start(
    *,
    actor: AbstractBaseUser,
    key: str,
    organization: Organization,
    workload: str,
    reason: str,
    point_in_time: datetime | None = None,
    restore_point_id: str = "",
    show_deleted: bool = False,
    show_all_versions: bool = False,
    scope: str = "",
    ticket: str = "",
    on_behalf_of: AbstractBaseUser | None = None,
    client_address: str = "",
    client: upstream.UpstreamClient | None = None,
) -> RestoreSession:
    """Start one upstream session for this submission and return its local record.

    `point_in_time=None` means the latest backup. Raises PortalError subclasses for refused requests (no
    upstream call is made) and UpstreamError when VB365 fails; in both cases the reason stays recorded
    (StartRequest, audit trail). The same `key` from the same actor never starts a second session.
    """
    client = client or upstream.get_client()
    _check_start_allowed(actor=actor, organization=organization, workload=workload, on_behalf_of=on_behalf_of,
                         ticket=ticket, client=client)
    if not reason.strip():
        raise exceptions.StartRefused(exceptions.REASON_REQUIRED, extra={"fields": {"reason": [exceptions.REASON_REQUIRED]}})
    _check_point_in_time(organization=organization, point_in_time=point_in_time)
    wanted = {
        "organization": organization, "workload": workload, "point_in_time": point_in_time,
        "latest": point_in_time is None, "restore_point_id": restore_point_id, "show_deleted": show_deleted,
        "show_all_versions": show_all_versions, "reason": reason.strip(), "scope": scope.strip(),
        "ticket": ticket.strip(), "on_behalf_of": on_behalf_of,
    }
    request, claimed = _claim(actor=actor, key=key, wanted=wanted, client_address=client_address)
    if not claimed:
        return _replay(request=request, actor=actor, client=client, client_address=client_address)
    return _send_start(request=request, actor=actor, client=client, client_address=client_address)


def _check_start_allowed(*, actor: AbstractBaseUser, organization: Organization, workload: str,
                         on_behalf_of: AbstractBaseUser | None, ticket: str,
                         client: upstream.UpstreamClient) -> None:
    if not selectors.organization_visible(user=actor, organization=organization):
        raise exceptions.NotVisible("No such organization.", refusal=_start_refusal(
            organization, workload, "organization outside the user's grants"))
    if not selectors.can_start(actor):
        raise exceptions.NotAllowed(exceptions.NOT_ALLOWED, refusal=_start_refusal(
            organization, workload, "role may not start sessions"))
    if on_behalf_of is not None:
        if not selectors.can_act_on_behalf(actor):
            raise exceptions.NotAllowed(exceptions.ON_BEHALF_NOT_ALLOWED, refusal=_start_refusal(
                organization, workload, "role may not act on behalf of others"))
        if not selectors.on_behalf_allowed(user=actor, organization=organization, person=on_behalf_of):
            raise exceptions.StartRefused(exceptions.ON_BEHALF_NOT_ELIGIBLE, extra={"fields": {
                "on_behalf_of": [exceptions.ON_BEHALF_NOT_ELIGIBLE]}}, refusal=_start_refusal(
                organization, workload, "on behalf of someone who may not start sessions here"))
        if not ticket.strip():
            raise exceptions.StartRefused(exceptions.ON_BEHALF_REQUIRES_TICKET,
                                          extra={"fields": {"ticket": [exceptions.ON_BEHALF_REQUIRES_TICKET]}})
    if workload not in client.dialect.workloads:
        message = exceptions.WORKLOAD_NOT_SUPPORTED.format(version=client.dialect.version, workload=workload)
        raise exceptions.StartRefused(message, extra={"fields": {"workload": [message]}})
    allowed = selectors.workloads_allowed(user=actor, organization=organization)
    if allowed is not None and workload not in allowed:
        message = exceptions.WORKLOAD_NOT_GRANTED.format(workload=workload)
        raise exceptions.StartRefused(message, extra={"fields": {"workload": [message]}}, refusal=_start_refusal(
            organization, workload, "workload outside the user's grants"))


def _check_point_in_time(*, organization: Organization, point_in_time: datetime | None) -> None:
    if not organization.is_backed_up:
        raise exceptions.StartRefused(exceptions.ORGANIZATION_NEVER_BACKED_UP,
                                      extra={"fields": {"organization": [exceptions.ORGANIZATION_NEVER_BACKED_UP]}})
    if point_in_time is not None and point_in_time > timezone.now():
        raise exceptions.StartRefused(exceptions.POINT_IN_TIME_IN_FUTURE,
                                      extra={"fields": {"point_in_time": [exceptions.POINT_IN_TIME_IN_FUTURE]}})


def _start_refusal(organization: Organization, workload: str, why: str) -> exceptions.Refusal:
    """Recorded by the page or API that answers the refusal (services.refusals)."""
    return exceptions.Refusal(operation="session.start", target=str(organization.upstream_id),
                              organization=organization, workload=workload, why=why)


def _claim(*, actor: AbstractBaseUser, key: str, wanted: dict[str, Any],
           client_address: str) -> tuple[StartRequest, bool]:
    """Insert the StartRequest and audit the attempt, in one transaction; (row, True) for the caller that
    inserted it, (existing row, False) otherwise."""
    created: StartRequest | None = None
    try:
        with transaction.atomic():
            created = StartRequest.objects.create(requested_by=actor, key=key, **wanted)
            _audit_attempt(request=created, actor=actor, client_address=client_address)
        return created, True
    except IntegrityError:
        if created is not None:
            raise
        existing = StartRequest.objects.select_related("session", "organization").get(requested_by=actor, key=key)
    if not _same_request(existing, wanted):
        raise exceptions.IdempotencyKeyReused(exceptions.IDEMPOTENCY_KEY_REUSED)
    return existing, False


def _same_request(existing: StartRequest, wanted: dict[str, Any]) -> bool:
    """Does a repeated submission ask for exactly what the recorded one asked? Every field counts: a key
    reused for another moment, scope, ticket or person must not be answered with the first session."""
    related = {"organization": existing.organization_id, "on_behalf_of": existing.on_behalf_of_id}
    for name, value in wanted.items():
        if name in related:
            if related[name] != (value.pk if value is not None else None):
                return False
        elif getattr(existing, name) != value:
            return False
    return True


def _replay(*, request: StartRequest, actor: AbstractBaseUser, client: upstream.UpstreamClient,
            client_address: str) -> RestoreSession:
    """The answer for a repeated submission: the first session, the first error, or a fresh try."""
    request = _wait_while_pending(request, client)
    if request.status == StartRequest.Status.STARTED and request.session is not None:
        return request.session
    if request.status == StartRequest.Status.FAILED:
        if request.error_kind not in RETRYABLE_ERROR_KINDS:
            raise exceptions.StartFailed(request.error_message, extra={"upstream_error": request.error_kind})
        if _reclaim(request, from_status=StartRequest.Status.FAILED):
            return _perform_start(request=request, actor=actor, client=client, client_address=client_address)
        return _replay(request=request, actor=actor, client=client, client_address=client_address)
    if _reclaim(request, from_status=StartRequest.Status.PENDING, stale_before=_stale_deadline(client)):
        return _perform_start(request=request, actor=actor, client=client, client_address=client_address)
    raise exceptions.Conflict(exceptions.START_IN_PROGRESS)


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


def _perform_start(*, request: StartRequest, actor: AbstractBaseUser, client: upstream.UpstreamClient,
                   client_address: str) -> RestoreSession:
    """A fresh try of a reclaimed request: audit the attempt, then send it."""
    _audit_attempt(request=request, actor=actor, client_address=client_address)
    return _send_start(request=request, actor=actor, client=client, client_address=client_address)


def _audit_context(request: StartRequest, actor: AbstractBaseUser, client_address: str) -> dict[str, Any]:
    """The audit fields every event of one start attempt shares."""
    return {
        "actor": actor, "organization": request.organization, "workload": request.workload,
        "reason": request.reason, "scope": request.scope, "ticket": request.ticket, "client_address": client_address,
        "on_behalf_of_username": request.on_behalf_of.get_username() if request.on_behalf_of else "",
    }


def _audit_attempt(*, request: StartRequest, actor: AbstractBaseUser, client_address: str) -> None:
    audit_event_record(action=AuditAction.SESSION_START_ATTEMPT, details=_request_details(request),
                       **_audit_context(request, actor, client_address))


def _send_start(*, request: StartRequest, actor: AbstractBaseUser, client: upstream.UpstreamClient,
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


def _record_started(*, request: StartRequest, actor: AbstractBaseUser, dto: RestoreSessionDTO,
                    client: upstream.UpstreamClient, audit_common: dict[str, Any], adopted_after: str = ""
                    ) -> RestoreSession:
    """Record the started session. `adopted_after` names the failure that lost VB365's answer when the
    session was found afterwards; the audit event says so."""
    portal_fields = {
        "origin": SessionOrigin.PORTAL,
        "requested_by": actor,
        "on_behalf_of": request.on_behalf_of,
        "reason": request.reason,
        "scope": request.scope,
        "ticket": request.ticket,
        "requested_point_in_time": request.point_in_time,
        "requested_latest": request.latest,
        "restore_point_id": request.restore_point_id,
        "show_deleted": request.show_deleted,
        "show_all_versions": request.show_all_versions,
        "organization": request.organization,
    }
    with transaction.atomic():
        session = _session_store_started(dto=dto, api_version=client.dialect.version, portal_fields=portal_fields)
        request.status = StartRequest.Status.STARTED
        request.session = session
        request.save(update_fields=["status", "session", "updated_at"])
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
    session = RestoreSession(upstream_id=uuid.UUID(dto.id), **fields)
    RestoreSession.objects.bulk_create([session], update_conflicts=True, unique_fields=["upstream_id"],
                                       update_fields=[*fields, "updated_at"])
    return session


def upstream_fields(dto: RestoreSessionDTO, *, api_version: int) -> dict[str, Any]:
    """The local columns that mirror the upstream session (never the portal's own fields)."""
    return {
        "workload": dto.workload,
        "name": dto.name,
        "organization_name": dto.organization_name,
        "state": dto.state,
        # VB365 sends "result": "Success" while a session still works (CONTRACT.md §6, the v3 example): a
        # working session has no result yet.
        "result": "" if dto.state == SessionState.WORKING else dto.result,
        "creation_time": dto.creation_time,
        "end_time": dto.end_time,
        "upstream_point_in_time": dto.point_in_time,
        "initiated_by": dto.initiated_by,
        "details": dto.details,
        "scope_name": dto.scope_name,
        "client_host": dto.client_host,
        "upstream_reason": dto.reason,
        "etag": dto.etag,
        "raw": dto.raw,
        "fetched_at": timezone.now(),
        "api_version": api_version,
        "forgotten_upstream_at": None,
    }


def restore_session_update_from(*, session: RestoreSession, dto: RestoreSessionDTO, api_version: int
                                ) -> RestoreSession:
    """Write what VB365 now says of a stored session onto its record (one UPDATE); portal fields are kept."""
    fields = upstream_fields(dto, api_version=api_version)
    if session.organization_id is None and dto.organization_name:
        organization = Organization.objects.filter(name=dto.organization_name).first()
        if organization is not None:
            fields["organization"] = organization
    for name, value in fields.items():
        setattr(session, name, value)
    session.save(update_fields=[*fields, "updated_at"])
    return session


def restore_session_for_viewer(*, actor: AbstractBaseUser, upstream_id: str) -> RestoreSession:
    """The session if the actor may see it. Raises NotVisible otherwise (answered as 404, so ids cannot be
    probed), whose refusal says whether the session exists, for the audit trail; the page or API that
    answers records it under its own operation (viewing, stopping, ...)."""
    session = selectors.restore_session_get(user=actor, upstream_id=upstream_id)
    if session is not None:
        return session
    hidden = selectors.restore_session_exists(upstream_id=upstream_id)
    if hidden is None:
        refusal = exceptions.Refusal(target=str(upstream_id), why="no such session")
    else:
        refusal = exceptions.Refusal(target=str(hidden.upstream_id), organization=hidden.organization,
                                     workload=hidden.workload, session_upstream_id=str(hidden.upstream_id),
                                     why="session outside the user's grants")
    raise exceptions.NotVisible("No such restore session.", refusal=refusal)


def restore_session_stop(*, actor: AbstractBaseUser, session: RestoreSession, client_address: str = "",
                         client: upstream.UpstreamClient | None = None) -> RestoreSession:
    """Stop a working session upstream and record it. Raises NotVisible, NotAllowed, SessionAlreadyStopped
    or UpstreamError; every attempt is audited."""
    client = client or upstream.get_client()
    audit_common: dict[str, Any] = {"actor": actor, "organization": session.organization, "workload": session.workload,
                                    "session_upstream_id": str(session.upstream_id), "client_address": client_address}
    refusal = exceptions.Refusal(operation="session.stop", target=str(session.upstream_id),
                                 organization=session.organization, workload=session.workload,
                                 session_upstream_id=str(session.upstream_id))
    if selectors.restore_session_get(user=actor, upstream_id=session.upstream_id) is None:
        raise exceptions.NotVisible("No such restore session.",
                                    refusal=replace(refusal, why="session outside the user's grants"))
    if not selectors.can_stop(actor, session):
        why = ("tenants stop only their own users' sessions" if selectors.user_role(actor) == Role.TENANT
               else "role may not stop it")
        raise exceptions.NotAllowed(exceptions.NOT_ALLOWED, refusal=replace(refusal, why=why))
    if session.state == SessionState.STOPPED:
        raise exceptions.SessionAlreadyStopped(exceptions.SESSION_ALREADY_STOPPED)
    stopped = restore_session_stop_upstream(session=session, client=client, audit_common=audit_common)
    if stopped is None:
        raise exceptions.SessionAlreadyStopped(exceptions.SESSION_ALREADY_STOPPED)
    return stopped


def restore_session_stop_upstream(*, session: RestoreSession, client: upstream.UpstreamClient,
                                  audit_common: dict[str, Any],
                                  details: dict[str, Any] | None = None) -> RestoreSession | None:
    """Stop `session` in VB365 and record it (SESSION_STOP, or SESSION_STOP_FAILED before re-raising the
    UpstreamError), with `audit_common` saying who and `details` why. None when VB365 refused because the
    session had ended by itself meanwhile: nothing was stopped, and the record now says so. Whoever calls it
    has already decided that the stop is allowed (a person's stop, or the idle policy)."""
    details = details or {}
    try:
        client.stop_restore_session(str(session.upstream_id))
    except errors.UpstreamError as exc:
        current = _try_get(client, session)
        if current is not None and current.state == SessionState.STOPPED:
            restore_session_update_from(session=session, dto=current, api_version=client.dialect.version)
            return None
        audit_event_record(action=AuditAction.SESSION_STOP_FAILED, outcome=AuditOutcome.FAILURE,
                           details={**details, "error": type(exc).__name__, "message": exc.message,
                                    "status_code": exc.status_code}, **audit_common)
        raise
    current = _try_get(client, session)
    if current is not None:
        session = restore_session_update_from(session=session, dto=current, api_version=client.dialect.version)
        _try_events_store(client, session)
    else:
        # The stop succeeded; VB365 could not be read back. Record what we know.
        session.state = SessionState.STOPPED
        session.end_time = session.end_time or timezone.now()
        session.save(update_fields=["state", "end_time", "updated_at"])
    # The session's contents are gone upstream: so are the pages browsed (imported here: browse uses this module).
    from sessions_app.services import browse

    browse.browse_cache_drop(session=session)
    audit_event_record(action=AuditAction.SESSION_STOP, details=details, **audit_common)
    return session


def _try_get(client: upstream.UpstreamClient, session: RestoreSession) -> RestoreSessionDTO | None:
    try:
        return client.get_restore_session(str(session.upstream_id))
    except errors.UpstreamError:
        return None


def _try_events_store(client: upstream.UpstreamClient, session: RestoreSession) -> None:
    """Read the events of a session that has just ended (its closing event is new); when VB365 cannot
    answer, restore_session_current reads them on the next look (events_complete)."""
    try:
        events = client.iter_restore_session_events(str(session.upstream_id))
        restore_session_events_store(session=session, events=events)
    except errors.UpstreamError as exc:
        logger.warning("Events of %s not read after its stop: %s", session.upstream_id, exc)


def restore_session_refresh(*, session: RestoreSession, client: upstream.UpstreamClient | None = None,
                            with_events: bool = True) -> RestoreSession:
    """Re-read a session (and its events) from VB365. A session VB365 no longer knows is marked forgotten.

    Raises UpstreamError (other than not-found) when VB365 cannot answer; the local record is unchanged then.
    """
    client = client or upstream.get_client()
    try:
        dto = client.get_restore_session(str(session.upstream_id))
    except errors.UpstreamNotFound:
        if session.forgotten_upstream_at is None:
            session.forgotten_upstream_at = timezone.now()
            session.save(update_fields=["forgotten_upstream_at", "updated_at"])
        return session
    session = restore_session_update_from(session=session, dto=dto, api_version=client.dialect.version)
    if with_events:
        restore_session_events_store(session=session, events=client.iter_restore_session_events(dto.id))
    return session


def restore_session_current(*, session: RestoreSession, client: upstream.UpstreamClient | None = None,
                            with_events: bool = True) -> tuple[RestoreSession, errors.UpstreamError | None]:
    """The session for someone looking at it: re-read from VB365 while it works, and once it has ended
    until its events are complete (events_complete), at most once per LIVE_REFRESH_INTERVAL whoever asks;
    as stored once it has ended and its events are complete.

    Never raises for VB365's failures: returns the stored record with the error, so that pages and the API
    can still show the last known state.
    """
    has_events = with_events and (client.dialect if client else upstream.configured_dialect()).has_events
    events_in = session.events_fetched_at is not None or not with_events
    recently_read = timezone.now() - session.fetched_at < LIVE_REFRESH_INTERVAL
    if events_in and (recently_read or not session.is_working):
        if recently_read or not has_events or session.forgotten_upstream_at or events_complete(session=session):
            return session, None
    try:
        return restore_session_refresh(session=session, client=client, with_events=with_events), None
    except errors.UpstreamError as exc:
        logger.warning("Refresh of %s failed, serving the stored record: %s", session.upstream_id, exc)
        return session, exc


def events_complete(*, session: RestoreSession) -> bool:
    """Are the stored events of an ended session all there is? Not when none were read, an event is still
    running, or none starts at or after its end (VB365 closes a session with a "Restore session stopped"
    event at its end time). Both tests read VB365's own times, never the portal's clock (the two clocks may
    differ). A working session's events are never complete."""
    if session.is_working or session.events_fetched_at is None:
        return False
    if session.end_time is None:
        return True
    events = session.events.all()
    return (not events.filter(status__iexact="running").exists()
            and events.filter(start_time__gte=session.end_time - CLOSING_EVENT_SLACK).exists())


def restore_session_events_store(*, session: RestoreSession, events: Any) -> int:
    """Insert or update the session's events from an iterable of DTOs; return how many were written."""
    now = timezone.now()
    rows = [
        RestoreSessionEvent(
            session=session, upstream_id=dto.id, type=dto.type, status=dto.status, title=dto.title,
            message=dto.message, order=dto.order, start_time=dto.start_time, end_time=dto.end_time,
            duration=dto.duration, item_name=dto.item_name, item_type=dto.item_type,
            item_size_bytes=dto.item_size_bytes, source=dto.source, target=dto.target, raw=dto.raw, fetched_at=now,
        )
        for dto in events
    ]
    with transaction.atomic():
        if rows:
            RestoreSessionEvent.objects.bulk_create(
                rows, update_conflicts=True, unique_fields=["session", "upstream_id"], update_fields=list(EVENT_FIELDS),
                batch_size=500,
            )
        session.events_fetched_at = now
        session.save(update_fields=["events_fetched_at", "updated_at"])
    return len(rows)
