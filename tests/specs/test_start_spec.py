"""StartSpec: one shape for a start request, whether the page or the API sent it, stored once and copied onto the
session the person then sees."""
from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime
from datetime import timezone as dt_timezone
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sessions_app.models import Organization, StartRequest
from sessions_app.services import session_start
from sessions_app.specs import StartSpec
from tests.api.conftest import start_body, token_client
from tests.views.conftest import start_form

MOMENT = datetime(2026, 9, 1, 12, 0, tzinfo=dt_timezone.utc)


def test_text_is_kept_stripped_and_no_moment_means_the_latest_backup(backed_up_org: Organization) -> None:
    spec = StartSpec(organization=backed_up_org, workload="exchange", reason="  lost folder \n", scope=" j.doe ",
                     ticket=" INC-1 ")

    assert (spec.reason, spec.scope, spec.ticket) == ("lost folder", "j.doe", "INC-1")
    assert spec.latest and not StartSpec(organization=backed_up_org, workload="exchange", reason="r",
                                         point_in_time=MOMENT).latest


def test_the_page_and_the_api_ask_for_the_same_start_in_the_same_shape(operator: Any,
                                                                         backed_up_org: Organization) -> None:
    page = Client()
    page.force_login(operator)
    form = start_form(backed_up_org, reason="INC-1: restore a deleted folder", point_choice="custom",
                      point_in_time="2026-09-01T12:00")
    assert page.post(reverse("sessions_app:session-start"), form).status_code == 302
    api = token_client(operator).post("/api/sessions/", start_body(backed_up_org, point_in_time="2026-09-01T12:00Z"),
                                      format="json")
    assert api.status_code == 201

    from_page, from_api = (StartSpec.of_start_request(request) for request in StartRequest.objects.order_by("pk"))

    assert from_page == from_api == StartSpec(organization=backed_up_org, workload="exchange",
                                              reason="INC-1: restore a deleted folder", point_in_time=MOMENT,
                                              scope="mailbox of j.doe")


def test_the_session_shows_what_was_asked(helpdesk: Any, operator: Any, backed_up_org: Organization) -> None:
    spec = StartSpec(organization=backed_up_org, workload="onedrive", reason="Board pack deleted",
                     point_in_time=MOMENT, show_deleted=True, scope="ceo OneDrive", ticket="INC-9",
                     on_behalf_of=operator)

    session = session_start.restore_session_start(actor=helpdesk, key=str(uuid.uuid4()), spec=spec)

    shown = {name: getattr(session, name) for name in spec.session_columns()}
    assert shown == spec.session_columns()
    assert (session.reason, session.requested_point_in_time, session.on_behalf_of) == (
        "Board pack deleted", MOMENT, operator)
    assert StartSpec.of_start_request(StartRequest.objects.get(session=session)) == spec


@pytest.mark.parametrize("change", [{"scope": "another scope"}, {"point_in_time": MOMENT}, {"show_deleted": True}])
def test_one_changed_field_is_another_request(backed_up_org: Organization, change: dict[str, Any]) -> None:
    asked = StartSpec(organization=backed_up_org, workload="exchange", reason="r", scope="s")
    assert replace(asked, **change) != asked
