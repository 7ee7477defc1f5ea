"""The helpdesk review: every session, with VB365's initiator and the origin, for reviewers only."""
from __future__ import annotations

import pytest
from django.urls import reverse

from tests.views.conftest import make_session, page_text, table_rows

URL = reverse("sessions_app:session-review")


def test_anonymous_is_sent_to_sign_in(client, db):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"] == f"{reverse('login')}?next={URL}"


@pytest.mark.parametrize("who", ["operator", "exchange_operator", "nobody"])
def test_people_who_may_not_review_get_403(signed_in, request, who):
    assert signed_in(request.getfixturevalue(who)).get(URL).status_code == 403


@pytest.mark.parametrize("who", ["helpdesk", "auditor", "admin_user"])
def test_reviewers_see_every_session_with_initiator_and_origin(signed_in, request, backed_up_org, other_org, who):
    make_session(backed_up_org, origin="upstream", initiated_by="CONTOSO\\console-admin", reason="from console")
    make_session(other_org, origin="portal", reason="from the portal")
    response = signed_in(request.getfixturevalue(who)).get(URL)
    assert response.status_code == 200
    assert "sessions_app/session_list.html" in [t.name for t in response.templates]
    text = page_text(response)
    assert "Every restore session" in text and "Initiated by" in text
    rows = table_rows(response, "session-table")
    assert len(rows) == 2
    assert ["CONTOSO\\console-admin", "VB365 client"] in [row[6:8] for row in rows]


def test_review_filters_by_initiator_and_origin(signed_in, helpdesk, backed_up_org):
    make_session(backed_up_org, origin="upstream", initiated_by="CONTOSO\\script", reason="script")
    make_session(backed_up_org, origin="upstream", initiated_by="CONTOSO\\person", reason="person")
    make_session(backed_up_org, origin="portal", reason="portal")
    client = signed_in(helpdesk)
    assert [r[-1] for r in table_rows(client.get(URL, {"initiated_by": "script"}), "session-table")] == ["script"]
    assert [r[-1] for r in table_rows(client.get(URL, {"origin": "portal"}), "session-table")] == ["portal"]


def test_history_page_ignores_review_only_filters(signed_in, helpdesk, backed_up_org):
    make_session(backed_up_org, origin="upstream", reason="upstream one")
    make_session(backed_up_org, origin="portal", reason="portal one")
    response = signed_in(helpdesk).get(reverse("sessions_app:session-list"), {"origin": "portal"})
    assert len(table_rows(response, "session-table")) == 2
    assert 'name="initiated_by"' not in response.content.decode()  # the column shows, the review's filter does not
