from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from sessions_app.models import Organization, RestoreSession
from tests.conftest import SimControl

EVENT_KEYS = {"id", "order", "type", "status", "title", "message", "start_time", "end_time", "duration",
              "item_name", "item_type", "item_size_bytes", "source", "target"}


@pytest.fixture
def session_with_events(history: int) -> RestoreSession:
    """A stopped upstream session from the history (synced without events: the API fetches them)."""
    session = RestoreSession.objects.filter(state="stopped").order_by("-creation_time").first()
    assert session is not None and session.events_fetched_at is None
    return session


def test_events_are_fetched_and_paged(client_for: Callable[..., APIClient], helpdesk: Any,
                                      session_with_events: RestoreSession) -> None:
    client = client_for(helpdesk)
    url = f"/api/sessions/{session_with_events.upstream_id}/events/"

    everything = client.get(url).json()
    assert set(everything) == {"count", "count_is_exact", "next", "previous", "results"}
    assert everything["count"] == len(everything["results"]) >= 1
    assert set(everything["results"][0]) == EVENT_KEYS
    orders = [row["order"] for row in everything["results"]]
    assert orders == sorted(orders)

    first = client.get(f"{url}?limit=1").json()
    assert len(first["results"]) == 1
    assert first["results"][0]["id"] == everything["results"][0]["id"]
    if everything["count"] > 1:
        second = client.get(first["next"]).json()
        assert second["results"][0]["id"] == everything["results"][1]["id"]
        assert second["previous"] is not None
    else:
        assert first["next"] is None


def test_events_of_a_new_session(client_for: Callable[..., APIClient], operator: Any, backed_up_org: Organization,
                                 start_session: Callable[..., dict[str, Any]]) -> None:
    started = start_session(operator, backed_up_org)

    body = client_for(operator).get(f"/api/sessions/{started['id']}/events/").json()

    assert body["count"] >= 1
    assert body["results"][0]["title"]


def test_stored_events_are_served_when_the_upstream_is_down(client_for: Callable[..., APIClient], operator: Any,
                                                            backed_up_org: Organization, sim: SimControl,
                                                            start_session: Callable[..., dict[str, Any]]) -> None:
    started = start_session(operator, backed_up_org)
    client = client_for(operator)
    fetched = client.get(f"/api/sessions/{started['id']}/events/").json()
    sim.fault(down=True)

    response = client.get(f"/api/sessions/{started['id']}/events/")

    assert response.status_code == 200
    assert response.json()["results"] == fetched["results"]


def test_session_outside_grants_or_unknown_is_404(client_for: Callable[..., APIClient], operator: Any,
                                                  unseen_session_id: str) -> None:
    assert client_for(operator).get(f"/api/sessions/{unseen_session_id}/events/").status_code == 404


def test_anonymous_is_401(api_client: APIClient, db: Any) -> None:
    assert api_client.get(f"/api/sessions/{uuid.uuid4()}/events/").status_code == 401
