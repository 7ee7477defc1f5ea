"""The audit overview: restore activity of the last 30 days as server-drawn SVG charts."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from sessions_app.models import AuditAction, AuditEvent
from tests.views.conftest import make_session, page_text

URL = reverse("sessions_app:audit-overview")


def test_anonymous_is_sent_to_sign_in(client, db):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("who", ["auditor", "admin_user"])
def test_shows_five_charts_of_recent_activity(signed_in, request, operator, backed_up_org, who):
    now = timezone.now()
    make_session(backed_up_org, creation_time=now - timedelta(days=1), workload="teams", requested_by=operator,
                 initiated_by="CONTOSO\\svc")
    make_session(backed_up_org, creation_time=now - timedelta(days=2), result="failed", requested_by=operator)
    make_session(backed_up_org, creation_time=now - timedelta(days=90), requested_by=None, reason="too old")
    response = signed_in(request.getfixturevalue(who)).get(URL)
    assert response.status_code == 200
    assert "sessions_app/audit_overview.html" in [t.name for t in response.templates]
    html = response.content.decode()
    assert html.count("<svg") == 5
    text = page_text(response)
    for title in ("Sessions per day by workload (last 30 days)", "Sessions per day by result (last 30 days)",
                  "Top requesters in Restore Desk", "Top initiators in VB365", "Sessions per organization"):
        assert title in text
    assert "olivia: 2" in html
    assert f"{backed_up_org.name}: 2" in html
    assert "Teams" in text and "Failed" in text
    assert "teams" not in text and "failed" not in text


def test_working_sessions_are_counted_as_working_not_as_a_result(signed_in, auditor, backed_up_org):
    now = timezone.now()
    for _ in range(3):
        make_session(backed_up_org, creation_time=now - timedelta(hours=1), state="working", result="success",
                     workload="onedrive")
    make_session(backed_up_org, creation_time=now - timedelta(hours=1), result="success", workload="sharepoint")
    html = signed_in(auditor).get(URL).content.decode()
    by_result = html[html.index("Sessions per day by result"):html.index("Top requesters")]
    assert re.search(r": Working 3</title>", by_result) and re.search(r": Success 1</title>", by_result)
    by_workload = html[html.index("Sessions per day by workload"):html.index("Sessions per day by result")]
    assert ">OneDrive</text>" in by_workload and ">SharePoint</text>" in by_workload
    assert ">onedrive<" not in by_workload


def test_no_activity_says_so_in_each_chart(signed_in, auditor):
    response = signed_in(auditor).get(URL)
    assert response.content.decode().count("<svg") == 5
    assert page_text(response).count("No sessions in this period.") == 5


def test_labels_from_upstream_are_escaped(signed_in, auditor, backed_up_org):
    make_session(backed_up_org, creation_time=timezone.now(), initiated_by="<script>alert(1)</script>")
    html = signed_in(auditor).get(URL).content.decode()
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)" in html


@pytest.mark.parametrize("who", ["operator", "helpdesk", "nobody"])
def test_others_get_403_and_an_access_denied_event(signed_in, request, who):
    user = request.getfixturevalue(who)
    assert signed_in(user).get(URL).status_code == 403
    assert AuditEvent.objects.get(action=AuditAction.ACCESS_DENIED, actor_username=user.username).details == {
        "operation": "audit.overview", "target": ""}
