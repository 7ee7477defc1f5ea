"""The jobs API against the simulator, on API v5 to v8: ask, follow, download; and every refusal a script meets."""
from __future__ import annotations

import io
import uuid
import zipfile
from datetime import timedelta
from typing import Any

import pytest
import requests
from django.utils import timezone
from rest_framework.test import APIClient

from restores.models import RestoreJob
from restores.services import running
from sessions_app.models import AuditAction, AuditEvent, Role
from tests.api.conftest import start_body, tenant_api, token_client  # noqa: F401  (tenant_api: a fixture)
from tests.conftest import SimControl, make_user

VERSIONS = [5, 6, 7, 8]


def knobs(sim: SimControl, **values: Any) -> None:
    requests.post(f"{sim.url}/_sim/restore-knobs", json=values, timeout=5).raise_for_status()


def jobs_url(session: Any) -> str:
    return f"/api/sessions/{session.upstream_id}/jobs/"


def ask(client: APIClient, session: Any, body: dict[str, Any], **headers: Any) -> Any:
    return client.post(jobs_url(session), body, format="json", **headers)


def body(action: str, nodes: list[Any], **extra: Any) -> dict[str, Any]:
    return {"action": action, "nodes": [node.id for node in nodes], "reason": "INC-16: j.doe deleted them", **extra}


def password(credentials: dict[str, str], *, wrong: bool = False) -> dict[str, str]:
    return {"kind": "password", "user_name": credentials["username"],
            "password": credentials["password"] + ("-wrong" if wrong else "")}


def other_mailbox(finder: Any, than: Any) -> str:
    """The e-mail address of a mailbox of the same organization other than `than`'s container."""
    for container in finder.containers():
        email = container.details.get("email")
        if email and container.id != than.id and not container.details.get("is_archive"):
            return str(email)
    raise AssertionError("the organization has one mailbox only")


def finished(client: APIClient, job_id: str, run_jobs: Any) -> dict[str, Any]:
    run_jobs()
    response = client.get(f"/api/jobs/{job_id}/")
    assert response.status_code == 200, response.json()
    return dict(response.json())


@pytest.mark.parametrize("version", VERSIONS)
def test_restore_to_another_mailbox_reports_a_partial_failure(version: int, working_session: Any, nodes: Any,
                                                              job_operator: Any, tenant_credentials: dict[str, str],
                                                              sim: SimControl, run_jobs: Any) -> None:
    session = working_session(version)
    finder = nodes(session, job_operator)
    mailbox = finder.containers()[0]
    folder, items = finder.folder_with_items(at_least=12, container=mailbox)
    knobs(sim, failed_percent=50, skipped_percent=0)
    client = token_client(job_operator)

    response = ask(client, session, body(
        "exchange.restore_to_mailbox", items[:12], target={"mailbox": other_mailbox(finder, mailbox),
                                                           "folder": "Restored by the desk"},
        options={"mark_restored_as_unread": True}, credentials=password(tenant_credentials)))

    assert response.status_code == 202, response.json()
    job = response.json()
    assert job["state"] == "queued"
    assert job["action"] == "exchange.restore_to_mailbox"
    assert job["reason"] == "INC-16: j.doe deleted them"
    assert job["download_url"] is None and job["finished_at"] is None
    assert tenant_credentials["password"] not in response.content.decode()
    done = finished(client, job["id"], run_jobs)
    assert done["state"] == "partially_succeeded", done["message"]
    counts = done["counts"]
    assert counts["failed"] > 0 and counts["succeeded"] > 0
    assert counts["succeeded"] + counts["failed"] + counts["skipped"] == 12
    assert any(item["status"] == "failed" for item in done["items"])
    assert done["finished_at"] is not None and done["download_url"] is None


@pytest.mark.parametrize("version", VERSIONS)
def test_export_a_folder_to_pst_and_download_it(version: int, working_session: Any, nodes: Any, job_operator: Any,
                                                run_jobs: Any) -> None:
    session = working_session(version)
    folder, _ = nodes(session, job_operator).folder_with_items(at_least=2, at_most=30)
    client = token_client(job_operator)

    job = ask(client, session, body("exchange.export_pst", [folder])).json()
    done = finished(client, job["id"], run_jobs)

    assert done["state"] == "succeeded", done["message"]
    assert done["download_url"].endswith(f"/api/jobs/{job['id']}/download/")
    download = client.get(done["download_url"])
    assert download.status_code == 200
    content = download.getvalue()
    assert content[:4] == b"!BDN"
    assert len(content) == done["file"]["size"] == int(download["Content-Length"])
    assert ".pst" in download["Content-Disposition"]
    assert AuditEvent.objects.filter(action=AuditAction.JOB_DOWNLOAD, actor_username=job_operator.username).exists()


def test_save_onedrive_documents_as_a_zip_that_opens(working_session: Any, nodes: Any, job_operator: Any,
                                                     run_jobs: Any) -> None:
    session = working_session(8, workload="onedrive")
    folder, documents = nodes(session, job_operator).folder_with_items(at_least=2, at_most=40)
    client = token_client(job_operator)

    job = ask(client, session, body("onedrive.save", documents[:2])).json()
    done = finished(client, job["id"], run_jobs)

    assert done["state"] == "succeeded", done["message"]
    content = client.get(done["download_url"]).getvalue()
    names = zipfile.ZipFile(io.BytesIO(content)).namelist()
    assert {documents[0].name, documents[1].name} <= {name.rsplit("/", 1)[-1] for name in names}


def test_a_download_cut_half_way_offers_no_file(working_session: Any, nodes: Any, job_operator: Any,
                                                sim: SimControl, run_jobs: Any) -> None:
    session = working_session(8)
    folder, _ = nodes(session, job_operator).folder_with_items(at_least=2, at_most=30)
    sim.fault(cut_body=True, path="(?i)exportToPst$")
    client = token_client(job_operator)

    job = ask(client, session, body("exchange.export_pst", [folder])).json()
    done = finished(client, job["id"], run_jobs)

    assert done["state"] == "failed"
    assert done["download_url"] is None
    assert done["message"]
    refused = client.get(f"/api/jobs/{job['id']}/download/")
    assert refused.status_code == 409
    assert refused.json()["code"] == "not_ready"
    assert not RestoreJob.objects.get(public_id=job["id"]).file_path


def test_an_expired_link_answers_410(working_session: Any, nodes: Any, job_operator: Any, run_jobs: Any) -> None:
    session = working_session(8)
    folder, _ = nodes(session, job_operator).folder_with_items(at_least=2, at_most=30)
    client = token_client(job_operator)
    job = ask(client, session, body("exchange.export_pst", [folder])).json()
    assert finished(client, job["id"], run_jobs)["state"] == "succeeded"

    running.job_files_purge(now=timezone.now() + timedelta(days=30))

    gone = client.get(f"/api/jobs/{job['id']}/download/")
    assert gone.status_code == 410
    assert gone.json()["code"] == "gone"
    again = client.get(f"/api/jobs/{job['id']}/").json()
    assert again["download_url"] is None and again["file"]["purged"] is True


def test_a_download_is_not_ready_while_the_job_waits(working_session: Any, nodes: Any, job_operator: Any) -> None:
    session = working_session(8)
    folder, _ = nodes(session, job_operator).folder_with_items(at_least=2, at_most=30)
    client = token_client(job_operator)
    job = ask(client, session, body("exchange.export_pst", [folder])).json()

    response = client.get(f"/api/jobs/{job['id']}/download/", HTTP_ACCEPT="application/octet-stream")

    assert response.status_code == 409
    assert response.json()["code"] == "not_ready"


def test_credentials_refused_end_the_job_with_the_reason(working_session: Any, nodes: Any, job_operator: Any,
                                                         tenant_credentials: dict[str, str], run_jobs: Any) -> None:
    session = working_session(7)
    _, items = nodes(session, job_operator).folder_with_items(at_least=3)
    client = token_client(job_operator)

    job = ask(client, session, body("exchange.restore_original", items[:3],
                                    credentials=password(tenant_credentials, wrong=True))).json()
    done = finished(client, job["id"], run_jobs)

    assert done["state"] == "failed"
    assert "credential" in done["message"].lower() or "password" in done["message"].lower(), done["message"]
    assert done["counts"]["succeeded"] == 0
    wrong = tenant_credentials["password"] + "-wrong"
    assert wrong not in str(list(AuditEvent.objects.values_list("details", flat=True)))
    assert wrong not in str(RestoreJob.objects.filter(public_id=job["id"]).values().first())


def test_a_restore_without_credentials_is_refused_with_the_field(working_session: Any, nodes: Any,
                                                                 job_operator: Any) -> None:
    session = working_session(8)
    _, items = nodes(session, job_operator).folder_with_items(at_least=1)

    response = ask(token_client(job_operator), session, body("exchange.restore_original", items[:1]))

    assert response.status_code == 400
    assert response.json()["code"] == "job_refused"
    assert "credentials" in response.json()["extra"]["fields"]
    assert not RestoreJob.objects.exists()


def test_the_device_code_flow(working_session: Any, nodes: Any, job_operator: Any, sim: SimControl,
                              run_jobs: Any) -> None:
    session = working_session(8)
    _, items = nodes(session, job_operator).folder_with_items(at_least=3)
    client = token_client(job_operator)

    code = client.post(f"/api/sessions/{session.upstream_id}/device-code/")
    assert code.status_code == 200, code.json()
    user_code = code.json()["user_code"]
    assert code.json()["verification_url"].startswith("http")
    requests.post(f"{sim.url}/_sim/device-codes/{user_code}/approve", timeout=5).raise_for_status()
    job = ask(client, session, body("exchange.restore_original", items[:3],
                                    credentials={"kind": "device_code", "user_code": user_code})).json()

    done = finished(client, job["id"], run_jobs)
    assert done["state"] in ("succeeded", "partially_succeeded"), done["message"]
    assert done["credential_kind"] == "device_code"


def test_item_actions_on_an_old_api_version_are_refused_with_the_reason(working_session: Any, nodes: Any,
                                                                        job_operator: Any, upstream: Any) -> None:
    session = working_session(8)
    _, items = nodes(session, job_operator).folder_with_items(at_least=1)
    upstream(3)

    response = ask(token_client(job_operator), session, body("exchange.export_pst", items[:1]))

    assert response.status_code == 400
    assert "v4" in response.json()["message"]
    assert not RestoreJob.objects.exists()


def test_an_action_of_another_workload_is_refused(working_session: Any, nodes: Any, job_operator: Any) -> None:
    session = working_session(8)
    _, items = nodes(session, job_operator).folder_with_items(at_least=1)

    response = ask(token_client(job_operator), session, body("onedrive.save", items[:1]))

    assert response.status_code == 400
    assert "action" in response.json()["extra"]["fields"]


def test_bad_input_is_answered_in_the_envelope(working_session: Any, job_operator: Any) -> None:
    session = working_session(8)
    client = token_client(job_operator)

    response = ask(client, session, {"action": "exchange.teleport", "nodes": [], "reason": ""})

    assert response.status_code == 400
    assert set(response.json()["extra"]["fields"]) == {"action", "nodes", "reason"}
    bad_option = ask(client, session, {"action": "exchange.export_pst", "nodes": ["x"], "reason": "r",
                                       "options": {"pst_size_limit_bytes": 5}})
    assert bad_option.status_code == 400
    assert "options.pst_size_limit_bytes" in bad_option.json()["extra"]["fields"]


def test_the_same_idempotency_key_gives_the_first_job(working_session: Any, nodes: Any, job_operator: Any) -> None:
    session = working_session(8)
    folder, _ = nodes(session, job_operator).folder_with_items(at_least=2, at_most=30)
    client = token_client(job_operator)
    key = str(uuid.uuid4())

    first = ask(client, session, body("exchange.export_pst", [folder]), HTTP_IDEMPOTENCY_KEY=key)
    again = ask(client, session, body("exchange.export_pst", [folder]), HTTP_IDEMPOTENCY_KEY=key)
    changed = ask(client, session, body("exchange.export_pst", [folder], reason="another reason"),
                  HTTP_IDEMPOTENCY_KEY=key)

    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert changed.status_code == 409
    assert RestoreJob.objects.count() == 1


def test_another_users_job_is_404(working_session: Any, nodes: Any, job_operator: Any, job_org: Any,
                                  run_jobs: Any) -> None:
    session = working_session(8)
    folder, _ = nodes(session, job_operator).folder_with_items(at_least=2, at_most=30)
    owner = token_client(job_operator)
    job = ask(owner, session, body("exchange.export_pst", [folder])).json()
    finished(owner, job["id"], run_jobs)
    colleague = token_client(make_user("otto", Role.OPERATOR, grants=[(job_org, "")]))

    assert colleague.get(f"/api/jobs/{job['id']}/").status_code == 404
    assert colleague.get(f"/api/jobs/{job['id']}/download/").status_code == 404
    assert colleague.get(f"/api/jobs/{uuid.uuid4()}/").status_code == 404
    assert colleague.get("/api/jobs/not-a-uuid/").json()["code"] == "not_found"
    assert colleague.get("/api/jobs/").json()["count"] == 0
    assert AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED, details__operation="job.view").exists()


def test_helpdesk_and_auditors_list_every_job_with_filters(working_session: Any, nodes: Any, job_operator: Any,
                                                           helpdesk: Any, auditor: Any, run_jobs: Any) -> None:
    session = working_session(8)
    folder, items = nodes(session, job_operator).folder_with_items(at_least=2, at_most=30)
    owner = token_client(job_operator)
    pst = ask(owner, session, body("exchange.export_pst", [folder])).json()
    msg = ask(owner, session, body("exchange.save_msg", items[:1])).json()
    run_jobs()

    for reviewer in (helpdesk, auditor):
        client = token_client(reviewer)
        assert client.get("/api/jobs/").json()["count"] == 2
        only_pst = client.get("/api/jobs/", {"action": "exchange.export_pst"}).json()
        assert [job["id"] for job in only_pst["results"]] == [pst["id"]]
        by_person = client.get("/api/jobs/", {"user": job_operator.username, "state": "succeeded"}).json()
        assert {job["id"] for job in by_person["results"]} == {pst["id"], msg["id"]}
        by_session = client.get("/api/jobs/", {"session": str(session.upstream_id)}).json()
        assert by_session["count"] == 2
        assert client.get("/api/jobs/", {"session": str(uuid.uuid4())}).json()["count"] == 0
    assert token_client(auditor).get(f"/api/jobs/{pst['id']}/download/").status_code == 403
    assert token_client(helpdesk).get(f"/api/jobs/{pst['id']}/download/").status_code == 200
    assert token_client(helpdesk).get("/api/jobs/", {"state": "exploded"}).status_code == 400


def test_auditors_may_not_ask_for_jobs(working_session: Any, nodes: Any, job_operator: Any, auditor: Any) -> None:
    session = working_session(8)
    folder, _ = nodes(session, job_operator).folder_with_items(at_least=2, at_most=30)

    response = ask(token_client(auditor), session, body("exchange.export_pst", [folder]))

    assert response.status_code == 403
    assert not RestoreJob.objects.exists()


def first_item_via_api(client: APIClient, session_id: str) -> str:
    """Walk the browse API (breadth first) to the first mail item; its node id."""
    pending = [""]
    while pending:
        node = pending.pop(0)
        query: dict[str, str] = {"node": node, "limit": "50"} if node else {}
        page = client.get(f"/api/sessions/{session_id}/browse/", query).json()
        for entry in page["results"]:
            if entry["kind"] == "item":
                return str(entry["id"])
            if entry["has_children"]:
                pending.append(entry["id"])
    raise AssertionError("no mail item")


def test_tenants_see_only_their_own_jobs(working_session: Any, nodes: Any, job_operator: Any,
                                         tenant_api: APIClient,  # noqa: F811  (the fixture imported above)
                                         job_org: Any, run_jobs: Any) -> None:
    provider_session = working_session(8)
    folder, _ = nodes(provider_session, job_operator).folder_with_items(at_least=2, at_most=30)
    provider = token_client(job_operator)
    provider_job = ask(provider, provider_session, body("exchange.export_pst", [folder])).json()
    tenant_session = tenant_api.post("/api/sessions/", start_body(job_org), format="json").json()["id"]
    item = first_item_via_api(tenant_api, tenant_session)
    tenant_job = tenant_api.post(f"/api/sessions/{tenant_session}/jobs/", {
        "action": "exchange.save_msg", "nodes": [item], "reason": "our own mail"}, format="json")
    assert tenant_job.status_code == 202, tenant_job.json()
    run_jobs()

    assert tenant_api.get(f"/api/jobs/{provider_job['id']}/").status_code == 404
    assert tenant_api.get(f"/api/jobs/{provider_job['id']}/download/").status_code == 404
    assert [job["id"] for job in tenant_api.get("/api/jobs/").json()["results"]] == [tenant_job.json()["id"]]
    assert provider.get(f"/api/jobs/{tenant_job.json()['id']}/").status_code == 404
    # Nor may the tenant act in the provider's session.
    assert ask(tenant_api, provider_session, body("exchange.export_pst", [folder])).status_code in (403, 404)


def test_unknown_session_is_404(job_operator: Any, working_session: Any) -> None:
    working_session(8)
    client = token_client(job_operator)

    response = client.post(f"/api/sessions/{uuid.uuid4()}/jobs/", {"action": "exchange.export_pst", "nodes": ["x"],
                                                                     "reason": "r"}, format="json")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
