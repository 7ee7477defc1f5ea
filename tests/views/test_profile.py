"""Personal settings: the time zone every time on the pages is shown in."""
from __future__ import annotations

from datetime import datetime
from datetime import timezone as dt_timezone

from django.urls import reverse

from sessions_app.models import UserProfile
from tests.views.conftest import make_session, page_text, table_rows

URL = reverse("sessions_app:profile")
WINTER = datetime(2026, 1, 15, 12, 0, tzinfo=dt_timezone.utc)
SUMMER = datetime(2026, 7, 15, 12, 0, tzinfo=dt_timezone.utc)


def started_column(client):
    return [row[0] for row in table_rows(client.get(reverse("sessions_app:session-list"), {"ordering": "oldest"}),
                                         "session-table")]


def test_anonymous_is_sent_to_sign_in(client, db):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"] == f"{reverse('login')}?next={URL}"


def test_page_shows_the_time_zone_choice(operator_client):
    response = operator_client.get(URL)
    assert response.status_code == 200
    assert "sessions_app/profile.html" in [t.name for t in response.templates]
    text = page_text(response)
    assert "Your settings" in text and "Use my browser's time zone" in text and "Europe/Berlin" in text


def test_saving_a_time_zone_shows_times_in_it(operator_client, operator, backed_up_org):
    make_session(backed_up_org, creation_time=WINTER)
    make_session(backed_up_org, creation_time=SUMMER)
    assert started_column(operator_client) == ["2026-01-15 12:00:00 UTC", "2026-07-15 12:00:00 UTC"]
    response = operator_client.post(URL, {"time_zone": "America/New_York"}, follow=True)
    assert response.redirect_chain == [(URL, 302)]
    assert "Your settings are saved." in page_text(response)
    assert UserProfile.objects.get(user=operator).time_zone == "America/New_York"
    assert started_column(operator_client) == ["2026-01-15 07:00:00 EST", "2026-07-15 08:00:00 EDT"]


def test_unknown_time_zone_is_refused(operator_client, operator):
    response = operator_client.post(URL, {"time_zone": "Mars/Olympus_Mons"})
    assert response.status_code == 200
    assert "Select a valid choice." in page_text(response)
    assert UserProfile.objects.get(user=operator).time_zone == ""


def test_browser_time_zone_cookie_is_used_when_the_profile_has_none(operator_client, backed_up_org):
    make_session(backed_up_org, creation_time=WINTER)
    operator_client.cookies["tz"] = "Asia/Tokyo"
    assert started_column(operator_client) == ["2026-01-15 21:00:00 JST"]


def test_profile_choice_wins_over_the_cookie(operator_client, backed_up_org):
    make_session(backed_up_org, creation_time=WINTER)
    operator_client.post(URL, {"time_zone": "Europe/Berlin"})
    operator_client.cookies["tz"] = "Asia/Tokyo"
    assert started_column(operator_client) == ["2026-01-15 13:00:00 CET"]


def test_going_back_to_the_browser_time_zone(operator_client, backed_up_org):
    make_session(backed_up_org, creation_time=WINTER)
    operator_client.post(URL, {"time_zone": "Europe/Berlin"})
    operator_client.post(URL, {"time_zone": ""})
    operator_client.cookies["tz"] = "Asia/Tokyo"
    assert started_column(operator_client) == ["2026-01-15 21:00:00 JST"]


def test_bogus_cookie_falls_back_to_utc(operator_client, backed_up_org):
    make_session(backed_up_org, creation_time=WINTER)
    operator_client.cookies["tz"] = "../../etc/passwd"
    assert started_column(operator_client) == ["2026-01-15 12:00:00 UTC"]


def test_person_without_a_role_may_still_set_a_time_zone(signed_in, nobody):
    response = signed_in(nobody).post(URL, {"time_zone": "Europe/Berlin"})
    assert response.status_code == 302
    assert UserProfile.objects.get(user=nobody).time_zone == "Europe/Berlin"

