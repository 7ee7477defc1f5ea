"""The context every page gets, including pages rendered before anyone is known."""
from __future__ import annotations

import pytest
from django.test import Client


@pytest.mark.django_db
def test_a_host_not_allowed_gets_a_400_page_not_a_500(settings):
    settings.ALLOWED_HOSTS = ["restore.example.com"]
    response = Client(raise_request_exception=False).get("/", HTTP_HOST="evil.example.net")
    assert response.status_code == 400
