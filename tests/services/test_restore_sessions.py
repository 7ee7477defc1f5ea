"""A session after its start (services.restore_sessions) against the simulator over HTTP: stopping, refreshing,
events; DB effects, audit rows, failure paths."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sessions_app import exceptions, selectors
from sessions_app.models import AuditAction, AuditEvent, RestoreSession, StartRequest
from sessions_app.services import restore_sessions
from sessions_app.upstream import client as upstream_client
from sessions_app.upstream import errors
from tests.services.starting import actions_of, start


def test_auditor_stop_refusal_names_the_stop(auditor, operator, backed_up_org, sim):
    session = start(operator, backed_up_org)
    with pytest.raises(exceptions.NotAllowed) as caught:
        restore_sessions.restore_session_stop(actor=auditor, session=session)
    refusal = caught.value.refusal
    assert refusal is not None and refusal.operation == "session.stop"
    assert refusal.session_upstream_id == str(session.upstream_id)


def test_stop_stops_upstream_and_records_it(operator, backed_up_org, sim):
    session = start(operator, backed_up_org)
    stopped = restore_sessions.restore_session_stop(actor=operator, session=session)
    assert stopped.state == "stopped" and stopped.end_time is not None
    assert actions_of(session.upstream_id)[-1] == AuditAction.SESSION_STOP


def test_stopping_a_stopped_session_is_a_conflict(operator, backed_up_org, sim):
    session = start(operator, backed_up_org)
    restore_sessions.restore_session_stop(actor=operator, session=session)
    session.refresh_from_db()
    with pytest.raises(exceptions.SessionAlreadyStopped):
        restore_sessions.restore_session_stop(actor=operator, session=session)


def test_stop_of_a_session_stopped_elsewhere_updates_the_record(operator, backed_up_org, sim):
    from sessions_app.upstream import client as upstream

    session = start(operator, backed_up_org)
    upstream.get_client().stop_restore_session(str(session.upstream_id))
    with pytest.raises(exceptions.SessionAlreadyStopped):
        restore_sessions.restore_session_stop(actor=operator, session=session)
    session.refresh_from_db()
    assert session.state == "stopped"


def test_stop_failure_is_audited_and_leaves_the_session_working(operator, backed_up_org, sim):
    session = start(operator, backed_up_org)
    sim.fault(path="(?i)/stop$", status=503)
    sim.fault(path="(?i)restoresessions/[^/]+$", status=503)
    with pytest.raises(errors.UpstreamUnavailable):
        restore_sessions.restore_session_stop(actor=operator, session=session)
    session.refresh_from_db()
    assert session.state == "working"
    assert actions_of(session.upstream_id)[-1] == AuditAction.SESSION_STOP_FAILED


def test_operator_cannot_stop_a_session_outside_grants(operator, helpdesk, other_org, sim):
    session = start(helpdesk, other_org)
    with pytest.raises(exceptions.NotVisible):
        restore_sessions.restore_session_stop(actor=operator, session=session)


def test_auditor_cannot_stop(auditor, operator, backed_up_org, sim):
    session = start(operator, backed_up_org)
    with pytest.raises(exceptions.NotAllowed):
        restore_sessions.restore_session_stop(actor=auditor, session=session)


def test_refresh_stores_events(operator, backed_up_org, sim):
    session = start(operator, backed_up_org)
    refreshed = restore_sessions.restore_session_refresh(session=session)
    titles = list(refreshed.events.values_list("title", flat=True))
    assert titles and "started" in titles[0].lower()
    restore_sessions.restore_session_refresh(session=session)
    assert refreshed.events.count() == len(titles) or refreshed.events.count() > len(titles)


def test_refresh_of_a_session_vb365_forgot_keeps_it_marked(operator, backed_up_org, sim):
    session = start(operator, backed_up_org)
    RestoreSession.objects.filter(pk=session.pk).update(upstream_id=uuid.uuid4())
    session.refresh_from_db()
    refreshed = restore_sessions.restore_session_refresh(session=session)
    assert refreshed.forgotten_upstream_at is not None
    assert RestoreSession.objects.filter(pk=session.pk).exists()


@pytest.mark.parametrize("version", [1, 4, 5, 6, 8])
def test_start_and_stop_in_every_version_family(operator, backed_up_org, upstream, version):
    upstream(version)
    session = start(operator, backed_up_org)
    assert session.api_version == version and session.state == "working"
    stopped = restore_sessions.restore_session_stop(actor=operator, session=session)
    assert stopped.state == "stopped"


def test_expired_token_with_refresh_refused_ends_in_a_clear_auth_error(operator, backed_up_org, fresh_sim):
    start(operator, backed_up_org)
    fresh_sim.expire_tokens()
    fresh_sim.fault(path="(?i)/token$", status=400)
    with pytest.raises(errors.UpstreamAuthError) as caught:
        start(operator, backed_up_org, reason="after expiry")
    assert caught.value.status_code == 400
    request = StartRequest.objects.get(reason="after expiry")
    assert request.status == StartRequest.Status.FAILED and request.error_kind == "UpstreamAuthError"
    failed = AuditEvent.objects.get(action=AuditAction.SESSION_START_FAILED)
    assert failed.reason == "after expiry" and failed.details["error"] == "UpstreamAuthError"
    fresh_sim.clear_faults()
    assert start(operator, backed_up_org).state == "working"


def _titles_and_statuses(session: RestoreSession) -> tuple[list[str], set[str]]:
    events = session.events.order_by("order")
    return list(events.values_list("title", flat=True)), set(events.values_list("status", flat=True))


def test_stop_reads_the_events_again_with_the_closing_event(operator, backed_up_org, sim):
    session = start(operator, backed_up_org, workload="onedrive")
    sim.advance_clock(5.5)  # item event 1 started at 5 s and runs at least 1 s
    restore_sessions.restore_session_refresh(session=session)
    assert "Running" in _titles_and_statuses(session)[1]
    stopped = restore_sessions.restore_session_stop(actor=operator, session=session)
    titles, statuses = _titles_and_statuses(stopped)
    assert titles[-1] == "Restore session stopped" and "Running" not in statuses
    assert restore_sessions.events_complete(session=stopped)


def test_a_session_that_ended_after_its_events_were_read_is_read_again(operator, backed_up_org, sim):
    """Stopped elsewhere (VB365 console, another portal page), recorded without its events: the next look
    reads them, however long after the last read."""
    session = start(operator, backed_up_org, workload="onedrive")
    sim.advance_clock(5.5)
    restore_sessions.restore_session_refresh(session=session)
    client = upstream_client.get_client()
    client.stop_restore_session(str(session.upstream_id))
    restore_sessions.restore_session_update_from(session=session, dto=client.get_restore_session(
        str(session.upstream_id)), api_version=8)
    RestoreSession.objects.filter(pk=session.pk).update(fetched_at=timezone.now() - timedelta(hours=1))
    session.refresh_from_db()
    assert session.state == "stopped" and not restore_sessions.events_complete(session=session)

    current, error = restore_sessions.restore_session_current(session=session)
    assert error is None
    titles, statuses = _titles_and_statuses(current)
    assert titles[-1] == "Restore session stopped" and "Running" not in statuses


def test_an_ended_session_with_complete_events_is_not_read_again(operator, backed_up_org, sim):
    session = restore_sessions.restore_session_stop(actor=operator, session=start(operator, backed_up_org))
    RestoreSession.objects.filter(pk=session.pk).update(fetched_at=timezone.now() - timedelta(hours=1))
    session.refresh_from_db()
    before = sim.request_count("GET /v8/RestoreSessions/{restoreSessionId}")
    restore_sessions.restore_session_current(session=session)
    assert sim.request_count("GET /v8/RestoreSessions/{restoreSessionId}") == before


@pytest.mark.parametrize(("change", "complete"), [
    ({}, True),
    ({"status": "Running"}, False),
    ({"delete_closing": True}, False),
    ({"never_read": True}, False),
])
def test_events_complete_needs_events_without_a_running_one_and_with_the_closing_one(
        operator, backed_up_org, sim, change, complete):
    working = start(operator, backed_up_org)
    sim.advance_clock(2)  # the start event lies well before the end
    session = restore_sessions.restore_session_stop(actor=operator, session=working)
    closing = session.events.order_by("-order").first()
    assert closing is not None
    if change.get("status"):
        session.events.filter(order=0).update(status=change["status"])
    if change.get("delete_closing"):
        closing.delete()
    if change.get("never_read"):
        RestoreSession.objects.filter(pk=session.pk).update(events_fetched_at=None)
    session.refresh_from_db()
    assert restore_sessions.events_complete(session=session) is complete


def test_a_working_session_has_no_result_whatever_vb365_sent(operator, backed_up_org, sim):
    session = start(operator, backed_up_org)
    assert session.raw["result"] == "Success"
    assert session.state == "working" and session.result == ""
    restore_sessions.restore_session_refresh(session=session)
    session.refresh_from_db()
    assert session.result == ""
    stopped = restore_sessions.restore_session_stop(actor=operator, session=session)
    assert stopped.result == "success"


def test_a_reread_that_finds_the_session_as_stored_writes_only_the_time_of_the_read(operator, backed_up_org, sim):
    session = start(operator, backed_up_org)
    dto = upstream_client.get_client().get_restore_session(str(session.upstream_id))
    restore_sessions.restore_session_update_from(session=session, dto=dto, api_version=8)
    before = RestoreSession.objects.get(pk=session.pk)
    with CaptureQueriesContext(connection) as queries:
        restore_sessions.restore_session_update_from(session=session, dto=dto, api_version=8)
    (update,) = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("UPDATE")]
    assert '"fetched_at"' in update and '"raw"' not in update and '"state"' not in update
    after = RestoreSession.objects.get(pk=session.pk)
    assert after.fetched_at > before.fetched_at and after.raw == before.raw and after.state == before.state


def test_an_unknown_id_costs_staff_who_see_everything_one_lookup(helpdesk, sim, django_assert_num_queries):
    unknown = str(uuid.uuid4())
    selectors.user_role(helpdesk)  # read once per request, by the authentication
    with django_assert_num_queries(1), pytest.raises(exceptions.NotVisible) as caught:
        restore_sessions.restore_session_for_viewer(actor=helpdesk, upstream_id=unknown)
    refusal = caught.value.refusal
    assert refusal is not None and refusal.target == unknown and refusal.why == "no such session"
