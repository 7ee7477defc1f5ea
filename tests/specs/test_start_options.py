"""StartOptions: what a user may start here, shown alike by the start page, accepted alike by the API, and checked
by the start service."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sessions_app import exceptions
from sessions_app.models import Organization, RestoreSession
from sessions_app.services import session_start, tenants
from sessions_app.specs import StartOptions, StartSpec
from tests.api.conftest import start_body, token_client
from tests.conftest import SimControl
from tests.views.conftest import page_text, start_form

START_PAGE = reverse("sessions_app:session-start")
RESTORE_POINTS = "GET /v8/Organizations/{organizationId}/restorePoints"


def options_of(user: Any, organization: Organization | None) -> StartOptions:
    return session_start.start_options(user=user, organization=organization, client=tenants.client_for(user=user))


def page_of(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_workload_outside_the_grants_is_not_offered_on_the_page_nor_accepted_by_the_api_in_the_same_words(
        exchange_operator: Any, other_org: Organization, sim: SimControl) -> None:
    options = options_of(exchange_operator, other_org)
    refused = options.workload_refusal("onedrive")
    assert options.workloads == ("exchange",) and refused is not None

    page = page_of(exchange_operator)
    offered = page.get(START_PAGE, {"organization": str(other_org.upstream_id)}).context["form"].fields["workload"]
    posted = page.post(START_PAGE, start_form(other_org, workload="onedrive"))
    api = token_client(exchange_operator).post("/api/sessions/", start_body(other_org, workload="onedrive"),
                                                format="json")

    assert [value for value, _ in offered.choices] == ["exchange"]
    assert refused.message in page_text(posted)
    assert api.status_code == 400 and api.json()["extra"]["fields"]["workload"] == [refused.message]
    assert not RestoreSession.objects.exists()


def test_a_workload_the_api_version_cannot_explore_is_refused_alike(upstream: Any, operator: Any,
                                                                     backed_up_org: Organization) -> None:
    upstream(4)
    options = options_of(operator, backed_up_org)
    refused = options.workload_refusal("teams")

    api = token_client(operator).post("/api/sessions/", start_body(backed_up_org, workload="teams"), format="json")
    posted = page_of(operator).post(START_PAGE, start_form(backed_up_org, workload="teams"))

    assert "teams" not in options.workloads and refused is not None
    assert refused.message == exceptions.WORKLOAD_NOT_SUPPORTED.format(version=4, workload="teams")
    assert api.json()["extra"]["fields"]["workload"] == [refused.message]
    assert refused.message in page_text(posted)


def test_the_start_page_offers_the_restore_points_the_options_list(operator: Any, backed_up_org: Organization) -> None:
    options = options_of(operator, backed_up_org)

    page = page_of(operator).get(START_PAGE, {"organization": str(backed_up_org.upstream_id)})

    assert options.restore_points.points and options.restore_points.error is None
    offered = [point_id for _, group in page.context["form"].fields["restore_point"].choices[1:]
               for point_id, _ in group]
    assert offered == [point.id for point in options.restore_points.points]


def test_an_organization_never_backed_up_lists_no_restore_points_and_says_why(
        helpdesk: Any, never_backed_up_org: Organization, sim: SimControl) -> None:
    before = sim.request_count(RESTORE_POINTS)

    options = options_of(helpdesk, never_backed_up_org)

    assert options.restore_points.points == ()
    assert options.restore_points.note == session_start.RESTORE_POINTS_NOT_BACKED_UP
    assert sim.request_count(RESTORE_POINTS) == before


def test_a_tenant_starts_in_its_own_organization_shown_not_chosen(tenant_organization: Organization,
                                                                  tenant_credentials: dict[str, str]) -> None:
    user = tenants.tenant_sign_in(**tenant_credentials).user

    options = options_of(user, None)
    page = page_of(user).get(START_PAGE)

    assert options.organization == tenant_organization and options.organization_fixed
    assert options.restore_points.note == session_start.RESTORE_POINTS_TENANT
    assert f"Organization: {tenant_organization.name}" in page_text(page)
    assert f'name="organization" value="{tenant_organization.upstream_id}"' in page.content.decode()


def test_who_may_not_start_is_offered_nothing_and_vb365_is_not_asked(auditor: Any, backed_up_org: Organization,
                                                                      sim: SimControl) -> None:
    before = sim.request_count(RESTORE_POINTS)

    options = options_of(auditor, backed_up_org)

    assert not options.may_start and options.restore_points.points == ()
    assert sim.request_count(RESTORE_POINTS) == before
    assert page_of(auditor).get(START_PAGE).status_code == 403
    with pytest.raises(exceptions.NotAllowed):
        options.check(StartSpec(organization=backed_up_org, workload="exchange", reason="r"))


def test_an_organization_outside_the_grants_is_not_visible(operator: Any, other_org: Organization) -> None:
    with pytest.raises(exceptions.NotVisible) as caught:
        options_of(operator, other_org).check(StartSpec(organization=other_org, workload="exchange", reason="r"))
    assert caught.value.refusal is not None and caught.value.refusal.why == "organization outside the user's grants"


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"reason": "   "}, "reason", exceptions.REASON_REQUIRED),
    ({"point_in_time": timezone.now() + timedelta(days=1)}, "point_in_time", exceptions.POINT_IN_TIME_IN_FUTURE),
], ids=["blank-reason", "future"])
def test_check_names_the_field_of_a_bad_request(operator: Any, backed_up_org: Organization, change: dict[str, Any],
                                                field: str, message: str) -> None:
    spec = StartSpec(**{"organization": backed_up_org, "workload": "exchange", "reason": "r", **change})
    with pytest.raises(exceptions.StartRefused) as caught:
        options_of(operator, backed_up_org).check(spec)
    assert caught.value.extra["fields"] == {field: [message]}


def test_acting_on_behalf_is_for_helpdesk_and_only_of_people_who_may_start_here(
        operator: Any, exchange_operator: Any, helpdesk: Any, backed_up_org: Organization) -> None:
    for_olivia = StartSpec(organization=backed_up_org, workload="exchange", reason="r", on_behalf_of=operator,
                           ticket="INC-1")
    for_oscar = StartSpec(organization=backed_up_org, workload="exchange", reason="r", on_behalf_of=exchange_operator,
                          ticket="INC-1")
    helpdesk_options = options_of(helpdesk, backed_up_org)

    helpdesk_options.check(for_olivia)
    with pytest.raises(exceptions.StartRefused) as not_eligible:
        helpdesk_options.check(for_oscar)
    with pytest.raises(exceptions.NotAllowed):
        options_of(operator, backed_up_org).check(for_olivia)
    assert list(helpdesk_options.on_behalf_candidates or []) == [operator]
    assert not_eligible.value.extra["fields"] == {"on_behalf_of": [exceptions.ON_BEHALF_NOT_ELIGIBLE]}
