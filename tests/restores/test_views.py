"""The pages of item actions: the action form (the explorer's dialog posts to it), the job page, the download,
the jobs lists, and job events in the audit review and its CSV export."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import requests
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from restores.models import JobState, RestoreJob
from restores.services import jobs, running
from sessions_app.models import AuditAction, AuditEvent, Role
from sessions_app.templatetags.audit_words import describe
from tests.conftest import SimControl, make_user
from tests.restores.conftest import job_reloaded, job_spec
from tests.views.conftest import page_text, table_rows, textarea_value


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def new_url(session: Any) -> str:
    return reverse("restores:job-new", args=[session.upstream_id])


def form_data(action: str, nodes: list[Any], **extra: Any) -> dict[str, Any]:
    return {"submission_key": str(uuid.uuid4()), "action": action, "nodes": [node.id for node in nodes],
            "reason": "INC-77 restore what j.doe deleted", **extra}


def test_the_form_offers_the_sessions_actions_only(working_session: Any, nodes: Any, job_operator: Any) -> None:
    session = working_session(8)
    _, items = nodes(session, job_operator).folder_with_items(at_least=1)

    response = signed_in(job_operator).get(new_url(session), {"node": items[0].id})

    assert response.status_code == 200
    text = page_text(response)
    for label in ("Restore to the original mailbox", "Restore to another mailbox", "Save as MSG", "Export to PST"):
        assert label in text
    assert "Copy to another OneDrive" not in text and "Export posts as HTML" not in text
    assert f'value="{items[0].id}"' in response.content.decode()
    assert "1 entry selected" in text


def test_an_export_from_the_form_goes_to_the_job_page(working_session: Any, nodes: Any, job_operator: Any,
                                                      run_jobs: Any) -> None:
    session = working_session(8)
    folder, _ = nodes(session, job_operator).folder_with_items(at_least=2, at_most=30)
    client = signed_in(job_operator)

    response = client.post(new_url(session), form_data("exchange.export_pst", [folder]))

    job = RestoreJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("restores:job-detail", args=[job.public_id])
    queued = client.get(response["Location"])
    assert "Queued" in page_text(queued)
    assert 'data-state="working"' in queued.content.decode()
    run_jobs()
    done = client.get(response["Location"])
    text = page_text(done)
    assert "Succeeded" in text
    assert "1 folder in " in text
    assert 'data-state="finished"' in done.content.decode()
    link = re.search(r'id="job-download" href="([^"]+)"', done.content.decode())
    assert link, text
    download = client.get(link.group(1))
    assert download.status_code == 200
    assert download.getvalue()[:4] == b"!BDN"


def test_the_form_keeps_what_was_typed_when_the_service_refuses(working_session: Any, nodes: Any,
                                                                job_operator: Any) -> None:
    session = working_session(8)
    _, items = nodes(session, job_operator).folder_with_items(at_least=3)

    response = signed_in(job_operator).post(new_url(session), form_data(
        "exchange.restore_to_mailbox", items[:3], target_mailbox="", target_folder="Restored"))

    assert response.status_code == 400
    text = page_text(response)
    assert "Required" in text
    assert textarea_value(response, "reason") == "INC-77 restore what j.doe deleted"
    assert all(f'value="{item.id}"' in response.content.decode() for item in items[:3])
    assert not RestoreJob.objects.exists()


def test_a_restore_without_credentials_is_refused_on_the_form(working_session: Any, nodes: Any,
                                                              job_operator: Any) -> None:
    session = working_session(8)
    _, items = nodes(session, job_operator).folder_with_items(at_least=1)

    response = signed_in(job_operator).post(new_url(session), form_data("exchange.restore_original", items[:1]))

    assert response.status_code == 400
    assert "needs credentials" in page_text(response)
    assert not RestoreJob.objects.exists()


def test_the_form_gets_a_device_code_without_scripts(working_session: Any, nodes: Any, job_operator: Any,
                                                     sim: SimControl, run_jobs: Any) -> None:
    session = working_session(8)
    _, items = nodes(session, job_operator).folder_with_items(at_least=2)
    client = signed_in(job_operator)
    data = form_data("exchange.restore_original", items[:2], credential_kind="device_code")

    shown = client.post(new_url(session), {**data, "get_device_code": "1"})

    assert shown.status_code == 200
    code = re.search(r'name="user_code" value="([^"]+)"', shown.content.decode())
    assert code, page_text(shown)
    assert code.group(1) in page_text(shown) and "enter the code" in page_text(shown)
    requests.post(f"{sim.url}/_sim/device-codes/{code.group(1)}/approve", timeout=5).raise_for_status()
    started = client.post(new_url(session), {**data, "user_code": code.group(1)})
    assert started.status_code == 302
    run_jobs()
    assert RestoreJob.objects.get().state in (JobState.SUCCEEDED, JobState.PARTIALLY_SUCCEEDED)


def test_auditors_get_no_form(working_session: Any, auditor: Any) -> None:
    session = working_session(8)

    assert signed_in(auditor).get(new_url(session)).status_code == 403
    assert AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED, details__operation="job.create").exists()


def test_the_session_page_has_the_actions_button_and_dialog(working_session: Any, job_operator: Any) -> None:
    session = working_session(8)

    response = signed_in(job_operator).get(reverse("sessions_app:session-detail", args=[session.upstream_id]))

    html = response.content.decode()
    assert 'id="explorer-actions-open"' in html
    assert '<dialog class="job-dialog" id="job-dialog"' in html
    assert f'action="{new_url(session)}"' in html
    assert "restores/jobs.js" in html


def test_the_job_page_shows_failures_item_by_item(working_session: Any, nodes: Any, job_operator: Any,
                                                  m365_password: Any, sim: SimControl, run_jobs: Any) -> None:
    session = working_session(6)
    _, items = nodes(session, job_operator).folder_with_items(at_least=10)
    requests.post(f"{sim.url}/_sim/restore-knobs", json={"failed_percent": 60, "skipped_percent": 0},
                  timeout=5).raise_for_status()
    job = jobs.job_create(actor=job_operator, session=session, spec=job_spec(
        "exchange.restore_original", [each.id for each in items[:10]], credentials=m365_password))
    run_jobs()
    job = job_reloaded(job)
    assert job.state == JobState.PARTIALLY_SUCCEEDED, job.message

    response = signed_in(job_operator).get(reverse("restores:job-detail", args=[job.public_id]))

    text = page_text(response)
    assert "Partially succeeded" in text
    assert f"{job.failed_count} failed" in text
    rows = table_rows(response, "job-items")
    assert len(rows) >= job.failed_count > 0
    assert 'id="job-items-bar"' in response.content.decode()


def test_the_status_partial_is_the_live_part(working_session: Any, nodes: Any, job_operator: Any) -> None:
    session = working_session(8)
    folder, _ = nodes(session, job_operator).folder_with_items(at_least=2, at_most=30)
    job = jobs.job_create(actor=job_operator, session=session, spec=job_spec("exchange.export_pst", [folder.id]))

    response = signed_in(job_operator).get(reverse("restores:job-status", args=[job.public_id]))

    assert response.status_code == 200
    assert response["X-Job-State"] == "queued"
    assert response.content.decode().lstrip().startswith('<div id="job-live"')


def test_a_download_not_ready_or_expired_says_why(working_session: Any, nodes: Any, job_operator: Any,
                                                  run_jobs: Any) -> None:
    session = working_session(8)
    folder, _ = nodes(session, job_operator).folder_with_items(at_least=2, at_most=30)
    job = jobs.job_create(actor=job_operator, session=session, spec=job_spec("exchange.export_pst", [folder.id]))
    client = signed_in(job_operator)
    download = reverse("restores:job-download", args=[job.public_id])

    waiting = client.get(download, follow=True)
    assert "not ready" in page_text(waiting)
    run_jobs()
    running.job_files_purge(now=timezone.now() + timedelta(days=30))
    gone = client.get(download, follow=True)
    assert "expired" in page_text(gone)
    assert "was removed" in page_text(gone)


def test_another_persons_job_is_404(working_session: Any, nodes: Any, job_operator: Any, job_org: Any) -> None:
    session = working_session(8)
    folder, _ = nodes(session, job_operator).folder_with_items(at_least=2, at_most=30)
    job = jobs.job_create(actor=job_operator, session=session, spec=job_spec("exchange.export_pst", [folder.id]))
    colleague = signed_in(make_user("otto", Role.OPERATOR, grants=[(job_org, "")]))

    for name in ("restores:job-detail", "restores:job-status", "restores:job-download"):
        assert colleague.get(reverse(name, args=[job.public_id])).status_code == 404


def test_my_jobs_and_everybodys_jobs(working_session: Any, nodes: Any, job_operator: Any, helpdesk: Any,
                                     auditor: Any) -> None:
    session = working_session(8)
    folder, items = nodes(session, job_operator).folder_with_items(at_least=2, at_most=30)
    jobs.job_create(actor=job_operator, session=session, spec=job_spec("exchange.export_pst", [folder.id]))
    jobs.job_create(actor=job_operator, session=session, spec=job_spec("exchange.save_msg", [items[0].id],
                                                                       reason="INC-78 one message"))

    mine = signed_in(job_operator).get(reverse("restores:job-list"))
    assert len(table_rows(mine, "job-table")) == 2
    assert signed_in(helpdesk).get(reverse("restores:job-list")).content.decode().count("<tr>") <= 1
    assert signed_in(job_operator).get(reverse("restores:job-list-all")).status_code == 403
    for reviewer in (helpdesk, auditor):
        client = signed_in(reviewer)
        every = client.get(reverse("restores:job-list-all"))
        assert len(table_rows(every, "job-table")) == 2
        only = client.get(reverse("restores:job-list-all"), {"action": "exchange.save_msg",
                                                             "person": job_operator.username})
        rows = table_rows(only, "job-table")
        assert len(rows) == 1 and "Save as MSG" in rows[0][1]
        assert "No jobs match" in page_text(client.get(reverse("restores:job-list-all"), {"state": "failed"}))


def test_job_events_are_in_the_audit_review_and_its_csv(working_session: Any, nodes: Any, job_operator: Any,
                                                        auditor: Any, run_jobs: Any) -> None:
    session = working_session(8)
    folder, _ = nodes(session, job_operator).folder_with_items(at_least=2, at_most=30)
    job = jobs.job_create(actor=job_operator, session=session, spec=job_spec("exchange.export_pst", [folder.id]))
    run_jobs()
    client = signed_in(auditor)

    review = page_text(client.get(reverse("sessions_app:audit-list")))
    assert "Asked for “Export to PST” of 1 entry" in review
    assert f"“Export to PST” (job {str(job.public_id)[:8]}) succeeded: " in review
    only = page_text(client.get(reverse("sessions_app:audit-list"), {"action": AuditAction.JOB_CREATE}))
    assert "Asked for “Export to PST”" in only and "succeeded:" not in only
    csv = client.get(reverse("sessions_app:audit-export")).getvalue().decode()
    assert "job_create" in csv and "job_finish" in csv and str(job.public_id) in csv


def test_the_session_page_lists_its_jobs(working_session: Any, nodes: Any, job_operator: Any, job_org: Any) -> None:
    session = working_session(8)
    folder, _ = nodes(session, job_operator).folder_with_items(at_least=2, at_most=30)
    job = jobs.job_create(actor=job_operator, session=session, spec=job_spec("exchange.export_pst", [folder.id]))
    page = reverse("sessions_app:session-detail", args=[session.upstream_id])

    mine = signed_in(job_operator).get(page)
    assert reverse("restores:job-detail", args=[job.public_id]) in mine.content.decode()
    assert "Export to PST" in page_text(mine)
    colleague = signed_in(make_user("otto", Role.OPERATOR, grants=[(job_org, "")]))
    assert 'id="session-jobs"' not in colleague.get(page).content.decode()


def test_application_credential_changes_read_as_words() -> None:
    event = AuditEvent(action=AuditAction.APP_CREDENTIAL_CHANGE, organization_name="Contoso",
                       details={"change": "removed", "application_id": "4b6f3a43"})

    assert describe(event) == "Removed the restore application credentials of Contoso (application 4b6f3a43)."
