"""Starting sessions (services.session_start) against the simulator over HTTP: one session per key, DB effects,
audit rows, refusals and failure paths."""
from __future__ import annotations

import threading
import time
import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from sessions_app import exceptions
from sessions_app.models import AuditAction, AuditEvent, RestoreSession, SessionOrigin, StartRequest
from sessions_app.services import sync
from sessions_app.upstream import client as upstream_client
from sessions_app.upstream import errors
from sessions_app.upstream.config import upstream_config_from_settings
from tests.services.starting import EXPLORE_V8, actions_of, start


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

    with SyncRightAfterExplore(upstream_config_from_settings()) as client:
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


def test_organization_outside_grants_is_invisible_and_the_refusal_says_what(operator, other_org, sim):
    # The page or API that answers records the refusal (tests/views, tests/api): the service describes it.
    with pytest.raises(exceptions.NotVisible) as caught:
        start(operator, other_org)
    refusal = caught.value.refusal
    assert refusal is not None
    assert refusal.operation == "session.start" and refusal.organization == other_org
    assert refusal.target == str(other_org.upstream_id) and refusal.why == "organization outside the user's grants"
    assert not StartRequest.objects.exists()


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
    adopted = AuditEvent.objects.get(action=AuditAction.SESSION_START)
    assert adopted.details["adopted_after"] == "UpstreamUnavailable"


def client_in_version(version: int) -> upstream_client.UpstreamClient:
    """A service-account client of the configured simulator speaking `version` (the simulator serves every
    version at once, over one state): lets a fault hit one of two concurrent starts by its path."""
    return upstream_client.UpstreamClient(replace(upstream_config_from_settings(),
                                                  api_version=version))


def run_in_thread(results: dict[str, Any], name: str, call: Any) -> threading.Thread:
    def target() -> None:
        try:
            results[name] = call()
        except Exception as exc:  # recorded for the assertions
            results[name] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=target)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_a_start_that_lost_its_answer_never_adopts_another_users_concurrent_session(
        operator, helpdesk, backed_up_org, fresh_sim):
    # olivia's answer is lost (v7 paths) and her search is slow; harry starts the same organization and
    # workload a moment later (v8 paths), and VB365 is still answering him when olivia looks.
    fresh_sim.fault(path=r"^/v7/Organizations/[^/]+/explore$", drop=True)
    fresh_sim.fault(path=r"^/v7/RestoreSessions$", latency_ms=1000)
    fresh_sim.fault(path=r"^/v8/Organizations/[^/]+/explore$", answer_delay_ms=2000)
    olivia_key = str(uuid.uuid4())
    results: dict[str, Any] = {}

    olivia = run_in_thread(results, "olivia", lambda: start(operator, backed_up_org, key=olivia_key,
                                                            reason="olivia's mailbox", client=client_in_version(7)))
    time.sleep(0.3)
    harry = run_in_thread(results, "harry", lambda: start(helpdesk, backed_up_org, reason="harry's mailbox",
                                                          client=client_in_version(8)))
    olivia.join()
    harry.join()

    harrys = results["harry"]
    assert isinstance(harrys, RestoreSession) and harrys.requested_by == helpdesk, results
    assert isinstance(results["olivia"], exceptions.StartOutcomeUnknown), results
    assert results["olivia"].message == exceptions.START_OUTCOME_UNKNOWN
    assert not RestoreSession.objects.filter(requested_by=operator).exists()
    assert RestoreSession.objects.get(upstream_id=harrys.upstream_id).reason == "harry's mailbox"
    failed = StartRequest.objects.get(requested_by=operator)
    assert (failed.status, failed.reason, failed.session) == (StartRequest.Status.FAILED, "olivia's mailbox", None)
    audited = AuditEvent.objects.get(action=AuditAction.SESSION_START_FAILED, actor_username="olivia")
    assert audited.reason == "olivia's mailbox"
    assert str(harrys.upstream_id) in audited.details["candidate_sessions"]
    assert len(audited.details["candidate_sessions"]) == 2

    fresh_sim.clear_faults()
    explores = fresh_sim.request_count("POST /v8/Organizations/{organizationId}/explore")
    with pytest.raises(exceptions.StartFailed) as replayed:
        start(operator, backed_up_org, key=olivia_key, reason="olivia's mailbox")
    assert replayed.value.message == exceptions.START_OUTCOME_UNKNOWN
    assert fresh_sim.request_count("POST /v8/Organizations/{organizationId}/explore") == explores


@pytest.mark.django_db(transaction=True)
def test_a_start_that_lost_its_answer_adopts_its_session_when_other_starts_are_recorded(
        operator, helpdesk, backed_up_org, fresh_sim):
    harrys = start(helpdesk, backed_up_org, reason="harry's mailbox")
    fresh_sim.fault(path="explore", drop=True)

    olivias = start(operator, backed_up_org, reason="olivia's mailbox")

    assert olivias.upstream_id != harrys.upstream_id
    assert olivias.requested_by == operator and olivias.reason == "olivia's mailbox"
    assert RestoreSession.objects.get(upstream_id=harrys.upstream_id).requested_by == helpdesk


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


@pytest.mark.parametrize("person", ["auditor", "admin_user", "helpdesk", "exchange_operator"])
def test_on_behalf_only_of_someone_who_may_start_there(request, helpdesk, operator, backed_up_org, sim, person):
    """Never oneself, an auditor or an administrator; an operator only with a grant on the organization."""
    before = sim.request_count(EXPLORE_V8)
    with pytest.raises(exceptions.StartRefused) as caught:
        start(helpdesk, backed_up_org, on_behalf_of=request.getfixturevalue(person), ticket="INC-7")
    assert caught.value.message == exceptions.ON_BEHALF_NOT_ELIGIBLE
    assert caught.value.extra["fields"] == {"on_behalf_of": [exceptions.ON_BEHALF_NOT_ELIGIBLE]}
    assert sim.request_count(EXPLORE_V8) == before
