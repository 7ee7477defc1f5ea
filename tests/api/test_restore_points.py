from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from sessions_app.models import Organization
from tests.conftest import SimControl


def url(organization_id: Any) -> str:
    return f"/api/organizations/{organization_id}/restore-points/"


def test_restore_points_of_a_granted_organization(client_for: Callable[..., APIClient], operator: Any,
                                                  backed_up_org: Organization) -> None:
    response = client_for(operator).get(url(backed_up_org.upstream_id))

    assert response.status_code == 200
    body = response.json()
    assert body["supported"] is True
    assert body["note"] is None
    assert body["organization"]["id"] == str(backed_up_org.upstream_id)
    assert body["count"] == len(body["results"]) > 0
    point = body["results"][0]
    assert set(point) == {"id", "backup_time", "workloads", "is_long_term_copy"}
    assert point["backup_time"].endswith("Z")
    times = [row["backup_time"] for row in body["results"]]
    assert times == sorted(times, reverse=True)


@pytest.mark.parametrize("guess", ["foreign", str(uuid.uuid4()), "not-a-uuid"])
def test_organization_outside_grants_or_unknown_is_404(client_for: Callable[..., APIClient], operator: Any,
                                                       other_org: Organization, guess: str) -> None:
    target = other_org.upstream_id if guess == "foreign" else guess

    response = client_for(operator).get(url(target))

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_never_backed_up_organization_has_none_with_a_note(client_for: Callable[..., APIClient], helpdesk: Any,
                                                           never_backed_up_org: Organization) -> None:
    body = client_for(helpdesk).get(url(never_backed_up_org.upstream_id)).json()

    assert body["results"] == [] and body["count"] == 0
    assert "never been backed up" in body["note"]


def test_older_api_versions_answer_an_empty_list_with_a_note(client_for: Callable[..., APIClient], helpdesk: Any,
                                                             backed_up_org: Organization,
                                                             upstream: Callable[[int], SimControl]) -> None:
    upstream(5)

    body = client_for(helpdesk).get(url(backed_up_org.upstream_id)).json()

    assert body["supported"] is False
    assert body["results"] == []
    assert "v5" in body["note"]


def test_upstream_unavailable_is_503_with_retry_after(client_for: Callable[..., APIClient], helpdesk: Any,
                                                      backed_up_org: Organization, sim: SimControl) -> None:
    sim.fault(status=503, path="RestorePoints")

    response = client_for(helpdesk).get(url(backed_up_org.upstream_id))

    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0


def test_upstream_garbage_is_502(client_for: Callable[..., APIClient], helpdesk: Any, backed_up_org: Organization,
                                 sim: SimControl) -> None:
    sim.fault(malformed=True, path="RestorePoints")

    response = client_for(helpdesk).get(url(backed_up_org.upstream_id))

    assert response.status_code == 502
    assert response.json()["code"] == "upstream_bad_response"


def test_upstream_timeout_is_504(client_for: Callable[..., APIClient], helpdesk: Any, backed_up_org: Organization,
                                 sim: SimControl, settings: Any) -> None:
    settings.VB365_READ_TIMEOUT = 0.3
    sim.fault(latency_ms=1500, path="RestorePoints")

    response = client_for(helpdesk).get(url(backed_up_org.upstream_id))

    assert response.status_code == 504
    assert response.json()["code"] == "upstream_timeout"
