"""The start/stop/refresh service against the simulator over HTTP: DB effects, audit rows, failure paths."""
from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from sessions_app import exceptions
from sessions_app.models import AuditAction, AuditEvent, RestoreSession, SessionOrigin, StartRequest
from sessions_app.services import restore_sessions, sync
from sessions_app.upstream import client as upstream_client
from sessions_app.upstream import errors

EXPLORE_V8 = "POST /v8/Organizations/{organizationId}/explore"


def start(actor: Any, organization: Any, **overrides: Any) -> RestoreSession:
    arguments: dict[str, Any] = {"actor": actor, "key": str(uuid.uuid4()), "organization": organization,
                                 "workload": "exchange", "reason": "User deleted a folder"}
    arguments.update(overrides)
    return restore_sessions.restore_session_start(**arguments)


def actions_of(session_id: Any = None) -> list[str]:
    events = AuditEvent.objects.order_by("sequence")
    if session_id is not None:
        events = events.filter(session_upstream_id=str(session_id))
    return list(events.values_list("action", flat=True))


def test_start_records_the_upstream_session_with_reason_scope_and_requester(operator, backed_up_org, sim):
    session = start(operator, backed_up_org, scope="mailbox j.doe", show_deleted=True)
    assert session.origin == SessionOrigin.PORTAL
    assert session.requested_by == operator
    assert session.reason == "User deleted a folder"
    assert session.scope == "mailbox j.doe"
    assert session.show_deleted is True
    assert session.requested_latest is True
    assert session.state == "working"
    assert session.organization == backed_up_org
    assert session.organization_name == backed_up_org.name
    assert session.raw["id"].lower() == str(session.upstream_id)
    request = StartRequest.objects.get(session=session)
    assert request.status == StartRequest.Status.STARTED
    assert AuditAction.SESSION_START in actions_of(session.upstream_id)


def test_a_session_a_sync_stored_before_the_start_was_recorded_takes_the_portals_fields(
        operator, backed_up_org, sim):
    class SyncRightAfterExplore(upstream_client.UpstreamClient):
        def start_restore_session(self, **kwargs: Any) -> Any:
            created = super().start_restore_session(**kwargs)
            sync.restore_sessions_sync(client=self, with_events=False)
            return created

    with SyncRightAfterExplore(upstream_client.upstream_config_from_settings()) as client:
        session = start(operator, backed_up_org, scope="mailbox j.doe", client=client)

    row = RestoreSession.objects.get(upstream_id=session.upstream_id)
    assert row.pk == session.pk
    assert (row.origin, row.requested_by, row.reason, row.scope) == (
        SessionOrigin.PORTAL, operator, "User deleted a folder", "mailbox j.doe")
    assert StartRequest.objects.get(session=row).status == StartRequest.Status.STARTED
    assert actions_of(session.upstream_id) == [AuditAction.SESSION_START]


def test_start_with_a_point_in_time_sends_it_upstream(operator, backed_up_org, sim):
    moment = (backed_up_org.last_backup - timedelta(days=3)).replace(microsecond=0)
    session = start(operator, backed_up_org, point_in_time=moment)
    assert session.requested_point_in_time == moment
    assert session.requested_latest is False


def test_same_key_twice_makes_one_upstream_session(operator, backed_up_org, sim):
    before = sim.request_count(EXPLORE_V8)
    key = str(uuid.uuid4())
    first = start(operator, backed_up_org, key=key)
    second = start(operator, backed_up_org, key=key)
    assert first.pk == second.pk
    assert sim.request_count(EXPLORE_V8) == before + 1


def test_same_key_with_a_different_request_is_a_conflict(operator, backed_up_org, sim):
    key = str(uuid.uuid4())
    start(operator, backed_up_org, key=key)
    with pytest.raises(exceptions.Conflict) as caught:
        start(operator, backed_up_org, key=key, reason="something else")
    assert caught.value.message == exceptions.IDEMPOTENCY_KEY_REUSED


@pytest.mark.django_db(transaction=True)
def test_two_workers_with_one_submission_make_one_upstream_session(operator, backed_up_org, sim):
    sim.fault(latency_ms=400, path="explore")
    before = sim.request_count(EXPLORE_V8)
    key = str(uuid.uuid4())
    results: list[Any] = []

    def worker() -> None:
        try:
            results.append(start(operator, backed_up_org, key=key).upstream_id)
        except Exception as exc:  # recorded for the assertion below
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1 and isinstance(results[0], uuid.UUID), results
    assert sim.request_count(EXPLORE_V8) == before + 1


def test_never_backed_up_organization_is_refused_without_calling_upstream(operator, never_backed_up_org, sim):
    from sessions_app.services import accounts

    accounts.grant_add(user=operator, organization=never_backed_up_org)
    before = sim.request_count(EXPLORE_V8)
    with pytest.raises(exceptions.StartRefused) as caught:
        start(operator, never_backed_up_org)
    assert caught.value.message == exceptions.ORGANIZATION_NEVER_BACKED_UP
    assert sim.request_count(EXPLORE_V8) == before


def test_future_point_in_time_is_refused(operator, backed_up_org, sim):
    with pytest.raises(exceptions.StartRefused) as caught:
        start(operator, backed_up_org, point_in_time=timezone.now() + timedelta(hours=1))
    assert caught.value.message == exceptions.POINT_IN_TIME_IN_FUTURE


def test_blank_reason_is_refused(operator, backed_up_org, sim):
    with pytest.raises(exceptions.StartRefused) as caught:
        start(operator, backed_up_org, reason="   ")
    assert caught.value.message == exceptions.REASON_REQUIRED


def test_organization_outside_grants_is_invisible_and_audited(operator, other_org, sim):
    with pytest.raises(exceptions.NotVisible):
        start(operator, other_org)
    denied = AuditEvent.objects.get(action=AuditAction.ACCESS_DENIED)
    assert denied.actor_username == "olivia"
    assert denied.organization_id == str(other_org.upstream_id)


def test_workload_outside_grant_is_refused(exchange_operator, other_org, sim):
    with pytest.raises(exceptions.StartRefused):
        start(exchange_operator, other_org, workload="onedrive")
    assert start(exchange_operator, other_org, workload="exchange").workload == "exchange"


def test_workload_the_api_version_cannot_explore_is_refused(operator, backed_up_org, upstream):
    upstream(1)
    with pytest.raises(exceptions.StartRefused) as caught:
        start(operator, backed_up_org, workload="sharepoint")
    assert "v1" in caught.value.message


def test_auditor_may_not_start(auditor, backed_up_org, sim):
    with pytest.raises(exceptions.NotAllowed):
        start(auditor, backed_up_org)


def test_helpdesk_starts_on_behalf_only_with_a_ticket(helpdesk, operator, backed_up_org, sim):
    with pytest.raises(exceptions.StartRefused) as caught:
        start(helpdesk, backed_up_org, on_behalf_of=operator)
    assert caught.value.message == exceptions.ON_BEHALF_REQUIRES_TICKET
    session = start(helpdesk, backed_up_org, on_behalf_of=operator, ticket="INC-42")
    assert session.requested_by == helpdesk and session.on_behalf_of == operator and session.ticket == "INC-42"
    event = AuditEvent.objects.get(action=AuditAction.SESSION_START, session_upstream_id=str(session.upstream_id))
    assert event.on_behalf_of_username == "olivia" and event.ticket == "INC-42"


def test_operator_may_not_act_on_behalf(operator, helpdesk, backed_up_org, sim):
    with pytest.raises(exceptions.NotAllowed):
        start(operator, backed_up_org, on_behalf_of=helpdesk, ticket="INC-1")


@pytest.mark.parametrize(("fault", "error"), [
    ({"status": 503}, errors.UpstreamUnavailable),
    ({"status": 400}, errors.UpstreamRejected),
    ({"down": True}, errors.UpstreamUnavailable),
])
def test_upstream_failure_keeps_the_reason_and_a_complete_audit_record(operator, backed_up_org, fresh_sim, fault,
                                                                      error):
    fresh_sim.fault(path="explore", **fault)
    with pytest.raises(error):
        start(operator, backed_up_org, reason="CEO lost an e-mail")
    request = StartRequest.objects.get()
    assert request.status == StartRequest.Status.FAILED
    assert request.reason == "CEO lost an e-mail"
    assert request.error_message
    assert actions_of()[-2:] == [AuditAction.SESSION_START_ATTEMPT, AuditAction.SESSION_START_FAILED]
    failed = AuditEvent.objects.get(action=AuditAction.SESSION_START_FAILED)
    assert failed.reason == "CEO lost an e-mail" and failed.details["error"] == error.__name__
    assert not RestoreSession.objects.exists()


def test_unreadable_reply_everywhere_fails_cleanly(operator, backed_up_org, fresh_sim):
    fresh_sim.fault(path="(?i)restoresessions|explore", malformed=True)
    with pytest.raises(errors.UpstreamBadResponse):
        start(operator, backed_up_org, reason="garbled")
    request = StartRequest.objects.get()
    assert request.status == StartRequest.Status.FAILED and request.reason == "garbled"
    assert AuditEvent.objects.filter(action=AuditAction.SESSION_START_FAILED, reason="garbled").exists()


def test_unreadable_reply_to_a_start_that_happened_adopts_the_session(operator, backed_up_org, fresh_sim):
    fresh_sim.fault(path="explore", malformed=True)
    session = start(operator, backed_up_org, reason="garbled but created")
    assert session.reason == "garbled but created"
    assert fresh_sim.request_count(EXPLORE_V8) == 1


def test_upstream_slower_than_the_timeout_fails_cleanly(operator, backed_up_org, fresh_sim, settings):
    settings.VB365_READ_TIMEOUT = 0.5
    fresh_sim.fault(path="explore", latency_ms=1500)
    with pytest.raises(errors.UpstreamTimeout):
        start(operator, backed_up_org)
    assert StartRequest.objects.get().status == StartRequest.Status.FAILED


def test_connection_dropped_after_upstream_created_the_session_adopts_it(operator, backed_up_org, fresh_sim):
    fresh_sim.fault(path="explore", drop=True)
    session = start(operator, backed_up_org, reason="dropped but created")
    assert session.reason == "dropped but created"
    assert fresh_sim.request_count(EXPLORE_V8) == 1
    listed = fresh_sim.stats()
    assert listed["requests"].get("GET /v8/RestoreSessions", 0) >= 1
    assert RestoreSession.objects.count() == 1
    assert StartRequest.objects.get().status == StartRequest.Status.STARTED


def test_retrying_a_key_after_an_outage_starts_once_upstream_is_back(operator, backed_up_org, sim):
    key = str(uuid.uuid4())
    sim.fault(path="explore", status=503)
    with pytest.raises(errors.UpstreamUnavailable):
        start(operator, backed_up_org, key=key)
    sim.clear_faults()
    session = start(operator, backed_up_org, key=key)
    assert session.state == "working"
    assert StartRequest.objects.get().session == session


def test_rejected_key_replays_the_rejection(operator, backed_up_org, sim):
    key = str(uuid.uuid4())
    sim.fault(path="explore", status=400)
    with pytest.raises(errors.UpstreamRejected):
        start(operator, backed_up_org, key=key)
    sim.clear_faults()
    with pytest.raises(exceptions.StartFailed):
        start(operator, backed_up_org, key=key)


def test_token_expired_mid_flow_is_renewed(operator, backed_up_org, sim):
    start(operator, backed_up_org)
    sim.expire_tokens()
    assert start(operator, backed_up_org).state == "working"


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
