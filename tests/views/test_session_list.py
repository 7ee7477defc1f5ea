"""History: the sessions a person may see, each filter narrowing the list, ordering and paging."""
from __future__ import annotations

from datetime import datetime
from datetime import timezone as dt_timezone

import pytest
from django.urls import reverse

from sessions_app.services import accounts
from tests.views.conftest import PROVIDER_SECRETS, make_session, page_text, start_form, table_rows

URL = reverse("sessions_app:session-list")


def reasons(response):
    """The reason column of each row, without the scope shown after it."""
    return [row[-1].split(" · ")[0] for row in table_rows(response, "session-table")]


def test_anonymous_is_sent_to_sign_in(client, db):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"] == f"{reverse('login')}?next={URL}"


def test_operator_sees_sessions_of_granted_organizations_only(operator_client, backed_up_org, other_org):
    make_session(backed_up_org, reason="mine to see")
    make_session(other_org, reason="not for olivia")
    response = operator_client.get(URL)
    assert response.status_code == 200
    assert "sessions_app/session_list.html" in [t.name for t in response.templates]
    assert "Restore session history" in page_text(response)
    assert reasons(response) == ["mine to see"]


def test_exchange_only_operator_sees_only_exchange_of_the_granted_organization(signed_in, exchange_operator,
                                                                              backed_up_org, other_org):
    make_session(other_org, workload="exchange", reason="exchange here")
    make_session(other_org, workload="teams", reason="teams here")
    make_session(backed_up_org, workload="exchange", reason="exchange elsewhere")
    assert reasons(signed_in(exchange_operator).get(URL)) == ["exchange here"]


@pytest.mark.parametrize("who", ["helpdesk", "auditor", "admin_user"])
def test_reviewers_see_every_session(signed_in, request, backed_up_org, other_org, who):
    make_session(backed_up_org, reason="one")
    make_session(other_org, reason="two")
    assert sorted(reasons(signed_in(request.getfixturevalue(who)).get(URL))) == ["one", "two"]


def test_person_without_a_role_sees_nothing(signed_in, nobody, backed_up_org):
    make_session(backed_up_org)
    response = signed_in(nobody).get(URL)
    assert response.status_code == 200
    assert "No restore sessions match." in page_text(response)


def test_rows_show_what_the_user_checks(signed_in, helpdesk, operator, backed_up_org):
    make_session(backed_up_org, workload="onedrive", state="working", result="", requested_by=helpdesk,
                 on_behalf_of=operator, reason="restore a file", scope="OneDrive of j.doe",
                 creation_time=datetime(2026, 11, 1, 11, 58, 7, tzinfo=dt_timezone.utc))
    [row] = table_rows(signed_in(helpdesk).get(URL), "session-table")
    assert row[1:] == [backed_up_org.name, "OneDrive", "Working", "—", "harry for olivia", "—",
                       "restore a file · OneDrive of j.doe"]
    assert row[0] == "2026-11-01 11:58:07 UTC"


@pytest.mark.parametrize(("query", "expected"), [
    ({"workload": "teams"}, ["teams one"]),
    ({"state": "working"}, ["working one"]),
    ({"result": "failed"}, ["failed one"]),
    ({"requested_by": "olivia"}, ["olivia's"]),
    ({"search": "INVOICE"}, ["mentions invoice"]),
    ({"search": "ticket-scope"}, ["scoped"]),
])
def test_each_filter_narrows_the_list(signed_in, helpdesk, operator, backed_up_org, query, expected):
    make_session(backed_up_org, workload="teams", reason="teams one")
    make_session(backed_up_org, state="working", result="", reason="working one")
    make_session(backed_up_org, result="failed", reason="failed one")
    make_session(backed_up_org, requested_by=operator, reason="olivia's")
    make_session(backed_up_org, reason="mentions invoice")
    make_session(backed_up_org, reason="scoped", scope="the ticket-scope text")
    response = signed_in(helpdesk).get(URL, query)
    assert reasons(response) == expected


def test_organization_filter(signed_in, helpdesk, backed_up_org, other_org):
    make_session(backed_up_org, reason="first org")
    make_session(other_org, reason="second org")
    response = signed_in(helpdesk).get(URL, {"organization": str(other_org.upstream_id)})
    assert reasons(response) == ["second org"]


def test_operator_cannot_filter_on_a_foreign_organization(operator_client, backed_up_org, other_org):
    make_session(backed_up_org, reason="mine")
    make_session(other_org, reason="foreign")
    response = operator_client.get(URL, {"organization": str(other_org.upstream_id)})
    assert "Select a valid choice." in page_text(response)
    assert "foreign" not in reasons(response)


def test_date_range_is_whole_days_in_the_users_time_zone(signed_in, helpdesk, backed_up_org):
    # 03:00 UTC on 10 March is still 9 March in New York (EDT, UTC-4).
    make_session(backed_up_org, creation_time=datetime(2026, 3, 10, 3, 0, tzinfo=dt_timezone.utc), reason="night")
    make_session(backed_up_org, creation_time=datetime(2026, 3, 10, 15, 0, tzinfo=dt_timezone.utc), reason="day")
    # 03:30 UTC on 11 March is 23:30 on 10 March in New York.
    make_session(backed_up_org, creation_time=datetime(2026, 3, 11, 3, 30, tzinfo=dt_timezone.utc), reason="late")
    client = signed_in(helpdesk)
    one_day = {"started_after": "2026-03-10", "started_before": "2026-03-10", "ordering": "oldest"}
    assert reasons(client.get(URL, one_day)) == ["night", "day"]
    accounts.profile_update(user=helpdesk, time_zone="America/New_York")
    assert reasons(client.get(URL, one_day)) == ["day", "late"]


def test_reversed_date_range_is_explained(signed_in, helpdesk):
    response = signed_in(helpdesk).get(URL, {"started_after": "2026-03-10", "started_before": "2026-03-01"})
    assert "The end date is before the start date." in page_text(response)


@pytest.mark.parametrize(("ordering", "expected"), [
    ("newest", ["b", "c", "a"]),
    ("oldest", ["a", "c", "b"]),
    ("state", ["c", "b", "a"]),  # working before stopped, newest first within a state
])
def test_ordering(signed_in, helpdesk, backed_up_org, ordering, expected):
    make_session(backed_up_org, creation_time=datetime(2026, 1, 1, tzinfo=dt_timezone.utc), reason="a")
    make_session(backed_up_org, creation_time=datetime(2026, 1, 3, tzinfo=dt_timezone.utc), reason="b")
    make_session(backed_up_org, creation_time=datetime(2026, 1, 2, tzinfo=dt_timezone.utc), reason="c",
                 state="working", result="")
    assert reasons(signed_in(helpdesk).get(URL, {"ordering": ordering})) == expected


def test_ordering_by_organization(signed_in, helpdesk, backed_up_org, other_org):
    make_session(backed_up_org, reason="x")
    make_session(other_org, reason="y")
    expected = [r for _, r in sorted([(backed_up_org.name, "x"), (other_org.name, "y")])]
    assert reasons(signed_in(helpdesk).get(URL, {"ordering": "organization"})) == expected


def test_paging_keeps_the_filters(signed_in, helpdesk, backed_up_org):
    for _ in range(30):
        make_session(backed_up_org, workload="teams")
    make_session(backed_up_org, workload="exchange")
    client = signed_in(helpdesk)
    first = client.get(URL, {"workload": "teams"})
    assert len(table_rows(first, "session-table")) == 25
    assert "Page 1 of 2 (30 in all)" in page_text(first)
    assert 'href="?workload=teams&amp;page=2"' in first.content.decode()
    second = client.get(URL, {"workload": "teams", "page": 2})
    assert len(table_rows(second, "session-table")) == 5
    assert "Page 2 of 2 (30 in all)" in page_text(second)


def test_out_of_range_page_shows_the_last_page(signed_in, helpdesk, backed_up_org):
    make_session(backed_up_org, reason="only")
    assert reasons(signed_in(helpdesk).get(URL, {"page": 99})) == ["only"]


def test_synced_history_fills_more_than_one_page(signed_in, helpdesk, sim):
    from sessions_app.services import sync

    seen = sync.restore_sessions_sync(full=True, with_events=False).seen
    response = signed_in(helpdesk).get(URL)
    assert seen > 25
    assert f"Page 1 of {(seen + 24) // 25} ({seen} in all)" in page_text(response)


def test_history_page_does_not_query_per_row(signed_in, helpdesk, operator, backed_up_org,
                                             django_assert_max_num_queries):
    for _ in range(25):
        make_session(backed_up_org, requested_by=operator, on_behalf_of=helpdesk)
    client = signed_in(helpdesk)
    client.get(URL)  # warm up the session and the role lookup
    with django_assert_max_num_queries(12):
        response = client.get(URL)
    assert len(table_rows(response, "session-table")) == 25


def test_more_sessions_than_are_counted_say_so(helpdesk, client, organizations, monkeypatch):
    from sessions_app import selectors
    from sessions_app.services import sync

    sync.restore_sessions_sync(with_events=False)
    monkeypatch.setattr(selectors, "COUNT_CAP", 30)
    client.force_login(helpdesk)
    page = client.get(reverse("sessions_app:session-list")).content.decode()
    assert "more than 30; narrow the filters" in page


@pytest.mark.parametrize("page", ["99999999999999999999", "9223372036854775808", "-1", "0", "1e400", "%00"])
def test_a_page_number_beyond_any_range_shows_a_page_never_an_error(signed_in, helpdesk, backed_up_org, page):
    make_session(backed_up_org, reason="only")
    client = signed_in(helpdesk)
    for url in (URL, reverse("sessions_app:session-review")):
        response = client.get(url, {"page": page})
        assert response.status_code == 200 and reasons(response) == ["only"], url


def test_a_tenants_history_marks_the_providers_sessions_and_hides_their_internal_fields(
        tenant_pages, tenant_organization, provider_session):
    started = tenant_pages.post(reverse("sessions_app:session-start"),
                                start_form(tenant_organization, reason="TENANT-REASON my inbox", scope="my mailbox"))
    assert started.status_code == 302

    for query in ({}, {"search": "INC-PROVIDER"}, {"requested_by": "harry"}):
        response = tenant_pages.get(URL, query)
        assert not any(secret in page_text(response) for secret in PROVIDER_SECRETS), query
    rows = table_rows(tenant_pages.get(URL), "session-table")
    assert len(rows) == 2
    requesters = sorted(row[5] for row in rows)
    assert requesters[0] == "Your service provider" and requesters[1].startswith("tenant:")
    assert [row[-1] for row in rows if row[5] == "Your service provider"] == [""]
    assert table_rows(tenant_pages.get(URL, {"search": "INC-PROVIDER"}), "session-table") == []


def test_rows_show_the_ticket_and_who_initiated_in_vb365(operator_client, operator, backed_up_org):
    make_session(backed_up_org, requested_by=operator, origin="portal", reason="portal one", ticket="INC-4711",
                 initiated_by="CONTOSO\\svc-restoredesk")
    make_session(backed_up_org, origin="upstream", reason="", upstream_reason="console one",
                 initiated_by="CONTOSO\\admin")
    response = operator_client.get(URL)
    text = page_text(response)
    assert "Initiated by (VB365)" in text
    rows = {row[-1]: row for row in table_rows(response, "session-table")}
    assert rows["portal one · ticket INC-4711"][5:7] == ["olivia", "CONTOSO\\svc-restoredesk"]
    assert rows["console one"][5:7] == ["in VB365", "CONTOSO\\admin"]


@pytest.mark.parametrize("typed", ["olivia", "OLIVIA", "Liv"])
def test_the_requester_filter_is_partial_and_ignores_case(signed_in, helpdesk, operator, backed_up_org, typed):
    make_session(backed_up_org, requested_by=operator, reason="olivia's")
    make_session(backed_up_org, requested_by=helpdesk, reason="harry's")
    rows = table_rows(signed_in(helpdesk).get(URL, {"requested_by": typed}), "session-table")
    assert [row[-1] for row in rows] == ["olivia's"]


def test_sorting_by_state_puts_working_sessions_first(signed_in, helpdesk, backed_up_org):
    make_session(backed_up_org, state="stopped", reason="stopped newer",
                 creation_time=datetime(2026, 11, 2, tzinfo=dt_timezone.utc))
    make_session(backed_up_org, state="working", result="", reason="working older",
                 creation_time=datetime(2026, 11, 1, tzinfo=dt_timezone.utc))
    response = signed_in(helpdesk).get(URL, {"ordering": "state"})
    assert [row[-1] for row in table_rows(response, "session-table")] == ["working older", "stopped newer"]
    assert "Working first" in response.content.decode()
