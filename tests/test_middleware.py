"""Request ids, the content security policy and the viewer's time zone."""
from __future__ import annotations

import json
import logging

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from portal.logging import JsonFormatter
from sessions_app.middleware import RequestIdLogFilter, RequestIdMiddleware


@pytest.mark.django_db
def test_every_response_carries_a_request_id(client):
    first = client.get(reverse("login"))["X-Request-ID"]
    second = client.get(reverse("login"))["X-Request-ID"]
    assert first and second and first != second


@pytest.mark.django_db
def test_a_sane_incoming_request_id_is_kept_and_a_hostile_one_replaced(client):
    assert client.get(reverse("login"), HTTP_X_REQUEST_ID="lb-1234abcd")["X-Request-ID"] == "lb-1234abcd"
    assert client.get(reverse("login"), HTTP_X_REQUEST_ID="<script>")["X-Request-ID"] != "<script>"


@pytest.mark.django_db
def test_pages_forbid_inline_scripts_and_framing(client):
    policy = client.get(reverse("login"))["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
    assert "frame-ancestors 'none'" in policy


def test_json_log_lines_carry_the_request_id_and_no_secrets():
    record = logging.makeLogRecord({"name": "sessions_app.x", "levelname": "INFO", "msg": "started %s",
                                    "args": ("s-1",)})
    RequestIdLogFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "started s-1" and line["request_id"] == "-" and line["level"] == "INFO"


@pytest.mark.django_db
def test_browser_time_zone_cookie_is_used_for_display(client, operator, settings):
    from django.utils import timezone

    from sessions_app.templatetags.portal import when

    client.force_login(operator)
    client.cookies["tz"] = "Asia/Tokyo"
    response = client.get(reverse("sessions_app:dashboard"))
    assert "times in JST" in response.content.decode()
    assert "JST" not in when(timezone.now())  # outside the request the default zone applies again


def test_log_lines_name_the_client_behind_a_trusted_proxy(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    lines = []

    def view(request):
        record = logging.makeLogRecord({"name": "sessions_app.x", "levelname": "WARNING", "msg": "refused"})
        RequestIdLogFilter().filter(record)
        lines.append(json.loads(JsonFormatter().format(record)))
        lines.append(logging.Formatter(settings.LOGGING["formatters"]["plain"]["format"]).format(record))
        return HttpResponse()

    RequestIdMiddleware(view)(RequestFactory().get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="203.0.113.7"))

    assert lines[0]["client_address"] == "203.0.113.7"
    assert "203.0.113.7" in lines[1] and "10.0.0.5" not in lines[1]


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/audit/export.csv?x=%00", "/audit/export.csv?x%00=1", "/audit/?actor=a%00b",
                                 "/sessions/?page=1%00"])
def test_a_nul_in_a_page_query_is_refused_before_anything_stores_it(client, auditor, url):
    from sessions_app.models import AuditAction, AuditEvent

    client.force_login(auditor)
    response = client.get(url)

    assert response.status_code == 400
    assert "NUL character" in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


@pytest.mark.django_db
def test_a_nul_in_an_api_query_is_refused_in_the_error_envelope(auditor):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(auditor)
    response = api.get("/api/sessions/?limit=5&x%00y=1")

    assert response.status_code == 400
    assert response.json() == {"message": "This address or form contains a NUL character (%00), which Restore Desk "
                                          "does not accept.", "code": "invalid",
                               "extra": {"fields": {"x\ufffdy": ["Null characters are not allowed."]}}}


@pytest.mark.django_db
def test_a_nul_in_a_form_field_is_a_field_error_that_keeps_the_other_input(client, upstream):
    response = client.post(reverse("sessions_app:tenant-sign-in"), {"username": "a@b.example\x00", "password": "x"})
    assert response.status_code == 200
    assert response.context["form"].errors["username"]



@pytest.mark.django_db
def test_a_polled_session_costs_one_activity_query_a_minute_not_one_a_request(django_assert_num_queries, monkeypatch):
    import time
    import types
    import uuid

    from django.urls import resolve

    from sessions_app.middleware import SessionActivityMiddleware

    path = f"/api/sessions/{uuid.uuid4()}/"
    middleware = SessionActivityMiddleware(lambda request: HttpResponse())
    clock = types.SimpleNamespace(monotonic=time.monotonic)
    monkeypatch.setattr("sessions_app.middleware.time", clock)

    def read() -> None:
        request = RequestFactory().get(path)
        request.resolver_match = resolve(path)
        middleware(request)

    with django_assert_num_queries(1):
        read()  # the UPDATE that moves last_activity_at (at most once a minute, by its own condition)
    with django_assert_num_queries(0):
        read()
    later = time.monotonic() + 61
    clock.monotonic = lambda: later
    with django_assert_num_queries(1):
        read()
