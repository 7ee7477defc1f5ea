"""Sign in and sign out: each is audited, with the user name and never the password."""
from __future__ import annotations

from django.urls import reverse

from sessions_app.models import AuditAction, AuditEvent, AuditOutcome
from tests.conftest import PASSWORD
from tests.views.conftest import page_text

LOGIN = reverse("login")


def all_audit_text():
    return " ".join(str(values) for values in AuditEvent.objects.values())


def test_sign_in_page_renders(client, db):
    response = client.get(LOGIN)
    assert response.status_code == 200
    assert "registration/login.html" in [t.name for t in response.templates]
    assert "Sign in" in page_text(response)


def test_sign_in_goes_to_the_dashboard_and_is_audited(client, operator):
    response = client.post(LOGIN, {"username": "olivia", "password": PASSWORD}, REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 302 and response["Location"] == reverse("sessions_app:dashboard")
    event = AuditEvent.objects.get(action=AuditAction.SIGN_IN)
    assert event.actor_username == "olivia" and event.actor_id == operator.pk
    assert event.outcome == AuditOutcome.SUCCESS and event.client_address == "10.1.2.3"
    assert PASSWORD not in all_audit_text()
    assert client.get(reverse("sessions_app:dashboard")).status_code == 200


def test_sign_in_returns_to_the_page_asked_for(client, operator):
    history = reverse("sessions_app:session-list")
    response = client.post(LOGIN, {"username": "olivia", "password": PASSWORD, "next": history})
    assert response["Location"] == history


def test_wrong_password_is_refused_and_audited_without_the_password(client, operator):
    response = client.post(LOGIN, {"username": "olivia", "password": "Wrong-Secret-123"})
    assert response.status_code == 200
    assert "Your username and password did not match. Please try again." in page_text(response)
    event = AuditEvent.objects.get(action=AuditAction.SIGN_IN_FAILED)
    assert event.actor_username == "olivia" and event.outcome == AuditOutcome.FAILURE
    assert event.actor_id is None
    assert "Wrong-Secret-123" not in all_audit_text()
    assert not AuditEvent.objects.filter(action=AuditAction.SIGN_IN).exists()


def test_unknown_user_is_refused_and_audited(client, db):
    client.post(LOGIN, {"username": "mallory", "password": "guess"})
    assert AuditEvent.objects.get(action=AuditAction.SIGN_IN_FAILED).actor_username == "mallory"


def test_signed_in_user_is_sent_on_from_the_sign_in_page(operator_client):
    response = operator_client.get(LOGIN)
    assert response.status_code == 302 and response["Location"] == reverse("sessions_app:dashboard")


def test_sign_out_is_audited_and_ends_the_session(client, operator):
    client.post(LOGIN, {"username": "olivia", "password": PASSWORD})
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == LOGIN
    event = AuditEvent.objects.get(action=AuditAction.SIGN_OUT)
    assert event.actor_username == "olivia"
    assert client.get(reverse("sessions_app:dashboard")).status_code == 302


def test_pages_show_the_sign_out_button_and_role(operator_client):
    text = page_text(operator_client.get(reverse("sessions_app:dashboard")))
    assert "olivia Operator Sign out" in text


def test_a_browser_session_lasts_the_configured_hours_not_two_weeks(client, operator):
    client.post(LOGIN, {"username": "olivia", "password": PASSWORD})
    assert client.cookies["sessionid"]["max-age"] == 8 * 3600
    assert client.session.get_expiry_age() == 8 * 3600
