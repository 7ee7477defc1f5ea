"""Limit and offset of every list API: whole numbers in range, or 400 in the error envelope (never a 500)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from sessions_app.api.pagination import QUERY_INTEGER_MAX
from sessions_app.models import RestoreSession
from tests.api.test_error_envelope import assert_envelope

HUGE = "99999999999999999999"  # beyond every database's integer range


@pytest.fixture
def list_urls(history: int) -> list[str]:
    session = RestoreSession.objects.filter(state="stopped").order_by("-creation_time").first()
    assert session is not None
    return ["/api/sessions/", "/api/organizations/", f"/api/sessions/{session.upstream_id}/events/"]


@pytest.mark.parametrize(("query", "parameter"), [
    (f"offset={HUGE}", "offset"),
    (f"limit={HUGE}", "limit"),
    (f"offset={QUERY_INTEGER_MAX + 1}", "offset"),
    ("offset=-1", "offset"),
    ("limit=0", "limit"),
    ("limit=-5", "limit"),
    ("offset=1e3", "offset"),
    ("offset=ten", "offset"),
    ("limit=%D9%A1", "limit"),  # an Arabic-Indic one: int() would take it
])
def test_a_number_out_of_range_is_400_in_the_envelope(client_for: Callable[..., APIClient], helpdesk: Any,
                                                      list_urls: list[str], query: str, parameter: str) -> None:
    client = client_for(helpdesk)
    for url in list_urls:
        body = assert_envelope(client.get(f"{url}?{query}"), 400, "invalid")
        assert list(body["extra"]["fields"]) == [parameter], url


def test_the_largest_offset_is_an_empty_page(client_for: Callable[..., APIClient], helpdesk: Any,
                                             list_urls: list[str]) -> None:
    client = client_for(helpdesk)
    for url in list_urls:
        response = client.get(f"{url}?offset={QUERY_INTEGER_MAX}")
        assert response.status_code == 200, url
        assert response.json()["results"] == [] and response.json()["next"] is None


def test_a_limit_above_the_maximum_still_gives_the_maximum(client_for: Callable[..., APIClient], helpdesk: Any,
                                                           history: int) -> None:
    assert len(client_for(helpdesk).get("/api/sessions/?limit=5000").json()["results"]) == 100


def test_an_empty_limit_or_offset_means_the_default(client_for: Callable[..., APIClient], helpdesk: Any,
                                                    history: int) -> None:
    assert len(client_for(helpdesk).get("/api/sessions/?limit=&offset=").json()["results"]) == 25


def test_the_schema_states_the_range(client_for: Callable[..., APIClient], helpdesk: Any) -> None:
    schema = client_for(helpdesk).get("/api/schema/?format=json").json()
    parameters = {parameter["name"]: parameter["schema"]
                  for parameter in schema["paths"]["/api/sessions/"]["get"]["parameters"]}
    assert parameters["offset"] == {"type": "integer", "minimum": 0, "maximum": QUERY_INTEGER_MAX}
    assert parameters["limit"] == {"type": "integer", "minimum": 1, "maximum": QUERY_INTEGER_MAX}
