"""Pages: every refusal (403, or 404 for what the user may not see) is audited once, naming the operation
that was refused and its target; repeats are counted, not each written (services.refusals)."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.urls import get_resolver, reverse
from django.utils import timezone

from sessions_app.exceptions import Refusal
from sessions_app.models import AuditAction, AuditEvent, AuditOutcome, StartRequest
from sessions_app.services import refusals
from tests.views.conftest import make_session, start_form

OUTSIDE_GRANTS = "organization outside the user's grants"


def denials(username):
    return list(AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED, actor_username=username)
                .order_by("sequence"))


def organization_page(organization_id):
    return reverse("sessions_app:organization-detail", args=[organization_id])


def test_operator_opening_a_foreign_organization_is_audited(operator_client, other_org):
    assert operator_client.get(organization_page(other_org.upstream_id)).status_code == 404
    [event] = denials("olivia")
    assert event.outcome == AuditOutcome.DENIED and event.client_address == "127.0.0.1"
    assert event.organization_id == str(other_org.upstream_id)
    assert event.details == {"operation": "organization.view", "target": str(other_org.upstream_id),
                             "why": OUTSIDE_GRANTS}


def test_a_guessed_organization_is_audited_as_unknown(operator_client, organizations):
    guess = uuid.uuid4()
    assert operator_client.get(organization_page(guess)).status_code == 404
    [event] = denials("olivia")
    assert event.organization_id == ""
    assert event.details == {"operation": "organization.view", "target": str(guess), "why": "no such organization"}


def test_operator_opening_the_review_is_audited(operator_client):
    assert operator_client.get(reverse("sessions_app:session-review")).status_code == 403
    [event] = denials("olivia")
    assert event.details == {"operation": "review.view", "target": ""}


def test_auditor_opening_the_start_page_is_audited(signed_in, auditor):
    assert signed_in(auditor).get(reverse("sessions_app:session-start")).status_code == 403
    [event] = denials("alice")
    assert event.details == {"operation": "session.start", "target": ""}


def test_start_form_for_a_foreign_organization_is_audited(operator_client, other_org, sim):
    response = operator_client.post(reverse("sessions_app:session-start"), start_form(other_org))
    assert response.status_code == 200 and not StartRequest.objects.exists()
    [event] = denials("olivia")
    assert event.organization_id == str(other_org.upstream_id)
    assert event.details == {"operation": "session.start", "target": str(other_org.upstream_id),
                             "why": OUTSIDE_GRANTS}


def test_start_form_for_a_workload_outside_the_grant_is_audited(signed_in, exchange_operator, other_org, sim):
    response = signed_in(exchange_operator).post(reverse("sessions_app:session-start"),
                                                 start_form(other_org, workload="onedrive"))
    assert response.status_code == 200 and not StartRequest.objects.exists()
    [event] = denials("oscar")
    assert event.workload == "onedrive"
    assert event.details == {"operation": "session.start", "target": str(other_org.upstream_id),
                             "why": "workload outside the user's grants"}


def test_a_refused_stop_is_recorded_as_a_stop(operator_client, other_org):
    foreign = make_session(other_org, state="working")
    response = operator_client.post(reverse("sessions_app:session-stop", args=[foreign.upstream_id]))
    assert response.status_code == 404
    [event] = denials("olivia")
    assert event.session_upstream_id == str(foreign.upstream_id)
    assert event.details == {"operation": "session.stop", "target": str(foreign.upstream_id),
                             "why": "session outside the user's grants"}


def test_an_auditors_stop_is_recorded_as_a_stop(signed_in, auditor, backed_up_org):
    session = make_session(backed_up_org, state="working")
    assert signed_in(auditor).post(reverse("sessions_app:session-stop", args=[session.upstream_id])).status_code == 403
    [event] = denials("alice")
    assert event.details == {"operation": "session.stop", "target": str(session.upstream_id),
                             "why": "role may not stop it"}


def test_a_refused_view_is_recorded_as_a_view(operator_client, other_org):
    foreign = make_session(other_org)
    assert operator_client.get(reverse("sessions_app:session-detail", args=[foreign.upstream_id])).status_code == 404
    [event] = denials("olivia")
    assert event.details["operation"] == "session.view" and event.organization_id == str(other_org.upstream_id)


def test_a_hundred_probes_write_one_event_and_the_count_survives(operator_client, other_org):
    for _ in range(100):
        assert operator_client.get(organization_page(other_org.upstream_id)).status_code == 404
    assert len(denials("olivia")) == 1
    # The window closes; the next sweep (any refusal, the audit pages, refusals_flush) writes the count.
    assert refusals.refusals_flush(now=timezone.now() + timedelta(minutes=11)) == 1
    first, summary = denials("olivia")
    assert summary.details["operation"] == "organization.view" and summary.details["repeats"] == 99
    assert summary.organization_id == str(other_org.upstream_id) and summary.client_address == "127.0.0.1"


def test_the_audit_page_shows_counts_of_closed_windows(operator_client, operator, auditor, other_org, settings):
    refusal = Refusal(operation="organization.view", target=str(other_org.upstream_id))
    a_minute_ago = timezone.now() - timedelta(minutes=1)
    for _ in range(3):
        refusals.access_refused(actor=operator, refusal=refusal, now=a_minute_ago)
    settings.AUDIT_REFUSAL_WINDOW_SECONDS = 30
    operator_client.force_login(auditor)
    assert operator_client.get(reverse("sessions_app:audit-list")).status_code == 200
    assert [event.details.get("repeats") for event in denials("olivia")] == [None, 2]


@pytest.mark.parametrize("name", ["organization-detail", "session-start", "session-detail", "session-status",
                                  "session-stop", "session-review", "audit-list", "audit-export", "audit-overview"])
def test_every_page_that_refuses_records_its_refusals(name):
    view = get_resolver().resolve(reverse(f"sessions_app:{name}", kwargs=(
        {"upstream_id": uuid.uuid4()} if name in {"organization-detail", "session-detail", "session-status",
                                                  "session-stop"} else {}))).func
    assert getattr(view, "refused_operation", "")
