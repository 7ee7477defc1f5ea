"""Request ids, the content security policy and the viewer's time zone."""
from __future__ import annotations

import json
import logging

import pytest
from django.urls import reverse

from portal.logging import JsonFormatter
from sessions_app.middleware import RequestIdLogFilter


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
    from sessions_app.templatetags.portal import when
    from django.utils import timezone

    client.force_login(operator)
    client.cookies["tz"] = "Asia/Tokyo"
    response = client.get(reverse("sessions_app:dashboard"))
    assert "times in JST" in response.content.decode()
    assert "JST" not in when(timezone.now())  # outside the request the default zone applies again
