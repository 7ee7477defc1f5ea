"""A restore session after its start: who may look at it, stopping it, and re-reading it and its events.

The upstream call comes first, then short local writes. Starting is services.session_start's.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from sessions_app import exceptions, selectors
from sessions_app.models import (
    AuditAction,
    AuditOutcome,
    Organization,
    RestoreSession,
    RestoreSessionEvent,
    Role,
    SessionState,
)
from sessions_app.prepared import PreparedUpdate
from sessions_app.services.audit import audit_event_record
from sessions_app.session_columns import EVENT_FIELDS, event_rows, upstream_fields
from sessions_app.upstream import client as upstream
from sessions_app.upstream import errors
from sessions_app.upstream.types import RestoreSessionDTO, RestoreSessionEventDTO

logger = logging.getLogger(__name__)

# Viewers of one working session (pages poll every 3 s, API clients) share one upstream read per interval.
LIVE_REFRESH_INTERVAL = timedelta(seconds=2)
# VB365 may round the closing event's start and the session's end time differently.
CLOSING_EVENT_SLACK = timedelta(seconds=1)


def restore_session_update_from(*, session: RestoreSession, dto: RestoreSessionDTO, api_version: int
                                ) -> RestoreSession:
    """Write what VB365 now says of a stored session onto its record (one UPDATE); portal fields are kept."""
    fields = upstream_fields(dto, api_version=api_version)
    if session.organization_id is None and dto.organization_name:
        organization = Organization.objects.filter(name=dto.organization_name).first()
        if organization is not None:
            fields["organization"] = organization
    # Most re-reads of a session find it as stored: then only the time of the read is written, not every
    # mirrored column (the stored values are equal already).
    changed = [name for name, value in fields.items() if name == "fetched_at" or getattr(session, name) != value]
    for name, value in fields.items():
        setattr(session, name, value)
    _SESSION_UPDATE.save(session, (*changed, "updated_at"))
    return session


# Every read of a working session writes what changed (prepared.py says why the UPDATE is written once).
_SESSION_UPDATE = PreparedUpdate(RestoreSession)


def restore_session_for_viewer(*, actor: AbstractBaseUser | AnonymousUser, upstream_id: str) -> RestoreSession:
    """The session if the actor may see it. Raises NotVisible otherwise (answered as 404, so ids cannot be
    probed), whose refusal says whether the session exists, for the audit trail; the page or API that
    answers records it under its own operation (viewing, stopping, ...)."""
    session = selectors.restore_session_get(user=actor, upstream_id=upstream_id)
    if session is not None:
        return session
    # Roles that see every session have just looked at all of them: there is no hidden one to look for.
    see_everything = selectors.user_role(actor) in selectors.SEE_EVERYTHING
    hidden = None if see_everything else selectors.restore_session_exists(upstream_id=upstream_id)
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
    if not selectors.may_stop_visible(actor, session):
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
    if events_in and (recently_read or (not session.is_working and _settled(session, has_events=has_events))):
        return session, None
    try:
        return restore_session_refresh(session=session, client=client, with_events=with_events), None
    except errors.UpstreamError as exc:
        logger.warning("Refresh of %s failed, serving the stored record: %s", session.upstream_id, exc)
        return session, exc


def _settled(session: RestoreSession, *, has_events: bool) -> bool:
    """Is there nothing more to read of an ended session: no events in this API version, VB365 forgot it, or
    its events are complete?"""
    return not has_events or session.forgotten_upstream_at is not None or events_complete(session=session)


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


def restore_session_events_store(*, session: RestoreSession, events: Iterable[RestoreSessionEventDTO]) -> int:
    """Insert or update the session's events; return how many were written."""
    now = timezone.now()
    rows = event_rows(session, events, fetched_at=now)
    with transaction.atomic():
        if rows:
            RestoreSessionEvent.objects.bulk_create(
                rows, update_conflicts=True, unique_fields=["session", "upstream_id"], update_fields=list(EVENT_FIELDS),
                batch_size=500,
            )
        session.events_fetched_at = now
        session.save(update_fields=["events_fetched_at", "updated_at"])
    return len(rows)
