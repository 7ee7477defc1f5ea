"""SessionQuery: one search of the history, whether the history page's form or the API's filters ask for it."""
from __future__ import annotations

from datetime import datetime
from datetime import timezone as dt_timezone
from typing import Any

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sessions_app import forms, selectors
from sessions_app.api.filters import RestoreSessionFilter
from sessions_app.models import Organization
from sessions_app.specs import SessionQuery
from tests.api.conftest import token_client
from tests.views.conftest import make_session, page_text

SEARCH = {"workload": "exchange", "state": "stopped", "requested_by": "oli", "search": "payroll",
          "ordering": "oldest"}


def page_query(params: dict[str, str], organizations: Any) -> SessionQuery:
    form = forms.SessionFilterForm(params, organizations=organizations)
    assert form.is_valid(), form.errors
    return form.query()


def api_query(params: dict[str, str]) -> SessionQuery:
    filterset = RestoreSessionFilter(params)
    assert filterset.is_valid(), filterset.errors
    return filterset.query()


def test_the_page_and_the_api_ask_the_same_search_in_the_same_shape(helpdesk: Any, other_org: Organization) -> None:
    params = {**SEARCH, "organization": str(other_org.upstream_id)}

    assert page_query(params, Organization.objects.all()) == api_query(params) == SessionQuery(
        organization=other_org, workload="exchange", state="stopped", requested_by="oli", search="payroll",
        ordering="oldest")


def test_the_page_and_the_api_find_the_same_sessions(helpdesk: Any, operator: Any, backed_up_org: Organization,
                                                     other_org: Organization) -> None:
    make_session(backed_up_org, requested_by=operator, reason="payroll folder")
    wanted = make_session(other_org, requested_by=operator, reason="Payroll mailbox")
    make_session(other_org, requested_by=operator, reason="calendar")
    params = {**SEARCH, "organization": str(other_org.upstream_id)}
    page = Client()
    page.force_login(helpdesk)

    shown = page_text(page.get(reverse("sessions_app:session-list"), params))
    listed = token_client(helpdesk).get("/api/sessions/", params).json()["results"]

    assert [row["id"] for row in listed] == [str(wanted.upstream_id)]
    assert "Payroll mailbox" in shown and "calendar" not in shown and "payroll folder" not in shown


def test_a_page_day_is_a_whole_day_in_the_persons_time_zone(db: Any) -> None:
    with timezone.override("America/New_York"):
        query = page_query({"started_after": "2026-03-10", "started_before": "2026-03-10"}, Organization.objects.none())

    assert (query.started_after, query.started_before) == (datetime(2026, 3, 10, 4, 0, tzinfo=dt_timezone.utc),
                                                           datetime(2026, 3, 11, 4, 0, tzinfo=dt_timezone.utc))


def test_an_organization_unknown_here_finds_nothing_rather_than_everything(helpdesk: Any,
                                                                           backed_up_org: Organization) -> None:
    make_session(backed_up_org)
    unknown = "00000000-0000-4000-8000-000000000000"

    query = api_query({"organization": unknown})
    response = token_client(helpdesk).get("/api/sessions/", {"organization": unknown})

    assert query.organization_unknown and not selectors.restore_session_list(user=helpdesk, query=query).exists()
    assert response.status_code == 200 and response.json()["count"] == 0
    assert selectors.restore_session_list(user=helpdesk, query=SessionQuery()).count() == 1


def test_filters_on_what_only_the_provider_sees_are_named() -> None:
    assert not SessionQuery(workload="exchange", state="working").names_provider_fields
    assert SessionQuery(requested_by="x").names_provider_fields and SessionQuery(initiated_by="x").names_provider_fields
    assert SessionQuery(search="x").names_provider_fields
