"""The dashboard: the signed-in person's working sessions, their failed starts, and the last sync for reviewers."""
from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from sessions_app.models import StartRequest, SyncRun
from tests.views.conftest import make_session, page_text, table_rows

URL = reverse("sessions_app:dashboard")


def test_anonymous_is_sent_to_sign_in(client, db):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"] == f"{reverse('login')}?next={URL}"


def test_shows_my_working_sessions_and_not_others(operator_client, operator, helpdesk, backed_up_org):
    make_session(backed_up_org, state="working", result="", requested_by=operator, reason="my own restore")
    make_session(backed_up_org, state="working", result="", requested_by=helpdesk, reason="someone else's")
    make_session(backed_up_org, state="stopped", requested_by=operator, reason="already finished")
    response = operator_client.get(URL)
    assert response.status_code == 200
    assert "sessions_app/dashboard.html" in [t.name for t in response.templates]
    text = page_text(response)
    assert "my own restore" in text
    assert "someone else's" not in text and "already finished" not in text
    assert "Open" in text


def test_sessions_started_on_my_behalf_are_mine_too(operator_client, operator, helpdesk, backed_up_org):
    make_session(backed_up_org, state="working", result="", requested_by=helpdesk, on_behalf_of=operator,
                 reason="helpdesk did it for me")
    assert "helpdesk did it for me" in page_text(operator_client.get(URL))


def test_without_working_sessions_it_offers_to_start_one(operator_client):
    text = page_text(operator_client.get(URL))
    assert "You have no working restore sessions. Start one." in text


def test_auditor_is_not_offered_to_start(signed_in, auditor):
    text = page_text(signed_in(auditor).get(URL))
    assert "You have no working restore sessions." in text and "Start one" not in text


def test_failed_starts_are_listed_with_their_error(operator_client, operator, backed_up_org):
    StartRequest.objects.create(key="k1", requested_by=operator, organization=backed_up_org, workload="exchange",
                                reason="the reason that failed", status=StartRequest.Status.FAILED,
                                error_kind="UpstreamUnavailable", error_message="Service unavailable.")
    response = operator_client.get(URL)
    assert "Recent starts that failed" in page_text(response)
    text = page_text(response)
    assert "the reason that failed" in text and "Service unavailable." in text


def test_last_sync_is_shown_to_reviewers_only(signed_in, operator, helpdesk):
    now = timezone.now()
    SyncRun.objects.create(status=SyncRun.Status.SUCCEEDED, started_at=now, heartbeat_at=now, seen=42)
    assert "Last history sync:" in page_text(signed_in(helpdesk).get(URL))
    assert "42 sessions seen" in page_text(signed_in(helpdesk).get(URL))
    assert "Last history sync:" not in page_text(signed_in(operator).get(URL))


def test_person_without_a_role_sees_an_empty_dashboard(signed_in, nobody):
    response = signed_in(nobody).get(URL)
    assert response.status_code == 200
    assert "You have no working restore sessions." in page_text(response)


def test_working_sessions_come_in_pages_each_with_a_stop_button(operator_client, operator, backed_up_org):
    for n in range(12):
        make_session(backed_up_org, state="working", result="", requested_by=operator, reason=f"restore {n:02}")
    first = operator_client.get(URL)
    text = page_text(first)
    assert "Page 1 of 2 (12 in all)" in text
    assert len(table_rows(first, "working-sessions")) == 10
    html = first.content.decode()
    assert html.count('name="next"') == 10 and html.count(">Stop</button>") == 10
    second = operator_client.get(URL, {"page": 2})
    assert len(table_rows(second, "working-sessions")) == 2


def test_the_stop_button_is_offered_only_to_who_may_stop(signed_in, auditor, helpdesk, backed_up_org):
    make_session(backed_up_org, state="working", result="", requested_by=helpdesk, reason="harry's")
    assert ">Stop</button>" in signed_in(helpdesk).get(URL).content.decode()
    make_session(backed_up_org, state="working", result="", requested_by=auditor, reason="an auditor's")
    response = signed_in(auditor).get(URL)
    assert "an auditor's" in page_text(response) and ">Stop</button>" not in response.content.decode()


def test_administrators_find_the_admin_in_the_navigation(signed_in, admin_user, operator):
    nav = signed_in(admin_user).get(URL).content.decode().split('aria-label="Main"')[1].split("</nav>")[0]
    assert f'href="{reverse("admin:index")}"' in nav and ">Admin</a>" in nav
    nav = signed_in(operator).get(URL).content.decode().split('aria-label="Main"')[1].split("</nav>")[0]
    assert ">Admin</a>" not in nav


def test_the_stop_buttons_of_a_full_page_cost_no_query_a_row(operator_client, operator, backed_up_org,
                                                              django_assert_max_num_queries):
    operator_client.get(URL)
    for n in range(10):
        make_session(backed_up_org, state="working", result="", requested_by=operator, reason=f"restore {n:02}")
    # Without a query a row: 10 rows asked one by one would be 10 more.
    with django_assert_max_num_queries(10):
        response = operator_client.get(URL)
    assert response.content.decode().count(">Stop</button>") == 10
