"""Asking for item actions: what job_create refuses (and why), what it records, and the device code."""
from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from restores.models import CredentialHandoff, CredentialKind, JobState, RestoreJob
from restores.services import credentials, jobs
from sessions_app import exceptions
from sessions_app.models import AuditAction, AuditEvent, Role
from sessions_app.services import browse
from sessions_app.upstream.browse_types import NodeRef
from sessions_app.upstream.restore_types import RestoreCredentials
from tests.conftest import make_user
from tests.restores.conftest import job_spec


@pytest.fixture
def exchange(working_session: Any, nodes: Any, job_operator: Any) -> dict[str, Any]:
    session = working_session(8)
    finder = nodes(session, job_operator)
    folder, items = finder.folder_with_items(at_least=3)
    return {"session": session, "finder": finder, "folder": folder, "items": items}


def refused(excinfo: pytest.ExceptionInfo[Any], field: str) -> str:
    assert excinfo.value.http_status == 400
    assert field in excinfo.value.extra["fields"], excinfo.value.extra
    return str(excinfo.value.message)


def test_a_save_is_queued_with_its_selection_and_audited(exchange: dict[str, Any], job_operator: Any) -> None:
    item = exchange["items"][0]
    job = jobs.job_create(actor=job_operator, session=exchange["session"],
                          spec=job_spec("exchange.save_msg", [item.id]), client_address="10.1.2.3")
    assert job.state == JobState.QUEUED and job.credential_kind == CredentialKind.NONE
    assert job.selection[0]["node"] == item.id and job.selection[0]["kind"] == "item"
    assert job.api_version == 8 and job.workload == "exchange" and job.task_id
    event = AuditEvent.objects.get(action=AuditAction.JOB_CREATE)
    assert event.reason == "INC-16: user deleted it" and event.client_address == "10.1.2.3"
    assert event.details["job"] == str(job.public_id) and event.details["action"] == "exchange.save_msg"
    assert event.details["selection"] == [{"kind": "item", "name": job.selection[0]["name"]}]


def test_unknown_action_is_refused_naming_the_actions(exchange: dict[str, Any], job_operator: Any) -> None:
    with pytest.raises(jobs.JobRefused) as excinfo:
        jobs.job_create(actor=job_operator, session=exchange["session"],
                        spec=job_spec("exchange.teleport", [exchange["items"][0].id]))
    assert "exchange.export_pst" in refused(excinfo, "action")
    assert not RestoreJob.objects.exists()


def test_action_of_another_workload_is_refused(exchange: dict[str, Any], job_operator: Any) -> None:
    with pytest.raises(jobs.JobRefused) as excinfo:
        jobs.job_create(actor=job_operator, session=exchange["session"],
                        spec=job_spec("onedrive.save", [exchange["items"][0].id]))
    assert "this session explores exchange" in refused(excinfo, "action")


def test_versions_before_v4_have_no_item_actions(exchange: dict[str, Any], job_operator: Any, settings: Any) -> None:
    settings.VB365_API_VERSION = 3
    with pytest.raises(jobs.JobRefused) as excinfo:
        jobs.job_create(actor=job_operator, session=exchange["session"],
                        spec=job_spec("exchange.save_msg", [exchange["items"][0].id]))
    assert refused(excinfo, "action") == "Item actions need VB365 API v4 or later; this server speaks v3."


def test_node_of_a_kind_the_action_does_not_take_is_refused(exchange: dict[str, Any], job_operator: Any) -> None:
    with pytest.raises(jobs.JobRefused) as excinfo:
        jobs.job_create(actor=job_operator, session=exchange["session"],
                        spec=job_spec("exchange.save_msg", [exchange["folder"].id]))
    assert "cannot take a folder" in refused(excinfo, "nodes")


def test_single_item_action_refuses_two(exchange: dict[str, Any], job_operator: Any) -> None:
    with pytest.raises(jobs.JobRefused) as excinfo:
        jobs.job_create(actor=job_operator, session=exchange["session"],
                        spec=job_spec("exchange.save_msg", [each.id for each in exchange["items"][:2]]))
    assert "exactly one" in refused(excinfo, "nodes")


def test_nodes_of_two_mailboxes_are_refused(exchange: dict[str, Any], job_operator: Any) -> None:
    first, second = exchange["finder"].containers()[:2]
    with pytest.raises(jobs.JobRefused) as excinfo:
        jobs.job_create(actor=job_operator, session=exchange["session"],
                        spec=job_spec("exchange.export_pst", [first.id, second.id]))
    assert refused(excinfo, "nodes") == jobs.SEVERAL_CONTAINERS


def test_empty_selection_is_refused(exchange: dict[str, Any], job_operator: Any) -> None:
    with pytest.raises(jobs.JobRefused) as excinfo:
        jobs.job_create(actor=job_operator, session=exchange["session"], spec=job_spec("exchange.export_pst", []))
    assert refused(excinfo, "nodes") == jobs.NODES_REQUIRED


def test_node_id_of_another_session_is_not_found(exchange: dict[str, Any], job_operator: Any,
                                                 working_session: Any) -> None:
    other = working_session(8)
    foreign = browse.node_id_for(other, NodeRef("mbx", ("some-mailbox",)))
    with pytest.raises(exceptions.NotVisible):
        jobs.job_create(actor=job_operator, session=exchange["session"], spec=job_spec("exchange.export_pst",
                                                                                        [foreign]))


def test_missing_target_is_refused_per_field(exchange: dict[str, Any], job_operator: Any,
                                             m365_password: RestoreCredentials) -> None:
    with pytest.raises(jobs.JobRefused) as excinfo:
        jobs.job_create(actor=job_operator, session=exchange["session"], spec=job_spec(
            "exchange.restore_to_mailbox", [exchange["items"][0].id], target={"mailbox": "  "},
            credentials=m365_password))
    refused(excinfo, "target")
    assert set(excinfo.value.extra["fields"]) == {"target", "target.mailbox", "target.folder"}


def test_unknown_option_is_refused(exchange: dict[str, Any], job_operator: Any) -> None:
    with pytest.raises(jobs.JobRefused) as excinfo:
        jobs.job_create(actor=job_operator, session=exchange["session"], spec=job_spec(
            "exchange.export_pst", [exchange["folder"].id], options={"encrypt": True}))
    assert "no option “encrypt”" in refused(excinfo, "options")


def test_option_value_vb365_would_refuse_is_refused_before_the_job(exchange: dict[str, Any],
                                                                    job_operator: Any) -> None:
    with pytest.raises(jobs.JobRefused) as excinfo:
        jobs.job_create(actor=job_operator, session=exchange["session"], spec=job_spec(
            "exchange.export_pst", [exchange["folder"].id], options={"pst_size_limit_bytes": "a lot"}))
    assert "PST size limit" in refused(excinfo, "options")
    assert not RestoreJob.objects.exists()


@pytest.mark.parametrize("reason", ["", "   ", "x" * 2001])
def test_reason_is_required_and_bounded(exchange: dict[str, Any], job_operator: Any, reason: str) -> None:
    with pytest.raises(jobs.JobRefused) as excinfo:
        jobs.job_create(actor=job_operator, session=exchange["session"],
                        spec=job_spec("exchange.export_pst", [exchange["folder"].id], reason=reason))
    refused(excinfo, "reason")


def test_restore_without_credentials_is_refused(exchange: dict[str, Any], job_operator: Any) -> None:
    with pytest.raises(jobs.JobRefused) as excinfo:
        jobs.job_create(actor=job_operator, session=exchange["session"],
                        spec=job_spec("exchange.restore_original", [exchange["items"][0].id]))
    assert refused(excinfo, "credentials") == jobs.CREDENTIALS_NEEDED


def test_save_with_credentials_is_refused(exchange: dict[str, Any], job_operator: Any,
                                          m365_password: RestoreCredentials) -> None:
    with pytest.raises(jobs.JobRefused) as excinfo:
        jobs.job_create(actor=job_operator, session=exchange["session"], spec=job_spec(
            "exchange.export_pst", [exchange["folder"].id], credentials=m365_password))
    assert refused(excinfo, "credentials") == jobs.CREDENTIALS_NOT_NEEDED


def test_credentials_without_a_key_are_refused_not_stored(exchange: dict[str, Any], job_operator: Any,
                                                          m365_password: RestoreCredentials, settings: Any) -> None:
    settings.RESTORE_CREDENTIALS_KEY = ""
    with pytest.raises(credentials.CredentialsUnavailable) as excinfo:
        jobs.job_create(actor=job_operator, session=exchange["session"], spec=job_spec(
            "exchange.restore_original", [exchange["items"][0].id], credentials=m365_password))
    assert excinfo.value.http_status == 503
    assert not RestoreJob.objects.exists() and not CredentialHandoff.objects.exists()


def test_organization_application_credentials_stand_in(exchange: dict[str, Any], job_operator: Any,
                                                       admin_user: Any) -> None:
    credentials.app_credential_set(actor=admin_user, organization=exchange["session"].organization,
                                   application_id=str(uuid.uuid4()), certificate_b64="UEZYLWJ5dGVz")
    job = jobs.job_create(actor=job_operator, session=exchange["session"],
                          spec=job_spec("exchange.restore_original", [exchange["items"][0].id]))
    assert job.credential_kind == CredentialKind.APPLICATION
    assert not CredentialHandoff.objects.filter(job=job).exists()


def test_given_credentials_are_handed_off_sealed(exchange: dict[str, Any], job_operator: Any,
                                                 m365_password: RestoreCredentials) -> None:
    job = jobs.job_create(actor=job_operator, session=exchange["session"], spec=job_spec(
        "exchange.restore_original", [exchange["items"][0].id], credentials=m365_password))
    assert job.credential_kind == CredentialKind.PASSWORD
    handoff = CredentialHandoff.objects.get(job=job)
    assert m365_password.password.encode() not in bytes(handoff.sealed)
    assert credentials.credentials_take(job=job) == m365_password
    assert credentials.credentials_take(job=job) is None  # read once: gone


def test_stopped_session_is_refused(exchange: dict[str, Any], job_operator: Any) -> None:
    session = exchange["session"]
    session.state = "stopped"
    session.save(update_fields=["state"])
    with pytest.raises(exceptions.SessionStopped) as excinfo:
        jobs.job_create(actor=job_operator, session=session,
                        spec=job_spec("exchange.export_pst", [exchange["folder"].id]))
    assert excinfo.value.http_status == 409


def test_auditor_may_not_run_item_actions(exchange: dict[str, Any], auditor: Any) -> None:
    with pytest.raises(exceptions.NotAllowed):
        jobs.job_create(actor=auditor, session=exchange["session"],
                        spec=job_spec("exchange.export_pst", [exchange["folder"].id]))


def test_operator_outside_the_grants_sees_no_session(exchange: dict[str, Any]) -> None:
    outsider = make_user("otto", Role.OPERATOR)
    with pytest.raises(exceptions.NotVisible):
        jobs.job_create(actor=outsider, session=exchange["session"],
                        spec=job_spec("exchange.export_pst", [exchange["folder"].id]))


def test_operator_may_not_act_on_behalf(exchange: dict[str, Any], job_operator: Any) -> None:
    colleague = make_user("otto", Role.OPERATOR)
    with pytest.raises(exceptions.NotAllowed):
        jobs.job_create(actor=job_operator, session=exchange["session"], spec=job_spec(
            "exchange.export_pst", [exchange["folder"].id], on_behalf_of=colleague, ticket="INC-1"))


def test_helpdesk_acts_for_the_session_person_under_its_ticket(working_session: Any, nodes: Any, helpdesk: Any,
                                                                job_operator: Any) -> None:
    session = working_session(8, user=helpdesk, on_behalf_of=job_operator, ticket="INC-77")
    folder, _ = nodes(session, helpdesk).folder_with_items()
    job = jobs.job_create(actor=helpdesk, session=session, spec=job_spec("exchange.export_pst", [folder.id]))
    assert job.on_behalf_of == job_operator and job.ticket == "INC-77"
    event = AuditEvent.objects.get(action=AuditAction.JOB_CREATE)
    assert event.on_behalf_of_username == "ophelia" and event.ticket == "INC-77"


def test_helpdesk_on_behalf_needs_a_ticket(working_session: Any, nodes: Any, helpdesk: Any, job_operator: Any,
                                          job_org: Any) -> None:
    session = working_session(8, user=helpdesk)
    folder, _ = nodes(session, helpdesk).folder_with_items()
    with pytest.raises(jobs.JobRefused) as excinfo:
        jobs.job_create(actor=helpdesk, session=session, spec=job_spec(
            "exchange.export_pst", [folder.id], on_behalf_of=job_operator))
    assert refused(excinfo, "ticket") == exceptions.ON_BEHALF_REQUIRES_TICKET
    stranger = make_user("sam", Role.AUDITOR)
    with pytest.raises(jobs.JobRefused) as excinfo:
        jobs.job_create(actor=helpdesk, session=session, spec=job_spec(
            "exchange.export_pst", [folder.id], on_behalf_of=stranger, ticket="INC-2"))
    refused(excinfo, "on_behalf_of")


def test_same_idempotency_key_returns_the_first_job(exchange: dict[str, Any], job_operator: Any) -> None:
    spec = job_spec("exchange.export_pst", [exchange["folder"].id], idempotency_key="key-1")
    first = jobs.job_create(actor=job_operator, session=exchange["session"], spec=spec)
    again = jobs.job_create(actor=job_operator, session=exchange["session"], spec=spec)
    assert again.pk == first.pk and RestoreJob.objects.count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.JOB_CREATE).count() == 1
    with pytest.raises(exceptions.IdempotencyKeyReused):
        jobs.job_create(actor=job_operator, session=exchange["session"], spec=job_spec(
            "exchange.export_pst", [exchange["folder"].id], idempotency_key="key-1", reason="another reason"))


def test_device_code_comes_from_vb365(exchange: dict[str, Any], job_operator: Any, sim: Any) -> None:
    code = jobs.device_code_request(actor=job_operator, session=exchange["session"])
    assert code.user_code and code.verification_url.startswith("https://") and code.expires_in > 0
    approved = requests.post(f"{sim.url}/_sim/device-codes/{code.user_code}/approve", timeout=5)
    assert approved.status_code == 200


def test_auditor_gets_no_device_code(exchange: dict[str, Any], auditor: Any) -> None:
    with pytest.raises(exceptions.NotAllowed):
        jobs.device_code_request(actor=auditor, session=exchange["session"])
