"""The start page: who may open it, what a bad form shows, one session per submission, upstream faults as messages."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.urls import reverse
from django.utils import timezone

from sessions_app import exceptions
from sessions_app.models import AuditAction, AuditEvent, RestoreSession, StartRequest
from sessions_app.services import accounts
from tests.views.conftest import EXPLORE, page_text, start_form, textarea_value

URL = reverse("sessions_app:session-start")
REASON = "CEO lost the board pack folder"


def test_anonymous_is_sent_to_sign_in(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={URL}"


def test_operator_sees_the_form_with_own_organization_only(operator_client, backed_up_org, other_org):
    response = operator_client.get(URL)
    assert response.status_code == 200
    assert "sessions_app/session_start.html" in [t.name for t in response.templates]
    choices = [str(o.upstream_id) for o in response.context["form"].fields["organization"].queryset]
    assert choices == [str(backed_up_org.upstream_id)]
    assert "Start a restore session" in page_text(response)
    assert "On behalf of" not in page_text(response)


def test_chosen_organization_shows_its_backups_and_restore_points(operator_client, backed_up_org):
    response = operator_client.get(URL, {"organization": str(backed_up_org.upstream_id)})
    assert response.status_code == 200
    assert f"For {backed_up_org.name}: first backup" in page_text(response)
    assert len(response.context["form"].fields["restore_point"].choices) > 1


def test_helpdesk_form_offers_on_behalf_and_ticket(signed_in, helpdesk):
    response = signed_in(helpdesk).get(URL)
    assert response.status_code == 200
    assert "On behalf of" in page_text(response) and "Ticket reference" in page_text(response)


@pytest.mark.parametrize("who", ["auditor", "nobody"])
def test_people_who_may_not_start_get_403(signed_in, request, who):
    response = signed_in(request.getfixturevalue(who)).get(URL)
    assert response.status_code == 403


def test_auditor_post_is_refused_without_an_upstream_call(signed_in, auditor, backed_up_org, sim):
    before = sim.request_count(EXPLORE)
    response = signed_in(auditor).post(URL, start_form(backed_up_org))
    assert response.status_code == 403
    assert sim.request_count(EXPLORE) == before


def test_start_redirects_to_the_new_session_with_a_message(operator_client, backed_up_org, sim):
    before = sim.request_count(EXPLORE)
    response = operator_client.post(URL, start_form(backed_up_org, reason=REASON), follow=True)
    session = RestoreSession.objects.get()
    assert response.redirect_chain == [(reverse("sessions_app:session-detail", args=[session.upstream_id]), 302)]
    assert "The restore session has started." in page_text(response)
    assert REASON in page_text(response)
    assert sim.request_count(EXPLORE) == before + 1
    assert session.requested_by is not None and session.requested_by.username == "olivia"
    assert session.scope == "mailbox of j.doe"


def test_start_from_a_restore_point_uses_its_backup_time(operator_client, backed_up_org, sim):
    page = operator_client.get(URL, {"organization": str(backed_up_org.upstream_id)})
    first_day, first_day_points = page.context["form"].fields["restore_point"].choices[1]
    point_id = first_day_points[0][0]
    response = operator_client.post(URL, start_form(backed_up_org, point_choice="restore_point",
                                                    restore_point=point_id))
    assert response.status_code == 302
    session = RestoreSession.objects.get()
    assert session.restore_point_id == point_id
    assert session.requested_latest is False and session.requested_point_in_time is not None


def test_start_at_a_past_moment_in_the_users_time_zone(operator_client, backed_up_org, sim):
    operator_client.cookies["tz"] = "America/New_York"
    response = operator_client.post(URL, start_form(backed_up_org, point_choice="custom",
                                                    point_in_time="2026-10-01T08:00"))
    assert response.status_code == 302
    session = RestoreSession.objects.get()
    # 08:00 in New York on 1 October (EDT, UTC-4) is 12:00 UTC.
    assert session.requested_point_in_time == datetime(2026, 10, 1, 12, 0, tzinfo=dt_timezone.utc)


def assert_form_shown_again(response, sim, before, error_text):
    assert response.status_code == 200
    assert "sessions_app/session_start.html" in [t.name for t in response.templates]
    assert error_text in page_text(response)
    assert textarea_value(response, "reason") == REASON
    assert sim.request_count(EXPLORE) == before
    assert not RestoreSession.objects.exists()


@pytest.mark.parametrize(("overrides", "error_text"), [
    ({"point_choice": "custom", "point_in_time": ""}, "Enter a date and time, or choose the latest backup."),
    ({"point_choice": "custom", "point_in_time": (timezone.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")},
     exceptions.POINT_IN_TIME_IN_FUTURE),
    ({"point_choice": "custom", "point_in_time": "not a date"}, "Enter a valid date/time."),
    ({"point_choice": "restore_point", "restore_point": "not-one-of-them"}, "Select a valid choice."),
    ({"point_choice": "restore_point", "restore_point": ""}, "Choose one of the restore points in the list."),
], ids=["custom-without-time", "future-time", "unreadable-time", "unknown-restore-point", "no-restore-point"])
def test_bad_input_shows_the_form_again_with_the_reason_kept(operator_client, backed_up_org, sim, overrides,
                                                             error_text):
    before = sim.request_count(EXPLORE)
    response = operator_client.post(URL, start_form(backed_up_org, reason=REASON, **overrides))
    assert_form_shown_again(response, sim, before, error_text)


def test_out_of_date_form_is_explained(operator_client, backed_up_org, sim):
    before = sim.request_count(EXPLORE)
    response = operator_client.post(URL, start_form(backed_up_org, reason=REASON, submission_key="tampered"))
    assert_form_shown_again(response, sim, before, "This form is out of date; reload the page.")


def test_missing_reason_is_explained(operator_client, backed_up_org, sim):
    before = sim.request_count(EXPLORE)
    response = operator_client.post(URL, start_form(backed_up_org, reason="   ", scope="kept scope"))
    assert response.status_code == 200
    assert exceptions.REASON_REQUIRED in page_text(response)
    assert 'value="kept scope"' in response.content.decode()
    assert sim.request_count(EXPLORE) == before


def test_never_backed_up_organization_is_refused(operator_client, operator, never_backed_up_org, sim):
    accounts.grant_add(user=operator, organization=never_backed_up_org)
    before = sim.request_count(EXPLORE)
    response = operator_client.post(URL, start_form(never_backed_up_org, reason=REASON))
    assert_form_shown_again(response, sim, before, exceptions.ORGANIZATION_NEVER_BACKED_UP)


def test_workload_outside_the_grant_is_refused_in_the_apis_words(signed_in, exchange_operator, other_org, sim):
    before = sim.request_count(EXPLORE)
    response = signed_in(exchange_operator).post(URL, start_form(other_org, workload="onedrive", reason=REASON))
    assert_form_shown_again(response, sim, before, exceptions.WORKLOAD_NOT_GRANTED.format(workload="onedrive"))
    assert response.context["form"].fields["workload"].choices == [("exchange", "Exchange")]


def test_tampered_organization_outside_grants_is_refused(operator_client, other_org, sim):
    before = sim.request_count(EXPLORE)
    response = operator_client.post(URL, start_form(other_org, reason=REASON))
    assert_form_shown_again(response, sim, before, "Select a valid choice.")


def test_helpdesk_on_behalf_without_ticket_is_refused(signed_in, helpdesk, operator, backed_up_org, sim):
    before = sim.request_count(EXPLORE)
    response = signed_in(helpdesk).post(URL, start_form(backed_up_org, reason=REASON, on_behalf_of="olivia",
                                                        ticket=" "))
    assert_form_shown_again(response, sim, before, exceptions.ON_BEHALF_REQUIRES_TICKET)


def test_helpdesk_on_behalf_with_ticket_starts_for_that_person(signed_in, helpdesk, operator, backed_up_org, sim):
    response = signed_in(helpdesk).post(URL, start_form(backed_up_org, on_behalf_of="olivia", ticket="INC-77"),
                                        follow=True)
    assert response.status_code == 200
    assert "harry on behalf of olivia" in page_text(response)
    assert "ticket INC-77" in page_text(response)


def test_operator_cannot_post_on_behalf_fields(operator_client, helpdesk, backed_up_org, sim):
    response = operator_client.post(URL, start_form(backed_up_org, on_behalf_of="harry", ticket="INC-1"))
    assert response.status_code == 302
    assert RestoreSession.objects.get().on_behalf_of is None


def test_same_submission_twice_starts_one_session(operator_client, backed_up_org, sim):
    before = sim.request_count(EXPLORE)
    data = start_form(backed_up_org, reason=REASON)
    first = operator_client.post(URL, data)
    second = operator_client.post(URL, data)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert sim.request_count(EXPLORE) == before + 1
    assert RestoreSession.objects.count() == 1 and StartRequest.objects.count() == 1


@pytest.mark.parametrize(("fault", "shown"), [
    ({"status": 503}, "(HTTP 503)"),
    ({"status": 400}, "(HTTP 400)"),
    ({"down": True}, "VB365 could not complete this"),
], ids=["503", "400", "down"])
def test_upstream_failure_is_a_message_with_the_reason_kept(operator_client, backed_up_org, fresh_sim, fault, shown):
    fresh_sim.fault(path="explore", **fault)
    response = operator_client.post(URL, start_form(backed_up_org, reason=REASON))
    assert response.status_code == 200
    text = page_text(response)
    assert shown in text and "Your reason was kept; you can try again." in text
    assert textarea_value(response, "reason") == REASON
    assert not RestoreSession.objects.exists()
    assert StartRequest.objects.get().status == StartRequest.Status.FAILED
    # A corrected or repeated submission starts anew.
    assert response.context["form"].data["submission_key"] != StartRequest.objects.get().key


def test_upstream_slower_than_the_read_timeout_is_a_message(operator_client, backed_up_org, fresh_sim, settings):
    settings.VB365_READ_TIMEOUT = 0.3
    fresh_sim.fault(path="explore", latency_ms=1200)
    response = operator_client.post(URL, start_form(backed_up_org, reason=REASON))
    assert response.status_code == 200
    assert "did not answer within 0.3 seconds" in page_text(response)
    assert textarea_value(response, "reason") == REASON


def test_failed_start_is_listed_on_the_dashboard(operator_client, backed_up_org, fresh_sim):
    fresh_sim.fault(path="explore", status=503)
    operator_client.post(URL, start_form(backed_up_org, reason=REASON))
    dashboard = operator_client.get(reverse("sessions_app:dashboard"))
    assert "Recent starts that failed" in page_text(dashboard)
    assert REASON in page_text(dashboard)
    assert AuditEvent.objects.filter(action=AuditAction.SESSION_START_FAILED, reason=REASON).exists()


def test_retry_after_outage_with_the_shown_form_starts(operator_client, backed_up_org, fresh_sim):
    fresh_sim.fault(path="explore", status=503)
    failed = operator_client.post(URL, start_form(backed_up_org, reason=REASON))
    fresh_sim.clear_faults()
    again = dict(start_form(backed_up_org, reason=REASON), submission_key=failed.context["form"].data["submission_key"])
    response = operator_client.post(URL, again)
    assert response.status_code == 302
    assert RestoreSession.objects.get().reason == REASON


def test_admin_may_start(signed_in, admin_user, other_org, sim):
    response = signed_in(admin_user).post(URL, start_form(other_org))
    assert response.status_code == 302
    assert RestoreSession.objects.get().organization == other_org


def test_nul_in_on_behalf_of_is_a_form_error_not_a_crash(client, helpdesk, backed_up_org, sim):
    client.force_login(helpdesk)
    response = client.post(reverse("sessions_app:session-start"), {
        "submission_key": str(uuid.uuid4()), "organization": str(backed_up_org.upstream_id), "point_choice": "latest",
        "workload": "exchange", "reason": "kept reason", "on_behalf_of": "ol\x00ivia", "ticket": "T-1"})
    assert response.status_code == 200
    assert "kept reason" in response.content.decode()
    assert response.context["form"].errors["on_behalf_of"]


def test_the_same_request_sent_again_from_a_fresh_form_shows_the_first_session(operator_client, backed_up_org, sim):
    """Back, then Start: the form comes back with a new key and the reason refilled by the browser."""
    before = sim.request_count(EXPLORE)
    first = operator_client.post(URL, start_form(backed_up_org, reason=REASON))
    session = RestoreSession.objects.get()

    again = operator_client.post(URL, start_form(backed_up_org, reason=REASON))

    assert first.status_code == 302 and again.status_code == 200
    text = page_text(again)
    assert "A session was already started from this form" in text and "Nothing new was started." in text
    assert reverse("sessions_app:session-detail", args=[session.upstream_id]) in again.content.decode()
    assert 'name="start_another" value="1"' in again.content.decode()
    assert textarea_value(again, "reason") == REASON
    assert RestoreSession.objects.count() == 1 and sim.request_count(EXPLORE) == before + 1


def test_start_another_starts_a_second_session_on_purpose(operator_client, backed_up_org, sim):
    operator_client.post(URL, start_form(backed_up_org, reason=REASON))
    response = operator_client.post(URL, start_form(backed_up_org, reason=REASON, start_another="1"))
    assert response.status_code == 302
    assert RestoreSession.objects.count() == 2


def test_a_changed_request_after_back_is_a_new_session(operator_client, backed_up_org, sim):
    operator_client.post(URL, start_form(backed_up_org, reason=REASON))
    response = operator_client.post(URL, start_form(backed_up_org, reason=f"{REASON}, and the calendar too"))
    assert response.status_code == 302
    assert RestoreSession.objects.count() == 2


def test_a_failed_start_does_not_count_as_already_started(operator_client, backed_up_org, fresh_sim):
    fresh_sim.fault(path="explore", status=503)
    operator_client.post(URL, start_form(backed_up_org, reason=REASON))
    fresh_sim.clear_faults()
    response = operator_client.post(URL, start_form(backed_up_org, reason=REASON))
    assert response.status_code == 302
    assert RestoreSession.objects.get().reason == REASON


@pytest.mark.parametrize(("overrides", "field", "own"), [
    ({"point_choice": "latest", "point_in_time": "2026-01-05T10:00"}, "point_in_time", "A date and time"),
    ({"point_choice": "latest", "restore_point": "FIRST"}, "restore_point", "A restore point"),
    ({"point_choice": "custom", "point_in_time": "2026-01-05T10:00", "restore_point": "FIRST"}, "restore_point",
     "A restore point"),
    ({"point_choice": "restore_point", "restore_point": "FIRST", "point_in_time": "2026-01-05T10:00"},
     "point_in_time", "A date and time"),
], ids=["date-with-latest", "point-with-latest", "point-with-date", "date-with-point"])
def test_a_field_of_another_point_mode_is_refused_not_ignored(operator_client, backed_up_org, sim, overrides,
                                                              field, own):
    page = operator_client.get(URL, {"organization": str(backed_up_org.upstream_id)})
    first_point = page.context["form"].fields["restore_point"].choices[1][1][0][0]
    data = {key: first_point if value == "FIRST" else value for key, value in overrides.items()}
    before = sim.request_count(EXPLORE)

    response = operator_client.post(URL, start_form(backed_up_org, reason=REASON, **data))

    assert_form_shown_again(response, sim, before, f"but this is filled in too. Choose “{own}” to use it")
    assert list(response.context["form"].errors) == [field]


def test_the_date_field_names_the_time_zone(operator_client, backed_up_org):
    operator_client.cookies["tz"] = "America/New_York"
    response = operator_client.get(URL, {"organization": str(backed_up_org.upstream_id)})
    assert "Date and time (America/New_York)" in page_text(response)


@pytest.mark.parametrize(("typed", "plain"), [
    ("2026-03-29T02:30", "2026-03-29 02:30 does not exist in Europe/Berlin: the clocks skip that hour"),
    ("2026-10-25T02:30", "2026-10-25 02:30 happens twice in Europe/Berlin: the clocks go back an hour"),
], ids=["skipped-hour", "repeated-hour"])
def test_daylight_saving_times_get_a_plain_message(operator_client, backed_up_org, sim, typed, plain):
    operator_client.cookies["tz"] = "Europe/Berlin"
    before = sim.request_count(EXPLORE)
    response = operator_client.post(URL, start_form(backed_up_org, reason=REASON, point_choice="custom",
                                                    point_in_time=typed))
    assert_form_shown_again(response, sim, before, plain)
    assert "couldn’t be interpreted" not in page_text(response)


def test_a_long_reason_is_refused_whole_with_its_length_and_never_cut(operator_client, backed_up_org, sim):
    long_reason = "x" * 10_000
    page = operator_client.get(URL)
    found = re.search(r"<textarea[^>]*>", page.content.decode())
    assert found is not None
    textarea = found.group(0)
    assert "maxlength" not in textarea and 'data-max-length="2000"' in textarea
    assert "Up to 2,000 characters." in page_text(page)

    response = operator_client.post(URL, start_form(backed_up_org, reason=long_reason))

    assert "Shorten the reason to 2000 characters (it has 10000)." in page_text(response)
    assert textarea_value(response, "reason") == long_reason
    assert not RestoreSession.objects.exists()


def test_daily_restore_points_are_grouped_by_month(operator_client, backed_up_org):
    response = operator_client.get(URL, {"organization": str(backed_up_org.upstream_id)})
    html = response.content.decode()
    found = re.search(r'<select name="restore_point".*?</select>', html, flags=re.S)
    assert found is not None
    select = found.group(0)
    groups = re.findall(r'<optgroup label="([^"]+)">(.*?)</optgroup>', select, flags=re.S)
    points = len(response.context["restore_points"])
    assert points > 31 and 1 < len(groups) < points
    assert sum(part.count("<option") for _, part in groups) == points
    assert all(re.fullmatch(r"[A-Z][a-z]+ \d{4}", label) for label, _ in groups)


def test_a_moment_before_the_first_backup_starts_under_an_amber_notice(operator_client, backed_up_org, sim):
    before_first = (backed_up_org.first_backup - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    response = operator_client.post(URL, start_form(backed_up_org, point_choice="custom", point_in_time=before_first),
                                    follow=True)
    html, text = response.content.decode(), page_text(response)
    assert 'class="message message-warning">The restore session has started, but it holds no data' in html
    assert "The restore session has started." not in text
    assert 'id="no-data-notice"' in html and "This session holds no backup data" in text


def test_a_session_with_data_starts_under_the_usual_banner(operator_client, backed_up_org, sim):
    response = operator_client.post(URL, start_form(backed_up_org), follow=True)
    assert 'class="message message-success">The restore session has started.' in response.content.decode()
    assert 'id="no-data-notice"' not in response.content.decode()


def test_helpdesk_is_offered_only_people_who_may_start_here(signed_in, helpdesk, operator, exchange_operator,
                                                            auditor, admin_user, backed_up_org):
    response = signed_in(helpdesk).get(URL, {"organization": str(backed_up_org.upstream_id)})
    field = response.context["form"].fields["on_behalf_of"]
    assert [label for _, label in field.choices] == ["nobody", "olivia"]


@pytest.mark.parametrize("person", ["alice", "root", "harry", "oscar"])
def test_on_behalf_of_someone_who_may_not_start_here_is_refused(signed_in, helpdesk, operator, exchange_operator,
                                                                auditor, admin_user, backed_up_org, sim, person):
    before = sim.request_count(EXPLORE)
    response = signed_in(helpdesk).post(URL, start_form(backed_up_org, reason=REASON, on_behalf_of=person,
                                                        ticket="INC-1"))
    assert_form_shown_again(response, sim, before, "Select a valid choice.")
